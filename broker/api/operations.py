# SPDX-License-Identifier: EUPL-1.2
"""Operations endpoints: /health (liveness), /ready (store reachable), /version, /metrics."""

from __future__ import annotations

import os
import platform
import time
from importlib.metadata import version as _distribution_version

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import Response

import broker
from broker.api.responses import json_response, problem_response
from broker.errors import NgsiLdError
from broker.ld import DEFAULT_CORE_CONTEXT_URL


async def health(request: Request) -> Response:
    return json_response({"status": "ok"})


async def ready(request: Request) -> Response:
    try:
        await request.app.state.store.ping()
    except NgsiLdError as error:
        return problem_response(error)
    return json_response({"status": "ready", "store": request.app.state.store.kind})


# What an operator asks first when something misbehaves, as Orion-LD's version answer tells it.
_RUNTIME = {
    "python": platform.python_version(),
    "uvicorn": _distribution_version("uvicorn"),
    "starlette": _distribution_version("starlette"),
    "pid": os.getpid(),
}


async def version(request: Request) -> Response:
    started_at, started_monotonic = request.app.state.started
    return json_response(
        {
            "name": "citycontext",
            "version": broker.__version__,
            "ngsiLdSpecVersion": broker.NGSI_LD_SPEC_VERSION,
            "store": request.app.state.store.kind,
            "defaultCoreContext": DEFAULT_CORE_CONTEXT_URL,
            "startedAt": started_at,
            "uptime_s": round(time.monotonic() - started_monotonic, 3),
            **_RUNTIME,
        }
    )


async def metrics(request: Request) -> Response:
    metric_set = request.app.state.metrics
    counts = await request.app.state.store.entity_counts()
    metric_set.entities.clear()
    for tenant, count in counts.items():
        metric_set.entities.labels(tenant or "default").set(count)
    return Response(generate_latest(metric_set.registry), media_type=CONTENT_TYPE_LATEST)


__all__ = ["health", "ready", "version", "metrics"]
