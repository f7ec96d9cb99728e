# SPDX-License-Identifier: EUPL-1.2
"""Deliver notifications without ever holding up a write or another endpoint.

Every endpoint (a notification URI) has its own bounded queue, split into
`notification_concurrency` lanes that are worked in parallel. A notification goes to the lane
chosen by its subscription and entity, and a lane sends one notification at a time, retries
included, so the notifications of one subscription about one entity arrive in the order of the
writes. A lane's task exists only while the lane has work. A slow or dead endpoint fills only its
own queue; once `notification_queue_size` notifications wait, further ones are dropped, counted
(timesFailed, the dropped metric) and reported in lastFailure and lastFailureReason.

A failed delivery is retried `notification_retries` times, waiting `notification_retry_backoff_s`
(or the Endpoint's cooldown), doubled at each retry; then it is recorded as failed.

Throttling (clause 5.2.12) holds back what comes within `throttling` seconds of the previous
notification and sends it when the period is over, as one notification whose data has the latest
state of each entity that changed meanwhile: nothing is lost, the intermediate states are.

At shutdown (`aclose`) the queues are drained for at most `notification_shutdown_grace_s`, and
throttled notifications due within that time are sent too; every notification still undelivered
after it is recorded as failed (timesFailed, lastFailure, lastFailureReason), never lost silently.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from broker.errors import NgsiLdError
from broker.subscriptions.compiled import CompiledSubscription
from broker.subscriptions.matcher import EntityEvent, Match
from broker.subscriptions.metrics import NotificationMetrics
from broker.subscriptions.model import now_iso
from broker.subscriptions.notification import (
    build_notification,
    render_entity,
    render_event,
)
from broker.subscriptions.notifiers import (
    JSON_LD,
    DeliveryFailed,
    Notifier,
    Outgoing,
    link_header,
    safe_uri,
)
from broker.subscriptions.state import DeliveryStates

log = logging.getLogger("citycontext.notifications")

PeriodicQuery = Callable[[CompiledSubscription], Awaitable[list[dict[str, Any]]]]
Lookup = Callable[[str, str], CompiledSubscription | None]


@dataclass(frozen=True, slots=True)
class DeliveryOptions:
    timeout_s: float = 10.0
    queue_size: int = 10_000
    retries: int = 3
    retry_backoff_s: float = 0.5
    concurrency: int = 8


@dataclass(slots=True)
class _Job:
    subscription: CompiledSubscription
    matches: list[Match]  # empty: a periodic notification, whose entities are read when it is sent


@dataclass(slots=True)
class _EndpointQueue:
    notifier: Notifier
    lanes: list[deque[_Job]]
    tasks: list[asyncio.Task[None] | None]
    size: int = 0


@dataclass(slots=True)
class _Throttle:
    next_allowed: float = 0.0  # event loop time
    pending: dict[str, Match] = field(default_factory=dict)  # by entity id, in order of first change
    timer: asyncio.TimerHandle | None = None


class Delivery:
    def __init__(
        self,
        *,
        notifiers: Mapping[str, Notifier],
        states: DeliveryStates,
        metrics: NotificationMetrics,
        lookup: Lookup,
        periodic_query: PeriodicQuery,
        options: DeliveryOptions | None = None,
    ) -> None:
        self.notifiers = notifiers
        self.states = states
        self.metrics = metrics
        self.lookup = lookup
        self.periodic_query = periodic_query
        self.options = options or DeliveryOptions()
        self._queues: dict[str, _EndpointQueue] = {}
        self._throttles: dict[tuple[str, str], _Throttle] = {}
        self._closed = False
        self._progress = asyncio.Event()  # set when a lane runs dry or throttling releases: aclose looks again

    # -- input (synchronous: called by the matcher and the periodic scheduler) -------------------

    def submit(self, match: Match) -> None:
        sub = match.subscription
        if sub.throttling_s is not None:
            self._throttled(match)
        else:
            self._enqueue(sub, [match], (sub.id, match.event.entity_id))

    def submit_periodic(self, sub: CompiledSubscription) -> None:
        self._enqueue(sub, [], (sub.id, ""))

    def forget(self, tenant: str, subscription_id: str) -> None:
        """The subscription is gone: drop what throttling holds for it."""
        throttle = self._throttles.pop((tenant, subscription_id), None)
        if throttle is not None and throttle.timer is not None:
            throttle.timer.cancel()

    @property
    def queued(self) -> int:
        return sum(queue.size for queue in self._queues.values())

    async def aclose(self, grace_s: float = 0.0) -> None:
        """Deliver what is queued, and what throttling releases, for at most grace_s seconds; then stop
        and record every notification not delivered as failed. Call it once nothing submits any more."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace_s
        while True:
            busy = any(task is not None for queue in self._queues.values() for task in queue.tasks)
            held = any(throttle.timer is not None and throttle.next_allowed <= deadline for throttle in self._throttles.values())
            remaining = deadline - loop.time()
            if not (busy or held) or remaining <= 0:
                break
            self._progress.clear()
            try:
                await asyncio.wait_for(self._progress.wait(), remaining)
            except TimeoutError:
                break
        self._closed = True
        reason = f"not delivered: the broker shut down before it could be sent (notification_shutdown_grace_s={grace_s})"
        for throttle in self._throttles.values():
            if throttle.timer is not None:
                throttle.timer.cancel()
                throttle.timer = None
            for match in throttle.pending.values():
                self._abandoned(match.subscription, reason)
            throttle.pending.clear()
        tasks = [task for queue in self._queues.values() for task in queue.tasks if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for queue in self._queues.values():
            for jobs in queue.lanes:
                while jobs:
                    self._abandoned(jobs.popleft().subscription, reason)
                    queue.size -= 1
                    self.metrics.queued.labels(queue.notifier.kind).dec()

    def _abandoned(self, sub: CompiledSubscription, reason: str) -> None:
        if self.lookup(sub.tenant, sub.id) is None:
            return  # deleted meanwhile: nobody to tell
        notifier = self.notifiers[sub.notification.scheme]
        self.states.failed(sub.tenant, sub.id, now_iso(), reason, attempted=False)
        self.metrics.dropped.labels(notifier.kind).inc()
        self.metrics.failed.labels(notifier.kind).inc()

    # -- throttling -------------------------------------------------------------------------------

    def _throttled(self, match: Match) -> None:
        sub = match.subscription
        assert sub.throttling_s is not None
        loop = asyncio.get_running_loop()
        key = (sub.tenant, sub.id)
        throttle = self._throttles.get(key)
        if throttle is None:
            throttle = self._throttles[key] = _Throttle()
        now = loop.time()
        if not throttle.pending and now >= throttle.next_allowed:
            throttle.next_allowed = now + sub.throttling_s
            self._enqueue(sub, [match], (sub.id, ""))
            return
        entity_id = match.event.entity_id
        throttle.pending[entity_id] = _coalesce(throttle.pending.get(entity_id), match)
        if throttle.timer is None:
            throttle.timer = loop.call_at(throttle.next_allowed, self._release, key)

    def _release(self, key: tuple[str, str]) -> None:
        throttle = self._throttles.get(key)
        if throttle is None or self._closed:
            return
        throttle.timer = None
        matches, throttle.pending = list(throttle.pending.values()), {}
        self._progress.set()
        if not matches:
            return
        sub = self.lookup(*key) or matches[-1].subscription
        throttle.next_allowed = asyncio.get_running_loop().time() + (sub.throttling_s or 0.0)
        self._enqueue(sub, matches, (sub.id, ""))

    # -- queues -----------------------------------------------------------------------------------

    def _enqueue(self, sub: CompiledSubscription, matches: list[Match], lane_key: tuple[str, str]) -> None:
        if self._closed:
            return
        notifier = self.notifiers[sub.notification.scheme]
        key = notifier.endpoint_key(sub.notification.uri)
        queue = self._queues.get(key)
        if queue is None:
            lanes = self.options.concurrency
            queue = self._queues[key] = _EndpointQueue(notifier, [deque() for _ in range(lanes)], [None] * lanes)
        if queue.size >= self.options.queue_size:
            reason = (
                f"notification dropped: {queue.size} notifications are waiting for this endpoint "
                f"(notification_queue_size); it is too slow or unreachable"
            )
            self.states.failed(sub.tenant, sub.id, now_iso(), reason, attempted=False)
            self.metrics.dropped.labels(notifier.kind).inc()
            self.metrics.failed.labels(notifier.kind).inc()
            return
        lane = hash(lane_key) % len(queue.lanes)
        queue.lanes[lane].append(_Job(sub, matches))
        queue.size += 1
        self.metrics.queued.labels(notifier.kind).inc()
        if queue.tasks[lane] is None:
            queue.tasks[lane] = asyncio.get_running_loop().create_task(self._drain(queue, lane))

    async def _drain(self, queue: _EndpointQueue, lane: int) -> None:
        jobs = queue.lanes[lane]
        try:
            while jobs:
                try:
                    await self._deliver(queue.notifier, jobs[0])
                except Exception:  # a bug here must not stop the lane
                    log.exception("delivering a notification failed unexpectedly")
                jobs.popleft()
                queue.size -= 1
                self.metrics.queued.labels(queue.notifier.kind).dec()
        finally:
            queue.tasks[lane] = None
            self._progress.set()

    async def _deliver(self, notifier: Notifier, job: _Job) -> None:
        sub = job.subscription
        if self.lookup(sub.tenant, sub.id) is None:
            return  # deleted since: its notifications go nowhere
        try:
            if job.matches:
                data = [render_event(sub, match.event, match.fired) for match in job.matches]
            else:
                entities = await self.periodic_query(sub)
                if not entities:
                    return
                data = [render_entity(sub, entity) for entity in entities]
            notification = build_notification(sub, data)
        except NgsiLdError as exc:
            self._failed(notifier, sub, f"the notification could not be built: {exc.detail}", attempted=False)
            return
        params = sub.notification
        outgoing = Outgoing(
            uri=params.uri,
            notification=notification,
            content_type=params.accept,
            link=None if params.accept == JSON_LD else link_header(sub.context_url),
            tenant=sub.tenant,
            timeout_s=params.timeout_s or self.options.timeout_s,
            receiver_info=params.receiver_info,
            notifier_info=params.notifier_info,
        )
        backoff = params.cooldown_s or self.options.retry_backoff_s
        sent_at = str(notification["notifiedAt"])  # lastNotification, lastSuccess or lastFailure: the notifiedAt sent
        for attempt in range(self.options.retries + 1):
            try:
                await notifier.send(outgoing)
            except DeliveryFailed as exc:
                if attempt < self.options.retries:
                    self.metrics.retried.labels(notifier.kind).inc()
                    await asyncio.sleep(backoff * 2**attempt)
                    continue
                self._failed(notifier, sub, str(exc), attempted=True, at=sent_at)
                return
            self.states.sent(sub.tenant, sub.id, sent_at)
            self.metrics.sent.labels(notifier.kind).inc()
            return

    def _failed(
        self, notifier: Notifier, sub: CompiledSubscription, reason: str, *, attempted: bool, at: str | None = None
    ) -> None:
        log.info("notification of subscription %s to %s failed: %s", sub.id, safe_uri(sub.notification.uri), reason)
        self.states.failed(sub.tenant, sub.id, at or now_iso(), reason, attempted=attempted)
        self.metrics.failed.labels(notifier.kind).inc()


def _coalesce(old: Match | None, new: Match) -> Match:
    """Two changes of one entity within a throttling period: from the first's before to the last's after."""
    if old is None:
        return new
    if new.event.after is None:
        return Match(new.subscription, new.event, old.fired | new.fired)
    event = EntityEvent(new.event.tenant, old.event.before, new.event.after, new.event.at)
    return Match(new.subscription, event, old.fired | new.fired)


__all__ = ["Delivery", "DeliveryOptions", "PeriodicQuery"]
