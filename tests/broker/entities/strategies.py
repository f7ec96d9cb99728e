# SPDX-License-Identifier: EUPL-1.2
"""Hypothesis strategies for NGSI-LD entities in the normalized representation (compacted names)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hypothesis import strategies as st

names = st.from_regex(r"[a-z][A-Za-z0-9_]{0,11}", fullmatch=True).filter(
    lambda n: n not in {"id", "type", "scope", "value", "object", "createdAt", "modifiedAt", "deletedAt", "observedAt",
                        "unitCode", "datasetId", "languageMap", "vocab", "valueList", "objectList", "json",
                        "objectType", "lang", "instanceId", "expiresAt", "previousValue"}
)
uris = st.builds(lambda kind, n: f"urn:ngsi-ld:{kind}:{n}", st.sampled_from(["Sensor", "Building", "Road"]), st.integers(0, 999))
scalars = st.one_of(
    st.integers(-10**6, 10**6),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.booleans(),
    st.text(max_size=12).filter(lambda s: s != "urn:ngsi-ld:null"),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(names, children, max_size=3)),
    max_leaves=6,
)
longitudes = st.floats(-180, 180, allow_nan=False)
latitudes = st.floats(-90, 90, allow_nan=False)
positions = st.tuples(longitudes, latitudes).map(list)
points = positions.map(lambda p: {"type": "Point", "coordinates": p})
lines = st.lists(positions, min_size=2, max_size=5).map(lambda ps: {"type": "LineString", "coordinates": ps})
polygons = st.lists(positions, min_size=3, max_size=5).map(lambda ps: {"type": "Polygon", "coordinates": [ps + [ps[0]]]})
geometries = st.one_of(points, lines, polygons)
datetimes = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1)).map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S") + "Z")


_UNITLESS = {"Relationship", "ListRelationship", "JsonProperty"}


def _with_members(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    if base["type"] in _UNITLESS:  # clauses 4.5.3.2, 4.5.24.2: no unitCode there
        extra = {k: v for k, v in extra.items() if k != "unitCode"}
    return {**base, **extra}


def instances(depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    kinds = st.one_of(
        st.builds(lambda v: {"type": "Property", "value": v}, json_values),
        st.builds(lambda o: {"type": "Relationship", "object": o}, uris),
        st.builds(lambda g: {"type": "GeoProperty", "value": g}, geometries),
        st.builds(lambda m: {"type": "LanguageProperty", "languageMap": m},
                  st.dictionaries(st.sampled_from(["de", "en", "tr", "@none"]), st.text(max_size=8), min_size=1)),
        st.builds(lambda v: {"type": "VocabProperty", "vocab": v}, names),
        st.builds(lambda v: {"type": "ListProperty", "valueList": v}, st.lists(scalars, max_size=4)),
        st.builds(lambda os: {"type": "ListRelationship", "objectList": [{"object": o} for o in os]}, st.lists(uris, max_size=3)),
        st.builds(lambda j: {"type": "JsonProperty", "json": j}, st.dictionaries(names, json_values, max_size=3)),
    )
    members = st.fixed_dictionaries(
        {},
        optional={"observedAt": datetimes, "unitCode": st.sampled_from(["CEL", "MTR", "P1"])},
    )
    base = st.builds(_with_members, kinds, members)
    if depth >= 2:
        return base
    return st.builds(
        lambda b, subs: {**b, **subs},
        base,
        st.dictionaries(names, st.deferred(lambda: instances(depth + 1)), max_size=2),
    )


entity_types = st.sampled_from(["OffStreetParking", "WeatherObserved", "BikeHireDockingStation", "TrafficFlowObserved"])


@st.composite
def entities(draw: st.DrawFn) -> dict[str, Any]:
    entity: dict[str, Any] = {"id": draw(uris), "type": draw(entity_types)}
    for name in draw(st.lists(names, max_size=4, unique=True)):
        entity[name] = draw(instances())
    return entity


@st.composite
def rich_entities(draw: st.DrawFn) -> dict[str, Any]:
    """Entities as `entities` gives them, and also of two types, with a scope, and with attributes of two
    instances (the default one and one with a datasetId)."""
    entity = draw(entities())
    types = draw(st.lists(entity_types, min_size=1, max_size=2, unique=True))
    entity["type"] = types[0] if len(types) == 1 else types
    if draw(st.booleans()):
        entity["scope"] = draw(st.sampled_from(["/Hamm", ["/Hamm/Mitte", "/Hamm/Uentrop"]]))
    for name in [name for name in entity if name not in ("id", "type", "scope")]:
        if draw(st.integers(0, 2)) == 0:
            entity[name] = [entity[name], {**draw(instances()), "datasetId": draw(uris)}]
    return entity
