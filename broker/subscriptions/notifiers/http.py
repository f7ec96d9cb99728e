# SPDX-License-Identifier: EUPL-1.2
"""HTTP(S) notifications (clause 6.3.8 of ETSI GS CIM 009 v1.9.1): one POST per notification.

One aiohttp session for every endpoint, so connections are pooled and kept alive; each request
has a finite timeout. The body is the Notification; application/json carries the JSON-LD Link
header, application/ld+json none (each entity has its @context). receiverInfo pairs become
headers, and a notification of a non-default tenant says so in NGSILD-Tenant.
"""

from __future__ import annotations

import re
from types import TracebackType
from typing import Any, ClassVar, Self
from urllib.parse import urlsplit

import aiohttp
import orjson

from broker.errors import BadRequestData
from broker.settings import Settings
from broker.subscriptions.notifiers.base import DeliveryFailed, Outgoing, safe_uri

_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")  # RFC 9110 field-name
_FIELD_VALUE = re.compile(r"^[\t\x20-\x7e\x80-\xff]*$")
# Headers the notifier sets itself; a receiverInfo pair must not replace them.
_RESERVED = frozenset({"content-type", "content-length", "link", "host", "ngsild-tenant", "transfer-encoding"})


class HttpNotifier:
    kind: ClassVar[str] = "http"

    def __init__(self, *, timeout_s: float = 10.0, max_connections: int = 100) -> None:
        self.timeout_s = timeout_s
        self.max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> HttpNotifier:
        return cls(timeout_s=settings.notification_timeout_s, max_connections=settings.notification_max_connections)

    @classmethod
    def check_endpoint(cls, endpoint: dict[str, Any]) -> None:
        parts = urlsplit(endpoint["uri"])
        if not parts.hostname:
            raise BadRequestData(f"the notification endpoint {endpoint['uri']!r} has no host")
        try:
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            raise BadRequestData(f"the notification endpoint {endpoint['uri']!r} has an invalid port") from None
        for pair in endpoint.get("receiverInfo", ()):
            key, value = pair["key"], pair["value"]
            if not _TOKEN.match(key) or key.lower() in _RESERVED:
                raise BadRequestData(f"receiverInfo key {key!r} cannot be an HTTP header of a notification")
            if not _FIELD_VALUE.match(value):
                raise BadRequestData(f"receiverInfo value of {key!r} cannot be an HTTP header value")

    def endpoint_key(self, uri: str) -> str:
        return uri

    async def __aenter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("HttpNotifier is already open")
        # No per-host limit: the delivery already caps each endpoint at notification_concurrency, and
        # many subscriptions of one application often share a host.
        connector = aiohttp.TCPConnector(limit=self.max_connections)
        self._session = aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=self.timeout_s))
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._session is not None:
            await self._session.close()

    async def send(self, outgoing: Outgoing) -> None:
        if self._session is None or self._session.closed:
            raise DeliveryFailed("the HTTP notifier is closed")
        headers = {key: value for key, value in outgoing.receiver_info}
        headers["Content-Type"] = outgoing.content_type
        if outgoing.link is not None:
            headers["Link"] = outgoing.link
        if outgoing.tenant:
            headers["NGSILD-Tenant"] = outgoing.tenant
        try:
            async with self._session.post(
                outgoing.uri,
                data=orjson.dumps(outgoing.notification),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=outgoing.timeout_s),
                allow_redirects=False,
            ) as response:
                await response.read()
                if not 200 <= response.status < 300:
                    raise DeliveryFailed(f"the endpoint answered HTTP {response.status}")
        except TimeoutError:
            raise DeliveryFailed(f"no answer from the endpoint within {outgoing.timeout_s:g} s") from None
        except aiohttp.ClientError as exc:
            reason = _describe(exc).replace(outgoing.uri, safe_uri(outgoing.uri))
            raise DeliveryFailed(f"HTTP delivery failed: {reason}") from exc


def _describe(exc: aiohttp.ClientError) -> str:
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot connect to {exc.host}:{exc.port} ({exc.os_error.strerror or exc.os_error})"
    return type(exc).__name__ + (f": {exc}" if str(exc) else "")


__all__ = ["HttpNotifier"]
