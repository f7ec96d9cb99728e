# SPDX-License-Identifier: EUPL-1.2
"""The batch write path's shortcuts give what the plain operations give.

A batch create stamps a copy of the item (ops.created_entity) instead of a JSON round trip of it:
the result equals new_entity on a deep copy, and the item is left as it was, so that a change run
again (PostgreSQL retries a transaction) or an item naming the same entity again starts afresh.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from broker.entities import batch, normalize
from broker.entities import operations as ops
from broker.ld import core_term_map, expand_fragment
from broker.store.indexes import counter_changes, index_entries
from tests.broker.entities.strategies import entities

NOW = "2026-11-26T08:00:00.000Z"


def _expanded(entity: dict[str, Any]) -> dict[str, Any]:
    return expand_fragment(normalize.parse_entity(entity), core_term_map())


@given(entities(), st.booleans())
def test_created_entity_is_new_entity_on_a_copy_and_leaves_its_input(entity: dict[str, Any], stamped: bool) -> None:
    expanded = _expanded(entity)
    if stamped:  # an instance that already carries stamps (a sub-attribute keeps its createdAt)
        expanded = ops.new_entity(expanded, "2026-01-01T00:00:00.000Z")
    before = copy.deepcopy(expanded)
    created = ops.created_entity(expanded, NOW)
    assert expanded == before
    assert created == ops.new_entity(copy.deepcopy(before), NOW)
    assert list(created) == list(ops.new_entity(copy.deepcopy(before), NOW))  # the same member order


@given(entities())
def test_a_create_change_run_twice_gives_the_same_entity(entity: dict[str, Any]) -> None:
    expanded = _expanded(entity)
    for change in (batch.create(expanded, NOW), batch.upsert(expanded, NOW, replace=True)):
        first, result = change(None)
        second, _ = change(None)
        assert result == batch.CREATED and first == second and first is not second
        assert expanded == _expanded(entity)


@given(entities())
def test_counter_changes_of_a_creation_count_every_index_entry_once(entity: dict[str, Any]) -> None:
    created = ops.new_entity(_expanded(entity), NOW)
    entries = index_entries(created)
    changes = counter_changes(None, created)
    assert changes.types == dict.fromkeys(entries.types, 1)
    assert changes.type_attributes == dict.fromkeys(entries.type_attributes, 1)
    assert changes.attributes == dict.fromkeys(entries.attributes, 1)
    assert counter_changes(created, None).types == dict.fromkeys(entries.types, -1)
