# SPDX-License-Identifier: EUPL-1.2
"""geoQ on the SQLite store (broker.store.sqlite_geo) answers exactly as broker.query.matches_geo, the
subscription matcher's reference: the spatial index keyed by entity type, Points decided from their
positions many at once (broker.query.geoq.points_match), other geometries on their documents, pages in id
order and counts. Generated entities (tests/broker/query/geo_strategies.py) have one or two types, several
GeoProperties and datasetId instances, points, lines, areas, 3D positions, an invalid bow-tie and an empty
geometry; the queries name no type, one type or two.
"""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import replace
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from broker.entities import batch
from broker.query import GeoQuery, Georel, geometry_bbox, matches_geo
from broker.query.geoq import geometry_matches, points_match
from broker.store import sqlite_geo, sqlite_schema, zorder
from broker.store.base import EntityQuery, EntitySelector, OrderKey
from broker.store.sqlite import SqliteStore
from tests.broker.query.geo_strategies import (
    LOCATION,
    PARK,
    PLACE,
    SHOP,
    SPACE,
    cells,
    geo_attributes,
    geo_queries,
    position,
    rectangle,
    selecting,
    type_selections,
    typed_entities,
)
from tests.broker.store.old_schemas import sqlite_at_version

R = TypeVar("R")
NOW = "2026-11-26T08:00:00.000Z"


class GeoStore:
    """One SqliteStore on a file, driven from synchronous hypothesis tests; a new tenant per example."""

    def __init__(self, path: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.path = path
        self.store = SqliteStore(str(path))
        self.run(self.store.__aenter__())
        self.tenants = 0

    def run(self, coroutine: Coroutine[Any, Any, R]) -> R:
        return self.loop.run_until_complete(coroutine)

    def close(self) -> None:
        self.run(self.store.aclose())
        self.loop.close()

    def load(self, entities: tuple[dict[str, Any], ...]) -> tuple[str, list[dict[str, Any]]]:
        self.tenants += 1
        tenant = f"geo-{self.tenants}"
        changes = [(entity["id"], batch.create(entity, NOW)) for entity in entities]
        outcomes = self.run(self.store.batch_modify(tenant, changes))
        assert all(outcome.error is None for outcome in outcomes)
        stored, _ = self.run(self.store.query_entities(tenant, EntityQuery(), limit=1000, offset=0, count=False))
        return tenant, stored

    def ids(self, tenant: str, query: EntityQuery) -> list[str]:
        """The ids of the whole answer, in order; checked against its count and against pages of two."""
        found, total = self.run(self.store.query_entities(tenant, query, limit=1000, offset=0, count=True))
        ids = [entity["id"] for entity in found]
        assert total == len(ids)
        paged: list[str] = []
        for offset in range(0, len(ids) + 2, 2):
            page, none = self.run(self.store.query_entities(tenant, query, limit=2, offset=offset, count=False))
            assert none is None
            paged.extend(entity["id"] for entity in page)
        assert paged == ids
        return ids


@pytest.fixture(scope="module")
def geo_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GeoStore]:
    made = GeoStore(tmp_path_factory.mktemp("geo") / "geo.db")
    try:
        yield made
    finally:
        made.close()


@given(typed_entities, geo_queries, type_selections)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@example(  # a point exactly on a rectangle's edge: within and contains are false, intersects true
    ({"id": "urn:ngsi-ld:Place:0", "type": [PLACE], LOCATION: [{"type": "GeoProperty", "value": {"type": "Point", "coordinates": position((1, 0))}}]},),
    GeoQuery(Georel("within"), "Polygon", tuple(tuple(tuple(p) for p in ring) for ring in rectangle((0, 0), 2, 2)), LOCATION),
    (PLACE,),
)
def test_sqlite_answers_geoq_exactly_as_matches_geo(
    geo_store: GeoStore, entities: tuple[dict[str, Any], ...], query: GeoQuery, names: tuple[str, ...] | None
) -> None:
    # No knife edges skipped (unlike PostgreSQL's test): Points are decided with the predicate's own arithmetic.
    tenant, stored = geo_store.load(entities)
    expected = [
        entity["id"]
        for entity in stored
        if matches_geo(query, entity) and (names is None or set(names) & set(entity["type"]))
    ]
    assert geo_store.ids(tenant, selecting(names, query)) == expected
    # With orderBy the page is not read in id order: the candidates filter the ordered documents.
    descending = replace(selecting(names, query), order_by=(OrderKey(None, "id", descending=True),))
    assert geo_store.ids(tenant, descending) == expected[::-1]
    some = ("urn:ngsi-ld:Place:0", "urn:ngsi-ld:Place:2")  # with another condition of the WHERE clause
    with_ids = EntityQuery(selectors=(EntitySelector(ids=some),), geo=query)
    assert geo_store.ids(tenant, with_ids) == [
        entity_id for entity_id in (entity["id"] for entity in stored if matches_geo(query, entity)) if entity_id in some
    ]


positions = st.one_of(
    cells.map(position),  # on the grid of the references: equal points, edges and corners
    st.tuples(st.floats(7.79, 7.82), st.floats(51.65, 51.68)).map(list),
)


@given(st.lists(positions, min_size=1, max_size=30), geo_queries)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
def test_points_match_decides_each_point_as_geometry_matches(points: list[list[float]], query: GeoQuery) -> None:
    inside = points_match(query, np.array([p[0] for p in points]), np.array([p[1] for p in points]))
    georel = query.georel
    point_reference = query.geometry == "Point"
    near = georel.max_distance_m is not None or georel.min_distance_m is not None
    if near and not point_reference or not near and georel.relation not in ("within", "intersects", "disjoint"):
        assert inside is None  # no shortcut: decided geometry by geometry
        return
    assert inside is not None
    # Exactly, not within a tolerance: the same arithmetic as the predicate's, point by point.
    assert inside.tolist() == [geometry_matches(query, {"type": "Point", "coordinates": p}) for p in points]


def test_a_change_of_type_moves_the_entity_in_the_index(geo_store: GeoStore) -> None:
    point = {"type": "Point", "coordinates": position((2, 2))}
    entity = {"id": "urn:ngsi-ld:Place:moving", "type": [PLACE], LOCATION: [{"type": "GeoProperty", "value": point}]}
    tenant, _ = geo_store.load((entity,))
    near = GeoQuery(Georel("near", max_distance_m=100.0), "Point", tuple(position((2, 2))), LOCATION)
    assert geo_store.ids(tenant, selecting((PLACE,), near)) == ["urn:ngsi-ld:Place:moving"]
    # The same geometry, another type (upsert replaces the entity).
    changes = [(entity["id"], batch.upsert({**entity, "type": [PARK]}, NOW, replace=True))]
    geo_store.run(geo_store.store.batch_modify(tenant, changes))
    assert geo_store.ids(tenant, selecting((PLACE,), near)) == []
    assert geo_store.ids(tenant, selecting((PARK,), near)) == ["urn:ngsi-ld:Place:moving"]
    geo_store.run(geo_store.store.delete_entity(tenant, entity["id"]))
    assert geo_store.ids(tenant, selecting((PARK,), near)) == []
    assert geo_store.ids(tenant, EntityQuery(geo=near)) == []


@pytest.mark.parametrize("version", [5, 6])
async def test_a_database_of_the_old_index_gets_the_new_one_filled(tmp_path: Path, version: int) -> None:
    """A database from before migration 6 (one R*Tree without type keys) or 7 (Points in the R*Tree) is
    re-indexed on opening."""
    path = tmp_path / f"version-{version}.db"
    conn = sqlite3.connect(path)
    sqlite_at_version(conn, version)
    for n, cell in enumerate([(0, 0), (1, 1), (5, 5)]):
        doc = {
            "id": f"urn:ngsi-ld:Place:{n}",
            "type": [PLACE],
            "createdAt": NOW,
            "modifiedAt": NOW,
            LOCATION: [{"type": "GeoProperty", "value": {"type": "Point", "coordinates": position(cell)}}],
        }
        conn.execute(
            "INSERT INTO entities (tenant, id, types, created_at, modified_at, doc) VALUES ('', ?, ?, ?, ?, ?)",
            (doc["id"], orjson.dumps(doc["type"]).decode(), NOW, NOW, orjson.dumps(doc).decode()),
        )
        lon, lat = position(cell)  # the old index's entry (no type key, no position)
        conn.execute("INSERT INTO geo_entries (id, tenant, entity_id, attribute) VALUES (?, '', ?, ?)", (n + 1, doc["id"], LOCATION))
        conn.execute("INSERT INTO geo_rtree VALUES (?, ?, ?, ?, ?)", (n + 1, lon, lon, lat, lat))
    odd = {  # stored before GeoJSON was validated strictly: indexed by its box, decided on its document
        "id": "urn:ngsi-ld:Place:odd",
        "type": [PLACE],
        "createdAt": NOW,
        "modifiedAt": NOW,
        LOCATION: [{"type": "GeoProperty", "value": {"type": "Point", "coordinates": [position((0, 0))]}}],
    }
    conn.execute(
        "INSERT INTO entities (tenant, id, types, created_at, modified_at, doc) VALUES ('', ?, ?, ?, ?, ?)",
        (odd["id"], orjson.dumps(odd["type"]).decode(), NOW, NOW, orjson.dumps(odd).decode()),
    )
    conn.commit()
    conn.close()
    near = GeoQuery(Georel("near", max_distance_m=300.0), "Point", tuple(position((0, 0))), LOCATION)
    async with SqliteStore(str(path)) as store:
        found, _ = await store.query_entities("", selecting((PLACE,), near), limit=10, offset=0, count=False)
        every, _ = await store.query_entities("", EntityQuery(), limit=10, offset=0, count=False)
        assert [entity["id"] for entity in found] == [entity["id"] for entity in every if matches_geo(near, entity)]
        assert {"urn:ngsi-ld:Place:0", "urn:ngsi-ld:Place:1"} <= {entity["id"] for entity in found}
        found, _ = await store.query_entities("", selecting((PARK,), near), limit=10, offset=0, count=False)
        assert found == []


# --- the index follows every kind of write ----------------------------------------------------------

ENTITY_IDS = [f"urn:ngsi-ld:Place:{n}" for n in range(3)]
type_lists = st.sampled_from([[PLACE], [PARK], [PLACE, PARK], [SHOP]])


@st.composite
def fragments(draw: st.DrawFn, entity_id: str, *, full: bool) -> dict[str, Any]:
    fragment: dict[str, Any] = {"id": entity_id}
    if full or draw(st.booleans()):
        fragment["type"] = draw(type_lists)
    for name in (LOCATION, SPACE):
        if draw(st.booleans()):
            fragment[name] = draw(geo_attributes)
    return fragment


@st.composite
def write_batches(draw: st.DrawFn) -> list[tuple[str, Any]]:
    """One batch of one to three writes (one entity may be written twice): an upsert replacing or updating,
    an append (update), a merge, a delete."""
    batch_changes = []
    for _ in range(draw(st.integers(1, 3))):
        entity_id = draw(st.sampled_from(ENTITY_IDS))
        kind = draw(st.sampled_from(["replace", "replace", "update", "append", "merge", "delete"]))
        if kind == "replace":
            change = batch.upsert(draw(fragments(entity_id, full=True)), NOW, replace=True)
        elif kind == "update":
            change = batch.upsert(draw(fragments(entity_id, full=True)), NOW, replace=False)
        elif kind == "append":
            change = batch.update(draw(fragments(entity_id, full=False)), NOW, no_overwrite=False)
        elif kind == "merge":
            change = batch.merge(draw(fragments(entity_id, full=False)), NOW)
        else:
            change = batch.delete(entity_id)
        batch_changes.append((entity_id, change))
    return batch_changes


@given(st.lists(write_batches(), min_size=1, max_size=5), geo_queries, type_selections)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
def test_after_any_writes_sqlite_answers_geoq_as_matches_geo(
    geo_store: GeoStore, batches: list[list[tuple[str, Any]]], query: GeoQuery, names: tuple[str, ...] | None
) -> None:
    tenant, _ = geo_store.load(())
    for changes in batches:
        geo_store.run(geo_store.store.batch_modify(tenant, changes))  # items may fail alone (not found)
    stored, _ = geo_store.run(geo_store.store.query_entities(tenant, EntityQuery(), limit=1000, offset=0, count=False))
    expected = [
        entity["id"]
        for entity in stored
        if matches_geo(query, entity) and (names is None or set(names) & set(entity["type"]))
    ]
    assert geo_store.ids(tenant, selecting(names, query)) == expected


def test_decide_marks_points_in_and_out_and_leaves_other_geometries_to_their_documents() -> None:
    near = GeoQuery(Georel("near", max_distance_m=100.0), "Point", tuple(position((0, 0))), LOCATION)
    here, far = position((0, 0)), position((5, 5))
    entries = [
        ("urn:d", far[0], far[1]),  # a point far away, and a line: its document decides
        ("urn:d", None, None),
        ("urn:c", far[0], far[1]),  # only a point far away: out
        ("urn:b", here[0], here[1]),  # a point on the reference: in, whatever else it has
        ("urn:b", None, None),
        ("urn:a", far[0], far[1]),  # two points, one of them in
        ("urn:a", here[0], here[1]),
    ]
    assert sqlite_geo.decide(near, entries) == (["urn:a", "urn:b", "urn:d"], {"urn:a", "urn:b"})
    equals = GeoQuery(Georel("equals"), "Point", tuple(here), LOCATION)  # no shortcut: every candidate is read
    assert sqlite_geo.decide(equals, entries) == (["urn:a", "urn:b", "urn:c", "urn:d"], set())


def test_a_geo_query_reads_its_candidates_and_documents_in_one_snapshot(
    geo_store: GeoStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process moves the entity away between the index search and the document reads: the page is
    still of one moment (the entity where it was), never an entity outside the query's area."""
    here = {"type": "Point", "coordinates": position((0, 0))}
    entity = {"id": "urn:ngsi-ld:Place:racing", "type": [PLACE], LOCATION: [{"type": "GeoProperty", "value": here}]}
    tenant, _ = geo_store.load((entity,))
    moved = {**entity, "createdAt": NOW, "modifiedAt": NOW, LOCATION: [{"type": "GeoProperty", "value": {"type": "Point", "coordinates": [9.0, 51.66]}}]}
    real_decide = sqlite_geo.decide

    def decide_while_another_process_writes(geo: GeoQuery, entries: Any) -> Any:
        other = sqlite3.connect(geo_store.path, timeout=30)  # another process, as far as SQLite knows
        other.execute("UPDATE entities SET doc = ? WHERE tenant = ? AND id = ?", (orjson.dumps(moved).decode(), tenant, entity["id"]))
        other.commit()
        other.close()
        return real_decide(geo, entries)

    monkeypatch.setattr(sqlite_geo, "decide", decide_while_another_process_writes)
    near = GeoQuery(Georel("near", max_distance_m=100.0), "Point", tuple(position((0, 0))), LOCATION)
    found, total = geo_store.run(geo_store.store.query_entities(tenant, selecting((PLACE,), near), limit=10, offset=0, count=True))
    assert [e[LOCATION][0]["value"] for e in found] == [here] and total == 1


def rtree_order(box: Any) -> tuple[float, float, float, float]:
    min_lon, min_lat, max_lon, max_lat = box
    return (min_lon, max_lon, min_lat, max_lat)


def test_index_entries_one_per_distinct_geometry_and_type_with_a_point_s_position(geo_store: GeoStore) -> None:
    """Two instances with one geometry are one entry; a Point entry holds its position and its box is the point;
    an entity of two types has an entry under each type."""
    here = {"type": "Point", "coordinates": [7.8123, 51.6789, 63.5]}
    area = {"type": "Polygon", "coordinates": rectangle((0, 0), 1, 1)}
    entity = {
        "id": "urn:ngsi-ld:Place:twice",
        "type": [PLACE, PARK],
        LOCATION: [
            {"type": "GeoProperty", "value": here},
            {"type": "GeoProperty", "value": here, "datasetId": "urn:ngsi-ld:Dataset:copy"},
            {"type": "GeoProperty", "value": area, "datasetId": "urn:ngsi-ld:Dataset:area"},
        ],
    }
    tenant, _ = geo_store.load((entity,))
    conn = sqlite3.connect(geo_store.path)
    rows = conn.execute(
        "SELECT g.id, g.key, g.cell, g.lon, g.lat, r.min_lon, r.max_lon, r.min_lat, r.max_lat, k.type FROM geo_entries AS g "
        "LEFT JOIN geo_rtree AS r ON r.id = g.id JOIN geo_keys AS k ON k.id = g.key WHERE g.tenant = ? ORDER BY k.type, g.lon",
        (tenant,),
    ).fetchall()
    conn.close()
    assert all(row_id % sqlite_schema.GEO_KEYS == key for row_id, key, *_ in rows)
    points = [row for row in rows if row[3] is not None]
    assert [row[9] for row in points] == [PARK, PLACE]  # one entry per type, not per instance
    for _, _, cell, lon, lat, min_lon, *_ in points:  # found by its cell, not in the R*Tree
        assert (lon, lat) == (7.8123, 51.6789) and cell == zorder.cell_of(lon, lat) and min_lon is None
    shapes = [row for row in rows if row[3] is None]
    assert [row[9] for row in shapes] == [PARK, PLACE]
    for _, _, cell, _, _, min_lon, max_lon, min_lat, max_lat, _ in shapes:  # found by its box
        assert cell is None and (min_lon, max_lon, min_lat, max_lat) == pytest.approx(rtree_order(geometry_bbox(area)))
    assert len(rows) == 4  # and the polygon under each type, without a position
