# SPDX-License-Identifier: EUPL-1.2
"""The console script as a user runs it: a real `citycontext serve` process on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import broker
from tests.conftest import API, free_port

CLI = [sys.executable, "-m", "broker.cli"]


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=60, env=env)


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert broker.__version__ in result.stdout


def test_serve_help_names_the_options() -> None:
    result = run_cli("serve", "--help")
    assert result.returncode == 0
    for option in ("--host", "--port", "--store", "CITYCONTEXT_STORE"):
        assert option in result.stdout


def test_an_unknown_store_scheme_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    result = run_cli("serve", "--store", "mongodb://127.0.0.1:27017/city")
    assert result.returncode == 2
    assert "mongodb" in result.stderr and "sqlite:///" in result.stderr and "postgresql://" in result.stderr


def test_a_postgresql_database_that_does_not_exist_fails_start_up_naming_it() -> None:
    result = run_cli("serve", "--port", "0", "--store", "postgresql://postgres@127.0.0.1:5432/citycontext_missing_db")
    assert result.returncode != 0
    assert "citycontext_missing_db" in result.stdout + result.stderr


def test_bad_port_from_the_environment_names_the_variable() -> None:
    result = run_cli("serve", env={**os.environ, "CITYCONTEXT_PORT": "not-a-port"})
    assert result.returncode == 2
    assert "CITYCONTEXT_PORT" in result.stderr


class Broker:
    def __init__(self, workdir: Path, port: int, *args: str) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [*CLI, "serve", "--port", str(port), *args],
            cwd=workdir,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
            stdout=subprocess.DEVNULL,  # a pipe nobody reads would fill up and stall the broker
            stderr=subprocess.DEVNULL,
            text=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"broker exited early with status {self.process.returncode}")
            try:
                httpx.get(f"{self.url}{API}/entities/urn:ngsi-ld:probe:1", timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        self.process.kill()
        raise AssertionError("broker did not start within 30 s")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=20)
        finally:
            if self.process.stdout:
                self.process.stdout.close()


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_keeps_data_across_a_restart_and_stops_cleanly(workdir: Path, sig: int) -> None:
    """The README's first run: default store file under ./data, data survives a restart."""
    entity = {"id": "urn:ngsi-ld:OffStreetParking:hbf", "type": "OffStreetParking", "name": "Parkhaus Hbf"}
    first = Broker(workdir, free_port())
    try:
        created = httpx.post(f"{first.url}{API}/entities", json=entity, timeout=10)
        assert created.status_code == 201, created.text
    finally:
        assert first.stop(sig) == 0
    assert (workdir / "data" / "citycontext.db").exists()

    second = Broker(workdir, free_port())
    try:
        got = httpx.get(f"{second.url}{API}/entities/{entity['id']}", params={"options": "keyValues"}, timeout=10)
        assert got.status_code == 200
        assert got.json() == entity
    finally:
        assert second.stop() == 0
