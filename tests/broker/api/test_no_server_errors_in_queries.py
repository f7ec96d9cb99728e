# SPDX-License-Identifier: EUPL-1.2
"""No query produces a 500: hypothesis throws generated URL parameters and headers at every read route.

The companion of test_no_server_errors.py (generated bodies at the write routes). A few entities are
seeded first (a GeoProperty, a Relationship, a LanguageProperty, a compound value, datasetIds, a
scope, history) so that the queries reach real rows rather than stopping at an empty table. Each
answer must be a success or a ProblemDetails 4xx; an exception in the app propagates through
httpx.ASGITransport (Starlette re-raises after its last-resort handler), so hypothesis shrinks it.
Values are near-valid (built from the grammars of q, type selections, scopeQ, geo-queries, ISO 8601
dates and durations) or random text; a parameter name is now and then unknown, to reach that error too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import API, ContextServer

ERRORS = "https://uri.etsi.org/ngsi-ld/errors/"
CORE = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
LINK_REL = 'rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
THING = "urn:ngsi-ld:Thing:fuzz-1"
BUILDING = "urn:ngsi-ld:Building:fuzz-2"
SENSOR = "urn:ngsi-ld:Sensor:fuzz-3"
SUBSCRIPTION = "urn:ngsi-ld:Subscription:fuzz"
TENANT = "fuzz"
IDS = [THING, BUILDING, SENSOR, "urn:ngsi-ld:Thing:missing"]
TYPES = ["Thing", "Building", "Sensor", "Missing", "ex:Thing", "https://example.org/Thing"]
ATTRIBUTES = [
    "temperature", "name", "location", "owner", "address", "tags", "category", "height", "config",
    "observationSpace", "missing", "ex:temperature",
]  # fmt: skip
SUB_MEMBERS = ["accuracy", "observedAt", "unitCode", "datasetId", "createdAt", "modifiedAt", "objectType", "missing"]
# Every read route is run this many times on each store (SQLite and PostgreSQL).
EXAMPLES = 40
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


# -- the seed -------------------------------------------------------------------------------------


def _prop(value: Any, **extra: Any) -> dict[str, Any]:
    return {"type": "Property", "value": value, **extra}


SEED = [
    {
        "id": THING,
        "type": "Thing",
        "scope": ["/Hamm/Süd", "/Hamm/Mitte"],
        "temperature": [
            _prop(21.5, observedAt="2024-05-01T12:00:00Z", unitCode="CEL", accuracy=_prop(0.5)),
            _prop(19.0, observedAt="2024-05-01T12:00:00Z", datasetId="urn:ngsi-ld:Dataset:a"),
        ],
        "name": {"type": "LanguageProperty", "languageMap": {"de": "Halle", "en": "Hall", "@none": "Halle"}},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [7.8146, 51.6806]}},
        "owner": {"type": "Relationship", "object": BUILDING, "observedAt": "2024-05-01T12:00:00Z"},
        "address": _prop({"streetAddress": "Marktplatz 1", "city": "Hamm", "geo": {"zip": 59065}}),
        "tags": {"type": "ListProperty", "valueList": ["a", 2, True]},
        "category": {"type": "VocabProperty", "vocab": "park"},
        "config": {"type": "JsonProperty", "json": {"a": [1, {"b": None}]}},
    },
    {
        "id": BUILDING,
        "type": ["Building", "Thing"],
        "name": _prop("Rathaus"),
        "height": _prop(42, unitCode="MTR"),
        "location": {
            "type": "GeoProperty",
            "value": {"type": "Polygon", "coordinates": [[[7.81, 51.68], [7.82, 51.68], [7.82, 51.69], [7.81, 51.68]]]},
        },
        "owner": {"type": "Relationship", "object": THING},
        "observationSpace": {
            "type": "GeoProperty",
            "value": {"type": "LineString", "coordinates": [[7.80, 51.67], [7.83, 51.70]]},
        },
    },
    {
        "id": SENSOR,
        "type": "Sensor",
        "temperature": _prop("warm"),
        "height": _prop(-3.25e10),
        "location": {"type": "GeoProperty", "value": {"type": "MultiPoint", "coordinates": [[0, 0], [179.9, -89.9]]}},
        "refs": {"type": "ListRelationship", "objectList": [{"object": THING}, {"object": BUILDING}]},
    },
]
HISTORY = {
    "id": THING,
    "type": "Thing",
    "temperature": [
        {"type": "Property", "values": [[20 + n / 2, f"2024-05-0{1 + n % 3}T{n:02d}:00:00Z"] for n in range(8)]},
        {"type": "Property", "values": [[1, "2024-05-02T00:00:00Z"]], "datasetId": "urn:ngsi-ld:Dataset:a"},
    ],
    "name": {"type": "Property", "values": [["alt", "2023-01-01T00:00:00Z"]]},
}
SUBSCRIPTION_BODY = {
    "id": SUBSCRIPTION,
    "type": "Subscription",
    "entities": [{"type": "Thing"}],
    "q": "temperature>30",
    "notification": {"endpoint": {"uri": "http://127.0.0.1:9/notify"}},
}
USER_CONTEXT = {"ex": "https://example.org/", "temperature": "https://example.org/temperature", "Thing": "ex:Thing"}


@dataclass
class Broker:
    """The app on one store, seeded, and the URL of a user @context it can fetch."""

    http: httpx.AsyncClient
    user_context: str

    def headers(self, given: dict[str, str]) -> dict[str, str]:
        if "Link" in given:
            return {**given, "Link": given["Link"].replace("{user}", self.user_context)}
        return given

    async def get(self, path: str, params: list[tuple[str, str]], headers: dict[str, str]) -> None:
        check(await self.http.get(path, params=params, headers=self.headers(headers)))

    async def post(self, path: str, params: list[tuple[str, str]], headers: dict[str, str], body: Any) -> None:
        if isinstance(body, dict) and "@context" in body:
            context = body["@context"]
            users = [self.user_context if c == "user" else c for c in context] if isinstance(context, list) else None
            body = {**body, "@context": users if users is not None else self.user_context if context == "user" else context}
        check(await self.http.post(path, params=params, headers=self.headers(headers), content=json.dumps(body)))


@pytest.fixture
async def broker(client: httpx.AsyncClient, context_server: ContextServer) -> Broker:
    """The seed written on the default tenant and on TENANT, once per test: hypothesis runs every
    example of a test on one client."""
    for tenant in ({}, {"NGSILD-Tenant": TENANT}):
        response = await client.post(f"{API}/entityOperations/upsert", json=SEED, headers=tenant)
        assert response.status_code in (201, 204), response.text
        response = await client.post(f"{API}/temporal/entities", json=HISTORY, headers=tenant)
        assert response.status_code in (201, 204), response.text
        response = await client.patch(f"{API}/entities/{THING}/attrs", json={"height": _prop(7)}, headers=tenant)
        assert response.status_code in (204, 207), response.text
    response = await client.post(f"{API}/subscriptions", json=SUBSCRIPTION_BODY)
    assert response.status_code in (201, 409), response.text
    return Broker(client, context_server.add("user.jsonld", USER_CONTEXT))


# -- the values ---------------------------------------------------------------------------------


# Random text: any character that can be encoded into a URL (no lone surrogates).
text = st.text(st.characters(exclude_categories=("Cs",)), max_size=24)
# Header values must be visible ASCII (httpx refuses others before they leave the client).
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
# Digits as str.isdigit() sees them, and as int() may not (superscripts), and numbers beyond int64.
numbers = st.one_of(
    st.integers(0, 3000).map(str),
    st.sampled_from(["-1", "1.5", "", " 1", "1e3", "0x10", "99999999999999999999", "9223372036854775808", "²", "①", "١٢", "1_0"]),
)
booleans = st.sampled_from(["true", "false", "True", "1", ""])
attribute_names = st.one_of(st.sampled_from(ATTRIBUTES), st.from_regex(r"[a-z][A-Za-z0-9_]{0,6}", fullmatch=True))
names_list = st.one_of(st.lists(attribute_names, min_size=1, max_size=3).map(",".join), st.sampled_from(["", ",", "a,,b", "id,type", "@none"]), text)
type_names = st.one_of(st.sampled_from(TYPES + ["*"]), st.from_regex(r"[A-Z][A-Za-z]{0,6}", fullmatch=True))
type_selections = st.recursive(
    type_names,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from([",", "|", ";"]), inner).map("".join), inner.map(lambda t: f"({t})")
    ),
    max_leaves=4,
)
entity_ids = st.one_of(
    st.sampled_from(IDS + ["urn:ngsi-ld:Dataset:a", "not a uri", "urn:ngsi-ld:Thing:a/b#c", "http://x/%zz", "urn:", ":"]),
    st.builds(lambda s: f"urn:ngsi-ld:Thing:{s}", text),
)
id_lists = st.one_of(st.lists(entity_ids, min_size=1, max_size=3).map(",".join), text)
id_patterns = st.one_of(
    st.sampled_from([
        ".*", "^urn:ngsi-ld:Thing:.*", "fuzz-[0-9]+$", "(", "[", "a{2,}", "(?i)THING", "(?P<n>urn)", "(?<=Thing:)fuzz",
        "(?<!x)urn", "\\d+", "\\Z", "\\A", "[[:alpha:]]+", "\\p{L}", "(?#c)urn", "a{,3}", "(a|)+$", "\\bfuzz\\b",
        "(?x) urn", "[^\\w]", "\\", "$^", "(?s).", "\x00",
    ]),
    text,
)  # fmt: skip
datetimes = st.one_of(
    st.sampled_from([
        "2024-05-01T12:00:00Z", "2024-05-01T00:00:00.123Z", "2024-05-01T12:00:00+02:00", "2024-05-01T12:00:00",
        "2024-05-01", "2024-13-01T00:00:00Z", "2024-02-30T00:00:00Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
        "+275760-09-13T00:00:00Z", "1969-12-31T23:59:59.999999999Z", "2024-05-01T24:00:00Z", "2024-05-01T12:00:60Z",
        "2024-05-01T12:00:00-23:59", "2024-W18-3", "20240501T120000Z",
    ]),
    st.datetimes().map(lambda d: d.isoformat() + "Z"),
    text,
)  # fmt: skip
dates = st.sampled_from(["2024-05-01", "2024-02-29", "2023-02-29", "0000-01-01", "9999-12-31", "2024-5-1"])
times = st.sampled_from(["12:00:00", "23:59:59.999", "24:00:00", "12:00:00Z"])

# q (clause 4.9): near-valid expressions from a small grammar, and the same with one character changed.
q_paths = st.builds(
    lambda attr, sub, compound: attr + sub + compound,
    attribute_names,
    st.one_of(st.just(""), st.sampled_from(SUB_MEMBERS).map(lambda m: "." + m), st.sampled_from([".accuracy.value", ".a.b.c"])),
    st.one_of(st.just(""), st.sampled_from(["[streetAddress]", "[geo.zip]", "[*]", "[de]", "[a-b]", "[x:y]", "[]", "[a][b]"])),
)
q_scalars = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    text.map(lambda s: json.dumps(s, ensure_ascii=False)),
    st.sampled_from(["Halle", "true", "false", "null", "urn:ngsi-ld:Building:fuzz-2", "1e999", "-0", "\"\\u0000\"", "\"a\\\"b\""]),
    dates,
    times,
    datetimes,
)
q_values = st.one_of(
    q_scalars,
    st.tuples(q_scalars, q_scalars).map("..".join),
    st.lists(q_scalars, min_size=2, max_size=4).map(",".join),
)
regexes = st.one_of(id_patterns, id_patterns.map(json.dumps))
q_comparisons = st.one_of(
    st.builds(lambda p, op, v: f"{p}{op}{v}", q_paths, st.sampled_from(["==", "!=", ">", "<", ">=", "<="]), q_values),
    st.builds(lambda p, op, v: f"{p}{op}{v}", q_paths, st.sampled_from(["~=", "!~=", "=~"]), regexes),
    q_paths,
    q_paths.map(lambda p: "!" + p),
)
q_expressions = st.recursive(
    q_comparisons,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from([";", "|", " ; ", " | "]), inner).map("".join), inner.map(lambda q: f"({q})")
    ),
    max_leaves=5,
)


def _mutate(value: str, position: int, replacement: str) -> str:
    position %= len(value) + 1
    return value[:position] + replacement + value[position + 1 :]


def mutated(values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """The values, and the values with one character replaced (or removed, or appended)."""
    return st.one_of(
        values,
        st.builds(_mutate, values, st.integers(0, 200), st.one_of(st.just(""), st.characters(exclude_categories=("Cs",)))),
    )


qs = st.one_of(mutated(q_expressions), text, st.sampled_from(["((((((((((((((((((((((a))))))))))))))))))))))", "a;" * 101 + "a"]))
scope_queries = st.one_of(
    mutated(
        st.recursive(
            st.sampled_from(["/Hamm", "/Hamm/#", "/#", "/+/Süd", "/Hamm/Süd", "/", "Hamm", "/a b"]),
            lambda inner: st.one_of(
                st.tuples(inner, st.sampled_from(["|", ","]), inner).map("".join),
                st.lists(inner, min_size=2, max_size=3).map(lambda items: "(" + ";".join(items) + ")"),
            ),
            max_leaves=4,
        )
    ),
    text,
)

# Geo-queries (clause 4.10): valid triples, each part broken now and then.
georels = st.one_of(
    st.sampled_from([
        "near;maxDistance==1000", "near;minDistance==5", "near;maxDistance==0.001", "near;maxDistance==1e308",
        "near;minDistance==20000000", "within", "contains", "intersects", "equals", "disjoint", "overlaps", "near",
        "near;maxDistance==-1", "near;maxDistance==0", "near;maxDistance==1e999", "near;distance==5", "within;x",
    ]),
    text,
)  # fmt: skip
positions = st.one_of(
    st.tuples(st.floats(-180, 180), st.floats(-90, 90)).map(list),
    st.sampled_from([[7.8146, 51.6806], [180, 90], [-180, -90], [0, 0], [200, 100], [1, 2, 3], [1], []]),
)
rings = st.lists(positions, min_size=0, max_size=5).map(lambda ps: ps + ps[:1])
coordinates_by_geometry = {
    "Point": positions,
    "MultiPoint": st.lists(positions, max_size=3),
    "LineString": st.lists(positions, max_size=4),
    "MultiLineString": st.lists(st.lists(positions, max_size=3), max_size=2),
    "Polygon": st.lists(rings, min_size=1, max_size=2),
    "MultiPolygon": st.lists(st.lists(rings, min_size=1, max_size=2), max_size=2),
}
geometries_and_coordinates = st.one_of(
    *(st.tuples(st.just(name), coordinates.map(json.dumps)) for name, coordinates in coordinates_by_geometry.items()),
    st.tuples(st.sampled_from(list(coordinates_by_geometry) + ["point", "Bogus", ""]), st.one_of(text, st.sampled_from([
        "[7.8,51.6]", "[[7.81,51.68],[7.82,51.69],[7.81,51.69],[7.82,51.68],[7.81,51.68]]", "[NaN,0]", "[1e400,0]",
        "[Infinity,0]", "[[[0,0],[1,1],[1,0],[0,1],[0,0]]]", "[[[0,0],[0,0],[0,0],[0,0]]]", "[[]]", "[", "null", "{}",
        "7.8,51.6", "[\"7\",\"51\"]", "[true,false]",
    ]))),
)  # fmt: skip
geoproperties = st.one_of(st.sampled_from(["location", "observationSpace", "name", "owner", "temperature", "ex:location", "missing"]), text)
options = st.one_of(
    st.lists(st.sampled_from(["keyValues", "concise", "normalized", "sysAttrs", "simplified", "temporalValues", "aggregatedValues"]), min_size=1, max_size=2).map(",".join),
    text,
)
formats = st.one_of(st.sampled_from(["normalized", "concise", "keyValues", "simplified", "temporalValues", "aggregatedValues"]), text)
langs = st.one_of(st.sampled_from(["de", "en", "fr", "*", "@none", "de,en", "en-GB", "en;q=0.5", "de-DE-1996", ""]), text)
order_by = st.one_of(
    st.lists(
        st.builds(
            lambda name, member, direction: name + member + direction,
            st.one_of(st.sampled_from(["id", "createdAt", "modifiedAt"]), attribute_names),
            st.sampled_from(["", ".value", ".observedAt", ".unitCode", ".datasetId", ".createdAt", ".bogus", ".a.b"]),
            st.sampled_from(["", ";asc", ";desc", ";sideways", ";"]),
        ),
        min_size=1,
        max_size=3,
    ).map(",".join),
    text,
)
dataset_ids = st.one_of(st.lists(st.sampled_from(["@none", "urn:ngsi-ld:Dataset:a", "urn:ngsi-ld:Dataset:b", "a b"]), min_size=1, max_size=2).map(",".join), text)
joins = st.one_of(st.sampled_from(["flat", "inline", "@none", "FLAT"]), text)
timerels = st.one_of(st.sampled_from(["before", "after", "between"]), text)
time_properties = st.one_of(st.sampled_from(["observedAt", "createdAt", "modifiedAt", "deletedAt", "value"]), text)
aggr_methods = st.one_of(
    st.lists(st.sampled_from(["totalCount", "distinctCount", "sum", "avg", "min", "max", "stddev", "sumsq", "median"]), min_size=1, max_size=4).map(",".join),
    text,
)
durations = st.one_of(
    st.sampled_from([
        "PT1H", "P1D", "P1Y2M", "PT0S", "P0D", "PT1.5S", "PT0.001S", "P", "PT", "P1W", "P99999999999Y", "PT1M30S",
        "P1Y2M3DT4H5M6.7S", "-P1D", "PT-1H", "P1.5D", "pt1h", "P0.0000001Y", "PT1E3S",
    ]),
    text,
)  # fmt: skip

ENTITY_PARAMS: dict[str, st.SearchStrategy[str]] = {
    "type": st.one_of(mutated(type_selections), text),
    "id": id_lists,
    "idPattern": id_patterns,
    "attrs": names_list,
    "pick": names_list,
    "omit": names_list,
    "q": qs,
    "scopeQ": scope_queries,
    "options": options,
    "format": formats,
    "lang": langs,
    "limit": numbers,
    "offset": numbers,
    "count": booleans,
    "orderBy": order_by,
    "datasetId": dataset_ids,
    "join": joins,
    "joinLevel": numbers,
    "local": booleans,
    "geometryProperty": geoproperties,
}
TEMPORAL_PARAMS: dict[str, st.SearchStrategy[str]] = {
    "timerel": timerels,
    "timeAt": datetimes,
    "endTimeAt": datetimes,
    "timeproperty": time_properties,
    "lastN": numbers,
    "aggrMethods": aggr_methods,
    "aggrPeriodDuration": durations,
}
GEO_NAMES = ("georel", "geometry", "coordinates", "geoproperty")


@st.composite
def parameters(draw: st.DrawFn, allowed: dict[str, st.SearchStrategy[str]], geo: bool = False) -> list[tuple[str, str]]:
    """A few of the route's parameters (a geo-query as a whole, mostly), now and then an unknown one or one twice."""
    chosen = draw(st.lists(st.sampled_from(sorted(allowed)), max_size=5, unique=True))
    params = [(name, draw(allowed[name], label=name)) for name in chosen]
    if geo and draw(st.booleans()):
        georel = draw(georels, label="georel")
        geometry, coordinates = draw(geometries_and_coordinates, label="geometry, coordinates")
        geo_params = [("georel", georel), ("geometry", geometry), ("coordinates", coordinates)]
        if draw(st.booleans()):
            geo_params.append(("geoproperty", draw(geoproperties, label="geoproperty")))
        params += draw(st.lists(st.sampled_from(geo_params), unique=True, min_size=2)) if draw(st.booleans()) else geo_params
    extra = draw(st.sampled_from([None, "unknown", "twice"]) if params else st.just(None))
    if extra == "unknown":
        params.append((draw(st.sampled_from(["bogus", "Type", "attrs[]", "q ", "geoQ"])), "1"))
    elif extra == "twice":
        params.append(params[0])
    return params


@st.composite
def headers(draw: st.DrawFn, content_type: bool = False) -> dict[str, str]:
    result: dict[str, str] = {}
    accept = draw(st.one_of(st.none(), st.sampled_from([
        "application/json", "application/ld+json", "application/geo+json", "*/*", "application/*;q=0.5", "text/html",
        "application/json;q=0", "application/geo+json, application/json;q=0.1", "application/json;q=abc", "text/csv",
        "application/jsonl", ",;", "*/*;q=-1",
    ]), header_text), label="Accept")  # fmt: skip
    if accept is not None:
        result["Accept"] = accept
    link = draw(st.one_of(st.none(), st.sampled_from(["core", "user", "two", "no-rel", "ftp", "garbage", "unclosed"]), header_text), label="Link")
    links = {
        "core": f"<{CORE}>; {LINK_REL}",
        "user": "<{user}>; " + LINK_REL,
        "two": f"<{CORE}>; {LINK_REL}, <{{user}}>; {LINK_REL}",
        "no-rel": f"<{CORE}>",
        "ftp": f"<ftp://example.org/c.jsonld>; {LINK_REL}",
        "garbage": "<<>>; rel=",
        "unclosed": f"<{CORE}; {LINK_REL}",
    }
    if link is not None:
        result["Link"] = links.get(link, link)
    tenant = draw(st.one_of(st.none(), st.sampled_from([TENANT, "nope", "a b", "x" * 65, "_x.y-z", "-a"]), header_text), label="NGSILD-Tenant")
    if tenant is not None:
        result["NGSILD-Tenant"] = tenant
    if content_type:
        media = draw(st.one_of(st.sampled_from([
            "application/json", "application/ld+json", "application/json; charset=utf-8", "APPLICATION/JSON",
            "application/merge-patch+json", "text/plain", "none",
        ]), header_text), label="Content-Type")  # fmt: skip
        if media != "none":
            result["Content-Type"] = media
    return result


def check(response: httpx.Response) -> None:
    """A success, or a 4xx whose body is an NGSI-LD ProblemDetails (clause 5.5.3)."""
    assert response.status_code < 500, (response.status_code, response.text)
    if response.status_code < 400:
        return
    if response.status_code in (411, 415):
        assert not response.content  # clause 6.3.4: "just a 415 (411) HTTP status code, without any payload body"
        return
    body = response.json()
    assert isinstance(body, dict), body
    assert body["type"].startswith(ERRORS), body
    assert isinstance(body.get("title"), str), body


def item(value: str) -> str:
    return quote(value, safe=":")


# -- the routes ---------------------------------------------------------------------------------


@FUZZ
@given(params=parameters(ENTITY_PARAMS, geo=True), request_headers=headers())
async def test_query_entities(broker: Broker, params: list[tuple[str, str]], request_headers: dict[str, str]) -> None:
    await broker.get(API + "/entities", params, request_headers)


RETRIEVE_NAMES = {"type", "attrs", "pick", "omit", "options", "format", "lang", "geometryProperty", "datasetId", "local", "join", "joinLevel"}


@FUZZ
@given(
    entity_id=entity_ids,
    params=parameters({name: ENTITY_PARAMS[name] for name in RETRIEVE_NAMES}),
    request_headers=headers(),
)
async def test_retrieve_entity(
    broker: Broker, entity_id: str, params: list[tuple[str, str]], request_headers: dict[str, str]
) -> None:
    await broker.get(f"{API}/entities/{item(entity_id)}", params, request_headers)


@FUZZ
@given(
    path=st.one_of(
        st.sampled_from(["/types", "/attributes"]),
        type_names.map(lambda t: f"/types/{item(t)}"),
        attribute_names.map(lambda a: f"/attributes/{item(a)}"),
        text.map(lambda s: f"/types/{item(s)}"),
    ),
    params=parameters({"details": booleans, "local": booleans}),
    request_headers=headers(),
)
async def test_discovery(broker: Broker, path: str, params: list[tuple[str, str]], request_headers: dict[str, str]) -> None:
    await broker.get(API + path, params, request_headers)


TEMPORAL_QUERY_NAMES = {"id", "idPattern", "type", "attrs", "q", "scopeQ", "limit", "offset", "count", "datasetId", "local", "options", "format"}


@FUZZ
@given(
    params=parameters({**{name: ENTITY_PARAMS[name] for name in TEMPORAL_QUERY_NAMES}, **TEMPORAL_PARAMS}, geo=True),
    request_headers=headers(),
)
async def test_query_temporal_entities(broker: Broker, params: list[tuple[str, str]], request_headers: dict[str, str]) -> None:
    await broker.get(API + "/temporal/entities", params, request_headers)


@FUZZ
@given(
    entity_id=entity_ids,
    params=parameters({**{name: ENTITY_PARAMS[name] for name in ("attrs", "datasetId", "local", "type", "options", "format")}, **TEMPORAL_PARAMS}),
    request_headers=headers(),
)
async def test_retrieve_temporal_entity(
    broker: Broker, entity_id: str, params: list[tuple[str, str]], request_headers: dict[str, str]
) -> None:
    await broker.get(f"{API}/temporal/entities/{item(entity_id)}", params, request_headers)


def _json_or(strings: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A member of a JSON body: mostly the string, now and then another JSON type."""
    return st.one_of(strings, strings, strings, st.none(), st.integers(), st.lists(strings, max_size=2), st.dictionaries(text, text, max_size=1))


selectors = st.fixed_dictionaries(
    {}, optional={"type": _json_or(type_selections), "id": _json_or(entity_ids), "idPattern": _json_or(id_patterns)}
)
geo_q = st.builds(
    lambda georel, geometry, coordinates, geoproperty: {
        "georel": georel,
        "geometry": geometry[0],
        "coordinates": json.loads(geometry[1]) if coordinates else geometry[1],
        **({"geoproperty": geoproperty} if geoproperty is not None else {}),
    },
    georels,
    st.one_of(*(st.tuples(st.just(name), c.map(json.dumps)) for name, c in coordinates_by_geometry.items())),
    st.booleans(),
    st.one_of(st.none(), geoproperties),
)
contexts = st.one_of(st.sampled_from([CORE, "user", [CORE, "user"], {"ex": "https://example.org/"}, "not a url", 5, [], None]))
QUERY_MEMBERS: dict[str, st.SearchStrategy[Any]] = {
    "entities": st.one_of(st.lists(selectors, max_size=2), selectors, text),
    "attrs": st.one_of(st.lists(attribute_names, max_size=3), names_list),
    "q": _json_or(qs),
    "geoQ": st.one_of(geo_q, st.dictionaries(st.sampled_from(["georel", "geometry", "coordinates", "geoproperty"]), _json_or(text), max_size=3), text),
    "scopeQ": _json_or(scope_queries),
    "lang": _json_or(langs),
    "pick": st.one_of(st.lists(attribute_names, max_size=3), names_list),
    "omit": st.one_of(st.lists(attribute_names, max_size=3), names_list),
    "local": st.one_of(st.booleans(), text),
    "@context": contexts,
}
TEMPORAL_Q = st.one_of(
    st.fixed_dictionaries({}, optional={name: _json_or(strategy) for name, strategy in TEMPORAL_PARAMS.items()}),
    st.fixed_dictionaries({}, optional={"lastN": st.integers(-2, 2**64), "aggrMethods": st.lists(_json_or(aggr_methods), max_size=3)}),
    text,
)


@st.composite
def query_bodies(draw: st.DrawFn, temporal: bool) -> Any:
    members = {**QUERY_MEMBERS, "temporalQ": TEMPORAL_Q} if temporal else QUERY_MEMBERS
    body: dict[str, Any] = {"type": draw(st.one_of(st.just("Query"), st.just("Query"), text))}
    for name in draw(st.lists(st.sampled_from(sorted(members)), max_size=4, unique=True)):
        body[name] = draw(members[name], label=name)
    if draw(st.integers(0, 9)) == 0:
        body["bogus"] = 1
    return draw(st.one_of(st.just(body), st.just(body), st.just(body), st.just([body]), st.just("Query")))


POST_QUERY_PARAMS = {name: ENTITY_PARAMS[name] for name in ("limit", "offset", "count", "options", "format", "local", "lang", "join", "joinLevel", "orderBy")}


@FUZZ
@given(params=parameters(POST_QUERY_PARAMS), request_headers=headers(content_type=True), body=query_bodies(temporal=False))
async def test_post_query(broker: Broker, params: list[tuple[str, str]], request_headers: dict[str, str], body: Any) -> None:
    await broker.post(API + "/entityOperations/query", params, request_headers, body)


POST_TEMPORAL_QUERY_PARAMS = {
    **{name: ENTITY_PARAMS[name] for name in ("limit", "offset", "count", "options", "format", "local")},
    **{name: TEMPORAL_PARAMS[name] for name in ("lastN", "aggrMethods", "aggrPeriodDuration")},
}


@FUZZ
@given(
    params=parameters(POST_TEMPORAL_QUERY_PARAMS),
    request_headers=headers(content_type=True),
    body=query_bodies(temporal=True),
)
async def test_post_temporal_query(
    broker: Broker, params: list[tuple[str, str]], request_headers: dict[str, str], body: Any
) -> None:
    await broker.post(API + "/temporal/entityOperations/query", params, request_headers, body)


@FUZZ
@given(
    path=st.one_of(st.just("/subscriptions"), st.one_of(st.just(SUBSCRIPTION), entity_ids).map(lambda s: f"/subscriptions/{item(s)}")),
    params=parameters({"limit": numbers, "offset": numbers, "count": booleans, "options": options, "local": booleans}),
    request_headers=headers(),
)
async def test_subscriptions(broker: Broker, path: str, params: list[tuple[str, str]], request_headers: dict[str, str]) -> None:
    await broker.get(API + path, params, request_headers)


@FUZZ
@given(
    name=st.builds(
        lambda entity_type, fmt: f"{item(entity_type)}.{item(fmt)}",
        st.one_of(type_names, text),
        st.one_of(st.sampled_from(["csv", "geojson", "jsonl", "xml", ""]), text),
    ),
    params=parameters({"attrs": names_list, "from": st.one_of(dates, datetimes), "to": st.one_of(dates, datetimes)}),
    request_headers=headers(),
)
async def test_open_data(broker: Broker, name: str, params: list[tuple[str, str]], request_headers: dict[str, str]) -> None:
    await broker.get(f"/open-data/{name}", params, request_headers)
