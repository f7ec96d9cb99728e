# SPDX-License-Identifier: EUPL-1.2
"""Structural validation of GeoJSON geometries (RFC 7946, clause 3.1) held by GeoProperties.

We check what GeoJSON requires: a known type, nested arrays of numeric positions of the right
depth, LineStrings of two or more positions, linear rings of four or more positions that are
closed, and WGS84 ranges (longitude -180..180, latitude -90..90). Topological simplicity is not
checked: GeoJSON does not require it. Errors raise BadRequestData naming the offending part.
"""

from __future__ import annotations

import math
from typing import Any

from broker.errors import BadRequestData

GEOMETRY_TYPES = frozenset(
    {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection"}
)
_MAX_GEOMETRY_COLLECTION_DEPTH = 4


def is_geometry(value: Any) -> bool:
    """True when `value` looks like a GeoJSON geometry (used to recognise concise GeoProperties)."""
    return (
        isinstance(value, dict)
        and value.get("type") in GEOMETRY_TYPES
        and ("coordinates" in value or "geometries" in value)
    )


def validate_geometry(geometry: Any, where: str = "value") -> None:
    _validate(geometry, where, 0)


def _validate(geometry: Any, where: str, depth: int) -> None:
    if not isinstance(geometry, dict):
        raise BadRequestData(f"{where}: a GeoProperty value must be a GeoJSON geometry object")
    kind = geometry.get("type")
    if kind not in GEOMETRY_TYPES:
        raise BadRequestData(f"{where}: unknown GeoJSON geometry type {kind!r}")
    if kind == "GeometryCollection":
        if depth >= _MAX_GEOMETRY_COLLECTION_DEPTH:
            raise BadRequestData(f"{where}: GeometryCollections nested too deeply")
        members = geometry.get("geometries")
        if not isinstance(members, list):
            raise BadRequestData(f"{where}: a GeometryCollection needs a 'geometries' array")
        for index, member in enumerate(members):
            _validate(member, f"{where}.geometries[{index}]", depth + 1)
        return
    coordinates = geometry.get("coordinates")
    path = f"{where}.coordinates"
    if kind == "Point":
        _position(coordinates, path)
    elif kind == "MultiPoint":
        for i, position in enumerate(_array(coordinates, path)):
            _position(position, f"{path}[{i}]")
    elif kind == "LineString":
        _line(coordinates, path)
    elif kind == "MultiLineString":
        for i, line in enumerate(_array(coordinates, path)):
            _line(line, f"{path}[{i}]")
    elif kind == "Polygon":
        _polygon(coordinates, path)
    else:  # MultiPolygon
        for i, polygon in enumerate(_array(coordinates, path)):
            _polygon(polygon, f"{path}[{i}]")


def _array(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise BadRequestData(f"{path}: expected an array")
    return value


def _position(value: Any, path: str) -> None:
    if not isinstance(value, list) or not 2 <= len(value) <= 3:
        raise BadRequestData(f"{path}: a position is an array of 2 or 3 numbers")
    for number in value:
        if isinstance(number, bool) or not isinstance(number, (int, float)) or not math.isfinite(number):
            raise BadRequestData(f"{path}: coordinates must be finite numbers")
    longitude, latitude = value[0], value[1]
    if not -180 <= longitude <= 180 or not -90 <= latitude <= 90:
        raise BadRequestData(f"{path}: [{longitude}, {latitude}] is outside WGS84 (longitude, latitude)")


def _line(value: Any, path: str) -> None:
    positions = _array(value, path)
    if len(positions) < 2:
        raise BadRequestData(f"{path}: a LineString needs two or more positions")
    for i, position in enumerate(positions):
        _position(position, f"{path}[{i}]")


def _polygon(value: Any, path: str) -> None:
    rings = _array(value, path)
    if not rings:
        raise BadRequestData(f"{path}: a Polygon needs at least one linear ring")
    for i, ring in enumerate(rings):
        ring_path = f"{path}[{i}]"
        positions = _array(ring, ring_path)
        if len(positions) < 4:
            raise BadRequestData(f"{ring_path}: a linear ring needs four or more positions")
        for j, position in enumerate(positions):
            _position(position, f"{ring_path}[{j}]")
        if positions[0] != positions[-1]:
            raise BadRequestData(f"{ring_path}: a linear ring must be closed (first position == last)")


__all__ = ["GEOMETRY_TYPES", "is_geometry", "validate_geometry"]
