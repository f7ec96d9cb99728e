# SPDX-License-Identifier: EUPL-1.2
"""Notification counters for /metrics, per endpoint kind (http, mqtt), in the app's registry."""

from __future__ import annotations

import weakref

from prometheus_client import CollectorRegistry, Counter, Gauge


class NotificationMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.sent = Counter("citycontext_notifications_sent", "Notifications delivered", ["kind"], registry=registry)
        self.failed = Counter(
            "citycontext_notifications_failed",
            "Notifications not delivered after every retry, or dropped because their endpoint's queue was full",
            ["kind"],
            registry=registry,
        )
        self.dropped = Counter(
            "citycontext_notifications_dropped",
            "Notifications dropped because their endpoint's queue was full (also counted as failed)",
            ["kind"],
            registry=registry,
        )
        self.retried = Counter(
            "citycontext_notifications_retried", "Delivery attempts that were retried", ["kind"], registry=registry
        )
        self.queued = Gauge(
            "citycontext_notifications_queued", "Notifications waiting for delivery", ["kind"], registry=registry
        )
        for kind in ("http", "mqtt"):
            for metric in (self.sent, self.failed, self.dropped, self.retried, self.queued):
                metric.labels(kind)


# One set of collectors per registry: a registry refuses a second collector of the same name, and
# an app whose lifespan runs twice keeps counting where it was.
_BY_REGISTRY: weakref.WeakKeyDictionary[CollectorRegistry, NotificationMetrics] = weakref.WeakKeyDictionary()


def notification_metrics(registry: CollectorRegistry | None = None) -> NotificationMetrics:
    if registry is None:
        return NotificationMetrics(CollectorRegistry())
    metrics = _BY_REGISTRY.get(registry)
    if metrics is None:
        metrics = _BY_REGISTRY[registry] = NotificationMetrics(registry)
    return metrics


__all__ = ["NotificationMetrics", "notification_metrics"]
