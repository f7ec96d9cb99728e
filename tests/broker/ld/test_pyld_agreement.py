# SPDX-License-Identifier: EUPL-1.2
"""Generated user contexts and entities: our names agree with pyld's, and compaction inverts expansion.

The generated contexts stay inside what the broker means to agree on: no user @vocab (the broker
lets it replace the core's, pyld does not; see test_context.py), no aliases of core IRIs, no term
redefining a core term, and no containers or types that change how pyld reads an attribute
instance (@json, @list, @language, @index, @graph, @type, @id containers).
"""

from __future__ import annotations

from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from broker.ld import (
    DEFAULT_CORE_CONTEXT_URL,
    ENTITY_MEMBERS,
    INSTANCE_MEMBERS,
    compact_entity,
    compile_context,
    core_term_map,
    expand_entity,
)
from tests.broker.ld.ld_reference import (
    our_compacted_names,
    our_expanded_names,
    pyld_compact,
    pyld_compacted_names,
    pyld_expand,
    pyld_expanded_names,
)

CORE_URLS = [
    DEFAULT_CORE_CONTEXT_URL,
    "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.9.jsonld",
    "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.6.jsonld",
]
_RESERVED = set(core_term_map(DEFAULT_CORE_CONTEXT_URL).terms) | set(core_term_map(CORE_URLS[1]).terms)
_RESERVED |= (
    set(core_term_map(CORE_URLS[2]).terms) | ENTITY_MEMBERS | INSTANCE_MEMBERS | {"urn", "http", "https", "ex", "ns"}
)

WORDS = st.sampled_from(["speed", "level", "a", "b", "colour", "fill", "Zone", "Sensor", "x1", "hammPark"])
NAMES = st.from_regex(r"[a-z][A-Za-z0-9]{0,6}", fullmatch=True).filter(lambda name: name not in _RESERVED)
PREFIX_IRIS = st.sampled_from(["http://example.org/ns1/", "https://example.org/ns2#", "urn:example:ns3:"])
ABSOLUTE_IRIS = st.builds(lambda base, word: base + word, PREFIX_IRIS, WORDS)


@st.composite
def user_contexts(draw: st.DrawFn) -> dict[str, Any]:
    """Prefixes p0.. (some only usable as prefixes with @prefix: true), then terms mapping to IRIs."""
    context: dict[str, Any] = {}
    prefixes = []
    for index in range(draw(st.integers(0, 3))):
        prefix, iri = f"p{index}", draw(PREFIX_IRIS)
        kind = draw(st.sampled_from(["simple", "explicit", "not-a-prefix"]))
        context[prefix] = (
            iri if kind == "simple" else {"@id": iri, "@prefix": True} if kind == "explicit" else {"@id": iri}
        )
        prefixes.append(prefix)
    for term in draw(st.lists(NAMES, max_size=6, unique=True)):
        if term in context:
            continue
        choices = [ABSOLUTE_IRIS]
        if prefixes:
            choices.append(st.builds(lambda p, w: f"{p}:{w}", st.sampled_from(prefixes), WORDS))
        defined = [name for name in context if name not in prefixes]
        if defined:  # a term naming an earlier term takes its IRI
            choices.append(st.sampled_from(defined))
        iri = draw(st.one_of(choices))
        shape = draw(st.sampled_from(["string", "object", "object"]))
        if shape == "string":
            context[term] = iri
        else:
            definition: dict[str, Any] = {"@id": iri}
            type_mapping = draw(st.sampled_from([None, "@id", "@vocab", "http://www.w3.org/2001/XMLSchema#string"]))
            if type_mapping:
                definition["@type"] = type_mapping
            if draw(st.booleans()):
                definition["@container"] = "@set"
            context[term] = definition
    # Put definitions in a random order: prefixes may come after the terms that use them.
    items = list(context.items())
    return dict(draw(st.permutations(items)))


def _names(context: dict[str, Any]) -> st.SearchStrategy[str]:
    choices: list[st.SearchStrategy[str]] = [NAMES, ABSOLUTE_IRIS.filter(lambda iri: not iri.startswith("urn:example"))]
    terms = [term for term in context if not term.startswith("p")]
    if terms:
        choices.append(st.sampled_from(terms))
    prefixes = [term for term in context if term.startswith("p")]
    if prefixes:
        choices.append(st.builds(lambda p, w: f"{p}:{w}", st.sampled_from(prefixes), WORDS))
    return st.one_of(choices)


@st.composite
def instances(draw: st.DrawFn, names: st.SearchStrategy[str], depth: int) -> dict[str, Any]:
    instance: dict[str, Any] = draw(
        st.sampled_from(
            [
                {"type": "Property", "value": 7},
                {"type": "Property", "value": "text", "unitCode": "CEL"},
                {"type": "Relationship", "object": "urn:ngsi-ld:Thing:1"},
                {"type": "Property", "value": 1.5, "observedAt": "2024-05-04T12:00:00Z"},
            ]
        )
    )
    instance = dict(instance)
    if depth > 0:
        for name in draw(st.lists(names, max_size=2, unique=True)):
            instance[name] = draw(instances(names, depth - 1))
    return instance


@st.composite
def entities_with_contexts(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any], str]:
    context = draw(user_contexts())
    names = _names(context)
    entity: dict[str, Any] = {"id": "urn:ngsi-ld:Thing:" + draw(WORDS)}
    types = draw(st.lists(names, min_size=1, max_size=2, unique=True))
    entity["type"] = types[0] if len(types) == 1 else types
    for name in draw(st.lists(names, max_size=4, unique=True)):
        if draw(st.booleans()):
            entity[name] = draw(instances(names, depth=2))
        else:
            entity[name] = [
                dict(draw(instances(names, depth=1)), datasetId="urn:ngsi-ld:Dataset:a"),
                dict(draw(instances(names, depth=0)), datasetId="urn:ngsi-ld:Dataset:b"),
            ]
    return entity, context, draw(st.sampled_from(CORE_URLS))


def _distinct_names(entity: dict[str, Any], term_map: Any) -> bool:
    """JSON-LD merges two names for one IRI; the broker rejects them, so leave such entities out."""

    def distinct(members: dict[str, Any], reserved: frozenset[str]) -> bool:
        names = [name for name in members if name not in reserved]
        if len({term_map.expand_term(name) for name in names}) != len(names):
            return False
        return all(
            distinct(instance, INSTANCE_MEMBERS)
            for name in names
            for instance in (members[name] if isinstance(members[name], list) else [members[name]])
        )

    return distinct(entity, ENTITY_MEMBERS)


@settings(max_examples=50, deadline=None)
@given(entities_with_contexts())
def test_expanded_and_compacted_names_agree_with_pyld(generated: tuple[dict[str, Any], dict[str, Any], str]) -> None:
    entity, user_context, core_url = generated
    context = [user_context, core_url]
    term_map = compile_context(context)
    assume(_distinct_names(entity, term_map))

    node = pyld_expand(entity, context)
    ours = our_expanded_names(expand_entity(entity, term_map))
    assert ours == pyld_expanded_names(node)
    assert our_compacted_names(term_map, *ours) == pyld_compacted_names(pyld_compact(node, context))


@settings(max_examples=50, deadline=None)
@given(entities_with_contexts())
def test_compaction_inverts_expansion(generated: tuple[dict[str, Any], dict[str, Any], str]) -> None:
    entity, user_context, core_url = generated
    term_map = compile_context([user_context, core_url])
    assume(_distinct_names(entity, term_map))

    expanded_entity = expand_entity(entity, term_map)
    compacted_entity = compact_entity(expanded_entity, term_map)
    # A name may come back in its preferred spelling (a term instead of a compact IRI): same IRIs.
    assert expand_entity(compacted_entity, term_map) == expanded_entity
    assert compact_entity(expand_entity(compacted_entity, term_map), term_map) == compacted_entity
