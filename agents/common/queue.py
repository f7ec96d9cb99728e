# SPDX-License-Identifier: EUPL-1.2
"""The durable queue between southbound and northbound: an SQLite file in WAL mode.

An agent acknowledges a southbound message (MQTT PUBACK, HTTP 200) only after its updates are
committed here, so a crash or restart loses nothing that was acknowledged. Updates leave the queue
in insertion order (seq) and only once the broker has acknowledged them; updates the broker refuses
for good go to `dead_letter` with the broker's answer, so they are kept for an operator but never
block the queue. `seen` remembers recent southbound message keys, so a message that MQTT redelivers
after a restart (DUP flag) is not queued twice.

With synchronous=NORMAL a commit survives a crash of the agent process (WAL); FULL survives a power
cut too, at an fsync per commit. Calls are synchronous and short: the agents call them from their
event loop (one commit per group of messages, not per message).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

from agents.common.ngsi import Update

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    broker_url TEXT NOT NULL,
    tenant TEXT,
    entity BLOB NOT NULL,
    device_id TEXT NOT NULL,
    received_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS dead_letter (
    seq INTEGER PRIMARY KEY,
    broker_url TEXT NOT NULL,
    tenant TEXT,
    entity BLOB NOT NULL,
    device_id TEXT NOT NULL,
    received_at REAL NOT NULL,
    failed_at REAL NOT NULL,
    reason TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS seen (
    key TEXT PRIMARY KEY,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS seen_at ON seen (at);
"""
SEEN_RETENTION_S = 24 * 3600


@dataclass(frozen=True, slots=True)
class QueuedUpdate:
    seq: int
    update: Update


class DurableQueue:
    def __init__(self, path: str | Path, *, synchronous: str = "NORMAL") -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={'FULL' if synchronous == 'FULL' else 'NORMAL'}")
        self._db.executescript(_SCHEMA)
        self._depth = int(self._db.execute("SELECT count(*) FROM outbox").fetchone()[0])
        self._puts = 0

    @property
    def depth(self) -> int:
        return self._depth

    def put_many(self, updates: Sequence[Update], seen_keys: Iterable[str] = ()) -> None:
        """Commit the updates (in order) and the southbound keys in one transaction."""
        now = time.time()
        keys = list(seen_keys)
        if not updates and not keys:
            return
        with self._transaction():
            self._db.executemany(
                "INSERT INTO outbox (broker_url, tenant, entity, device_id, received_at) VALUES (?, ?, ?, ?, ?)",
                [(u.broker_url, u.tenant, orjson.dumps(u.entity), u.device_id, u.received_at) for u in updates],
            )
            if keys:
                self._db.executemany("INSERT OR REPLACE INTO seen (key, at) VALUES (?, ?)", [(k, now) for k in keys])
            self._puts += 1
            if self._puts % 1000 == 0:
                self._db.execute("DELETE FROM seen WHERE at < ?", (now - SEEN_RETENTION_S,))
        self._depth += len(updates)

    def seen(self, key: str) -> bool:
        row = self._db.execute("SELECT at FROM seen WHERE key = ?", (key,)).fetchone()
        return row is not None and row[0] >= time.time() - SEEN_RETENTION_S

    def head(self, limit: int) -> list[QueuedUpdate]:
        rows = self._db.execute(
            "SELECT seq, broker_url, tenant, entity, device_id, received_at FROM outbox ORDER BY seq LIMIT ?", (limit,)
        ).fetchall()
        return [
            QueuedUpdate(seq, Update(broker_url, tenant, orjson.loads(entity), device_id, received_at))
            for seq, broker_url, tenant, entity, device_id, received_at in rows
        ]

    def remove(self, seqs: Sequence[int]) -> None:
        if not seqs:
            return
        with self._transaction():
            self._db.executemany("DELETE FROM outbox WHERE seq = ?", [(s,) for s in seqs])
        self._depth -= len(seqs)

    def dead_letter(self, items: Sequence[QueuedUpdate], reason: str) -> None:
        if not items:
            return
        now = time.time()
        with self._transaction():
            self._db.executemany(
                "INSERT OR REPLACE INTO dead_letter (seq, broker_url, tenant, entity, device_id, received_at, failed_at, reason)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (i.seq, i.update.broker_url, i.update.tenant, orjson.dumps(i.update.entity), i.update.device_id,
                     i.update.received_at, now, reason)
                    for i in items
                ],
            )
            self._db.executemany("DELETE FROM outbox WHERE seq = ?", [(i.seq,) for i in items])
        self._depth -= len(items)

    def dead_letters(self) -> list[tuple[str, str, str]]:
        """(device id, entity id, reason) of every refused update, oldest first."""
        rows = self._db.execute("SELECT device_id, entity, reason FROM dead_letter ORDER BY seq").fetchall()
        return [(device_id, orjson.loads(entity).get("id", ""), reason) for device_id, entity, reason in rows]

    def close(self) -> None:
        self._db.close()

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")
