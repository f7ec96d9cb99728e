# SPDX-License-Identifier: EUPL-1.2
"""What only the PostgreSQL store has: migrations shared by processes, the PostGIS mirror of
GeoProperties, row locks across processes, and recovery from a database restart."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest

from broker.entities import batch
from broker.errors import BadRequestData, InternalError, ServiceUnavailable
from broker.query import GeoQuery, Georel
from broker.query.ast import TypeName
from broker.settings import Settings
from broker.store import PostgresStore, open_store, postgres_history
from broker.store.base import EntityQuery, EntitySelector
from broker.store.postgres import MIGRATIONS
from broker.temporal import HistoryWindow
from tests.broker.store.old_schemas import postgres_at_version
from tests.postgres_service import database_dsn, ensure_postgres_running, pg_ctlcluster, postgres_answers

T = "https://example.org/Thing"
LOCATION = "https://example.org/location"
SPEED = "https://example.org/speed"


def entity(entity_id: str, **attrs: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": entity_id,
        "type": [T],
        "createdAt": "2026-01-01T00:00:00.000Z",
        "modifiedAt": "2026-01-01T00:00:00.000Z",
    }
    for name, value in attrs.items():
        doc[f"https://example.org/{name}"] = [{"type": "Property", "value": value}]
    return doc


def point(longitude: float, latitude: float, *more: float, dataset_id: str | None = None) -> dict[str, Any]:
    instance: dict[str, Any] = {
        "type": "GeoProperty",
        "value": {"type": "Point", "coordinates": [longitude, latitude, *more]},
    }
    if dataset_id is not None:
        instance["datasetId"] = dataset_id
    return instance


@pytest.fixture
async def store(postgres_dsn: str, reset_postgres: Callable[[], Awaitable[None]]) -> AsyncIterator[PostgresStore]:
    async with PostgresStore(postgres_dsn, pool_size=2) as opened:
        await reset_postgres()
        yield opened


@pytest.fixture
async def db(postgres_dsn: str) -> AsyncIterator[Any]:
    """A plain connection to look at what the store wrote."""
    conn = await asyncpg.connect(postgres_dsn, timeout=5)
    try:
        yield conn
    finally:
        await conn.close()


async def geometries(db: Any, entity_id: str) -> list[tuple[str, str, str, int]]:
    rows = await db.fetch(
        "SELECT attribute, dataset_id, ST_AsText(geom), ST_SRID(geom) FROM entity_geometries "
        "WHERE tenant = '' AND entity_id = $1 ORDER BY attribute, dataset_id",
        entity_id,
    )
    return [tuple(row) for row in rows]


# -- migrations ----------------------------------------------------------------------------------


async def test_two_stores_opening_a_fresh_database_together_migrate_it_once(
    fresh_database: Callable[[], Awaitable[str]],
) -> None:
    dsn = await fresh_database()
    first, second = PostgresStore(dsn, pool_size=1), PostgresStore(dsn, pool_size=1)
    await asyncio.gather(first.__aenter__(), second.__aenter__())
    try:
        await first.create_entity("", entity("urn:x:1"))
        assert await second.retrieve_entity("", "urn:x:1") == entity("urn:x:1")
    finally:
        await asyncio.gather(first.aclose(), second.aclose())
    async with PostgresStore(dsn, pool_size=1) as third:  # and again: nothing left to do
        assert await third.retrieve_entity("", "urn:x:1") == entity("urn:x:1")
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        versions = [row[0] for row in await conn.fetch("SELECT version FROM citycontext_migrations ORDER BY version")]
        postgis = await conn.fetchval("SELECT extversion FROM pg_extension WHERE extname = 'postgis'")
    finally:
        await conn.close()
    assert versions == list(range(1, len(MIGRATIONS) + 1))
    assert postgis is not None


async def test_a_database_newer_than_the_code_is_refused(fresh_database: Callable[[], Awaitable[str]]) -> None:
    dsn = await fresh_database()
    async with PostgresStore(dsn, pool_size=1):
        pass
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        await conn.execute("INSERT INTO citycontext_migrations (version) VALUES ($1)", len(MIGRATIONS) + 1)
    finally:
        await conn.close()
    with pytest.raises(InternalError, match="newer than this citycontext"):
        async with PostgresStore(dsn, pool_size=1):
            pass


def test_open_store_opens_postgres_for_postgresql_and_postgres_urls() -> None:
    for url in ("postgresql://u@db.example:5432/city", "postgres://u@db.example/city"):
        assert isinstance(open_store(Settings.from_mapping({}, store=url)), PostgresStore)


# -- the PostGIS mirror ------------------------------------------------------------------------------


async def test_geometry_rows_follow_entity_writes(store: PostgresStore, db: Any) -> None:
    doc = entity("urn:x:1", speed=1)
    doc[LOCATION] = [point(7.82, 51.68, 63.5), point(7.8, 51.6, dataset_id="urn:d:gps")]
    await store.create_entity("", doc)
    assert await geometries(db, "urn:x:1") == [
        (LOCATION, "", "POINT(7.82 51.68)", 4326),  # 2D: the altitude stays in the entity
        (LOCATION, "urn:d:gps", "POINT(7.8 51.6)", 4326),
    ]
    written = await db.fetch("SELECT xmin::text FROM entity_geometries WHERE entity_id = 'urn:x:1'")

    def faster(current: dict[str, Any]) -> None:
        current[SPEED][0]["value"] = 2

    await store.modify_entity("", "urn:x:1", faster)
    assert await db.fetch("SELECT xmin::text FROM entity_geometries WHERE entity_id = 'urn:x:1'") == written

    def move(current: dict[str, Any]) -> None:
        current[LOCATION] = [point(8.0, 51.7)]

    await store.modify_entity("", "urn:x:1", move)
    assert await geometries(db, "urn:x:1") == [(LOCATION, "", "POINT(8 51.7)", 4326)]

    def forget(current: dict[str, Any]) -> None:
        del current[LOCATION]

    await store.modify_entity("", "urn:x:1", forget)
    assert await geometries(db, "urn:x:1") == []


async def test_geometry_rows_follow_batches_and_deletes(store: PostgresStore, db: Any) -> None:
    def put(doc: dict[str, Any]) -> Any:
        return lambda current: (doc, None)

    polygon = {"type": "Polygon", "coordinates": [[[7.8, 51.6], [7.9, 51.6], [7.9, 51.7], [7.8, 51.6]]]}
    first = entity("urn:x:1") | {LOCATION: [point(7.8, 51.6)]}
    second = entity("urn:x:2") | {LOCATION: [{"type": "GeoProperty", "value": polygon}]}
    await store.batch_modify("", [("urn:x:1", put(first)), ("urn:x:2", put(second))])
    assert [row[2] for row in await geometries(db, "urn:x:1") + await geometries(db, "urn:x:2")] == [
        "POINT(7.8 51.6)",
        "POLYGON((7.8 51.6,7.9 51.6,7.9 51.7,7.8 51.6))",
    ]
    await store.batch_modify("", [("urn:x:1", lambda current: (None, None))])
    await store.delete_entity("", "urn:x:2")
    assert await db.fetchval("SELECT count(*) FROM entity_geometries") == 0


# -- concurrency, errors ---------------------------------------------------------------------------


async def test_two_processes_patching_different_attributes_lose_nothing(
    postgres_dsn: str, store: PostgresStore
) -> None:
    """Two pools stand for two broker processes; each PATCHes its own attributes of one entity."""
    await store.create_entity("", entity("urn:x:1"))

    def setter(name: str) -> Callable[[dict[str, Any]], None]:
        def change(doc: dict[str, Any]) -> None:
            doc[f"https://example.org/{name}"] = [{"type": "Property", "value": name}]

        return change

    async with PostgresStore(postgres_dsn, pool_size=3) as other:
        names = [f"a{i}" for i in range(30)]
        await asyncio.gather(
            *((store if i % 2 else other).modify_entity("", "urn:x:1", setter(name)) for i, name in enumerate(names))
        )
    final = await store.retrieve_entity("", "urn:x:1")
    assert final is not None
    assert {key.rsplit("/", 1)[1] for key in final if key.startswith("https://")} == set(names)


async def test_two_processes_upserting_the_same_new_entities_in_batches_both_succeed(
    postgres_dsn: str, store: PostgresStore
) -> None:
    """Neither batch can lock an entity that does not exist yet; the one that loses the race to
    insert it runs again, sees it, and updates it (no AlreadyExists, nothing counted twice)."""

    def upsert(entity_id: str, name: str) -> Any:
        def change(current: dict[str, Any] | None) -> tuple[dict[str, Any] | None, Any]:
            doc = current if current is not None else entity(entity_id)
            doc[f"https://example.org/{name}"] = [{"type": "Property", "value": name}]
            return doc, None

        return change

    async with PostgresStore(postgres_dsn, pool_size=2) as other:
        for round_ in range(5):
            ids = [f"urn:x:{round_}:{i}" for i in range(20)]
            results = await asyncio.gather(
                store.batch_modify("", [(entity_id, upsert(entity_id, "a")) for entity_id in ids]),
                other.batch_modify("", [(entity_id, upsert(entity_id, "b")) for entity_id in reversed(ids)]),
            )
            assert all(outcome.error is None for outcomes in results for outcome in outcomes)
    assert (await store.entity_counts())[""] == 100
    assert await store.type_counts("") == {T: 100}
    final = await store.retrieve_entity("", "urn:x:4:7")
    assert final is not None and "https://example.org/a" in final and "https://example.org/b" in final


async def test_a_value_postgresql_cannot_store_is_bad_request_data(store: PostgresStore) -> None:
    with pytest.raises(BadRequestData):
        await store.create_entity("", entity("urn:x:1", label="nul \u0000 inside"))
    assert await store.retrieve_entity("", "urn:x:1") is None


async def test_an_unreachable_database_is_service_unavailable() -> None:
    with pytest.raises(ServiceUnavailable):
        async with PostgresStore("postgresql://postgres@127.0.0.1:1/none", pool_size=1, connect_timeout_s=2):
            pass


async def test_a_missing_database_is_an_internal_error_that_says_so() -> None:
    with pytest.raises(InternalError, match="does not exist"):
        async with PostgresStore(database_dsn("citycontext_no_such_database"), pool_size=1):
            pass


async def test_a_closed_store_is_service_unavailable(postgres_dsn: str) -> None:
    async with PostgresStore(postgres_dsn, pool_size=1) as store:
        pass
    with pytest.raises(ServiceUnavailable):
        await store.retrieve_entity("", "urn:x:1")


# -- a database restart ----------------------------------------------------------------------------


async def test_the_store_recovers_from_a_database_restart_by_itself(store: PostgresStore) -> None:
    await store.create_entity("", entity("urn:x:1", speed=1))

    def faster(current: dict[str, Any]) -> None:
        current[SPEED][0]["value"] += 1

    try:
        await asyncio.to_thread(pg_ctlcluster, "stop")  # the loop runs on and sees the connections drop
        assert not postgres_answers()
        with pytest.raises(ServiceUnavailable):
            await store.retrieve_entity("", "urn:x:1")
        with pytest.raises(ServiceUnavailable):
            await store.modify_entity("", "urn:x:1", faster)
    finally:
        await asyncio.to_thread(ensure_postgres_running)
    await store.modify_entity("", "urn:x:1", faster)
    assert await store.retrieve_entity("", "urn:x:1") == entity("urn:x:1", speed=2)

    # A restart the event loop did not see (it was blocked): the pooled connections look alive
    # but are dead; the next calls still succeed.
    try:
        pg_ctlcluster("restart")  # blocking on purpose: the loop must not see the connections drop
    finally:
        ensure_postgres_running()
    assert await store.retrieve_entity("", "urn:x:1") == entity("urn:x:1", speed=2)
    await store.modify_entity("", "urn:x:1", faster)
    assert await store.retrieve_entity("", "urn:x:1") == entity("urn:x:1", speed=3)


async def test_geometry_rows_of_an_older_schema_get_their_entity_s_types(
    fresh_database: Callable[[], Awaitable[str]],
) -> None:
    """Migration 4 copies each entity's types onto its geometry rows, which geo-queries for a type filter on."""
    dsn = await fresh_database()
    conn = await asyncpg.connect(dsn)
    place, park = "https://uri.etsi.org/ngsi-ld/default-context/Place", "https://uri.etsi.org/ngsi-ld/default-context/Park"
    location = "https://uri.etsi.org/ngsi-ld/location"
    doc = {
        "id": "urn:ngsi-ld:Place:old",
        "type": [place, park],
        "createdAt": "2026-01-01T00:00:00.000Z",
        "modifiedAt": "2026-01-01T00:00:00.000Z",
        location: [{"type": "GeoProperty", "value": {"type": "Point", "coordinates": [7.8, 51.66]}}],
    }
    try:
        await postgres_at_version(conn, 3)
        await conn.execute(
            "INSERT INTO entities (tenant, id, types, scope, created_at, modified_at, doc) "
            "VALUES ('', $1, $2, NULL, now(), now(), $3::jsonb)",
            doc["id"], doc["type"], json.dumps(doc),
        )
        await conn.execute(
            "INSERT INTO entity_geometries (tenant, entity_id, attribute, geom) VALUES ('', $1, $2, ST_SetSRID(ST_MakePoint(7.8, 51.66), 4326))",
            doc["id"], location,
        )
    finally:
        await conn.close()
    near = GeoQuery(Georel("near", max_distance_m=100.0), "Point", (7.8, 51.66), location)
    async with PostgresStore(dsn, pool_size=1) as store:
        for types in (TypeName(park), TypeName(place)):
            found, _ = await store.query_entities("", EntityQuery(selectors=(EntitySelector(types=types),), geo=near), limit=5, offset=0, count=False)
            assert [entity["id"] for entity in found] == [doc["id"]]


# -- migration 5: the entities whose history the temporal API deleted ----------------------------------


async def test_entities_whose_history_was_deleted_before_migration_5_start_it_anew_when_written(
    fresh_database: Callable[[], Awaitable[str]],
) -> None:
    """Version 4 lost the history of a write after a temporal deletion (no history row made again, the
    attribute not listed again); migration 5 marks the entities whose history lacks their row or one of
    their attributes, so that their next write starts it anew."""
    dsn = await fresh_database()
    temperature = "https://example.org/temperature"
    entities = {
        "urn:x:1": entity("urn:x:1", speed=1, temperature=1),  # its history deleted (DELETE /temporal/entities/{id})
        "urn:x:2": entity("urn:x:2", speed=1, temperature=1),  # temperature's history deleted
        "urn:x:3": entity("urn:x:3", speed=1),  # untouched
    }
    conn = await asyncpg.connect(dsn)
    try:
        await postgres_at_version(conn, 4)
        async with conn.transaction():
            for entity_id, doc in entities.items():
                await conn.execute(
                    "INSERT INTO entities (tenant, id, types, scope, created_at, modified_at, doc) "
                    "VALUES ('', $1, $2, NULL, now(), now(), $3::jsonb)",
                    entity_id, doc["type"], json.dumps(doc),
                )
            await postgres_history.record_writes(conn, "", [(None, doc) for doc in entities.values()], 0)
        # What version 4's delete_entity and delete_attribute did.
        await conn.execute(
            "DELETE FROM history WHERE entity_id = 'urn:x:1'; DELETE FROM history_attributes WHERE entity_id = 'urn:x:1'; "
            "DELETE FROM history_entities WHERE id = 'urn:x:1'"
        )
        for table, column in (("history", "attribute"), ("history_attributes", "attribute")):
            await conn.execute(f"DELETE FROM {table} WHERE entity_id = 'urn:x:2' AND {column} = $1", temperature)
    finally:
        await conn.close()
    later = "2026-07-01T02:00:00.000Z"
    async with PostgresStore(dsn, pool_size=1) as store:
        assert await store.retrieve_history_entity("", "urn:x:1") is None
        fragments = {entity_id: entity(entity_id, speed=0, temperature=0) for entity_id in entities}
        outcomes = await store.batch_modify(
            "", [(entity_id, batch.update(fragment, later, no_overwrite=False)) for entity_id, fragment in fragments.items()]
        )
        assert [outcome.error for outcome in outcomes] == [None, None, None]
        known = await store.retrieve_history_entity("", "urn:x:1")
        assert known is not None and (known.types, known.scope, known.deleted_at_ms) == ((T,), None, None)
        for entity_id in entities:  # temperature: listed again (1, 2) or new to the entity (3)
            assert await store.history_attributes("", entity_id) == [SPEED, temperature], entity_id
        for entity_id, attribute, values in (
            ("urn:x:1", SPEED, [0]),  # only what was written after the deletion
            ("urn:x:1", temperature, [0]),
            ("urn:x:2", SPEED, [1, 0]),
            ("urn:x:2", temperature, [0]),
            ("urn:x:3", SPEED, [1, 0]),
            ("urn:x:3", temperature, [0]),
        ):
            rows = await store.read_history("", entity_id, attribute, HistoryWindow(), limit=10)
            assert [row.doc["value"] for row in rows] == values, (entity_id, attribute)
    conn = await asyncpg.connect(dsn)
    try:
        marked = [row[0] for row in await conn.fetch("SELECT id FROM entities WHERE history_deleted ORDER BY id")]
    finally:
        await conn.close()
    assert marked == ["urn:x:1", "urn:x:2"]


async def test_a_temporal_deletion_waits_for_a_write_that_holds_the_entity_even_when_it_is_marked(
    store: PostgresStore, postgres_dsn: str
) -> None:
    """The temporal deletions lock the entity's row first (LOCK_ENTITY), as the entity writes do: a
    deletion of the history of a marked entity (whose MARK_DELETED matches no row) still waits for a
    write in flight, so that the write's instance cannot slip in after the DELETEs and be left without
    its history row or its listed attribute."""
    await store.create_entity("", entity("urn:x:1", speed=1))
    await store.delete_history_entity("", "urn:x:1")  # marks the entity
    await store.batch_modify("", [("urn:x:1", batch.update(entity("urn:x:1", speed=2), "2026-07-01T01:00:00.000Z", no_overwrite=False))])
    for delete in (
        lambda: store.delete_history_entity("", "urn:x:1"),
        lambda: store.delete_history_attribute("", "urn:x:1", "https://example.org/speed", None),
    ):
        writer = await asyncpg.connect(postgres_dsn)  # a write in flight
        try:
            transaction = writer.transaction()
            await transaction.start()
            await writer.execute("SELECT 1 FROM entities WHERE tenant = '' AND id = 'urn:x:1' FOR UPDATE")
            pending = asyncio.ensure_future(delete())
            done, _ = await asyncio.wait({pending}, timeout=1.0)
            assert not done, "the temporal deletion did not wait for the entity's lock"
            await transaction.commit()
            await pending
        finally:
            await writer.close()
        await store.batch_modify("", [("urn:x:1", batch.update(entity("urn:x:1", speed=3), "2026-07-01T02:00:00.000Z", no_overwrite=False))])
