# SPDX-License-Identifier: EUPL-1.2
"""Bad input gets the spec's ProblemDetails: status, type URI, and a detail a user can act on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from broker.settings import Settings
from tests.conftest import API

ERRORS = "https://uri.etsi.org/ngsi-ld/errors/"
ID = "urn:ngsi-ld:Thing:error-shape"
GOOD = {"id": ID, "type": "Thing", "a": {"type": "Property", "value": 1}}
JSON = {"Content-Type": "application/json"}

# (name, method, path, params, body bytes or JSON, headers, status, error type)
CASES: list[tuple[str, str, str, dict[str, str], Any, dict[str, str], int, str]] = [
    ("malformed JSON", "POST", "/entities", {}, b'{"id": "urn:a:b", "type": ', JSON, 400, "InvalidRequest"),
    ("empty body", "POST", "/entities", {}, b"", JSON, 400, "InvalidRequest"),
    ("body is an array", "POST", "/entities", {}, [GOOD], JSON, 400, "BadRequestData"),
    ("no id", "POST", "/entities", {}, {"type": "Thing"}, JSON, 400, "BadRequestData"),
    ("id not a URI", "POST", "/entities", {}, {"id": "thing 1", "type": "Thing"}, JSON, 400, "BadRequestData"),
    ("id not a string", "POST", "/entities", {}, {"id": 7, "type": "Thing"}, JSON, 400, "BadRequestData"),
    ("no type", "POST", "/entities", {}, {"id": "urn:a:b"}, JSON, 400, "BadRequestData"),
    ("type with a space", "POST", "/entities", {}, {"id": "urn:a:b", "type": "Car Park"}, JSON, 400, "BadRequestData"),
    ("type empty array", "POST", "/entities", {}, {"id": "urn:a:b", "type": []}, JSON, 400, "BadRequestData"),
    ("bad attribute name", "POST", "/entities", {}, {"id": "urn:a:b", "type": "T", "a=b": 1}, JSON, 400, "BadRequestData"),
    ("bad scope", "POST", "/entities", {}, {"id": "urn:a:b", "type": "T", "scope": "Hamm"}, JSON, 400, "BadRequestData"),
    ("unknown parameter on create", "POST", "/entities", {"foo": "1"}, GOOD, JSON, 400, "InvalidRequest"),
    ("unknown parameter on retrieve", "GET", f"/entities/{ID}", {"colour": "red"}, None, {}, 400, "InvalidRequest"),
    ("unknown options value", "GET", f"/entities/{ID}", {"options": "pretty"}, None, {}, 400, "InvalidRequest"),
    ("unknown format value", "GET", f"/entities/{ID}", {"format": "xml"}, None, {}, 400, "InvalidRequest"),
    ("parameter given twice", "GET", f"/entities/{ID}?attrs=a&attrs=b", {}, None, {}, 400, "InvalidRequest"),
    ("empty attrs item", "GET", f"/entities/{ID}", {"attrs": "a,,b"}, None, {}, 400, "BadRequestData"),
    ("entity id in URL not a URI", "GET", "/entities/not-a-uri", {}, None, {}, 400, "BadRequestData"),
    ("unknown append option", "POST", f"/entities/{ID}/attrs", {"options": "overwrite"}, {"a": 1}, JSON, 400, "InvalidRequest"),
    ("deleteAll not boolean", "DELETE", f"/entities/{ID}/attrs/a", {"deleteAll": "yes"}, None, {}, 400, "InvalidRequest"),
    ("datasetId not a URI", "DELETE", f"/entities/{ID}/attrs/a", {"datasetId": "x y"}, None, {}, 400, "BadRequestData"),
    ("fragment not an object", "PATCH", f"/entities/{ID}/attrs", {}, [1, 2], JSON, 400, "BadRequestData"),
    ("partial update null", "PATCH", f"/entities/{ID}/attrs/a", {}, None, JSON, 400, "BadRequestData"),
    ("invalid tenant", "GET", f"/entities/{ID}", {}, None, {"NGSILD-Tenant": "../etc"}, 400, "InvalidRequest"),
    ("missing entity", "GET", "/entities/urn:ngsi-ld:Thing:missing", {}, None, {}, 404, "ResourceNotFound"),
    ("unknown path", "GET", "/nothing-here", {}, None, {}, 404, "ResourceNotFound"),
    ("unknown sub-resource", "GET", f"/entities/{ID}/things", {}, None, {}, 404, "ResourceNotFound"),
    ("method on collection", "PUT", "/entities", {}, GOOD, JSON, 405, "InvalidRequest"),
    ("method on item", "POST", f"/entities/{ID}", {}, GOOD, JSON, 405, "InvalidRequest"),
    ("method on attribute", "GET", f"/entities/{ID}/attrs/a", {}, None, {}, 405, "InvalidRequest"),
]


@pytest.fixture
async def seeded(client: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    assert (await client.post(f"{API}/entities", json=GOOD)).status_code == 201
    yield client


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
async def test_bad_input_gets_problem_details(seeded: httpx.AsyncClient, case: tuple[Any, ...]) -> None:
    _, method, path, params, body, headers, status, error_type = case
    content = body if isinstance(body, bytes) or body is None else httpx.Request("POST", "/", json=body).content
    if body is None and method in ("PATCH", "POST", "PUT"):
        content = b"null"
    url = path if path.startswith("/nothing") else API + path
    response = await seeded.request(method, url, params=params or None, content=content, headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    problem = response.json()
    assert problem["type"] == ERRORS + error_type
    assert problem["title"]
    assert isinstance(problem["detail"], str) and len(problem["detail"]) > 10
    after = await seeded.get(f"{API}/entities/{ID}")
    assert after.json() == GOOD  # nothing half-written


async def test_write_without_content_length_is_411(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"id": "urn:a:b", "type": "T"}'

    response = await client.post(f"{API}/entities", content=chunks(), headers=JSON)
    assert response.status_code == 411
    assert response.content == b""  # clause 6.3.4: just the status code


async def test_body_over_the_limit_is_413(client: httpx.AsyncClient, settings: Settings) -> None:
    big = {"id": "urn:a:big", "type": "T", "blob": {"type": "Property", "value": "x" * settings.max_body_bytes}}
    response = await client.post(f"{API}/entities", json=big)
    assert response.status_code == 413
    assert response.json()["type"] == ERRORS + "InvalidRequest"
    assert (await client.get(f"{API}/entities/urn:a:big")).status_code == 404


async def test_method_not_allowed_names_the_allowed_methods(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{API}/entities/{ID}")
    assert response.status_code == 405
    assert set(response.headers["allow"].replace(" ", "").split(",")) == {"GET", "DELETE", "PUT", "PATCH"}
