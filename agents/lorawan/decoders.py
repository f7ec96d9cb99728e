# SPDX-License-Identifier: EUPL-1.2
"""Payload decoders, by name: the registry is a dict, filled with the built-in CayenneLPP decoder and
with every function registered under the entry-point group `citycontext.decoders`.

A decoder is `def decode(payload: bytes, f_port: int | None) -> Mapping[str, Any]`: field name ->
value (numbers, strings, booleans, or a nested mapping such as {"x", "y", "z"}). It may raise any
exception for a payload it cannot read; the agent logs and counts that as `decoder_error`.

Register one from any installed distribution:

    [project.entry-points."citycontext.decoders"]
    hamm-parking = "hamm_decoders.parking:decode"

CayenneLPP decoding uses pycayennelpp (every LPP type of the Cayenne spec and of the extended
ElectronicCats list); fields are named as The Things Stack's CayenneLPP formatter names them
(`temperature_3`, `relative_humidity_2`, `gps_1`), so a profile's mapping is the same whether the
network server or the agent decoded the payload.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from importlib.metadata import entry_points
from typing import Any

from cayennelpp import LppFrame  # type: ignore[import-untyped]

log = logging.getLogger("citycontext.agents.decoders")

ENTRY_POINT_GROUP = "citycontext.decoders"

Decoder = Callable[[bytes, "int | None"], Mapping[str, Any]]

# LPP type -> (field name as TTS names it, UN/CEFACT unit code, names of a multi-value reading)
CAYENNE_TYPES: dict[int, tuple[str, str | None, tuple[str, ...]]] = {
    0: ("digital_in", None, ()),
    1: ("digital_out", None, ()),
    2: ("analog_in", None, ()),
    3: ("analog_out", None, ()),
    100: ("generic_sensor", None, ()),
    101: ("luminosity", "LUX", ()),
    102: ("presence", None, ()),
    103: ("temperature", "CEL", ()),
    104: ("relative_humidity", "P1", ()),
    113: ("accelerometer", None, ("x", "y", "z")),
    115: ("barometric_pressure", "A97", ()),
    116: ("voltage", "VLT", ()),
    117: ("current", "AMP", ()),
    118: ("frequency", "HTZ", ()),
    120: ("percentage", "P1", ()),
    121: ("altitude", "MTR", ()),
    122: ("load", "KGM", ()),
    125: ("concentration", "59", ()),
    128: ("power", "WTT", ()),
    130: ("distance", "MTR", ()),
    131: ("energy", "KWH", ()),
    132: ("direction", "DD", ()),
    133: ("unixtime", None, ()),
    134: ("gyrometer", None, ("x", "y", "z")),
    135: ("colour", None, ("r", "g", "b")),
    136: ("gps", None, ("latitude", "longitude", "altitude")),
    142: ("switch", None, ()),
}
# types whose readings are counts or codes (scale 1): integers, not floats
_WHOLE_NUMBER_TYPES = frozenset({0, 1, 100, 101, 102, 118, 120, 121, 125, 128, 132, 133, 135, 142})
# unit codes by field-name prefix, for the fields a CayenneLPP payload produces
CAYENNE_UNITS = {name: unit for name, unit, _ in CAYENNE_TYPES.values() if unit}


def decode_cayennelpp(payload: bytes, f_port: int | None = None) -> dict[str, Any]:
    """CayenneLPP -> {"temperature_3": 27.2, "gps_1": {"latitude": ..., ...}}; raises on a bad frame."""
    if not payload:
        raise ValueError("empty CayenneLPP payload")
    fields: dict[str, Any] = {}
    for reading in LppFrame.from_bytes(payload).data:
        type_id = int(reading.type)
        name, _unit, parts = CAYENNE_TYPES.get(type_id, (str(reading.type).lower().replace(" ", "_"), None, ()))
        whole = type_id in _WHOLE_NUMBER_TYPES
        values = tuple(_plain(v, whole) for v in reading.value)
        key = f"{name}_{reading.channel}"
        if parts and len(parts) == len(values):
            fields[key] = dict(zip(parts, values, strict=True))
        elif len(values) == 1:
            fields[key] = values[0]
        else:
            fields[key] = list(values)
    return fields


def _plain(value: Any, whole: bool) -> Any:
    if isinstance(value, float):
        return int(value) if whole and value.is_integer() else round(value, 6)
    return value


DECODERS: dict[str, Decoder] = {"cayennelpp": decode_cayennelpp}
_entry_points_loaded = False


def get_decoder(name: str) -> Decoder | None:
    """The decoder registered under `name`; entry points are read once, on the first look-up."""
    _load_entry_points()
    return DECODERS.get(name)


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.name in DECODERS and entry_point.value == "agents.lorawan.decoders:decode_cayennelpp":
            continue
        try:
            decoder = entry_point.load()
        except Exception:
            log.exception("decoder %s (%s) could not be loaded", entry_point.name, entry_point.value)
            continue
        if not callable(decoder):
            log.error("decoder %s (%s) is not callable", entry_point.name, entry_point.value)
            continue
        if entry_point.name in DECODERS:
            log.warning("decoder %s from %s replaces an earlier one", entry_point.name, entry_point.value)
        DECODERS[entry_point.name] = decoder
