# SPDX-License-Identifier: EUPL-1.2
"""Notifiers by URI scheme: the registry every endpoint goes through (STYLE practice 7).

A new transport is one module implementing `Notifier` plus one line in NOTIFIERS. Schemes that
share a class (http, https) share one instance, opened once.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from broker.errors import BadRequestData
from broker.subscriptions.notifiers.base import (
    GEO_JSON,
    JSON,
    JSON_LD,
    DeliveryFailed,
    Notifier,
    Outgoing,
    link_header,
    safe_uri,
)
from broker.subscriptions.notifiers.http import HttpNotifier
from broker.subscriptions.notifiers.mqtt import MqttNotifier

NOTIFIERS: dict[str, type[HttpNotifier | MqttNotifier]] = {
    "http": HttpNotifier,
    "https": HttpNotifier,
    "mqtt": MqttNotifier,
    "mqtts": MqttNotifier,
}


def scheme_of(uri: str) -> str:
    return urlsplit(uri).scheme.lower()


def check_endpoint(endpoint: dict[str, Any]) -> None:
    """BadRequestData unless a registered notifier can deliver to this Endpoint."""
    try:
        scheme = scheme_of(endpoint["uri"])
    except ValueError:  # such as an unclosed IPv6 bracket: http://[::1
        raise BadRequestData(f"the notification endpoint {endpoint['uri']!r} is not a valid URI") from None
    notifier = NOTIFIERS.get(scheme)
    if notifier is None:
        raise BadRequestData(
            f"unsupported notification endpoint scheme {scheme + '://' if scheme else endpoint['uri']!r}; "
            f"this broker notifies over {', '.join(s + '://' for s in NOTIFIERS)}"
        )
    notifier.check_endpoint(endpoint)


__all__ = [
    "GEO_JSON",
    "JSON",
    "JSON_LD",
    "NOTIFIERS",
    "DeliveryFailed",
    "HttpNotifier",
    "MqttNotifier",
    "Notifier",
    "Outgoing",
    "check_endpoint",
    "link_header",
    "safe_uri",
    "scheme_of",
]
