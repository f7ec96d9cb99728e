# SPDX-License-Identifier: EUPL-1.2
"""CayenneLPP, every type of the Cayenne spec and of the extended (ElectronicCats) list, as test vectors;
and the decoder registry (a dict by name, filled from the citycontext.decoders entry points)."""

from __future__ import annotations

from typing import Any

import pytest

from agents.lorawan import decoders
from agents.lorawan.decoders import (
    CAYENNE_TYPES,
    DECODERS,
    decode_cayennelpp,
    get_decoder,
)

VECTORS: list[tuple[str, dict[str, Any]]] = [
    # the two examples of the Cayenne LPP documentation
    ("03670110056700ff", {"temperature_3": 27.2, "temperature_5": 25.5}),
    ("067104d2fb2e0000", {"accelerometer_6": {"x": 1.234, "y": -1.234, "z": 0.0}}),
    ("018806765ff2960a0003e8", {"gps_1": {"latitude": 42.3519, "longitude": -87.9094, "altitude": 10.0}}),
    ("010001", {"digital_in_1": 1}),
    ("020100", {"digital_out_2": 0}),
    ("0102012c", {"analog_in_1": 3.0}),
    ("0103ff38", {"analog_out_1": -2.0}),
    ("016400000100", {"generic_sensor_1": 256}),
    ("0165012c", {"luminosity_1": 300}),
    ("016601", {"presence_1": 1}),
    ("016864", {"relative_humidity_1": 50.0}),
    ("01732794", {"barometric_pressure_1": 1013.2}),
    ("01740169", {"voltage_1": 3.61}),
    ("01750064", {"current_1": 0.1}),
    ("0176000001f4", {"frequency_1": 500}),
    ("017864", {"percentage_1": 100}),
    ("0179ff9c", {"altitude_1": -100}),
    ("017a0003e8", {"load_1": 1.0}),
    ("017d0190", {"concentration_1": 400}),
    ("01800064", {"power_1": 100}),
    ("0182000004d2", {"distance_1": 1.234}),
    ("018300003039", {"energy_1": 12.345}),
    ("018400f0", {"direction_1": 240}),
    ("018569270e00", {"unixtime_1": 0x69270E00}),
    ("0186ff9c00640000", {"gyrometer_1": {"x": -1.0, "y": 1.0, "z": 0.0}}),
    ("0187ff8000", {"colour_1": {"r": 255, "g": 128, "b": 0}}),
    ("018e01", {"switch_1": 1}),
]


@pytest.mark.parametrize(("payload", "fields"), VECTORS)
def test_cayennelpp_vector(payload: str, fields: dict[str, Any]) -> None:
    assert decode_cayennelpp(bytes.fromhex(payload)) == fields


def test_every_cayenne_type_has_a_vector() -> None:
    covered = {int(payload[2:4], 16) for payload, _ in VECTORS}
    assert covered == set(CAYENNE_TYPES)


@pytest.mark.parametrize("payload", ["", "0167", "01ff0001", "03670110056700"])
def test_a_truncated_or_unknown_cayenne_frame_raises(payload: str) -> None:
    with pytest.raises(Exception):  # noqa: B017 - any exception: the agent counts it as decoder_error
        decode_cayennelpp(bytes.fromhex(payload))


def test_the_registry_is_a_dict_by_name_and_reads_entry_points_once(monkeypatch: pytest.MonkeyPatch) -> None:
    class EntryPoint:
        name, value = "hamm-counter", "hamm:decode"

        def load(self) -> Any:
            return lambda payload, f_port: {"count": payload[0]}

    monkeypatch.setattr(decoders, "_entry_points_loaded", False)
    monkeypatch.setattr(decoders, "DECODERS", {**DECODERS})
    monkeypatch.setattr(decoders, "entry_points", lambda group: [EntryPoint()] if group == "citycontext.decoders" else [])
    decoder = get_decoder("hamm-counter")
    assert decoder is not None and decoder(b"\x07", 1) == {"count": 7}
    assert get_decoder("cayennelpp") is decode_cayennelpp
    assert get_decoder("nothing-by-this-name") is None
