# SPDX-License-Identifier: EUPL-1.2
"""CITYCONTEXT_VALIDATE_TYPES: writes of the chosen types are checked against their Smart Data Model."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from broker.api import create_app
from broker.settings import Settings
from tests.conftest import API

SDM_PARKING = "https://smartdatamodels.org/dataModel.Parking/"


@pytest.fixture
async def validating(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings.from_mapping({}, store=f"sqlite:///{tmp_path}/v.db", validate_types="OffStreetParking")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://broker.test") as http:
            yield http


def parking(free: object) -> dict[str, object]:
    return {
        "id": "urn:ngsi-ld:OffStreetParking:validated",
        "type": SDM_PARKING + "OffStreetParking",
        SDM_PARKING + "availableSpotNumber": {"type": "Property", "value": free},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [7.8075, 51.6783]}},
    }


async def test_an_invalid_write_is_refused_naming_the_attribute_and_nothing_is_written(
    validating: httpx.AsyncClient,
) -> None:
    refused = await validating.post(f"{API}/entities", json=parking(-3))
    assert refused.status_code == 400
    assert refused.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"
    assert "availableSpotNumber" in refused.json()["detail"]
    assert (await validating.get(f"{API}/entities/urn:ngsi-ld:OffStreetParking:validated")).status_code == 404

    assert (await validating.post(f"{API}/entities", json=parking(12))).status_code == 201
    patch = await validating.patch(
        f"{API}/entities/urn:ngsi-ld:OffStreetParking:validated",
        json={SDM_PARKING + "availableSpotNumber": {"type": "Property", "value": "many"}},
    )
    assert patch.status_code == 400
    batch = await validating.post(f"{API}/entityOperations/upsert", json=[parking(-1), {**parking(5), "id": "urn:ngsi-ld:OffStreetParking:ok"}])
    assert batch.status_code == 207
    assert batch.json()["success"] == ["urn:ngsi-ld:OffStreetParking:ok"]
    kept = (await validating.get(f"{API}/entities/urn:ngsi-ld:OffStreetParking:validated", params={"options": "keyValues"})).json()
    assert kept[SDM_PARKING + "availableSpotNumber"] == 12
