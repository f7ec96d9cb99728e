# SPDX-License-Identifier: EUPL-1.2
"""The history after its deletion: entity writes start it anew (the Store contract, every store).

`delete_history_entity` (DELETE /temporal/entities/{id}) and `delete_history_attribute` (DELETE
/temporal/entities/{id}/attrs/{attrId}) leave the current entity alone. A later entity write that
records instances must make the entity known to the history again (with its types and scope, as
`retrieve_history_entity` and `history_entities` give them) and list every attribute it gives an
instance (a value or a deletion) in `history_attributes`, whose instances are those written since the
deletion. The hypothesis test runs random sequences of writes and deletions against a Python model of
that temporal view.

"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from broker.errors import ResourceNotFound
from broker.store import Store
from broker.temporal import HistoryWindow
from broker.temporal.times import format_ms

T = "https://example.org/Thing"
TEMP = "https://example.org/temperature"
HUMIDITY = "https://example.org/humidity"
ATTRIBUTES = (TEMP, HUMIDITY)
SCOPE = "/Hamm/Mitte"
NULL = "urn:ngsi-ld:null"
EVERYTHING = HistoryWindow()


@pytest.fixture
def tenant() -> str:
    return f"r{uuid.uuid4().hex[:12]}"


def stamp(minute: int) -> str:
    return f"2026-07-01T10:{minute:02d}:00.000Z"


def reading(value: float, minute: int) -> list[dict[str, Any]]:
    return [{"type": "Property", "value": value, "observedAt": stamp(minute), "createdAt": stamp(minute), "modifiedAt": stamp(minute)}]


def station(entity_id: str) -> dict[str, Any]:
    return {
        "id": entity_id,
        "type": [T],
        "scope": [SCOPE],
        "createdAt": stamp(0),
        "modifiedAt": stamp(0),
        TEMP: reading(20.0, 0),
        HUMIDITY: reading(50.0, 0),
    }


def setting(attribute: str, value: float, minute: int) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        doc[attribute] = reading(value, minute)
        doc["modifiedAt"] = stamp(minute)

    return change


def dropping(attribute: str, minute: int) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        del doc[attribute]
        doc["modifiedAt"] = stamp(minute)

    return change


def batch_setting(attribute: str, value: float, minute: int) -> Callable[[dict[str, Any] | None], tuple[dict[str, Any] | None, None]]:
    def change(current: dict[str, Any] | None) -> tuple[dict[str, Any] | None, None]:
        assert current is not None
        setting(attribute, value, minute)(current)
        return current, None

    return change


def creating(entity_id: str) -> Callable[[dict[str, Any] | None], tuple[dict[str, Any] | None, None]]:
    return lambda current: (station(entity_id), None)


async def values(store: Store, tenant: str, entity_id: str, attribute: str) -> list[Any]:
    return [row.doc["value"] for row in await store.read_history(tenant, entity_id, attribute, EVERYTHING, limit=100)]


async def test_an_update_after_the_history_was_deleted_makes_the_history_entity_again(store: Store, tenant: str) -> None:
    await store.create_entity(tenant, station("urn:x:1"))
    await store.delete_history_entity(tenant, "urn:x:1")
    assert await store.retrieve_history_entity(tenant, "urn:x:1") is None

    await store.modify_entity(tenant, "urn:x:1", setting(TEMP, 21.0, 10))

    known = await store.retrieve_history_entity(tenant, "urn:x:1")
    assert known is not None and (known.types, known.scope, known.deleted_at_ms) == ((T,), (SCOPE,), None)
    assert await store.history_attributes(tenant, "urn:x:1") == [TEMP]
    assert await values(store, tenant, "urn:x:1", TEMP) == [21.0]
    assert await values(store, tenant, "urn:x:1", HUMIDITY) == []
    assert [e.id for e in await store.history_entities(tenant, types=[T], attrs=[TEMP], limit=10)] == ["urn:x:1"]
    assert await store.history_entities(tenant, attrs=[HUMIDITY], limit=10) == []


@pytest.mark.parametrize("creates_another", [False, True], ids=["creating-nothing", "creating-another"])
async def test_a_batch_after_the_history_was_deleted_makes_each_history_entity_again(
    store: Store, tenant: str, creates_another: bool
) -> None:
    for entity_id in ("urn:x:1", "urn:x:2", "urn:x:3"):
        await store.create_entity(tenant, station(entity_id))
    await store.delete_history_entity(tenant, "urn:x:1")
    await store.delete_history_entity(tenant, "urn:x:3")
    changes = [(entity_id, batch_setting(TEMP, 21.0, 10)) for entity_id in ("urn:x:1", "urn:x:2", "urn:x:3")]
    if creates_another:
        changes.append(("urn:x:4", creating("urn:x:4")))
    changes.append(("urn:x:1", batch_setting(HUMIDITY, 55.0, 11)))  # the same entity twice: both instances

    outcomes = await store.batch_modify(tenant, changes)

    assert [outcome.error for outcome in outcomes] == [None] * len(changes)
    expected = ["urn:x:1", "urn:x:2", "urn:x:3", "urn:x:4"] if creates_another else ["urn:x:1", "urn:x:2", "urn:x:3"]
    assert [e.id for e in await store.history_entities(tenant, types=[T], limit=10)] == expected
    assert (await store.history_attributes(tenant, "urn:x:1"), await store.history_attributes(tenant, "urn:x:3")) == (
        [HUMIDITY, TEMP],
        [TEMP],
    )
    assert [await values(store, tenant, "urn:x:1", a) for a in ATTRIBUTES] == [[21.0], [55.0]]
    assert [await values(store, tenant, "urn:x:2", a) for a in ATTRIBUTES] == [[20.0, 21.0], [50.0]]
    assert [await values(store, tenant, "urn:x:3", a) for a in ATTRIBUTES] == [[21.0], []]


async def test_an_attribute_is_listed_again_with_its_new_instances_only(store: Store, tenant: str) -> None:
    await store.create_entity(tenant, station("urn:x:1"))
    await store.modify_entity(tenant, "urn:x:1", setting(TEMP, 21.0, 5))
    await store.delete_history_attribute(tenant, "urn:x:1", TEMP, None)
    assert await store.history_attributes(tenant, "urn:x:1") == [HUMIDITY]

    await store.modify_entity(tenant, "urn:x:1", setting(TEMP, 22.0, 10))

    assert await store.history_attributes(tenant, "urn:x:1") == [HUMIDITY, TEMP]
    assert await values(store, tenant, "urn:x:1", TEMP) == [22.0]
    assert await values(store, tenant, "urn:x:1", HUMIDITY) == [50.0]
    assert [e.id for e in await store.history_entities(tenant, attrs=[TEMP], limit=10)] == ["urn:x:1"]


async def test_deleting_the_entity_lists_each_attribute_with_its_deletion(store: Store, tenant: str) -> None:
    await store.create_entity(tenant, station("urn:x:1"))
    await store.delete_history_entity(tenant, "urn:x:1")
    await store.modify_entity(tenant, "urn:x:1", setting(TEMP, 21.0, 10))

    await store.delete_entity(tenant, "urn:x:1")

    known = await store.retrieve_history_entity(tenant, "urn:x:1")
    assert known is not None and known.types == (T,) and known.deleted_at_ms is not None
    assert await store.history_attributes(tenant, "urn:x:1") == [HUMIDITY, TEMP]
    assert [await values(store, tenant, "urn:x:1", a) for a in ATTRIBUTES] == [[21.0, NULL], [NULL]]
    deletions = await store.read_history(tenant, "urn:x:1", HUMIDITY, HistoryWindow("deletedAt"), limit=10)
    assert [row.deleted_at_ms for row in deletions] == [known.deleted_at_ms]


async def test_an_entity_and_its_attributes_are_deleted_at_one_instant(
    store: Store, tenant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A clock that moves a millisecond at every reading: the deletion of the entity and of each of its
    # attributes' instances still carry the same deletedAt (the store reads the clock once per write).
    await store.create_entity(tenant, station("urn:x:1"))
    ticks = itertools.count()
    start = 1_790_000_000.0
    monkeypatch.setattr("time.time", lambda: start + next(ticks) / 1000)

    await store.delete_entity(tenant, "urn:x:1")

    known = await store.retrieve_history_entity(tenant, "urn:x:1")
    assert known is not None and known.deleted_at_ms is not None
    for attribute in ATTRIBUTES:
        deletions = await store.read_history(tenant, "urn:x:1", attribute, HistoryWindow("deletedAt"), limit=10)
        assert [row.deleted_at_ms for row in deletions] == [known.deleted_at_ms]


@pytest.mark.parametrize("how", ["delete_entity", "batch_modify"])
async def test_the_deleted_entity_carries_the_instant_its_history_records(
    store: Store, tenant: str, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    # What the store returns for a deleted entity is what an entityDeleted notification shows: its
    # deletedAt must be the history's instant of the deletion, though the clock moves at every reading.
    await store.create_entity(tenant, station("urn:x:1"))
    await store.create_entity(tenant, station("urn:x:2"))
    ticks = itertools.count()
    start = 1_790_000_000.0
    monkeypatch.setattr("time.time", lambda: start + next(ticks) / 1000)

    if how == "delete_entity":
        deleted = [await store.delete_entity(tenant, "urn:x:1")]
    else:
        outcomes = await store.batch_modify(tenant, [(i, lambda current: (None, None)) for i in ("urn:x:1", "urn:x:2")])
        deleted = [outcome.before for outcome in outcomes]

    for entity in deleted:
        assert entity is not None
        known = await store.retrieve_history_entity(tenant, entity["id"])
        assert known is not None and known.deleted_at_ms is not None
        assert entity["deletedAt"] == format_ms(known.deleted_at_ms)
        assert {key: value for key, value in entity.items() if key != "deletedAt"} == station(entity["id"])
    assert await store.retrieve_entity(tenant, "urn:x:1") is None


FAR_FUTURE_MS = 4_102_444_800_000  # 2100-01-01: retention older than this deletes every instance
HISTORY_DELETIONS: dict[str, Callable[[Store, str, int], Any]] = {
    "the newest instance": lambda store, tenant, newest: store.delete_history_instance(tenant, "urn:x:1", TEMP, newest),
    "the attribute": lambda store, tenant, newest: store.delete_history_attribute(tenant, "urn:x:1", TEMP, None),
    "the entity": lambda store, tenant, newest: store.delete_history_entity(tenant, "urn:x:1"),
    "by retention": lambda store, tenant, newest: store.purge_history(tenant, FAR_FUTURE_MS),
}


@pytest.mark.parametrize("deletion", list(HISTORY_DELETIONS))
async def test_an_instance_id_is_never_given_twice(store: Store, tenant: str, deletion: str) -> None:
    # A client that kept the instanceId of a deleted instance must not reach a later instance with it
    # (PATCH or DELETE /temporal/entities/{id}/attrs/{attrId}/{instanceId}), however the history was
    # deleted, the newest instance of the store included.
    await store.create_entity(tenant, station("urn:x:1"))
    await store.modify_entity(tenant, "urn:x:1", setting(TEMP, 21.0, 5))
    given = {
        row.row_id: row.doc
        for attribute in ATTRIBUTES
        for row in await store.read_history(tenant, "urn:x:1", attribute, EVERYTHING, limit=100)
    }
    newest = max(given)

    await HISTORY_DELETIONS[deletion](store, tenant, newest)
    await store.modify_entity(tenant, "urn:x:1", setting(TEMP, 22.0, 10))
    await store.modify_entity(tenant, "urn:x:1", setting(HUMIDITY, 60.0, 11))

    later = [row for attribute in ATTRIBUTES for row in await store.read_history(tenant, "urn:x:1", attribute, EVERYTHING, limit=100)]
    new = [row for row in later if row.doc["value"] in (22.0, 60.0)]
    assert len(new) == 2
    assert all(row.row_id not in given for row in new), [(row.row_id, row.doc) for row in new]

# -- a random sequence of writes and deletions against a model of the temporal view -------------------

Step = tuple[str, ...]
steps = st.one_of(
    st.tuples(st.sampled_from(["set", "batch", "drop", "forget_attribute"]), st.sampled_from(ATTRIBUTES)),
    st.just(("forget_entity",)),
)


@dataclass
class TemporalView:
    """What the temporal API shows of one entity: known or not, and each attribute's instance values."""

    known: bool = True
    history: dict[str, list[Any]] = field(default_factory=dict)

    def listed(self) -> list[str]:
        return sorted(attribute for attribute, instances in self.history.items() if instances)

    def record(self, attribute: str, value: Any) -> None:
        self.known = True
        self.history.setdefault(attribute, []).append(value)


async def apply(store: Store, tenant: str, entity_id: str, step: Step, minute: int, view: TemporalView, current: set[str]) -> None:
    """Run one step on the store and on the model."""
    match step:
        case ("set", attribute):
            await store.modify_entity(tenant, entity_id, setting(attribute, float(minute), minute))
            current.add(attribute)
            view.record(attribute, float(minute))
        case ("batch", attribute):
            neighbour = f"{entity_id}-{minute}"
            await store.batch_modify(
                tenant, [(entity_id, batch_setting(attribute, float(minute), minute)), (neighbour, creating(neighbour))]
            )
            current.add(attribute)
            view.record(attribute, float(minute))
        case ("drop", attribute):
            if attribute in current:
                await store.modify_entity(tenant, entity_id, dropping(attribute, minute))
                current.discard(attribute)
                view.record(attribute, NULL)
        case ("forget_attribute", attribute):
            if view.history.get(attribute):
                await store.delete_history_attribute(tenant, entity_id, attribute, None)
                view.history[attribute] = []
            else:
                with pytest.raises(ResourceNotFound):
                    await store.delete_history_attribute(tenant, entity_id, attribute, None)
        case ("forget_entity",):
            if view.known:
                await store.delete_history_entity(tenant, entity_id)
                view.known, view.history = False, {}
            else:
                with pytest.raises(ResourceNotFound):
                    await store.delete_history_entity(tenant, entity_id)


async def assert_view(store: Store, tenant: str, entity_id: str, view: TemporalView) -> None:
    known = await store.retrieve_history_entity(tenant, entity_id)
    assert (known is not None) == view.known
    if known is not None:
        assert (known.types, known.scope) == ((T,), (SCOPE,))
    assert await store.history_attributes(tenant, entity_id) == view.listed()
    for attribute in ATTRIBUTES:
        assert await values(store, tenant, entity_id, attribute) == view.history.get(attribute, [])
        selected = await store.history_entities(tenant, ids=[entity_id], attrs=[attribute], limit=10)
        assert [e.id for e in selected] == ([entity_id] if attribute in view.listed() else [])


_tenants = itertools.count()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(steps, min_size=1, max_size=12))
@example([("forget_entity",), ("set", TEMP)])
@example([("forget_attribute", TEMP), ("batch", TEMP)])
@example([("forget_entity",), ("drop", HUMIDITY), ("set", HUMIDITY)])
async def test_the_temporal_view_follows_the_model(store: Store, tenant: str, sequence: list[Step]) -> None:
    example_tenant = f"{tenant}-{next(_tenants)}"  # one store for every example: a tenant each
    await store.create_entity(example_tenant, station("urn:x:1"))
    view = TemporalView(history={TEMP: [20.0], HUMIDITY: [50.0]})
    current = set(ATTRIBUTES)
    for minute, step in enumerate(sequence, start=1):
        await apply(store, example_tenant, "urn:x:1", step, minute, view, current)
        await assert_view(store, example_tenant, "urn:x:1", view)
