# SPDX-License-Identifier: EUPL-1.2
"""Notifications over MQTT with TLS (mqtts://) to a real Mosquitto of the test's own, listening with a
certificate the test makes: delivered when the broker trusts it (notification_mqtt_ca_file), failed
and reported when it does not."""

from __future__ import annotations

import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.broker.subscriptions.fixtures import MqttListener, eventually, fast_settings, room, running_broker, subscription
from tests.broker.subscriptions.test_delivery import state_of
from tests.broker.subscriptions.test_notifications import ENTITIES, subscribe
from tests.conftest import free_port


class TlsMosquitto:
    def __init__(self, port: int, ca_file: Path) -> None:
        self.port = port
        self.ca_file = ca_file


@pytest.fixture
def tls_mosquitto(tmp_path: Path) -> Iterator[TlsMosquitto]:
    """Mosquitto on 127.0.0.1 with a TLS listener only, its certificate self-signed for IP 127.0.0.1."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    port = free_port()
    config = tmp_path / "mosquitto.conf"
    config.write_text(
        f"user root\nper_listener_settings false\nallow_anonymous true\n"
        f"listener {port} 127.0.0.1\ncertfile {cert}\nkeyfile {key}\n"
    )
    log = (tmp_path / "mosquitto.log").open("w")
    process = subprocess.Popen(["mosquitto", "-c", str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while True:
            if process.poll() is not None:
                pytest.fail(f"mosquitto with TLS did not start: {(tmp_path / 'mosquitto.log').read_text()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("mosquitto with TLS did not listen within 10 s")
                time.sleep(0.05)
        yield TlsMosquitto(port, cert)
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def mqtts_endpoint(port: int, topic: str) -> dict[str, Any]:
    return {"uri": f"mqtts://127.0.0.1:{port}/{topic}", "notifierInfo": [{"key": "MQTT-QoS", "value": "1"}]}


async def test_an_mqtts_endpoint_gets_the_notification_over_tls(
    tmp_path: Path, tls_mosquitto: TlsMosquitto, unique_id: Callable[[str], str]
) -> None:
    listener = MqttListener(f"citycontext-test/{uuid.uuid4().hex}")
    listener.client.tls_set(ca_certs=str(tls_mosquitto.ca_file))
    listener.client.connect("127.0.0.1", tls_mosquitto.port, 10)
    listener.client.loop_start()
    try:
        assert listener._subscribed.wait(5), "the TLS listener was not subscribed"
        settings = fast_settings(tmp_path, notification_mqtt_ca_file=str(tls_mosquitto.ca_file))
        async with running_broker(settings) as client:
            endpoint = mqtts_endpoint(tls_mosquitto.port, listener.topic("rooms"))
            await subscribe(client, subscription(endpoint["uri"], notification={"endpoint": endpoint}))
            entity_id = unique_id("Room")
            assert (await client.post(ENTITIES, json=room(entity_id, 19))).status_code == 201
            [message] = await listener.wait_for(1, listener.topic("rooms"))
            assert message["body"]["data"][0]["id"] == entity_id
    finally:
        listener.client.disconnect()
        listener.client.loop_stop()


# paho-mqtt (2.x) drops the SSL socket of a failed handshake without closing it; the garbage collector
# closes it, with a ResourceWarning that would fail this test.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning", "ignore::ResourceWarning")
async def test_an_mqtts_endpoint_whose_certificate_is_not_trusted_is_recorded_as_failed(
    tmp_path: Path, tls_mosquitto: TlsMosquitto, unique_id: Callable[[str], str]
) -> None:
    settings = fast_settings(tmp_path, notification_timeout_s=1.0, notification_retries=0)  # the system's CAs only
    async with running_broker(settings) as client:
        endpoint = mqtts_endpoint(tls_mosquitto.port, "untrusted")
        subscription_id = await subscribe(client, subscription(endpoint["uri"], notification={"endpoint": endpoint}))
        assert (await client.post(ENTITIES, json=room(unique_id("Room")))).status_code == 201

        async def failed() -> bool:
            return bool((await state_of(client, subscription_id))["status"] == "failed")

        await eventually(failed, "the subscription to an untrusted mqtts:// broker reports status failed")
