# SPDX-License-Identifier: EUPL-1.2
"""Helpers shared by the conformance tests: constants, request shortcuts and spec checks."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import httpx

API = "/ngsi-ld/v1"
ERR = "https://uri.etsi.org/ngsi-ld/errors/"
JSON = {"Content-Type": "application/json"}
LD_JSON = {"Content-Type": "application/ld+json"}
CONTEXT_REL = "http://www.w3.org/ns/json-ld#context"
CORE_CONTEXTS = (
    "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld",
    "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld",
    "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.9.jsonld",
)
DEFAULT_VOCAB = "https://uri.etsi.org/ngsi-ld/default-context/"
# Clause 4.6.3: YYYY-MM-DDThh:mm:ss[.s{1,6}]Z, always UTC with a trailing Z.
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")


def url(entity_id: str, *rest: str) -> str:
    path = f"{API}/entities/{quote(entity_id, safe=':')}"
    for part in rest:
        path += "/" + quote(part, safe=":")
    return path


def link(context_url: str) -> dict[str, str]:
    return {"Link": f'<{context_url}>; rel="{CONTEXT_REL}"; type="application/ld+json"'}


def create(
    http: httpx.Client, entity: dict[str, Any], headers: dict[str, str] | None = None
) -> httpx.Response:
    response = http.post(f"{API}/entities", json=entity, headers=headers or JSON)
    assert response.status_code == 201, response.text
    return response


def get(
    http: httpx.Client,
    entity_id: str,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    response = http.get(url(entity_id), params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def assert_problem(
    response: httpx.Response, status: int, error_type: str | None = None
) -> dict[str, Any]:
    """Clauses 5.5.3 and 6.3.3: status, Content-Type application/json, a ProblemDetails body."""
    assert response.status_code == status, response.text
    assert (
        response.headers.get("content-type", "").split(";")[0].strip()
        == "application/json"
    )
    body = response.json()
    assert isinstance(body, dict)
    assert isinstance(body.get("type"), str) and body["type"]
    assert isinstance(body.get("title"), str) and body["title"]
    if error_type is not None:
        assert body["type"] == ERR + error_type, body
    assert "link" not in response.headers, (
        "error responses carry no Link header (6.3.6)"
    )
    return body


def vehicle(entity_id: str) -> dict[str, Any]:
    """A small entity with one attribute of each basic kind and a sub-attribute."""
    return {
        "id": entity_id,
        "type": "Vehicle",
        "speed": {
            "type": "Property",
            "value": 55,
            "unitCode": "KMH",
            "observedAt": "2026-01-01T10:00:00Z",
            "source": {"type": "Property", "value": "gps"},
        },
        "brandName": {"type": "Property", "value": "Volvo"},
        "isParked": {
            "type": "Relationship",
            "object": "urn:ngsi-ld:OffStreetParking:p1",
        },
        "location": {
            "type": "GeoProperty",
            "value": {"type": "Point", "coordinates": [7.8075, 51.6783]},
        },
    }


def link_header_target(response: httpx.Response) -> str | None:
    value = response.headers.get("link")
    if value is None:
        return None
    match = re.match(r"\s*<([^>]*)>", value)
    assert match, value
    assert CONTEXT_REL in value, value
    return match.group(1)


NULL_URI = "urn:ngsi-ld:null"
