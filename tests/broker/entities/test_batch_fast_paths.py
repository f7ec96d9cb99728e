# SPDX-License-Identifier: EUPL-1.2
"""The batch write path's shortcuts give what the plain operations give.

A batch create stamps a copy of the item (ops.created_entity) instead of a JSON round trip of it:
the result equals new_entity on a deep copy, and the item is left as it was, so that a change run
again (PostgreSQL retries a transaction) or an item naming the same entity again starts afresh.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from broker.entities import batch, normalize
from broker.entities import operations as ops
from broker.errors import BadRequestData
from broker.ld import core_term_map, expand_fragment
from broker.store import sqlite_history
from broker.store import postgres_indexes
from broker.store.base import lists_copied
from broker.store.base import shares_instances as batch_shares_instances
from broker.store.indexes import counter_changes, expiry_ms, index_entries, update_changes
from broker.store.sqlite_writes import EntityWrites
from broker.temporal.instances import STAMPS, _same_unstamped, entity_change, history_records, new_attributes
from tests.broker.entities.strategies import entities, json_values, rich_entities
from tests.broker.entities.strategies import instances as attribute_instances

NOW = "2026-11-26T08:00:00.000Z"
LATER = "2026-11-26T09:00:00.000Z"
EXPIRIES = ["2026-11-27T00:00:00Z", "2026-11-27T00:00:00.000Z", "2026-11-28T12:00:00.5Z", "2030-01-01T00:00:00Z"]


def _expanded(entity: dict[str, Any]) -> dict[str, Any]:
    return expand_fragment(normalize.parse_entity(entity), core_term_map())


@given(rich_entities(), st.booleans())
def test_created_entity_is_new_entity_on_a_copy_and_leaves_its_input(entity: dict[str, Any], stamped: bool) -> None:
    expanded = _expanded(entity)
    if stamped:  # an instance that already carries stamps (a sub-attribute keeps its createdAt)
        expanded = ops.new_entity(expanded, "2026-01-01T00:00:00.000Z")
    before = copy.deepcopy(expanded)
    created = ops.created_entity(expanded, NOW)
    assert expanded == before
    assert created == ops.new_entity(copy.deepcopy(before), NOW)
    assert list(created) == list(ops.new_entity(copy.deepcopy(before), NOW))  # the same member order


@given(rich_entities())
def test_a_create_change_run_twice_gives_the_same_entity(entity: dict[str, Any]) -> None:
    expanded = _expanded(entity)
    for change in (batch.create(expanded, NOW), batch.upsert(expanded, NOW, replace=True)):
        first, result = change(None)
        second, _ = change(None)
        assert result == batch.CREATED and first == second and first is not second
        assert expanded == _expanded(entity)


@given(rich_entities())
def test_counter_changes_of_a_creation_count_every_index_entry_once(entity: dict[str, Any]) -> None:
    created = ops.new_entity(_expanded(entity), NOW)
    entries = index_entries(created)
    changes = counter_changes(None, created)
    assert changes.types == dict.fromkeys(entries.types, 1)
    assert changes.type_attributes == dict.fromkeys(entries.type_attributes, 1)
    assert changes.attributes == dict.fromkeys(entries.attributes, 1)
    assert counter_changes(created, None).types == dict.fromkeys(entries.types, -1)


bodies = st.one_of(
    entities(),
    entities().flatmap(lambda e: st.fixed_dictionaries({**{k: st.just(v) for k, v in e.items()}, "type": json_values})),
    entities().flatmap(lambda e: st.fixed_dictionaries({k: st.just(v) for k, v in e.items()}, optional={"x y": json_values, "@v": json_values, "scope": json_values})),
    st.dictionaries(st.sampled_from(["id", "type", "value", "name", "bad name", "scope"]), json_values, max_size=4),
)


def _outcome(parse: Callable[[], dict[str, Any]]) -> tuple[str, Any]:
    try:
        result = parse()
    except BadRequestData as error:
        return "error", error.detail
    return "ok", (result, list(result))


@given(bodies)
def test_parse_entity_is_id_then_type_then_parse_fragment(body: dict[str, Any]) -> None:
    """parse_entity parses "type" once (not again inside the fragment walk): the same entity, the same errors."""

    def composed() -> dict[str, Any]:
        if "id" not in body:
            raise BadRequestData("the entity has no id")
        entity: dict[str, Any] = {"id": normalize.check_entity_id(body["id"])}
        if "type" not in body:
            raise BadRequestData("the entity has no type")
        entity["type"] = normalize.parse_types(body["type"])
        entity.update(normalize.parse_fragment(body, allow_null=False, entity_id=None))
        return entity

    assert _outcome(lambda: normalize.parse_entity(body)) == _outcome(composed)


@given(rich_entities(), st.one_of(st.none(), st.just("/Hamm/Mitte"), st.lists(st.just("/Hamm/Uentrop"), min_size=1, max_size=2)))
def test_history_rows_of_a_creation_are_those_of_the_history_records(entity: dict[str, Any], scope: Any) -> None:
    created = ops.new_entity(_expanded(entity), NOW)
    if scope is not None:
        created["scope"] = scope
    pending = sqlite_history.PendingHistory()
    sqlite_history.record_write(None, "t", None, created, pending)  # type: ignore[arg-type]  # no flush: no connection
    records = history_records(None, created)
    assert pending.instances == [sqlite_history.row_of("t", record) for record in records]
    change = entity_change(None, created)
    assert pending.entities == [sqlite_history.entity_row("t", change, new_attributes(None, records))]  # type: ignore[arg-type]
    assert pending.ensured == []  # a creation's attributes are in its entity row


def _unstamped(instance: dict[str, Any]) -> dict[str, Any]:
    """The reference: the instance without its stamps, in every nested object."""
    return {key: _unstamped(m) if isinstance(m, dict) else m for key, m in instance.items() if key not in STAMPS}


stamp_or_name = st.sampled_from(["createdAt", "modifiedAt", "instanceId", "value", "type", "observedAt", "sub"])
leaves = st.one_of(json_values, st.sampled_from([NOW, "2026-01-01T00:00:00.000Z"]))
objects = st.dictionaries(stamp_or_name, leaves, max_size=4)
nested = st.one_of(leaves, objects, st.dictionaries(stamp_or_name, st.one_of(leaves, objects), max_size=4))


@given(st.dictionaries(stamp_or_name, nested, max_size=5), st.dictionaries(stamp_or_name, nested, max_size=5))
def test_same_unstamped_is_equality_without_stamps(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert _same_unstamped(a, b) == (_unstamped(a) == _unstamped(b))
    assert _same_unstamped(a, a) and _same_unstamped(a, _unstamped(a))


@given(entities(), entities())
def test_replace_entity_leaves_the_replacement_as_it_was(stored: dict[str, Any], replacement: dict[str, Any]) -> None:
    entity = ops.new_entity(_expanded(stored), "2026-01-01T00:00:00.000Z")
    expanded = _expanded({**replacement, "id": stored["id"]})
    pristine = copy.deepcopy(expanded)
    reference = copy.deepcopy(entity)
    ops.replace_entity(entity, expanded, NOW)
    assert expanded == pristine
    # the stamping the operation did before, in place on a copy of the replacement
    created_at = reference["createdAt"]
    for key in [key for key in reference if key not in ("id", "createdAt")]:
        del reference[key]
    reference["type"] = pristine["type"]
    for iri, instances in pristine.items():
        if iri not in ("id", "type", "scope"):
            reference[iri] = [ops.stamp_instance(instance, NOW) for instance in instances]
    reference["createdAt"], reference["modifiedAt"] = created_at, NOW
    assert entity == reference and list(entity) == list(reference)


@given(st.lists(rich_entities(), min_size=1, max_size=4))
def test_entity_writes_count_creations_as_counter_changes_does(items: list[dict[str, Any]]) -> None:
    writes = EntityWrites("t")
    expected_types: Counter[str] = Counter()
    expected_type_attributes: Counter[tuple[str, str, str]] = Counter()
    expected_attributes: Counter[tuple[str, str]] = Counter()
    added = []
    for number, item in enumerate(items):
        created = ops.new_entity(_expanded({**item, "id": f"urn:x:{number}"}), NOW)
        writes.add(None, created)
        changes = counter_changes(None, created)
        expected_types.update(changes.types)
        expected_type_attributes.update(changes.type_attributes)
        expected_attributes.update(changes.attributes)
        added.extend(("t", entity_type, created["id"]) for entity_type in changes.types)
    assert writes.type_counts == expected_types
    assert writes.type_attribute_counts == expected_type_attributes
    assert writes.attribute_counts == expected_attributes
    assert sorted(writes.members_added) == sorted(added) and not writes.members_removed


@given(rich_entities(), st.data())
def test_an_update_changes_index_and_counters_as_the_full_comparison_does(entity: dict[str, Any], data: st.DataObject) -> None:
    """Both stores skip the spatial index, the counters and the expiry index for the attributes an update
    left alone (indexes.update_changes); the entries, counts and expiry are those of the full comparison."""
    expiries = st.sampled_from(EXPIRIES)
    if data.draw(st.booleans()):
        entity = {**entity, "expiresAt": data.draw(expiries)}
    before = ops.new_entity(_expanded(entity), NOW)
    fragment: dict[str, Any] = {"id": entity["id"], "type": data.draw(st.sampled_from([entity["type"], "Vehicle"]))}
    if data.draw(st.booleans()):
        fragment["expiresAt"] = data.draw(expiries)
    for name in [name for name in entity if name not in ("id", "type", "scope", "expiresAt")] + ["extra"]:
        choice = data.draw(st.sampled_from(["keep", "same", "new"]))
        if choice == "same" and name in entity:  # the same attribute again: a new stamp, the same value
            fragment[name] = entity[name]
        elif choice == "new":
            fragment[name] = data.draw(attribute_instances())
            if isinstance(fragment[name], dict) and "type" in fragment[name] and data.draw(st.booleans()):
                fragment[name] = {**fragment[name], "expiresAt": data.draw(expiries)}
    after, _ = batch.upsert(_expanded(fragment), LATER, replace=data.draw(st.booleans()))(copy.deepcopy(before))
    assert after is not None
    fast = EntityWrites("")
    fast.add(before, after)
    full = EntityWrites("")
    full.index_geometries(before["id"], before, after)
    assert (fast.geo_cleared, fast.geo_boxes) == (full.geo_cleared, full.geo_boxes)
    changes = counter_changes(before, after)
    assert dict(fast.type_counts) == changes.types
    assert dict(fast.type_attribute_counts) == changes.type_attributes
    assert dict(fast.attribute_counts) == changes.attributes
    # The same shortcut in the PostgreSQL store's terms (postgres_indexes): no geometry row or counter to write.
    geometry, counters, expiry = update_changes(before, after)
    if not geometry:
        assert postgres_indexes._geometries(before) == postgres_indexes._geometries(after)
    if not counters:
        assert not changes
    if not expiry:
        assert expiry_ms(before) == expiry_ms(after)
    changed_expiry = {after["id"]: expiry_ms(after)} if expiry_ms(after) != expiry_ms(before) else {}
    assert fast.expirations == changed_expiry


SHARING = ["replace", "update", "batch update", "noOverwrite"]


def _sharing_change(how: str, expanded: dict[str, Any]) -> Any:
    return {
        "replace": lambda: batch.upsert(expanded, NOW, replace=True),
        "update": lambda: batch.upsert(expanded, NOW, replace=False),
        "batch update": lambda: batch.update(expanded, NOW, no_overwrite=False),
        "noOverwrite": lambda: batch.update(expanded, NOW, no_overwrite=True),
    }[how]()


@given(entities(), entities(), st.sampled_from(SHARING))
def test_a_change_that_shares_instances_leaves_them_as_they_were(
    stored: dict[str, Any], item: dict[str, Any], how: str
) -> None:
    """Upsert (replace or update) and batch update never change an instance in place: on a copy of the
    stored entity's dict and lists only, they give what they give on a deep copy, and the stored entity
    (the store's `before`, whose instances the copy shares) is left as it was."""
    entity = ops.new_entity(_expanded(stored), "2026-01-01T00:00:00.000Z")
    expanded = _expanded({**item, "id": stored["id"]})
    change = _sharing_change(how, expanded)
    assert batch_shares_instances(change)
    pristine = copy.deepcopy(entity)
    shared_after, shared_result = change(lists_copied(entity))
    deep_after, deep_result = change(copy.deepcopy(entity))
    assert entity == pristine
    assert shared_after == deep_after and list(shared_after) == list(deep_after)
    assert shared_result == deep_result


@given(entities(), entities(), entities(), st.sampled_from(SHARING), st.sampled_from(SHARING))
def test_two_changes_of_one_entity_in_a_batch_share_instances_safely(
    stored: dict[str, Any], first: dict[str, Any], second: dict[str, Any], how_first: str, how_second: str
) -> None:
    """An entity changed twice in one batch (PostgreSQL's batch_modify hands the second change a copy of
    the first one's result, its instances shared): both results are those of deep copies, and neither
    the stored entity nor the first result (the second outcome's `before`) changes."""
    entity = ops.new_entity(_expanded(stored), "2026-01-01T00:00:00.000Z")
    one = _sharing_change(how_first, _expanded({**first, "id": stored["id"]}))
    two = _sharing_change(how_second, _expanded({**second, "id": stored["id"]}))
    pristine = copy.deepcopy(entity)
    shared_middle, _ = one(lists_copied(entity))
    middle = copy.deepcopy(shared_middle)
    shared_after, shared_result = two(lists_copied(shared_middle))
    deep_middle, _ = one(copy.deepcopy(entity))
    deep_after, deep_result = two(copy.deepcopy(deep_middle))
    assert entity == pristine and shared_middle == middle
    assert shared_after == deep_after and shared_result == deep_result


def test_only_the_changes_that_replace_instances_share_them() -> None:
    fragment = _expanded({"id": "urn:ngsi-ld:T:1", "type": "T", "a": {"type": "Property", "value": 1}})
    assert not batch_shares_instances(batch.merge(fragment, NOW))
    assert not batch_shares_instances(batch.create(fragment, NOW))
    assert not batch_shares_instances(batch.delete("urn:ngsi-ld:T:1"))
