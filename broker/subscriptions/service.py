# SPDX-License-Identifier: EUPL-1.2
"""Subscriptions as one component with a lifecycle: the operations of clause 5.8 (create, query,
retrieve, update, delete) and the machinery that turns entity changes into notifications.

    async with SubscriptionService(settings, store, contexts, metrics_registry=registry) as subscriptions:
        entity_service = EntityService(store, [subscriptions.listener])

Opening it opens the notifiers, loads every tenant's subscriptions from the store and starts four
tasks: the matcher, the periodic scheduler, the refresh from the store (other broker processes'
subscriptions) and the flush of delivery state. Closing stops them, matches the changes still
waiting, delivers what is queued for at most `notification_shutdown_grace_s` (what is left is
recorded as failed), writes the delivery state and closes the notifiers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from types import TracebackType
from typing import Any, Self

from prometheus_client import CollectorRegistry

from broker.entities.changes import ChangeListener
from broker.errors import ResourceNotFound
from broker.jsonld_contexts import ContextRegistry
from broker.ld import TermMap
from broker.settings import Settings
from broker.store.base import Store
from broker.subscriptions.compiled import CompiledSubscription, compile_subscription
from broker.subscriptions.delivery import Delivery, DeliveryOptions
from broker.subscriptions.index import SubscriptionIndex, load_tenants
from broker.subscriptions.matcher import Matcher
from broker.subscriptions.metrics import notification_metrics
from broker.subscriptions.model import (
    DOCUMENT_KIND,
    merge_subscription,
    new_subscription,
    parse_subscription,
)
from broker.subscriptions.notifiers import NOTIFIERS, Notifier
from broker.subscriptions.periodic import PeriodicScheduler, query_matching, store_claim
from broker.subscriptions.state import DeliveryStates

log = logging.getLogger("citycontext.subscriptions")

Document = dict[str, Any]


class SubscriptionService:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        contexts: ContextRegistry,
        *,
        metrics_registry: CollectorRegistry | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.contexts = contexts
        self.metrics = notification_metrics(metrics_registry)
        self.index = SubscriptionIndex()
        self.states = DeliveryStates(store)
        self.notifiers: dict[str, Notifier] = {}
        self._stack = contextlib.AsyncExitStack()
        self._tasks: list[asyncio.Task[None]] = []
        self._lock = asyncio.Lock()  # store + index changes of this process, and the refresh, one at a time
        self.delivery = Delivery(
            notifiers=self.notifiers,
            states=self.states,
            metrics=self.metrics,
            lookup=self.index.get,
            periodic_query=lambda sub: query_matching(store, sub, settings.max_page_size),
            options=DeliveryOptions(
                timeout_s=settings.notification_timeout_s,
                queue_size=settings.notification_queue_size,
                retries=settings.notification_retries,
                retry_backoff_s=settings.notification_retry_backoff_s,
                concurrency=settings.notification_concurrency,
            ),
        )
        self.matcher = Matcher(self.index, self.delivery.submit, backlog=settings.subscription_match_backlog)
        self.periodic = PeriodicScheduler(self.index, self.delivery.submit_periodic, store_claim(store))

    @property
    def listener(self) -> ChangeListener:
        return self.matcher

    async def __aenter__(self) -> Self:
        opened: dict[type, Notifier] = {}
        try:
            for scheme, notifier_class in NOTIFIERS.items():
                if notifier_class not in opened:
                    opened[notifier_class] = await self._stack.enter_async_context(
                        notifier_class.from_settings(self.settings)
                    )
                self.notifiers[scheme] = opened[notifier_class]
            await load_tenants(self.index, self.store, self._compile)
        except BaseException:
            await self._stack.aclose()
            raise
        self._start(self.matcher.run(), "matcher")
        self._start(self.periodic.run(), "periodic notifications")
        self._start(self._every(self.settings.subscription_refresh_s, self.refresh), "subscription refresh")
        self._start(self._every(self.settings.notification_state_flush_s, self.flush_state), "delivery state flush")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        self.matcher.drain()  # committed changes not matched yet still notify
        await self.delivery.aclose(self.settings.notification_shutdown_grace_s)
        try:
            await self.flush_state()
        finally:
            await self._stack.aclose()

    # -- clause 5.8 operations ---------------------------------------------------------------------

    async def create(self, tenant: str, body: Any, term_map: TermMap, context: Any) -> str:
        """5.8.1: validate everything (the jsonldContext resolved too) before anything is stored."""
        doc = new_subscription(parse_subscription(body, term_map), context)
        compiled = await self._compile(tenant, doc)
        async with self._lock:
            await self.store.create_document(DOCUMENT_KIND, tenant, doc["id"], doc)
            self.index.put(compiled)
        self.periodic.poke()
        return str(doc["id"])

    async def retrieve(self, tenant: str, subscription_id: str) -> tuple[Document, Document]:
        """5.8.3: the stored subscription and its delivery state."""
        doc = await self.store.retrieve_document(DOCUMENT_KIND, tenant, subscription_id)
        if doc is None:
            raise ResourceNotFound(f"subscription {subscription_id} not found")
        return doc, await self.states.read(tenant, subscription_id)

    async def query(self, tenant: str) -> list[tuple[Document, Document]]:
        """5.8.4: every subscription of the tenant, by id, with its delivery state."""
        docs = await self.store.list_documents(DOCUMENT_KIND, tenant)
        states = await self.states.read_tenant(tenant)
        return [(doc, states.get(doc["id"], {})) for doc in docs]

    async def update(self, tenant: str, subscription_id: str, body: Any, term_map: TermMap) -> None:
        """5.8.2: merge the fragment; the result is checked as a whole before it replaces the stored one."""
        fragment = parse_subscription(body, term_map, fragment=True)
        async with self._lock:
            current = await self.store.retrieve_document(DOCUMENT_KIND, tenant, subscription_id)
            if current is None:
                raise ResourceNotFound(f"subscription {subscription_id} not found")
            merged = merge_subscription(current, fragment)
            compiled = await self._compile(tenant, merged)
            await self.store.replace_document(DOCUMENT_KIND, tenant, subscription_id, merged)
            self.index.put(compiled)
        self.periodic.poke()

    async def delete(self, tenant: str, subscription_id: str) -> None:
        """5.8.5."""
        async with self._lock:
            await self.store.delete_document(DOCUMENT_KIND, tenant, subscription_id)
            self.index.remove(tenant, subscription_id)
            self.delivery.forget(tenant, subscription_id)
        await self.states.forget(tenant, subscription_id)

    # -- background ------------------------------------------------------------------------------

    async def refresh(self) -> None:
        """Re-read every tenant's subscriptions from the store."""
        async with self._lock:
            await load_tenants(self.index, self.store, self._compile)
        self.periodic.poke()

    async def flush_state(self) -> None:
        await self.states.flush(exists=lambda tenant, sub_id: self.index.get(tenant, sub_id) is not None)

    async def _compile(self, tenant: str, doc: Document) -> CompiledSubscription:
        async def resolve(context: Any) -> TermMap:
            return await self.contexts.resolve(tenant, context)

        return await compile_subscription(tenant, doc, resolve)

    def _start(self, coroutine: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(coroutine, name=f"citycontext {name}")
        task.add_done_callback(_report_crash)
        self._tasks.append(task)

    @staticmethod
    async def _every(period_s: float, work: Callable[[], Awaitable[None]]) -> None:
        while True:
            await asyncio.sleep(period_s)
            try:
                await work()
            except Exception:  # the store may be down for a while; try again next period
                log.exception("%s failed", getattr(work, "__name__", work))


def _report_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("%s stopped: notifications are not being sent", task.get_name(), exc_info=task.exception())


__all__ = ["SubscriptionService"]
