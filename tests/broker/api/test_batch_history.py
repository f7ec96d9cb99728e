# SPDX-License-Identifier: EUPL-1.2
"""An entity updated several times in one batch (an IoT agent's batch of uplinks) keeps every instance."""

from __future__ import annotations

import httpx

from tests.conftest import API


async def test_each_update_of_one_entity_in_a_batch_is_a_history_instance(client: httpx.AsyncClient) -> None:
    def reading(value: float, minute: int) -> dict[str, object]:
        return {
            "id": "urn:ngsi-ld:WeatherObserved:batch-history",
            "type": "WeatherObserved",
            "temperature": {"type": "Property", "value": value, "observedAt": f"2026-11-26T10:{minute:02d}:00Z"},
        }

    response = await client.post(
        f"{API}/entityOperations/upsert", params={"options": "update"}, json=[reading(10.5, 1), reading(11.0, 2), reading(11.5, 3)]
    )
    assert response.status_code == 201, response.text
    temporal = await client.get(
        f"{API}/temporal/entities/urn:ngsi-ld:WeatherObserved:batch-history",
        params={"attrs": "temperature", "options": "temporalValues", "timerel": "after", "timeAt": "2026-11-26T00:00:00Z"},
    )
    assert temporal.status_code == 200, temporal.text
    assert temporal.json()["temperature"]["values"] == [
        [10.5, "2026-11-26T10:01:00Z"],
        [11.0, "2026-11-26T10:02:00Z"],
        [11.5, "2026-11-26T10:03:00Z"],
    ]
