# SPDX-License-Identifier: EUPL-1.2
"""The Store contract: one test body for every store (SQLite file, SQLite in memory, PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
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
from broker.store.base import AttributeCount, EntityQuery, EntitySelector, OrderKey, TypeAttributeCount

T = "https://example.org/Thing"
U = "https://example.org/Other"


@pytest.fixture(params=["sqlite-file", "sqlite-memory", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    opened: Store
    if request.param == "postgres":
        dsn: str = request.getfixturevalue("postgres_dsn")
        reset: Callable[[], Awaitable[None]] = request.getfixturevalue("reset_postgres")
        opened = PostgresStore(dsn, pool_size=4)
        async with opened:
            await reset()
            yield opened
        return
    path = str(tmp_path / "store.db") if request.param == "sqlite-file" else ":memory:"
    async with SqliteStore(path) as opened:
        yield opened


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
    assert await store.delete_entity("", "urn:x:1") == entity("urn:x:1", v=1)
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
    assert outcomes[3].before == entity("urn:x:1", v=1) and outcomes[3].after is None
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
