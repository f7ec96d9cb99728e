# SPDX-License-Identifier: EUPL-1.2
"""What every notifier implements: send one notification to one endpoint, or raise DeliveryFailed.

A notifier owns its connections (an aiohttp session, MQTT clients) and is an async context
manager: opened in the broker's lifespan, closed in reverse order. Errors of the transport
libraries are translated here into DeliveryFailed, whose message is safe to show a subscriber
in lastFailureReason (no credentials).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, ClassVar, Protocol, Self
from urllib.parse import urlsplit, urlunsplit

JSON = "application/json"
JSON_LD = "application/ld+json"
GEO_JSON = "application/geo+json"
JSON_LD_CONTEXT_REL = "http://www.w3.org/ns/json-ld#context"


class DeliveryFailed(Exception):
    """The endpoint did not take the notification (refused, timed out, answered an error)."""


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One notification ready to go: the Notification (clause 5.3.1) and how to present it.

    `link` is the JSON-LD context Link header value (application/json and geo+json), None for
    application/ld+json, whose entities carry their @context. `receiver_info` and `notifier_info`
    are the Endpoint's key-value pairs (clause 5.2.15), in order.
    """

    uri: str
    notification: dict[str, Any]
    content_type: str
    link: str | None
    tenant: str
    timeout_s: float
    receiver_info: tuple[tuple[str, str], ...] = ()
    notifier_info: tuple[tuple[str, str], ...] = field(default=())


def safe_uri(uri: str) -> str:
    """The URI without user and password, for logs and lastFailureReason."""
    parts = urlsplit(uri)
    if parts.username is None and parts.password is None:
        return uri
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def link_header(context_url: str) -> str:
    return f'<{context_url}>; rel="{JSON_LD_CONTEXT_REL}"; type="{JSON_LD}"'


class Notifier(Protocol):
    """One transport. `kind` labels metrics ("http", "mqtt"); `check_endpoint` runs at subscription time."""

    kind: ClassVar[str]

    @classmethod
    def check_endpoint(cls, endpoint: dict[str, Any]) -> None:
        """Raise BadRequestData when this notifier could never deliver to the Endpoint (clause 5.2.15)."""

    def endpoint_key(self, uri: str) -> str:
        """Notifications with the same key share one bounded queue (one remote endpoint)."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    async def send(self, outgoing: Outgoing) -> None:
        """Deliver, or raise DeliveryFailed. Returns only once the endpoint acknowledged it."""


__all__ = ["GEO_JSON", "JSON", "JSON_LD", "DeliveryFailed", "Notifier", "Outgoing", "link_header"]
