# SPDX-License-Identifier: EUPL-1.2
"""normalize.parse_expanded_entity (one walk) agrees with parse_entity then expand_fragment (two walks).

The batch operations parse and expand each item in one walk. For any body, valid or not, and for
@contexts with keyword aliases and with two terms of one IRI, the one walk gives the same expanded
entity (members in the same order) or the same first error as the two walks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from broker.entities import normalize
from broker.errors import BadRequestData
from broker.ld import TermMap, compile_context, core_term_map, expand_fragment
from tests.broker.entities.strategies import entities, instances, json_values, names

TERM_MAPS = [
    core_term_map(),
    # "kind" aliases @type, "ident" @id; "speed" and "ex:speed" are one IRI; "temp" and "temperature" too.
    compile_context(
        {
            "ex": "http://example.org/",
            "speed": "http://example.org/speed",
            "kind": "@type",
            "ident": "@id",
            "temp": "https://smartdatamodels.org/dataModel.Weather/temperature",
            "temperature": "https://smartdatamodels.org/dataModel.Weather/temperature",
        }
    ),
]
tricky_names = st.sampled_from(["speed", "ex:speed", "kind", "ident", "temp", "temperature", "@type", "a b", "", "observedAt"])
member_names = st.one_of(names, tricky_names)
tricky_values = st.recursive(
    st.one_of(json_values, st.just("urn:ngsi-ld:null"), st.none()),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.one_of(member_names, st.just("@value")), children, max_size=3)
    ),
    max_leaves=8,
)
tricky_instances = st.one_of(
    instances(),
    tricky_values,
    st.dictionaries(
        st.one_of(member_names, st.sampled_from(["type", "value", "object", "datasetId", "unitCode", "vocab", "objectType"])),
        st.one_of(tricky_values, instances(1), st.sampled_from(["Property", "Relationship", "urn:x:1", "Point"])),
        max_size=4,
    ),
)
bodies = st.one_of(
    entities(),
    st.builds(
        lambda entity, extra: {**entity, **extra},
        entities(),
        st.dictionaries(member_names, st.one_of(tricky_instances, st.lists(tricky_instances, max_size=2)), max_size=3),
    ),
    st.dictionaries(st.sampled_from(["id", "type", "scope", "name", "kind", "@context"]), tricky_values, max_size=4),
    # several tricky attributes: errors of the parse and of the expansion in one body
    st.builds(
        lambda attributes: {"id": "urn:x:1", "type": "T", **attributes},
        st.dictionaries(
            st.one_of(tricky_names, names),
            st.one_of(tricky_instances, st.lists(tricky_instances, max_size=2)),
            min_size=2,
            max_size=5,
        ),
    ),
)


def _outcome(parse: Callable[[], dict[str, Any]]) -> tuple[str, Any]:
    try:
        result = parse()
    except BadRequestData as error:
        return "error", error.detail
    return "ok", (result, list(result), [list(v[0]) if isinstance(v, list) and v and isinstance(v[0], dict) else None for v in result.values()])


def _agree(body: Any, term_map: TermMap, require_type: bool) -> None:
    one_walk = _outcome(lambda: normalize.parse_expanded_entity(body, term_map, require_type=require_type))
    two_walks = _outcome(lambda: expand_fragment(normalize.parse_entity(body, require_type=require_type), term_map))
    assert one_walk == two_walks


@given(bodies, st.sampled_from(range(len(TERM_MAPS))), st.booleans())
@example({"id": "urn:x:1", "type": "T", "speed": 1, "ex:speed": 2}, 1, True)  # two names of one IRI
@example({"id": "urn:x:1", "type": "T", "kind": 1, "a b": 2}, 1, True)  # the parse error wins over the alias
@example({"id": "urn:x:1", "type": "T", "p": {"value": 1, "temp": {"value": 2}, "temperature": {"value": 3}}}, 1, True)
@example({"id": "urn:x:1", "type": "T", "p": {"value": {"speed": 1, "ex:speed": 2}}}, 1, True)  # in a value
@example({"id": "urn:x:1", "type": "T", "p": {"value": 1, "kind": {"value": 2}}, "q": {"value": None}}, 1, True)
def test_one_walk_gives_the_two_walks_entity_or_first_error(body: Any, term_map_index: int, require_type: bool) -> None:
    _agree(body, TERM_MAPS[term_map_index], require_type)


def test_very_long_names_are_checked_and_expanded_but_not_kept() -> None:
    """A client's megabyte-long attribute names must not fill the caches of valid names and expanded terms."""
    term_map = compile_context({"ex": "http://example.org/"})
    long_name = "a" * 100_000
    normalize._is_valid_name.cache_clear()
    entity = normalize.parse_expanded_entity({"id": "urn:x:1", "type": "T", long_name: 1}, term_map)
    assert list(entity)[-1].endswith(long_name)  # expanded as any other name
    assert normalize._is_valid_name.cache_info().currsize == 1  # "T" only
    assert term_map.expand_term(long_name).endswith(long_name)
    assert long_name not in term_map._expanded
