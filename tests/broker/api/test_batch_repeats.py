# SPDX-License-Identifier: EUPL-1.2
"""A batch upsert (options=replace, the default) naming one entity twice keeps both writes in the history,
whether the entity is new (created, then replaced) or exists (replaced twice), and stores the last."""

from __future__ import annotations

import httpx

from tests.conftest import API

ID = "urn:ngsi-ld:WeatherObserved:batch-repeats"


def reading(value: float, minute: int) -> dict[str, object]:
    return {
        "id": ID,
        "type": "WeatherObserved",
        "temperature": {"type": "Property", "value": value, "observedAt": f"2026-11-26T10:{minute:02d}:00Z"},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [7.8 + value / 100, 51.68]}},
    }


async def test_one_entity_twice_in_a_replace_upsert_is_two_history_instances(client: httpx.AsyncClient) -> None:
    first = await client.post(f"{API}/entityOperations/upsert", json=[reading(10.5, 1), reading(11.0, 2)])
    assert first.status_code == 201, first.text
    assert first.json() == [ID]
    second = await client.post(f"{API}/entityOperations/upsert", json=[reading(12.0, 3), reading(12.5, 4)])
    assert second.status_code == 204, second.text
    entity = (await client.get(f"{API}/entities/{ID}")).json()
    assert entity["temperature"]["value"] == 12.5
    assert entity["location"]["value"]["coordinates"] == [7.925, 51.68]
    temporal = await client.get(
        f"{API}/temporal/entities/{ID}",
        params={"attrs": "temperature", "options": "temporalValues", "timerel": "after", "timeAt": "2026-11-26T00:00:00Z"},
    )
    assert temporal.status_code == 200, temporal.text
    assert temporal.json()["temperature"]["values"] == [
        [10.5, "2026-11-26T10:01:00Z"],
        [11.0, "2026-11-26T10:02:00Z"],
        [12.0, "2026-11-26T10:03:00Z"],
        [12.5, "2026-11-26T10:04:00Z"],
    ]
    near = await client.get(
        f"{API}/entities",
        params={"type": "WeatherObserved", "georel": "near;maxDistance==10", "geometry": "Point", "coordinates": "[7.925,51.68]"},
    )
    assert [item["id"] for item in near.json()] == [ID]
