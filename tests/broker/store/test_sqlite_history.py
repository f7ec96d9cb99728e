# SPDX-License-Identifier: EUPL-1.2
"""The layout of the history in the SQLite store (broker.store.sqlite_history): the attributes of an
entity's history live in its row of history_entities (MIGRATION_ATTRIBUTES; they were rows of
history_attributes). Generated sequences of entity writes, batches and temporal API writes and deletions
check that the list is the set of attributes with instances, and that the SQLite store answers as the
PostgreSQL store (which keeps the table); a database of the old layout migrates to the same answers.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broker.errors import AlreadyExists, ResourceNotFound
from broker.entities import batch
from broker.store import PostgresStore, SqliteStore, Store, sqlite_history, sqlite_schema
from broker.temporal import HistoryEntity, HistoryWindow, instance_record
from broker.temporal.instances import entity_change, history_records, new_attributes
from broker.temporal.times import datetime_ms
from tests.broker.store.old_schemas import sqlite_at_version

R = TypeVar("R")
T = "https://example.org/Thing"
ATTRS = tuple(f"https://example.org/a{n}" for n in range(3))
IDS = ("urn:x:1", "urn:x:2")
STAMP = "2026-07-01T00:00:00.000Z"
HISTORY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

Values = dict[str, int]


def entity_with(entity_id: str, values: Values, stamp: str = STAMP) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": entity_id, "type": [T], "createdAt": STAMP, "modifiedAt": stamp}
    for attribute, value in values.items():
        doc[attribute] = [{"type": "Property", "value": value, "createdAt": STAMP, "modifiedAt": stamp}]
    return doc


values = st.dictionaries(st.sampled_from(ATTRS), st.integers(0, 1), max_size=3)
entity_ids = st.sampled_from(IDS)
entity_writes = st.one_of(
    st.tuples(st.just("create"), entity_ids, values),  # Store.create_entity: one write
    st.tuples(st.just("batch"), st.lists(st.tuples(entity_ids, values), min_size=1, max_size=4)),  # repeats too
    st.tuples(st.just("delete"), entity_ids),
    st.tuples(st.just("append"), entity_ids, st.sampled_from(ATTRS), st.integers(0, 1)),  # the temporal API's write
)
forget_attribute = st.tuples(st.just("forget_attribute"), entity_ids, st.sampled_from(ATTRS))
forget_entity = st.tuples(st.just("forget_entity"), entity_ids)


def replacing(entity: dict[str, Any]) -> Callable[[dict[str, Any] | None], tuple[dict[str, Any], None]]:
    return lambda _current: (entity, None)


async def apply(store: Store, tenant: str, op: tuple[Any, ...]) -> None:
    kind = op[0]
    if kind == "create":
        try:
            await store.create_entity(tenant, entity_with(op[1], op[2]))
        except AlreadyExists:
            pass
    elif kind == "batch":
        await store.batch_modify(tenant, [(entity_id, replacing(entity_with(entity_id, v))) for entity_id, v in op[1]])
    elif kind == "delete":
        try:
            await store.delete_entity(tenant, op[1])
        except ResourceNotFound:
            pass
    elif kind == "append":
        instance = {"type": "Property", "value": op[3], "createdAt": STAMP, "modifiedAt": STAMP}
        await store.add_history(tenant, HistoryEntity(op[1], (T,)), [instance_record(op[1], op[2], instance, datetime_ms(STAMP))])
    elif kind == "forget_attribute":
        try:
            await store.delete_history_attribute(tenant, op[1], op[2], None)
        except ResourceNotFound:
            pass
    elif kind == "forget_entity":
        try:
            await store.delete_history_entity(tenant, op[1])
        except ResourceNotFound:
            pass


async def answers(store: Store, tenant: str) -> dict[str, Any]:
    """What the temporal API reads of the history's entities and attributes (deletion instants aside)."""
    entities = await store.history_entities(tenant, limit=100)
    out: dict[Any, Any] = {
        "entities": [(e.id, e.types, e.scope, e.deleted_at_ms is not None) for e in entities],
        "by_attribute": {a: [e.id for e in await store.history_entities(tenant, attrs=[a], limit=100)] for a in ATTRS},
    }
    for entity in entities:
        attributes = await store.history_attributes(tenant, entity.id)
        out[entity.id] = attributes
        for attribute in attributes:
            rows = await store.read_history(tenant, entity.id, attribute, HistoryWindow(), limit=100)
            out[entity.id, attribute] = [(row.doc.get("value"), row.deleted_at_ms is not None) for row in rows]
    return out


class Stores:
    """A SqliteStore on a file and a PostgresStore on the session database, driven from synchronous
    hypothesis tests; a new tenant per example."""

    def __init__(self, path: Path, dsn: str | None) -> None:
        self.loop = asyncio.new_event_loop()
        self.path = path
        self.sqlite = SqliteStore(str(path))
        self.run(self.sqlite.__aenter__())
        self.postgres = PostgresStore(dsn, pool_size=2) if dsn is not None else None
        if self.postgres is not None:
            self.run(self.postgres.__aenter__())

    def run(self, coroutine: Coroutine[Any, Any, R]) -> R:
        return self.loop.run_until_complete(coroutine)

    def close(self) -> None:
        self.run(self.sqlite.aclose())
        if self.postgres is not None:
            self.run(self.postgres.aclose())
        self.loop.close()

    def rows(self, tenant: str) -> dict[str, list[str]]:
        """The attributes with instances, per entity, read from the history table itself."""
        conn = sqlite3.connect(self.path)
        try:
            found = conn.execute(
                "SELECT DISTINCT entity_id, attribute FROM history WHERE tenant = ? ORDER BY entity_id, attribute", (tenant,)
            ).fetchall()
        finally:
            conn.close()
        out: dict[str, list[str]] = {}
        for entity_id, attribute in found:
            out.setdefault(entity_id, []).append(attribute)
        return out


@pytest.fixture(scope="module")
def sqlite_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stores]:
    made = Stores(tmp_path_factory.mktemp("history") / "history.db", None)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory, postgres_dsn: str) -> Iterator[Stores]:
    made = Stores(tmp_path_factory.mktemp("history") / "history.db", postgres_dsn)
    try:
        yield made
    finally:
        made.close()


@HISTORY
@given(st.lists(entity_writes, min_size=1, max_size=8))
def test_the_attributes_of_an_entity_are_those_with_instances(sqlite_only: Stores, ops: list[tuple[Any, ...]]) -> None:
    tenant = f"h{uuid.uuid4().hex[:12]}"
    store = sqlite_only.sqlite
    for op in ops:
        sqlite_only.run(apply(store, tenant, op))
    with_rows = sqlite_only.rows(tenant)
    entities = sqlite_only.run(store.history_entities(tenant, limit=100))
    assert sorted(with_rows) == [entity.id for entity in entities if entity.id in with_rows]
    for entity in entities:
        assert sqlite_only.run(store.history_attributes(tenant, entity.id)) == with_rows.get(entity.id, [])
    for attribute in ATTRS:
        selected = sqlite_only.run(store.history_entities(tenant, attrs=[attribute], limit=100))
        assert [e.id for e in selected] == sorted(i for i, attributes in with_rows.items() if attribute in attributes)
    conn = sqlite3.connect(sqlite_only.path)
    try:  # the column as written: sorted, without repeats
        for (column,) in conn.execute("SELECT attributes FROM history_entities WHERE tenant = ?", (tenant,)):
            assert orjson.loads(column) == sorted(set(orjson.loads(column)))
    finally:
        conn.close()


@HISTORY
@given(
    st.lists(st.one_of(entity_writes, forget_attribute), min_size=1, max_size=10),
    st.lists(st.one_of(forget_entity, forget_attribute), max_size=2),
)
def test_the_sqlite_history_answers_as_the_postgresql_history(
    both: Stores, writes: list[tuple[Any, ...]], forgets: list[tuple[Any, ...]]
) -> None:
    """The same answers after the same writes. The deletion of an entity's history comes last: the writes
    that follow it while the entity lives on (to attributes new to it) are known to the PostgreSQL store's
    history_attributes, which then has rows of no entity, and lost to the SQLite store's entity rows."""
    ops = writes + forgets
    tenant = f"h{uuid.uuid4().hex[:12]}"
    assert both.postgres is not None
    for op in ops:
        both.run(apply(both.sqlite, tenant, op))
        both.run(apply(both.postgres, tenant, op))
    assert both.run(answers(both.sqlite, tenant)) == both.run(answers(both.postgres, tenant))


# -- migration from history_attributes -----------------------------------------------------------------

DELETED_MS = datetime_ms("2026-07-02T00:00:00Z")
OLD_UPSERT_ENTITY = (
    "INSERT INTO history_entities (tenant, id, types, scope, deleted_at) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (tenant, id) DO UPDATE SET types = excluded.types, scope = excluded.scope, deleted_at = excluded.deleted_at"
)
OLD_INSERT_ATTRIBUTE = "INSERT OR IGNORE INTO history_attributes (tenant, entity_id, attribute) VALUES (?, ?, ?)"


def old_record_write(conn: sqlite3.Connection, tenant: str, before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
    """What record_write wrote before MIGRATION_ATTRIBUTES: the entity row, a row per new attribute, the instances."""
    records = history_records(before, after, DELETED_MS)
    change = entity_change(before, after, DELETED_MS)
    if change is not None:
        conn.execute(OLD_UPSERT_ENTITY, sqlite_history.entity_row(tenant, change)[:5])
    if records:
        conn.executemany(OLD_INSERT_ATTRIBUTE, [(tenant, records[0].entity_id, a) for a in new_attributes(before, records)])
        conn.executemany(sqlite_history.INSERT_INSTANCE, [sqlite_history.row_of(tenant, record) for record in records])


async def test_a_history_of_the_old_layout_answers_the_same_after_the_migration(tmp_path: Path) -> None:
    path = tmp_path / "version-7.db"
    conn = sqlite3.connect(path)
    sqlite_at_version(conn, 7)  # the last version with history_attributes
    one = entity_with("urn:x:1", {ATTRS[0]: 1, ATTRS[1]: 1})
    one_later = entity_with("urn:x:1", {ATTRS[0]: 0}, "2026-07-01T01:00:00.000Z")  # ATTRS[1] deleted
    two = entity_with("urn:x:2", {ATTRS[2]: 1})
    old_record_write(conn, "", None, one)
    old_record_write(conn, "", one, one_later)
    old_record_write(conn, "", None, two)
    old_record_write(conn, "", two, None)  # the entity deleted: its history stays
    old_record_write(conn, "t2", None, entity_with("urn:x:1", {ATTRS[2]: 0}))  # another tenant
    conn.execute(OLD_INSERT_ATTRIBUTE, ("", "urn:x:9", ATTRS[0]))  # of no entity row: dropped
    conn.commit()
    assert conn.execute("SELECT count(*) FROM history_attributes").fetchone() == (5,)
    conn.close()
    async with SqliteStore(str(path)) as store:
        assert await store.history_attributes("", "urn:x:1") == [ATTRS[0], ATTRS[1]]
        assert await store.history_attributes("", "urn:x:2") == [ATTRS[2]]
        assert await store.history_attributes("t2", "urn:x:1") == [ATTRS[2]]
        assert await store.history_attributes("", "urn:x:9") == []
        assert [e.id for e in await store.history_entities("", attrs=[ATTRS[1]], limit=10)] == ["urn:x:1"]
        assert [e.id for e in await store.history_entities("", attrs=[ATTRS[2]], limit=10)] == ["urn:x:2"]
        deleted = await store.retrieve_history_entity("", "urn:x:2")
        assert deleted is not None and deleted.deleted_at_ms == DELETED_MS
        rows = await store.read_history("", "urn:x:1", ATTRS[1], HistoryWindow(), limit=10)
        assert [(row.doc["value"], row.deleted_at_ms is not None) for row in rows] == [(1, False), ("urn:ngsi-ld:null", True)]
        # Written after the migration: the lists grow, shrink and go with the entity as before.
        await store.create_entity("", entity_with("urn:x:2", {ATTRS[0]: 1}))  # created again
        assert await store.history_attributes("", "urn:x:2") == [ATTRS[0], ATTRS[2]]
        await store.delete_history_attribute("", "urn:x:1", ATTRS[1], None)
        assert await store.history_attributes("", "urn:x:1") == [ATTRS[0]]
        await store.delete_history_entity("", "urn:x:2")
        assert await store.history_attributes("", "urn:x:2") == []
        assert await store.purge_history("", datetime_ms("2026-07-01T00:30:00Z")) == 1  # the first ATTRS[0] instance
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'history_attributes'").fetchone() is None
    finally:
        conn.close()


# -- migration 9: the entities whose history the temporal API deleted ---------------------------------


async def test_entities_whose_history_was_deleted_before_the_migration_start_it_anew_when_written(tmp_path: Path) -> None:
    """Version 8 lost the history of a write after a temporal deletion; the migration marks the entities
    whose history lacks their row or one of their attributes, so that their next write starts it anew."""
    path = tmp_path / "version-8.db"
    conn = sqlite3.connect(path)
    sqlite_at_version(conn, 8)
    entities = {
        "urn:x:1": entity_with("urn:x:1", {ATTRS[0]: 1, ATTRS[1]: 1}),  # its history deleted (DELETE /temporal/entities/{id})
        "urn:x:2": entity_with("urn:x:2", {ATTRS[0]: 1, ATTRS[1]: 1}),  # ATTRS[1]'s history deleted
        "urn:x:3": entity_with("urn:x:3", {ATTRS[0]: 1}),  # untouched
    }
    def insert(tenant: str, doc: dict[str, Any]) -> None:
        row = (tenant, doc["id"], orjson.dumps(doc["type"]).decode(), STAMP, STAMP, orjson.dumps(doc).decode())
        conn.execute(sqlite_schema.INSERT_ENTITY, row)

    for entity_id, doc in entities.items():
        insert("", doc)
        sqlite_history.record_write(conn, "", None, doc)
    insert("t2", entities["urn:x:1"])  # the same id in another tenant, its history whole
    sqlite_history.record_write(conn, "t2", None, entities["urn:x:1"])
    insert("", entity_with("urn:x:4", {ATTRS[0]: 1}))  # never in the history (written before it existed)
    gone = entity_with("urn:x:5", {ATTRS[0]: 1})  # deleted: its history stays, there is no row to mark
    sqlite_history.record_write(conn, "", None, gone)
    sqlite_history.record_write(conn, "", gone, None)
    # What version 8's delete_entity and delete_attribute did.
    conn.execute("DELETE FROM history WHERE tenant = '' AND entity_id = 'urn:x:1'")
    conn.execute("DELETE FROM history_entities WHERE tenant = '' AND id = 'urn:x:1'")
    conn.execute("DELETE FROM history WHERE tenant = '' AND entity_id = 'urn:x:2' AND attribute = ?", (ATTRS[1],))
    conn.execute(sqlite_history.REMOVE_ATTRIBUTE, (ATTRS[1], "", "urn:x:2"))
    conn.commit()
    conn.close()
    later = "2026-07-01T02:00:00.000Z"
    async with SqliteStore(str(path)) as store:
        assert await store.retrieve_history_entity("", "urn:x:1") is None
        for entity_id in entities:
            await store.batch_modify(
                "", [(entity_id, batch.update(entity_with(entity_id, {ATTRS[0]: 0, ATTRS[1]: 0}, later), later, no_overwrite=False))]
            )
        assert await store.history_attributes("", "urn:x:1") == [ATTRS[0], ATTRS[1]]
        assert await store.history_attributes("", "urn:x:2") == [ATTRS[0], ATTRS[1]]
        assert await store.history_attributes("", "urn:x:3") == [ATTRS[0], ATTRS[1]]  # ATTRS[1] new to it
        for entity_id, attribute, values in (
            ("urn:x:1", ATTRS[0], [0]),  # only what was written after the deletion
            ("urn:x:2", ATTRS[0], [1, 0]),
            ("urn:x:2", ATTRS[1], [0]),
            ("urn:x:3", ATTRS[0], [1, 0]),
        ):
            rows = await store.read_history("", entity_id, attribute, HistoryWindow(), limit=10)
            assert [row.doc["value"] for row in rows] == values, (entity_id, attribute)
    conn = sqlite3.connect(path)
    try:
        marked = conn.execute("SELECT tenant, id FROM entities WHERE history_deleted = 1 ORDER BY tenant, id").fetchall()
        assert marked == [("", "urn:x:1"), ("", "urn:x:2"), ("", "urn:x:4")]
    finally:
        conn.close()


# -- migration 10: instance ids never given twice -----------------------------------------------------


async def test_the_instances_keep_their_ids_and_the_newest_id_is_not_given_again(tmp_path: Path) -> None:
    """Version 9's history gave a new instance the largest id + 1, so after the newest instances were
    deleted their ids came back. The migration copies every instance with its id; from then on, an id
    once given is never given again."""
    path = tmp_path / "version-9.db"
    conn = sqlite3.connect(path)
    sqlite_at_version(conn, 9)
    one = entity_with("urn:x:1", {ATTRS[0]: 1, ATTRS[1]: 2})
    sqlite_history.record_write(conn, "", None, one)
    sqlite_history.record_write(conn, "t2", None, entity_with("urn:x:2", {ATTRS[2]: 3}))
    conn.commit()
    before = conn.execute("SELECT * FROM history ORDER BY id").fetchall()
    assert [row[0] for row in before] == [1, 2, 3]
    conn.close()
    async with SqliteStore(str(path)) as store:
        rows = {
            (row.row_id, row.doc["value"])
            for attribute in ATTRS[:2]
            for row in await store.read_history("", "urn:x:1", attribute, HistoryWindow(), limit=10)
        }
        assert rows == {(1, 1), (2, 2)}
        await store.delete_history_entity("t2", "urn:x:2")  # the newest instance, id 3
        await store.create_entity("t2", entity_with("urn:x:2", {ATTRS[2]: 4}, "2026-07-01T01:00:00.000Z"))
        [new] = await store.read_history("t2", "urn:x:2", ATTRS[2], HistoryWindow(), limit=10)
        assert (new.row_id, new.doc["value"]) == (4, 4)
    conn = sqlite3.connect(path)
    try:
        after = conn.execute("SELECT * FROM history WHERE id <= 2 ORDER BY id").fetchall()
        assert after == before[:2]  # every column of the instances copied as it was
        plan = conn.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM history WHERE tenant = '' AND entity_id = 'urn:x:1' AND attribute = ? AND ts > 0",
            (ATTRS[0],),
        ).fetchall()
        assert "history_by_time" in str(plan)
    finally:
        conn.close()
