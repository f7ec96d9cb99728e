# SPDX-License-Identifier: EUPL-1.2
"""geoQ on PostgreSQL is decided in PostGIS (broker.query.sql_postgres.compile_geo) with exactly the answers of
broker.query.predicate.matches_geo, the subscription matcher's reference, for every georel: generated entities
with several GeoProperties and datasetId instances (points, lines, areas, 3D positions, an invalid bow-tie and
an empty geometry among them), generated reference geometries, paging and the count in SQL.

The geometries (tests/broker/query/geo_strategies.py) sit on a grid of 0.002 degrees around Hamm, so that
touching, shared edges and equal geometries are common and the relations meet their boundary cases. near is measured on the WGS84 ellipsoid both in
Python (pyproj) and in PostGIS (GeographicLib in both), and they differ by nanometres; PostGIS may also pick
another of two equally near point pairs. So a near example whose distance lies within a millimetre of the
query's (a knife edge no client can rely on) is skipped, rather than the assertion weakened.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, assume, example, given, settings

from broker.query import GeoQuery, Georel, matches_geo
from broker.store.base import EntityQuery, EntitySelector
from broker.store.postgres_indexes import write_counters, write_geometries
from broker.store.postgres_query import plan_query
from tests.broker.query.geo_strategies import (
    LOCATION,
    PARK,
    PLACE,
    STEP,
    away_from_knife_edges,
    geo_entities,
    geo_queries,
    position,
    rectangle,
    selecting,
    type_selections,
    typed_entities,
)
from tests.broker.query.test_agreement_postgres import INSERT, NOW, Harness


class GeoHarness(Harness):
    def load_geo(self, entities: tuple[dict[str, Any], ...]) -> tuple[str, list[dict[str, Any]]]:
        """The entities in a new tenant, with the PostGIS mirror the store writes beside them."""
        tenant = f"geo-{uuid.uuid4().hex[:12]}"

        async def work() -> list[dict[str, Any]]:
            import orjson

            rows = [
                (tenant, entity["id"], entity["type"], None, orjson.dumps({**entity, "createdAt": NOW, "modifiedAt": NOW}).decode())
                for entity in entities
            ]
            await self.conn.executemany(INSERT, rows)
            writes = [(None, entity) for entity in entities]
            await write_counters(self.conn, tenant, writes)
            await write_geometries(self.conn, tenant, writes)
            stored, _ = await self.store.query_entities(tenant, EntityQuery(), limit=1000, offset=0, count=False)
            return stored

        return tenant, self.run(work())


@pytest.fixture(scope="module")
def geo_harness(postgres_dsn: str) -> Iterator[GeoHarness]:
    made = GeoHarness(postgres_dsn)
    try:
        yield made
    finally:
        made.close()


@given(geo_entities(), geo_queries)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@example(  # a point exactly on a rectangle's edge: within and contains are false, intersects true
    ({"id": "urn:ngsi-ld:Place:0", "type": [PLACE], LOCATION: [{"type": "GeoProperty", "value": {"type": "Point", "coordinates": position((1, 0))}}]},),
    GeoQuery(Georel("within"), "Polygon", tuple(tuple(tuple(p) for p in ring) for ring in rectangle((0, 0), 2, 2)), LOCATION),
)
def test_postgres_decides_geoq_in_sql_exactly_as_matches_geo(
    geo_harness: GeoHarness, entities: tuple[dict[str, Any], ...], query: GeoQuery
) -> None:
    assume(away_from_knife_edges(query, entities))
    tenant, stored = geo_harness.load_geo(entities)
    expected = {entity["id"] for entity in stored if matches_geo(query, entity)}

    assert geo_harness.ids(tenant, EntityQuery(geo=query)) == expected  # also pages and counts in SQL
    some = ("urn:ngsi-ld:Place:0", "urn:ngsi-ld:Place:2")  # with another condition of the WHERE clause
    assert geo_harness.ids(tenant, EntityQuery(selectors=(EntitySelector(ids=some),), geo=query)) == expected & set(some)


HALF = STEP / 2
SQUARE = rectangle((1, 1), 2, 2)  # the reference of the relations below, (7.802, 51.662) to (7.806, 51.666)
FIXED_TARGETS = {
    "inside": {"type": "Point", "coordinates": [7.8 + 3 * HALF, 51.66 + 3 * HALF]},
    "on-edge": {"type": "Point", "coordinates": position((1, 2))},
    "outside": {"type": "Point", "coordinates": position((5, 5))},
    "same": {"type": "Polygon", "coordinates": SQUARE},
    "larger": {"type": "Polygon", "coordinates": rectangle((0, 0), 4, 4)},
    "overlapping": {"type": "Polygon", "coordinates": rectangle((2, 2), 2, 2)},
    "crossing": {"type": "LineString", "coordinates": [position((0, 2)), position((4, 2))]},
    "far-line": {"type": "LineString", "coordinates": [position((0, 5)), position((5, 5))]},
    "bow-tie": {"type": "Polygon", "coordinates": [[position(c) for c in ((1, 1), (3, 3), (3, 1), (1, 3), (1, 1))]]},
}
FIXED_EXPECTED = {
    "within": {"inside", "same"},
    "contains": {"same", "larger"},
    "intersects": {"inside", "on-edge", "same", "larger", "overlapping", "crossing"},
    "disjoint": {"outside", "far-line"},
    "equals": {"same"},
    "overlaps": {"overlapping"},
}


@pytest.mark.parametrize("relation", sorted(FIXED_EXPECTED))
def test_each_relation_selects_what_it_names_in_sql_and_in_python(geo_harness: GeoHarness, relation: str) -> None:
    entities = tuple(
        {"id": f"urn:ngsi-ld:Place:{name}", "type": [PLACE], LOCATION: [{"type": "GeoProperty", "value": geometry}]}
        for name, geometry in FIXED_TARGETS.items()
    )
    query = GeoQuery(Georel(relation), "Polygon", tuple(tuple(tuple(p) for p in ring) for ring in SQUARE), LOCATION)
    tenant, stored = geo_harness.load_geo(entities)
    expected = {f"urn:ngsi-ld:Place:{name}" for name in FIXED_EXPECTED[relation]}  # never the invalid bow-tie
    assert {entity["id"] for entity in stored if matches_geo(query, entity)} == expected
    assert geo_harness.ids(tenant, EntityQuery(geo=query)) == expected


def test_near_on_lines_measures_to_the_geojson_line_not_the_great_circle(geo_harness: GeoHarness) -> None:
    """A 10-degree east-west line at 50 N: its great circle passes 11 km north of the GeoJSON line's middle."""
    line = {"type": "LineString", "coordinates": [[0.0, 50.0], [10.0, 50.0]]}
    entities = ({"id": "urn:ngsi-ld:Place:line", "type": [PLACE], LOCATION: [{"type": "GeoProperty", "value": line}]},)
    tenant, stored = geo_harness.load_geo(entities)
    north = GeoQuery(Georel("near", max_distance_m=2_000.0), "Point", (5.0, 50.1), LOCATION)  # 11 km from the GeoJSON line
    south = GeoQuery(Georel("near", max_distance_m=2_000.0), "Point", (5.0, 50.01), LOCATION)  # 1.1 km
    far = GeoQuery(Georel("near", min_distance_m=5_000.0), "Point", (5.0, 50.1), LOCATION)
    for query, expected in ((north, set()), (south, {"urn:ngsi-ld:Place:line"}), (far, {"urn:ngsi-ld:Place:line"})):
        assert {entity["id"] for entity in stored if matches_geo(query, entity)} == expected
        assert geo_harness.ids(tenant, EntityQuery(geo=query)) == expected


@pytest.mark.parametrize(
    "georel",
    [
        Georel("within"),
        Georel("contains"),
        Georel("intersects"),
        Georel("disjoint"),
        Georel("equals"),
        Georel("overlaps"),
        Georel("near", max_distance_m=500.0),
        Georel("near", min_distance_m=500.0),
    ],
)
@pytest.mark.parametrize("geometry", ["Point", "Polygon"])
def test_every_georel_is_decided_in_sql_with_no_python_recheck(georel: Georel, geometry: str) -> None:
    coordinates: Any = (7.8, 51.66) if geometry == "Point" else tuple(tuple(tuple(p) for p in ring) for ring in rectangle((0, 0), 2, 2))
    plan = plan_query("", EntityQuery(geo=GeoQuery(georel, geometry, coordinates)))
    assert plan.check is None
    assert "entity_geometries" in plan.where + plan.source  # in the WHERE clause, or the candidates of FROM


@given(typed_entities, geo_queries, type_selections)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
def test_postgres_geoq_with_entity_types_selects_as_matches_geo(
    geo_harness: GeoHarness, entities: tuple[dict[str, Any], ...], query: GeoQuery, names: tuple[str, ...] | None
) -> None:
    """The types on the geometry rows (migration 4) select as the entity's own types do."""
    assume(away_from_knife_edges(query, entities))
    tenant, stored = geo_harness.load_geo(entities)
    expected = {
        entity["id"] for entity in stored if matches_geo(query, entity) and (names is None or set(names) & set(entity["type"]))
    }
    assert geo_harness.ids(tenant, selecting(names, query)) == expected


def test_a_change_of_type_rewrites_the_geometry_rows(geo_harness: GeoHarness) -> None:
    """The same geometry under another type: the rows follow the entity (write_geometries compares types)."""
    point = {"type": "Point", "coordinates": position((2, 2))}
    place = {"id": "urn:ngsi-ld:Place:moving", "type": [PLACE], LOCATION: [{"type": "GeoProperty", "value": point}]}
    tenant, _ = geo_harness.load_geo((place,))
    park = {**place, "type": [PARK]}

    async def retype() -> None:
        await geo_harness.conn.execute(
            "UPDATE entities SET types = $3, doc = jsonb_set(doc, '{type}', $4::jsonb) WHERE tenant = $1 AND id = $2",
            tenant, place["id"], [PARK], orjson.dumps([PARK]).decode(),
        )
        await write_geometries(geo_harness.conn, tenant, [(place, park)])

    geo_harness.run(retype())
    near = GeoQuery(Georel("near", max_distance_m=100.0), "Point", tuple(position((2, 2))), LOCATION)
    assert geo_harness.ids(tenant, selecting((PLACE,), near)) == set()
    assert geo_harness.ids(tenant, selecting((PARK,), near)) == {place["id"]}
