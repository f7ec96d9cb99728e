# SPDX-License-Identifier: EUPL-1.2
"""Northbound delivery: the durable queue, in order, to the broker's batch API (ETSI GS CIM 009
clause 6.15 upsert with options=update, or 6.31 merge), with the agent's @context.

One loop takes the head of the queue, cuts it into a batch of consecutive updates for the same
broker and tenant, and sends it. Outcomes:

- 201/204: every update delivered, removed from the queue.
- 207: the updates of the entities named in `errors` are refused for good (dead letter, logged with
  their device id); the others are delivered.
- another 4xx (not 408/429): the batch is resent one update at a time, so that only the update the
  broker refuses is dead-lettered, and order is kept.
- no answer, 408, 429 or 5xx: the same batch is retried after a backoff that doubles up to
  `backoff_max_s`, with jitter; nothing behind it overtakes it, so the broker sees every update in
  the order the devices sent them.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Sequence
from typing import Any

import aiohttp
import orjson

from agents.common.metrics import AgentMetrics
from agents.common.queue import DurableQueue, QueuedUpdate
from agents.common.settings import NorthboundSettings

log = logging.getLogger("citycontext.agents.northbound")

API = "/ngsi-ld/v1"
JSONLD_CONTEXT_REL = "http://www.w3.org/ns/json-ld#context"
_RETRY_STATUSES = frozenset({408, 425, 429})


class Deliverer:
    def __init__(self, queue: DurableQueue, settings: NorthboundSettings, metrics: AgentMetrics) -> None:
        self._queue = queue
        self._settings = settings
        self._metrics = metrics
        self._wake = asyncio.Event()
        self._session: aiohttp.ClientSession | None = None
        self._failures = 0
        self._idle = asyncio.Event()

    def notify(self) -> None:
        """New updates are in the queue."""
        self._wake.set()

    async def wait_idle(self, timeout_s: float) -> bool:
        """Wait until the queue is empty (used at shutdown, to flush what can be flushed)."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout_s)
            return True
        except TimeoutError:
            return False

    async def run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=self._settings.timeout_s)
        async with aiohttp.ClientSession(timeout=timeout, json_serialize=lambda v: orjson.dumps(v).decode()) as session:
            self._session = session
            while True:
                items = self._queue.head(self._settings.batch_size)
                if not items:
                    # No await between head() and clear(): an enqueue cannot slip in unnoticed.
                    self._idle.set()
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                self._idle.clear()
                batch = _first_batch(items)
                if await self._deliver(batch):
                    self._failures = 0
                else:
                    self._failures += 1
                    await asyncio.sleep(self._backoff_s())

    def _backoff_s(self) -> float:
        ceiling = min(self._settings.backoff_max_s, self._settings.backoff_initial_s * 2 ** min(self._failures - 1, 30))
        return float(ceiling * random.uniform(0.5, 1.0))

    async def _deliver(self, batch: Sequence[QueuedUpdate]) -> bool:
        """Send one batch; False when it must be retried later (nothing was removed)."""
        status, body = await self._post(batch)
        if status is None or status >= 500 or status in _RETRY_STATUSES:
            self._metrics.attempt("unreachable" if status is None else "retry")
            if self._failures == 0:
                log.warning("broker did not take %d update(s) (%s); retrying with backoff", len(batch), status or body)
            return False
        self._metrics.attempt("answered")
        if status in (200, 201, 204):
            self._done(batch)
            return True
        if status == 207:
            failed = _failed_entities(body)
            refused = [item for item in batch if item.update.entity.get("id") in failed]
            for item in refused:
                self._refuse(item, failed[item.update.entity.get("id", "")])
            self._done([item for item in batch if item.update.entity.get("id") not in failed])
            return True
        if len(batch) > 1:
            for item in batch:  # find the one the broker refuses, keep the order of the others
                while not await self._deliver([item]):
                    self._failures += 1
                    await asyncio.sleep(self._backoff_s())
                self._failures = 0
            return True
        self._refuse(batch[0], body)
        return True

    async def _post(self, batch: Sequence[QueuedUpdate]) -> tuple[int | None, Any]:
        assert self._session is not None
        first = batch[0].update
        headers = {"Accept": "application/json"}
        entities = [item.update.entity for item in batch]
        context = self._settings.context
        if isinstance(context, str):
            headers["Content-Type"] = "application/json"
            headers["Link"] = f'<{context}>; rel="{JSONLD_CONTEXT_REL}"; type="application/ld+json"'
        elif context is not None:
            headers["Content-Type"] = "application/ld+json"
            entities = [{**entity, "@context": context} for entity in entities]
        else:
            headers["Content-Type"] = "application/json"
        if first.tenant:
            headers["NGSILD-Tenant"] = first.tenant
        operation = self._settings.operation
        url = f"{first.broker_url}{API}/entityOperations/{operation}"
        if operation == "upsert":
            url += "?options=update"
        try:
            async with self._session.post(url, data=orjson.dumps(entities), headers=headers) as response:
                raw = await response.read()
                try:
                    body: Any = orjson.loads(raw) if raw else None
                except orjson.JSONDecodeError:
                    body = raw[:500].decode("utf-8", "replace")
                return response.status, body
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return None, f"{type(exc).__name__}: {exc}"

    def _done(self, items: Sequence[QueuedUpdate]) -> None:
        now = time.time()
        self._queue.remove([item.seq for item in items])
        self._metrics.delivered([now - item.update.received_at for item in items], self._queue.depth)

    def _refuse(self, item: QueuedUpdate, reason: Any) -> None:
        detail = reason if isinstance(reason, str) else orjson.dumps(reason).decode()
        log.error(
            "broker refused the update of %s from device %s: %s",
            item.update.entity.get("id"), item.update.device_id, detail,
        )
        self._queue.dead_letter([item], detail)
        self._metrics.dead_lettered(1, self._queue.depth)


def _first_batch(items: Sequence[QueuedUpdate]) -> list[QueuedUpdate]:
    first = items[0].update
    batch = [items[0]]
    for item in items[1:]:
        if item.update.broker_url != first.broker_url or item.update.tenant != first.tenant:
            break
        batch.append(item)
    return batch


def _failed_entities(body: Any) -> dict[str, Any]:
    """entityId -> ProblemDetails from a 207 BatchOperationResult."""
    failed: dict[str, Any] = {}
    if isinstance(body, dict):
        for error in body.get("errors") or []:
            if isinstance(error, dict) and isinstance(error.get("entityId"), str):
                failed[error["entityId"]] = error.get("error", error)
    return failed
