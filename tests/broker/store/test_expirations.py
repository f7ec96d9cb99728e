# SPDX-License-Identifier: EUPL-1.2
"""The expiry index (the Store contract, every store): `expired_entities` lists, across tenants, the
entities whose expiresAt or one of whose attribute instances' expiresAt (clause 4.22) is at or before
an instant, the earliest first, however the entities were written: created, changed in place,
replaced in a batch, deleted. The hypothesis test runs random sequences of writes against a model.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from broker.entities.changes import EntityChange
from broker.entities.expiry import expiry_change, remove_expired
from broker.entities.service import EntityService
from broker.store import Store
from broker.temporal.times import datetime_ms

T = "https://example.org/Thing"
ATTRIBUTES = ("https://example.org/a", "https://example.org/b")
STAMP = "2026-07-01T10:00:00.000Z"
# Two spellings of one instant, a fraction, and later instants.
EXPIRIES = ["2030-01-01T00:00:00Z", "2030-01-01T00:00:00.000Z", "2031-06-01T12:00:00.5Z", "2040-01-01T00:00:00Z"]
AFTER_ALL_MS = datetime_ms("2100-01-01T00:00:00Z")
IDS = 3

expiry = st.one_of(st.none(), st.sampled_from(EXPIRIES))
# An entity as the writes leave it: its own expiresAt and one per attribute (None: none; the attribute
# is absent when its entry is missing).
shapes = st.tuples(expiry, st.dictionaries(st.sampled_from(ATTRIBUTES), expiry))
steps = st.one_of(
    st.tuples(st.just("create"), st.integers(0, IDS - 1), shapes),
    st.tuples(st.just("modify"), st.integers(0, IDS - 1), shapes),
    st.tuples(st.just("delete"), st.integers(0, IDS - 1)),
    st.tuples(st.just("batch"), st.lists(st.tuples(st.integers(0, IDS - 1), st.one_of(st.none(), shapes)), max_size=4)),
)


def entity(entity_id: str, shape: tuple[str | None, dict[str, str | None]]) -> dict[str, Any]:
    own, attributes = shape
    doc: dict[str, Any] = {"id": entity_id, "type": [T], "createdAt": STAMP, "modifiedAt": STAMP}
    if own is not None:
        doc["expiresAt"] = own
    for attribute, at in attributes.items():
        instance: dict[str, Any] = {"type": "Property", "value": 1, "createdAt": STAMP, "modifiedAt": STAMP}
        if at is not None:
            instance["expiresAt"] = at
        doc[attribute] = [instance]
    return doc


def expiry_of(shape: tuple[str | None, dict[str, str | None]]) -> int | None:
    own, attributes = shape
    found = [datetime_ms(at) for at in [own, *attributes.values()] if at is not None]
    return min(found) if found else None


async def listed(store: Store, tenant: str, now_ms: int) -> list[str]:
    return [entity_id for found_tenant, entity_id in await store.expired_entities(now_ms, 100_000) if found_tenant == tenant]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(steps, min_size=1, max_size=10))
@example([("create", 0, ("2030-01-01T00:00:00Z", {})), ("modify", 0, (None, {ATTRIBUTES[0]: None}))])
@example([("create", 0, (None, {ATTRIBUTES[0]: EXPIRIES[2]})), ("batch", [(0, None), (0, (EXPIRIES[0], {}))])])
async def test_the_expiry_index_follows_the_writes(store: Store, sequence: list[Any]) -> None:
    tenant = f"x{uuid.uuid4().hex[:12]}"
    ids = [f"urn:x:{n}" for n in range(IDS)]
    model: dict[str, int | None] = {}
    for step in sequence:
        kind = step[0]
        if kind == "create" and ids[step[1]] not in model:
            await store.create_entity(tenant, entity(ids[step[1]], step[2]))
            model[ids[step[1]]] = expiry_of(step[2])
        elif kind == "modify" and ids[step[1]] in model:
            new = entity(ids[step[1]], step[2])

            def change(current: dict[str, Any], new: dict[str, Any] = new) -> None:
                current.clear()
                current.update(new)

            await store.modify_entity(tenant, ids[step[1]], change)
            model[ids[step[1]]] = expiry_of(step[2])
        elif kind == "delete" and ids[step[1]] in model:
            await store.delete_entity(tenant, ids[step[1]])
            del model[ids[step[1]]]
        elif kind == "batch":
            changes = []
            for number, shape in step[1]:
                doc = entity(ids[number], shape) if shape is not None else None
                changes.append((ids[number], lambda current, doc=doc: (doc, None)))
                if shape is None:
                    model.pop(ids[number], None)
                else:
                    model[ids[number]] = expiry_of(shape)
            await store.batch_modify(tenant, changes)

    expiring = {entity_id: at for entity_id, at in model.items() if at is not None}
    found = await listed(store, tenant, AFTER_ALL_MS)
    assert sorted(found) == sorted(expiring)
    assert [expiring[entity_id] for entity_id in found] == sorted(expiring.values())  # the earliest first
    for threshold in EXPIRIES:
        now_ms = datetime_ms(threshold)
        assert sorted(await listed(store, tenant, now_ms)) == sorted(i for i, at in expiring.items() if at <= now_ms)
    for entity_id in list(model):
        await store.delete_entity(tenant, entity_id)
    assert await listed(store, tenant, AFTER_ALL_MS) == []


async def test_expired_entities_gives_at_most_the_limit_the_earliest_first(store: Store) -> None:
    tenants = [f"x{uuid.uuid4().hex[:12]}" for _ in range(2)]
    await store.create_entity(tenants[0], entity("urn:x:late", ("2040-01-01T00:00:00Z", {})))
    await store.create_entity(tenants[1], entity("urn:x:early", (None, {ATTRIBUTES[0]: "2030-01-01T00:00:00Z"})))
    await store.create_entity(tenants[0], entity("urn:x:never", (None, {ATTRIBUTES[0]: None})))
    everything = [row for row in await store.expired_entities(AFTER_ALL_MS, 100_000) if row[0] in tenants]
    assert everything == [(tenants[1], "urn:x:early"), (tenants[0], "urn:x:late")]
    assert await store.expired_entities(datetime_ms("2029-12-31T23:59:59.999Z"), 10) == []
    assert await store.expired_entities(datetime_ms("2030-01-01T00:00:00Z"), 10) == [(tenants[1], "urn:x:early")]
    assert len(await store.expired_entities(AFTER_ALL_MS, 1)) == 1


@pytest.mark.parametrize("limit", [1, 1000])
async def test_no_entity_expires_when_none_has_an_expiry(store: Store, limit: int) -> None:
    tenant = f"x{uuid.uuid4().hex[:12]}"
    await store.create_entity(tenant, entity("urn:x:1", (None, {ATTRIBUTES[0]: None})))
    assert [row for row in await store.expired_entities(AFTER_ALL_MS, limit) if row[0] == tenant] == []


async def test_a_sweep_that_finds_nothing_expired_writes_and_reports_nothing(store: Store) -> None:
    # Two broker processes (or a write in between) may both list an entity; the second sweep of it
    # must not write it again nor tell subscribers of a change that did not happen.
    tenant = f"x{uuid.uuid4().hex[:12]}"
    changes: list[EntityChange] = []
    service = EntityService(store, [changes.append])
    await store.create_entity(tenant, entity("urn:x:1", (None, {ATTRIBUTES[0]: EXPIRIES[0], ATTRIBUTES[1]: None})))
    now_ms = datetime_ms(EXPIRIES[0])
    assert await remove_expired(service, now_ms) == 1
    stored = await store.retrieve_entity(tenant, "urn:x:1")
    assert stored is not None and ATTRIBUTES[0] not in stored and ATTRIBUTES[1] in stored
    assert [(change.before is not None, change.after is not None) for change in changes] == [(True, True)]
    late = await service.batch_modify(tenant, [("urn:x:1", expiry_change(now_ms))], validate=False)
    assert late[0].error is not None and len(changes) == 1
    assert await store.retrieve_entity(tenant, "urn:x:1") == stored
    assert [row for row in await store.expired_entities(AFTER_ALL_MS, 100) if row[0] == tenant] == []
