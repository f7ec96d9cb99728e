# SPDX-License-Identifier: EUPL-1.2
"""MQTT notifications: publish to `mqtt://[user:pass@]host[:port]/topic`, or over TLS to
`mqtts://...` (ETSI GS CIM 009 v1.9.1, the MQTT notification binding), with paho-mqtt.

mqtts:// verifies the broker's certificate and host name against the system's certificate
authorities, or those of `notification_mqtt_ca_file`.

The payload is the binding's envelope {"metadata": {Content-Type, Link, receiverInfo pairs...},
"body": Notification}. notifierInfo chooses MQTT-Version (mqtt3.1.1 | mqtt5.0, default mqtt5.0)
and MQTT-QoS (0 | 1 | 2, default 0). There is one client per broker, version and credentials,
reused by every subscription; paho's network loop runs in its own thread (loop_start), and its
callbacks hand results to the event loop with call_soon_threadsafe, so nothing here blocks the
loop. A publish counts as delivered when paho reports it: once written for QoS 0, on PUBACK for
QoS 1, on PUBCOMP for QoS 2, each within the timeout.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from types import TracebackType
from typing import Any, ClassVar, Self
from urllib.parse import unquote, urlsplit

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from broker.errors import BadRequestData
from broker.settings import Settings
from broker.subscriptions.notifiers.base import DeliveryFailed, Outgoing

log = logging.getLogger("citycontext.notifications.mqtt")

MQTT_VERSION = "MQTT-Version"
MQTT_QOS = "MQTT-QoS"
VERSIONS = {"mqtt3.1.1": mqtt.MQTTv311, "mqtt5.0": mqtt.MQTTv5}
DEFAULT_VERSION = "mqtt5.0"
DEFAULT_QOS = 0
DEFAULT_PORT = 1883
DEFAULT_TLS_PORT = 8883
SCHEMES = ("mqtt", "mqtts")
_MAX_ABANDONED = 10_000


@dataclass(frozen=True, slots=True)
class MqttTarget:
    host: str
    port: int
    username: str | None
    password: str | None
    topic: str
    version: str
    qos: int
    tls: bool = False

    @property
    def broker_key(self) -> tuple[str, int, str | None, str | None, str, bool]:
        return (self.host, self.port, self.username, self.password, self.version, self.tls)

    @property
    def safe_broker(self) -> str:
        return f"{self.host}:{self.port}"


MAX_TOPIC_BYTES = 65_535  # MQTT 3.1.1 and 5: a UTF-8 string of at most 65,535 bytes


def parse_target(uri: str, notifier_info: dict[str, str]) -> MqttTarget:
    """The broker, topic and options of an MQTT endpoint; BadRequestData names what is wrong."""
    parts = urlsplit(uri)
    if parts.scheme not in SCHEMES:
        raise BadRequestData(f"an MQTT endpoint uses mqtt:// or mqtts://, not {parts.scheme}://")
    tls = parts.scheme == "mqtts"
    if not parts.hostname:
        raise BadRequestData("the MQTT endpoint has no broker host: use mqtt://[user:pass@]host[:port]/topic")
    try:
        port = parts.port or (DEFAULT_TLS_PORT if tls else DEFAULT_PORT)
    except ValueError:
        raise BadRequestData("the MQTT endpoint has an invalid port") from None
    topic = unquote(parts.path[1:]) if parts.path.startswith("/") else ""
    if not topic:
        raise BadRequestData("the MQTT endpoint has no topic: use mqtt://host[:port]/topic")
    if "+" in topic or "#" in topic or "\x00" in topic:
        raise BadRequestData("an MQTT notification topic cannot hold the wildcards '+' or '#'")
    if len(topic.encode()) > MAX_TOPIC_BYTES:
        raise BadRequestData(f"an MQTT topic is at most {MAX_TOPIC_BYTES:,} bytes (UTF-8), as MQTT encodes its length")
    if parts.query or parts.fragment:
        raise BadRequestData("an MQTT endpoint has no query or fragment; the topic is the path")
    version = notifier_info.get(MQTT_VERSION, DEFAULT_VERSION)
    if version not in VERSIONS:
        raise BadRequestData(f"notifierInfo {MQTT_VERSION} must be one of {', '.join(VERSIONS)}, got {version!r}")
    qos_text = notifier_info.get(MQTT_QOS, str(DEFAULT_QOS))
    if qos_text not in ("0", "1", "2"):
        raise BadRequestData(f"notifierInfo {MQTT_QOS} must be 0, 1 or 2, got {qos_text!r}")
    return MqttTarget(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        topic=topic,
        version=version,
        qos=int(qos_text),
        tls=tls,
    )


class MqttNotifier:
    kind: ClassVar[str] = "mqtt"

    def __init__(self, *, timeout_s: float = 10.0, ca_file: str | None = None) -> None:
        self.timeout_s = timeout_s
        self.ca_file = ca_file
        self._connections: dict[tuple[str, int, str | None, str | None, str, bool], _Connection] = {}
        self._open = False

    @classmethod
    def from_settings(cls, settings: Settings) -> MqttNotifier:
        return cls(timeout_s=settings.notification_timeout_s, ca_file=settings.notification_mqtt_ca_file or None)

    @classmethod
    def check_endpoint(cls, endpoint: dict[str, Any]) -> None:
        parse_target(endpoint["uri"], _pairs(endpoint.get("notifierInfo")))

    def endpoint_key(self, uri: str) -> str:
        return uri

    async def __aenter__(self) -> Self:
        self._open = True
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._open = False
        connections, self._connections = list(self._connections.values()), {}
        await asyncio.gather(*(connection.close() for connection in connections), return_exceptions=True)

    async def send(self, outgoing: Outgoing) -> None:
        if not self._open:
            raise DeliveryFailed("the MQTT notifier is closed")
        try:
            target = parse_target(outgoing.uri, dict(outgoing.notifier_info))
        except BadRequestData as exc:
            raise DeliveryFailed(exc.detail) from None
        metadata: dict[str, str] = {"Content-Type": outgoing.content_type}
        if outgoing.link is not None:
            metadata["Link"] = outgoing.link
        if outgoing.tenant:
            metadata["NGSILD-Tenant"] = outgoing.tenant
        metadata.update(outgoing.receiver_info)
        payload = orjson.dumps({"metadata": metadata, "body": outgoing.notification})
        connection = self._connections.get(target.broker_key)
        if connection is None:
            connection = _Connection(target, asyncio.get_running_loop(), self.ca_file)
            self._connections[target.broker_key] = connection
            connection.start()
        await connection.publish(target.topic, payload, target.qos, outgoing.timeout_s)


class _Connection:
    """One paho client, its network thread, and the publishes waiting for their acknowledgement."""

    def __init__(self, target: MqttTarget, loop: asyncio.AbstractEventLoop, ca_file: str | None = None) -> None:
        self.target = target
        self.loop = loop
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"citycontext-{uuid.uuid4().hex[:16]}",
            protocol=VERSIONS[target.version],
        )
        if target.tls:
            self.client.tls_set(ca_certs=ca_file)  # the certificate and the host name are verified
        if target.username is not None:
            self.client.username_pw_set(target.username, target.password)
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_publish = self._on_publish
        self.client.on_connect_fail = self._on_connect_fail
        self.connected = asyncio.Event()
        self.last_error = "no connection yet"
        # Touched only on the event loop: paho's thread hands each acknowledgement over with
        # call_soon_threadsafe, so it cannot run between publish() and the registration of its mid
        # (no lock is held while paho holds its own, which would deadlock).
        self._pending: dict[int, asyncio.Future[None]] = {}
        self._abandoned: set[int] = set()

    def start(self) -> None:
        self.client.connect_async(self.target.host, self.target.port, keepalive=30)
        self.client.loop_start()

    async def close(self) -> None:
        self.client.disconnect()
        await asyncio.to_thread(self.client.loop_stop)
        pending, self._pending = list(self._pending.values()), {}
        for future in pending:
            if not future.done():
                future.cancel()

    async def publish(self, topic: str, payload: bytes, qos: int, timeout_s: float) -> None:
        if not self.connected.is_set():
            try:
                await asyncio.wait_for(self.connected.wait(), timeout_s)
            except TimeoutError:
                raise DeliveryFailed(
                    f"cannot connect to the MQTT broker {self.target.safe_broker} ({self.last_error})"
                ) from None
        future: asyncio.Future[None] = self.loop.create_future()
        info = self.client.publish(topic, payload, qos=qos)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise DeliveryFailed(f"MQTT publish to {self.target.safe_broker} failed: {mqtt.error_string(info.rc)}")
        self._pending[info.mid] = future  # its acknowledgement can only be handled after this line
        try:
            await asyncio.wait_for(future, timeout_s)
        except TimeoutError:
            if self._pending.pop(info.mid, None) is not None:
                if len(self._abandoned) > _MAX_ABANDONED:  # acknowledgements that never came
                    self._abandoned.clear()
                self._abandoned.add(info.mid)
            what = "sent" if qos == 0 else "acknowledged"
            raise DeliveryFailed(f"the MQTT broker {self.target.safe_broker} has not {what} it within {timeout_s:g} s") from None

    # -- paho callbacks (its network thread) --------------------------------------------------

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: ReasonCode, properties: Any) -> None:
        if reason_code.is_failure:
            self.last_error = f"refused: {reason_code}"
            return
        self.last_error = ""
        self._call(self.connected.set)

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        self.last_error = "the connection was refused or timed out"

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: ReasonCode, properties: Any) -> None:
        self.last_error = f"disconnected: {reason_code}"
        self._call(self.connected.clear)

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason_code: ReasonCode, properties: Any) -> None:
        failure = f"the MQTT broker refused the message: {reason_code}" if reason_code.is_failure else None
        self._call(self._published, mid, failure)

    # -- on the event loop ---------------------------------------------------------------------

    def _published(self, mid: int, failure: str | None) -> None:
        future = self._pending.pop(mid, None)
        if future is None:
            self._abandoned.discard(mid)  # timed out already, or the connection was closed
            return
        if future.done():
            return
        if failure is None:
            future.set_result(None)
        else:
            future.set_exception(DeliveryFailed(failure))

    def _call(self, fn: Any, *args: Any) -> None:
        try:
            self.loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # the event loop is closed: nobody waits any more
            pass


def _pairs(value: Any) -> dict[str, str]:
    return {pair["key"]: pair["value"] for pair in value or ()}


__all__ = ["MQTT_QOS", "MQTT_VERSION", "MqttNotifier", "MqttTarget", "parse_target"]
