# SPDX-License-Identifier: EUPL-1.2
"""The device registry contract, on SQLite and on PostgreSQL: the same test body for both."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest

from agents.json.registry import Duplicate, Registry, UnsupportedRegistry, open_registry


@pytest.fixture(params=["sqlite", "postgres"])
def registry_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A SQLite file, or the session's PostgreSQL database (made outside any test's event loop)."""
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_dsn"))
    return f"sqlite:///{tmp_path}/registry.db"


@pytest.fixture
async def registry(registry_url: str) -> AsyncIterator[Registry]:
    store = open_registry(registry_url)
    await store.open()
    if registry_url.startswith("postgresql"):
        connection = await asyncpg.connect(registry_url, timeout=5)
        try:
            await connection.execute("DELETE FROM iot_groups; DELETE FROM iot_devices")
        finally:
            await connection.close()
    try:
        yield store
    finally:
        await store.close()


async def test_groups_are_found_by_apikey_and_scoped_by_service(registry: Registry) -> None:
    group = {"apikey": "k1", "resource": "/iot/json", "entity_type": "Thing", "service": "hamm", "subservice": "/a"}
    await registry.create_groups("hamm", "/a", [group])
    with pytest.raises(Duplicate):
        await registry.create_groups("hamm", "/a", [group])
    assert await registry.find_group("k1", "/iot/json") == group
    assert await registry.find_group("k1", None) == group
    assert await registry.find_group("k2", None) is None
    assert await registry.list_groups("hamm", "/*", 10, 0) == (1, [group])
    assert await registry.list_groups("hamm", "/b", 10, 0) == (0, [])
    assert await registry.list_groups("other", None, 10, 0) == (0, [])
    changed = {**group, "entity_type": "Sensor"}
    assert await registry.replace_group("hamm", "/a", "k1", "/iot/json", changed)
    assert await registry.get_group("hamm", "/a", "k1", "/iot/json") == changed
    assert await registry.delete_group("hamm", "/a", "k1", "/iot/json")
    assert not await registry.delete_group("hamm", "/a", "k1", "/iot/json")


async def test_devices_are_kept_per_service_and_pages_are_stable(registry: Registry) -> None:
    devices = [{"device_id": f"d{n}", "entity_type": "Thing"} for n in range(5)]
    await registry.create_devices("hamm", "/", devices)
    with pytest.raises(Duplicate):  # one duplicate: none of the batch is written
        await registry.create_devices("hamm", "/", [{"device_id": "new"}, {"device_id": "d1"}])
    assert await registry.get_device("hamm", "/", "new") is None
    assert await registry.list_devices("hamm", "/", 2, 2) == (5, devices[2:4])
    assert await registry.get_device("other", "/", "d1") is None
    assert await registry.replace_device("hamm", "/", "d1", {"device_id": "d1", "timezone": "UTC"})
    assert await registry.get_device("hamm", "/", "d1") == {"device_id": "d1", "timezone": "UTC"}
    assert await registry.delete_device("hamm", "/", "d1")
    assert not await registry.replace_device("hamm", "/", "d1", {"device_id": "d1"})


def test_an_unknown_registry_url_is_refused_naming_the_choices() -> None:
    with pytest.raises(UnsupportedRegistry, match="postgresql://"):
        open_registry("mongodb://127.0.0.1/iot")
