# SPDX-License-Identifier: EUPL-1.2
"""Attribute operations: Append (5.6.3), Update (5.6.2), Partial update (5.6.4), Replace (5.6.19),
Delete (5.6.5) over HTTP (6.6, 6.7), and the 207 UpdateResult (5.2.18)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conformance.support import (
    DEFAULT_VOCAB,
    JSON,
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


def _is_update_result(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 207, response.text
    assert response.headers["content-type"].split(";")[0] == "application/json"  # 6.3.6
    body = response.json()
    assert isinstance(body["updated"], list)
    assert isinstance(body["notUpdated"], list)
    for item in body["notUpdated"]:
        assert isinstance(item["attributeName"], str) and isinstance(
            item["reason"], str
        )
    return body


def _names(items: list[Any]) -> set[str]:
    return {item if isinstance(item, str) else item["attributeName"] for item in items}


def _short(names: set[str]) -> set[str]:
    return {name.removeprefix(DEFAULT_VOCAB) for name in names}


# -- Append Attributes (POST /attrs) ---------------------------------------------------------------


def test_append_new_attribute(http: httpx.Client, car: dict[str, Any]) -> None:
    response = http.post(
        url(car["id"], "attrs"),
        json={"colour": {"type": "Property", "value": "red"}},
        headers=JSON,
    )
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert get(http, car["id"])["colour"] == {"type": "Property", "value": "red"}


def test_append_overwrites_by_default_keeping_created_at(
    http: httpx.Client, car: dict[str, Any]
) -> None:
    before = get(http, car["id"], {"options": "sysAttrs"})["brandName"]["createdAt"]
    response = http.post(
        url(car["id"], "attrs"),
        json={"brandName": {"type": "Property", "value": "Saab"}},
        headers=JSON,
    )
    assert response.status_code == 204, response.text
    after = get(http, car["id"], {"options": "sysAttrs"})["brandName"]
    assert after["value"] == "Saab"
    assert after["createdAt"] == before


def test_append_no_overwrite_is_207(http: httpx.Client, car: dict[str, Any]) -> None:
    response = http.post(
        url(car["id"], "attrs"),
        params={"options": "noOverwrite"},
        json={
            "brandName": {"type": "Property", "value": "Saab"},
            "colour": {"type": "Property", "value": "red"},
        },
        headers=JSON,
    )
    body = _is_update_result(response)
    assert _short(_names(body["updated"])) == {"colour"}
    assert _short(_names(body["notUpdated"])) == {"brandName"}
    entity = get(http, car["id"])
    assert entity["brandName"]["value"] == "Volvo"
    assert entity["colour"]["value"] == "red"


def test_update_result_uses_fully_qualified_names(
    http: httpx.Client, car: dict[str, Any]
) -> None:
    response = http.post(
        url(car["id"], "attrs"),
        params={"options": "noOverwrite"},
        json={
            "brandName": {"type": "Property", "value": "Saab"},
            "colour": {"type": "Property", "value": "red"},
        },
        headers=JSON,
    )
    body = _is_update_result(response)
    assert _names(body["updated"]) == {DEFAULT_VOCAB + "colour"}
    assert _names(body["notUpdated"]) == {DEFAULT_VOCAB + "brandName"}


def test_append_dataset_instance_beside_default(
    http: httpx.Client, car: dict[str, Any]
) -> None:
    response = http.post(
        url(car["id"], "attrs"),
        json={
            "speed": {
                "type": "Property",
                "value": 11,
                "datasetId": "urn:ngsi-ld:Dataset:gps",
            }
        },
        headers=JSON,
    )
    assert response.status_code == 204, response.text
    speed = get(http, car["id"])["speed"]
    assert isinstance(speed, list) and {i["value"] for i in speed} == {55, 11}


def test_append_unknown_entity_is_404(
    http: httpx.Client, new_id: Callable[..., str]
) -> None:
    response = http.post(
        url(new_id("Vehicle"), "attrs"),
        json={"a": {"type": "Property", "value": 1}},
        headers=JSON,
    )
    assert_problem(response, 404, "ResourceNotFound")


def test_append_adds_entity_types(http: httpx.Client, car: dict[str, Any]) -> None:
    assert (
        http.post(
            url(car["id"], "attrs"), json={"type": "Car"}, headers=JSON
        ).status_code
        == 204
    )
    assert sorted(get(http, car["id"])["type"]) == ["Car", "Vehicle"]


def test_append_no_overwrite_appends_scopes(
    http: httpx.Client, new_id: Callable[..., str]
) -> None:
    entity_id = new_id("Vehicle")
    create(http, {"id": entity_id, "type": "Vehicle", "scope": "/Hamm/Mitte"})
    response = http.post(
        url(entity_id, "attrs"),
        params={"options": "noOverwrite"},
        json={"scope": "/Hamm/Uentrop"},
        headers=JSON,
    )
    assert response.status_code in (204, 207), response.text
    assert sorted(get(http, entity_id)["scope"]) == ["/Hamm/Mitte", "/Hamm/Uentrop"]


# -- Update Attributes (PATCH /attrs) ----------------------------------------------------------------


def test_update_existing_attributes(http: httpx.Client, car: dict[str, Any]) -> None:
    response = http.patch(
        url(car["id"], "attrs"),
        json={"brandName": {"type": "Property", "value": "Saab"}},
        headers=JSON,
    )
    assert response.status_code == 204, response.text
    assert get(http, car["id"])["brandName"] == {"type": "Property", "value": "Saab"}


def test_update_with_missing_attribute_is_207(
    http: httpx.Client, car: dict[str, Any]
) -> None:
    response = http.patch(
        url(car["id"], "attrs"),
        json={
            "brandName": {"type": "Property", "value": "Saab"},
            "colour": {"type": "Property", "value": "red"},
        },
        headers=JSON,
    )
    body = _is_update_result(response)
    assert _short(_names(body["updated"])) == {"brandName"}
    assert _short(_names(body["notUpdated"])) == {"colour"}
    entity = get(http, car["id"])
    assert "colour" not in entity and entity["brandName"]["value"] == "Saab"


def test_update_with_nothing_updated_is_207_with_empty_updated(
    http: httpx.Client, car: dict[str, Any]
) -> None:
    response = http.patch(
        url(car["id"], "attrs"),
        json={"colour": {"type": "Property", "value": "red"}},
        headers=JSON,
    )
    assert _is_update_result(response)["updated"] == []


def test_update_unknown_entity_is_404(
    http: httpx.Client, new_id: Callable[..., str]
) -> None:
    response = http.patch(
        url(new_id("Vehicle"), "attrs"),
        json={"a": {"type": "Property", "value": 1}},
        headers=JSON,
    )
    assert_problem(response, 404, "ResourceNotFound")


def test_update_accepts_merge_patch_json(
    http: httpx.Client, car: dict[str, Any]
) -> None:
    response = http.patch(
        url(car["id"], "attrs"),
        content=b'{"brandName": {"type": "Property", "value": "Kia"}}',
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert response.status_code == 204, response.text


# -- Partial Attribute update (PATCH /attrs/{attrId}) -----------------------------------------------


def test_partial_update_changes_only_given_members(
    http: httpx.Client, car: dict[str, Any]
) -> None:
    response = http.patch(
        url(car["id"], "attrs", "speed"),
        json={"value": 87, "observedAt": "2026-01-01T11:00:00Z"},
        headers=JSON,
    )
    assert response.status_code == 204, response.text
    assert get(http, car["id"])["speed"] == {
        **car["speed"],
        "value": 87,
        "observedAt": "2026-01-01T11:00:00Z",
    }


def test_partial_update_accepts_merge_patch_json(
    http: httpx.Client, car: dict[str, Any]
) -> None:
    response = http.patch(
        url(car["id"], "attrs", "speed"),
        content=b'{"value": 90}',
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert response.status_code == 204, response.text
    assert get(http, car["id"])["speed"]["value"] == 90


def test_partial_update_relationship_object(
    http: httpx.Client, car: dict[str, Any]
) -> None:
    response = http.patch(
        url(car["id"], "attrs", "isParked"),
        json={"object": "urn:ngsi-ld:OffStreetParking:p9"},
        headers=JSON,
    )
    assert response.status_code == 204, response.text
    assert get(http, car["id"])["isParked"] == {
        "type": "Relationship",
        "object": "urn:ngsi-ld:OffStreetParking:p9",
    }


def test_partial_update_dataset_instance(
    http: httpx.Client, new_id: Callable[..., str]
) -> None:
    entity_id = new_id("Vehicle")
    create(
        http,
        {
            "id": entity_id,
            "type": "Vehicle",
            "speed": [
                {"type": "Property", "value": 55},
                {
                    "type": "Property",
                    "value": 11,
                    "datasetId": "urn:ngsi-ld:Dataset:gps",
                },
            ],
        },
    )
    response = http.patch(
        url(entity_id, "attrs", "speed"),
        json={"value": 12, "datasetId": "urn:ngsi-ld:Dataset:gps"},
        headers=JSON,
    )
    assert response.status_code == 204, response.text
    speed = get(http, entity_id)["speed"]
    assert {(i.get("datasetId"), i["value"]) for i in speed} == {
        (None, 55),
        ("urn:ngsi-ld:Dataset:gps", 12),
    }


def test_partial_update_unknown_attribute_is_404(
    http: httpx.Client, car: dict[str, Any]
) -> None:
    assert_problem(
        http.patch(url(car["id"], "attrs", "colour"), json={"value": 1}, headers=JSON),
        404,
        "ResourceNotFound",
    )


def test_partial_update_unknown_dataset_is_404(
    http: httpx.Client, car: dict[str, Any]
) -> None:
    response = http.patch(
        url(car["id"], "attrs", "speed"),
        json={"value": 1, "datasetId": "urn:ngsi-ld:Dataset:none"},
        headers=JSON,
    )
    assert_problem(response, 404, "ResourceNotFound")


def test_partial_update_unknown_entity_is_404(
    http: httpx.Client, new_id: Callable[..., str]
) -> None:
    assert_problem(
        http.patch(
            url(new_id("Vehicle"), "attrs", "speed"), json={"value": 1}, headers=JSON
        ),
        404,
        "ResourceNotFound",
    )


def test_partial_update_cannot_change_attribute_type(
    http: httpx.Client, car: dict[str, Any]
) -> None:
    response = http.patch(
        url(car["id"], "attrs", "brandName"),
        json={"type": "Relationship", "object": "urn:ngsi-ld:X:1"},
        headers=JSON,
    )
    assert_problem(response, 400, "BadRequestData")
    assert get(http, car["id"])["brandName"] == car["brandName"]


# -- Replace Attribute (PUT /attrs/{attrId}) -----------------------------------------------------------


def test_replace_attribute(http: httpx.Client, car: dict[str, Any]) -> None:
    created = get(http, car["id"], {"options": "sysAttrs"})["speed"]["createdAt"]
    response = http.put(
        url(car["id"], "attrs", "speed"),
        json={"type": "Property", "value": 99},
        headers=JSON,
    )
    assert response.status_code == 204, response.text
    assert get(http, car["id"])["speed"] == {"type": "Property", "value": 99}
    assert (
        get(http, car["id"], {"options": "sysAttrs"})["speed"]["createdAt"] == created
    )  # 5.6.19.4


def test_replace_unknown_attribute_is_404(
    http: httpx.Client, car: dict[str, Any]
) -> None:
    response = http.put(
        url(car["id"], "attrs", "colour"),
        json={"type": "Property", "value": "red"},
        headers=JSON,
    )
    assert_problem(response, 404, "ResourceNotFound")


# -- Delete Attribute (DELETE /attrs/{attrId}) ---------------------------------------------------------


@pytest.fixture
def multi(http: httpx.Client, new_id: Callable[..., str]) -> str:
    entity_id = new_id("Vehicle")
    create(
        http,
        {
            "id": entity_id,
            "type": "Vehicle",
            "speed": [
                {"type": "Property", "value": 55},
                {"type": "Property", "value": 11, "datasetId": "urn:ngsi-ld:Dataset:a"},
                {"type": "Property", "value": 22, "datasetId": "urn:ngsi-ld:Dataset:b"},
            ],
        },
    )
    return entity_id


def _speeds(http: httpx.Client, entity_id: str) -> set[Any]:
    speed = get(http, entity_id).get("speed")
    if speed is None:
        return set()
    return {
        (i.get("datasetId"), i["value"])
        for i in (speed if isinstance(speed, list) else [speed])
    }


def test_delete_attribute(http: httpx.Client, car: dict[str, Any]) -> None:
    response = http.delete(url(car["id"], "attrs", "brandName"))
    assert response.status_code == 204
    assert "brandName" not in get(http, car["id"])


def test_delete_default_instance_only(http: httpx.Client, multi: str) -> None:
    assert http.delete(url(multi, "attrs", "speed")).status_code == 204
    assert _speeds(http, multi) == {
        ("urn:ngsi-ld:Dataset:a", 11),
        ("urn:ngsi-ld:Dataset:b", 22),
    }


def test_delete_dataset_instance(http: httpx.Client, multi: str) -> None:
    assert (
        http.delete(
            url(multi, "attrs", "speed"), params={"datasetId": "urn:ngsi-ld:Dataset:a"}
        ).status_code
        == 204
    )
    assert _speeds(http, multi) == {(None, 55), ("urn:ngsi-ld:Dataset:b", 22)}


def test_delete_all_instances(http: httpx.Client, multi: str) -> None:
    assert (
        http.delete(
            url(multi, "attrs", "speed"), params={"deleteAll": "true"}
        ).status_code
        == 204
    )
    assert _speeds(http, multi) == set()


def test_delete_unknown_attribute_is_404(
    http: httpx.Client, car: dict[str, Any]
) -> None:
    assert_problem(
        http.delete(url(car["id"], "attrs", "colour")), 404, "ResourceNotFound"
    )


def test_delete_unknown_dataset_instance_is_404(http: httpx.Client, multi: str) -> None:
    response = http.delete(
        url(multi, "attrs", "speed"), params={"datasetId": "urn:ngsi-ld:Dataset:zzz"}
    )
    assert_problem(response, 404, "ResourceNotFound")


def test_delete_attribute_of_unknown_entity_is_404(
    http: httpx.Client, new_id: Callable[..., str]
) -> None:
    assert_problem(
        http.delete(url(new_id("Vehicle"), "attrs", "speed")), 404, "ResourceNotFound"
    )


def test_delete_invalid_attribute_name_is_400(
    http: httpx.Client, car: dict[str, Any]
) -> None:
    assert_problem(
        http.delete(url(car["id"], "attrs", "bad name")), 400, "BadRequestData"
    )


def test_delete_scope(http: httpx.Client, new_id: Callable[..., str]) -> None:
    entity_id = new_id("Vehicle")
    create(http, {"id": entity_id, "type": "Vehicle", "scope": "/Hamm/Mitte"})
    assert http.delete(url(entity_id, "attrs", "scope")).status_code == 204
    assert "scope" not in get(http, entity_id)


# -- the Entity type selector (4.17) that every operation on an entity takes --------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        pytest.param("DELETE", (), None, id="delete-entity"),
        pytest.param(
            "PUT",
            (),
            {"type": "Vehicle", "a": {"type": "Property", "value": 1}},
            id="replace-entity",
        ),
        pytest.param("PATCH", (), {"brandName": "Saab"}, id="merge-entity"),
        pytest.param(
            "POST",
            ("attrs",),
            {"colour": {"type": "Property", "value": "red"}},
            id="append-attributes",
        ),
        pytest.param(
            "PATCH",
            ("attrs",),
            {"brandName": {"type": "Property", "value": "Saab"}},
            id="update-attributes",
        ),
        pytest.param(
            "PATCH", ("attrs", "speed"), {"value": 1}, id="partial-attribute-update"
        ),
        pytest.param(
            "PUT",
            ("attrs", "speed"),
            {"type": "Property", "value": 1},
            id="replace-attribute",
        ),
        pytest.param("DELETE", ("attrs", "speed"), None, id="delete-attribute"),
    ],
)
def test_type_selector_is_supported(
    http: httpx.Client,
    car: dict[str, Any],
    method: str,
    path: tuple[str, ...],
    body: Any,
) -> None:
    kwargs: dict[str, Any] = {"params": {"type": "Vehicle"}}
    if body is not None:
        kwargs["json"] = body
        kwargs["headers"] = JSON
    response = http.request(method, url(car["id"], *path), **kwargs)
    assert response.status_code == 204, response.text


def test_partial_update_null_deletes_sub_attribute(
    http: httpx.Client, car: dict[str, Any]
) -> None:
    response = http.patch(
        url(car["id"], "attrs", "speed"),
        json={"source": "urn:ngsi-ld:null"},
        headers=JSON,
    )
    assert response.status_code == 204, response.text
    speed = get(http, car["id"])["speed"]
    assert "source" not in speed and speed["value"] == 55


def test_append_no_overwrite_all_existing_is_207_with_nothing_updated(
    http: httpx.Client, car: dict[str, Any]
) -> None:
    response = http.post(
        url(car["id"], "attrs"),
        params={"options": "noOverwrite"},
        json={"brandName": {"type": "Property", "value": "Saab"}},
        headers=JSON,
    )
    assert _is_update_result(response)["updated"] == []


def test_207_is_application_json_even_if_ld_json_is_accepted(
    http: httpx.Client, car: dict[str, Any]
) -> None:
    response = http.patch(
        url(car["id"], "attrs"),
        json={"colour": {"type": "Property", "value": "red"}},
        headers={**JSON, "Accept": "application/ld+json"},
    )
    _is_update_result(response)


def test_delete_attribute_with_invalid_dataset_id_is_400(
    http: httpx.Client, car: dict[str, Any]
) -> None:
    assert_problem(
        http.delete(
            url(car["id"], "attrs", "speed"), params={"datasetId": "not a uri"}
        ),
        400,
        "BadRequestData",
    )
