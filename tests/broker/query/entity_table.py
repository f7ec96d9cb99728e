# SPDX-License-Identifier: EUPL-1.2
"""The vector entities, and a real in-memory SQLite `entities` table (the store's MIGRATIONS) to run SQL on."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from broker.ld import ExpandedEntity, TermMap, compile_context, expand_entity
from broker.query import register_functions
from broker.store.sqlite import MIGRATIONS

VECTORS = Path(__file__).parent / "vectors"
TENANT = "urn:ngsi-ld:tenant:query-tests"


def load_vectors(name: str) -> dict[str, Any]:
    return json.loads((VECTORS / name).read_text())  # type: ignore[no-any-return]


def vector_entities() -> tuple[TermMap, list[ExpandedEntity]]:
    document = load_vectors("entities.json")
    term_map = compile_context(document["context"])
    return term_map, [expand_entity(entity, term_map) for entity in document["entities"]]


def entity_table(entities: Iterable[ExpandedEntity]) -> sqlite3.Connection:
    connection = sqlite3.connect(":memory:")
    register_functions(connection)
    for script in MIGRATIONS:
        for statement in script.split(";"):
            if statement.strip():
                connection.execute(statement)
    connection.executemany(
        "INSERT INTO entities (tenant, id, types, created_at, modified_at, doc) VALUES (?, ?, ?, ?, ?, ?)",
        [
            (
                TENANT,
                entity["id"],
                json.dumps(entity.get("type", [])),
                "2026-11-26T00:00:00Z",
                "2026-11-26T00:00:00Z",
                json.dumps(entity),
            )
            for entity in entities
        ],
    )
    return connection


def select_ids(connection: sqlite3.Connection, where: str, params: list[Any]) -> set[str]:
    rows = connection.execute(f"SELECT id FROM entities WHERE tenant = ? AND ({where})", [TENANT, *params]).fetchall()
    return {row[0] for row in rows}
