# SPDX-License-Identifier: EUPL-1.2
"""Delete Entity (5.6.6), Replace Entity (5.6.18) and Merge Entity (5.6.17) over HTTP (6.5.3.2-4)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conformance.support import (
    JSON,
    NULL_URI,
    assert_problem,
    create,
    get,
    url,
    vehicle,
)


@pytest.fixture
def car(http: httpx.Client, new_id: Callable[..., str]) -> dict[str, Any]:
    entity = vehicle(new_id("Vehicle"))
    create(http, entity)
    return entity


# -- Delete Entity ------------------------------------------------------------------------------------


def test_delete_entity(http: httpx.Client, car: dict[str, Any]) -> None:
    response = http.delete(url(car["id"]))
    assert response.status_code == 204
    assert response.content == b""
    assert "content-length" not in response.headers  # 6.3.6
    assert_problem(http.get(url(car["id"])), 404, "ResourceNotFound")


def test_delete_unknown_entity_is_404(
    http: httpx.Client, new_id: Callable[..., str]
) -> None:
    assert_problem(http.delete(url(new_id("Vehicle"))), 404, "ResourceNotFound")


def test_delete_invalid_id_is_400(http: httpx.Client) -> None:
    assert_problem(http.delete("/ngsi-ld/v1/entities/not-a-uri"), 400, "BadRequestData")


# -- Replace Entity -----------------------------------------------------------------------------------


def test_replace_entity(http: httpx.Client, car: dict[str, Any]) -> None:
    before = get(http, car["id"], {"options": "sysAttrs"})
    replacement = {
        "id": car["id"],
        "type": "Vehicle",
        "colour": {"type": "Property", "value": "red"},
    }
    response = http.put(url(car["id"]), json=replacement, headers=JSON)
    assert response.status_code == 204, response.text
    assert get(http, car["id"]) == replacement
    after = get(http, car["id"], {"options": "sysAttrs"})
    assert after["createdAt"] == before["createdAt"]  # 5.6.18.4


def test_replace_unknown_entity_is_404(
    http: httpx.Client, new_id: Callable[..., str]
) -> None:
    entity_id = new_id("Vehicle")
    response = http.put(
        url(entity_id),
        json={
            "id": entity_id,
            "type": "Vehicle",
            "a": {"type": "Property", "value": 1},
        },
        headers=JSON,
    )
    assert_problem(response, 404, "ResourceNotFound")


# -- Merge Entity -------------------------------------------------------------------------------------


def test_merge_adds_modifies_and_keeps(http: httpx.Client, car: dict[str, Any]) -> None:
    response = http.patch(
        url(car["id"]),
        json={
            "colour": {"type": "Property", "value": "red"},
            "speed": {"type": "Property", "value": 80},
        },
        headers=JSON,
    )
    assert response.status_code == 204, response.text
    body = get(http, car["id"])
    assert body["colour"] == {"type": "Property", "value": "red"}
    assert body["speed"]["value"] == 80
    assert (
        body["speed"]["unitCode"] == "KMH"
    )  # merge patch: members not given stay (5.5.12)
    assert body["speed"]["source"] == car["speed"]["source"]
    assert body["brandName"] == car["brandName"]


def test_merge_null_deletes_attribute(http: httpx.Client, car: dict[str, Any]) -> None:
    response = http.patch(url(car["id"]), json={"brandName": NULL_URI}, headers=JSON)
    assert response.status_code == 204, response.text
    assert "brandName" not in get(http, car["id"])


def test_merge_null_deletes_sub_attribute(
    http: httpx.Client, car: dict[str, Any]
) -> None:
    response = http.patch(
        url(car["id"]),
        json={
            "speed": {
                "type": "Property",
                "value": 60,
                "source": {"type": "Property", "value": NULL_URI},
            }
        },
        headers=JSON,
    )
    assert response.status_code == 204, response.text
    speed = get(http, car["id"])["speed"]
    assert speed["value"] == 60 and "source" not in speed


def test_merge_concise_value(http: httpx.Client, car: dict[str, Any]) -> None:
    assert (
        http.patch(url(car["id"]), json={"brandName": "Saab"}, headers=JSON).status_code
        == 204
    )
    assert get(http, car["id"])["brandName"] == {"type": "Property", "value": "Saab"}


def test_merge_simplified_value_keeps_relationship_type(
    http: httpx.Client, car: dict[str, Any]
) -> None:
    response = http.patch(
        url(car["id"]),
        json={"isParked": "urn:ngsi-ld:OffStreetParking:p2"},
        headers=JSON,
    )
    assert response.status_code == 204, response.text
    assert get(http, car["id"])["isParked"] == {
        "type": "Relationship",
        "object": "urn:ngsi-ld:OffStreetParking:p2",
    }


def test_merge_key_values_format_keeps_relationship_type(
    http: httpx.Client, car: dict[str, Any]
) -> None:
    response = http.patch(
        url(car["id"]),
        params={"format": "keyValues"},
        json={"isParked": "urn:ngsi-ld:OffStreetParking:p3"},
        headers=JSON,
    )
    assert response.status_code == 204, response.text
    assert get(http, car["id"])["isParked"] == {
        "type": "Relationship",
        "object": "urn:ngsi-ld:OffStreetParking:p3",
    }


def test_merge_adds_entity_type(http: httpx.Client, car: dict[str, Any]) -> None:
    assert (
        http.patch(url(car["id"]), json={"type": "Car"}, headers=JSON).status_code
        == 204
    )
    assert sorted(get(http, car["id"])["type"]) == ["Car", "Vehicle"]


def test_merge_accepts_merge_patch_json(
    http: httpx.Client, car: dict[str, Any]
) -> None:
    response = http.patch(
        url(car["id"]),
        content=b'{"brandName": "Audi"}',
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert response.status_code == 204, response.text
    assert get(http, car["id"])["brandName"]["value"] == "Audi"


def test_merge_unknown_entity_is_404(
    http: httpx.Client, new_id: Callable[..., str]
) -> None:
    assert_problem(
        http.patch(url(new_id("Vehicle")), json={"a": 1}, headers=JSON),
        404,
        "ResourceNotFound",
    )


def test_merge_lang_updates_one_language(
    http: httpx.Client, new_id: Callable[..., str]
) -> None:
    entity_id = new_id("Vehicle")
    create(
        http,
        {
            "id": entity_id,
            "type": "Vehicle",
            "name": {
                "type": "LanguageProperty",
                "languageMap": {"en": "car", "de": "Auto"},
            },
        },
    )
    response = http.patch(
        url(entity_id), params={"lang": "de"}, json={"name": "Wagen"}, headers=JSON
    )
    assert response.status_code == 204, response.text
    assert get(http, entity_id)["name"] == {
        "type": "LanguageProperty",
        "languageMap": {"en": "car", "de": "Wagen"},
    }


def test_merge_common_observed_at(http: httpx.Client, car: dict[str, Any]) -> None:
    response = http.patch(
        url(car["id"]),
        params={"observedAt": "2026-02-02T02:02:02Z"},
        json={"speed": 70},
        headers=JSON,
    )
    assert response.status_code == 204, response.text
    speed = get(http, car["id"])["speed"]
    assert speed["value"] == 70 and speed["observedAt"] == "2026-02-02T02:02:02Z"


def test_replace_entity_can_change_type(
    http: httpx.Client, car: dict[str, Any]
) -> None:
    replacement = {
        "id": car["id"],
        "type": "Truck",
        "load": {"type": "Property", "value": 3},
    }
    assert http.put(url(car["id"]), json=replacement, headers=JSON).status_code == 204
    assert get(http, car["id"]) == replacement


def test_merge_null_for_absent_attribute_is_harmless(
    http: httpx.Client, car: dict[str, Any]
) -> None:
    assert (
        http.patch(url(car["id"]), json={"colour": NULL_URI}, headers=JSON).status_code
        == 204
    )
    assert get(http, car["id"]) == car
