# SPDX-License-Identifier: EUPL-1.2
"""The Store contract: one test body for every store (SQLite file, SQLite in memory, PostgreSQL)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from broker.errors import AlreadyExists, BadRequestData, ResourceNotFound
from broker.ld import compile_context
from broker.query import (
    GeoQuery,
    expand_query,
    parse_geo_query_params,
    parse_q,
    parse_scope_query,
    parse_type_selection,
)
from broker.store import PostgresStore, SqliteStore, Store
from broker.store.base import (
    AttributeCount,
    EntityQuery,
    EntitySelector,
    OrderKey,
    TypeAttributeCount,
)
from broker.temporal import (
    AGGREGATION_METHODS,
    AggregationPlan,
    Duration,
    HistoryCursor,
    HistoryEntity,
    HistoryWindow,
    instance_record,
)
from broker.temporal.times import datetime_ms, month_index

T = "https://example.org/Thing"
U = "https://example.org/Other"


@pytest.fixture(params=["sqlite-file", "postgres"])
async def reopen(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], Store]:
    """A new, unopened store on the same durable (and at first empty) database each time it is called."""
    if request.param == "postgres":
        dsn: str = request.getfixturevalue("postgres_dsn")
        reset: Callable[[], Awaitable[None]] = request.getfixturevalue("reset_postgres")
        async with PostgresStore(dsn, pool_size=1):
            await reset()
        return lambda: PostgresStore(dsn, pool_size=2)
    path = str(tmp_path / "durable.db")
    return lambda: SqliteStore(path)


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


async def test_create_then_retrieve_gives_the_same_entity(store: Store) -> None:
    doc = entity("urn:x:1", speed=3.5, label="ä ö ü ß")
    await store.create_entity("", doc)
    assert await store.retrieve_entity("", "urn:x:1") == doc
    assert await store.retrieve_entity("", "urn:x:2") is None


async def test_create_twice_is_already_exists(store: Store) -> None:
    await store.create_entity("", entity("urn:x:1"))
    with pytest.raises(AlreadyExists):
        await store.create_entity("", entity("urn:x:1", other=1))
    assert await store.retrieve_entity("", "urn:x:1") == entity("urn:x:1")


async def test_tenants_are_separate(store: Store) -> None:
    await store.create_entity("a", entity("urn:x:1", v=1))
    await store.create_entity("b", entity("urn:x:1", v=2))
    assert (await store.retrieve_entity("a", "urn:x:1")) == entity("urn:x:1", v=1)
    assert (await store.retrieve_entity("b", "urn:x:1")) == entity("urn:x:1", v=2)
    assert await store.retrieve_entity("", "urn:x:1") is None


async def test_modify_entity_reports_before_and_after(store: Store) -> None:
    await store.create_entity("", entity("urn:x:1", v=1))

    def change(doc: dict[str, Any]) -> str:
        doc["https://example.org/v"][0]["value"] = 2
        return "done"

    done = await store.modify_entity("", "urn:x:1", change)
    assert done.result == "done"
    assert done.before == entity("urn:x:1", v=1)
    assert done.after == entity("urn:x:1", v=2)
    assert await store.retrieve_entity("", "urn:x:1") == entity("urn:x:1", v=2)


async def test_failing_change_writes_nothing(store: Store) -> None:
    await store.create_entity("", entity("urn:x:1", v=1))

    def change(doc: dict[str, Any]) -> None:
        doc["https://example.org/v"][0]["value"] = 99
        raise BadRequestData("no")

    with pytest.raises(BadRequestData):
        await store.modify_entity("", "urn:x:1", change)
    assert await store.retrieve_entity("", "urn:x:1") == entity("urn:x:1", v=1)


async def test_modify_or_delete_missing_entity_is_resource_not_found(store: Store) -> None:
    with pytest.raises(ResourceNotFound):
        await store.modify_entity("", "urn:x:none", lambda doc: None)
    with pytest.raises(ResourceNotFound):
        await store.delete_entity("", "urn:x:none")


async def test_delete_returns_the_entity_and_removes_it(store: Store) -> None:
    await store.create_entity("", entity("urn:x:1", v=1))
    deleted = await store.delete_entity("", "urn:x:1")
    assert deleted.pop("deletedAt").endswith("Z") and deleted == entity("urn:x:1", v=1)
    assert await store.retrieve_entity("", "urn:x:1") is None


async def test_concurrent_modifications_of_different_attributes_lose_nothing(store: Store) -> None:
    await store.create_entity("", entity("urn:x:1"))

    def setter(name: str) -> Any:
        def change(doc: dict[str, Any]) -> None:
            doc[f"https://example.org/{name}"] = [{"type": "Property", "value": name}]

        return change

    names = [f"a{i}" for i in range(50)]
    await asyncio.gather(*(store.modify_entity("", "urn:x:1", setter(name)) for name in names))
    final = await store.retrieve_entity("", "urn:x:1")
    assert final is not None
    assert {key.rsplit("/", 1)[1] for key in final if key.startswith("https://")} == set(names)


async def test_data_survives_closing_and_reopening(reopen: Callable[[], Store]) -> None:
    async with reopen() as first:
        await first.create_entity("durable", entity("urn:x:1", v=1))
    async with reopen() as second:
        assert await second.retrieve_entity("durable", "urn:x:1") == entity("urn:x:1", v=1)
        assert await second.tenant_exists("durable")


async def test_concurrent_writes_fail_alone_and_the_rest_is_durable(reopen: Callable[[], Store]) -> None:
    """Many writes at once (SQLite commits those that queue up together, in one transaction with a
    savepoint each): every failure is the caller's alone and leaves nothing behind; every success is
    there after the store is reopened."""

    def refuse(doc: dict[str, Any]) -> None:
        doc[rel("v")][0]["value"] = "half-written"
        raise BadRequestData("refused after changing the copy")

    def bump(doc: dict[str, Any]) -> None:
        doc[rel("v")][0]["value"] += 1

    async with reopen() as store:
        for n in range(10):
            await store.create_entity("", entity(f"urn:x:base{n}", v=0))
        writes: list[Awaitable[Any]] = []
        expected: list[type[Exception] | None] = []
        for n in range(40):
            kind = n % 4
            if kind == 0:
                writes.append(store.create_entity("", entity(f"urn:x:new{n}", v=n)))
                expected.append(None)
            elif kind == 1:
                writes.append(store.create_entity("", entity(f"urn:x:base{n % 10}", v=-1)))
                expected.append(AlreadyExists)
            elif kind == 2:
                writes.append(store.modify_entity("", f"urn:x:base{n % 10}", refuse))
                expected.append(BadRequestData)
            else:
                writes.append(store.modify_entity("", f"urn:x:base{n % 10}", bump))
                expected.append(None)
        outcomes = await asyncio.gather(*writes, return_exceptions=True)
    assert [type(o) if isinstance(o, Exception) else None for o in outcomes] == expected
    async with reopen() as store:
        for n in range(0, 40, 4):
            assert await store.retrieve_entity("", f"urn:x:new{n}") == entity(f"urn:x:new{n}", v=n)
        bumps = {n % 10: 0 for n in range(10)}
        for n in range(3, 40, 4):
            bumps[n % 10] += 1
        for base, count in bumps.items():
            stored = await store.retrieve_entity("", f"urn:x:base{base}")
            assert stored is not None and stored[rel("v")][0]["value"] == count


def typed(entity_id: str, types: list[str], **attrs: Any) -> dict[str, Any]:
    doc = entity(entity_id, **attrs)
    doc["type"] = types
    return doc


def rel(name: str) -> str:
    return f"https://example.org/{name}"


async def test_discovery_counters_follow_creates_changes_and_deletes(store: Store) -> None:
    await store.create_entity("", typed("urn:x:1", [T], speed=1, label="a"))
    await store.create_entity("", typed("urn:x:2", [T, U], speed=2))
    assert await store.type_counts("") == {T: 2, U: 1}
    assert await store.attribute_counts("") == [
        AttributeCount(rel("label"), "Property", 1),
        AttributeCount(rel("speed"), "Property", 2),
    ]
    assert await store.type_attribute_counts("", U) == [TypeAttributeCount(U, rel("speed"), "Property", 1)]

    def relate(doc: dict[str, Any]) -> None:
        del doc[rel("speed")]
        doc[rel("owner")] = [{"type": "Relationship", "object": "urn:x:2"}]
        doc["type"] = [U]

    await store.modify_entity("", "urn:x:1", relate)
    assert await store.type_counts("") == {T: 1, U: 2}
    assert await store.type_attribute_counts("") == [
        TypeAttributeCount(U, rel("label"), "Property", 1),
        TypeAttributeCount(U, rel("owner"), "Relationship", 1),
        TypeAttributeCount(U, rel("speed"), "Property", 1),
        TypeAttributeCount(T, rel("speed"), "Property", 1),
    ]
    assert await store.attribute_counts("", rel("owner")) == [AttributeCount(rel("owner"), "Relationship", 1)]
    assert sorted(await store.entity_ids_of_types("", [T, U])) == ["urn:x:1", "urn:x:2"]
    assert await store.entity_ids_of_types("", [T]) == ["urn:x:2"]

    await store.delete_entity("", "urn:x:2")
    await store.delete_entity("", "urn:x:1")
    assert await store.type_counts("") == {}
    assert await store.type_attribute_counts("") == []
    assert await store.attribute_counts("") == []
    assert await store.entity_ids_of_types("", [T, U]) == []


async def test_value_updates_leave_the_counters_alone(store: Store) -> None:
    await store.create_entity("t", entity("urn:x:1", speed=1))

    def faster(doc: dict[str, Any]) -> None:
        doc[rel("speed")][0]["value"] = 2

    await store.modify_entity("t", "urn:x:1", faster)
    assert await store.type_counts("t") == {T: 1}
    assert await store.attribute_counts("t") == [AttributeCount(rel("speed"), "Property", 1)]
    assert await store.type_counts("") == {}


async def test_batch_applies_items_in_order_and_fails_items_alone(store: Store) -> None:
    await store.create_entity("", entity("urn:x:1", v=1))

    def create(doc: dict[str, Any]) -> Any:
        def change(current: dict[str, Any] | None) -> tuple[dict[str, Any] | None, Any]:
            if current is not None:
                raise AlreadyExists(f"entity {doc['id']} already exists")
            return doc, "created"

        return change

    def bump(current: dict[str, Any] | None) -> tuple[dict[str, Any] | None, Any]:
        if current is None:
            raise ResourceNotFound("not found")
        current[rel("v")][0]["value"] += 1
        return current, None

    def remove(current: dict[str, Any] | None) -> tuple[dict[str, Any] | None, Any]:
        if current is None:
            raise ResourceNotFound("not found")
        return None, None

    outcomes = await store.batch_modify(
        "",
        [
            ("urn:x:1", create(entity("urn:x:1"))),
            ("urn:x:2", create(entity("urn:x:2", v=10))),
            ("urn:x:2", bump),
            ("urn:x:1", remove),
            ("urn:x:3", bump),
        ],
    )
    assert [type(o.error) for o in outcomes] == [AlreadyExists, type(None), type(None), type(None), ResourceNotFound]
    assert outcomes[1].after == entity("urn:x:2", v=10) and outcomes[1].result == "created"
    assert outcomes[2].before == entity("urn:x:2", v=10) and outcomes[2].after == entity("urn:x:2", v=11)
    deleted = outcomes[3].before
    assert deleted is not None and outcomes[3].after is None
    assert deleted.pop("deletedAt").endswith("Z") and deleted == entity("urn:x:1", v=1)
    assert await store.retrieve_entity("", "urn:x:1") is None
    assert await store.retrieve_entity("", "urn:x:2") == entity("urn:x:2", v=11)
    assert (await store.entity_counts())[""] == 1
    assert await store.type_counts("") == {T: 1}
    assert await store.attribute_counts("") == [AttributeCount(rel("v"), "Property", 1)]


async def test_batch_with_a_failing_store_write_writes_nothing(store: Store) -> None:
    await store.create_entity("", entity("urn:x:1", v=1))

    def explode(current: dict[str, Any] | None) -> tuple[dict[str, Any] | None, Any]:
        raise RuntimeError("not an NGSI-LD error")

    def clear(current: dict[str, Any] | None) -> tuple[dict[str, Any] | None, Any]:
        return None, None

    with pytest.raises(RuntimeError):
        await store.batch_modify("", [("urn:x:1", clear), ("urn:x:2", explode)])
    assert await store.retrieve_entity("", "urn:x:1") == entity("urn:x:1", v=1)


async def test_tenants_exist_once_written_and_count_their_entities(store: Store) -> None:
    assert await store.tenant_exists("")
    assert not await store.tenant_exists("nobody")
    await store.create_entity("city", entity("urn:x:1"))
    await store.create_entity("city", entity("urn:x:2"))
    await store.ensure_tenant("empty")
    assert await store.tenant_exists("city") and await store.tenant_exists("empty")
    await store.delete_entity("city", "urn:x:2")
    assert await store.entity_counts() == {"": 0, "city": 1, "empty": 0}


async def test_documents_by_kind_and_tenant(store: Store) -> None:
    await store.create_document("subscription", "", "urn:s:2", {"id": "urn:s:2", "q": "a>1"})
    await store.create_document("subscription", "", "urn:s:1", {"id": "urn:s:1", "nested": {"ä": [1, 2.5, None]}})
    await store.create_document("subscription", "other", "urn:s:1", {"id": "other"})
    with pytest.raises(AlreadyExists):
        await store.create_document("subscription", "", "urn:s:1", {})
    assert await store.retrieve_document("subscription", "", "urn:s:1") == {
        "id": "urn:s:1",
        "nested": {"ä": [1, 2.5, None]},
    }
    assert await store.retrieve_document("csourceRegistration", "", "urn:s:1") is None
    assert [d["id"] for d in await store.list_documents("subscription", "")] == ["urn:s:1", "urn:s:2"]
    assert await store.tenant_exists("other")

    await store.replace_document("subscription", "", "urn:s:2", {"id": "urn:s:2", "q": "a>2"})
    assert await store.retrieve_document("subscription", "", "urn:s:2") == {"id": "urn:s:2", "q": "a>2"}
    await store.delete_document("subscription", "", "urn:s:2")
    assert await store.retrieve_document("subscription", "", "urn:s:2") is None
    with pytest.raises(ResourceNotFound):
        await store.replace_document("subscription", "", "urn:s:2", {})
    with pytest.raises(ResourceNotFound):
        await store.delete_document("subscription", "", "urn:s:2")


async def test_scope_and_geoproperties_round_trip(store: Store) -> None:
    doc = entity("urn:x:1")
    doc["scope"] = ["/Hamm/Mitte", "/Hamm/Uentrop"]
    doc[rel("location")] = [
        {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [7.82, 51.68, 63.5]}},
        {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [7.8, 51.6]}, "datasetId": "urn:d:1"},
    ]
    await store.create_entity("", doc)
    assert await store.retrieve_entity("", "urn:x:1") == doc


# -- query_entities (clause 5.7.2) ------------------------------------------------------------------

TERMS = compile_context({"@vocab": "https://example.org/"})
LOCATION = "https://uri.etsi.org/ngsi-ld/location"


def geoq(georel: str, geometry: str, coordinates: str) -> GeoQuery:
    parsed = parse_geo_query_params(georel, geometry, coordinates, "location")
    assert parsed is not None
    return expand_query(parsed, TERMS)


def located(entity_id: str, types: list[str], longitude: float, latitude: float, **attrs: Any) -> dict[str, Any]:
    doc = typed(entity_id, types, **attrs)
    doc[LOCATION] = [{"type": "GeoProperty", "value": {"type": "Point", "coordinates": [longitude, latitude]}}]
    return doc


@pytest.fixture
async def city(store: Store) -> Store:
    """Five entities in tenant "q" (and one elsewhere): Things and Others in and around Hamm."""
    await store.create_entity("q", located("urn:x:1", [T], 7.8150, 51.6810, speed=10, label="bus"))  # Hamm centre
    await store.create_entity("q", located("urn:x:2", [T, U], 7.8200, 51.6800, speed=30))  # 400 m east of it
    await store.create_entity("q", located("urn:x:3", [U], 7.4653, 51.5136, speed=50, label="tram"))  # Dortmund
    doc = typed("urn:x:4", [T], speed=70, label="bike")
    doc["scope"] = ["/Hamm/Mitte"]
    await store.create_entity("q", doc)
    await store.create_entity("q", typed("urn:y:5", ["https://example.org/Car"], speed=90))
    await store.create_entity("elsewhere", located("urn:x:1", [T], 7.8150, 51.6810, speed=10))
    return store


async def ids_of(store: Store, query: EntityQuery, **page: Any) -> list[str]:
    entities, _ = await store.query_entities("q", query, **{"limit": 100, "offset": 0, "count": False, **page})
    return [entity["id"] for entity in entities]


async def test_query_by_ids_types_and_id_pattern(city: Store) -> None:
    def select(**selector: Any) -> EntityQuery:
        if "types" in selector:
            selector["types"] = expand_query(parse_type_selection(selector["types"]), TERMS)
        return EntityQuery(selectors=(EntitySelector(**selector),))

    assert await ids_of(city, EntityQuery()) == ["urn:x:1", "urn:x:2", "urn:x:3", "urn:x:4", "urn:y:5"]
    assert await ids_of(city, select(types="Thing")) == ["urn:x:1", "urn:x:2", "urn:x:4"]
    assert await ids_of(city, select(types="Other|Car")) == ["urn:x:2", "urn:x:3", "urn:y:5"]
    assert await ids_of(city, select(types="(Thing;Other)|Car")) == ["urn:x:2", "urn:y:5"]
    assert await ids_of(city, select(ids=("urn:x:3", "urn:y:5", "urn:none"), types="Other")) == ["urn:x:3"]
    assert await ids_of(city, select(id_pattern="^urn:x:[2-3]$")) == ["urn:x:2", "urn:x:3"]
    two = EntityQuery(selectors=(EntitySelector(ids=("urn:x:1",)), EntitySelector(id_pattern="y")))
    assert await ids_of(city, two) == ["urn:x:1", "urn:y:5"]


async def test_query_for_all_types_selects_every_entity(city: Store) -> None:
    every = EntityQuery(selectors=(EntitySelector(types=expand_query(parse_type_selection("*"), TERMS)),))
    assert await ids_of(city, every) == ["urn:x:1", "urn:x:2", "urn:x:3", "urn:x:4", "urn:y:5"]


async def test_query_by_attrs_q_and_scope(city: Store) -> None:
    assert await ids_of(city, EntityQuery(attrs=frozenset({rel("label")}))) == ["urn:x:1", "urn:x:3", "urn:x:4"]
    q = expand_query(parse_q("speed>20;speed<80"), TERMS)
    assert await ids_of(city, EntityQuery(q=q)) == ["urn:x:2", "urn:x:3", "urn:x:4"]
    q = expand_query(parse_q('speed>20;label!="tram"'), TERMS)  # != needs the attribute (clause 4.9)
    assert await ids_of(city, EntityQuery(q=q)) == ["urn:x:4"]
    scope = expand_query(parse_scope_query("/Hamm/#"), TERMS)
    assert await ids_of(city, EntityQuery(scope=scope)) == ["urn:x:4"]


async def test_query_by_geoq(city: Store) -> None:
    near = geoq("near;maxDistance==1000", "Point", "[7.815,51.681]")
    assert near.geoproperty == LOCATION
    assert await ids_of(city, EntityQuery(geo=near)) == ["urn:x:1", "urn:x:2"]
    far = geoq("near;minDistance==1000", "Point", "[7.815,51.681]")
    assert await ids_of(city, EntityQuery(geo=far)) == ["urn:x:3"]
    hamm = "[[[7.7,51.6],[7.9,51.6],[7.9,51.75],[7.7,51.75],[7.7,51.6]]]"
    within = geoq("within", "Polygon", hamm)
    things = (EntitySelector(types=expand_query(parse_type_selection("Other"), TERMS)),)
    assert await ids_of(city, EntityQuery(selectors=things, geo=within)) == ["urn:x:2"]


async def test_query_pages_in_id_order_and_counts_all_matches(city: Store) -> None:
    everything = EntityQuery()
    page, total = await city.query_entities("q", everything, limit=2, offset=1, count=True)
    assert [e["id"] for e in page] == ["urn:x:2", "urn:x:3"] and total == 5
    page, total = await city.query_entities("q", everything, limit=0, offset=0, count=True)
    assert page == [] and total == 5
    fast = EntityQuery(q=expand_query(parse_q("speed>=30"), TERMS))  # decided outside SQL by some stores
    page, total = await city.query_entities("q", fast, limit=2, offset=1, count=True)
    assert [e["id"] for e in page] == ["urn:x:3", "urn:x:4"] and total == 4
    page, total = await city.query_entities("q", fast, limit=1, offset=3, count=False)
    assert [e["id"] for e in page] == ["urn:y:5"] and total is None
    page, _ = await city.query_entities("q", everything, limit=5, offset=10, count=False)
    assert page == []
    assert await city.query_entities("nobody", everything, limit=5, offset=0, count=True) == ([], 0)


async def test_query_orders_by_keys_with_missing_values_last(city: Store) -> None:
    await city.create_entity("q", typed("urn:x:6", [T], speed="fast", label="bus"))
    speed, label = OrderKey(rel("speed"), "value"), OrderKey(rel("label"), "value")
    assert await ids_of(city, EntityQuery(order_by=(speed,))) == [
        "urn:x:1",
        "urn:x:2",
        "urn:x:3",
        "urn:x:4",
        "urn:y:5",
        "urn:x:6",  # numbers before strings
    ]
    assert await ids_of(city, EntityQuery(order_by=(OrderKey(rel("speed"), "value", descending=True),))) == [
        "urn:x:6",
        "urn:y:5",
        "urn:x:4",
        "urn:x:3",
        "urn:x:2",
        "urn:x:1",
    ]
    assert await ids_of(city, EntityQuery(order_by=(label, OrderKey(None, "id", descending=True)))) == [
        "urn:x:4",
        "urn:x:6",
        "urn:x:1",
        "urn:x:3",
        "urn:y:5",
        "urn:x:2",  # without a label: last, by id desc
    ]
    q = EntityQuery(q=expand_query(parse_q("speed>20"), TERMS), order_by=(OrderKey(rel("speed"), "value", True),))
    page, total = await city.query_entities("q", q, limit=2, offset=1, count=True)
    assert [e["id"] for e in page] == ["urn:x:4", "urn:x:3"] and total == 4


# -- the attribute history (temporal API) -------------------------------------------------------------
# Each test writes in a tenant of its own: the PostgreSQL session database keeps the history tables
# between tests (tests/conftest.py RESET_DATA empties the entity tables only).


TEMP = "https://example.org/temperature"
HOUR_MS = 3_600_000


@pytest.fixture
def tenant() -> str:
    return f"h{uuid.uuid4().hex[:12]}"


def reading(value: Any, observed: str, **members: Any) -> dict[str, Any]:
    return {"type": "Property", "value": value, "observedAt": observed, **members}


def ms(text: str) -> int:
    return datetime_ms(text)


async def set_temperature(store: Store, tenant: str, entity_id: str, value: Any, observed: str) -> None:
    def change(doc: dict[str, Any]) -> None:
        doc[TEMP] = [reading(value, observed, createdAt="2026-07-01T00:00:00.000Z", modifiedAt=observed)]
        doc["modifiedAt"] = observed

    await store.modify_entity(tenant, entity_id, change)


async def test_every_entity_write_records_the_changed_instances(store: Store, tenant: str) -> None:
    doc = entity("urn:x:1", label="a")
    doc[TEMP] = [reading(20.0, "2026-07-01T00:00:00Z")]
    await store.create_entity(tenant, doc)
    await set_temperature(store, tenant, "urn:x:1", 21.0, "2026-07-01T01:00:00Z")
    await set_temperature(store, tenant, "urn:x:1", 21.0, "2026-07-01T01:00:00Z")  # unchanged: no row
    await store.batch_modify(tenant, [("urn:x:1", lambda e: ({**(e or {}), TEMP: [reading(22.0, "2026-07-01T02:00:00Z")]}, None))])
    rows = await store.read_history(tenant, "urn:x:1", TEMP, HistoryWindow(), limit=10)
    assert [row.doc["value"] for row in rows] == [20.0, 21.0, 22.0]
    assert [row.time_ms for row in rows] == [ms("2026-07-01T00:00:00Z"), ms("2026-07-01T01:00:00Z"), ms("2026-07-01T02:00:00Z")]
    assert len({row.row_id for row in rows}) == 3
    assert await store.history_attributes(tenant, "urn:x:1") == sorted([TEMP, "https://example.org/label"])
    await store.delete_entity(tenant, "urn:x:1")
    deleted = await store.read_history(tenant, "urn:x:1", TEMP, HistoryWindow("deletedAt"), limit=10)
    assert len(deleted) == 1 and deleted[0].doc["value"] == "urn:ngsi-ld:null" and deleted[0].deleted_at_ms is not None
    known = await store.retrieve_history_entity(tenant, "urn:x:1")
    assert known is not None and known.types == (T,) and known.deleted_at_ms is not None


async def test_a_batch_records_each_entity(store: Store, tenant: str) -> None:
    def create(entity_id: str, value: float) -> Any:
        return lambda current: ({**entity(entity_id), TEMP: [reading(value, "2026-07-01T00:00:00Z")]}, None)

    await store.batch_modify(tenant, [("urn:x:1", create("urn:x:1", 1.0)), ("urn:x:2", create("urn:x:2", 2.0))])
    for entity_id, value in (("urn:x:1", 1.0), ("urn:x:2", 2.0)):
        rows = await store.read_history(tenant, entity_id, TEMP, HistoryWindow(), limit=10)
        assert [row.doc["value"] for row in rows] == [value]


async def add_readings(store: Store, tenant: str, entity_id: str, values: list[tuple[str, Any]], dataset: str | None = None) -> bool:
    records = []
    for observed, value in values:
        instance = reading(value, observed, createdAt=observed, modifiedAt=observed)
        if dataset:
            instance["datasetId"] = dataset
        records.append(instance_record(entity_id, TEMP, instance, ms(observed)))
    return await store.add_history(tenant, HistoryEntity(entity_id, (T,)), records)


async def test_windows_order_and_keyset_paging(store: Store, tenant: str) -> None:
    hours = [(f"2026-07-01T{h:02d}:00:00Z", float(h)) for h in range(6)]
    assert await add_readings(store, tenant, "urn:x:1", hours) is True
    assert await add_readings(store, tenant, "urn:x:1", [("2026-07-01T06:00:00Z", 6.0)]) is False
    window = HistoryWindow(start_ms=ms("2026-07-01T01:00:00Z"), end_ms=ms("2026-07-01T04:00:00Z"), bounded=True)
    rows = await store.read_history(tenant, "urn:x:1", TEMP, window, limit=10)
    assert [row.doc["value"] for row in rows] == [1.0, 2.0, 3.0]  # [start, end)
    latest = await store.read_history(tenant, "urn:x:1", TEMP, HistoryWindow(), limit=2, descending=True)
    assert [row.doc["value"] for row in latest] == [6.0, 5.0]
    first = await store.read_history(tenant, "urn:x:1", TEMP, HistoryWindow(), limit=4)
    rest = await store.read_history(
        tenant, "urn:x:1", TEMP, HistoryWindow(), limit=10, after=HistoryCursor(first[-1].time_ms, first[-1].row_id)
    )
    assert [row.doc["value"] for row in first + rest] == [float(h) for h in range(7)]
    assert await store.history_bounds(tenant, "urn:x:1", TEMP, window) == (ms("2026-07-01T01:00:00Z"), ms("2026-07-01T03:00:00Z"))


async def test_aggregation_runs_per_dataset_and_period(store: Store, tenant: str) -> None:
    values = [1.0, 2.0, 2.0, 7.0, 10.0, 12.0]
    await add_readings(store, tenant, "urn:x:1", [(f"2026-07-01T00:{10 * i:02d}:00Z", v) for i, v in enumerate(values)])
    await add_readings(store, tenant, "urn:x:1", [("2026-07-01T00:00:00Z", 100.0)], dataset="urn:ngsi-ld:Dataset:b")
    origin = ms("2026-07-01T00:00:00Z")
    plan = AggregationPlan(AGGREGATION_METHODS, Duration(ms=HOUR_MS // 2), origin)
    periods = await store.aggregate_history(tenant, "urn:x:1", TEMP, HistoryWindow(), plan)
    by_key = {(p.dataset_id, p.bucket): p for p in periods}
    assert sorted(by_key) == [("", 0), ("", 1), ("urn:ngsi-ld:Dataset:b", 0)]
    first, second = by_key[("", 0)], by_key[("", 1)]
    assert (first.total_count, first.distinct_count, first.sum, first.min, first.max) == (3, 2, 5.0, 1.0, 2.0)
    assert first.avg == pytest.approx(5 / 3) and first.sumsq == pytest.approx(9.0)
    assert first.variance == pytest.approx(((1 - 5 / 3) ** 2 + 2 * (2 - 5 / 3) ** 2) / 3)
    assert (second.total_count, second.sum) == (3, 29.0)
    assert (first.first_ms, second.last_ms) == (origin, ms("2026-07-01T00:50:00Z"))
    whole = await store.aggregate_history(tenant, "urn:x:1", TEMP, HistoryWindow(dataset_ids=("",)), AggregationPlan(("sum",), Duration(), origin))
    assert [(p.bucket, p.total_count, p.sum, p.avg) for p in whole] == [(0, 6, 34.0, None)]  # only what was asked


async def test_calendar_month_periods(store: Store, tenant: str) -> None:
    await add_readings(
        store, tenant, "urn:x:1", [("2026-06-30T23:59:59Z", 1.0), ("2026-07-01T00:00:00Z", 2.0), ("2026-07-31T23:00:00Z", 3.0), ("2026-08-01T00:00:00Z", 4.0)]
    )
    origin = ms("2026-06-01T00:00:00Z")
    assert month_index(origin) == 2026 * 12 + 5
    periods = await store.aggregate_history(tenant, "urn:x:1", TEMP, HistoryWindow(), AggregationPlan(("sum",), Duration(months=1), origin))
    assert [(p.bucket, p.sum) for p in periods] == [(0, 1.0), (1, 5.0), (2, 4.0)]
    two = await store.aggregate_history(tenant, "urn:x:1", TEMP, HistoryWindow(), AggregationPlan(("sum",), Duration(months=2), origin))
    assert [(p.bucket, p.sum) for p in two] == [(0, 6.0), (1, 4.0)]


async def test_history_entities_select_by_type_id_and_attribute(store: Store, tenant: str) -> None:
    await add_readings(store, tenant, "urn:x:1", [("2026-07-01T00:00:00Z", 1.0)])
    await store.add_history(tenant, HistoryEntity("urn:x:2", (U,)), [])
    await store.add_history(tenant, HistoryEntity("urn:x:1", (U,)), [])  # types merge
    assert [e.id for e in await store.history_entities(tenant, types=[T], limit=10)] == ["urn:x:1"]
    assert [e.id for e in await store.history_entities(tenant, types=[U], limit=10)] == ["urn:x:1", "urn:x:2"]
    assert [e.id for e in await store.history_entities(tenant, attrs=[TEMP], limit=10)] == ["urn:x:1"]
    assert [e.id for e in await store.history_entities(tenant, ids=["urn:x:2"], limit=10)] == ["urn:x:2"]
    assert [e.id for e in await store.history_entities(tenant, after_id="urn:x:1", limit=10)] == ["urn:x:2"]
    known = await store.retrieve_history_entity(tenant, "urn:x:1")
    assert known is not None and known.types == (T, U)
    assert tenant in await store.history_tenants()


async def test_modify_and_delete_instances_attributes_and_entities(store: Store, tenant: str) -> None:
    await add_readings(store, tenant, "urn:x:1", [("2026-07-01T00:00:00Z", 1.0), ("2026-07-01T01:00:00Z", 2.0)])
    await add_readings(store, tenant, "urn:x:1", [("2026-07-01T00:00:00Z", 9.0)], dataset="urn:ngsi-ld:Dataset:b")
    rows = await store.read_history(tenant, "urn:x:1", TEMP, HistoryWindow(dataset_ids=("",)), limit=10)

    def change(doc: dict[str, Any], created_ms: int) -> Any:
        return instance_record("urn:x:1", TEMP, {**doc, "value": 1.5}, ms("2026-07-02T00:00:00Z"))

    await store.modify_history_instance(tenant, "urn:x:1", TEMP, rows[0].row_id, change)
    await store.delete_history_instance(tenant, "urn:x:1", TEMP, rows[1].row_id)
    left = await store.read_history(tenant, "urn:x:1", TEMP, HistoryWindow(), limit=10)
    assert sorted(row.doc["value"] for row in left) == [1.5, 9.0]
    with pytest.raises(ResourceNotFound):
        await store.delete_history_instance(tenant, "urn:x:1", TEMP, rows[1].row_id)
    with pytest.raises(ResourceNotFound):
        await store.modify_history_instance(tenant, "urn:x:1", TEMP, rows[1].row_id, change)
    await store.delete_history_attribute(tenant, "urn:x:1", TEMP, "")  # the default instance only
    assert [row.dataset_id for row in await store.read_history(tenant, "urn:x:1", TEMP, HistoryWindow(), limit=10)] == [
        "urn:ngsi-ld:Dataset:b"
    ]
    await store.delete_history_attribute(tenant, "urn:x:1", TEMP, None)
    assert await store.history_attributes(tenant, "urn:x:1") == []
    with pytest.raises(ResourceNotFound):
        await store.delete_history_attribute(tenant, "urn:x:1", TEMP, None)
    await store.delete_history_entity(tenant, "urn:x:1")
    assert await store.retrieve_history_entity(tenant, "urn:x:1") is None
    with pytest.raises(ResourceNotFound):
        await store.delete_history_entity(tenant, "urn:x:1")


async def test_retention_purges_instances_written_after_the_history_was_deleted(store: Store, tenant: str) -> None:
    """The entity lives on after DELETE /temporal/entities/{id}; what its updates record later is still
    purged by time, attributes known to the history before or not."""
    await store.create_entity(tenant, entity("urn:x:1"))
    await set_temperature(store, tenant, "urn:x:1", 1.0, "2026-07-01T00:00:00.000Z")
    await store.delete_history_entity(tenant, "urn:x:1")

    def add_humidity(doc: dict[str, Any]) -> None:
        doc[TEMP] = [reading(2.0, "2026-07-02T00:00:00.000Z", createdAt="2026-07-01T00:00:00.000Z", modifiedAt="2026-07-02T00:00:00.000Z")]
        doc["https://example.org/humidity"] = [reading(50.0, "2026-07-02T00:00:00.000Z", createdAt="2026-07-02T00:00:00.000Z", modifiedAt="2026-07-02T00:00:00.000Z")]
        doc["modifiedAt"] = "2026-07-02T00:00:00.000Z"

    await store.modify_entity(tenant, "urn:x:1", add_humidity)
    assert await store.purge_history(tenant, ms("2027-01-01T00:00:00Z")) == 2


async def test_retention_purges_what_is_older_than_the_cutoff(store: Store, tenant: str) -> None:
    await add_readings(store, tenant, "urn:x:1", [(f"2026-07-0{d}T00:00:00Z", float(d)) for d in range(1, 6)])
    assert await store.purge_history(tenant, ms("2026-07-03T00:00:00Z")) == 2
    rows = await store.read_history(tenant, "urn:x:1", TEMP, HistoryWindow(), limit=10)
    assert [row.doc["value"] for row in rows] == [3.0, 4.0, 5.0]
    await store.maintain_history(ms("2026-07-03T00:00:00Z"))  # idempotent preparation
