# SPDX-License-Identifier: EUPL-1.2
"""Reproducible broker benchmarks: start `citycontext serve` on a chosen store, load a Hamm-like
dataset through the API, then drive each scenario from this (separate) process over loopback.

    .venv/bin/python bench/run.py --store sqlite --entities 100000 --connections 8 --seconds 10

Each scenario reports requests/s, p50/p95/p99 latency (ms), errors (must be 0) and the broker's
peak RSS; the framework ceiling (GET /health: the same server stack doing nothing) is measured in
the same run, so every figure can be read as a ratio on a noisy machine. Results go to
bench/results/<timestamp>.json and one line per scenario to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
API = "/ngsi-ld/v1"
HBF = (7.8075, 51.6783)
TYPES = ("OffStreetParking", "WeatherObserved", "BikeHireDockingStation", "TrafficFlowObserved")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_entity(n: int, rng: random.Random) -> dict[str, Any]:
    entity_type = TYPES[n % len(TYPES)]
    lon, lat = rng.uniform(7.70, 7.95), rng.uniform(51.60, 51.75)
    entity: dict[str, Any] = {
        "id": f"urn:ngsi-ld:{entity_type}:bench-{n}",
        "type": entity_type,
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]}},
        "name": {"type": "Property", "value": f"{entity_type} {n}"},
    }
    if entity_type == "OffStreetParking":
        entity["availableSpotNumber"] = {"type": "Property", "value": rng.randint(0, 500), "observedAt": "2026-11-26T08:00:00Z"}
        entity["totalSpotNumber"] = {"type": "Property", "value": 500}
    elif entity_type == "WeatherObserved":
        entity["temperature"] = {"type": "Property", "value": round(rng.uniform(-5, 35), 1), "unitCode": "CEL"}
    elif entity_type == "BikeHireDockingStation":
        entity["availableBikeNumber"] = {"type": "Property", "value": rng.randint(0, 20)}
    else:
        entity["intensity"] = {"type": "Property", "value": rng.randint(0, 2000)}
    return entity


class Broker:
    """`citycontext serve` as a child process, with its peak RSS read from /proc."""

    def __init__(self, store: str, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "CITYCONTEXT_LOG_LEVEL": "warning"}
        self.process = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "citycontext"), "serve", "--port", str(self.port), "--store", store],
            cwd=workdir,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    async def wait(self, session: aiohttp.ClientSession) -> None:
        for _ in range(300):
            try:
                async with session.get(self.url + "/health") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
        raise RuntimeError("the broker did not start")

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


Request = Callable[[aiohttp.ClientSession, random.Random], Any]


async def drive(session: aiohttp.ClientSession, request: Request, connections: int, seconds: float) -> dict[str, Any]:
    """Closed-loop load: `connections` workers, each sending the next request when the last returns."""
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def worker(seed: int) -> None:
        nonlocal errors
        rng = random.Random(seed)
        while time.perf_counter() < deadline:
            method, url, kwargs, ok = request(session, rng)
            started = time.perf_counter()
            async with session.request(method, url, **kwargs) as response:
                await response.read()
                if response.status not in ok:
                    errors += 1
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker(seed) for seed in range(connections)))
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 3) if latencies else 0.0

    return {
        "requests": len(latencies),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 3) if latencies else 0.0,
        "errors": errors,
    }


def scenarios(base: str, entities: int) -> dict[str, Request]:
    q = {"type": "OffStreetParking", "q": "availableSpotNumber>250;totalSpotNumber==500", "limit": "20"}
    near = {"type": "BikeHireDockingStation", "georel": "near;maxDistance==1000", "geometry": "Point", "limit": "20"}
    polygon = "[[[7.80,51.67],[7.83,51.67],[7.83,51.69],[7.80,51.69],[7.80,51.67]]]"
    within = {"type": "WeatherObserved", "georel": "within", "geometry": "Polygon", "coordinates": polygon, "limit": "20"}

    def random_id(rng: random.Random) -> str:
        n = rng.randrange(entities)
        return f"urn:ngsi-ld:{TYPES[n % len(TYPES)]}:bench-{n}"

    def coordinates(rng: random.Random) -> str:
        return f"[{rng.uniform(7.75, 7.90):.5f},{rng.uniform(51.63, 51.72):.5f}]"

    return {
        "framework ceiling (GET /health)": lambda s, rng: ("GET", f"{base}/health", {}, (200,)),
        "GET entity by id": lambda s, rng: ("GET", f"{base}{API}/entities/{random_id(rng)}", {}, (200,)),
        "PATCH one attribute": lambda s, rng: (
            "PATCH",
            f"{base}{API}/entities/urn:ngsi-ld:OffStreetParking:bench-{4 * rng.randrange(entities // 4)}/attrs/availableSpotNumber",
            {"json": {"value": rng.randint(0, 500)}},
            (204,),
        ),
        "query type+q (20 results)": lambda s, rng: ("GET", f"{base}{API}/entities", {"params": q}, (200,)),
        "geo near 1 km": lambda s, rng: (
            "GET", f"{base}{API}/entities", {"params": {**near, "coordinates": coordinates(rng)}}, (200,)
        ),
        "geo within polygon": lambda s, rng: ("GET", f"{base}{API}/entities", {"params": within}, (200,)),
    }


async def load(session: aiohttp.ClientSession, base: str, entities: int, batch: int) -> dict[str, Any]:
    rng = random.Random(42)
    started = time.perf_counter()
    errors = 0
    for start in range(0, entities, batch):
        items = [make_entity(n, rng) for n in range(start, min(entities, start + batch))]
        async with session.post(f"{base}{API}/entityOperations/upsert", json=items) as response:
            await response.read()
            if response.status not in (201, 204):
                errors += 1
    elapsed = time.perf_counter() - started
    return {"entities": entities, "entities_per_s": round(entities / elapsed, 1), "seconds": round(elapsed, 1), "errors": errors}


async def raw_ceiling(store: str, workdir: Path, entities: int, batch: int) -> dict[str, Any]:
    """The raw store doing the batch-upsert load's work: the same JSON rows, in the same batches (one
    transaction each), into a bare (id, doc) table; no broker, HTTP, JSON-LD or indexes but the key.
    SQLite: executemany in WAL mode with synchronous=FULL (the broker's default); PostgreSQL:
    asyncpg copy_records_to_table into a jsonb column (dropped afterwards)."""
    rng = random.Random(42)
    batches = [
        [make_entity(n, rng) for n in range(start, min(entities, start + batch))] for start in range(0, entities, batch)
    ]
    if store.startswith("sqlite"):
        import sqlite3

        connection = sqlite3.connect(workdir / "raw-ceiling.db", isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute("CREATE TABLE raw_entities (id TEXT PRIMARY KEY, doc TEXT NOT NULL)")
        started = time.perf_counter()
        for items in batches:
            connection.execute("BEGIN")
            connection.executemany(
                "INSERT OR REPLACE INTO raw_entities (id, doc) VALUES (?, ?)",
                [(item["id"], json.dumps(item)) for item in items],
            )
            connection.execute("COMMIT")
        elapsed = time.perf_counter() - started
        connection.close()
    else:
        import asyncpg  # type: ignore[import-untyped]

        conn = await asyncpg.connect(store)
        try:
            await conn.execute("CREATE TABLE bench_raw_ceiling (id text COLLATE \"C\" PRIMARY KEY, doc jsonb NOT NULL)")
            started = time.perf_counter()
            for items in batches:
                await conn.copy_records_to_table(
                    "bench_raw_ceiling", records=[(item["id"], json.dumps(item)) for item in items], columns=["id", "doc"]
                )
            elapsed = time.perf_counter() - started
        finally:
            await conn.execute("DROP TABLE IF EXISTS bench_raw_ceiling")
            await conn.close()
    return {"entities": entities, "entities_per_s": round(entities / elapsed, 1), "seconds": round(elapsed, 1), "errors": 0}


def machine() -> str:
    model = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
        platform.processor(),
    )
    return f"{os.cpu_count()} cores, {model}"


def commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", default="sqlite", help="sqlite, or a postgresql:// URL of an empty database")
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--only", default="", help="comma-separated scenario name prefixes to run")
    parser.add_argument(
        "--raw-ceiling",
        action="store_true",
        help="also time the raw store doing the batch-upsert load's work (bare table) and report broker/ceiling",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="citycontext-bench-") as workdir:
        store = f"sqlite:///{workdir}/bench.db" if args.store == "sqlite" else args.store
        broker = Broker(store, Path(workdir))
        results: dict[str, Any] = {}
        try:
            connector = aiohttp.TCPConnector(limit=args.connections + 4)
            async with aiohttp.ClientSession(connector=connector) as session:
                await broker.wait(session)
                results["batch upsert (1,000 per batch)"] = await load(session, broker.url, args.entities, args.batch)
                print("load", results["batch upsert (1,000 per batch)"], flush=True)
                for name, request in scenarios(broker.url, args.entities).items():
                    if args.only and not any(name.startswith(prefix) for prefix in args.only.split(",")):
                        continue
                    results[name] = await drive(session, request, args.connections, args.seconds)
                    print(name, results[name], flush=True)
        finally:
            rss = broker.peak_rss_mb()
            broker.stop()
        if args.raw_ceiling:
            load_name = "batch upsert (1,000 per batch)"
            raw = await raw_ceiling(store, Path(workdir), args.entities, args.batch)
            if load_name in results:
                raw["broker_to_raw_ceiling"] = round(results[load_name]["entities_per_s"] / raw["entities_per_s"], 3)
            results["raw store ceiling (bare-table batch insert)"] = raw
            print("raw ceiling", raw, flush=True)

    ceiling = results.get("framework ceiling (GET /health)", {}).get("rps")
    for name, figures in results.items():
        if ceiling and "rps" in figures and not name.startswith("framework"):
            figures["ratio_to_framework_ceiling"] = round(figures["rps"] / ceiling, 3)
    record = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "commit": commit(),
        "machine": machine(),
        "store": args.store.split("://")[0],
        "entities": args.entities,
        "connections": args.connections,
        "seconds_per_scenario": args.seconds,
        "broker_peak_rss_mb": round(rss, 1),
        "command": "python " + " ".join(sys.argv),
        "results": results,
    }
    out = ROOT / "bench" / "results" / f"{record['date'].replace(':', '')}-{record['store']}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n")
    lines = [
        f"| {record['date'][:10]} | {record['commit']} | {record['store']} | {args.entities} | {name} | "
        f"{f.get('rps', f.get('entities_per_s', ''))} | {f.get('p50_ms', '')} | {f.get('p95_ms', '')} | {f.get('p99_ms', '')} | "
        f"{f.get('errors', '')} | {f.get('ratio_to_framework_ceiling', f.get('broker_to_raw_ceiling', ''))} | "
        f"{record['broker_peak_rss_mb']} |"
        for name, f in results.items()
    ]
    with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as results_md:
        results_md.write("\n".join(lines) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    asyncio.run(main())
