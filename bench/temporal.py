# SPDX-License-Identifier: EUPL-1.2
"""Temporal API and open-data benchmarks: an hourly-average query over a year of climate readings,
and the peak memory of exporting millions of instances as CSV.

    .venv/bin/python bench/temporal.py --store sqlite
    .venv/bin/python bench/temporal.py --store postgresql://postgres@127.0.0.1:5432/citycontext_bench   # an empty database

1. Query: `--stations` climate stations (10) with one temperature reading every 10 minutes for a
   year (52,560 each) are written into the history through the store; then `citycontext serve`
   answers GET /temporal/entities?type=WeatherObserved&attrs=temperature&aggrMethods=avg&
   aggrPeriodDuration=PT1H over July (744 periods per station), `--repeat` times, from this process
   over loopback. Reported: median, p95 and max latency.
2. Export: `--export-instances` (5,000,000) readings in another tenant; `citycontext export --format
   csv` writes them to a file as a child process, whose peak RSS (VmHWM) is reported, beside
   the peak RSS of exporting a tenth of them (flat memory: the two are close), and the broker's
   peak RSS while it streams the same download over HTTP (GET /open-data/WeatherObserved.csv).

Results go to bench/results/<timestamp>-temporal-<store>.json and one line per figure into the
temporal section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.run import API, ROOT, Broker, commit, machine
from broker.errors import ServiceUnavailable
from broker.settings import Settings
from broker.store import open_store
from broker.temporal import HistoryEntity, InstanceRecord
from broker.temporal.times import datetime_ms, format_ms

TYPE = "https://uri.etsi.org/ngsi-ld/default-context/WeatherObserved"
TEMPERATURE = "https://uri.etsi.org/ngsi-ld/default-context/temperature"
YEAR_START = datetime_ms("2026-01-01T00:00:00Z")
STEP_MS = 600_000  # one reading every 10 minutes
EXPORT_TENANT = "export"
SECTION = "<!-- temporal results: bench/temporal.py inserts its lines above this marker -->"


def readings(station: int, count: int) -> list[InstanceRecord]:
    """A year-like series: seasonal and daily cycles plus noise, in tenths of a degree."""
    rng = random.Random(station)
    entity_id = f"urn:ngsi-ld:WeatherObserved:bench-{station}"
    records = []
    for i in range(count):
        ms = YEAR_START + i * STEP_MS
        day = i * STEP_MS / 86_400_000
        value = round(10 - 9 * math.cos(2 * math.pi * day / 365) - 4 * math.cos(2 * math.pi * day) + rng.gauss(0, 0.6), 1)
        observed = datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        doc = {"type": "Property", "value": value, "observedAt": observed, "unitCode": "CEL"}
        records.append(InstanceRecord(entity_id, TEMPERATURE, "", doc, str(value), value, ms, ms, ms, ms))
    return records


async def load(store_url: str, tenant: str, stations: int, per_station: int, batch: int = 20_000) -> dict[str, Any]:
    settings = Settings.from_mapping({}, store=store_url)
    started = time.perf_counter()
    async with open_store(settings) as store:
        for station in range(stations):
            records = readings(station, per_station)
            location = {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [7.8 + station / 1000, 51.68]}}
            entity = {"id": records[0].entity_id, "type": [TYPE], "createdAt": "2026-01-01T00:00:00.000Z",
                      "modifiedAt": "2026-01-01T00:00:00.000Z", "https://uri.etsi.org/ngsi-ld/location": [location]}
            if await store.retrieve_entity(tenant, entity["id"]) is None:
                await store.create_entity(tenant, entity)
            for start in range(0, len(records), batch):
                await _retrying(store.add_history, tenant, HistoryEntity(entity["id"], (TYPE,)), records[start : start + batch])
        elapsed = time.perf_counter() - started
        # Imported months wait in PostgreSQL's DEFAULT partition until the maintenance run gives them
        # partitions of their own; run it now, so that the broker does not do it while it is measured.
        prepared = time.perf_counter()
        await store.maintain_history(int(time.time() * 1000))
        maintenance = time.perf_counter() - prepared
    total = stations * per_station
    return {
        "instances": total,
        "seconds": round(elapsed, 1),
        "instances_per_s": round(total / elapsed),
        "maintenance_seconds": round(maintenance, 1),
    }


async def _retrying(call: Any, *args: Any) -> Any:
    """On a shared development machine PostgreSQL may restart under us: wait and write again."""
    for attempt in range(30):
        try:
            return await call(*args)
        except ServiceUnavailable:
            if attempt == 29:
                raise
            await asyncio.sleep(2)


async def time_query(broker: Broker, repeat: int, stations: int, per_station: int) -> dict[str, Any]:
    """July, or January when a scaled-down run has no July (both have 31 days: 744 hours)."""
    july = YEAR_START + per_station * STEP_MS >= datetime_ms("2026-08-01T00:00:00Z")
    month = ("2026-07-01T00:00:00Z", "2026-08-01T00:00:00Z") if july else ("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z")
    params = {
        "type": "WeatherObserved", "attrs": "temperature", "aggrMethods": "avg", "aggrPeriodDuration": "PT1H",
        "timerel": "between", "timeAt": month[0], "endTimeAt": month[1], "limit": "100",
    }  # fmt: skip
    latencies = []
    async with aiohttp.ClientSession() as session:
        await broker.wait(session)
        for attempt in range(repeat + 1):
            started = time.perf_counter()
            async with session.get(f"{broker.url}{API}/temporal/entities", params=params) as response:
                body = await response.json()
                assert response.status == 200, body
            if attempt:  # the first answer warms the caches
                latencies.append(time.perf_counter() - started)
    assert len(body) == stations and all(len(e["temperature"]["avg"]) == 744 for e in body), "unexpected answer"
    latencies.sort()
    return {
        "month": month[0][:7],
        "repeat": repeat,
        "median_ms": round(statistics.median(latencies) * 1000, 1),
        "p95_ms": round(latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))] * 1000, 1),
        "max_ms": round(latencies[-1] * 1000, 1),
        "periods": sum(len(e["temperature"]["avg"]) for e in body),
    }


def export_cli(store_url: str, end_ms: int | None, workdir: Path) -> dict[str, Any]:
    """`citycontext export` as a child process: its peak RSS, rows written, seconds.

    The peak is VmHWM of the child's own memory, read from /proc while it runs (the export's memory
    is flat, so the last reading before it exits is its peak). Not ru_maxrss: Linux carries that
    over exec from the forked copy of this (large) benchmark process.
    `end_ms`: a smaller download, the readings before that instant only."""
    env = {**os.environ, "CITYCONTEXT_LOG_LEVEL": "warning"}
    args = [str(ROOT / ".venv" / "bin" / "citycontext"), "export", "--store", store_url, "--tenant", EXPORT_TENANT]
    args += ["--type", "WeatherObserved", "--attrs", "temperature", "--format", "csv"]
    if end_ms is not None:
        args += ["--from", "2026-01-01", "--to", format_ms(end_ms)]
    output = workdir / "export.csv"
    started = time.perf_counter()
    peak_kb = 0
    with open(output, "wb") as sink:
        process = subprocess.Popen(args, stdout=sink, stderr=subprocess.PIPE, cwd=workdir, env=env)
        while process.poll() is None:
            peak_kb = max(peak_kb, _vm_hwm_kb(process.pid))
            time.sleep(0.05)
        status = process.returncode
    elapsed = time.perf_counter() - started
    if status != 0:
        raise RuntimeError(f"citycontext export failed: {process.stderr.read().decode() if process.stderr else status}")
    with open(output, "rb") as written:
        rows = sum(1 for _ in written) - 2  # the licence line and the header
    output.unlink()
    return {"rows": rows, "seconds": round(elapsed, 1), "rows_per_s": round(rows / elapsed), "peak_rss_mb": round(peak_kb / 1024, 1)}


def _vm_hwm_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


async def export_http(broker: Broker) -> dict[str, Any]:
    """The same download over HTTP, streamed: bytes and rows received, the broker's peak RSS after it."""
    before = broker.peak_rss_mb()
    rows = size = 0
    started = time.perf_counter()
    timeout = aiohttp.ClientTimeout(total=None)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        url = f"{broker.url}/open-data/WeatherObserved.csv"
        async with session.get(url, params={"attrs": "temperature"}, headers={"NGSILD-Tenant": EXPORT_TENANT}) as response:
            assert response.status == 200, await response.text()
            async for chunk in response.content.iter_chunked(1 << 16):
                size += len(chunk)
                rows += chunk.count(b"\n")
    elapsed = time.perf_counter() - started
    return {
        "rows": rows - 2, "megabytes": round(size / 1e6, 1), "seconds": round(elapsed, 1),
        "broker_peak_rss_before_mb": round(before, 1), "broker_peak_rss_after_mb": round(broker.peak_rss_mb(), 1),
    }  # fmt: skip


def write_results(record: dict[str, Any]) -> Path:
    out = ROOT / "bench" / "results" / f"{record['date'].replace(':', '')}-temporal-{record['store']}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n")
    results = record["results"]
    query, big, small, http = results["query"], results["export_cli"], results.get("export_cli_tenth"), results.get("export_http")
    head = f"| {record['date'][:10]} | {record['commit']} | {record['store']} |"
    lines = [
        (
            f"{head} hourly avg of {query['month']}, {record['stations']} stations x {record['per_station']:,} readings "
            f"| {query['median_ms']} ms median, {query['p95_ms']} ms p95 ({query['repeat']} runs) | |"
        ),
        (
            f"{head} `citycontext export` CSV, {big['rows']:,} instances | {big['seconds']} s ({big['rows_per_s']:,} rows/s) "
            f"| {big['peak_rss_mb']} |"
        ),
    ]
    if small:
        lines.append(
            f"{head} `citycontext export` CSV, {small['rows']:,} instances | {small['seconds']} s | {small['peak_rss_mb']} |"
        )
    if http:
        lines.append(
            f"{head} GET /open-data/WeatherObserved.csv, {http['rows']:,} instances ({http['megabytes']} MB) "
            f"| {http['seconds']} s | broker {http['broker_peak_rss_before_mb']} -> {http['broker_peak_rss_after_mb']} |"
        )
    results_md = ROOT / "bench" / "RESULTS.md"
    text = results_md.read_text(encoding="utf-8")
    if SECTION not in text:
        raise RuntimeError(f"bench/RESULTS.md has no temporal section marker ({SECTION})")
    results_md.write_text(text.replace(SECTION, "\n".join(lines) + "\n" + SECTION), encoding="utf-8")
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--store", default="sqlite", help="sqlite, or a postgresql:// URL of an empty database")
    parser.add_argument("--stations", type=int, default=10)
    parser.add_argument("--readings", type=int, default=52_560, help="readings per station (a year every 10 minutes)")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--export-instances", type=int, default=5_000_000)
    parser.add_argument("--no-http", action="store_true", help="skip the HTTP download")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="citycontext-bench-temporal-") as tmp:
        workdir = Path(tmp)
        store = f"sqlite:///{workdir}/bench.db" if args.store == "sqlite" else args.store
        results: dict[str, Any] = {}
        results["load_query_data"] = await load(store, "", args.stations, args.readings)
        print("loaded", results["load_query_data"], flush=True)
        export_stations = math.ceil(args.export_instances / args.readings)
        per_export_station = args.export_instances // export_stations
        results["load_export_data"] = await load(store, EXPORT_TENANT, export_stations, per_export_station)
        print("loaded", results["load_export_data"], flush=True)
        broker = Broker(store, workdir)
        try:
            results["query"] = await time_query(broker, args.repeat, args.stations, args.readings)
            print("query", results["query"], flush=True)
            if not args.no_http:
                try:
                    results["export_http"] = await export_http(broker)
                except aiohttp.ClientError as exc:  # the store went away mid-download (a shared machine)
                    results["export_http_error"] = repr(exc)
                print("export over HTTP", results.get("export_http", results.get("export_http_error")), flush=True)
        finally:
            broker.stop()
        results["export_cli"] = export_cli(store, None, workdir)
        print("export", results["export_cli"], flush=True)
        tenth = YEAR_START + (per_export_station // 10) * STEP_MS  # a tenth of each station's readings
        results["export_cli_tenth"] = export_cli(store, tenth, workdir)
        print("export (a tenth)", results["export_cli_tenth"], flush=True)

    record = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit(),
        "machine": machine(),
        "store": re.sub(r"://.*", "", args.store),
        "stations": args.stations,
        "per_station": args.readings,
        "export_instances": export_stations * per_export_station,
        "command": "python " + " ".join(sys.argv),
        "results": results,
    }
    print(f"wrote {write_results(record)}")


if __name__ == "__main__":
    asyncio.run(main())
