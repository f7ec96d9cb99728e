# SPDX-License-Identifier: EUPL-1.2
"""Subscriptions and notifications (ETSI GS CIM 009 v1.9.1 clauses 5.2.12 to 5.2.15, 5.3.1, 5.8).

model (validate and expand a Subscription; render shows it) -> compiled (ready to match) -> index (candidates
by tenant, entity id, type, watched attribute) -> matcher (the EntityService listener: triggers and
q/geoQ/scopeQ) -> delivery (bounded per-endpoint queues, order, retries, throttling) ->
notification (the Notification body) -> notifiers (http, https, mqtt). periodic sends timeInterval
notifications; state keeps timesSent and the rest in the store; service ties it all together.
No web framework here: the API routes live in broker.api.subscriptions.
"""

from broker.subscriptions.model import DOCUMENT_KIND, parse_subscription
from broker.subscriptions.notifiers import NOTIFIERS, DeliveryFailed, Notifier, Outgoing
from broker.subscriptions.render import render_subscription, subscription_status
from broker.subscriptions.service import SubscriptionService
from broker.subscriptions.state import STATUS_KIND

__all__ = [
    "DOCUMENT_KIND",
    "NOTIFIERS",
    "STATUS_KIND",
    "DeliveryFailed",
    "Notifier",
    "Outgoing",
    "SubscriptionService",
    "parse_subscription",
    "render_subscription",
    "subscription_status",
]
