# SPDX-License-Identifier: EUPL-1.2
"""Which triggers an entity change fires, from the expanded entity before and after (pure functions)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from broker.subscriptions.matcher import EntityEvent, attribute_changes, fired_triggers
from broker.subscriptions.notification import render_event
from tests.broker.subscriptions.fixtures import subscription
from tests.broker.subscriptions.test_index import compiled

V = "https://uri.etsi.org/ngsi-ld/default-context/"
TYPE = [V + "Room"]


def entity(**attributes: Any) -> dict[str, Any]:
    return {"id": "urn:ngsi-ld:Room:1", "type": TYPE, **{V + k: v for k, v in attributes.items()}}


def prop(value: Any, dataset_id: str | None = None) -> dict[str, Any]:
    instance: dict[str, Any] = {"type": "Property", "value": value}
    if dataset_id is not None:
        instance["datasetId"] = dataset_id
    return instance


def test_attribute_changes_are_per_instance() -> None:
    before = entity(t=[prop(1)], h=[prop(5, "urn:a"), prop(6, "urn:b")], gone=[prop(0)])
    after = entity(t=[prop(2)], h=[prop(5, "urn:a"), prop(7, "urn:c")], new=[prop(9)])
    changes = attribute_changes(before, after)
    assert changes.created == {V + "h", V + "new"}
    assert changes.updated == {V + "t"}
    assert changes.deleted == {V + "h", V + "gone"}


ALL = ["entityCreated", "entityUpdated", "entityDeleted", "attributeCreated", "attributeUpdated", "attributeDeleted"]


@pytest.mark.parametrize(
    ("before", "after", "watched", "expected"),
    [
        (None, entity(t=[prop(1)]), None, {"entityCreated", "attributeCreated"}),
        (entity(t=[prop(1)]), None, None, {"entityDeleted"}),
        (entity(t=[prop(1)]), entity(t=[prop(2)]), None, {"entityUpdated", "attributeUpdated"}),
        (entity(t=[prop(1)]), entity(t=[prop(1)], h=[prop(3)]), None, {"entityUpdated", "attributeCreated"}),
        (entity(t=[prop(1)], h=[prop(3)]), entity(t=[prop(1)]), None, {"entityUpdated", "attributeDeleted"}),
        (entity(t=[prop(1)], h=[prop(3)]), entity(t=[prop(1)], h=[prop(4)]), ["t"], set()),
        (entity(t=[prop(1)], h=[prop(3)]), entity(t=[prop(2)], h=[prop(4)]), ["t"], {"entityUpdated", "attributeUpdated"}),
        (None, entity(h=[prop(1)]), ["t"], {"entityCreated"}),
        (entity(h=[prop(1)]), None, ["t"], {"entityDeleted"}),
    ],
)
async def test_fired_triggers(
    before: dict[str, Any] | None, after: dict[str, Any] | None, watched: list[str] | None, expected: set[str]
) -> None:
    body = subscription("http://127.0.0.1:9/n", notificationTrigger=ALL)
    if watched is not None:
        body["watchedAttributes"] = watched
    sub = await compiled(body)
    event = EntityEvent("", before, after, "2026-01-01T00:00:00.000Z")
    assert fired_triggers(sub, event, attribute_changes(before, after)) == expected


async def test_triggers_not_asked_for_do_not_fire() -> None:
    sub = await compiled(subscription("http://127.0.0.1:9/n"))  # default: attributeCreated, attributeUpdated
    before, after = entity(t=[prop(1)]), entity()
    assert fired_triggers(sub, EntityEvent("", before, after, "x"), attribute_changes(before, after)) == set()
    assert fired_triggers(sub, EntityEvent("", before, None, "x"), attribute_changes(before, None)) == set()


async def test_rendering_a_deleted_instance_leaves_the_event_as_it_was() -> None:
    # One datasetId of an attribute deleted, two subscriptions that render differently (with and without
    # sysAttrs): each shows the remaining instance and one NGSI-LD Null for the deleted one, whichever
    # renders first, and the event's entity (shared by every subscription) is left as it was.
    before = entity(h=[prop(5, "urn:a"), prop(6, "urn:b")])
    after = entity(h=[prop(5, "urn:a")])
    event = EntityEvent("", before, after, "2026-01-01T00:00:00.000Z")
    pristine = copy.deepcopy(after)
    with_sys_attrs = await compiled(subscription("http://127.0.0.1:9/n", notificationTrigger=ALL, notification={"sysAttrs": True}))
    plain = await compiled(subscription("http://127.0.0.1:9/n", notificationTrigger=ALL))
    fired = frozenset(fired_triggers(plain, event, attribute_changes(before, after)))
    assert "attributeDeleted" in fired

    for sub in (with_sys_attrs, plain):
        shown = render_event(sub, event, fired)["h"]
        assert sorted((i.get("datasetId"), i["value"]) for i in shown) == [("urn:a", 5), ("urn:b", "urn:ngsi-ld:null")]
        assert event.after == pristine
