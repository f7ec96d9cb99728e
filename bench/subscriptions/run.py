# SPDX-License-Identifier: EUPL-1.2
"""Subscription and notification benchmarks: start `citycontext serve` (SQLite), subscribe 1, 100
and 1,000 times to one entity type, write, and receive every notification in this process.

    .venv/bin/python bench/subscriptions/run.py --seconds 8

- write-to-receipt latency: one PATCH at a time; for each notification, the time from sending the
  PATCH to receiving the notification (HTTP: a receiver in this process; MQTT: a subscriber on the
  real Mosquitto at 127.0.0.1:1883, QoS 1). p50 and p99 over every notification.
- sustained notifications/s: PATCHes from several connections for --seconds, never more than
  --window notifications outstanding (so no queue overflows); received / time to the last receipt.
- write throughput: PATCH requests/s with no subscription, then with 1,000 subscriptions that never
  match (of other entity types, and of the same type with a q that is never true); the ratio.
Results go to bench/results/<timestamp>-subscriptions.json and lines in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import paho.mqtt.client as mqtt
from aiohttp import web
from paho.mqtt.enums import CallbackAPIVersion

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from run import API, ROOT, Broker, commit, free_port, machine

TYPE = "WeatherObserved"
ENTITIES = 100
MARKER = "<!-- subscription results: bench/subscriptions/run.py inserts its lines above this marker -->"


class Receipts:
    """Every notification received, by the write (temperature value) it reports: receipt times."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0
        self.sent_at: dict[int, float] = {}
        self.latencies: list[float] = []
        self.last = 0.0
        self.arrived = asyncio.Event()
        self.loop: asyncio.AbstractEventLoop | None = None

    def record(self, body: dict[str, Any]) -> None:
        now = time.monotonic()
        with self.lock:
            self.count += 1
            self.last = now
            for entity in body.get("data", ()):
                sent = self.sent_at.get(entity.get("temperature", {}).get("value"))
                if sent is not None:
                    self.latencies.append(now - sent)
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self.arrived.set)

    def reset(self) -> None:
        with self.lock:
            self.count = 0
            self.sent_at.clear()
            self.latencies.clear()

    async def wait_count(self, count: int, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while self.count < count:
            self.arrived.clear()
            if self.count >= count:
                break
            try:
                await asyncio.wait_for(self.arrived.wait(), max(0.01, deadline - time.monotonic()))
            except TimeoutError:
                if time.monotonic() >= deadline:
                    return False
        return True


async def http_receiver(receipts: Receipts) -> tuple[web.AppRunner, str]:
    async def handle(request: web.Request) -> web.Response:
        receipts.record(orjson.loads(await request.read()))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/n/{number}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port, backlog=1024).start()
    return runner, f"http://127.0.0.1:{port}/n"


MQTT_CLIENTS = 8  # Mosquitto queues at most 1,000 messages per subscriber: spread the topics over several


def mqtt_receivers(receipts: Receipts, prefix: str) -> list[mqtt.Client]:
    clients = []
    for number in range(MQTT_CLIENTS):
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-{uuid.uuid4().hex[:8]}")
        subscribed = threading.Event()
        client.on_connect = lambda c, *_, n=number: c.subscribe(f"{prefix}/{n}/#", qos=1)
        client.on_subscribe = lambda *_, done=subscribed: done.set()
        client.on_message = lambda c, u, message: receipts.record(orjson.loads(message.payload)["body"])
        client.connect("127.0.0.1", 1883)
        client.loop_start()
        if not subscribed.wait(10):
            raise RuntimeError("Mosquitto on 127.0.0.1:1883 did not confirm the subscription")
        clients.append(client)
    return clients


def endpoint(kind: str, base: str, number: int) -> dict[str, Any]:
    if kind == "http":
        return {"uri": f"{base}/{number}"}
    topic = f"{base}/{number % MQTT_CLIENTS}/{number}"
    return {"uri": f"mqtt://127.0.0.1:1883/{topic}", "notifierInfo": [{"key": "MQTT-QoS", "value": "1"}]}


async def subscribe(session: aiohttp.ClientSession, url: str, bodies: list[dict[str, Any]]) -> list[str]:
    locations = []
    for body in bodies:
        async with session.post(f"{url}{API}/subscriptions", json=body) as response:
            assert response.status == 201, await response.text()
            locations.append(response.headers["Location"])
    return locations


async def unsubscribe(session: aiohttp.ClientSession, url: str, locations: list[str]) -> None:
    for location in locations:
        async with session.delete(url + location) as response:
            assert response.status == 204


async def patch(session: aiohttp.ClientSession, url: str, entity: int, value: int) -> None:
    async with session.patch(
        f"{url}{API}/entities/urn:ngsi-ld:{TYPE}:bench-{entity}/attrs/temperature", json={"value": value}
    ) as response:
        await response.read()
        assert response.status == 204, response.status


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 2) if ordered else 0.0


async def latency(session: aiohttp.ClientSession, url: str, receipts: Receipts, subscribers: int, writes: int) -> dict[str, Any]:
    receipts.reset()
    value = 1_000_000
    for _ in range(writes):
        value += 1
        expected = receipts.count + subscribers
        receipts.sent_at[value] = time.monotonic()
        await patch(session, url, random.randrange(ENTITIES), value)
        if not await receipts.wait_count(expected, 30):
            raise RuntimeError(f"only {receipts.count} of {expected} notifications arrived")
    return {
        "writes": writes,
        "notifications": len(receipts.latencies),
        "p50_ms": pct(receipts.latencies, 0.5),
        "p99_ms": pct(receipts.latencies, 0.99),
        "mean_ms": round(statistics.fmean(receipts.latencies) * 1000, 2),
    }


async def sustained(
    session: aiohttp.ClientSession, url: str, receipts: Receipts, subscribers: int, seconds: float, window: int, connections: int
) -> dict[str, Any]:
    receipts.reset()
    writes = 0
    started = time.monotonic()
    deadline = started + seconds

    async def writer(seed: int) -> None:
        nonlocal writes
        rng = random.Random(seed)
        while time.monotonic() < deadline:
            while (writes + 1) * subscribers - receipts.count > window:
                receipts.arrived.clear()
                try:
                    await asyncio.wait_for(receipts.arrived.wait(), 0.05)
                except TimeoutError:
                    pass
            writes += 1
            await patch(session, url, rng.randrange(ENTITIES), rng.randrange(1000))

    await asyncio.gather(*(writer(seed) for seed in range(connections)))
    complete = await receipts.wait_count(writes * subscribers, 60)
    elapsed = receipts.last - started
    return {
        "seconds": round(elapsed, 2),
        "writes": writes,
        "notifications": receipts.count,
        "expected": writes * subscribers,
        "complete": complete,
        "notifications_per_s": round(receipts.count / elapsed, 1),
        "writes_per_s": round(writes / elapsed, 1),
    }


async def load(session: aiohttp.ClientSession, url: str) -> None:
    batch = [
        {"id": f"urn:ngsi-ld:{TYPE}:bench-{n}", "type": TYPE, "temperature": {"type": "Property", "value": 0}}
        for n in range(ENTITIES)
    ]
    async with session.post(f"{url}{API}/entityOperations/upsert", json=batch) as response:
        assert response.status in (201, 204), await response.text()


async def write_rate(session: aiohttp.ClientSession, url: str, seconds: float, connections: int) -> float:
    done = 0
    started = time.monotonic()
    deadline = started + seconds

    async def worker(seed: int) -> None:
        nonlocal done
        rng = random.Random(seed)
        while time.monotonic() < deadline:
            await patch(session, url, rng.randrange(ENTITIES), rng.randrange(1000))
            done += 1

    await asyncio.gather(*(worker(seed) for seed in range(connections)))
    return done / (time.monotonic() - started)


async def metrics(session: aiohttp.ClientSession, url: str) -> dict[str, float]:
    async with session.get(f"{url}/metrics") as response:
        text = await response.text()
    figures = {}
    for line in text.splitlines():
        if line.startswith("citycontext_notifications_") and "{" in line:
            name, value = line.rsplit(" ", 1)
            figures[name] = float(value)
    return figures


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each sustained and write-rate run")
    parser.add_argument("--connections", type=int, default=4, help="concurrent writers")
    parser.add_argument("--window", type=int, default=3000, help="most notifications outstanding while sustaining")
    parser.add_argument("--subscribers", default="1,100,1000")
    parser.add_argument("--kinds", default="http,mqtt", help='notifier kinds measured; "" measures the write throughput only')
    parser.add_argument("--rounds", type=int, default=5, help="write-throughput rounds, in shuffled order (median)")
    args = parser.parse_args()
    receipts = Receipts()
    receipts.loop = asyncio.get_running_loop()
    runner, http_base = await http_receiver(receipts)
    prefix = f"citycontext-bench/{uuid.uuid4().hex[:8]}"
    mqtt_clients = mqtt_receivers(receipts, prefix)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="citycontext-bench-subs-") as workdir:
        # One broker (and store) per configuration, all running, measured in alternation.
        configurations = {
            "none": [],
            "other types": [
                {"type": "Subscription", "entities": [{"type": f"OtherType{n}"}], "notification": {"endpoint": endpoint("http", http_base, n)}}
                for n in range(1000)
            ],
            "same type, 1,000 different q never true": [
                {"type": "Subscription", "entities": [{"type": TYPE}], "q": f"temperature>{5000 + n}", "notification": {"endpoint": endpoint("http", http_base, n)}}
                for n in range(1000)
            ],
            "same type, one q never true": [
                {"type": "Subscription", "entities": [{"type": TYPE}], "q": "temperature>5000", "notification": {"endpoint": endpoint("http", http_base, n)}}
                for n in range(1000)
            ],
        }
        brokers = {name: Broker(f"sqlite:///{workdir}/{number}.db", Path(workdir)) for number, name in enumerate(configurations)}
        rss: dict[str, float] = {}
        try:
            connector = aiohttp.TCPConnector(limit=args.connections * 2 + 4)
            async with aiohttp.ClientSession(connector=connector) as session:
                for name, broker in brokers.items():
                    await broker.wait(session)
                    await load(session, broker.url)
                    await subscribe(session, broker.url, configurations[name])
                    await write_rate(session, broker.url, 1.0, args.connections * 2)  # warm up
                rates: dict[str, list[float]] = {name: [] for name in configurations}
                order = list(brokers)
                for _ in range(args.rounds):
                    random.shuffle(order)  # no configuration always follows the same one
                    for name in order:
                        await asyncio.sleep(2)  # let the previous broker finish matching what it was sent
                        rates[name].append(await write_rate(session, brokers[name].url, args.seconds, args.connections * 2))
                base = statistics.median(rates["none"])
                results["write throughput"] = {
                    name: {"rps": round(statistics.median(values), 1), "ratio": round(statistics.median(values) / base, 3), "runs": [round(v, 1) for v in values]}
                    for name, values in rates.items()
                }
                print("write throughput", results["write throughput"], flush=True)
                for name, broker in list(brokers.items())[1:]:
                    rss[name] = broker.peak_rss_mb()
                    broker.stop()
                broker = brokers["none"]
                for kind in [kind for kind in args.kinds.split(",") if kind]:  # --kinds "": write throughput only
                    base_uri = http_base if kind == "http" else prefix
                    for subscribers in (int(n) for n in args.subscribers.split(",")):
                        bodies = [
                            {"type": "Subscription", "entities": [{"type": TYPE}], "notification": {"endpoint": endpoint(kind, base_uri, n)}}
                            for n in range(subscribers)
                        ]
                        locations = await subscribe(session, broker.url, bodies)
                        writes = max(5, min(200, 5000 // subscribers))
                        lat = await latency(session, broker.url, receipts, subscribers, writes)
                        rate = await sustained(session, broker.url, receipts, subscribers, args.seconds, args.window, args.connections)
                        await unsubscribe(session, broker.url, locations)
                        results[f"{kind} {subscribers}"] = {"latency": lat, "sustained": rate}
                        print(kind, subscribers, lat, rate, flush=True)
                results["metrics"] = await metrics(session, broker.url)
        finally:
            for name, broker in brokers.items():
                if broker.process.poll() is None:
                    rss[name] = broker.peak_rss_mb()
                    broker.stop()
            for client in mqtt_clients:
                client.disconnect()
                client.loop_stop()
            await runner.cleanup()
    record = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit(),
        "machine": machine(),
        "store": "sqlite",
        "connections": args.connections,
        "seconds_per_run": args.seconds,
        "broker_peak_rss_mb": {name: round(value, 1) for name, value in rss.items()},
        "command": "python " + " ".join(sys.argv),
        "results": results,
    }
    out = ROOT / "bench" / "results" / f"{record['date'].replace(':', '')}-subscriptions.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n")
    write_results_md(record)
    print(f"wrote {out}")


def write_results_md(record: dict[str, Any]) -> None:
    day, sha = record["date"][:10], record["commit"]
    lines = []
    for name, figures in record["results"].items():
        if name in ("metrics", "write throughput"):
            continue
        kind, subscribers = name.split()
        lat, rate = figures["latency"], figures["sustained"]
        complete = "all" if rate["complete"] else f"{rate['notifications']} of {rate['expected']}"
        lines.append(
            f"| {day} | {sha} | {kind} | {subscribers} | {lat['p50_ms']} | {lat['p99_ms']} | "
            f"{rate['notifications_per_s']} | {rate['writes_per_s']} | {complete} |"
        )
    throughput = record["results"]["write throughput"]
    for name, figures in throughput.items():
        if name != "none":
            lines.append(
                f"| {day} | {sha} | write throughput, 1,000 non-matching ({name}) | 1000 | | | | "
                f"{figures['rps']} vs {throughput['none']['rps']} with none | ratio {figures['ratio']} |"
            )
    path = ROOT / "bench" / "RESULTS.md"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    if MARKER not in text:
        text += (
            "\n## Subscriptions and notifications (bench/subscriptions/run.py)\n\n"
            "Written by `bench/subscriptions/run.py` (see bench/README.md): write-to-receipt latency of each\n"
            "notification (one PATCH at a time) and sustained notifications/s (PATCHes from 4 connections,\n"
            "at most 3,000 notifications outstanding) with N subscriptions matching every write; HTTP to a\n"
            "receiver in the benchmark process, MQTT (QoS 1) through Mosquitto on 127.0.0.1 to 8 subscribers\n"
            "in the benchmark process. The last lines of a run compare PATCH requests/s (8 connections,\n"
            "SQLite synchronous=FULL, median of the rounds) with 1,000 non-matching subscriptions to none\n"
            "(ratio >= 0.8 is the goal). The machine line of each run is in its JSON file under bench/results/.\n\n"
            "| date | commit | endpoint | subscriptions | p50 ms | p99 ms | notifications/s | writes/s | delivered |\n"
            "|---|---|---|---|---|---|---|---|---|\n"
            f"{MARKER}\n"
        )
    text = text.replace(MARKER, "\n".join(lines) + "\n" + MARKER)
    path.write_text(text, encoding="utf-8")



if __name__ == "__main__":
    asyncio.run(main())
