# SPDX-License-Identifier: EUPL-1.2
"""JSON-LD @context handling (4.4, 5.5.7, 6.3.5, 6.3.6) with user contexts served on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conformance.conftest import ContextServer
from tests.conformance.support import (
    API,
    CORE_CONTEXTS,
    DEFAULT_VOCAB,
    JSON,
    LD_JSON,
    assert_problem,
    create,
    get,
    link,
    link_header_target,
    url,
)

EX = "http://example.org/vocab/"
USER_TERMS = {
    "Car": EX + "Car",
    "speed": EX + "speed",
    "owner": EX + "owner",
    "category": EX + "category",
    "electric": EX + "electric",
}


@pytest.fixture
def user_context(context_server: ContextServer) -> str:
    return context_server.add(USER_TERMS)


def _car(entity_id: str) -> dict[str, Any]:
    return {
        "id": entity_id,
        "type": "Car",
        "speed": {"type": "Property", "value": 10},
        "owner": {"type": "Relationship", "object": "urn:ngsi-ld:Person:p1"},
        "category": {"type": "VocabProperty", "vocab": "electric"},
        "note": {"type": "JsonProperty", "json": {"speed": 1, "type": "raw"}},
    }


def test_link_header_context_expands_and_compacts(
    http: httpx.Client, new_id: Callable[..., str], user_context: str
) -> None:
    entity = _car(new_id("Car"))
    create(http, entity, headers={**JSON, **link(user_context)})

    with_context = http.get(url(entity["id"]), headers=link(user_context))
    assert with_context.status_code == 200
    assert with_context.json() == entity
    assert (
        link_header_target(with_context) == user_context
    )  # 6.3.6: Link to the associated @context

    without = get(http, entity["id"])
    assert without["type"] == EX + "Car"
    assert without[EX + "speed"] == {"type": "Property", "value": 10}
    assert (
        without[EX + "category"]["vocab"] == EX + "electric"
    )  # VocabProperty compacted per context (5.7.1.5)
    assert without["note"] == {
        "type": "JsonProperty",
        "json": {"speed": 1, "type": "raw"},
    }  # json never expanded


def test_type_selector_is_expanded_with_the_context(
    http: httpx.Client, new_id: Callable[..., str], user_context: str
) -> None:
    entity = _car(new_id("Car"))
    create(http, entity, headers={**JSON, **link(user_context)})
    assert (
        http.get(
            url(entity["id"]), params={"type": "Car"}, headers=link(user_context)
        ).status_code
        == 200
    )
    assert (
        http.get(url(entity["id"]), params={"type": "Car"}).status_code == 404
    )  # default-context Car
    assert http.get(url(entity["id"]), params={"type": EX + "Car"}).status_code == 200


def test_attrs_are_expanded_with_the_context(
    http: httpx.Client, new_id: Callable[..., str], user_context: str
) -> None:
    entity = _car(new_id("Car"))
    create(http, entity, headers={**JSON, **link(user_context)})
    body = get(http, entity["id"], {"attrs": "speed"}, headers=link(user_context))
    assert set(body) == {"id", "type", "speed"}


def test_ld_json_body_context(
    http: httpx.Client, new_id: Callable[..., str], user_context: str
) -> None:
    entity = _car(new_id("Car"))
    response = http.post(
        f"{API}/entities", json={**entity, "@context": user_context}, headers=LD_JSON
    )
    assert response.status_code == 201, response.text
    assert get(http, entity["id"], headers=link(user_context)) == entity


def test_inline_context_object(http: httpx.Client, new_id: Callable[..., str]) -> None:
    entity = _car(new_id("Car"))
    response = http.post(
        f"{API}/entities",
        json={**entity, "@context": [USER_TERMS, CORE_CONTEXTS[1]]},
        headers=LD_JSON,
    )
    assert response.status_code == 201, response.text
    assert get(http, entity["id"])[EX + "speed"]["value"] == 10


def test_ld_json_response_carries_the_request_context(
    http: httpx.Client, new_id: Callable[..., str], user_context: str
) -> None:
    entity = _car(new_id("Car"))
    create(http, entity, headers={**JSON, **link(user_context)})
    response = http.get(
        url(entity["id"]),
        headers={"Accept": "application/ld+json", **link(user_context)},
    )
    body = response.json()
    context = body.pop("@context")
    assert user_context == context or (
        isinstance(context, list) and user_context in context
    )
    assert body == entity


def test_ld_json_without_context_is_400(
    http: httpx.Client, new_id: Callable[..., str]
) -> None:
    response = http.post(f"{API}/entities", json=_car(new_id("Car")), headers=LD_JSON)
    assert_problem(response, 400, "BadRequestData")


def test_json_with_context_in_body_is_400(
    http: httpx.Client, new_id: Callable[..., str]
) -> None:
    response = http.post(
        f"{API}/entities",
        json={**_car(new_id("Car")), "@context": CORE_CONTEXTS[1]},
        headers=JSON,
    )
    assert_problem(response, 400, "BadRequestData")


def test_ld_json_with_link_header_is_400(
    http: httpx.Client, new_id: Callable[..., str], user_context: str
) -> None:
    entity = {**_car(new_id("Car")), "@context": user_context}
    response = http.post(
        f"{API}/entities", json=entity, headers={**LD_JSON, **link(user_context)}
    )
    assert_problem(response, 400, "BadRequestData")


@pytest.mark.parametrize("core", CORE_CONTEXTS)
def test_core_context_urls_are_known(
    http: httpx.Client, new_id: Callable[..., str], core: str
) -> None:
    entity = {
        "id": new_id("Car"),
        "type": "Car",
        "speed": {"type": "Property", "value": 1},
    }
    create(http, entity, headers={**JSON, **link(core)})
    body = get(http, entity["id"], headers=link(core))
    assert body == entity


def test_user_context_without_core_terms_still_knows_core(
    http: httpx.Client, new_id: Callable[..., str], context_server: ContextServer
) -> None:
    only_user = context_server.add({"speed": EX + "speed"})
    entity = {
        "id": new_id("Car"),
        "type": "Car",
        "speed": {"type": "Property", "value": 3, "observedAt": "2026-01-01T00:00:00Z"},
        "location": {
            "type": "GeoProperty",
            "value": {"type": "Point", "coordinates": [1.0, 2.0]},
        },
    }
    create(http, entity, headers={**JSON, **link(only_user)})
    assert get(http, entity["id"], headers=link(only_user)) == entity


def test_default_vocabulary_for_unknown_terms(
    http: httpx.Client, new_id: Callable[..., str], user_context: str
) -> None:
    # Terms the user @context does not define expand with the core @vocab (default-context) and come back short.
    entity = {
        "id": new_id("Truck"),
        "type": "Truck",
        "colour": {"type": "Property", "value": "red"},
    }
    create(http, entity)
    assert get(http, entity["id"], headers=link(user_context)) == entity
    body = http.get(
        url(entity["id"]),
        params={"type": DEFAULT_VOCAB + "Truck", "attrs": DEFAULT_VOCAB + "colour"},
    )
    assert body.status_code == 200 and body.json() == entity


def test_unreachable_context_is_504(
    http: httpx.Client, new_id: Callable[..., str]
) -> None:
    from tests.conformance.conftest import free_port

    dead = f"http://127.0.0.1:{free_port()}/context.jsonld"
    response = http.post(
        f"{API}/entities", json=_car(new_id("Car")), headers={**JSON, **link(dead)}
    )
    assert_problem(response, 504, "LdContextNotAvailable")


def test_missing_context_document_is_504(
    http: httpx.Client, new_id: Callable[..., str], context_server: ContextServer
) -> None:
    entity_id = new_id("Car")
    response = http.get(url(entity_id), headers=link(context_server.missing()))
    assert_problem(response, 504, "LdContextNotAvailable")


def test_attribute_names_may_be_full_iris(
    http: httpx.Client, new_id: Callable[..., str], user_context: str
) -> None:
    entity = {
        "id": new_id("Car"),
        "type": EX + "Car",
        EX + "speed": {"type": "Property", "value": 7},
    }
    create(http, entity)
    assert get(http, entity["id"], headers=link(user_context)) == {
        "id": entity["id"],
        "type": "Car",
        "speed": {"type": "Property", "value": 7},
    }
    response = http.patch(
        url(entity["id"], "attrs", EX + "speed"), json={"value": 8}, headers=JSON
    )
    assert response.status_code == 204, response.text
    response = http.patch(
        url(entity["id"], "attrs", "speed"),
        json={"value": 9},
        headers={**JSON, **link(user_context)},
    )
    assert response.status_code == 204, response.text
    assert get(http, entity["id"])[EX + "speed"]["value"] == 9
    assert (
        http.delete(
            url(entity["id"], "attrs", "speed"), headers=link(user_context)
        ).status_code
        == 204
    )
    assert EX + "speed" not in get(http, entity["id"])


def test_language_map_keeps_none_key_and_is_not_expanded(
    http: httpx.Client, new_id: Callable[..., str], user_context: str
) -> None:
    entity = {
        "id": new_id("Car"),
        "type": "Car",
        "name": {
            "type": "LanguageProperty",
            "languageMap": {"@none": "Wagen", "en": "car"},
        },
    }
    create(http, entity, headers={**JSON, **link(user_context)})
    assert get(http, entity["id"], headers=link(user_context)) == entity
