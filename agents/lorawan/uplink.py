# SPDX-License-Identifier: EUPL-1.2
"""Uplink events of the two network servers, parsed into one Uplink.

- The Things Stack v3, MQTT topic `v3/{application id}@{tenant id}/devices/{device id}/up`: body with
  end_device_ids (device_id, dev_eui, application_ids), received_at, uplink_message (f_port, f_cnt,
  frm_payload base64, decoded_payload, rx_metadata [{gateway_ids, rssi, snr, time}], received_at,
  version_ids, last_battery_percentage).
- ChirpStack v4, topic `application/{application id}/device/{dev eui}/event/up`: body with deviceInfo
  (tenantName, applicationId, deviceProfileName, deviceName, devEui), time, fCnt, fPort, data base64,
  object (the codec's output), rxInfo [{gatewayId, rssi, snr}].

The observation time is the network server's receipt time (TTS uplink_message.received_at, ChirpStack
`time`), not the agent's clock: an uplink that waited in a queue keeps its real time.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from agents.common.ngsi import Rejected, is_number, parse_time

TTS = "tts-v3"
CHIRPSTACK = "chirpstack-v4"
DEFAULT_TOPICS = ("v3/+/devices/+/up", "application/+/device/+/event/up")


@dataclass(frozen=True, slots=True)
class Gateway:
    gateway_id: str
    rssi: float | None
    snr: float | None


@dataclass(slots=True)
class Uplink:
    network: str
    device_id: str  # TTS device id; ChirpStack dev EUI (the key in its topic)
    dev_eui: str | None
    device_name: str | None
    application: str
    tenant: str | None
    received_at: datetime
    f_port: int | None
    f_cnt: int | None
    payload: bytes
    decoded: dict[str, Any] | None  # the network server's decoded payload, when it has one
    profile: str | None  # ChirpStack deviceProfileName, TTS version_ids.model_id
    gateways: list[Gateway] = field(default_factory=list)
    battery_percent: float | None = None

    @property
    def best_gateway(self) -> Gateway | None:
        heard = [g for g in self.gateways if g.rssi is not None]
        return max(heard, key=lambda g: g.rssi or 0.0) if heard else (self.gateways[0] if self.gateways else None)


def parse_uplink(topic: str, payload: bytes) -> Uplink:
    """Parse an uplink of either network server, chosen by topic. Raises Rejected."""
    parts = topic.split("/")
    if len(parts) >= 5 and parts[0] == "v3" and parts[2] == "devices" and parts[-1] == "up":
        return parse_tts_v3(parts, _json(payload, parts[3]))
    if len(parts) >= 6 and parts[0] == "application" and parts[2] == "device" and parts[-2:] == ["event", "up"]:
        return parse_chirpstack_v4(parts, _json(payload, parts[3]))
    raise Rejected("unknown_topic", f"not an uplink topic: {topic}")


def parse_tts_v3(topic_parts: list[str], body: dict[str, Any]) -> Uplink:
    ids = _mapping(body.get("end_device_ids"))
    device_id = ids.get("device_id") or topic_parts[3]
    if not isinstance(device_id, str):
        raise Rejected("malformed_uplink", "end_device_ids.device_id is not a string")
    message = body.get("uplink_message")
    if not isinstance(message, dict):
        raise Rejected("malformed_uplink", "no uplink_message", device_id)
    application, _, tenant = topic_parts[1].partition("@")
    app_ids = _mapping(ids.get("application_ids"))
    received = message.get("received_at") or body.get("received_at")
    gateways = [
        Gateway(
            str(_mapping(rx.get("gateway_ids")).get("gateway_id") or _mapping(rx.get("gateway_ids")).get("eui") or ""),
            _number(rx.get("rssi", rx.get("channel_rssi"))),
            _number(rx.get("snr")),
        )
        for rx in message.get("rx_metadata") or []
        if isinstance(rx, dict)
    ]
    battery = _mapping(message.get("last_battery_percentage")).get("value")
    decoded = message.get("decoded_payload")
    return Uplink(
        network=TTS,
        device_id=device_id,
        dev_eui=_str(ids.get("dev_eui")),
        device_name=device_id,
        application=str(app_ids.get("application_id") or application),
        tenant=tenant or None,
        received_at=_time(received, device_id),
        f_port=_int(message.get("f_port")),
        f_cnt=_int(message.get("f_cnt")),
        payload=_base64(message.get("frm_payload"), device_id),
        decoded=decoded if isinstance(decoded, dict) and decoded else None,
        profile=_str(_mapping(message.get("version_ids")).get("model_id")),
        gateways=gateways,
        battery_percent=_number(battery),
    )


def parse_chirpstack_v4(topic_parts: list[str], body: dict[str, Any]) -> Uplink:
    info = _mapping(body.get("deviceInfo"))
    dev_eui = info.get("devEui") or topic_parts[3]
    if not isinstance(dev_eui, str):
        raise Rejected("malformed_uplink", "deviceInfo.devEui is not a string")
    decoded = body.get("object")
    gateways = [
        Gateway(str(rx.get("gatewayId") or ""), _number(rx.get("rssi")), _number(rx.get("snr")))
        for rx in body.get("rxInfo") or []
        if isinstance(rx, dict)
    ]
    return Uplink(
        network=CHIRPSTACK,
        device_id=dev_eui,
        dev_eui=dev_eui,
        device_name=_str(info.get("deviceName")),
        application=str(info.get("applicationId") or topic_parts[1]),
        tenant=_str(info.get("tenantName")),
        received_at=_time(body.get("time"), dev_eui),
        f_port=_int(body.get("fPort")),
        f_cnt=_int(body.get("fCnt")),
        payload=_base64(body.get("data"), dev_eui),
        decoded=decoded if isinstance(decoded, dict) and decoded else None,
        profile=_str(info.get("deviceProfileName")),
        gateways=gateways,
    )


def _json(payload: bytes, device_hint: str) -> dict[str, Any]:
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise Rejected("malformed_json", f"body is not JSON: {exc}", device_hint) from exc
    if not isinstance(body, dict):
        raise Rejected("malformed_json", "body is not a JSON object", device_hint)
    return body


def _base64(value: Any, device_id: str) -> bytes:
    if value is None or value == "":
        return b""
    if not isinstance(value, str):
        raise Rejected("bad_base64", "payload is not a base64 string", device_id)
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Rejected("bad_base64", f"payload is not valid base64: {exc}", device_id) from exc


def _time(value: Any, device_id: str) -> datetime:
    try:
        return parse_time(value)
    except ValueError as exc:
        raise Rejected("malformed_uplink", f"no valid receipt time: {exc}", device_id) from exc


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _number(value: Any) -> float | None:
    return float(value) if is_number(value) else None
