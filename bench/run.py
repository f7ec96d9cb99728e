# SPDX-License-Identifier: EUPL-1.2
"""Reproducible broker benchmarks (issue 10): start `citycontext serve` on a chosen store, load a
Hamm-like dataset through the API, then drive each scenario from a separate process over loopback.

    .venv/bin/python bench/run.py --store sqlite --entities 100000 --connections 8 --seconds 10

The load generator is wrk (one Lua script per scenario, generated from bench/wrk/bench.lua) when
`wrk` is on PATH, else a closed loop of aiohttp clients (`--driver`). With `--pin` (the default on a
machine of two cores or more) the broker runs on core 0 and the load generator on core 1: one
broker process, one core each. Each scenario reports requests/s, p50/p95/p99 latency (ms), errors
(must be 0) and the size of its response body. Two ceilings are measured in the same run, so that
figures from a noisy, shared machine can be read as ratios: the framework ceiling (GET /version:
the same server stack doing nothing) and, after the broker has stopped, the raw store doing the
scenario's database work on the broker's own database (GET by id, PATCH, merge-patch, create,
batch upsert). The broker's RSS is read from /proc after the load, at the end, and at its peak.
Results go to bench/results/<timestamp>-<store>.json and one line per scenario to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import random
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import orjson
from yarl import URL

ROOT = Path(__file__).resolve().parents[1]
API = "/ngsi-ld/v1"
HBF = (7.8075, 51.6783)
TYPES = ("OffStreetParking", "WeatherObserved", "BikeHireDockingStation", "TrafficFlowObserved")
# Terms sent without an @context expand with the core context's default vocabulary.
DEFAULT_VOCAB = "https://uri.etsi.org/ngsi-ld/default-context/"
WRK_COMMON = Path(__file__).resolve().parent / "wrk" / "bench.lua"
LOAD = "batch upsert (1,000 per batch)"
UPDATE_LOAD = "batch upsert of existing entities (options=update, 1,000 per batch)"
FRAMEWORK = "framework ceiling (GET /version)"
RAW_BATCH = "raw store ceiling (bare-table batch insert)"
BROKER_CPU, GENERATOR_CPU = 0, 1
RESULTS_HEADER = (
    "| date | commit | store | entities | scenario | rate | p50 ms | p95 ms | p99 ms | errors | ratio | "
    "broker peak RSS MB | ratio to raw store | raw store rate | response bytes (ceiling's) | "
    "RSS after load MB | RSS at end MB | driver | pinned | connections | machine |"
)
RESULTS_BLOCK = f"""
## The broker under load (bench/run.py, issue 10: wrk, pinning, raw store ceilings)

Written by `bench/run.py` (see bench/README.md): one line per scenario and run; the first twelve
columns mean what they mean in the first bench/run.py table. "ratio" is the scenario's rate over
the framework ceiling (GET /version, same run; GET /health before 2026-11-26 20:45). "ratio to raw store" is its rate over "raw store
rate": the store doing the same database work on the broker's database, from one connection, after
the broker stopped (rows/s: SELECT by id; read, change, UPDATE and COMMIT each row; INSERT and
COMMIT each row; the bare-table batch insert). The broker shares one COMMIT among concurrent writes,
so its ratio on writes can exceed 1 (the JSON also has the raw rate with one COMMIT per
`--connections` rows). Query and geo have no raw ceiling. "response bytes" is the scenario's mean
response body size, the framework ceiling's in brackets. RSS is the broker's: VmRSS after the load
and at the end; "broker peak RSS" is VmHWM. "pinned" is broker core/load generator core, or "no".

{RESULTS_HEADER}
|{"---|" * RESULTS_HEADER.count(" | ") + "---|"}
"""


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


def new_parking(entity_id: str, rng: random.Random) -> dict[str, Any]:
    """The body of the "create entity" scenario (the wrk script builds the same one in Lua)."""
    return {
        "id": entity_id,
        "type": "OffStreetParking",
        "location": {
            "type": "GeoProperty",
            "value": {"type": "Point", "coordinates": [round(rng.uniform(7.70, 7.95), 5), round(rng.uniform(51.60, 51.75), 5)]},
        },
        "name": {"type": "Property", "value": f"new parking {entity_id.rsplit('-', 1)[-1]}"},
        "availableSpotNumber": {"type": "Property", "value": rng.randint(0, 500), "observedAt": "2026-11-26T08:00:00Z"},
        "totalSpotNumber": {"type": "Property", "value": 500},
    }


class Broker:
    """`citycontext serve` as a child process (on the given CPUs), with its RSS read from /proc."""

    def __init__(self, store: str, workdir: Path, cpus: str | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "CITYCONTEXT_LOG_LEVEL": "warning"}
        # taskset execs the broker, so the child's pid is the broker's and /proc reads stay right.
        prefix = ["taskset", "-c", cpus] if cpus is not None else []
        self.process = subprocess.Popen(
            [*prefix, str(ROOT / ".venv" / "bin" / "citycontext"), "serve", "--port", str(self.port), "--store", store],
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

    def rss_mb(self, field: str = "VmRSS") -> float:
        """VmRSS (resident now) or VmHWM (peak resident) of the broker, in MiB."""
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return 0.0
        for line in status.splitlines():
            if line.startswith(field + ":"):
                return round(int(line.split()[1]) / 1024, 1)
        return 0.0

    def peak_rss_mb(self) -> float:
        return self.rss_mb("VmHWM")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


# --- scenarios -------------------------------------------------------------------------------

# A request of the aiohttp driver: method, path with its query string (already encoded), headers, body.
Request = tuple[str, str, dict[str, str], bytes | None]


@dataclass(frozen=True)
class Scenario:
    """One scenario, written twice: in Python for the aiohttp driver and in Lua for wrk."""

    name: str
    ok: tuple[int, ...]  # the success statuses; anything else is an error
    request: Callable[[random.Random, Iterator[int]], Request]
    lua: str  # the body of wrk's request() function
    raw: str | None = None  # the raw-store ceiling of the same work: get, patch, merge, create


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string of ASCII text is a valid Lua string literal


def scenarios(entities: int, run: str) -> list[Scenario]:
    q = urlencode({"type": "OffStreetParking", "q": "availableSpotNumber>250;totalSpotNumber==500", "limit": "20"})
    near = urlencode({"type": "BikeHireDockingStation", "georel": "near;maxDistance==1000", "geometry": "Point", "limit": "20"})
    polygon = "[[[7.80,51.67],[7.83,51.67],[7.83,51.69],[7.80,51.69],[7.80,51.67]]]"
    within = urlencode({"type": "WeatherObserved", "georel": "within", "geometry": "Polygon", "coordinates": polygon, "limit": "20"})
    json_type = {"Content-Type": "application/json"}
    merge_type = {"Content-Type": "application/merge-patch+json"}

    def random_id(rng: random.Random) -> str:
        n = rng.randrange(entities)
        return f"urn:ngsi-ld:{TYPES[n % len(TYPES)]}:bench-{n}"

    def random_parking(rng: random.Random) -> str:
        return f"urn:ngsi-ld:OffStreetParking:bench-{4 * rng.randrange(entities // 4)}"

    def coordinates(rng: random.Random) -> str:
        return f"%5B{rng.uniform(7.75, 7.90):.5f}%2C{rng.uniform(51.63, 51.72):.5f}%5D"

    def merge_body(rng: random.Random) -> bytes:
        n = rng.randint(0, 500)
        return orjson.dumps({"availableSpotNumber": n, "name": f"Parkhaus {n}"})

    return [
        Scenario(FRAMEWORK, (200,), lambda rng, c: ("GET", "/version", {}, None), 'return wrk.format("GET", "/version")'),
        Scenario(
            "GET entity by id",
            (200,),
            lambda rng, c: ("GET", f"{API}/entities/{random_id(rng)}", {}, None),
            f'return wrk.format("GET", "{API}/entities/" .. random_id())',
            raw="get",
        ),
        Scenario(
            "PATCH one attribute",
            (204,),
            lambda rng, c: (
                "PATCH",
                f"{API}/entities/{random_parking(rng)}/attrs/availableSpotNumber",
                json_type,
                orjson.dumps({"value": rng.randint(0, 500)}),
            ),
            f'return wrk.format("PATCH", "{API}/entities/" .. random_parking() .. "/attrs/availableSpotNumber", '
            '{["Content-Type"] = "application/json"}, \'{"value": \' .. math.random(0, 500) .. "}")',
            raw="patch",
        ),
        Scenario(
            "merge-patch entity",
            (204,),
            lambda rng, c: ("PATCH", f"{API}/entities/{random_parking(rng)}", merge_type, merge_body(rng)),
            "local n = math.random(0, 500)\n"
            f'   return wrk.format("PATCH", "{API}/entities/" .. random_parking(), '
            '{["Content-Type"] = "application/merge-patch+json"}, '
            '\'{"availableSpotNumber": \' .. n .. \', "name": "Parkhaus \' .. n .. \'"}\')',
            raw="merge",
        ),
        Scenario(
            "query type+q (20 results)",
            (200,),
            lambda rng, c: ("GET", f"{API}/entities?{q}", {}, None),
            f'return wrk.format("GET", {_lua_string(f"{API}/entities?{q}")})',
        ),
        Scenario(
            "geo near 1 km",
            (200,),
            lambda rng, c: ("GET", f"{API}/entities?{near}&coordinates={coordinates(rng)}", {}, None),
            f'return wrk.format("GET", {_lua_string(f"{API}/entities?{near}&coordinates=")} .. "%5B" .. '
            'random_lon(7.75, 7.90) .. "%2C" .. random_lon(51.63, 51.72) .. "%5D")',
        ),
        Scenario(
            "geo within polygon",
            (200,),
            lambda rng, c: ("GET", f"{API}/entities?{within}", {}, None),
            f'return wrk.format("GET", {_lua_string(f"{API}/entities?{within}")})',
        ),
        # Last, so that every read scenario sees exactly the loaded dataset.
        Scenario(
            "create entity",
            (201,),
            lambda rng, c: (
                "POST",
                f"{API}/entities",
                json_type,
                orjson.dumps(new_parking(f"urn:ngsi-ld:OffStreetParking:new-{run}-a-{next(c)}", rng)),
            ),
            'local id = next_id("urn:ngsi-ld:OffStreetParking:new-")\n'
            "   local body = '{\"id\": \"' .. id .. '\", \"type\": \"OffStreetParking\", \"location\": {\"type\": "
            "\"GeoProperty\", \"value\": {\"type\": \"Point\", \"coordinates\": [' .. random_lon(7.70, 7.95) .. ', ' .. "
            "random_lon(51.60, 51.75) .. ']}}, \"name\": {\"type\": \"Property\", \"value\": \"new parking ' .. counter .. "
            "'\"}, \"availableSpotNumber\": {\"type\": \"Property\", \"value\": ' .. math.random(0, 500) .. ', "
            "\"observedAt\": \"2026-11-26T08:00:00Z\"}, \"totalSpotNumber\": {\"type\": \"Property\", \"value\": 500}}'\n"
            f'   return wrk.format("POST", "{API}/entities", {{["Content-Type"] = "application/json"}}, body)',
            raw="create",
        ),
    ]


# --- drivers ---------------------------------------------------------------------------------


async def sample(base: str, scenario: Scenario, requests: int = 20, seconds: float = 3.0) -> dict[str, Any]:
    """Up to `requests` requests of the scenario (for at most `seconds`), one at a time: the mean size
    of the response body, and the statuses that were not a success (a wrong request shows here)."""
    sizes: list[int] = []
    failed: list[int] = []
    counter = itertools.count(10**9)
    deadline = time.perf_counter() + seconds
    # A connection per request: an idle keep-alive connection may be closed by the server under it.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
        for seed in range(requests):
            method, path, headers, body = scenario.request(random.Random(seed), counter)
            async with session.request(method, URL(base + path, encoded=True), headers=headers, data=body) as response:
                sizes.append(len(await response.read()))
                if response.status not in scenario.ok:
                    failed.append(response.status)
            if time.perf_counter() > deadline:
                break
    return {"body_bytes": round(statistics.fmean(sizes)), "failed_statuses": failed}


async def drive_aiohttp(base: str, scenario: Scenario, connections: int, seconds: float) -> dict[str, Any]:
    """Closed-loop load: `connections` workers, each sending the next request when the last returns.
    A session of its own, so that no connection left idle by an earlier scenario is reused."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections)) as session:
        return await _drive_aiohttp(session, base, scenario, connections, seconds)


async def _drive_aiohttp(
    session: aiohttp.ClientSession, base: str, scenario: Scenario, connections: int, seconds: float
) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    counter = itertools.count()
    deadline = time.perf_counter() + seconds

    async def worker(seed: int) -> None:
        nonlocal errors
        rng = random.Random(seed)
        while time.perf_counter() < deadline:
            method, path, headers, body = scenario.request(rng, counter)
            started = time.perf_counter()
            try:
                async with session.request(method, URL(base + path, encoded=True), headers=headers, data=body) as response:
                    await response.read()
                    if response.status not in scenario.ok:
                        errors += 1
            except aiohttp.ClientError:
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


def wrk_script(scenario: Scenario, entities: int, run: str) -> str:
    ok = ", ".join(f"[{status}] = true" for status in scenario.ok)
    return (
        f"-- generated by bench/run.py for the scenario {scenario.name!r}\n"
        f"ENTITIES = {entities}\nRUN = {_lua_string(run)}\nOK = {{{ok}}}\n\n"
        f"function request()\n   {scenario.lua}\nend\n\n" + WRK_COMMON.read_text()
    )


def drive_wrk(
    base: str, scenario: Scenario, args: argparse.Namespace, run: str, workdir: Path
) -> dict[str, Any]:
    """wrk with one generated Lua script; errors = socket errors + responses whose status is not the
    scenario's success status (204 for PATCH, 201 for create, 200 for reads)."""
    script = workdir / (scenario.name.split(" (")[0].replace(" ", "-").replace("+", "-") + ".lua")
    script.write_text(wrk_script(scenario, args.entities, run))
    command = [
        "wrk", "-t", str(min(args.threads, args.connections)), "-c", str(args.connections),
        "-d", f"{max(1, round(args.seconds))}s", "--timeout", f"{args.wrk_timeout_s}s", "-s", str(script), base,
    ]
    if args.pin:
        command = ["taskset", "-c", str(GENERATOR_CPU), *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=args.seconds + args.wrk_timeout_s + 60)
    line = next((line for line in done.stdout.splitlines() if line.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no result (exit {done.returncode}): {done.stdout}\n{done.stderr}")
    figures = json.loads(line.removeprefix("BENCH_JSON "))
    socket_errors = figures["connect"] + figures["read"] + figures["write"] + figures["timeout"]
    requests = figures["requests"]
    return {
        "requests": requests,
        "rps": round(requests / (figures["duration_us"] / 1e6), 1),
        "p50_ms": round(figures["p50_us"] / 1000, 3),
        "p95_ms": round(figures["p95_us"] / 1000, 3),
        "p99_ms": round(figures["p99_us"] / 1000, 3),
        "mean_ms": round(figures["mean_us"] / 1000, 3),
        "errors": socket_errors + figures["unexpected_status"],
        "wrk": {
            **{key: figures[key] for key in ("connect", "read", "write", "timeout", "status_over_399", "unexpected_status")},
            "first_unexpected_status": figures["first_unexpected_status"] or None,
            "bytes_per_response_on_the_wire": round(figures["bytes"] / requests, 1) if requests else None,
            "max_ms": round(figures["max_us"] / 1000, 3),
        },
    }


# --- the dataset load and the raw store ceilings ---------------------------------------------


LOAD_IN_FLIGHT = 2  # batches sent before the first is answered: a fleet of IoT agents and adapters sends concurrently


async def load(
    session: aiohttp.ClientSession,
    base: str,
    entities: int,
    batch: int,
    in_flight: int = LOAD_IN_FLIGHT,
    *,
    item: Callable[[int, random.Random], dict[str, Any]] | None = None,
    options: str | None = None,
) -> dict[str, Any]:
    """The dataset through POST /entityOperations/upsert, `in_flight` batches at a time: the entities
    themselves (make_entity), or `item(n, rng)` for each of them (with ?options=`options`).

    With one batch at a time the broker would sit idle while this process builds the next body and
    while SQLite fsyncs the last COMMIT; a real fleet of agents does not wait for each other.
    """
    rng = random.Random(42)
    bodies: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=in_flight)
    errors = 0
    make = item or make_entity
    url = f"{base}{API}/entityOperations/upsert" + (f"?options={options}" if options else "")

    async def produce() -> None:
        for start in range(0, entities, batch):
            await bodies.put(orjson.dumps([make(n, rng) for n in range(start, min(entities, start + batch))]))
        for _ in range(in_flight):
            await bodies.put(None)

    async def send() -> None:
        nonlocal errors
        while (body := await bodies.get()) is not None:
            async with session.post(url, data=body, headers={"Content-Type": "application/json"}) as response:
                await response.read()
                if response.status not in (201, 204):
                    errors += 1

    started = time.perf_counter()
    await asyncio.gather(produce(), *(send() for _ in range(in_flight)))
    elapsed = time.perf_counter() - started
    return {
        "entities": entities,
        "entities_per_s": round(entities / elapsed, 1),
        "seconds": round(elapsed, 1),
        "errors": errors,
        "batches_in_flight": in_flight,
    }


def new_measurement(n: int, rng: random.Random) -> dict[str, Any]:
    """An IoT agent's update of entity n of the dataset (make_entity): its measured attribute, observed now."""
    entity_type = TYPES[n % len(TYPES)]
    observed = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    measured = {
        "OffStreetParking": ("availableSpotNumber", rng.randint(0, 500)),
        "WeatherObserved": ("temperature", round(rng.uniform(-5, 35), 1)),
        "BikeHireDockingStation": ("availableBikeNumber", rng.randint(0, 20)),
    }.get(entity_type, ("intensity", rng.randint(0, 2000)))
    return {
        "id": f"urn:ngsi-ld:{entity_type}:bench-{n}",
        "type": entity_type,
        measured[0]: {"type": "Property", "value": measured[1], "observedAt": observed},
    }


def _batches(entities: int, batch: int) -> Iterator[list[tuple[str, str]]]:
    rng = random.Random(42)
    for start in range(0, entities, batch):
        items = [make_entity(n, rng) for n in range(start, min(entities, start + batch))]
        yield [(item["id"], json.dumps(item)) for item in items]


async def raw_ceiling(store: str, workdir: Path, entities: int, batch: int) -> dict[str, Any]:
    """The raw store doing the batch-upsert load's work: the same JSON rows, in the same batches (one
    transaction each), into a bare (id, doc) table; no broker, HTTP, JSON-LD or indexes but the key.
    SQLite: executemany in WAL mode with synchronous=FULL (the broker's default); PostgreSQL:
    asyncpg copy_records_to_table into a jsonb column (dropped afterwards). Only the database calls
    are timed: the rows are made between them."""
    elapsed = 0.0
    if store.startswith("sqlite"):
        import sqlite3

        connection = sqlite3.connect(workdir / "raw-ceiling.db", isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute("CREATE TABLE raw_entities (id TEXT PRIMARY KEY, doc TEXT NOT NULL)")
        for rows in _batches(entities, batch):
            started = time.perf_counter()
            connection.execute("BEGIN")
            connection.executemany("INSERT OR REPLACE INTO raw_entities (id, doc) VALUES (?, ?)", rows)
            connection.execute("COMMIT")
            elapsed += time.perf_counter() - started
        connection.close()
    else:
        import asyncpg  # type: ignore[import-untyped]

        conn = await asyncpg.connect(store)
        try:
            await conn.execute("CREATE TABLE bench_raw_ceiling (id text COLLATE \"C\" PRIMARY KEY, doc jsonb NOT NULL)")
            for rows in _batches(entities, batch):
                started = time.perf_counter()
                await conn.copy_records_to_table("bench_raw_ceiling", records=rows, columns=["id", "doc"])
                elapsed += time.perf_counter() - started
        finally:
            await conn.execute("DROP TABLE IF EXISTS bench_raw_ceiling")
            await conn.close()
    return {"entities": entities, "entities_per_s": round(entities / elapsed, 1), "seconds": round(elapsed, 1), "errors": 0}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _modify(doc_text: str | bytes, changes: dict[str, Any], now: str) -> str:
    """The stored (expanded) entity with new values for some attributes, as the broker writes it."""
    doc = orjson.loads(doc_text)
    for term, value in changes.items():
        instance = doc[DEFAULT_VOCAB + term][0]
        instance["value"] = value
        instance["modifiedAt"] = now
    doc["modifiedAt"] = now
    return orjson.dumps(doc).decode()


def _changes(kind: str, rng: random.Random) -> dict[str, Any]:
    n = rng.randint(0, 500)
    return {"availableSpotNumber": n} if kind == "patch" else {"availableSpotNumber": n, "name": f"Parkhaus {n}"}


def _expanded_parking(entity_id: str, rng: random.Random, now: str) -> str:
    """A new OffStreetParking in the form the broker stores (expanded terms, system attributes)."""
    entity = new_parking(entity_id, rng)
    doc: dict[str, Any] = {"id": entity_id, "type": [DEFAULT_VOCAB + "OffStreetParking"]}
    for term, attribute in entity.items():
        if term in ("id", "type"):
            continue
        iri = "https://uri.etsi.org/ngsi-ld/location" if term == "location" else DEFAULT_VOCAB + term
        doc[iri] = [{**attribute, "createdAt": now, "modifiedAt": now}]
    doc["createdAt"] = doc["modifiedAt"] = now
    return orjson.dumps(doc).decode()


def raw_sqlite(
    db: Path, kinds: list[str], entities: int, seconds: float, run: str, group: int
) -> dict[str, dict[str, Any]]:
    """The broker's SQLite file, one connection in WAL mode with synchronous=FULL (the broker's
    default), for `seconds` per kind: SELECT by id one at a time (get); read, change, UPDATE (patch,
    merge) or INSERT (create) with a COMMIT after each row, then again with one COMMIT per `group`
    rows (what the broker's group commit can reach with `group` concurrent writers)."""
    import sqlite3

    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    select = "SELECT doc FROM entities WHERE tenant = '' AND id = ?"
    update = "UPDATE entities SET modified_at = ?, doc = ? WHERE tenant = '' AND id = ?"
    insert = "INSERT INTO entities (tenant, id, types, created_at, modified_at, doc) VALUES ('', ?, ?, ?, ?, ?)"
    types = json.dumps([DEFAULT_VOCAB + "OffStreetParking"])
    rng = random.Random(7)
    counter = itertools.count()

    def get() -> bool:
        n = rng.randrange(entities)
        return conn.execute(select, (f"urn:ngsi-ld:{TYPES[n % 4]}:bench-{n}",)).fetchone() is not None

    def patch(kind: str) -> bool:
        entity_id = f"urn:ngsi-ld:OffStreetParking:bench-{4 * rng.randrange(entities // 4)}"
        row = conn.execute(select, (entity_id,)).fetchone()
        if row is None:
            return False
        now = _now()
        conn.execute(update, (now, _modify(row[0], _changes(kind, rng), now), entity_id))
        return True

    def create() -> bool:
        entity_id = f"urn:ngsi-ld:OffStreetParking:raw-{run}-{next(counter)}"
        now = _now()
        conn.execute(insert, (entity_id, types, now, now, _expanded_parking(entity_id, rng, now)))
        return True

    def in_transactions(step: Callable[[], bool], rows: int) -> Callable[[], tuple[int, int]]:
        def transaction() -> tuple[int, int]:
            conn.execute("BEGIN IMMEDIATE")
            done = sum(step() for _ in range(rows))
            conn.execute("COMMIT")
            return done, rows - done

        return transaction

    work: dict[str, Callable[[], bool]] = {
        "patch": lambda: patch("patch"), "merge": lambda: patch("merge"), "create": create
    }
    results: dict[str, dict[str, Any]] = {}
    try:
        for kind in kinds:
            if kind == "get":
                results[kind] = _timed_loop(lambda: (1, 0) if get() else (0, 1), seconds)
                continue
            results[kind] = _timed_loop(in_transactions(work[kind], 1), seconds)
            grouped = _timed_loop(in_transactions(work[kind], group), seconds)
            results[kind][f"rows_per_s_one_commit_per_{group}"] = grouped["rows_per_s"]
    finally:
        conn.close()
    return results


def _timed_loop(step: Callable[[], tuple[int, int]], seconds: float) -> dict[str, Any]:
    rows = errors = 0
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        done, failed = step()
        rows += done
        errors += failed
    elapsed = time.perf_counter() - started
    return {"rows": rows, "rows_per_s": round(rows / elapsed, 1), "seconds": round(elapsed, 1), "errors": errors}


async def raw_postgres(
    dsn: str, kinds: list[str], entities: int, seconds: float, run: str, group: int
) -> dict[str, dict[str, Any]]:
    """The broker's PostgreSQL database, one asyncpg connection with prepared statements, for
    `seconds` per kind, as raw_sqlite: one COMMIT per row, then one per `group` rows. The rows
    created are deleted afterwards."""
    import asyncpg

    conn = await asyncpg.connect(dsn)
    rng = random.Random(7)
    counter = itertools.count()
    select = await conn.prepare("SELECT doc FROM entities WHERE tenant = '' AND id = $1")
    select_for_update = await conn.prepare("SELECT doc FROM entities WHERE tenant = '' AND id = $1 FOR UPDATE")
    # conn.execute with arguments prepares the statement once and keeps it in the connection's cache.
    update = "UPDATE entities SET modified_at = now(), doc = $1::jsonb WHERE tenant = '' AND id = $2"
    insert = "INSERT INTO entities (tenant, id, types, created_at, modified_at, doc) VALUES ('', $1, $2, now(), now(), $3::jsonb)"
    types = [DEFAULT_VOCAB + "OffStreetParking"]

    async def patch(kind: str) -> bool:
        entity_id = f"urn:ngsi-ld:OffStreetParking:bench-{4 * rng.randrange(entities // 4)}"
        doc = await select_for_update.fetchval(entity_id)
        if doc is None:
            return False
        await conn.execute(update, _modify(doc, _changes(kind, rng), _now()), entity_id)
        return True

    async def create() -> bool:
        entity_id = f"urn:ngsi-ld:OffStreetParking:raw-{run}-{next(counter)}"
        await conn.execute(insert, entity_id, types, _expanded_parking(entity_id, rng, _now()))
        return True

    work: dict[str, Callable[[], Any]] = {
        "patch": lambda: patch("patch"), "merge": lambda: patch("merge"), "create": create
    }

    async def timed(kind: str, rows_per_commit: int) -> dict[str, Any]:
        rows = errors = 0
        started = time.perf_counter()
        while time.perf_counter() < started + seconds:
            if kind == "get":
                n = rng.randrange(entities)
                found = await select.fetchval(f"urn:ngsi-ld:{TYPES[n % 4]}:bench-{n}") is not None
                rows, errors = rows + found, errors + (not found)
                continue
            async with conn.transaction():
                for _ in range(rows_per_commit):
                    if await work[kind]():
                        rows += 1
                    else:
                        errors += 1
        elapsed = time.perf_counter() - started
        return {"rows": rows, "rows_per_s": round(rows / elapsed, 1), "seconds": round(elapsed, 1), "errors": errors}

    results: dict[str, dict[str, Any]] = {}
    try:
        for kind in kinds:
            results[kind] = await timed(kind, 1)
            if kind != "get":
                results[kind][f"rows_per_s_one_commit_per_{group}"] = (await timed(kind, group))["rows_per_s"]
    finally:
        await conn.execute("DELETE FROM entities WHERE tenant = '' AND id LIKE $1", f"urn:ngsi-ld:OffStreetParking:raw-{run}-%")
        await conn.close()
    return results


# --- the record ------------------------------------------------------------------------------


def machine() -> str:
    model = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
        platform.processor(),
    )
    return f"{os.cpu_count()} cores, {model}"


def commit() -> str:
    """The short commit of HEAD, read from .git (no git command is run)."""
    git = ROOT / ".git"
    try:
        if git.is_file():  # a worktree: ".git" names the real git directory
            git = (ROOT / git.read_text().split("gitdir:", 1)[1].strip()).resolve()
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref:"):
            return head[:7]
        ref = head.removeprefix("ref:").strip()
        common = (git / (git / "commondir").read_text().strip()).resolve() if (git / "commondir").exists() else git
        for base in (git, common):
            if (base / ref).is_file():
                return (base / ref).read_text().strip()[:7]
        for line in (common / "packed-refs").read_text().splitlines():
            if line.endswith(" " + ref):
                return line[:7]
    except (OSError, IndexError):
        pass
    return "unknown"


def _can_pin() -> bool:
    return hasattr(os, "sched_getaffinity") and {BROKER_CPU, GENERATOR_CPU} <= os.sched_getaffinity(0) and bool(shutil.which("taskset"))


def _results_lines(record: dict[str, Any]) -> list[str]:
    ceiling_bytes = record["framework_ceiling_response_body_bytes"]
    pinned = f"{BROKER_CPU}/{GENERATOR_CPU}" if record["pinning"] else "no"
    lines = []
    for name, f in record["results"].items():
        raw = f.get("raw_store") or {}
        body = f.get("response_body_bytes")
        columns = [
            record["date"][:10], record["commit"], record["store"], record["entities"], name,
            f.get("rps", f.get("entities_per_s", "")), f.get("p50_ms", ""), f.get("p95_ms", ""), f.get("p99_ms", ""),
            f.get("errors", ""), f.get("ratio_to_framework_ceiling", f.get("broker_to_raw_ceiling", "")),
            record["broker_peak_rss_mb"],
            # appended columns (issue 10)
            f.get("ratio_to_raw_store", "") if f.get("ratio_to_raw_store") is not None else "",
            raw.get("rows_per_s", raw.get("entities_per_s", "")),
            f"{body} ({ceiling_bytes})" if body is not None else "",
            record["broker_rss_after_load_mb"], record["broker_rss_end_mb"], record["driver"], pinned,
            record["connections"], record["machine"],
        ]
        lines.append("| " + " | ".join(str(column) for column in columns) + " |")
    return lines


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", default="sqlite", help="sqlite, or a postgresql:// URL of an empty database")
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument(
        "--load-in-flight", type=int, default=LOAD_IN_FLIGHT, help="batches the load sends before the first is answered"
    )
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0, help="per scenario and per raw-store ceiling")
    parser.add_argument("--only", default="", help="comma-separated scenario name prefixes to run")
    parser.add_argument(
        "--driver", choices=("wrk", "aiohttp"), default="wrk" if shutil.which("wrk") else "aiohttp",
        help="load generator (default: wrk when it is on PATH, else aiohttp)",
    )
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1: one core for the generator)")
    parser.add_argument("--wrk-timeout-s", type=int, default=60, help="wrk's per-request timeout (a timeout is an error)")
    parser.add_argument(
        "--pin", action=argparse.BooleanOptionalAction, default=_can_pin(),
        help=f"broker on core {BROKER_CPU}, load generator on core {GENERATOR_CPU} (default: on with >= 2 cores)",
    )
    parser.add_argument(
        "--raw-ceiling", action="store_true",
        help="kept for old command lines: the raw store ceilings are now measured by default",
    )
    parser.add_argument(
        "--no-raw-ceilings", dest="raw_ceilings", action="store_false",
        help="skip the raw store ceilings (the bare-table batch insert and the per-scenario ones)",
    )
    parser.add_argument(
        "--no-update-load",
        dest="update_load",
        action="store_false",
        help="skip the batch upsert of existing entities (every entity's measurement updated once) after the scenarios",
    )
    args = parser.parse_args()
    if args.entities < 4:
        parser.error("--entities must be at least 4 (one of each type)")
    if args.pin and not _can_pin():
        parser.error(f"--pin needs taskset and cores {BROKER_CPU} and {GENERATOR_CPU}")
    if args.pin:
        # This process makes the load (aiohttp driver), loads the dataset and runs the raw ceilings.
        os.sched_setaffinity(0, {GENERATOR_CPU})
    run = secrets.token_hex(3)
    selected = [
        scenario for scenario in scenarios(args.entities, run)
        if not args.only or any(scenario.name.startswith(prefix) for prefix in args.only.split(","))
    ]

    with tempfile.TemporaryDirectory(prefix="citycontext-bench-") as workdir:
        store = f"sqlite:///{workdir}/bench.db" if args.store == "sqlite" else args.store
        broker = Broker(store, Path(workdir), cpus=str(BROKER_CPU) if args.pin else None)
        results: dict[str, Any] = {}
        ceiling_bytes = None
        try:
            connector = aiohttp.TCPConnector(limit=args.connections + 4)
            async with aiohttp.ClientSession(connector=connector) as session:
                await broker.wait(session)
                results[LOAD] = await load(session, broker.url, args.entities, args.batch, args.load_in_flight)
                rss_after_load = broker.rss_mb()
                print("load", results[LOAD], f"RSS {rss_after_load} MB", flush=True)
                if not store.startswith("sqlite"):
                    # Planner statistics for the fresh rows, as autovacuum would gather within a minute or
                    # two in production; without them the first queries plan for an empty table.
                    import asyncpg  # type: ignore[import-untyped]

                    conn = await asyncpg.connect(store)
                    try:
                        await conn.execute("ANALYZE")
                    finally:
                        await conn.close()
                ceiling_bytes = (await sample(broker.url, scenarios(args.entities, run)[0]))["body_bytes"]
                for scenario in selected:
                    sampled = await sample(broker.url, scenario)
                    if args.driver == "wrk":
                        figures = drive_wrk(broker.url, scenario, args, run, Path(workdir))
                    else:
                        figures = await drive_aiohttp(broker.url, scenario, args.connections, args.seconds)
                    figures["response_body_bytes"] = sampled["body_bytes"]
                    if sampled["failed_statuses"]:
                        figures["sampled_failed_statuses"] = sampled["failed_statuses"]
                    results[scenario.name] = figures
                    print(scenario.name, figures, flush=True)
                if args.update_load:
                    # Last, as "create entity": the steady state of a city's IoT agents, each entity's
                    # measurement updated once (one history instance each).
                    results[UPDATE_LOAD] = await load(
                        session, broker.url, args.entities, args.batch, args.load_in_flight,
                        item=new_measurement, options="update",
                    )
                    print("update load", results[UPDATE_LOAD], flush=True)
        finally:
            rss_end = broker.rss_mb()
            rss = broker.peak_rss_mb()
            broker.stop()

        if args.raw_ceilings:
            raw = await raw_ceiling(store, Path(workdir), args.entities, args.batch)
            raw["broker_to_raw_ceiling"] = round(results[LOAD]["entities_per_s"] / raw["entities_per_s"], 3)
            results[LOAD]["raw_store"] = {**raw, "what": "bare (id, doc) table, the same rows and batches"}
            results[LOAD]["ratio_to_raw_store"] = raw["broker_to_raw_ceiling"]
            print("raw ceiling, batch", raw, flush=True)
            kinds = [scenario.raw for scenario in selected if scenario.raw]
            if store.startswith("sqlite"):
                per_kind = raw_sqlite(Path(workdir) / "bench.db", kinds, args.entities, args.seconds, run, args.connections)
            else:
                per_kind = await raw_postgres(store, kinds, args.entities, args.seconds, run, args.connections)
            for scenario in selected:
                if scenario.raw and scenario.name in results:
                    figures = results[scenario.name]
                    figures["raw_store"] = per_kind[scenario.raw]
                    figures["ratio_to_raw_store"] = round(figures["rps"] / per_kind[scenario.raw]["rows_per_s"], 3)
                    print(f"raw ceiling, {scenario.name}", per_kind[scenario.raw], flush=True)
            results[RAW_BATCH] = raw

    ceiling = results.get(FRAMEWORK, {}).get("rps")
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
        "driver": args.driver if args.driver == "aiohttp" else f"wrk -t {min(args.threads, args.connections)}",
        "pinning": {"broker_cpus": str(BROKER_CPU), "load_generator_cpus": str(GENERATOR_CPU)} if args.pin else None,
        "broker_peak_rss_mb": round(rss, 1),
        "broker_rss_after_load_mb": rss_after_load,
        "broker_rss_end_mb": rss_end,
        "framework_ceiling_response_body_bytes": ceiling_bytes,
        "raw_store_ceilings": (
            "GET: SELECT doc by (tenant, id); PATCH/merge-patch: read the doc, change 1/2 attributes in Python, "
            "UPDATE, COMMIT each; create: INSERT + COMMIT each; batch upsert: bare-table batch insert. "
            "query and geo: no raw ceiling (the broker's SQL is not reproduced)"
        ) if args.raw_ceilings else None,
        "command": "python " + " ".join(sys.argv),
        "results": results,
    }
    out = ROOT / "bench" / "results" / f"{record['date'].replace(':', '')}-{record['store']}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n")
    results_md = ROOT / "bench" / "RESULTS.md"
    block = "" if RESULTS_HEADER in results_md.read_text(encoding="utf-8") else RESULTS_BLOCK
    with open(results_md, "a", encoding="utf-8") as file:
        file.write(block + "\n".join(_results_lines(record)) + "\n")
    failed = {name: f["errors"] for name, f in results.items() if f.get("errors")}
    if failed:
        print(f"ERRORS (must be 0): {failed}", file=sys.stderr)
    print(f"wrote {out}")


if __name__ == "__main__":
    asyncio.run(main())
