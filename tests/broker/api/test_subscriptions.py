# SPDX-License-Identifier: EUPL-1.2
"""/ngsi-ld/v1/subscriptions: create (201 + Location), query (paging), retrieve, update, delete;
what a subscription reads back as; every bad input is a 400 ProblemDetails that leaves nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from broker.api import create_app
from broker.settings import Settings
from tests.broker.subscriptions.conftest import watchdog
from tests.broker.subscriptions.fixtures import (
    Receiver,
    eventually,
    fast_settings,
    receiver,
    room,
    running_broker,
    subscription,
)
from tests.conftest import API

__all__ = ["receiver", "watchdog"]

SUBSCRIPTIONS = f"{API}/subscriptions"
ERRORS = "https://uri.etsi.org/ngsi-ld/errors/"
ENDPOINT = "http://127.0.0.1:9/notify"


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Each store: a SQLite file, or the session's PostgreSQL database."""
    if request.param == "postgres":
        return fast_settings(tmp_path, store=request.getfixturevalue("postgres_dsn"), postgres_pool_size=4)
    return fast_settings(tmp_path)


@pytest.fixture
async def client(request: pytest.FixtureRequest, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        if settings.store.startswith("postgresql"):
            await request.getfixturevalue("reset_postgres")()
            await app.state.subscriptions.refresh()  # forget what earlier tests left in the database
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://broker.test") as http:
            yield http


def future(seconds: float = 3600) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


async def test_create_read_update_delete(client: httpx.AsyncClient) -> None:
    body = subscription(
        ENDPOINT,
        id="urn:ngsi-ld:Subscription:hamm-heat-warning",
        subscriptionName="Hitzewarnung",
        description="Heat warnings for the Hamm:App",
        watchedAttributes=["temperature"],
        q="temperature>30",
        expiresAt=future(),
        throttling=60,
    )
    created = await client.post(SUBSCRIPTIONS, json=body)
    assert created.status_code == 201, created.text
    location = created.headers["location"]
    assert location == f"{SUBSCRIPTIONS}/urn:ngsi-ld:Subscription:hamm-heat-warning"
    got = await client.get(location)
    assert got.status_code == 200 and got.headers["content-type"] == "application/json"
    assert got.json() == {
        **body,
        "notification": {
            "endpoint": {"uri": ENDPOINT, "accept": "application/json"},
            "format": "normalized",
            "showChanges": False,
            "sysAttrs": False,
            "timesSent": 0,
            "timesFailed": 0,
            "status": "ok",
        },
        "notificationTrigger": ["attributeCreated", "attributeUpdated"],
        "isActive": True,
        "status": "active",
    }
    with_sys = (await client.get(location, params={"options": "sysAttrs"})).json()
    assert with_sys["createdAt"] == with_sys["modifiedAt"]

    patched = await client.patch(location, json={"q": "temperature>35", "notification": {"format": "keyValues"}})
    assert patched.status_code == 204, patched.text
    after = (await client.get(location, params={"options": "sysAttrs"})).json()
    assert after["q"] == "temperature>35"
    assert after["notification"]["format"] == "keyValues"
    assert after["notification"]["endpoint"]["uri"] == ENDPOINT  # the rest of notification stays
    assert after["modifiedAt"] >= after["createdAt"]

    assert (await client.patch(location, json={"throttling": None})).status_code == 204
    assert "throttling" not in (await client.get(location)).json()

    assert (await client.delete(location)).status_code == 204
    for response in (await client.get(location), await client.delete(location), await client.patch(location, json={"q": "a==1"})):
        assert response.status_code == 404 and response.json()["type"] == ERRORS + "ResourceNotFound"


async def test_a_subscription_reads_back_as_created_with_every_member(client: httpx.AsyncClient) -> None:
    body = {
        "type": "Subscription",
        "entities": [
            {"type": "ParkingSpot", "idPattern": "^urn:ngsi-ld:ParkingSpot:hamm-"},
            {"type": "OffStreetParking", "id": "urn:ngsi-ld:OffStreetParking:hamm-hbf"},
            {"type": "ParkingSpot|OffStreetParking"},
        ],
        "notificationTrigger": ["entityCreated", "attributeUpdated", "entityDeleted"],
        "geoQ": {"georel": "near;maxDistance==500", "geometry": "Point", "coordinates": [7.8075, 51.6783], "geoproperty": "location"},
        "scopeQ": "/Hamm/Mitte/#",
        "lang": "de",
        "isActive": False,
        "notification": {
            "attributes": ["availableSpotNumber", "status"],
            "format": "concise",
            "showChanges": True,
            "sysAttrs": True,
            "datasetId": ["@none"],
            "endpoint": {
                "uri": "https://hamm-app.example/notify",
                "accept": "application/ld+json",
                "timeout": 2000,
                "cooldown": 500,
                "receiverInfo": [{"key": "X-App", "value": "mobility-map"}],
            },
        },
    }
    location = (await client.post(SUBSCRIPTIONS, json=body)).headers["location"]
    got = (await client.get(location)).json()
    assert got["entities"] == body["entities"]
    assert got["geoQ"] == body["geoQ"]
    for name in ("notificationTrigger", "scopeQ", "lang", "isActive"):
        assert got[name] == body[name]
    assert got["status"] == "paused"
    notification = got["notification"]
    for name in ("attributes", "format", "showChanges", "sysAttrs", "datasetId", "endpoint"):
        assert notification[name] == body["notification"][name], name  # type: ignore[index]


async def test_ld_json_gives_the_context_in_the_body(client: httpx.AsyncClient) -> None:
    body = {**subscription(ENDPOINT), "@context": "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"}
    created = await client.post(SUBSCRIPTIONS, json=body, headers={"Content-Type": "application/ld+json"})
    assert created.status_code == 201, created.text
    got = await client.get(created.headers["location"], headers={"Accept": "application/ld+json"})
    assert got.headers["content-type"] == "application/ld+json"
    assert got.json()["@context"] == body["@context"]


async def test_query_pages_with_limit_offset_and_count(client: httpx.AsyncClient) -> None:
    for number in range(5):
        body = subscription(ENDPOINT, id=f"urn:ngsi-ld:Subscription:page-{number}")
        assert (await client.post(SUBSCRIPTIONS, json=body)).status_code == 201
    everything = await client.get(SUBSCRIPTIONS)
    assert [sub["id"] for sub in everything.json()] == [f"urn:ngsi-ld:Subscription:page-{n}" for n in range(5)]
    page = await client.get(SUBSCRIPTIONS, params={"limit": 2, "offset": 2, "count": "true"})
    assert [sub["id"] for sub in page.json()] == ["urn:ngsi-ld:Subscription:page-2", "urn:ngsi-ld:Subscription:page-3"]
    assert page.headers["NGSILD-Results-Count"] == "5"
    links = ", ".join(page.headers.get_list("link"))
    assert 'rel="next"' in links and 'rel="prev"' in links
    assert (await client.get(SUBSCRIPTIONS, params={"limit": 5000})).status_code == 403
    assert (await client.get(SUBSCRIPTIONS, params={"nonsense": 1})).status_code == 400


async def test_subscriptions_belong_to_their_tenant(client: httpx.AsyncClient) -> None:
    tenant = {"NGSILD-Tenant": "stadtwerke"}
    created = await client.post(SUBSCRIPTIONS, json=subscription(ENDPOINT), headers=tenant)
    assert created.status_code == 201
    assert len((await client.get(SUBSCRIPTIONS, headers=tenant)).json()) == 1
    assert (await client.get(SUBSCRIPTIONS)).json() == []
    assert (await client.get(created.headers["location"])).status_code == 404
    assert (await client.get(SUBSCRIPTIONS, headers={"NGSILD-Tenant": "nobody"})).status_code == 404


async def test_a_second_subscription_with_the_same_id_is_already_exists(client: httpx.AsyncClient) -> None:
    body = subscription(ENDPOINT, id="urn:ngsi-ld:Subscription:twice")
    assert (await client.post(SUBSCRIPTIONS, json=body)).status_code == 201
    again = await client.post(SUBSCRIPTIONS, json=body)
    assert again.status_code == 409 and again.json()["type"] == ERRORS + "AlreadyExists"


def _bad(**members: Any) -> dict[str, Any]:
    return subscription(ENDPOINT, **members)


BAD_INPUTS: list[tuple[str, Any, str]] = [
    ("unsupported scheme", subscription("ftp://127.0.0.1/notify"), "unsupported notification endpoint scheme"),
    ("no endpoint", {"type": "Subscription", "entities": [{"type": "Room"}], "notification": {}}, "endpoint"),
    ("malformed q", _bad(q="temperature>>3"), "invalid q"),
    ("q not a string", _bad(q=3), "q must be a string"),
    ("malformed geoQ", _bad(geoQ={"georel": "near", "geometry": "Point", "coordinates": [7.8, 51.6]}), "near needs"),
    ("geoQ without geometry", _bad(geoQ={"georel": "within", "coordinates": [7.8, 51.6]}), "geoQ lacks geometry"),
    ("malformed scopeQ", _bad(scopeQ="Hamm//Mitte"), "scopeQ"),
    ("watchedAttributes and timeInterval", _bad(watchedAttributes=["t"], timeInterval=10), "timeInterval"),
    ("throttling and timeInterval", _bad(throttling=5, timeInterval=10), "timeInterval"),
    ("expiresAt in the past", _bad(expiresAt="2020-01-01T00:00:00Z"), "in the past"),
    ("expiresAt not a DateTime", _bad(expiresAt="tomorrow"), "expiresAt"),
    ("wrong type", {**_bad(), "type": "Registration"}, "Subscription"),
    ("no entities nor watchedAttributes", {"type": "Subscription", "notification": {"endpoint": {"uri": ENDPOINT}}}, "entities"),
    ("selector without type", _bad(entities=[{"id": "urn:ngsi-ld:Room:1"}]), "type"),
    ("bad idPattern", _bad(entities=[{"type": "Room", "idPattern": "("}]), "idPattern"),
    ("bad trigger", _bad(notificationTrigger=["entityChanged"]), "entityChanged"),
    ("bad format", _bad(notification={"format": "compact"}), "format"),
    ("showChanges with keyValues", _bad(notification={"format": "keyValues", "showChanges": True}), "showChanges"),
    ("attributes with pick", _bad(notification={"attributes": ["a"], "pick": ["b"]}), "pick"),
    ("bad accept", _bad(notification={"endpoint": {"uri": ENDPOINT, "accept": "text/html"}}), "accept"),
    ("bad MQTT QoS", subscription("mqtt://127.0.0.1:1883/t", notification={"endpoint": {"uri": "mqtt://127.0.0.1:1883/t", "notifierInfo": [{"key": "MQTT-QoS", "value": "3"}]}}), "MQTT-QoS"),
    ("bad MQTT version", subscription("mqtt://127.0.0.1/t", notification={"endpoint": {"uri": "mqtt://127.0.0.1/t", "notifierInfo": [{"key": "MQTT-Version", "value": "mqtt4"}]}}), "MQTT-Version"),
    ("MQTT without topic", subscription("mqtt://127.0.0.1:1883"), "topic"),
    ("receiverInfo not pairs", _bad(notification={"endpoint": {"uri": ENDPOINT, "receiverInfo": {"a": "b"}}}), "receiverInfo"),
    ("negative throttling", _bad(throttling=-1), "throttling"),
    ("unknown member", _bad(colour="red"), "colour"),
    ("not an object", [1, 2], "JSON object"),
]


@pytest.mark.parametrize(("case", "body", "detail"), BAD_INPUTS, ids=[case[0] for case in BAD_INPUTS])
async def test_bad_input_is_400_and_creates_nothing(client: httpx.AsyncClient, case: str, body: Any, detail: str) -> None:
    response = await client.post(SUBSCRIPTIONS, json=body)
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["type"] in (ERRORS + "BadRequestData", ERRORS + "InvalidRequest")
    assert detail in problem["detail"]
    assert (await client.get(SUBSCRIPTIONS)).json() == []


async def test_a_bad_patch_changes_nothing(client: httpx.AsyncClient) -> None:
    location = (await client.post(SUBSCRIPTIONS, json=subscription(ENDPOINT, watchedAttributes=["t"]))).headers["location"]
    before = (await client.get(location)).json()
    for fragment in (
        {"timeInterval": 10},  # conflicts with the stored watchedAttributes
        {"q": "a>>"},
        {"notification": {"endpoint": {"uri": "gopher://x/y"}}},
        {"expiresAt": "2001-01-01T00:00:00Z"},
        {"notification": None},
        {"id": "urn:ngsi-ld:Subscription:other"},
    ):
        response = await client.patch(location, json=fragment)
        assert response.status_code == 400, (fragment, response.text)
    assert (await client.get(location)).json() == before


async def test_temporal_q_is_not_supported(client: httpx.AsyncClient) -> None:
    response = await client.post(SUBSCRIPTIONS, json=_bad(temporalQ={"timerel": "after", "timeAt": "2026-01-01T00:00:00Z"}))
    assert response.status_code == 422 and response.json()["type"] == ERRORS + "OperationNotSupported"


async def test_an_unreachable_json_ld_context_is_504_and_creates_nothing(client: httpx.AsyncClient) -> None:
    body = _bad(jsonldContext="http://127.0.0.1:9/missing.jsonld")
    response = await client.post(SUBSCRIPTIONS, json=body)
    assert response.status_code == 504 and response.json()["type"] == ERRORS + "LdContextNotAvailable"
    assert (await client.get(SUBSCRIPTIONS)).json() == []


async def test_an_invalid_subscription_id_in_the_path_is_400(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{SUBSCRIPTIONS}/not a uri")
    assert response.status_code == 400 and response.json()["type"] == ERRORS + "BadRequestData"


async def test_subscriptions_and_their_delivery_state_survive_a_restart(
    tmp_path: Path, receiver: Receiver, unique_id: Callable[[str], str]
) -> None:
    settings = fast_settings(tmp_path)
    entity_id = unique_id("Room")
    async with running_broker(settings) as client:
        location = (await client.post(SUBSCRIPTIONS, json=subscription(receiver.url()))).headers["location"]
        await client.post(f"{API}/entities", json=room(entity_id, 1))
        await receiver.wait_for(1)

        async def recorded() -> bool:  # once the receiver has answered
            return (await client.get(location)).json()["notification"]["timesSent"] == 1  # type: ignore[no-any-return]

        await eventually(recorded, "the delivery is recorded")
    async with running_broker(settings) as client:
        got = (await client.get(location)).json()
        assert got["notification"]["timesSent"] == 1 and "lastSuccess" in got["notification"]
        await client.patch(f"{API}/entities/{entity_id}/attrs/temperature", json={"value": 2})
        second = (await receiver.wait_for(2))[1]
        assert second.data[0]["temperature"]["value"] == 2


async def test_metrics_count_notifications_per_endpoint_kind(
    client: httpx.AsyncClient, receiver: Receiver, unique_id: Callable[[str], str]
) -> None:
    await client.post(SUBSCRIPTIONS, json=subscription(receiver.url()))
    await client.post(f"{API}/entities", json=room(unique_id("Room")))
    await receiver.wait_for(1)

    async def counted() -> bool:
        return 'citycontext_notifications_sent_total{kind="http"} 1.0' in (await client.get("/metrics")).text

    await eventually(counted, "the delivered notification is counted")
    text = (await client.get("/metrics")).text
    assert 'citycontext_notifications_failed_total{kind="mqtt"} 0.0' in text
    assert 'citycontext_notifications_queued{kind="http"} 0.0' in text
