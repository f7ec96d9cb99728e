# SPDX-License-Identifier: EUPL-1.2
"""The agents' NGSI-LD vocabulary: the Update they queue, attribute builders, times and names.

Agents write compacted entity fragments (terms of the agent's @context, or of the core context when
none is configured); the broker expands them. Times are UTC ISO 8601 with a Z, as the broker stores them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# ETSI GS CIM 009 clause 4.6.2: attribute names are terms or IRIs; these characters are never allowed.
_FORBIDDEN = re.compile(r"[<>\"'=;()\s\\]")
RESERVED_NAMES = frozenset(
    {"id", "type", "@context", "@id", "@type", "scope", "createdAt", "modifiedAt", "deletedAt", "expiresAt"}
)
# Attributes the spec types as GeoProperty: a measure of that name must be a geometry.
GEO_NAMES = frozenset({"location", "observationSpace", "operationSpace"})
_FRACTION = re.compile(r"(\.\d{6})\d+")


class Rejected(Exception):
    """A southbound message (or one attribute of it) that must not reach the broker.

    `reason` is the metrics label (malformed_json, bad_base64, unknown_device, ...); the device id is
    logged with it, so an operator can find the device that sends garbage.
    """

    def __init__(self, reason: str, detail: str, device_id: str | None = None) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.device_id = device_id


@dataclass(frozen=True, slots=True)
class Update:
    """One entity fragment to upsert (options=update) into one broker and tenant."""

    broker_url: str
    tenant: str | None
    entity: dict[str, Any]
    device_id: str
    received_at: float  # epoch seconds when the southbound side received it (latency metric)


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso_utc(moment: datetime) -> str:
    """2026-11-26T08:00:00.123456Z (microseconds kept: uplinks of one device can be close together)."""
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}"
    return text + "Z"


def parse_time(text: Any) -> datetime:
    """Parse the ISO 8601 times network servers send: TTS has nanoseconds, ChirpStack an offset or Z.

    Raises ValueError for anything else (the caller rejects the message).
    """
    if not isinstance(text, str) or not text:
        raise ValueError(f"not a time: {text!r}")
    normal = _FRACTION.sub(r"\1", text.strip())
    if normal.endswith(("Z", "z")):
        normal = normal[:-1] + "+00:00"
    moment = datetime.fromisoformat(normal)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def valid_attribute_name(name: str) -> bool:
    return bool(name) and len(name) <= 256 and not _FORBIDDEN.search(name) and name not in RESERVED_NAMES


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def property_(value: Any, observed_at: str | None, unit_code: str | None = None) -> dict[str, Any]:
    attribute: dict[str, Any] = {"type": "Property", "value": value}
    if observed_at is not None:
        attribute["observedAt"] = observed_at
    if unit_code:
        attribute["unitCode"] = unit_code
    return attribute


def relationship(target: str, observed_at: str | None = None) -> dict[str, Any]:
    attribute: dict[str, Any] = {"type": "Relationship", "object": target}
    if observed_at is not None:
        attribute["observedAt"] = observed_at
    return attribute


def geo_property(geometry: dict[str, Any], observed_at: str | None = None) -> dict[str, Any]:
    attribute: dict[str, Any] = {"type": "GeoProperty", "value": geometry}
    if observed_at is not None:
        attribute["observedAt"] = observed_at
    return attribute


def date_time(text: str) -> dict[str, str]:
    return {"@type": "DateTime", "@value": text}


def to_point(value: Any) -> dict[str, Any]:
    """A GeoJSON Point from what devices send: GeoJSON, {latitude, longitude[, altitude]},
    [lon, lat] or the FIWARE geo:point string "lat, lon". Raises ValueError otherwise."""
    if isinstance(value, dict):
        if value.get("type") in {"Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon"}:
            return value
        lat = value.get("latitude", value.get("lat"))
        lon = value.get("longitude", value.get("lon", value.get("lng")))
        if is_number(lat) and is_number(lon):
            return _point(float(lon), float(lat))  # type: ignore[arg-type]
    elif isinstance(value, list | tuple) and len(value) in (2, 3) and all(is_number(v) for v in value):
        return _point(float(value[0]), float(value[1]))
    elif isinstance(value, str):
        parts = [p.strip() for p in value.split(",")]
        if len(parts) == 2:
            return _point(float(parts[1]), float(parts[0]))
    raise ValueError(f"not a location: {value!r}")


def _point(lon: float, lat: float) -> dict[str, Any]:
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValueError(f"coordinates out of range: [{lon}, {lat}]")
    return {"type": "Point", "coordinates": [lon, lat]}
