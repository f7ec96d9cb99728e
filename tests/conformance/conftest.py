# SPDX-License-Identifier: EUPL-1.2
"""Black-box conformance fixtures: the real `citycontext serve` as a subprocess, spoken to over HTTP.

The broker gets a fresh SQLite file and a free port on 127.0.0.1 for the whole session; it is
stopped with SIGTERM at the end. User @contexts are served by a small HTTP server on 127.0.0.1.
Nothing here imports the broker: these tests see only what any NGSI-LD client would see.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
API = "/ngsi-ld/v1"
MAX_BODY_BYTES = 1_048_576  # set through CITYCONTEXT_MAX_BODY_BYTES (README, Settings)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _executable() -> str:
    candidate = REPO / ".venv" / "bin" / "citycontext"
    if candidate.exists():
        return str(candidate)
    return str(Path(sys.executable).parent / "citycontext")


@pytest.fixture(scope="session")
def broker_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("conformance-broker")
    port = free_port()
    env = dict(os.environ)
    env["CITYCONTEXT_LOG_LEVEL"] = "warning"
    env["CITYCONTEXT_CONTEXT_FETCH_TIMEOUT_S"] = "3"
    env["CITYCONTEXT_MAX_BODY_BYTES"] = str(MAX_BODY_BYTES)
    for key in ("CITYCONTEXT_HOST", "CITYCONTEXT_PORT", "CITYCONTEXT_STORE"):
        env.pop(key, None)
    log_path = workdir / "broker.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                _executable(),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--store",
                f"sqlite:///{workdir}/x.db",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=workdir,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"broker exited with {process.returncode}:\n{log_path.read_text()}"
                )
            try:
                httpx.get(f"{base}{API}/entities/urn:ngsi-ld:Probe:startup", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"broker did not answer within 20 s:\n{log_path.read_text()}"
                    ) from None
                time.sleep(0.05)
        yield base
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="session")
def http(broker_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=broker_url, timeout=10) as client:
        yield client


class ContextServer:
    """Serves JSON-LD @context documents on 127.0.0.1 and counts the GETs per path."""

    def __init__(self) -> None:
        self.documents: dict[str, Any] = {}
        self.hits: dict[str, int] = {}
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                name = self.path.lstrip("/")
                with server.lock:
                    server.hits[name] = server.hits.get(name, 0) + 1
                    document = server.documents.get(name)
                if document is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = json.dumps(document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/ld+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def add(self, context: dict[str, Any]) -> str:
        """Publish {"@context": context} under a fresh name; returns its URL."""
        name = f"ctx-{uuid.uuid4().hex}.jsonld"
        with self.lock:
            self.documents[name] = {"@context": context}
        return f"{self.base_url}/{name}"

    def missing(self) -> str:
        return f"{self.base_url}/missing-{uuid.uuid4().hex}.jsonld"


@pytest.fixture(scope="session")
def context_server() -> Iterator[ContextServer]:
    server = ContextServer()
    server.thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
        server.thread.join(timeout=5)


@pytest.fixture
def new_id() -> Callable[..., str]:
    def make(entity_type: str = "Thing") -> str:
        return f"urn:ngsi-ld:{entity_type}:{uuid.uuid4().hex}"

    return make
