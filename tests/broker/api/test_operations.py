# SPDX-License-Identifier: EUPL-1.2
"""Health, readiness, version, Prometheus metrics and request ids."""

from __future__ import annotations

import logging

import httpx
import pytest

import broker
from broker.settings import Settings
from tests.conftest import API


async def test_health_ready_version(client: httpx.AsyncClient, settings: Settings) -> None:
    kind = "postgres" if settings.store.startswith("postgresql") else "sqlite"
    assert (await client.get("/health")).json() == {"status": "ok"}
    assert (await client.get("/ready")).json() == {"status": "ready", "store": kind}
    version = (await client.get("/version")).json()
    assert version["version"] == broker.__version__
    assert version["ngsiLdSpecVersion"] == "1.9.1"
    assert version["store"] == kind
    assert version["uptime_s"] >= 0 and version["startedAt"].endswith("Z") and version["python"].count(".") == 2


async def test_metrics_count_requests_per_route_and_entities_per_tenant(client: httpx.AsyncClient) -> None:
    await client.post(f"{API}/entities", json={"id": "urn:ngsi-ld:Thing:1", "type": "Thing"})
    await client.post(f"{API}/entities", json={"id": "urn:ngsi-ld:Thing:2", "type": "Thing"}, headers={"NGSILD-Tenant": "t1"})
    await client.get(f"{API}/entities/urn:ngsi-ld:Thing:404")
    text = (await client.get("/metrics")).text
    assert 'citycontext_http_requests_total{method="POST",route="/ngsi-ld/v1/entities",status="201"} 2.0' in text
    assert 'citycontext_http_requests_total{method="GET",route="/ngsi-ld/v1/entities/{id}",status="404"} 1.0' in text
    assert "citycontext_http_request_duration_seconds_bucket" in text
    assert 'citycontext_entities{tenant="t1"} 1.0' in text
    assert 'citycontext_entities{tenant="default"} 1.0' in text
    assert 'citycontext_store_call_duration_seconds_count{kind="write"}' in text


async def test_request_id_is_echoed_or_made(client: httpx.AsyncClient) -> None:
    given = await client.get("/health", headers={"X-Request-Id": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    made = await client.get(f"{API}/entities/urn:x:1")
    again = await client.get(f"{API}/entities/urn:x:1")
    assert len(made.headers["x-request-id"]) == 32
    assert made.headers["x-request-id"] != again.headers["x-request-id"]


async def test_each_request_is_logged_with_method_path_status_and_tenant(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="citycontext.access"):
        response = await client.get(f"{API}/entities/urn:x:unknown", headers={"NGSILD-Tenant": "logged"})
    assert response.status_code == 404
    lines = [record for record in caplog.records if record.name == "citycontext.access"]
    assert [getattr(record, "http") for record in lines] == [
        {"method": "GET", "path": f"{API}/entities/urn:x:unknown", "status": 404,
         "duration_ms": getattr(lines[0], "http")["duration_ms"], "tenant": "logged"}
    ]  # fmt: skip
