# SPDX-License-Identifier: EUPL-1.2
"""Geo-queries on the SQLite store: candidates from the spatial index, the exact relation, a page in id order.

The index (migrations 6 and 7 of broker.store.sqlite_schema) has one entry per GeoProperty instance and
entity type, with the entity id and the key of its (tenant, GeoProperty, type). A Point is found by its
Z-order cell (broker.store.zorder) in the B-tree (key, cell, position, entity id), which answers from the
index alone; another geometry by its box in the R*Tree, whose ids hold the key, so that a query naming
plain entity types keeps those keys' boxes only, by id, before reading any entry. Points are then decided
from their positions, many at once (broker.query.geoq.points_match: the same arithmetic as the Python
predicate); an entity with another geometry, or a relation that shortcut does not cover, is decided on
its document by broker.query.matches_geo. Documents are read only for the entities that may be on the page, in id order,
filtered in SQL by the rest of the query.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from itertools import compress
from typing import Any

import numpy as np
import orjson

from broker.query import GeoQuery, matches_geo, query_bbox
from broker.query.geoq import points_match
from broker.store import sqlite_schema as sql
from broker.store.base import ExpandedEntity
from broker.store.zorder import cell_ranges

_FIRST_CHUNK_MIN = 16  # documents read in the first round, at least (a page of 20 usually needs 20)
_CHUNK_MAX = 500  # ids in one IN (...) list


def candidates(
    conn: sqlite3.Connection, tenant: str, geo: GeoQuery, type_names: list[str] | None
) -> tuple[list[str], set[str]]:
    """The ids, in id order, of the entities that may match `geo` (and be of one of `type_names`, when given),
    and those of them known to match already (a Point instance in the relation)."""
    if type_names is not None:
        statement = sql.SELECT_GEO_KEYS.format(marks=",".join("?" * len(type_names)))
        keys = [key for (key,) in conn.execute(statement, (tenant, geo.geoproperty, *type_names))]
    else:
        keys = [key for (key,) in conn.execute(sql.SELECT_ALL_GEO_KEYS, (tenant, geo.geoproperty))]
    if not keys:
        return [], set()
    return decide(geo, entries_of(conn, keys, query_bbox(geo)))


def entries_of(
    conn: sqlite3.Connection, keys: list[int], box: tuple[float, float, float, float] | None
) -> list[tuple[str, float | None, float | None]]:
    """The index entries of `keys` (entity id, a Point's position or None) that may meet `box` (None: all)."""
    marks = ",".join("?" * len(keys))
    if box is None:
        return conn.execute(sql.GEO_ENTRIES_OF_KEYS.format(marks=marks), keys).fetchall()
    ranges = orjson.dumps([(key, first, last) for first, last in cell_ranges(box) for key in keys]).decode()
    entries = conn.execute(sql.GEO_POINTS_IN_CELLS, (ranges, box[0], box[2], box[1], box[3])).fetchall()
    statement = sql.GEO_SHAPES_IN_BOX_OF_KEYS.format(keys=sql.GEO_KEYS, marks=marks)
    entries.extend(conn.execute(statement, (box[2], box[0], box[3], box[1], *keys)))
    return entries


def decide(geo: GeoQuery, entries: list[tuple[str, float | None, float | None]]) -> tuple[list[str], set[str]]:
    """From index entries (entity id, a Point's position or None), the entities left to look at, in id
    order, and those that match already. An entity matches when any instance does (matches_geo): a Point
    instance in the relation decides it; an entity whose Point instances are all outside and that has no
    other geometry is out; the rest are decided on their documents."""
    if not entries:
        return [], set()
    entity_ids, longitudes, latitudes = zip(*entries)
    lon = np.array(longitudes, dtype=float)  # None (not a Point) becomes NaN
    lat = np.array(latitudes, dtype=float)
    inside = points_match(geo, lon, lat)
    if inside is None:  # no shortcut for this relation: every candidate is read
        return sorted(set(entity_ids)), set()
    not_point = np.isnan(lon) | np.isnan(lat)
    inside &= ~not_point
    matched = set(compress(entity_ids, inside.tolist()))
    return sorted(matched.union(compress(entity_ids, not_point.tolist()))), matched


def page_in_id_order(
    conn: sqlite3.Connection,
    geo: GeoQuery,
    ids: list[str],
    matched: set[str],
    condition: str,
    params: list[Any],
    *,
    limit: int,
    offset: int,
    count: bool,
) -> tuple[list[ExpandedEntity], int | None]:
    """The page of the candidates `ids` (in id order) that satisfy `condition` (the rest of the query, in
    SQL over `entities`) and the geo-query (known for `matched`, else decided on the document)."""

    def documents() -> Iterator[tuple[str, str]]:
        start, size = 0, max(_FIRST_CHUNK_MIN, min(offset + limit, _CHUNK_MAX))
        while start < len(ids):
            chunk = ids[start : start + size]
            yield from conn.execute(
                f"SELECT id, doc FROM entities WHERE {condition} AND id IN ({','.join('?' * len(chunk))}) ORDER BY id",
                (*params, *chunk),
            )
            start, size = start + size, _CHUNK_MAX

    return geo_page(((doc, entity_id in matched) for entity_id, doc in documents()), geo, limit=limit, offset=offset, count=count)


def geo_page(
    documents: Iterator[tuple[str, bool]], geo: GeoQuery, *, limit: int, offset: int, count: bool
) -> tuple[list[ExpandedEntity], int | None]:
    """The page [offset, offset + limit) of the documents, in their order, whose geometry matches `geo`
    exactly (or is known to: the flag beside each document), and the number of matches when `count`
    (else reading stops at the page's end)."""
    page: list[ExpandedEntity] = []
    matched = 0
    for doc, known in documents:
        entity = None
        if not known:
            entity = orjson.loads(doc)
            if not matches_geo(geo, entity):
                continue
        if offset <= matched < offset + limit:
            page.append(entity if entity is not None else orjson.loads(doc))
        matched += 1
        if not count and matched >= offset + limit:
            return page, None
    return page, matched if count else None


__all__ = ["candidates", "decide", "entries_of", "page_in_id_order", "geo_page"]
