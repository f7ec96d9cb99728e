# SPDX-License-Identifier: EUPL-1.2
"""Open-data downloads of the history: every instance of some attributes of every entity of a type.

One row per attribute instance ("long" format, the usual shape of open time series): entity id and
type, attribute, datasetId, observedAt, value and unitCode, names compacted with the core @context
(or the caller's). Formats:

- csv: a first line "# <licence> (<url>); <attribution>", then a header and the rows (read with
  pandas.read_csv(..., comment="#") or skip the first line);
- geojson: a FeatureCollection whose foreign members "licence", "licenceUrl" and "attribution"
  name the licence; each Feature's geometry is the entity's current location;
- jsonl: JSON Lines, the first line {"licence", "licenceUrl", "attribution"}, then one row each.

Rows are read from the store in chunks (keyset paging on the history index) and written as they
come, so the memory a download needs does not grow with its size. Deletion records are left out;
with a from/to range only instances with an observedAt inside [from, to) are exported.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import orjson

from broker.ld import TermMap, compact_instance, core_term_map
from broker.settings import Settings
from broker.store.base import Store
from broker.temporal.instances import VALUE_MEMBER
from broker.temporal.model import HistoryCursor, HistoryWindow
from broker.temporal.times import format_ms, parse_date_or_datetime

FORMATS = ("csv", "geojson", "jsonl")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "geojson": "application/geo+json", "jsonl": "application/jsonl"}
COLUMNS = ("entity_id", "entity_type", "attribute", "dataset_id", "observed_at", "value", "unit_code")
CHUNK_ROWS = 5000
_ENTITY_BATCH = 500


@dataclass(frozen=True, slots=True)
class Licence:
    text: str
    url: str
    attribution: str

    def line(self) -> str:
        where = f" ({self.url})" if self.url else ""
        return f"{self.text}{where}; {self.attribution}"

    def members(self) -> dict[str, str]:
        return {"licence": self.text, "licenceUrl": self.url, "attribution": self.attribution}


@dataclass(frozen=True, slots=True)
class Export:
    """What to download: entities of one type (IRI), some attributes (IRIs; None: all), a time range."""

    entity_type: str
    attributes: tuple[str, ...] | None = None
    start_ms: int | None = None
    end_ms: int | None = None
    geoproperty: str = "https://uri.etsi.org/ngsi-ld/location"


async def export(
    store: Store, tenant: str, what: Export, fmt: str, tm: TermMap, licence: Licence, *, chunk_rows: int = CHUNK_ROWS
) -> AsyncIterator[bytes]:
    """The download as chunks of bytes, written while the rows are read."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    if fmt == "csv":
        yield f"# {licence.line()}\r\n".encode()
        yield (",".join(COLUMNS) + "\r\n").encode()
    elif fmt == "jsonl":
        yield orjson.dumps(licence.members()) + b"\n"
    else:
        yield b'{"type":"FeatureCollection",' + orjson.dumps(licence.members())[1:-1] + b',"features":['
    first = True
    async for rows, geometry in _chunks(store, tenant, what, tm, chunk_rows):
        if fmt == "csv":
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerows([_csv_cell(value) for value in row] for row in rows)
            yield buffer.getvalue().encode()
        elif fmt == "jsonl":
            yield b"".join(orjson.dumps(dict(zip(COLUMNS, row))) + b"\n" for row in rows)
        else:
            features = b",".join(
                orjson.dumps({"type": "Feature", "geometry": geometry, "properties": dict(zip(COLUMNS, row))})
                for row in rows
            )
            yield features if first else b"," + features
            first = False
    if fmt == "geojson":
        yield b"]}"


async def _chunks(
    store: Store, tenant: str, what: Export, tm: TermMap, chunk_rows: int
) -> AsyncIterator[tuple[list[tuple[Any, ...]], Any]]:
    bounded = what.start_ms is not None or what.end_ms is not None
    window = HistoryWindow(start_ms=what.start_ms, end_ms=what.end_ms, bounded=bounded)
    after_id: str | None = None
    while True:
        entities = await store.history_entities(
            tenant,
            types=[what.entity_type],
            attrs=list(what.attributes) if what.attributes is not None else None,
            after_id=after_id,
            limit=_ENTITY_BATCH,
        )
        for entity in entities:
            if what.entity_type not in entity.types:
                continue
            entity_type = tm.compact_type(what.entity_type)
            geometry = await _geometry(store, tenant, entity.id, what.geoproperty)
            attributes = await store.history_attributes(tenant, entity.id)
            for attribute in attributes:
                if what.attributes is not None and attribute not in what.attributes:
                    continue
                name = tm.compact_iri(attribute)
                cursor: HistoryCursor | None = None
                while True:
                    instances = await store.read_history(
                        tenant, entity.id, attribute, window, limit=chunk_rows, after=cursor
                    )
                    rows = [
                        _row(entity.id, entity_type, name, instance.dataset_id, instance.doc, instance.time_ms, tm)
                        for instance in instances
                        if instance.deleted_at_ms is None
                    ]
                    if rows:
                        yield rows, geometry
                    if len(instances) < chunk_rows:
                        break
                    cursor = HistoryCursor(instances[-1].time_ms, instances[-1].row_id)
        if len(entities) < _ENTITY_BATCH:
            return
        after_id = entities[-1].id


def _row(
    entity_id: str, entity_type: str, attribute: str, dataset_id: str, doc: dict[str, Any], time_ms: int, tm: TermMap
) -> tuple[Any, ...]:
    compacted = compact_instance(doc, tm)
    value = compacted.get(VALUE_MEMBER.get(str(compacted.get("type", "Property")), "value"))
    observed = compacted.get("observedAt")
    return (
        entity_id,
        entity_type,
        attribute,
        dataset_id,
        observed if isinstance(observed, str) else format_ms(time_ms),
        value,
        compacted.get("unitCode", ""),
    )


def _csv_cell(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


async def _geometry(store: Store, tenant: str, entity_id: str, geoproperty: str) -> Any:
    current = await store.retrieve_entity(tenant, entity_id)
    for instance in (current or {}).get(geoproperty, []):
        if isinstance(instance, dict) and instance.get("type") == "GeoProperty":
            return instance.get("value")
    return None


async def download_to(
    output: BinaryIO,
    settings: Settings,
    *,
    entity_type: str,
    attrs: list[str] | None,
    start: str | None,
    end: str | None,
    fmt: str,
    tenant: str = "",
) -> None:
    """`citycontext export`: open the store named by the settings and write the download to `output`.

    Names are terms of the core @context (as a client without a Link header writes them)."""
    from broker.store import (
        open_store,  # the stores import broker.temporal: import them late
    )

    tm = core_term_map()
    what = Export(
        entity_type=tm.expand_type(entity_type),
        attributes=tuple(tm.expand_term(name) for name in attrs) if attrs else None,
        start_ms=parse_date_or_datetime(start, "--from", end=False) if start else None,
        end_ms=parse_date_or_datetime(end, "--to", end=True) if end else None,
        geoproperty=tm.expand_term("location"),
    )
    licence = Licence(settings.open_data_licence, settings.open_data_licence_url, settings.open_data_attribution)
    async with open_store(settings) as store:
        async for chunk in export(store, tenant, what, fmt, tm, licence):
            output.write(chunk)
    output.flush()


__all__ = ["CHUNK_ROWS", "COLUMNS", "FORMATS", "MEDIA_TYPES", "Export", "Licence", "download_to", "export"]
