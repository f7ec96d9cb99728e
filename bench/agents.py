# SPDX-License-Identifier: EUPL-1.2
"""End-to-end benchmark of the IoT agents: MQTT publish -> entity updated in the broker.

    .venv/bin/python bench/agents.py --agent lorawan --rate 200 --seconds 10
    .venv/bin/python bench/agents.py --agent json --rate 2000 --seconds 10 --devices 200

Starts `citycontext serve` (a fresh SQLite file) and the agent as child processes on free 127.0.0.1
ports, with a timing proxy in this process between the agent and the broker: the proxy stamps the
moment the broker acknowledges each batch, and reads from the batch which uplinks it carried (the
Device's frameCounter for LoRaWAN, a `seq` measure for JSON). This process publishes uplinks to
Mosquitto (127.0.0.1:1883, QoS 1) at `--rate` per second for `--seconds`, TTS v3 uplinks with a
decoded payload for the LoRaWAN agent, `/{apikey}/{device}/attrs` measures for the JSON agent.

Reported: uplinks published, the sustained end-to-end rate (uplinks / (last acknowledgement - first
publish)), p50/p99 publish-to-update latency (ms), uplinks lost and duplicated (both must be 0).
An offered rate above what the chain sustains shows as a lower end-to-end rate and a growing latency
(the agent's durable queue absorbs the difference). Results go to bench/results/<timestamp>-agents.json
and one line per run to the IoT agents table of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import paho.mqtt.client as mqtt
import yaml  # type: ignore[import-untyped]
from aiohttp import web
from paho.mqtt.enums import CallbackAPIVersion

ROOT = Path(__file__).resolve().parents[1]
API = "/ngsi-ld/v1"
RESULTS_MARKER = "<!-- agents results: bench/agents.py inserts its lines above this marker -->"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TimingProxy:
    """Forwards to the broker; records when each uplink's update was acknowledged."""

    def __init__(self, target: str, key_of: Any) -> None:
        self.target = target
        self.key_of = key_of
        self.port = free_port()
        self.acked: dict[tuple[str, int], list[float]] = {}
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=16))

    async def stop(self) -> None:
        if self._session:
            await self._session.close()
        if self._runner:
            await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in {"host", "content-length"}}
        async with self._session.request(request.method, f"{self.target}{request.path_qs}", data=body, headers=headers) as response:
            answer = await response.read()
            status = response.status
        now = time.monotonic()
        if 200 <= status < 300 and "/entityOperations/" in request.path:
            for entity in orjson.loads(body):
                key = self.key_of(entity)
                if key is not None:
                    self.acked.setdefault(key, []).append(now)
        return web.Response(status=status, body=answer, content_type="application/json")


def tts_body(app: str, device: str, f_cnt: int) -> tuple[str, bytes]:
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    body = {
        "end_device_ids": {"device_id": device, "application_ids": {"application_id": app}, "dev_eui": f"70B3D57ED00{f_cnt % 100000:05X}"},
        "received_at": now,
        "uplink_message": {
            "f_port": 2, "f_cnt": f_cnt, "frm_payload": "AQIDBA==", "received_at": now,
            "decoded_payload": {"temperature": 18.4, "humidity": 61.5, "wind": {"speed": 3.2, "direction": 245}, "rain": 0.4},
            "rx_metadata": [{"gateway_ids": {"gateway_id": "hamm-rathaus-gw-01"}, "rssi": -97, "snr": 7.25, "time": now}],
        },
    }
    return f"v3/{app}@hamm/devices/{device}/up", orjson.dumps(body)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="citycontext-bench-agents-"))
    broker_port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CITYCONTEXT_LOG_LEVEL": "warning"}
    broker = subprocess.Popen(  # noqa: ASYNC220 - returns at once
        [sys.executable, "-m", "broker.cli", "serve", "--port", str(broker_port), "--store", f"sqlite:///{workdir}/b.db"],
        cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    broker_url = f"http://127.0.0.1:{broker_port}"
    unique = uuid.uuid4().hex[:8]
    if args.agent == "lorawan":
        app = f"bench-{unique}"
        config: dict[str, Any] = {
            "mqtt": {"topics": [f"v3/{app}@hamm/devices/+/up"]},
            "profiles": {"climate": {"entity_type": "WeatherObserved", "attributes": {
                "temperature": {"unitCode": "CEL"}, "humidity": {"name": "relativeHumidity", "scale": 0.01},
                "wind.speed": {"name": "windSpeed"}, "wind.direction": {"name": "windDirection"}, "rain": {"name": "precipitation"}},
                "explicit_attrs": True}},
            "default_profile": "climate",
        }

        def key_of(entity: dict[str, Any]) -> tuple[str, int] | None:
            if entity.get("type") != "Device":
                return None
            return entity["id"].rsplit(":", 1)[1], entity["frameCounter"]["value"]
    else:
        apikey = f"bench{unique}"
        config = {"mqtt": {"topics": [f"/{apikey}/+/attrs"]}}

        def key_of(entity: dict[str, Any]) -> tuple[str, int] | None:
            return (entity["id"].rsplit(":", 1)[1], entity["seq"]["value"]) if "seq" in entity else None

    proxy = TimingProxy(broker_url, key_of)
    await proxy.start()
    config_path = workdir / "agents.yaml"
    config_path.write_text(yaml.safe_dump({args.agent: {**config, "log_level": "warning"}}), encoding="utf-8")
    agent_port, http_port = free_port(), free_port()
    command = [sys.executable, "-m", f"agents.{args.agent}", "--mqtt", "mqtt://127.0.0.1:1883",
               "--broker", f"http://127.0.0.1:{proxy.port}", "--config", str(config_path),
               "--client-id", f"bench-{args.agent}-{unique}", "--queue", str(workdir / "queue.db")]
    command += ["--port", str(agent_port)] if args.agent == "lorawan" else [
        "--north-port", str(agent_port), "--http-port", str(http_port), "--registry", f"sqlite:///{workdir}/registry.db"]
    agent = subprocess.Popen(  # noqa: ASYNC220 - returns at once
        command, cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    publisher = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{unique}")
    publisher.max_inflight_messages_set(1000)
    publisher.max_queued_messages_set(0)
    try:
        async with aiohttp.ClientSession() as http:
            await _wait_ok(http, f"{broker_url}/health")
            await _wait_ok(http, f"http://127.0.0.1:{agent_port}/health", want_mqtt=True)
            if args.agent == "json":
                async with http.post(f"http://127.0.0.1:{agent_port}/iot/services", json={"services": [
                    {"apikey": apikey, "entity_type": "NoiseLevelObserved", "resource": "/iot/json"}]}) as response:
                    assert response.status == 201, await response.text()
        publisher.connect("127.0.0.1", 1883)
        publisher.loop_start()
        published: dict[tuple[str, int], float] = {}
        total = int(args.rate * args.seconds)
        started = time.monotonic()
        for n in range(total):
            due = started + n / args.rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            device, seq = f"dev-{n % args.devices:04d}", n // args.devices + 1
            if args.agent == "lorawan":
                topic, payload = tts_body(app, device, seq)
            else:
                topic, payload = f"/{apikey}/{device}/attrs", orjson.dumps({"seq": seq, "LAeq": 55.5, "LAmax": 71.0})
            published[(device, seq)] = time.monotonic()
            publisher.publish(topic, payload, qos=1)
        publish_seconds = time.monotonic() - started
        deadline = time.monotonic() + args.drain_timeout_s
        while len(proxy.acked) < total and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
    finally:
        publisher.loop_stop()
        publisher.disconnect()
        for process in (agent, broker):
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        await proxy.stop()
        _forget_session(f"bench-{args.agent}-{unique}")
    latencies = sorted((min(proxy.acked[key]) - at) * 1000 for key, at in published.items() if key in proxy.acked)
    last_ack = max((max(times) for times in proxy.acked.values()), default=started)
    delivered = len(latencies)
    return {
        "agent": args.agent,
        "uplinks": total,
        "devices": args.devices,
        "offered_rate": args.rate,
        "publish_rate": round(total / publish_seconds, 1),
        "end_to_end_rate": round(delivered / (last_ack - started), 1) if delivered else 0.0,
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 1) if latencies else None,
        "lost": total - delivered,
        "duplicated": sum(len(times) - 1 for times in proxy.acked.values()),
    }


async def _wait_ok(http: aiohttp.ClientSession, url: str, want_mqtt: bool = False) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            async with http.get(url) as response:
                if response.status == 200 and (not want_mqtt or (await response.json()).get("mqtt") == "connected"):
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise SystemExit(f"{url} did not come up within 30 s")


def _forget_session(client_id: str) -> None:
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
    client.connect("127.0.0.1", 1883)
    client.loop(timeout=0.5)
    client.disconnect()


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=False, timeout=10).stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def _append_to_results(result: dict[str, Any], commit: str, date: str) -> None:
    """Insert one row at the end of the IoT agents table, above its marker."""
    path = ROOT / "bench" / "RESULTS.md"
    text = path.read_text(encoding="utf-8")
    row = (f"| {date} | {commit} | {result['agent']} | {result['uplinks']} | {result['devices']} | {result['offered_rate']} | "
           f"{result['end_to_end_rate']} | {result['p50_ms']} | {result['p99_ms']} | {result['lost']} | {result['duplicated']} |")
    if RESULTS_MARKER not in text:
        raise SystemExit(f"bench/RESULTS.md has no {RESULTS_MARKER!r}; results are in bench/results/")
    path.write_text(text.replace(RESULTS_MARKER, f"{row}\n{RESULTS_MARKER}", 1), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agent", choices=["lorawan", "json"], default="lorawan")
    parser.add_argument("--rate", type=float, default=200.0, help="uplinks published per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--devices", type=int, default=100)
    parser.add_argument("--drain-timeout-s", type=float, default=120.0, help="wait this long for the last updates")
    parser.add_argument("--no-record", action="store_true", help="print only; write no result files")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    print(json.dumps(result, indent=2))
    if args.no_record:
        return
    now = datetime.now(UTC)
    commit = _commit()
    out = ROOT / "bench" / "results" / f"{now.strftime('%Y-%m-%dT%H%M%S%z')}-agents-{args.agent}.json"
    out.parent.mkdir(exist_ok=True)
    machine = {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    out.write_text(json.dumps({"commit": commit, "date": now.isoformat(), "machine": machine, "result": result}, indent=2),
                   encoding="utf-8")
    _append_to_results(result, commit, now.strftime("%Y-%m-%d"))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
