# SPDX-License-Identifier: EUPL-1.2
"""The index finds the subscriptions a change may concern without looking at the others, and sees
subscriptions that another broker process wrote to the shared store."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from broker.api import create_app
from broker.ld import core_term_map
from broker.subscriptions.compiled import CompiledSubscription, compile_subscription
from broker.subscriptions.index import SubscriptionIndex
from broker.subscriptions.model import new_subscription, parse_subscription
from tests.broker.subscriptions.fixtures import (
    Receiver,
    fast_settings,
    room,
    subscription,
)
from tests.conftest import API

VOCAB = "https://uri.etsi.org/ngsi-ld/default-context/"


async def compiled(body: dict[str, Any], tenant: str = "") -> CompiledSubscription:
    tm = core_term_map()

    async def resolve(context: Any) -> Any:
        return tm

    return await compile_subscription(tenant, new_subscription(parse_subscription(body, tm), None), resolve)


async def test_candidates_come_from_the_entity_id_type_or_watched_attribute_only() -> None:
    index = SubscriptionIndex()
    uri = "http://127.0.0.1:9/n"
    by_type = await compiled(subscription(uri, id="urn:s:type"))
    by_id = await compiled(subscription(uri, id="urn:s:id", entities=[{"type": "Room", "id": "urn:ngsi-ld:Room:7"}]))
    either = await compiled(subscription(uri, id="urn:s:or", entities=[{"type": "Building|Room"}]))
    both = await compiled(subscription(uri, id="urn:s:and", entities=[{"type": "Building;Room"}]))
    watched_body = subscription(uri, id="urn:s:watched", watchedAttributes=["noise"])
    del watched_body["entities"]
    watched = await compiled(watched_body)
    anything = await compiled(subscription(uri, id="urn:s:any", entities=[{"type": "*"}]))
    periodic = await compiled(subscription(uri, id="urn:s:periodic", timeInterval=60))
    other_tenant = await compiled(subscription(uri, id="urn:s:tenant"), tenant="stadtwerke")
    others = [await compiled(subscription(uri, id=f"urn:s:other-{n}", entities=[{"type": f"T{n}"}])) for n in range(200)]
    for sub in (by_type, by_id, either, both, watched, anything, periodic, other_tenant, *others):
        index.put(sub)

    def ids(entity_id: str, types: list[str], attributes: list[str]) -> set[str]:
        entity = {"id": entity_id, "type": [VOCAB + t for t in types]}
        groups = index.candidates("", entity_id, entity["type"], [VOCAB + a for a in attributes], entity)
        return {sub.id for group in groups for sub in group.subscriptions.values()}

    assert ids("urn:ngsi-ld:Room:1", ["Room"], ["temperature"]) == {"urn:s:type", "urn:s:or", "urn:s:any"}
    assert ids("urn:ngsi-ld:Room:7", ["Room"], []) == {"urn:s:type", "urn:s:id", "urn:s:or", "urn:s:any"}
    assert ids("urn:ngsi-ld:Building:1", ["Building"], ["noise"]) == {"urn:s:or", "urn:s:and", "urn:s:watched", "urn:s:any"}
    assert ids("urn:x", ["T5"], []) == {"urn:s:other-5", "urn:s:any"}
    index.remove("", "urn:s:any")
    assert ids("urn:x", ["Nothing"], []) == set()
    assert index.get("", "urn:s:periodic") is periodic  # kept for the scheduler, never a change candidate


async def test_alike_subscriptions_form_one_group() -> None:
    index = SubscriptionIndex()
    for n in range(50):
        index.put(await compiled(subscription(f"http://127.0.0.1:9/{n}", id=f"urn:s:{n}", q="temperature>30")))
    index.put(await compiled(subscription("http://127.0.0.1:9/x", id="urn:s:other-q", q="temperature>31")))
    warm = {"id": "urn:ngsi-ld:Room:1", "type": [VOCAB + "Room"], VOCAB + "temperature": [{"type": "Property", "value": 35}]}
    groups = index.candidates("", warm["id"], warm["type"], [], warm)
    assert sorted(len(group.subscriptions) for group in groups) == [1, 50]
    for n in range(50):
        index.remove("", f"urn:s:{n}")
    assert [len(group.subscriptions) for group in index.candidates("", warm["id"], warm["type"], [], warm)] == [1]


async def test_a_subscription_made_by_another_broker_process_is_seen_after_a_refresh(
    tmp_path: Path, receiver: Receiver, unique_id: Callable[[str], str]
) -> None:
    settings = fast_settings(tmp_path, subscription_refresh_s=0.2)
    first, second = create_app(settings), create_app(settings)  # two brokers, one store
    async with first.router.lifespan_context(first), second.router.lifespan_context(second):
        transport_a, transport_b = httpx.ASGITransport(app=first), httpx.ASGITransport(app=second)
        async with (
            httpx.AsyncClient(transport=transport_a, base_url="http://a") as broker_a,
            httpx.AsyncClient(transport=transport_b, base_url="http://b") as broker_b,
        ):
            created = await broker_a.post(f"{API}/subscriptions", json=subscription(receiver.url("first")))
            assert created.status_code == 201

            async def write_on_b_until(path: str) -> str:
                """Write entities through broker b until `path` is notified; the id of the last one."""
                loop = asyncio.get_running_loop()
                deadline = loop.time() + 5
                count = len(receiver.on(path))
                while True:
                    entity_id = unique_id("Room")
                    assert (await broker_b.post(f"{API}/entities", json=room(entity_id))).status_code == 201
                    try:
                        await asyncio.wait_for(receiver.wait_for(count + 1, path), 0.05)
                        return entity_id
                    except TimeoutError:
                        assert loop.time() < deadline, f"broker b never notified /{path}"

            await write_on_b_until("first")  # b learns of a's subscription within subscription_refresh_s
            assert receiver.on("first")[0].body["subscriptionId"] == created.headers["location"].rsplit("/", 1)[1]
            # ... and of its deletion: once b knows a subscription made after it, the deleted one is gone
            assert (await broker_a.delete(created.headers["location"])).status_code == 204
            assert (await broker_a.post(f"{API}/subscriptions", json=subscription(receiver.url("later")))).status_code == 201
            await write_on_b_until("later")
            last = await write_on_b_until("later")
            assert last not in {item.data[0]["id"] for item in receiver.on("first")}
