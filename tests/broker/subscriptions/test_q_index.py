# SPDX-License-Identifier: EUPL-1.2
"""The index on q only leaves out subscriptions that cannot match: for generated subscriptions and entity
changes, every subscription whose filters are true is a candidate, and the matcher sends exactly the
notifications that checking every subscription in full would send. And it does leave out the others."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broker.query import And, AttrPath, Comparison, QNode, Range, Uri, ValueList
from broker.query.ast import EQUAL, ORDERING_OPERATORS, PATTERN_OPERATORS, UNEQUAL, TypeName
from broker.subscriptions.compiled import CompiledSubscription, Selector, _intern, now_s
from broker.subscriptions.index import SubscriptionIndex
from broker.subscriptions.matcher import EntityEvent, Match, Matcher, attribute_changes, entity_matches, fired_triggers
from tests.broker.query.strategies import (
    ATTRIBUTES,
    NS,
    TYPES,
    PATTERNS,
    Text,
    _scalars_in,
    entity_lists,
    expanded_queries,
    literals_from,
    typed_comparisons,
    typed_entity_lists,
)
from tests.broker.subscriptions.fixtures import subscription
from tests.broker.subscriptions.test_index import VOCAB, compiled

INDEX = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TRIGGERS = ["entityCreated", "entityUpdated", "entityDeleted", "attributeCreated", "attributeUpdated", "attributeDeleted"]


@functools.cache
def template() -> CompiledSubscription:
    return asyncio.run(compiled(subscription("http://127.0.0.1:9/n", id="urn:s:template")))


def make_subscription(number: int, q: QNode | None, entity_type: str, triggers: frozenset[str], watched: frozenset[str] | None) -> CompiledSubscription:
    selectors = (Selector(TypeName(entity_type), None, None, None),)
    return dataclasses.replace(
        template(),
        id=f"urn:s:{number}",
        selectors=selectors,
        q=q,
        triggers=triggers,
        watched=watched,
        trigger_key=_intern((triggers, watched)),
        filter_key=_intern((tuple((sel.types, sel.entity_id, sel.id_pattern_text) for sel in selectors), q, None, None)),
    )


NEAR_NUMBERS = [-1, 0, 1, 2, 2.5, 3]
NEAR_TEXTS = [Text("a", NS + "a"), Text("B", NS + "B"), Text("v", NS + "v"), Text(NS + "v", NS + "v"), Text("urn:x:1", "urn:x:1")]
near_scalars = st.one_of(st.sampled_from(NEAR_NUMBERS), st.sampled_from(NEAR_TEXTS), st.booleans())


@st.composite
def plain_comparisons(draw: st.DrawFn, found: tuple[Any, ...]) -> Comparison:
    """A comparison on a top-level attribute with a literal near the entities' values: what the index files."""
    scalars, comparables = literals_from(list(found))
    scalars = st.one_of(near_scalars, near_scalars, near_scalars, scalars)
    comparables = st.one_of(st.sampled_from(NEAR_NUMBERS), st.sampled_from(NEAR_NUMBERS), st.sampled_from(NEAR_TEXTS), comparables)
    path = AttrPath(draw(st.sampled_from(ATTRIBUTES)))
    op = draw(st.sampled_from([EQUAL, EQUAL, UNEQUAL, UNEQUAL, *ORDERING_OPERATORS, *ORDERING_OPERATORS, *PATTERN_OPERATORS]))
    if op in PATTERN_OPERATORS:
        return Comparison(path, op, Text(draw(st.sampled_from(PATTERNS))))
    if op in ORDERING_OPERATORS:
        return Comparison(path, op, draw(comparables))
    shape = draw(st.sampled_from(["scalar", "scalar", "scalar", "range", "list"]))
    if shape == "range":
        return Comparison(path, op, Range(draw(comparables), draw(comparables)))
    if shape == "list":
        return Comparison(path, op, ValueList(tuple(draw(st.lists(scalars, min_size=2, max_size=3)))))
    return Comparison(path, op, draw(scalars))


def indexable_queries(found: tuple[Any, ...]) -> st.SearchStrategy[QNode]:
    return st.one_of(
        plain_comparisons(found),
        st.lists(st.one_of(plain_comparisons(found), expanded_queries(found)), min_size=2, max_size=3).map(
            lambda terms: And(tuple(terms))
        ),
    )


simple_values = st.one_of(
    st.sampled_from([-1, 0, 1, 2, 2.5, 3]),
    st.sampled_from([-1, 0, 1, 2, 2.5, 3]),
    st.sampled_from([True, False, "a", "B", "v"]),
    st.lists(st.sampled_from([0, 1, 2, "a", "B"]), max_size=3),
)
properties = st.builds(lambda value: {"type": "Property", "value": value}, simple_values)
simple_instances = st.one_of(
    properties,
    properties,
    st.builds(lambda value, dataset: {"type": "Property", "value": value, "datasetId": dataset}, simple_values, st.sampled_from(["urn:d:1", "urn:d:2"])),
    st.builds(lambda vocab: {"type": "VocabProperty", "vocab": vocab}, st.sampled_from(["v", NS + "v", NS + "B"])),
    st.builds(lambda obj: {"type": "Relationship", "object": obj}, st.sampled_from(["urn:x:1", "a"])),
)
simple_entity_lists = st.integers(2, 5).flatmap(
    lambda n: st.tuples(
        *(
            st.builds(
                lambda attributes, i=i: {"id": f"urn:ngsi-ld:Thing:{i}", "type": [TYPES[0]], **attributes},
                st.dictionaries(st.sampled_from(ATTRIBUTES), st.lists(simple_instances, min_size=1, max_size=2), min_size=1, max_size=2),
            )
            for i in range(n)
        )
    )
)


@st.composite
def cases(draw: st.DrawFn) -> tuple[tuple[dict[str, Any], ...], list[CompiledSubscription]]:
    """Entities (a change goes from one to the next), and subscriptions whose q literals are mostly values
    those entities hold, so that they often meet."""
    entities = draw(st.one_of(entity_lists, typed_entity_lists, simple_entity_lists, simple_entity_lists, simple_entity_lists))
    found = {repr(value): value for entity in entities for value in _scalars_in(entity)}
    values = tuple(found[key] for key in sorted(found))
    queries = st.one_of(expanded_queries(values), typed_comparisons(values), indexable_queries(values))
    subscriptions = []
    for number in range(draw(st.integers(1, 12))):
        q = draw(st.one_of(st.none(), queries, plain_comparisons(values), plain_comparisons(values), indexable_queries(values)))
        triggers = frozenset(draw(st.lists(st.sampled_from(TRIGGERS), min_size=1, max_size=3)))
        watched = draw(st.one_of(st.none(), st.lists(st.sampled_from(ATTRIBUTES), min_size=1).map(frozenset)))
        entity_type = draw(st.sampled_from([TYPES[0], TYPES[0], TYPES[0], *TYPES]))
        subscriptions.append(make_subscription(number, q, entity_type, triggers, watched))
    return entities, subscriptions


def events(entities: tuple[dict[str, Any], ...]) -> list[EntityEvent]:
    """Creation of the first, updates from each entity to the next (under the first's id), deletion of the last."""
    entity_id = entities[0]["id"]
    states = [{**entity, "id": entity_id} for entity in entities]
    changes = [(None, states[0]), *zip(states, states[1:], strict=False), (states[-1], None)]
    return [EntityEvent("", before, after, "2026-11-26T12:00:00.000Z") for before, after in changes]


def candidate_ids(index: SubscriptionIndex, event: EntityEvent) -> set[str]:
    types = set(event.entity.get("type", ())) | set((event.before or {}).get("type", ()))
    attributes = (event.before or {}).keys() | (event.after or {}).keys()
    groups = index.candidates("", event.entity_id, types, attributes, event.entity)
    return {sub_id for group in groups for sub_id in group.subscriptions}


@given(cases())
@INDEX
def test_every_subscription_whose_filters_are_true_is_a_candidate(
    case: tuple[tuple[dict[str, Any], ...], list[CompiledSubscription]],
) -> None:
    entities, subscriptions = case
    index = SubscriptionIndex()
    for sub in subscriptions:
        index.put(sub)
    for event in events(entities):
        true = {sub.id for sub in subscriptions if entity_matches(sub, event.entity)}
        assert true <= candidate_ids(index, event)


@given(cases())
@INDEX
def test_the_matcher_sends_what_checking_every_subscription_would_send(
    case: tuple[tuple[dict[str, Any], ...], list[CompiledSubscription]],
) -> None:
    entities, subscriptions = case
    index = SubscriptionIndex()
    for sub in subscriptions:
        index.put(sub)
    sent: list[Match] = []
    matcher = Matcher(index, sent.append)
    for event in events(entities):
        sent.clear()
        matcher.match(event)
        changes = attribute_changes(event.before, event.after)
        expected = {
            (sub.id, fired)
            for sub in subscriptions
            if (fired := fired_triggers(sub, event, changes)) and entity_matches(sub, event.entity) and sub.is_live(now_s())
        }
        assert {(match.subscription.id, match.fired) for match in sent} == expected
        assert len(sent) == len(expected)  # and each once


def room(temperature: Any, **more: Any) -> dict[str, Any]:
    entity = {"id": "urn:ngsi-ld:Room:1", "type": [VOCAB + "Room"], VOCAB + "temperature": [{"type": "Property", "value": temperature}]}
    entity.update({VOCAB + name: [{"type": "Property", "value": value}] for name, value in more.items()})
    return entity


async def test_a_write_only_reaches_the_subscriptions_its_values_can_satisfy() -> None:
    index = SubscriptionIndex()
    uri = "http://127.0.0.1:9/n"
    for n in range(100):
        index.put(await compiled(subscription(uri, id=f"urn:s:gt-{n}", q=f"temperature>{n}")))
        index.put(await compiled(subscription(uri, id=f"urn:s:le-{n}", q=f"temperature<={n};humidity")))
        index.put(await compiled(subscription(uri, id=f"urn:s:eq-{n}", q=f'name=="room {n}",other')))
        index.put(await compiled(subscription(uri, id=f"urn:s:range-{n}", q=f"temperature=={n}..{n + 5}")))
    index.put(await compiled(subscription(uri, id="urn:s:ne", q="temperature!=42")))
    index.put(await compiled(subscription(uri, id="urn:s:or", q="temperature>1000|humidity")))

    def ids(entity: dict[str, Any]) -> set[str]:
        groups = index.candidates("", entity["id"], entity["type"], entity.keys(), entity)
        return {sub_id for group in groups for sub_id in group.subscriptions}

    assert ids(room(42)) == (
        {f"urn:s:gt-{n}" for n in range(42)}
        | {f"urn:s:le-{n}" for n in range(42, 100)}
        | {f"urn:s:range-{n}" for n in range(43)}
        | {"urn:s:or"}
    )
    assert ids(room(97.5, humidity=50)) == (
        {f"urn:s:gt-{n}" for n in range(98)}
        | {f"urn:s:le-{n}" for n in range(98, 100)}
        | {f"urn:s:range-{n}" for n in range(98)}
        | {"urn:s:ne", "urn:s:or"}
    )
    assert ids(room(-1, name="room 7")) == {f"urn:s:le-{n}" for n in range(100)} | {"urn:s:eq-7", "urn:s:ne", "urn:s:or"}
    for n in range(100):
        index.remove("", f"urn:s:gt-{n}")
        index.remove("", f"urn:s:le-{n}")
    assert ids(room(42)) == {f"urn:s:range-{n}" for n in range(43)} | {"urn:s:or"}


LITERALS: list[Any] = [
    -1, 0, 1, 2, 2.5, 3, True, False,
    *NEAR_TEXTS,
    Uri("urn:x:1", "urn:x:1"),
    Range(0, 2), Range(1, 1), Range(2.5, 3), Range(Text("a", NS + "a"), Text("v", NS + "v")),
    ValueList((1, Text("a", NS + "a"))), ValueList((True, 2.5)), ValueList((Text("v", NS + "v"), -1)),
]
TARGET_VALUES: list[list[dict[str, Any]]] = [
    [{"type": "Property", "value": value}]
    for value in (-1, 0, 1, 2, 2.5, 3, True, False, "a", "B", "v", "urn:x:1", [0, 2], [1, "a"], [], {NS + "k": 1})
] + [
    [{"type": "Property", "value": 1}, {"type": "Property", "value": 2, "datasetId": "urn:d:1"}],
    [{"type": "Property", "value": 2}, {"type": "Property", "value": 2, "datasetId": "urn:d:1"}],
    [{"type": "VocabProperty", "vocab": NS + "v"}],
    [{"type": "VocabProperty", "vocab": "v"}],
    [{"type": "ListProperty", "valueList": [1, 3]}],
    [{"type": "Relationship", "object": "urn:x:1"}],
    [{"type": "ListRelationship", "objectList": [{"object": "urn:x:1"}]}],
    [{"type": "Property"}],
]


@pytest.mark.parametrize("op", [EQUAL, UNEQUAL, *ORDERING_OPERATORS])
def test_no_comparison_is_left_out_when_it_is_true(op: str) -> None:
    """Every operator with every kind of literal on every kind of target, at and around the constants."""
    subscriptions = [
        make_subscription(n, Comparison(AttrPath(ATTRIBUTES[0]), op, literal), TYPES[0], frozenset(TRIGGERS), None)
        for n, literal in enumerate(LITERALS)
        if op in (EQUAL, UNEQUAL) or not isinstance(literal, (Range, ValueList))
    ]
    index = SubscriptionIndex()
    for sub in subscriptions:
        index.put(sub)
    for instances in TARGET_VALUES:
        entity = {"id": "urn:ngsi-ld:Thing:1", "type": [TYPES[0]], ATTRIBUTES[0]: instances}
        event = EntityEvent("", None, entity, "2026-11-26T12:00:00.000Z")
        true = {sub.id for sub in subscriptions if entity_matches(sub, entity)}
        assert true <= candidate_ids(index, event), (op, instances)


async def test_a_subscription_to_true_is_not_grouped_with_one_to_1() -> None:
    """Regression: Python's True == 1 made `temperature==true` and `temperature==1` one group."""
    index = SubscriptionIndex()
    uri = "http://127.0.0.1:9/n"
    index.put(await compiled(subscription(uri, id="urn:s:true", q="temperature==true")))
    index.put(await compiled(subscription(uri, id="urn:s:one", q="temperature==1")))
    sent: list[Match] = []
    Matcher(index, sent.append).match(EntityEvent("", None, room(1), "2026-11-26T12:00:00.000Z"))
    assert [match.subscription.id for match in sent] == ["urn:s:one"]
