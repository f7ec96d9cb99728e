# SPDX-License-Identifier: EUPL-1.2
"""geoQ: parse and validate a geo-query (clause 4.10), and evaluate one against a GeoJSON geometry.

The relations are the OGC simple-features predicates (shapely) between the entity's geometry (the
target) and the query's (the reference), on longitude/latitude as given: lines between positions are
straight in longitude/latitude, as RFC 7946 (3.1.1) defines them for GeoJSON. `near` measures metres
on the WGS84 ellipsoid (pyproj.Geod, GeographicLib) between the nearest points of the two geometries,
found in a local equirectangular frame around the reference (`NearFrame`): maxDistance matches at a
distance <= the number, minDistance at >= (clause 4.10 speaks of a buffer of the reference geometry;
for a point target that is the same, for lines and areas it is the nearest point, as PostGIS
ST_DWithin and MongoDB $near read it). PostGIS geography would join positions by great circles
instead, kilometres away from the GeoJSON line for long edges, so the PostgreSQL store computes this
same distance in SQL (broker.query.sql_postgres.compile_geo) rather than ST_DWithin on lines and areas.

A target geometry that is empty or not valid in the OGC sense (a self-intersecting ring, a line of one
distinct position) is in no relation with any reference: GEOS may refuse such input or decide it
differently from one version to the next, and the PostgreSQL store must answer exactly as this module.
The reference geometry itself must be valid (BadRequestData). For the store, `query_bbox` gives a box
that holds every geometry that can match, to prefilter rows before deciding the relation.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely  # type: ignore[import-untyped, unused-ignore]  # typed only with types-shapely installed
from pyproj import Geod
from shapely.errors import GEOSException  # type: ignore[import-untyped, unused-ignore]
from shapely.geometry import shape  # type: ignore[import-untyped, unused-ignore]
from shapely.geometry.base import BaseGeometry  # type: ignore[import-untyped, unused-ignore]
from shapely.ops import nearest_points  # type: ignore[import-untyped, unused-ignore]
from shapely.validation import explain_validity  # type: ignore[import-untyped, unused-ignore]

from broker.errors import BadRequestData
from broker.query.ast import DEFAULT_GEOPROPERTY, GEOMETRIES, GEORELS, NEAR, Coordinates, GeoQuery, Georel
from broker.query.syntax import QuerySyntaxError

_GEOD = Geod(ellps="WGS84")
_POSITIVE_NUMBER_RE = re.compile(r"(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?", re.ASCII)
_GEOPROPERTY_RE = re.compile(r"(?:[^\W\d_]\w*:)?[^\W\d_]\w*|[A-Za-z][A-Za-z0-9+.-]*:\S+")
# Conservative lengths of one degree (the shortest anywhere on WGS84), so that a prefilter box never
# leaves out a geometry within the distance: meridian degree >= 110,574 m, equator degree 111,319 m.
_METRES_PER_DEGREE_LATITUDE = 110_000.0
_METRES_PER_DEGREE_LONGITUDE_AT_EQUATOR = 111_000.0

BBox = tuple[float, float, float, float]


def parse_geo_query_params(
    georel: str | None = None,
    geometry: str | None = None,
    coordinates: str | None = None,
    geoproperty: str | None = None,
) -> GeoQuery | None:
    """The GET parameters (clause 6.4.3.2): all of georel, geometry and coordinates, or none of them."""
    given = {"georel": georel, "geometry": geometry, "coordinates": coordinates}
    if all(value is None for value in given.values()):
        if geoproperty is not None:
            raise BadRequestData("geoproperty needs a geo-query (georel, geometry and coordinates)")
        return None
    missing = [name for name, value in given.items() if value is None]
    if missing:
        raise BadRequestData(
            f"a geo-query needs georel, geometry and coordinates together; missing: {', '.join(missing)}"
        )
    return _geo_query(georel, geometry, coordinates, geoproperty)


def parse_geo_query_json(obj: Any) -> GeoQuery:
    """The geoQ member of a query (clause 5.2.13) or a subscription: coordinates as an array or a string."""
    if not isinstance(obj, Mapping):
        raise BadRequestData("geoQ must be a JSON object with georel, geometry and coordinates")
    missing = [name for name in ("georel", "geometry", "coordinates") if obj.get(name) is None]
    if missing:
        raise BadRequestData(f"geoQ lacks {', '.join(missing)}")
    return _geo_query(obj["georel"], obj["geometry"], obj["coordinates"], obj.get("geoproperty"))


def parse_georel(text: Any) -> Georel:
    if not isinstance(text, str):
        raise BadRequestData("georel must be a string")
    relation, separator, rest = text.partition(";")
    if relation not in GEORELS:
        raise QuerySyntaxError("georel", 0, relation, f"expected one of {', '.join(GEORELS)}")
    if relation != NEAR:
        if separator:
            raise QuerySyntaxError("georel", len(relation), text[len(relation) :], f"{relation} takes no distance")
        return Georel(relation)
    if not separator:
        raise QuerySyntaxError("georel", len(text), "", "near needs ;maxDistance==<metres> or ;minDistance==<metres>")
    modifier, equal, number = rest.partition("==")
    start = len(relation) + 1
    if modifier not in ("maxDistance", "minDistance") or not equal:
        raise QuerySyntaxError("georel", start, rest, "expected maxDistance==<metres> or minDistance==<metres>")
    start += len(modifier) + 2
    if _POSITIVE_NUMBER_RE.fullmatch(number) is None or not 0 < float(number) < math.inf:
        raise QuerySyntaxError("georel", start, number, "the distance must be a positive number of metres")
    if modifier == "maxDistance":
        return Georel(NEAR, max_distance_m=float(number))
    return Georel(NEAR, min_distance_m=float(number))


def render_georel(georel: Georel) -> str:
    if georel.max_distance_m is not None:
        return f"near;maxDistance=={_number(georel.max_distance_m)}"
    if georel.min_distance_m is not None:
        return f"near;minDistance=={_number(georel.min_distance_m)}"
    return georel.relation


def geometry_matches(geo_query: GeoQuery, geojson: Any) -> bool:
    """Whether an entity geometry (GeoJSON) is in the query's relation; a geometry shapely cannot read never is."""
    target = _shape(geojson)
    if target is None or not target.is_valid:
        return False
    reference = query_shape(geo_query)
    georel = geo_query.georel
    try:
        if georel.max_distance_m is not None:
            return distance_m(reference, target) <= georel.max_distance_m
        if georel.min_distance_m is not None:
            return distance_m(reference, target) >= georel.min_distance_m
        return bool(getattr(target, georel.relation)(reference))
    except GEOSException:
        return False


@dataclass(frozen=True)
class NearFrame:
    """The local equirectangular frame of a reference geometry, in which `near` finds the nearest points:
    x = (longitude - lon0) * scale, y = latitude - lat0, around the reference's centroid."""

    lon0: float
    lat0: float
    scale: float
    local_reference: BaseGeometry

    def to_local(self, xy: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        return np.column_stack(((xy[:, 0] - self.lon0) * self.scale, xy[:, 1] - self.lat0))

    def to_lon_lat(self, x: float, y: float) -> tuple[float, float]:
        return x / self.scale + self.lon0, y + self.lat0


@lru_cache(maxsize=256)
def near_frame(reference: BaseGeometry) -> NearFrame:
    centre = reference.centroid
    lon0, lat0 = float(centre.x), float(centre.y)
    scale = max(math.cos(math.radians(lat0)), 1e-9)
    frame = NearFrame(lon0, lat0, scale, reference)
    return NearFrame(lon0, lat0, scale, shapely.transform(reference, frame.to_local))


def distance_m(reference: BaseGeometry, target: BaseGeometry) -> float:
    """Metres on WGS84 between the nearest points of two geometries, found in the reference's NearFrame.

    broker.query.sql_postgres.compile_geo repeats these steps in SQL, operation for operation."""
    if reference.intersects(target):
        return 0.0
    frame = near_frame(reference)
    near_reference, near_target = nearest_points(frame.local_reference, shapely.transform(target, frame.to_local))
    lon1, lat1 = frame.to_lon_lat(near_reference.x, near_reference.y)
    lon2, lat2 = frame.to_lon_lat(near_target.x, near_target.y)
    _, _, metres = _GEOD.inv(lon1, lat1, lon2, lat2)
    return float(metres)


def points_match(geo_query: GeoQuery, longitudes: np.ndarray[Any, Any], latitudes: np.ndarray[Any, Any]) -> np.ndarray[Any, Any] | None:
    """Whether each Point target (longitude, latitude) is in the query's relation, for many points at once;
    exactly `geometry_matches` of each point, or None where this shortcut does not apply (then ask
    `geometry_matches` of each geometry). It applies to near with a Point reference, which repeats
    `distance_m` step by step on arrays (the same IEEE operations and the same GeographicLib inverse),
    and to within, intersects and disjoint with any reference (point-in-geometry tests of GEOS)."""
    georel = geo_query.georel
    reference = query_shape(geo_query)
    if georel.max_distance_m is not None or georel.min_distance_m is not None:
        if reference.geom_type != "Point":
            return None
        frame = near_frame(reference)
        lon0, lat0, scale = frame.lon0, frame.lat0, frame.scale
        # distance_m: the reference is its own nearest point, (lon0, lat0); the target goes into the
        # frame and back; a target on the reference is at 0 m.
        lon2 = (longitudes - lon0) * scale / scale + lon0
        lat2 = (latitudes - lat0) + lat0
        _, _, metres = _GEOD.inv(np.full(len(lon2), lon0), np.full(len(lat2), lat0), lon2, lat2)
        metres = np.where((longitudes == reference.x) & (latitudes == reference.y), 0.0, np.asarray(metres, dtype=float))
        if georel.max_distance_m is not None:
            return metres <= georel.max_distance_m
        return metres >= georel.min_distance_m
    if georel.relation == "within":
        return shapely.contains_xy(reference, longitudes, latitudes)  # type: ignore[no-any-return]
    if georel.relation == "intersects":
        return shapely.intersects_xy(reference, longitudes, latitudes)  # type: ignore[no-any-return]
    if georel.relation == "disjoint":
        return ~shapely.intersects_xy(reference, longitudes, latitudes)  # type: ignore[no-any-return]
    return None


@lru_cache(maxsize=256)
def query_shape(geo_query: GeoQuery) -> BaseGeometry:
    geometry = shape(geo_query.geojson)
    shapely.prepare(geometry)
    return geometry


def geometry_bbox(geojson: Any) -> BBox | None:
    """(min lon, min lat, max lon, max lat) of a GeoJSON geometry, or None when it holds no position."""
    positions = list(_positions(geojson))
    if not positions:
        return None
    longitudes = [position[0] for position in positions]
    latitudes = [position[1] for position in positions]
    return (min(longitudes), min(latitudes), max(longitudes), max(latitudes))


def query_bbox(geo_query: GeoQuery) -> BBox | None:
    """A box every matching entity geometry intersects; None where no box can prefilter (minDistance, disjoint)."""
    georel = geo_query.georel
    if georel.min_distance_m is not None or georel.relation == "disjoint":
        return None
    box = geometry_bbox(geo_query.geojson)
    if box is None or georel.max_distance_m is None:
        return box
    min_lon, min_lat, max_lon, max_lat = box
    delta_lat = georel.max_distance_m / _METRES_PER_DEGREE_LATITUDE
    south, north = min_lat - delta_lat, max_lat + delta_lat
    if south <= -90.0 or north >= 90.0:
        return (-180.0, max(south, -90.0), 180.0, min(north, 90.0))
    widest = math.cos(math.radians(max(abs(south), abs(north))))
    delta_lon = georel.max_distance_m / (_METRES_PER_DEGREE_LONGITUDE_AT_EQUATOR * widest)
    west, east = min_lon - delta_lon, max_lon + delta_lon
    if west < -180.0 or east > 180.0:
        return (-180.0, south, 180.0, north)
    return (west, south, east, north)


# --- validation ----------------------------------------------------------------------------------


def _geo_query(georel: Any, geometry: Any, coordinates: Any, geoproperty: Any) -> GeoQuery:
    parsed_georel = parse_georel(georel)
    if geometry not in GEOMETRIES:
        raise BadRequestData(f"geometry must be one of {', '.join(GEOMETRIES)}, not {geometry!r}")
    if isinstance(coordinates, str):
        try:
            coordinates = json.loads(coordinates)
        except ValueError:
            raise BadRequestData(f"coordinates must be a JSON array, not {coordinates[:60]!r}") from None
    checked = _check_coordinates(geometry, coordinates)
    if geoproperty is None:
        geoproperty = DEFAULT_GEOPROPERTY
    elif not isinstance(geoproperty, str) or _GEOPROPERTY_RE.fullmatch(geoproperty) is None:
        raise BadRequestData(f"geoproperty must be an attribute name, not {geoproperty!r}")
    query = GeoQuery(parsed_georel, geometry, checked, geoproperty)
    reference = shape(query.geojson)
    if not reference.is_valid:  # e.g. a self-intersecting ring, a line of one distinct position
        raise BadRequestData(f"coordinates: not a valid {geometry} ({explain_validity(reference)})")
    return query


def _check_coordinates(geometry: str, value: Any) -> Coordinates:
    if geometry == "Point":
        return _position(value, "coordinates")
    if geometry == "MultiPoint":
        return tuple(_position(item, f"coordinates[{i}]") for i, item in enumerate(_array(value, "coordinates", 1)))
    if geometry == "LineString":
        return _line(value, "coordinates")
    if geometry == "MultiLineString":
        return tuple(_line(item, f"coordinates[{i}]") for i, item in enumerate(_array(value, "coordinates", 1)))
    if geometry == "Polygon":
        return _polygon(value, "coordinates")
    return tuple(_polygon(item, f"coordinates[{i}]") for i, item in enumerate(_array(value, "coordinates", 1)))


def _array(value: Any, where: str, minimum: int) -> list[Any]:
    if not isinstance(value, list) or len(value) < minimum:
        raise BadRequestData(f"{where} must be an array of at least {minimum} item(s)")
    return value


def _position(value: Any, where: str) -> tuple[float, ...]:
    if (
        not isinstance(value, list)
        or len(value) not in (2, 3)
        or not all(isinstance(n, (int, float)) and not isinstance(n, bool) and math.isfinite(n) for n in value)
    ):
        raise BadRequestData(f"{where} must be a position, [longitude, latitude] or [longitude, latitude, altitude]")
    if not (-180 <= value[0] <= 180 and -90 <= value[1] <= 90):
        raise BadRequestData(f"{where}: longitude must be in [-180, 180] and latitude in [-90, 90]")
    # The relations are decided on the surface (clause 4.10): an altitude is accepted and left out, which
    # also lets one geometry mix positions with and without it.
    return (float(value[0]), float(value[1]))


def _line(value: Any, where: str) -> Coordinates:
    return tuple(_position(item, f"{where}[{i}]") for i, item in enumerate(_array(value, where, 2)))


def _polygon(value: Any, where: str) -> Coordinates:
    rings = []
    for i, ring in enumerate(_array(value, where, 1)):
        positions = tuple(
            _position(item, f"{where}[{i}][{j}]") for j, item in enumerate(_array(ring, f"{where}[{i}]", 4))
        )
        if positions[0][:2] != positions[-1][:2]:
            raise BadRequestData(f"{where}[{i}]: a linear ring must end where it starts")
        rings.append(positions)
    return tuple(rings)


def _shape(geojson: Any) -> BaseGeometry | None:
    if not isinstance(geojson, Mapping) or geojson.get("type") not in (*GEOMETRIES, "GeometryCollection"):
        return None
    try:
        geometry = shape(geojson)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, GEOSException):
        return None
    return None if geometry.is_empty else geometry


def _positions(geojson: Any) -> Iterator[tuple[float, float]]:
    if not isinstance(geojson, Mapping):
        return
    if geojson.get("type") == "GeometryCollection":
        for member in geojson.get("geometries") or []:
            yield from _positions(member)
        return
    yield from _walk(geojson.get("coordinates"))


def _walk(value: Any) -> Iterator[tuple[float, float]]:
    if not isinstance(value, list) or not value:
        return
    if all(isinstance(n, (int, float)) and not isinstance(n, bool) for n in value[:2]) and len(value) >= 2:
        yield (float(value[0]), float(value[1]))
        return
    for item in value:
        yield from _walk(item)


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)
