# SPDX-License-Identifier: EUPL-1.2
"""Real parts for the agent tests: a `citycontext serve` process, Mosquitto on 127.0.0.1:1883, agents
as processes (`python -m agents.lorawan|json`), and a recording proxy in front of the broker.

The proxy forwards every request to the broker and records the batch bodies the broker acknowledged
(2xx): the broker's write history, which /temporal will show once the broker has it. While the broker
is stopped the proxy answers 502, as a load balancer would.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import paho.mqtt.client as mqtt
import pytest
import yaml  # type: ignore[import-untyped]
from aiohttp import web
from paho.mqtt.enums import CallbackAPIVersion

from tests.conftest import API, free_port

ROOT = Path(__file__).resolve().parents[2]
MQTT_HOST, MQTT_PORT = "127.0.0.1", 1883
START_TIMEOUT_S = 30.0
WAIT_TIMEOUT_S = 30.0


def _mqtt_up() -> bool:
    try:
        with socket.create_connection((MQTT_HOST, MQTT_PORT), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session", autouse=True)
def mosquitto() -> None:
    """Mosquitto must answer on 127.0.0.1:1883 (scripts/services starts it); start it if it is down."""
    if _mqtt_up():
        return
    if shutil.which("mosquitto"):
        subprocess.run(["mosquitto", "-d", "-c", "/etc/mosquitto/mosquitto.conf"], check=False, timeout=10)
        for _ in range(50):
            if _mqtt_up():
                return
            time.sleep(0.1)
    pytest.fail("Mosquitto is not answering on 127.0.0.1:1883 (run scripts/services)")


async def eventually(check: Callable[[], Awaitable[Any]], *, timeout_s: float = WAIT_TIMEOUT_S, what: str = "") -> Any:
    """Poll `check` until it returns a truthy value (returned) or the bounded time runs out."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = await check()
        except (aiohttp.ClientError, OSError, AssertionError) as exc:
            last = exc
        else:
            if last:
                return last
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what or check}: last {last!r}")


class BrokerProcess:
    """`citycontext serve` on a fixed port and SQLite file, so it can be stopped and started again."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.store = f"sqlite:///{workdir}/broker.db"
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: ASYNC220 - Popen returns at once; we poll without blocking
            [sys.executable, "-m", "broker.cli", "serve", "--port", str(self.port), "--store", self.store],
            cwd=self.workdir,
            env={**os.environ, "PYTHONPATH": str(ROOT), "CITYCONTEXT_LOG_LEVEL": "warning"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        async def ready() -> bool:
            assert self.process is not None and self.process.poll() is None, "broker exited"
            async with aiohttp.ClientSession() as http, http.get(f"{self.url}/health") as response:
                return response.status == 200

        await eventually(ready, timeout_s=START_TIMEOUT_S, what="the broker to start")

    async def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            await _wait_exit(self.process)
        self.process = None

    async def entity(self, entity_id: str, tenant: str | None = None, **params: str) -> dict[str, Any] | None:
        headers = {"NGSILD-Tenant": tenant} if tenant else {}
        url = f"{self.url}{API}/entities/{entity_id}"
        async with aiohttp.ClientSession() as http, http.get(url, headers=headers, params=params) as response:
            if response.status == 404:
                return None
            assert response.status == 200, await response.text()
            return await response.json(content_type=None)  # type: ignore[no-any-return]

    async def temporal_values(self, entity_id: str, attribute: str, tenant: str | None = None) -> list[list[Any]]:
        """[value, observedAt] of every instance of one attribute, oldest first (GET /temporal/entities/{id})."""
        headers = {"NGSILD-Tenant": tenant} if tenant else {}
        url = f"{self.url}{API}/temporal/entities/{entity_id}"
        params = {"attrs": attribute, "options": "temporalValues", "timerel": "after", "timeAt": "1970-01-01T00:00:00Z"}
        async with aiohttp.ClientSession() as http, http.get(url, headers=headers, params=params) as response:
            assert response.status == 200, await response.text()
            body = await response.json(content_type=None)
        return list(body[attribute]["values"])

    async def query(self, tenant: str | None = None, **params: str) -> list[dict[str, Any]]:
        headers = {"NGSILD-Tenant": tenant} if tenant else {}
        url = f"{self.url}{API}/entities"
        async with aiohttp.ClientSession() as http, http.get(url, headers=headers, params=params) as response:
            if response.status == 404:
                return []
            assert response.status == 200, await response.text()
            return await response.json(content_type=None)  # type: ignore[no-any-return]


async def _wait_exit(process: subprocess.Popen[bytes], timeout_s: float = 20.0) -> int:
    deadline = time.monotonic() + timeout_s
    while process.poll() is None and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    if process.poll() is None:
        process.kill()
        process.wait(timeout=10)
    return process.returncode


@pytest.fixture
async def broker(tmp_path: Path) -> AsyncIterator[BrokerProcess]:
    process = BrokerProcess(tmp_path)
    await process.start()
    try:
        yield process
    finally:
        await process.stop()


class RecordingProxy:
    """Forwards to the broker; `writes` are the (tenant, batch) bodies the broker answered with 2xx."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.writes: list[tuple[str | None, list[dict[str, Any]]]] = []
        self.refused = 0
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        self._session = aiohttp.ClientSession()

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in {"host", "content-length", "transfer-encoding"}}
        try:
            async with self._session.request(
                request.method, f"{self.target}{request.path_qs}", data=body, headers=headers,
                timeout=aiohttp.ClientTimeout(total=15),
            ) as response:
                answer = await response.read()
                status = response.status
                content_type = response.headers.get("Content-Type")
        except (aiohttp.ClientError, OSError, TimeoutError):
            self.refused += 1
            return web.Response(status=502, text="broker unreachable")
        if 200 <= status < 300 and "/entityOperations/" in request.path:
            self.writes.append((request.headers.get("NGSILD-Tenant"), orjson.loads(body)))
        response_headers = {"Content-Type": content_type} if content_type else {}
        return web.Response(status=status, body=answer, headers=response_headers)

    def history(self, entity_id: str, attribute: str) -> list[Any]:
        """(value, observedAt) of every acknowledged write of one attribute, in order."""
        return [
            (entity[attribute].get("value", entity[attribute].get("object")), entity[attribute].get("observedAt"))
            for _, batch in self.writes
            for entity in batch
            if entity.get("id") == entity_id and attribute in entity
        ]


@pytest.fixture
async def proxy(broker: BrokerProcess) -> AsyncIterator[RecordingProxy]:
    recording = RecordingProxy(broker.url)
    await recording.start()
    try:
        yield recording
    finally:
        await recording.stop()


class AgentProcess:
    """An agent as a user runs it: `python -m agents.<kind> ...`, its config a YAML file."""

    def __init__(self, kind: str, workdir: Path, config: dict[str, Any], broker_url: str, *extra: str,
                 env: dict[str, str] | None = None) -> None:
        self.kind = kind
        self.workdir = workdir
        self.config_path = workdir / f"{kind}-agents.yaml"
        self.config_path.write_text(yaml.safe_dump({kind: config}), encoding="utf-8")
        self.port = free_port()
        self.http_port = free_port()
        self.client_id = f"citycontext-test-{kind}-{uuid.uuid4().hex[:10]}"
        self.broker_url = broker_url
        self.extra = list(extra)
        self.env = env or {}
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / f"{kind}-agent.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def measures_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def command(self) -> list[str]:
        command = [
            sys.executable, "-m", f"agents.{self.kind}", "--mqtt", f"mqtt://{MQTT_HOST}:{MQTT_PORT}",
            "--broker", self.broker_url, "--config", str(self.config_path), "--client-id", self.client_id,
            "--queue", str(self.workdir / f"{self.kind}-queue.db"),
        ]
        if self.kind == "lorawan":
            command += ["--port", str(self.port)]
        else:
            command += ["--north-port", str(self.port), "--http-port", str(self.http_port),
                        "--registry", f"sqlite:///{self.workdir}/registry.db"]
        return command + self.extra

    async def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: ASYNC220 - Popen returns at once; we poll without blocking
            self.command(), cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [self.env.get("PYTHONPATH")])]),
                 **{k: v for k, v in self.env.items() if k != "PYTHONPATH"}},
        )
        log.close()

        async def connected() -> bool:
            assert self.process is not None and self.process.poll() is None, f"agent exited: {self.log()}"
            health = await self.health()
            return health.get("mqtt") in {"connected", "not used"}

        await eventually(connected, timeout_s=START_TIMEOUT_S, what=f"the {self.kind} agent to connect")

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        code = 0
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            code = await _wait_exit(self.process)
        self.process = None
        return code

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    async def health(self) -> dict[str, Any]:
        async with aiohttp.ClientSession() as http, http.get(f"{self.url}/health") as response:
            assert response.status == 200
            return await response.json()  # type: ignore[no-any-return]

    async def metrics(self) -> dict[str, float]:
        """Prometheus samples as {'name{labels}': value}."""
        async with aiohttp.ClientSession() as http, http.get(f"{self.url}/metrics") as response:
            assert response.status == 200
            text = await response.text()
        samples: dict[str, float] = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                key, _, value = line.rpartition(" ")
                samples[key] = float(value)
        return samples

    async def metric(self, name: str, **labels: str) -> float:
        wanted = {"agent": self.kind, **labels}
        total = 0.0
        for key, value in (await self.metrics()).items():
            metric, _, rest = key.partition("{")
            found = dict(re.findall(r'(\w+)="([^"]*)"', rest))
            if metric == name and all(found.get(k) == v for k, v in wanted.items()):
                total += value
        return total


@pytest.fixture
async def agents(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[AgentProcess]]]:
    started: list[AgentProcess] = []

    async def start(kind: str, config: dict[str, Any], broker_url: str, *extra: str, **kwargs: Any) -> AgentProcess:
        agent = AgentProcess(kind, tmp_path, config, broker_url, *extra, **kwargs)
        await agent.start()
        started.append(agent)
        return agent

    yield start
    for agent in started:
        await agent.stop()
        forget_session(agent.client_id)


def forget_session(client_id: str) -> None:
    """Drop the agent's persistent session from Mosquitto (a clean connect with its client id)."""
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
    try:
        client.connect(MQTT_HOST, MQTT_PORT)
        client.loop(timeout=0.5)
        client.disconnect()
    except OSError:
        pass


class Publisher:
    """A paho client that publishes with QoS 1 and waits for each PUBACK."""

    def __init__(self) -> None:
        self.client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=f"test-pub-{uuid.uuid4().hex[:8]}")
        self.client.connect(MQTT_HOST, MQTT_PORT)
        self.client.loop_start()

    def publish(self, topic: str, payload: bytes | str | dict[str, Any] | list[Any]) -> None:
        if isinstance(payload, dict | list):
            payload = orjson.dumps(payload)
        info = self.client.publish(topic, payload, qos=1)
        info.wait_for_publish(timeout=10)
        assert info.is_published(), f"publish to {topic} not acknowledged"

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def publisher() -> Any:
    client = Publisher()
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:10]
