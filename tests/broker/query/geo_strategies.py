# SPDX-License-Identifier: EUPL-1.2
"""Generated geometries, GeoProperty instances, entities and geo-queries for the geoQ agreement tests of both
stores (test_geo_agreement_postgres.py, tests/broker/store/test_sqlite_geo.py).

The geometries sit on a grid of 0.002 degrees around Hamm, so that touching, shared edges and equal geometries
are common and the relations meet their boundary cases. near examples whose distance lies within a millimetre
of the query's are a knife edge no client can rely on (`away_from_knife_edges`).
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from broker.query import GeoQuery, Georel
from broker.query.ast import TypeName, TypeOr
from broker.store.base import EntityQuery, EntitySelector
from broker.query.geoq import _shape, distance_m, query_shape

LOCATION = "https://uri.etsi.org/ngsi-ld/location"
SPACE = "https://uri.etsi.org/ngsi-ld/observationSpace"
PLACE = "https://uri.etsi.org/ngsi-ld/default-context/Place"
PARK = "https://uri.etsi.org/ngsi-ld/default-context/Park"
SHOP = "https://uri.etsi.org/ngsi-ld/default-context/Shop"
STEP = 0.002
KNIFE_EDGE_M = 1e-3

cells = st.tuples(st.integers(0, 5), st.integers(0, 5))


def position(cell: tuple[int, int]) -> list[float]:
    return [7.8 + cell[0] * STEP, 51.66 + cell[1] * STEP]


def rectangle(corner: tuple[int, int], width: int, height: int) -> list[list[list[float]]]:
    x, y = corner
    ring = [(x, y), (x + width, y), (x + width, y + height), (x, y + height), (x, y)]
    return [[position(cell) for cell in ring]]


sizes = st.integers(1, 3)
points = st.builds(lambda c: {"type": "Point", "coordinates": position(c)}, cells)
points_3d = st.builds(lambda c, z: {"type": "Point", "coordinates": [*position(c), z]}, cells, st.sampled_from([0.0, 63.5]))
lines = st.lists(cells, min_size=2, max_size=4, unique=True).map(
    lambda cs: {"type": "LineString", "coordinates": [position(c) for c in cs]}
)
polygons = st.builds(lambda c, w, h: {"type": "Polygon", "coordinates": rectangle(c, w, h)}, cells, sizes, sizes)
multi_points = st.lists(cells, min_size=1, max_size=3).map(
    lambda cs: {"type": "MultiPoint", "coordinates": [position(c) for c in cs]}
)
multi_polygons = st.builds(  # two squares a column apart: a valid MultiPolygon
    lambda a, gap: {"type": "MultiPolygon", "coordinates": [rectangle(a, 1, 1), rectangle((a[0] + 1 + gap, a[1]), 1, 1)]},
    cells,
    st.integers(1, 2),
)
bow_tie = st.builds(
    lambda c: {"type": "Polygon", "coordinates": [[position(p) for p in ((c[0], c[1]), (c[0] + 2, c[1] + 2), (c[0] + 2, c[1]), (c[0], c[1] + 2), (c[0], c[1]))]]},
    cells,
)
empty = st.just({"type": "MultiPoint", "coordinates": []})
target_geometries = st.one_of(points, points_3d, lines, polygons, multi_points, multi_polygons, bow_tie, empty)


def instances(geometries: list[dict[str, Any]], kinds: list[str]) -> list[dict[str, Any]]:
    made = []
    for n, (geometry, kind) in enumerate(zip(geometries, kinds)):
        instance: dict[str, Any] = {"type": kind, "value": geometry}
        if n:
            instance["datasetId"] = f"urn:ngsi-ld:Dataset:{n}"
        made.append(instance)
    return made


geo_attributes = st.integers(1, 3).flatmap(
    lambda n: st.builds(
        instances,
        st.lists(target_geometries, min_size=n, max_size=n),
        st.lists(st.sampled_from(["GeoProperty", "GeoProperty", "GeoProperty", "Property"]), min_size=n, max_size=n),
    )
)


@st.composite
def geo_entities(draw: st.DrawFn) -> tuple[dict[str, Any], ...]:
    made = []
    for i in range(draw(st.integers(1, 8))):
        entity: dict[str, Any] = {"id": f"urn:ngsi-ld:Place:{i}", "type": [PLACE]}
        for name in (LOCATION, SPACE):
            if draw(st.booleans()):
                entity[name] = draw(geo_attributes)
        made.append(entity)
    return tuple(made)


reference_points = cells.map(lambda c: ("Point", tuple(position(c))))
reference_lines = st.lists(cells, min_size=2, max_size=3, unique=True).map(
    lambda cs: ("LineString", tuple(tuple(position(c)) for c in cs))
)
reference_polygons = st.builds(
    lambda c, w, h: ("Polygon", tuple(tuple(tuple(p) for p in ring) for ring in rectangle(c, w, h))), cells, sizes, sizes
)
references = st.one_of(reference_points, reference_lines, reference_polygons)
georels = st.one_of(
    st.sampled_from(["within", "contains", "intersects", "disjoint", "equals", "overlaps"]).map(Georel),
    st.sampled_from([50.0, 150.0, 333.3, 800.0, 2500.0]).map(lambda d: Georel("near", max_distance_m=d)),
    st.sampled_from([50.0, 150.0, 333.3, 800.0, 2500.0]).map(lambda d: Georel("near", min_distance_m=d)),
)
geo_queries = st.builds(
    lambda georel, reference, geoproperty: GeoQuery(georel, reference[0], reference[1], geoproperty),
    georels,
    references,
    st.sampled_from([LOCATION, LOCATION, SPACE]),
).filter(lambda query: query_shape(query).is_valid)


def away_from_knife_edges(query: GeoQuery, entities: tuple[dict[str, Any], ...]) -> bool:
    georel = query.georel
    metres = georel.max_distance_m if georel.max_distance_m is not None else georel.min_distance_m
    if metres is None:
        return True
    reference = query_shape(query)
    for entity in entities:
        for instance in entity.get(query.geoproperty, []):
            target = _shape(instance["value"])
            if target is not None and target.is_valid and abs(distance_m(reference, target) - metres) < KNIFE_EDGE_M:
                return False
    return True


# Entities of one or two types, queries naming none, one or two of them.
typed_entities = st.tuples(geo_entities(), st.lists(st.sampled_from([[PLACE], [PARK], [PLACE, PARK], [SHOP, PLACE]]), min_size=8, max_size=8)).map(
    lambda drawn: tuple({**entity, "type": types} for entity, types in zip(*drawn))
)
type_selections = st.sampled_from([None, (PLACE,), (PARK,), (SHOP,), (PARK, SHOP)])


def selecting(names: tuple[str, ...] | None, query: GeoQuery) -> EntityQuery:
    if names is None:
        return EntityQuery(geo=query)
    types: Any = TypeName(names[0]) if len(names) == 1 else TypeOr(tuple(TypeName(name) for name in names))
    return EntityQuery(selectors=(EntitySelector(types=types),), geo=query)
