# SPDX-License-Identifier: EUPL-1.2
"""Parsing the network servers' uplinks: what is kept, and what is refused with which reason."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from agents.common.ngsi import Rejected, iso_utc, parse_time
from agents.lorawan.uplink import CHIRPSTACK, TTS, parse_uplink
from tests.agents.uplinks import chirpstack_uplink, climate_payload, tts_uplink


def test_a_tts_v3_uplink_keeps_the_network_server_time_and_the_radio_metadata() -> None:
    raw, decoded = climate_payload(18.4, 61.5, 3.2, 245, 0.4)
    topic, body = tts_uplink("klima", "hamm", "klima-01", "70B3D57ED005A1B2", f_cnt=7, f_port=2,
                             received_at="2026-11-26T08:15:02.123456789Z", payload=raw, decoded=decoded, model_id="ws-1")
    uplink = parse_uplink(topic, orjson.dumps(body))
    assert (uplink.network, uplink.device_id, uplink.application, uplink.tenant) == (TTS, "klima-01", "klima", "hamm")
    assert iso_utc(uplink.received_at) == "2026-11-26T08:15:02.123456Z"
    assert (uplink.f_cnt, uplink.f_port, uplink.payload, uplink.decoded, uplink.profile) == (7, 2, raw, decoded, "ws-1")
    best = uplink.best_gateway
    assert best is not None and (best.gateway_id, best.rssi, best.snr) == ("hamm-rathaus-gw-01", -97, 7.25)
    assert len(uplink.gateways) == 2


def test_a_chirpstack_v4_uplink_without_object_has_the_raw_payload() -> None:
    topic, body = chirpstack_uplink("app-1", "0004a30b001c5c77", device_name="c-1", profile="waste", f_cnt=3, f_port=1,
                                    time="2026-11-26T06:30:11.402+01:00", payload=b"\x01\x02")
    uplink = parse_uplink(topic, orjson.dumps(body))
    assert (uplink.network, uplink.device_id, uplink.device_name, uplink.profile) == (CHIRPSTACK, "0004a30b001c5c77", "c-1", "waste")
    assert uplink.decoded is None and uplink.payload == b"\x01\x02"
    assert iso_utc(uplink.received_at) == "2026-11-26T05:30:11.402000Z"


def _tts(**changes: Any) -> tuple[str, dict[str, Any]]:
    topic, body = tts_uplink("a", "t", "d1", "70B3D57ED005A1B2", f_cnt=1, f_port=1, received_at="2026-11-26T08:00:00Z",
                             payload=b"\x01")
    body["uplink_message"].update(changes)
    return topic, body


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("v3/a@t/devices/d1/up", b"{oops", "malformed_json"),
        ("v3/a@t/devices/d1/up", b"[1, 2]", "malformed_json"),
        (_tts()[0], orjson.dumps(_tts(frm_payload="%%%")[1]), "bad_base64"),
        (_tts()[0], orjson.dumps(_tts(received_at="yesterday")[1] | {"received_at": "no"}), "malformed_uplink"),
        (_tts()[0], orjson.dumps({"end_device_ids": {"device_id": "d1"}}), "malformed_uplink"),
        ("v3/a@t/devices/d1/join", b"{}", "unknown_topic"),
    ],
)
def test_bad_uplinks_are_rejected_with_a_reason_and_the_device(topic: str, payload: bytes, reason: str) -> None:
    with pytest.raises(Rejected) as caught:
        parse_uplink(topic, payload)
    assert caught.value.reason == reason
    if reason != "unknown_topic":
        assert caught.value.device_id == "d1"


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("2026-11-26T08:15:02.123456789Z", "2026-11-26T08:15:02.123456Z"),
        ("2026-11-26T08:15:02Z", "2026-11-26T08:15:02Z"),
        ("2026-11-26T09:15:02.5+01:00", "2026-11-26T08:15:02.500000Z"),
        ("2026-11-26T08:15:02", "2026-11-26T08:15:02Z"),
    ],
)
def test_network_server_times_become_utc(text: str, iso: str) -> None:
    assert iso_utc(parse_time(text)) == iso
