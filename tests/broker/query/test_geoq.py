# SPDX-License-Identifier: EUPL-1.2
"""geoQ (clause 4.10): parsing the GET parameters and the geoQ member, and matching real Hamm places.

Hamm Hauptbahnhof is at lon 7.8075, lat 51.6783; Maximilianpark at lon 7.8761, lat 51.6740, about 4.8 km east.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod

from broker.errors import BadRequestData
from broker.ld import ExpandedEntity, core_term_map
from broker.query import (
    GeoQuery,
    Georel,
    expand_query,
    geometry_bbox,
    matches_geo,
    parse_geo_query_json,
    parse_geo_query_params,
    parse_georel,
    query_bbox,
    render_georel,
)
from broker.query.geoq import distance_m, query_shape
from tests.broker.query.entity_table import load_vectors

VECTORS = load_vectors("geo_query.json")
TERM_MAP = core_term_map()
LOCATION = "https://uri.etsi.org/ngsi-ld/location"
GEOD = Geod(ellps="WGS84")

HAUPTBAHNHOF = [7.8075, 51.6783]
MAXIMILIANPARK = [7.8761, 51.6740]
_lon, _lat, _ = GEOD.fwd(HAUPTBAHNHOF[0], HAUPTBAHNHOF[1], 0, 300)
NORTH_OF_HAUPTBAHNHOF_300_M = [_lon, _lat]
CITY_CENTRE = [[[7.79, 51.67], [7.83, 51.67], [7.83, 51.69], [7.79, 51.69], [7.79, 51.67]]]


def place(geometry: dict[str, Any], name: str = LOCATION) -> ExpandedEntity:
    return {
        "id": "urn:ngsi-ld:Place:1",
        "type": ["https://uri.etsi.org/ngsi-ld/default-context/Place"],
        name: [{"type": "GeoProperty", "value": geometry}],
    }


def point(coordinates: list[float]) -> dict[str, Any]:
    return {"type": "Point", "coordinates": coordinates}


def geo(georel: str, geometry: str, coordinates: Any, geoproperty: str | None = None) -> GeoQuery:
    query = parse_geo_query_json(
        {
            "georel": georel,
            "geometry": geometry,
            "coordinates": coordinates,
            **({"geoproperty": geoproperty} if geoproperty else {}),
        }
    )
    return expand_query(query, TERM_MAP)


def as_tuples(value: Any) -> Any:
    return tuple(as_tuples(item) for item in value) if isinstance(value, list) else float(value)


@pytest.mark.parametrize("vector", VECTORS["valid"], ids=[v["clause"] for v in VECTORS["valid"]])
def test_geo_query_vectors_parse(vector: dict[str, Any]) -> None:
    if "params" in vector:
        parsed = parse_geo_query_params(**vector["params"])
    else:
        parsed = parse_geo_query_json(vector["json"])
    expected = vector["expected"]
    assert parsed == GeoQuery(
        Georel(**expected["georel"]), expected["geometry"], as_tuples(expected["coordinates"]), expected["geoproperty"]
    )


@pytest.mark.parametrize(
    "vector", VECTORS["malformed"], ids=[f"{v['clause']} {v['detail']}" for v in VECTORS["malformed"]]
)
def test_malformed_geo_query_is_bad_request_data(vector: dict[str, Any]) -> None:
    with pytest.raises(BadRequestData) as caught:
        if "params" in vector:
            parse_geo_query_params(**vector["params"])
        else:
            parse_geo_query_json(vector["json"])
    assert vector["detail"] in caught.value.detail


def test_no_geo_parameters_is_no_geo_query() -> None:
    assert parse_geo_query_params(None, None, None, None) is None


def test_georel_renders_back() -> None:
    for text in ("near;maxDistance==1000", "near;minDistance==2.5", "within", "overlaps"):
        assert render_georel(parse_georel(text)) == text


def test_the_two_places_are_about_4_8_km_apart() -> None:
    metres = distance_m(
        query_shape(geo("near;maxDistance==1", "Point", HAUPTBAHNHOF)),
        query_shape(geo("within", "Point", MAXIMILIANPARK)),
    )
    assert 4_700 < metres < 4_850


def test_near_max_distance_includes_300_m_and_excludes_maximilianpark() -> None:
    query = geo("near;maxDistance==1000", "Point", HAUPTBAHNHOF)
    assert matches_geo(query, place(point(NORTH_OF_HAUPTBAHNHOF_300_M)))
    assert matches_geo(query, place(point(HAUPTBAHNHOF)))
    assert not matches_geo(query, place(point(MAXIMILIANPARK)))


def test_near_max_distance_is_metres_not_degrees() -> None:
    assert not matches_geo(
        geo("near;maxDistance==299", "Point", HAUPTBAHNHOF), place(point(NORTH_OF_HAUPTBAHNHOF_300_M))
    )
    assert matches_geo(geo("near;maxDistance==301", "Point", HAUPTBAHNHOF), place(point(NORTH_OF_HAUPTBAHNHOF_300_M)))


def test_near_min_distance_is_the_other_side() -> None:
    query = geo("near;minDistance==1000", "Point", HAUPTBAHNHOF)
    assert matches_geo(query, place(point(MAXIMILIANPARK)))
    assert not matches_geo(query, place(point(NORTH_OF_HAUPTBAHNHOF_300_M)))


def test_near_measures_to_the_nearest_point_of_a_line() -> None:
    # A street passing 300 m north of the station, 2 km long east to west.
    west, _, _ = GEOD.fwd(NORTH_OF_HAUPTBAHNHOF_300_M[0], NORTH_OF_HAUPTBAHNHOF_300_M[1], 270, 1000)
    east, _, _ = GEOD.fwd(NORTH_OF_HAUPTBAHNHOF_300_M[0], NORTH_OF_HAUPTBAHNHOF_300_M[1], 90, 1000)
    street = {
        "type": "LineString",
        "coordinates": [[west, NORTH_OF_HAUPTBAHNHOF_300_M[1]], [east, NORTH_OF_HAUPTBAHNHOF_300_M[1]]],
    }
    assert matches_geo(geo("near;maxDistance==310", "Point", HAUPTBAHNHOF), place(street))
    assert not matches_geo(geo("near;maxDistance==290", "Point", HAUPTBAHNHOF), place(street))


def test_near_a_reference_line() -> None:
    railway = [[7.78, 51.6783], [7.84, 51.6783]]
    assert matches_geo(geo("near;maxDistance==400", "LineString", railway), place(point(NORTH_OF_HAUPTBAHNHOF_300_M)))
    assert not matches_geo(
        geo("near;maxDistance==200", "LineString", railway), place(point(NORTH_OF_HAUPTBAHNHOF_300_M))
    )


def test_within_the_city_centre() -> None:
    query = geo("within", "Polygon", CITY_CENTRE)
    assert matches_geo(query, place(point(HAUPTBAHNHOF)))
    assert matches_geo(query, place(point(NORTH_OF_HAUPTBAHNHOF_300_M)))
    assert not matches_geo(query, place(point(MAXIMILIANPARK)))


def test_within_a_multipolygon() -> None:
    query = geo("within", "MultiPolygon", [CITY_CENTRE, [[[7.87, 51.67], [7.88, 51.67], [7.88, 51.68], [7.87, 51.67]]]])
    assert matches_geo(query, place(point(HAUPTBAHNHOF)))
    assert matches_geo(query, place(point([7.879, 51.6705])))
    assert not matches_geo(query, place(point([7.85, 51.675])))


def test_contains_a_point() -> None:
    park = {
        "type": "Polygon",
        "coordinates": [[[7.870, 51.670], [7.882, 51.670], [7.882, 51.678], [7.870, 51.678], [7.870, 51.670]]],
    }
    assert matches_geo(geo("contains", "Point", MAXIMILIANPARK), place(park))
    assert not matches_geo(geo("contains", "Point", HAUPTBAHNHOF), place(park))
    assert matches_geo(geo("contains", "MultiPoint", [MAXIMILIANPARK, [7.871, 51.671]]), place(park))


def test_intersects_and_disjoint() -> None:
    route = [[7.80, 51.6783], [7.88, 51.6740]]  # a line from the station towards the park
    centre = {"type": "Polygon", "coordinates": CITY_CENTRE}
    assert matches_geo(geo("intersects", "LineString", route), place(centre))
    assert not matches_geo(geo("disjoint", "LineString", route), place(centre))
    far = [[[7.95, 51.70], [7.96, 51.70]], [[7.95, 51.71], [7.96, 51.71]]]
    assert matches_geo(geo("disjoint", "MultiLineString", far), place(centre))
    assert not matches_geo(geo("intersects", "MultiLineString", far), place(centre))


def test_equals_and_overlaps() -> None:
    assert matches_geo(geo("equals", "Point", HAUPTBAHNHOF), place(point(HAUPTBAHNHOF)))
    assert not matches_geo(geo("equals", "Point", HAUPTBAHNHOF), place(point(MAXIMILIANPARK)))
    centre = {"type": "Polygon", "coordinates": CITY_CENTRE}
    shifted = [[[7.82, 51.68], [7.85, 51.68], [7.85, 51.70], [7.82, 51.70], [7.82, 51.68]]]
    assert matches_geo(geo("overlaps", "Polygon", shifted), place(centre))
    assert not matches_geo(geo("overlaps", "Polygon", CITY_CENTRE), place(centre))  # equal is not overlapping


def test_geoproperty_names_the_attribute() -> None:
    query = geo("within", "Polygon", CITY_CENTRE, geoproperty="observationSpace")
    observation_space = "https://uri.etsi.org/ngsi-ld/observationSpace"
    assert query.geoproperty == observation_space
    assert matches_geo(query, place(point(HAUPTBAHNHOF), name=observation_space))
    assert not matches_geo(query, place(point(HAUPTBAHNHOF)))


def test_any_instance_may_match_and_bad_geometries_never_do() -> None:
    query = geo("near;maxDistance==1000", "Point", HAUPTBAHNHOF)
    entity = place(point(MAXIMILIANPARK))
    entity[LOCATION].append(
        {"type": "GeoProperty", "value": point(HAUPTBAHNHOF), "datasetId": "urn:ngsi-ld:Dataset:gps"}
    )
    assert matches_geo(query, entity)
    for broken in ({"type": "Point"}, {"type": "Point", "coordinates": "x"}, "POINT(7 51)", {"type": "Circle"}):
        assert not matches_geo(query, place(broken))  # type: ignore[arg-type]
    assert not matches_geo(query, {"id": "urn:x", "type": []})


def test_bounding_boxes() -> None:
    assert geometry_bbox({"type": "Polygon", "coordinates": CITY_CENTRE}) == (7.79, 51.67, 7.83, 51.69)
    assert geometry_bbox(
        {"type": "GeometryCollection", "geometries": [point(HAUPTBAHNHOF), point(MAXIMILIANPARK)]}
    ) == (7.8075, 51.674, 7.8761, 51.6783)
    assert geometry_bbox({"type": "Point"}) is None
    assert query_bbox(geo("within", "Polygon", CITY_CENTRE)) == (7.79, 51.67, 7.83, 51.69)
    assert query_bbox(geo("near;minDistance==10", "Point", HAUPTBAHNHOF)) is None
    assert query_bbox(geo("disjoint", "Point", HAUPTBAHNHOF)) is None
    box = query_bbox(geo("near;maxDistance==1000", "Point", HAUPTBAHNHOF))
    assert box is not None
    west, south, east, north = box
    assert west < 7.8075 - 0.0144 and east > 7.8075 + 0.0144 and south < 51.6783 - 0.0089 and north > 51.6783 + 0.0089
    assert east - west < 0.04 and north - south < 0.025


@given(st.floats(-179, 179), st.floats(-85, 85), st.floats(0, 360), st.floats(1, 200_000), st.floats(0, 1))
@settings(max_examples=200)
def test_near_prefilter_box_holds_every_point_within_the_distance(
    lon: float, lat: float, azimuth: float, distance: float, fraction: float
) -> None:
    query = GeoQuery(Georel("near", max_distance_m=distance), "Point", (lon, lat), LOCATION)
    box = query_bbox(query)
    assert box is not None
    target_lon, target_lat, _ = GEOD.fwd(lon, lat, azimuth, distance * fraction)
    west, south, east, north = box
    if west > -180 or east < 180:  # a box that does not wrap around the antimeridian
        assert west <= target_lon <= east
    assert south <= target_lat <= north


def test_an_altitude_is_accepted_and_left_out_also_on_some_positions_only() -> None:
    # Relations are decided on the surface; a geometry mixing [lon, lat] and [lon, lat, alt] is one line.
    line = parse_geo_query_params("near;maxDistance==1000", "LineString", "[[7.80,51.67,80],[7.83,51.70]]", None)
    assert line is not None and line.coordinates == ((7.80, 51.67), (7.83, 51.70))
    ring = "[[[7.81,51.68,1],[7.82,51.68],[7.82,51.69,2.5],[7.81,51.68]]]"
    polygon = parse_geo_query_params("within", "Polygon", ring, None)
    assert polygon is not None and polygon.coordinates[0][2] == (7.82, 51.69)
