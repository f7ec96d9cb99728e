# SPDX-License-Identifier: EUPL-1.2
"""What a batch upsert costs the SQLite writer, counted in instructions: a figure that a shared, noisy
machine does not move.

    .venv/bin/python bench/writer_cost.py                  # creation and update, 3 batches each
    .venv/bin/python bench/writer_cost.py --kind update --batches 5

Wall-clock rates on the machines this project is measured on move by 10-25 % from one minute to the
next (other tenants, CPU steal, a busy SMT sibling), which hides a change worth 5 %. This counts the
instructions that SqliteStore.batch_modify executes per entity under valgrind's callgrind (`apt-get
install -y valgrind`): a store of `--entities` (20,000) bench entities (bench/run.py's make_entity)
is built once without valgrind; then, under callgrind, a copy of it takes `--batches` batches of
1,000 items through the same parse, expand and change functions as POST /entityOperations/upsert
(new entities for `create`; for `update`, options=update with one new measurement each, as
bench/run.py's update load). The same run without the batch_modify calls is subtracted, so start-up,
parsing and the building of the changes are not counted. Kernel time (write, fsync) is not
instructions: the WAL bytes the batches wrote are reported beside (autocheckpoint off), and
--pages tells which tables and indexes those pages belong to.

The same command on two commits, in any minutes, compares them; the figures are not a rate.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import os
import random
import re
import shutil
import sqlite3
import struct
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

BATCH = 1000


def _changes(items: list[dict[str, Any]], create: bool) -> list[tuple[str, Any]]:
    from broker.entities import batch, normalize
    from broker.entities.operations import now_iso
    from broker.ld.context import core_term_map

    term_map = core_term_map()
    now = now_iso()
    changes = []
    for item in items:
        entity = normalize.parse_expanded_entity(item, term_map, require_type=create)
        change = batch.upsert(entity, now, replace=True) if create else batch.update(entity, now, no_overwrite=False)
        changes.append((entity["id"], change))
    return changes


async def build(db: str, entities: int) -> None:
    """The starting store: `entities` bench entities, written as the load writes them."""
    import run  # bench/run.py

    from broker.store import SqliteStore

    rng = random.Random(7)
    async with SqliteStore(db) as store:
        for start in range(0, entities, BATCH):
            items = [run.make_entity(n, rng) for n in range(start, min(entities, start + BATCH))]
            await store.batch_modify("", _changes(items, create=True))


async def batches(db: str, entities: int, count: int, kind: str, write: bool) -> None:
    """`count` batches of `kind` on a copy of `db`; with `write` False, everything but batch_modify."""
    import run  # bench/run.py

    from broker.store import SqliteStore

    gc.set_threshold(100_000, 10, 10)  # as `citycontext serve` sets it (setting gc_gen0_threshold)
    work = db + ".work"
    shutil.copy(db, work)
    rng = random.Random(11)
    prepared = []
    for b in range(count):
        if kind == "create":
            first = entities + b * BATCH
            prepared.append(_changes([run.make_entity(n, rng) for n in range(first, first + BATCH)], create=True))
        else:
            first = (b * 7 * BATCH) % max(entities - BATCH, 1)
            prepared.append(_changes([run.new_measurement(n, rng) for n in range(first, first + BATCH)], create=False))
    async with SqliteStore(work) as store:
        await store._on_writer(lambda: store._wconn.execute("PRAGMA wal_autocheckpoint = 0"))  # type: ignore[union-attr]
        for changes in prepared if write else ():
            outcomes = await store.batch_modify("", changes)
            failed = [o for o in outcomes if o.error is not None]
            if failed:
                raise SystemExit(f"{len(failed)} items failed: {failed[0].error}")
        if write:
            shutil.copy(work + "-wal", work + ".kept-wal")  # before the close checkpoints it away


def _instructions(args: argparse.Namespace, db: str, write: bool) -> int:
    out = Path(tempfile.mkdtemp(prefix="writer-cost-")) / "callgrind.out"
    command = [
        "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
        sys.executable, __file__, "--_batches", db, "--entities", str(args.entities),
        "--batches", str(args.batches), "--kind", args.kind, *([] if write else ["--_dry"]),
    ]
    # A fixed hash seed: set and dict iteration orders, and with them a few branches, move with it.
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    match = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or match is None:
        raise SystemExit(f"callgrind failed:\n{done.stderr[-2000:]}")
    shutil.rmtree(out.parent)
    return int(match.group(1))


def _pages(db: str) -> collections.Counter[str]:
    """The table or index of each page in the kept WAL of the batches."""
    wal = Path(db + ".work.kept-wal").read_bytes()
    page_size = struct.unpack(">I", wal[8:12])[0]
    pages = set()
    for offset in range(32, len(wal) - 24, 24 + page_size):
        pages.add(struct.unpack(">I", wal[offset : offset + 4])[0])
    check = db + ".pages"
    shutil.copy(db + ".work", check)
    shutil.copy(db + ".work.kept-wal", check + "-wal")
    conn = sqlite3.connect(check)
    try:
        owner = dict(conn.execute("SELECT pageno, name FROM dbstat").fetchall())
    finally:
        conn.close()
    return collections.Counter(owner.get(page, "?") for page in pages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entities", type=int, default=20_000, help="entities in the store before the batches")
    parser.add_argument("--batches", type=int, default=3, help="batches of 1,000 counted")
    parser.add_argument("--kind", choices=("create", "update", "both"), default="both")
    parser.add_argument("--pages", action="store_true", help="the tables and indexes of the pages the batches wrote")
    parser.add_argument("--_batches", dest="run_batches", help=argparse.SUPPRESS)
    parser.add_argument("--_dry", dest="dry", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_batches:
        asyncio.run(batches(args.run_batches, args.entities, args.batches, args.kind, write=not args.dry))
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed: apt-get install -y valgrind")
    with tempfile.TemporaryDirectory(prefix="writer-cost-") as folder:
        db = os.path.join(folder, "store.db")
        asyncio.run(build(db, args.entities))
        for kind in ("create", "update") if args.kind == "both" else (args.kind,):
            args.kind = kind
            items = args.batches * BATCH
            per_entity = (_instructions(args, db, True) - _instructions(args, db, False)) / items
            wal_bytes = Path(db + ".work.kept-wal").stat().st_size
            print(f"{kind}: {per_entity:,.0f} instructions and {wal_bytes / items:,.0f} WAL bytes per entity "
                  f"({args.batches} batches of {BATCH} into {args.entities:,} entities)", flush=True)
            if args.pages:
                for name, count in _pages(db).most_common():
                    print(f"    {name:32} {count / args.batches:8.1f} pages per batch")


if __name__ == "__main__":
    main()
