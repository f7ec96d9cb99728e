# SPDX-License-Identifier: EUPL-1.2
"""The Store contract: one test body for every store (SQLite file and in-memory now; PostgreSQL later)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from broker.errors import AlreadyExists, BadRequestData, ResourceNotFound
from broker.store import SqliteStore, Store

T = "https://example.org/Thing"


@pytest.fixture(params=["sqlite-file", "sqlite-memory"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    path = str(tmp_path / "store.db") if request.param == "sqlite-file" else ":memory:"
    async with SqliteStore(path) as opened:
        yield opened


def entity(entity_id: str, **attrs: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": entity_id, "type": [T], "createdAt": "2026-01-01T00:00:00.000Z", "modifiedAt": "2026-01-01T00:00:00.000Z"}
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


async def test_data_survives_closing_and_reopening(tmp_path: Path) -> None:
    path = str(tmp_path / "durable.db")
    async with SqliteStore(path) as first:
        await first.create_entity("", entity("urn:x:1", v=1))
    async with SqliteStore(path) as second:
        assert await second.retrieve_entity("", "urn:x:1") == entity("urn:x:1", v=1)
