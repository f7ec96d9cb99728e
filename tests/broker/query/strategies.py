# SPDX-License-Identifier: EUPL-1.2
"""Hypothesis strategies: query trees as a client writes them (for round trips) and expanded ones over a small
vocabulary, with expanded entities built from the same vocabulary so that queries and entities often meet."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hypothesis import strategies as st

from broker.query import (
    And,
    AttrPath,
    Comparison,
    Date,
    DateTime,
    Exists,
    NotExists,
    Or,
    QNode,
    Range,
    Scalar,
    ScopeAnd,
    ScopePattern,
    ScopeQuery,
    Text,
    Time,
    TypeAnd,
    TypeExpr,
    TypeName,
    TypeOr,
    Uri,
    ValueList,
)
from broker.query.ast import CORE_MEMBERS, EQUAL, OPERATORS, ORDERING_OPERATORS, PATTERN_OPERATORS, UNEQUAL
from broker.query.values import normalize_date, normalize_datetime, normalize_time

# --- trees as written ----------------------------------------------------------------------------

names = st.from_regex(r"[A-Za-zÄÖÜäöüß][A-Za-z0-9_äöü]{0,7}", fullmatch=True)
attribute_names = st.one_of(names, st.builds(lambda p, n: f"{p}:{n}", names, names))
compound_keys = st.one_of(names, st.just("*"), st.sampled_from(["de-DE", "en", "x_1"]))
paths = st.builds(
    lambda attribute, subs, core, compound: AttrPath(
        attribute, tuple(subs) + ((core,) if core else ()), () if core else tuple(compound)
    ),
    attribute_names,
    st.lists(names.filter(lambda n: n not in CORE_MEMBERS), max_size=2),
    st.one_of(st.none(), st.sampled_from(sorted(CORE_MEMBERS))),
    st.lists(compound_keys, max_size=2),
)
datetime_literals = st.builds(
    lambda moment, fraction, zone: DateTime(moment.strftime("%Y-%m-%dT%H:%M:%S") + fraction + zone),
    st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2200, 1, 1)),
    st.sampled_from(["", ".5", ".123456789"]),
    st.sampled_from(["", "Z", "+01:00", "-05:30"]),
)
date_literals = st.dates().map(lambda d: Date(f"{d.year:04d}-{d:%m-%d}"))
time_literals = st.times().map(lambda t: Time(t.strftime("%H:%M:%S")))
numbers = st.one_of(st.integers(-(2**63) + 1, 2**63 - 1), st.floats(allow_nan=False, allow_infinity=False))
texts = st.text(max_size=12).map(Text)
uris = st.from_regex(
    r"(urn:ngsi-ld:[A-Za-z]+:[A-Za-z0-9-]{1,8}|https://example\.org/[a-z/#]{1,8})", fullmatch=True
).map(Uri)
comparables: st.SearchStrategy[Scalar] = st.one_of(numbers, texts, datetime_literals, date_literals, time_literals)
scalars: st.SearchStrategy[Scalar] = st.one_of(comparables, st.booleans(), uris)
patterns = st.sampled_from(["^Merc", "(?i)bahnhof", "a|b", "[0-9]+", r"\d{2}:\d{2}", "x;y", '"quoted"']).map(Text)


@st.composite
def ranges(draw: st.DrawFn) -> Range:
    low = draw(comparables)
    if isinstance(low, (int, float)):
        return Range(low, draw(numbers))
    same: dict[type, st.SearchStrategy[Any]] = {
        Text: texts,
        DateTime: datetime_literals,
        Date: date_literals,
        Time: time_literals,
    }
    return Range(low, draw(same[type(low)]))


@st.composite
def comparisons(draw: st.DrawFn) -> Comparison:
    path = draw(paths)
    op = draw(st.sampled_from(OPERATORS))
    if op in PATTERN_OPERATORS:
        return Comparison(path, op, draw(patterns))
    if op in ORDERING_OPERATORS:
        return Comparison(path, op, draw(comparables))
    value = draw(
        st.one_of(scalars, ranges(), st.lists(scalars, min_size=2, max_size=4).map(lambda v: ValueList(tuple(v))))
    )
    return Comparison(path, op, value)


def q_trees(leaves: st.SearchStrategy[QNode]) -> st.SearchStrategy[QNode]:
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, min_size=2, max_size=3).map(lambda terms: And(tuple(terms))),
            st.lists(children, min_size=2, max_size=3).map(lambda terms: Or(tuple(terms))),
        ),
        max_leaves=8,
    )


written_q = q_trees(st.one_of(comparisons(), paths.map(Exists), paths.map(NotExists)))

type_names = st.one_of(
    names,
    st.builds(lambda p, n: f"{p}:{n}", names, names),
    st.just("https://smartdatamodels.org/dataModel.Parking/ParkingSpot"),
).map(TypeName)
type_selections: st.SearchStrategy[TypeExpr] = st.recursive(
    type_names,
    lambda children: st.one_of(
        st.lists(children, min_size=2, max_size=3).map(lambda terms: TypeAnd(tuple(terms))),
        st.lists(children, min_size=2, max_size=3).map(lambda terms: TypeOr(tuple(terms))),
    ),
    max_leaves=6,
)

scope_levels = st.one_of(st.from_regex(r"[A-Za-z0-9_äöü]{1,6}", fullmatch=True), st.just("+"))
scope_patterns = st.one_of(
    st.builds(ScopePattern, st.lists(scope_levels, min_size=1, max_size=3).map(tuple), st.booleans()),
    st.just(ScopePattern((), descendants=True)),
)
scope_queries = st.lists(
    st.one_of(scope_patterns, st.lists(scope_patterns, min_size=1, max_size=3).map(lambda p: ScopeAnd(tuple(p)))),
    min_size=1,
    max_size=3,
).map(lambda alternatives: ScopeQuery(tuple(alternatives)))


# --- expanded trees and entities over one small vocabulary ----------------------------------------

NS = "https://x.test/"
ATTRIBUTES = [NS + "a", NS + "b"]
SUB_ATTRIBUTE = NS + "s"
KEYS = ["k", "en"]  # compound keys as written; expanded they are NS + key
TYPES = [NS + "T", NS + "U", NS + "V"]
STRINGS = [  # few, so that entity values and literals meet; some look like dateTimes, dates and times, some almost do
    "a",
    "B",
    "urn:x:1",
    NS + "v",
    "v",
    "2026-11-26T08:00:00Z",
    "2026-11-26T09:00:00+01:00",
    "2026-11-26",
    "08:00:00",
    "2026-02-30",
]
SCOPES = ["/H", "/H/M", "/H/M/B", "H/U", "/V", "/H//M", "urn:ngsi-ld:null"]
entity_scalars = st.one_of(
    st.sampled_from([0, 1, 2, -1, 10]),
    st.sampled_from([0.5, 1.0, 2.5, -1.5]),
    st.booleans(),
    st.none(),
    st.sampled_from(STRINGS),
)
entity_values = st.one_of(
    entity_scalars,
    entity_scalars,
    st.recursive(
        entity_scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=3),
            st.dictionaries(st.sampled_from([NS + k for k in KEYS] + KEYS), children, max_size=2),
        ),
        max_leaves=5,
    ),
)
VALUE_MEMBER = {
    "Property": "value",
    "GeoProperty": "value",
    "Relationship": "object",
    "ListRelationship": "objectList",
    "VocabProperty": "vocab",
    "ListProperty": "valueList",
    "LanguageProperty": "languageMap",
    "JsonProperty": "json",
}
language_maps = st.dictionaries(
    st.sampled_from(["en", "de"]),
    st.one_of(st.sampled_from(STRINGS), st.lists(st.sampled_from(STRINGS), max_size=2)),
    max_size=2,
)
object_lists = st.lists(
    st.one_of(
        st.sampled_from(["urn:x:1", "urn:x:2"]),
        st.sampled_from(["urn:x:1", NS + "v"]).map(lambda o: {"object": o}),
        st.just({"other": 1}),
    ),
    max_size=3,
)


@st.composite
def instances(draw: st.DrawFn, depth: int = 0) -> dict[str, Any]:
    kind = draw(st.sampled_from(["Property", "Property", "Property", *VALUE_MEMBER, "Odd", None]))
    instance: dict[str, Any] = {} if kind is None else {"type": kind}
    member = VALUE_MEMBER.get(kind or "", "value")
    if draw(st.integers(0, 9)) > 0:  # now and then, no value member at all
        if member == "languageMap":
            instance[member] = draw(st.one_of(language_maps, entity_values))
        elif member == "objectList":
            instance[member] = draw(st.one_of(object_lists, entity_values))
        elif member == "vocab":
            instance[member] = draw(st.one_of(st.sampled_from([NS + "v", "v", NS + "w"]), entity_values))
        else:
            instance[member] = draw(entity_values)
    for core in ("observedAt", "unitCode", "objectType", "datasetId"):
        if draw(st.integers(0, 3)) == 0:
            instance[core] = draw(st.one_of(st.sampled_from(STRINGS), entity_scalars))
    if depth == 0 and draw(st.integers(0, 3)) == 0:
        instance[SUB_ATTRIBUTE] = draw(instances(depth=1))
    return instance


@st.composite
def expanded_entities(draw: st.DrawFn, index: int) -> dict[str, Any]:
    entity: dict[str, Any] = {
        "id": f"urn:ngsi-ld:Thing:{index}",
        "type": draw(st.lists(st.sampled_from(TYPES), min_size=1, max_size=2, unique=True)),
    }
    for attribute in ATTRIBUTES:
        if draw(st.integers(0, 3)) > 0:
            entity[attribute] = draw(st.lists(instances(), min_size=1, max_size=2))
    if draw(st.integers(0, 19)) == 0:
        entity[ATTRIBUTES[0]] = draw(instances())  # not the stored shape: must match nothing, and not fail
    scopes = st.sampled_from(SCOPES)
    if draw(st.booleans()):
        entity["scope"] = draw(st.one_of(st.lists(scopes, max_size=3), scopes))
    return entity


scoped_entity_lists = st.lists(  # id, type and scope only: what type selection and scopeQ read
    st.tuples(
        st.lists(st.sampled_from(TYPES), min_size=1, max_size=2, unique=True),
        st.one_of(st.none(), st.sampled_from(SCOPES), st.lists(st.sampled_from(SCOPES), max_size=3)),
    ),
    min_size=2,
    max_size=6,
).map(
    lambda rows: tuple(
        {"id": f"urn:ngsi-ld:Thing:{i}", "type": types, **({} if scope is None else {"scope": scope})}
        for i, (types, scope) in enumerate(rows)
    )
)
entity_lists = st.integers(2, 6).flatmap(lambda n: st.tuples(*(expanded_entities(i) for i in range(n))))

expanded_paths = st.builds(
    lambda attribute, sub, core, compound: AttrPath(
        attribute,
        tuple(sub) + ((core,) if core else ()),
        () if core else tuple(NS + key for key in compound),
        None if core or not compound else tuple(compound),
    ),
    st.sampled_from(ATTRIBUTES),
    st.sampled_from([[], [], [SUB_ATTRIBUTE]]),
    st.one_of(st.none(), st.none(), st.none(), st.sampled_from(sorted(CORE_MEMBERS))),
    st.one_of(st.just([]), st.just([]), st.lists(st.sampled_from([*KEYS, "*"]), min_size=1, max_size=2)),
)
expanded_texts = st.one_of(
    st.sampled_from(STRINGS).map(Text), st.just(Text("v", NS + "v")), st.just(Text(NS + "v", NS + "v"))
)
expanded_comparables: st.SearchStrategy[Scalar] = st.one_of(
    st.sampled_from([0, 1, 2, -1, 10, 0.5, 1.0, 2.5]),
    expanded_texts,
    st.sampled_from(["2026-11-26T08:00:00Z", "2026-11-26T07:59:59.999Z", "2026-11-26T10:00:00+02:00"]).map(DateTime),
    st.sampled_from(["2026-11-26", "2026-01-01"]).map(Date),
    st.sampled_from(["08:00:00", "07:00:00Z", "09:00:00+01:00"]).map(Time),
)
expanded_scalars: st.SearchStrategy[Scalar] = st.one_of(
    expanded_comparables, st.booleans(), st.sampled_from(["urn:x:1", NS + "v"]).map(lambda u: Uri(u, u))
)
PATTERNS = ["a", "^a", "B$", "(?i)b", "^$", "[0-9]", ":", "v"]


def literals_from(found: list[Any]) -> tuple[st.SearchStrategy[Scalar], st.SearchStrategy[Scalar]]:
    """(scalars, comparables): mostly the values the entities hold, as every kind of literal they can be."""
    candidates: list[Scalar] = []
    for value in found:
        if isinstance(value, (bool, int, float)):
            candidates.append(value)
        elif isinstance(value, str):
            candidates += [Text(value, value if value.startswith(NS) else NS + value), Uri(value, value)]
            for kind, normalize in ((DateTime, normalize_datetime), (Date, normalize_date), (Time, normalize_time)):
                if normalize(value) is not None:
                    candidates.append(kind(value))
    if not candidates:
        return expanded_scalars, expanded_comparables
    comparable = [c for c in candidates if not isinstance(c, (bool, Uri))]
    scalars = st.one_of(st.sampled_from(candidates), st.sampled_from(candidates), expanded_scalars)
    comparables = st.one_of(st.sampled_from(comparable), expanded_comparables) if comparable else expanded_comparables
    return scalars, comparables


def _same_kind(low: Scalar, high: Scalar) -> bool:
    numbers = (int, float)
    if isinstance(low, numbers) and not isinstance(low, bool):
        return isinstance(high, numbers) and not isinstance(high, bool)
    return type(low) is type(high)


@st.composite
def expanded_comparisons(draw: st.DrawFn, found: tuple[Any, ...] = ()) -> Comparison:
    scalars, comparables = literals_from(list(found))
    path = draw(expanded_paths)
    op = draw(st.sampled_from(OPERATORS))
    if op in PATTERN_OPERATORS:
        return Comparison(path, op, Text(draw(st.sampled_from(PATTERNS))))
    if op in ORDERING_OPERATORS:
        return Comparison(path, op, draw(comparables))
    shape = draw(st.sampled_from(["scalar", "scalar", "range", "list"]))
    if shape == "scalar":
        return Comparison(path, op, draw(scalars))
    if shape == "list":
        return Comparison(path, op, ValueList(tuple(draw(st.lists(scalars, min_size=2, max_size=3)))))
    low = draw(comparables)
    return Comparison(path, op, Range(low, draw(comparables.filter(lambda high: _same_kind(low, high)))))


def expanded_queries(found: tuple[Any, ...] = ()) -> st.SearchStrategy[QNode]:
    terms = st.one_of(expanded_comparisons(found), expanded_paths.map(Exists), expanded_paths.map(NotExists))
    return st.one_of(expanded_comparisons(found), terms, q_trees(terms))  # mostly single terms


def _scalars_in(value: Any) -> list[Any]:
    """The scalars of attribute values and members (not ids, nor the "type" of entities and instances)."""
    if isinstance(value, dict):
        return [found for key, item in value.items() if key not in ("id", "type") for found in _scalars_in(item)]
    if isinstance(value, list):
        return [found for item in value for found in _scalars_in(item)]
    return [] if value is None else [value]


@st.composite
def entities_and_queries(draw: st.DrawFn) -> tuple[tuple[dict[str, Any], ...], QNode]:
    """Entities, and a query whose literals are mostly values those entities hold, so that they often meet."""
    entities = draw(entity_lists)
    found = {repr(value): value for entity in entities for value in _scalars_in(entity)}
    return entities, draw(expanded_queries(tuple(found[key] for key in sorted(found))))


expanded_type_selections: st.SearchStrategy[TypeExpr] = st.recursive(
    st.sampled_from([*TYPES, NS + "W", "*"]).map(TypeName),
    lambda children: st.one_of(
        st.lists(children, min_size=2, max_size=3).map(lambda terms: TypeAnd(tuple(terms))),
        st.lists(children, min_size=2, max_size=3).map(lambda terms: TypeOr(tuple(terms))),
    ),
    max_leaves=5,
)
expanded_scope_patterns = st.one_of(
    st.builds(
        ScopePattern,
        st.lists(st.sampled_from(["H", "M", "B", "U", "V", "+"]), min_size=1, max_size=3).map(tuple),
        st.booleans(),
    ),
    st.just(ScopePattern((), descendants=True)),
)
expanded_scope_queries = st.lists(
    st.one_of(
        expanded_scope_patterns,
        st.lists(expanded_scope_patterns, min_size=1, max_size=2).map(lambda p: ScopeAnd(tuple(p))),
    ),
    min_size=1,
    max_size=3,
).map(lambda alternatives: ScopeQuery(tuple(alternatives)))


# --- one attribute of every type, for a focused agreement test --------------------------------------

few_scalars = st.one_of(st.sampled_from([0, 1, 2.5, True, False, None]), st.sampled_from(STRINGS))
TYPED_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "Property": st.one_of(
        few_scalars,
        st.lists(few_scalars, max_size=3),
        st.dictionaries(
            st.sampled_from([NS + k for k in KEYS]),
            st.one_of(few_scalars, st.lists(few_scalars, max_size=2)),
            max_size=2,
        ),
    ),
    "Relationship": st.one_of(
        st.sampled_from(["urn:x:1", "urn:x:2"]), st.lists(st.sampled_from(["urn:x:1", "urn:x:2"]), max_size=2)
    ),
    "ListRelationship": object_lists,
    "VocabProperty": st.one_of(
        st.sampled_from([NS + "v", NS + "w", "v"]), st.lists(st.sampled_from([NS + "v", NS + "w"]), max_size=2)
    ),
    "ListProperty": st.lists(few_scalars, max_size=3),
    "LanguageProperty": language_maps,
    "JsonProperty": st.one_of(few_scalars, st.dictionaries(st.sampled_from(KEYS), few_scalars, max_size=2)),
}


@st.composite
def typed_instances(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(sorted(TYPED_VALUES)))
    instance = {"type": kind, VALUE_MEMBER[kind]: draw(TYPED_VALUES[kind])}
    if draw(st.booleans()):
        instance["observedAt"] = draw(st.sampled_from(STRINGS))
    return instance


typed_entity_lists = st.integers(2, 5).flatmap(
    lambda n: st.tuples(
        *(
            st.builds(
                lambda instances, i=i: {"id": f"urn:ngsi-ld:Thing:{i}", "type": [TYPES[0]], ATTRIBUTES[0]: instances},
                st.lists(typed_instances(), min_size=1, max_size=2),
            )
            for i in range(n)
        )
    )
)
typed_paths = st.sampled_from(
    [
        AttrPath(ATTRIBUTES[0]),
        AttrPath(ATTRIBUTES[0]),
        AttrPath(ATTRIBUTES[0], ("observedAt",)),
        AttrPath(ATTRIBUTES[0], (), (NS + "k",), ("k",)),
        AttrPath(ATTRIBUTES[0], (), (NS + "en",), ("en",)),
        AttrPath(ATTRIBUTES[0], (), (NS + "*",), ("*",)),
    ]
)


@st.composite
def typed_comparisons(draw: st.DrawFn, found: tuple[Any, ...]) -> Comparison:
    scalars, comparables = literals_from(list(found))
    op = draw(st.sampled_from([EQUAL, EQUAL, UNEQUAL, UNEQUAL, *OPERATORS]))
    path = draw(typed_paths)
    if op in PATTERN_OPERATORS:
        return Comparison(path, op, Text(draw(st.sampled_from(PATTERNS))))
    if op in ORDERING_OPERATORS:
        return Comparison(path, op, draw(comparables))
    if draw(st.integers(0, 3)) == 0:
        return Comparison(path, op, ValueList(tuple(draw(st.lists(scalars, min_size=2, max_size=3)))))
    return Comparison(path, op, draw(scalars))


@st.composite
def typed_entities_and_comparisons(draw: st.DrawFn) -> tuple[tuple[dict[str, Any], ...], QNode]:
    entities = draw(typed_entity_lists)
    found = {repr(value): value for entity in entities for value in _scalars_in(entity)}
    return entities, draw(typed_comparisons(tuple(found[key] for key in sorted(found))))
