# SPDX-License-Identifier: EUPL-1.2
"""What a receiver gets: each notificationTrigger, each format, showChanges, the JSON-LD @context
(Link header or in the entities), selection of attributes, and the filters q, geoQ and scopeQ."""

from __future__ import annotations

import time
import types
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

import broker.store.postgres
import broker.store.sqlite
import broker.store.sqlite_history

from tests.broker.subscriptions.fixtures import Receiver, room, subscription
from tests.conftest import API, ContextServer

ENTITIES = f"{API}/entities"
SUBSCRIPTIONS = f"{API}/subscriptions"
CORE_LINK = (
    '<https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld>; '
    'rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
)


async def subscribe(client: httpx.AsyncClient, body: dict[str, Any], **headers: str) -> str:
    response = await client.post(SUBSCRIPTIONS, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.headers["location"].rsplit("/", 1)[1]


async def create(client: httpx.AsyncClient, entity: dict[str, Any], **headers: str) -> None:
    response = await client.post(ENTITIES, json=entity, headers=headers)
    assert response.status_code == 201, response.text


Action = Callable[[httpx.AsyncClient, str, str], Awaitable[httpx.Response]]


async def _update(client: httpx.AsyncClient, entity_id: str, other_id: str) -> httpx.Response:
    return await client.patch(f"{ENTITIES}/{entity_id}/attrs/temperature", json={"value": 25})


async def _create_other(client: httpx.AsyncClient, entity_id: str, other_id: str) -> httpx.Response:
    return await client.post(ENTITIES, json=room(other_id, 5))


async def _delete(client: httpx.AsyncClient, entity_id: str, other_id: str) -> httpx.Response:
    return await client.delete(f"{ENTITIES}/{entity_id}")


async def _append(client: httpx.AsyncClient, entity_id: str, other_id: str) -> httpx.Response:
    return await client.post(f"{ENTITIES}/{entity_id}/attrs", json={"humidity": {"type": "Property", "value": 60}})


async def _delete_attribute(client: httpx.AsyncClient, entity_id: str, other_id: str) -> httpx.Response:
    return await client.delete(f"{ENTITIES}/{entity_id}/attrs/temperature")


def _is_other(data: dict[str, Any], entity_id: str, other_id: str) -> bool:
    return bool(data["id"] == other_id and data["temperature"]["value"] == 5)


# trigger, a write that must not fire it, the write that fires it, what its notification shows
TRIGGER_CASES: list[tuple[str, Action, Action, Callable[[dict[str, Any], str, str], bool]]] = [
    ("entityCreated", _update, _create_other, _is_other),
    ("entityUpdated", _create_other, _update, lambda d, e, o: d["id"] == e and d["temperature"]["value"] == 25),
    ("entityDeleted", _update, _delete, lambda d, e, o: set(d) == {"id", "type", "deletedAt"} and d["id"] == e),
    ("attributeCreated", _update, _append, lambda d, e, o: d["id"] == e and d["humidity"]["value"] == 60),
    ("attributeUpdated", _append, _update, lambda d, e, o: d["id"] == e and d["temperature"]["value"] == 25),
    (
        "attributeDeleted",
        _update,
        _delete_attribute,
        lambda d, e, o: d["id"] == e and d["temperature"]["value"] == "urn:ngsi-ld:null" and "deletedAt" in d["temperature"],
    ),
]


@pytest.mark.parametrize(("trigger", "noise", "fire", "shows"), TRIGGER_CASES, ids=[case[0] for case in TRIGGER_CASES])
async def test_each_trigger_notifies_only_its_event(
    client: httpx.AsyncClient,
    receiver: Receiver,
    unique_id: Callable[[str], str],
    trigger: str,
    noise: Action,
    fire: Action,
    shows: Callable[[dict[str, Any], str, str], bool],
) -> None:
    entity_id, other_id = unique_id("Room"), unique_id("Room")
    await create(client, room(entity_id, 20))  # before the subscription: creating it notifies nothing
    await subscribe(client, subscription(receiver.url(), notificationTrigger=[trigger]))
    assert (await noise(client, entity_id, other_id)).status_code in (201, 204, 207)
    assert (await fire(client, entity_id, other_id)).status_code in (201, 204)
    [notification] = await receiver.wait_for(1)
    assert notification.body["type"] == "Notification"
    assert [shows(item, entity_id, other_id) for item in notification.data] == [True]
    assert all(shows(item.data[0], entity_id, other_id) for item in receiver.on("notify"))


async def test_the_default_triggers_are_attribute_created_and_updated(
    client: httpx.AsyncClient, receiver: Receiver, unique_id: Callable[[str], str]
) -> None:
    entity_id = unique_id("Room")
    subscription_id = await subscribe(client, subscription(receiver.url()))
    await create(client, room(entity_id, 20))
    await client.patch(f"{ENTITIES}/{entity_id}/attrs/temperature", json={"value": 21})
    await client.delete(f"{ENTITIES}/{entity_id}")
    await create(client, room(entity_id, 22))
    received = await receiver.wait_for(3)
    assert [item.data[0]["temperature"]["value"] for item in received] == [20, 21, 22]
    assert all(item.body["subscriptionId"] == subscription_id for item in received)
    assert received[0].body["id"].startswith("urn:ngsi-ld:Notification:")
    assert received[0].body["notifiedAt"].endswith("Z")


@pytest.mark.parametrize(
    ("format_", "temperature", "name"),
    [
        ("normalized", {"type": "Property", "value": 20}, {"type": "LanguageProperty", "languageMap": {"de": "Saal", "en": "Hall"}}),
        ("concise", 20, {"languageMap": {"de": "Saal", "en": "Hall"}}),
        ("keyValues", 20, {"languageMap": {"de": "Saal", "en": "Hall"}}),
        ("simplified", 20, {"languageMap": {"de": "Saal", "en": "Hall"}}),
    ],
)
async def test_each_format(
    client: httpx.AsyncClient,
    receiver: Receiver,
    unique_id: Callable[[str], str],
    format_: str,
    temperature: Any,
    name: Any,
) -> None:
    entity_id = unique_id("Room")
    await subscribe(client, subscription(receiver.url(), notification={"format": format_}))
    name_attribute = {"type": "LanguageProperty", "languageMap": {"de": "Saal", "en": "Hall"}}
    await create(client, room(entity_id, 20, name=name_attribute))
    [notification] = await receiver.wait_for(1)
    assert notification.data == [{"id": entity_id, "type": "Room", "temperature": temperature, "name": name}]


async def test_lang_picks_one_language(
    client: httpx.AsyncClient, receiver: Receiver, unique_id: Callable[[str], str]
) -> None:
    entity_id = unique_id("Room")
    await subscribe(client, subscription(receiver.url(), lang="en"))
    await create(client, room(entity_id, name={"type": "LanguageProperty", "languageMap": {"de": "Saal", "en": "Hall"}}))
    [notification] = await receiver.wait_for(1)
    assert notification.data[0]["name"] == {"type": "Property", "value": "Hall", "lang": "en"}


async def test_application_json_names_the_context_in_the_exact_link_header(
    client: httpx.AsyncClient, receiver: Receiver, unique_id: Callable[[str], str]
) -> None:
    await subscribe(client, subscription(receiver.url()))
    await create(client, room(unique_id("Room")))
    [notification] = await receiver.wait_for(1)
    assert notification.headers["Content-Type"] == "application/json"
    assert notification.headers["Link"] == CORE_LINK
    assert "@context" not in notification.data[0]


async def test_application_ld_json_puts_the_context_in_each_entity_and_sends_no_link(
    client: httpx.AsyncClient, receiver: Receiver, unique_id: Callable[[str], str]
) -> None:
    await subscribe(
        client, subscription(receiver.url(), notification={"endpoint": {"uri": receiver.url(), "accept": "application/ld+json"}})
    )
    await create(client, room(unique_id("Room")))
    [notification] = await receiver.wait_for(1)
    assert notification.headers["Content-Type"] == "application/ld+json"
    assert "Link" not in notification.headers
    assert notification.data[0]["@context"] == "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"


async def test_notifications_are_compacted_with_the_subscriptions_context(
    client: httpx.AsyncClient, receiver: Receiver, context_server: ContextServer, unique_id: Callable[[str], str]
) -> None:
    url = context_server.add("hamm.jsonld", {"Raum": "https://hamm.example/Room", "temp": "https://hamm.example/temperature"})
    link = f'<{url}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
    body = subscription(receiver.url(), entities=[{"type": "Raum"}], watchedAttributes=["temp"])
    await subscribe(client, body, Link=link)
    entity_id = unique_id("Room")
    await create(client, {"id": entity_id, "type": "Raum", "temp": {"type": "Property", "value": 7}}, Link=link)
    [notification] = await receiver.wait_for(1)
    assert notification.data == [{"id": entity_id, "type": "Raum", "temp": {"type": "Property", "value": 7}}]
    assert notification.headers["Link"] == link
    # read with the core context, the stored names are IRIs
    got = (await client.get(f"{SUBSCRIPTIONS}/{notification.body['subscriptionId']}")).json()
    assert got["entities"] == [{"type": "https://hamm.example/Room"}]
    assert got["watchedAttributes"] == ["https://hamm.example/temperature"]


async def test_json_ld_context_member_chooses_the_notification_context(
    client: httpx.AsyncClient, receiver: Receiver, context_server: ContextServer, unique_id: Callable[[str], str]
) -> None:
    url = context_server.add("short.jsonld", {"t": "https://uri.etsi.org/ngsi-ld/default-context/temperature"})
    await subscribe(client, subscription(receiver.url(), jsonldContext=url))
    await create(client, room(unique_id("Room"), 3))
    [notification] = await receiver.wait_for(1)
    assert notification.data[0]["t"] == {"type": "Property", "value": 3}
    assert notification.headers["Link"].startswith(f"<{url}>;")


async def test_receiver_info_becomes_headers_and_the_tenant_is_named(
    client: httpx.AsyncClient, receiver: Receiver, unique_id: Callable[[str], str]
) -> None:
    endpoint = {"uri": receiver.url(), "receiverInfo": [{"key": "X-Api-Key", "value": "hamm-app-1"}]}
    await subscribe(client, subscription(receiver.url(), notification={"endpoint": endpoint}), **{"NGSILD-Tenant": "stadtwerke"})
    await create(client, room(unique_id("Room")), **{"NGSILD-Tenant": "stadtwerke"})
    await create(client, room(unique_id("Room")))  # another tenant: not notified
    [notification] = await receiver.wait_for(1)
    assert notification.headers["X-Api-Key"] == "hamm-app-1"
    assert notification.headers["NGSILD-Tenant"] == "stadtwerke"


async def test_show_changes_carries_the_previous_value_of_each_kind_of_attribute(
    client: httpx.AsyncClient, receiver: Receiver, unique_id: Callable[[str], str]
) -> None:
    entity_id = unique_id("Room")
    await create(
        client,
        room(
            entity_id,
            20,
            building={"type": "Relationship", "object": "urn:ngsi-ld:Building:a"},
            name={"type": "LanguageProperty", "languageMap": {"de": "Alt"}},
            config={"type": "JsonProperty", "json": {"mode": "eco"}},
            category={"type": "VocabProperty", "vocab": "office"},
            note={"type": "Property", "value": "to be deleted"},
        ),
    )
    await subscribe(
        client,
        subscription(
            receiver.url(),
            notificationTrigger=["attributeUpdated", "attributeDeleted"],
            notification={"showChanges": True},
        ),
    )
    fragment = {
        "temperature": {"type": "Property", "value": 21},
        "building": {"type": "Relationship", "object": "urn:ngsi-ld:Building:b"},
        "name": {"type": "LanguageProperty", "languageMap": {"de": "Neu"}},
        "config": {"type": "JsonProperty", "json": {"mode": "comfort"}},
        "category": {"type": "VocabProperty", "vocab": "meeting"},
        "note": "urn:ngsi-ld:null",
    }
    assert (await client.patch(f"{ENTITIES}/{entity_id}", json=fragment)).status_code == 204
    [notification] = await receiver.wait_for(1)
    data = notification.data[0]
    assert data["temperature"] == {"type": "Property", "value": 21, "previousValue": 20}
    assert data["building"] == {"type": "Relationship", "object": "urn:ngsi-ld:Building:b", "previousObject": "urn:ngsi-ld:Building:a"}
    assert data["name"] == {"type": "LanguageProperty", "languageMap": {"de": "Neu"}, "previousLanguageMap": {"de": "Alt"}}
    assert data["config"] == {"type": "JsonProperty", "json": {"mode": "comfort"}, "previousJson": {"mode": "eco"}}
    assert data["category"] == {"type": "VocabProperty", "vocab": "meeting", "previousVocab": "office"}
    assert data["note"]["value"] == "urn:ngsi-ld:null" and data["note"]["previousValue"] == "to be deleted"


async def test_show_changes_gives_the_previous_value_list_and_object_list(
    client: httpx.AsyncClient, receiver: Receiver, unique_id: Callable[[str], str]
) -> None:
    entity_id = unique_id("Room")
    await create(
        client,
        room(
            entity_id,
            readings={"type": "ListProperty", "valueList": [1, 2]},
            doors={"type": "ListRelationship", "objectList": [{"object": "urn:ngsi-ld:Door:1"}]},
        ),
    )
    await subscribe(client, subscription(receiver.url(), notification={"showChanges": True}))
    fragment = {
        "readings": {"type": "ListProperty", "valueList": [3]},
        "doors": {"type": "ListRelationship", "objectList": [{"object": "urn:ngsi-ld:Door:2"}]},
    }
    assert (await client.patch(f"{ENTITIES}/{entity_id}", json=fragment)).status_code == 204
    [notification] = await receiver.wait_for(1)
    data = notification.data[0]
    assert data["readings"]["valueList"] == [3] and data["readings"]["previousValueList"] == [1, 2]
    assert data["doors"]["previousObjectList"] == [{"object": "urn:ngsi-ld:Door:1"}]


async def test_attributes_pick_omit_sys_attrs_and_dataset_id_select_what_is_notified(
    client: httpx.AsyncClient, receiver: Receiver, unique_id: Callable[[str], str]
) -> None:
    entity_id = unique_id("Room")
    await subscribe(client, subscription(receiver.url("attributes"), notification={"attributes": ["humidity"]}))
    await subscribe(client, subscription(receiver.url("pick"), notification={"pick": ["id", "temperature"]}))
    await subscribe(client, subscription(receiver.url("omit"), notification={"omit": ["type", "temperature"]}))
    await subscribe(client, subscription(receiver.url("sys"), notification={"sysAttrs": True, "attributes": ["humidity"]}))
    await subscribe(client, subscription(receiver.url("dataset"), notification={"datasetId": ["urn:ngsi-ld:Dataset:b"]}))
    humidity = [
        {"type": "Property", "value": 50, "datasetId": "urn:ngsi-ld:Dataset:a"},
        {"type": "Property", "value": 55, "datasetId": "urn:ngsi-ld:Dataset:b"},
    ]
    await create(client, room(entity_id, 20, humidity=humidity))
    (attributes,) = await receiver.wait_for(1, "attributes")
    assert attributes.data[0] == {"id": entity_id, "type": "Room", "humidity": [{"type": "Property", **h} for h in (
        {"value": 50, "datasetId": "urn:ngsi-ld:Dataset:a"}, {"value": 55, "datasetId": "urn:ngsi-ld:Dataset:b"})]}
    (pick,) = await receiver.wait_for(1, "pick")
    assert pick.data[0] == {"id": entity_id, "temperature": {"type": "Property", "value": 20}}
    (omit,) = await receiver.wait_for(1, "omit")
    assert set(omit.data[0]) == {"id", "humidity"}
    (sys,) = await receiver.wait_for(1, "sys")
    assert {"createdAt", "modifiedAt"} <= set(sys.data[0]) and "createdAt" in sys.data[0]["humidity"][0]
    (dataset,) = await receiver.wait_for(1, "dataset")
    assert dataset.data[0]["humidity"] == {"type": "Property", "value": 55, "datasetId": "urn:ngsi-ld:Dataset:b"}
    assert "temperature" not in dataset.data[0]


async def test_q_geo_q_scope_q_and_id_pattern_filter_the_entities(
    client: httpx.AsyncClient, receiver: Receiver, unique_id: Callable[[str], str]
) -> None:
    hot, cold = unique_id("Room"), unique_id("Room")
    await subscribe(client, subscription(receiver.url("q"), q="temperature>25"))
    geo_q = {"georel": "near;maxDistance==2000", "geometry": "Point", "coordinates": [7.8075, 51.6783]}
    await subscribe(client, subscription(receiver.url("geo"), geoQ=geo_q))
    await subscribe(client, subscription(receiver.url("scope"), scopeQ="/Hamm/Mitte/#"))
    await subscribe(client, subscription(receiver.url("pattern"), entities=[{"type": "Room", "idPattern": f"{hot}$"}]))
    await subscribe(client, subscription(receiver.url("id"), entities=[{"type": "Room", "id": cold}]))
    near_station = {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [7.8080, 51.6787]}}
    far_away = {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [7.9, 51.7]}}
    await create(client, {**room(cold, 18, location=far_away), "scope": "/Hamm/Heessen"})
    await create(client, {**room(hot, 30, location=near_station), "scope": "/Hamm/Mitte/Bahnhof"})
    for path, expected in (("q", hot), ("geo", hot), ("scope", hot), ("pattern", hot), ("id", cold)):
        (notification,) = await receiver.wait_for(1, path)
        assert [item["id"] for item in notification.data] == [expected], path
    # the other entity never comes: every endpoint got exactly one
    await client.patch(f"{ENTITIES}/{hot}/attrs/temperature", json={"value": 31})
    await receiver.wait_for(2, "q")
    assert all(len(receiver.on(path)) == 1 for path in ("id",))
    assert {item.data[0]["id"] for item in receiver.on("q")} == {hot}


async def test_watched_attributes_restrict_what_fires(
    client: httpx.AsyncClient, receiver: Receiver, unique_id: Callable[[str], str]
) -> None:
    entity_id = unique_id("Room")
    await create(client, room(entity_id, 20, humidity={"type": "Property", "value": 50}))
    await subscribe(client, subscription(receiver.url(), watchedAttributes=["temperature"]))
    await client.patch(f"{ENTITIES}/{entity_id}/attrs/humidity", json={"value": 51})
    await client.patch(f"{ENTITIES}/{entity_id}/attrs/temperature", json={"value": 22})
    [notification] = await receiver.wait_for(1)
    assert notification.data[0]["temperature"]["value"] == 22
    assert notification.data[0]["humidity"]["value"] == 51  # the whole entity is notified
    assert len(receiver.on("notify")) == 1


async def test_watched_attributes_without_entities_match_any_type(
    client: httpx.AsyncClient, receiver: Receiver, unique_id: Callable[[str], str]
) -> None:
    body = subscription(receiver.url(), watchedAttributes=["noiseLevel"])
    del body["entities"]
    await subscribe(client, body)
    entity_id = unique_id("NoiseLevelObserved")
    await create(client, {"id": entity_id, "type": "NoiseLevelObserved", "noiseLevel": {"type": "Property", "value": 61}})
    [notification] = await receiver.wait_for(1)
    assert notification.data[0]["id"] == entity_id


async def test_batch_writes_notify_each_entity(
    client: httpx.AsyncClient, receiver: Receiver, unique_id: Callable[[str], str]
) -> None:
    await subscribe(client, subscription(receiver.url()))
    ids = [unique_id("Room") for _ in range(5)]
    response = await client.post(f"{API}/entityOperations/upsert", json=[room(entity_id, 20) for entity_id in ids])
    assert response.status_code == 201, response.text
    received = await receiver.wait_for(5)
    assert sorted(item.data[0]["id"] for item in received) == sorted(ids)


async def test_geo_json_accept_sends_a_feature_collection(
    client: httpx.AsyncClient, receiver: Receiver, unique_id: Callable[[str], str]
) -> None:
    endpoint = {"uri": receiver.url(), "accept": "application/geo+json"}
    await subscribe(client, subscription(receiver.url(), notification={"endpoint": endpoint}))
    point = {"type": "Point", "coordinates": [7.8075, 51.6783]}
    entity_id = unique_id("Room")
    await create(client, room(entity_id, location={"type": "GeoProperty", "value": point}))
    [notification] = await receiver.wait_for(1)
    assert notification.headers["Content-Type"] == "application/geo+json"
    [feature] = notification.body["data"]["features"]
    assert feature["id"] == entity_id and feature["geometry"] == point


async def test_a_deleted_attribute_is_shown_deleted_at_the_entity_s_modification(
    client: httpx.AsyncClient, receiver: Receiver, unique_id: Callable[[str], str]
) -> None:
    # The notification's deletedAt and the entity's modifiedAt are one instant: the write's.
    entity_id = unique_id("Room")
    await create(client, room(entity_id, 20, humidity={"type": "Property", "value": 50}))
    await subscribe(client, subscription(receiver.url(), notificationTrigger=["attributeDeleted"]))
    assert (await client.delete(f"{ENTITIES}/{entity_id}/attrs/temperature")).status_code == 204
    [notification] = await receiver.wait_for(1)
    stored = (await client.get(f"{ENTITIES}/{entity_id}", params={"options": "sysAttrs"})).json()
    assert notification.data[0]["temperature"]["deletedAt"] == stored["modifiedAt"]


@pytest.mark.parametrize("batch", [False, True], ids=["DELETE", "batch delete"])
async def test_a_deleted_entity_is_shown_deleted_at_the_instant_its_history_records(
    client: httpx.AsyncClient, receiver: Receiver, unique_id: Callable[[str], str], monkeypatch: pytest.MonkeyPatch, batch: bool
) -> None:
    # The store's clock decides the instant of a deletion (here it runs two seconds behind the rest of
    # the broker): the entityDeleted notification shows the instant the temporal API shows.
    entity_id = unique_id("Room")
    await create(client, room(entity_id, 20))
    await subscribe(client, subscription(receiver.url(), notificationTrigger=["entityDeleted"]))
    behind = types.SimpleNamespace(time=lambda: time.time() - 2.0, perf_counter=time.perf_counter)
    monkeypatch.setattr(broker.store.sqlite, "time", behind)
    monkeypatch.setattr(broker.store.postgres, "time", behind)
    monkeypatch.setattr(broker.store.sqlite_history, "time", behind)
    if batch:
        response = await client.post(f"{API}/entityOperations/delete", json=[entity_id])
    else:
        response = await client.delete(f"{ENTITIES}/{entity_id}")
    assert response.status_code == 204, response.text
    [notification] = await receiver.wait_for(1)
    history = await client.get(f"{API}/temporal/entities/{entity_id}", params={"timeproperty": "deletedAt"})
    assert history.status_code == 200, history.text
    [deletion] = history.json()["temperature"]
    assert notification.data[0]["deletedAt"] == deletion["deletedAt"]


async def test_what_expires_is_notified_as_deleted(
    client: httpx.AsyncClient, receiver: Receiver, unique_id: Callable[[str], str]
) -> None:
    # expiresAt (clause 4.22): the sweep deletes as DELETE would, so subscribers hear of it.
    transient, lasting = unique_id("Room"), unique_id("Room")
    await subscribe(client, subscription(receiver.url(), notificationTrigger=["entityDeleted", "attributeDeleted"]))
    await create(client, room(transient, expiresAt="2020-01-01T00:00:00Z"))
    await create(client, room(lasting, humidity={"type": "Property", "value": 50, "expiresAt": "2020-01-01T00:00:00Z"}))
    notifications = await receiver.wait_for(2)
    by_id = {notification.data[0]["id"]: notification.data[0] for notification in notifications}
    assert set(by_id[transient]) == {"id", "type", "deletedAt"}
    assert by_id[lasting]["humidity"]["value"] == "urn:ngsi-ld:null" and "deletedAt" in by_id[lasting]["humidity"]
    assert (await client.get(f"{ENTITIES}/{transient}")).status_code == 404
    assert "humidity" not in (await client.get(f"{ENTITIES}/{lasting}")).json()
