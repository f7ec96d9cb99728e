# SPDX-License-Identifier: EUPL-1.2
"""HTTP binding common behaviours (6.3): error mapping, preconditions, response headers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.conformance.support import API, JSON, assert_problem, create, url, vehicle


@pytest.fixture
def car(http: httpx.Client, new_id: Callable[..., str]) -> dict[str, Any]:
    entity = vehicle(new_id("Vehicle"))
    create(http, entity)
    return entity


def test_unsupported_content_type_is_415(
    http: httpx.Client, new_id: Callable[..., str]
) -> None:
    response = http.post(
        f"{API}/entities",
        content=b'{"id": "urn:ngsi-ld:T:1", "type": "T"}',
        headers={"Content-Type": "text/plain"},
    )
    assert response.status_code == 415


def test_missing_content_type_is_415(http: httpx.Client, car: dict[str, Any]) -> None:
    response = http.patch(
        url(car["id"], "attrs"),
        content=b'{"brandName": {"type": "Property", "value": "x"}}',
    )
    assert response.status_code == 415


def test_415_has_no_body(http: httpx.Client) -> None:
    response = http.post(
        f"{API}/entities", content=b"{}", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 415
    assert response.content == b""


def _chunks() -> Iterator[bytes]:
    yield b'{"id": "urn:ngsi-ld:Vehicle:chunked", '
    yield b'"type": "Vehicle"}'


def test_missing_content_length_is_411(http: httpx.Client) -> None:
    response = http.post(f"{API}/entities", content=_chunks(), headers=JSON)
    assert response.status_code == 411


def test_411_has_no_body(http: httpx.Client) -> None:
    response = http.post(f"{API}/entities", content=_chunks(), headers=JSON)
    assert response.status_code == 411
    assert response.content == b""


def test_too_large_body_is_413(http: httpx.Client, new_id: Callable[..., str]) -> None:
    entity = {
        "id": new_id("Vehicle"),
        "type": "Vehicle",
        "blob": {"type": "Property", "value": "x" * (2 * 1024 * 1024)},
    }
    response = http.post(f"{API}/entities", json=entity, headers=JSON)
    assert response.status_code == 413
    assert http.get(url(entity["id"])).status_code == 404


def test_geojson_accept_on_a_non_retrieval_operation_is_406(
    http: httpx.Client, car: dict[str, Any]
) -> None:
    response = http.patch(
        url(car["id"], "attrs"),
        json={"brandName": {"type": "Property", "value": "x"}},
        headers={**JSON, "Accept": "application/geo+json"},
    )
    assert response.status_code == 406


def test_wrong_method_is_405_with_allow(
    http: httpx.Client, car: dict[str, Any]
) -> None:
    response = http.post(url(car["id"]), json={}, headers=JSON)
    assert response.status_code == 405
    allowed = {m.strip() for m in response.headers["allow"].split(",")}
    assert {"GET", "DELETE", "PATCH", "PUT"} <= allowed


def test_204_responses_have_no_content_length_and_no_link(
    http: httpx.Client, car: dict[str, Any]
) -> None:
    response = http.patch(
        url(car["id"], "attrs", "speed"), json={"value": 1}, headers=JSON
    )
    assert response.status_code == 204
    assert "content-length" not in response.headers
    assert "link" not in response.headers


def test_problem_details_shape(http: httpx.Client, new_id: Callable[..., str]) -> None:
    body = assert_problem(
        http.get(url(new_id("Vehicle")), headers={"Accept": "application/ld+json"}),
        404,
        "ResourceNotFound",
    )
    assert isinstance(
        body.get("detail"), str
    )  # 5.5.3: detail should convey more information


def test_errors_are_application_json_even_for_ld_json_requests(
    http: httpx.Client,
) -> None:
    response = http.post(
        f"{API}/entities",
        content=b"{not json",
        headers={"Content-Type": "application/ld+json"},
    )
    assert_problem(response, 400, "InvalidRequest")


def test_collection_with_trailing_slash_accepts_create(
    http: httpx.Client, new_id: Callable[..., str]
) -> None:
    entity = {
        "id": new_id("Vehicle"),
        "type": "Vehicle",
        "a": {"type": "Property", "value": 1},
    }
    assert http.post(f"{API}/entities/", json=entity, headers=JSON).status_code == 201
    assert http.get(url(entity["id"])).json() == entity


def test_fully_percent_encoded_entity_id(
    http: httpx.Client, car: dict[str, Any]
) -> None:
    from urllib.parse import quote

    response = http.get(f"{API}/entities/{quote(car['id'], safe='')}")
    assert response.status_code == 200 and response.json()["id"] == car["id"]


@pytest.mark.parametrize(
    "content_type",
    ["application/json; charset=utf-8", "application/ld+json; charset=utf-8"],
)
def test_content_type_parameters_are_accepted(
    http: httpx.Client, new_id: Callable[..., str], content_type: str
) -> None:
    entity: dict[str, Any] = {
        "id": new_id("Vehicle"),
        "type": "Vehicle",
        "a": {"type": "Property", "value": 1},
    }
    if "ld+json" in content_type:
        entity["@context"] = (
            "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
        )
    import json

    response = http.post(
        f"{API}/entities",
        content=json.dumps(entity).encode(),
        headers={"Content-Type": content_type},
    )
    assert response.status_code == 201, response.text
