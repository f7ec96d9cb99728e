# SPDX-License-Identifier: EUPL-1.2
"""Per-request plumbing as one ASGI middleware: request id, tenant echo, metrics, access log.

Every response, errors included, carries the request's NGSILD-Tenant (clause 6.3.13 asks the
broker to echo it) and an X-Request-Id (the client's, when it sent a sane one). Metrics use
prometheus-client with a registry per app, so two apps in one process (tests) do not collide.
"""

from __future__ import annotations

import contextvars
import itertools
import json
import logging
import logging.handlers
import queue
import re
import time
import uuid
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "X-Request-Id"
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
log = logging.getLogger("citycontext.access")

_SANE_ID = re.compile(r"^[A-Za-z0-9._\-]{1,128}$")
_LITERALS = frozenset(
    {
        "ngsi-ld", "v1", "entities", "attrs", "entityOperations", "create", "upsert", "update", "delete", "merge",
        "query", "types", "attributes", "jsonldContexts", "csourceRegistrations", "subscriptions", "temporal",
        "health", "ready", "version", "metrics",
    }
)  # fmt: skip


def route_label(path: str) -> str:
    """A low-cardinality label: ids and names in the path become {id}."""
    segments = [segment for segment in path.split("/") if segment]
    return "/" + "/".join(segment if segment in _LITERALS else "{id}" for segment in segments)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "citycontext_http_requests", "HTTP requests handled", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "citycontext_http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.store_latency = Histogram(
            "citycontext_store_call_duration_seconds",
            "Store call latency",
            ["kind"],
            registry=self.registry,
            buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5),
        )
        self.entities = Gauge("citycontext_entities", "Entities stored, per tenant", ["tenant"], registry=self.registry)

        # The labelled children, looked up once: labels() costs more than the observation itself.
        self._request_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._store_children: dict[str, Any] = {}

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._request_children.get(key)
        if children is None:
            children = (self.requests.labels(method, route, str(status)), self.latency.labels(method, route))
            self._request_children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def observe_store(self, kind: str, seconds: float) -> None:
        child = self._store_children.get(kind)
        if child is None:
            child = self._store_children[kind] = self.store_latency.labels(kind)
        child.observe(seconds)


class ObservabilityMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        # Request ids: 32 hex digits like a uuid4's, a random half per process and a counter, unique
        # without a getrandom system call per request.
        self._id_prefix = uuid.uuid4().hex[:16]
        self._id_counter = itertools.count(1)

    def _next_request_id(self) -> str:
        return f"{self._id_prefix}{next(self._id_counter):016x}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if incoming and _SANE_ID.match(incoming) else self._next_request_id()
        tenant = headers.get(b"ngsild-tenant") or headers.get(b"fiware-service")
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                extra = [(b"x-request-id", request_id.encode())]
                if tenant:
                    extra.append((b"ngsild-tenant", tenant))
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            elapsed = time.perf_counter() - started
            method = scope["method"]
            self.metrics.observe_request(method, route_label(scope["path"]), status, elapsed)
            if log.isEnabledFor(logging.INFO):
                log.info(
                    "request",
                    extra={"http": {"method": method, "path": scope["path"], "status": status, "duration_ms": round(elapsed * 1000, 3), "tenant": (tenant or b"").decode("latin-1")}},
                )
            request_id_var.reset(token)


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line, with the request id of the request being served."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
        }
        http = getattr(record, "http", None)
        if http:
            entry.update(http)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str) -> logging.handlers.QueueListener:
    """JSON lines on stderr, written by a thread of their own: a slow or stalled log reader (a full
    pipe) must never block the event loop that serves requests. Stop the returned listener last."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLogFormatter())
    handler.formatter.converter = time.gmtime  # type: ignore[union-attr]
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    listener = logging.handlers.QueueListener(records, handler, respect_handler_level=False)
    root = logging.getLogger()
    root.handlers[:] = [_ContextQueueHandler(records)]
    root.setLevel(level.upper())
    listener.start()
    return listener


class _ContextQueueHandler(logging.handlers.QueueHandler):
    """Formats in the caller's thread, where the request id context variable is set."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        record.request_id = request_id_var.get()
        return record


__all__ = ["Metrics", "ObservabilityMiddleware", "JsonLogFormatter", "configure_logging", "route_label", "REQUEST_ID_HEADER"]
