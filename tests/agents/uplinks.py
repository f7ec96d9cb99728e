# SPDX-License-Identifier: EUPL-1.2
"""Realistic uplinks as the network servers publish them (shapes taken from The Things Stack v3 and
ChirpStack v4 integrations): a climate station, a parking occupancy sensor, a waste-container
fill-level sensor, and a CayenneLPP payload."""

from __future__ import annotations

import base64
import uuid
from typing import Any

HAMM_RATHAUS_GW = "hamm-rathaus-gw-01"
HAMM_HBF_GW = "hamm-hbf-gw-02"


def tts_uplink(
    application: str, tenant: str, device_id: str, dev_eui: str, *, f_cnt: int, f_port: int, received_at: str,
    payload: bytes, decoded: dict[str, Any] | None = None, model_id: str | None = None, battery: float | None = None,
) -> tuple[str, dict[str, Any]]:
    """A The Things Stack v3 `up` message: (topic, body)."""
    message: dict[str, Any] = {
        "session_key_id": "AYxT3uJv7u2m0I0a1Xk0Qg==",
        "f_port": f_port,
        "f_cnt": f_cnt,
        "frm_payload": base64.b64encode(payload).decode(),
        "rx_metadata": [
            {
                "gateway_ids": {"gateway_id": HAMM_RATHAUS_GW, "eui": "B827EBFFFE8A1C2D"},
                "time": received_at, "timestamp": 2938457829, "rssi": -97, "channel_rssi": -97, "snr": 7.25,
                "location": {"latitude": 51.6806, "longitude": 7.8201, "altitude": 70, "source": "SOURCE_REGISTRY"},
                "uplink_token": "CiIKIAoUaGFtbS1yYXRoYXVzLWd3LTAx", "channel_index": 2, "received_at": received_at,
            },
            {
                "gateway_ids": {"gateway_id": HAMM_HBF_GW, "eui": "B827EBFFFE8A9F01"},
                "time": received_at, "timestamp": 1129384756, "rssi": -112, "channel_rssi": -112, "snr": -4.5,
                "uplink_token": "CiIKIAoUaGFtbS1oYmYtZ3ctMDI=", "channel_index": 2, "received_at": received_at,
            },
        ],
        "settings": {
            "data_rate": {"lora": {"bandwidth": 125000, "spreading_factor": 9, "coding_rate": "4/5"}},
            "frequency": "868300000", "timestamp": 2938457829, "time": received_at,
        },
        "received_at": received_at,
        "consumed_airtime": "0.185344s",
        "network_ids": {"net_id": "000013", "ns_id": "EC656E0000000181", "tenant_id": tenant, "cluster_id": "eu1",
                        "cluster_address": "eu1.cloud.thethings.network"},
    }
    if decoded is not None:
        message["decoded_payload"] = decoded
    if model_id is not None:
        message["version_ids"] = {"brand_id": "hamm", "model_id": model_id, "hardware_version": "1.0",
                                  "firmware_version": "1.2.0", "band_id": "EU_863_870"}
    if battery is not None:
        message["last_battery_percentage"] = {"f_cnt": f_cnt, "value": battery, "received_at": received_at}
    body = {
        "end_device_ids": {
            "device_id": device_id, "application_ids": {"application_id": application},
            "dev_eui": dev_eui, "join_eui": "70B3D57ED0000000", "dev_addr": "260B5A7C",
        },
        "correlation_ids": [f"as:up:{uuid.uuid4().hex}", f"gs:uplink:{uuid.uuid4().hex}"],
        # the Application Server's time, a little after the Network Server's uplink_message.received_at
        "received_at": received_at.replace("Z", "").rstrip("0123456789").rstrip(".") + ".999999999Z",
        "uplink_message": message,
    }
    return f"v3/{application}@{tenant}/devices/{device_id}/up", body


def chirpstack_uplink(
    application_id: str, dev_eui: str, *, device_name: str, profile: str, f_cnt: int, f_port: int, time: str,
    payload: bytes, decoded: dict[str, Any] | None = None, tenant_name: str = "Stadt Hamm",
) -> tuple[str, dict[str, Any]]:
    """A ChirpStack v4 `event/up` message (JSON marshaler): (topic, body)."""
    body: dict[str, Any] = {
        "deduplicationId": str(uuid.uuid4()),
        "time": time,
        "deviceInfo": {
            "tenantId": "52f14cd4-c6f1-4fbd-8f87-4025e1d49242", "tenantName": tenant_name,
            "applicationId": application_id, "applicationName": "Abfallwirtschaft Hamm",
            "deviceProfileId": "cb1ec7b4-5d43-4b5b-8b0e-7b3b5e0c2f11", "deviceProfileName": profile,
            "deviceName": device_name, "devEui": dev_eui, "deviceClassEnabled": "CLASS_A",
            "tags": {"district": "Hamm-Mitte"},
        },
        "devAddr": "01fb7e22", "adr": True, "dr": 5, "fCnt": f_cnt, "fPort": f_port, "confirmed": False,
        "data": base64.b64encode(payload).decode(),
        "rxInfo": [
            {
                "gatewayId": "b827ebfffe8a1c2d", "uplinkId": 41235, "gwTime": time, "nsTime": time, "rssi": -105,
                "snr": -3.2, "channel": 4, "rfChain": 1, "location": {"latitude": 51.6806, "longitude": 7.8201},
                "context": "SVa7Bw==", "metadata": {"region_config_id": "eu868", "region_common_name": "EU868"},
                "crcStatus": "CRC_OK",
            }
        ],
        "txInfo": {"frequency": 867100000, "modulation": {"lora": {"bandwidth": 125000, "spreadingFactor": 7,
                                                                   "codeRate": "CR_4_5"}}},
    }
    if decoded is not None:
        body["object"] = decoded
    return f"application/{application_id}/device/{dev_eui}/event/up", body


# A climate station (Stadtklimaanalyse): the TTS payload formatter has decoded it.
def climate_payload(temperature: float, humidity: float, wind_speed: float, wind_direction: int, rain_mm: float) -> tuple[bytes, dict[str, Any]]:
    raw = bytes([
        *int(temperature * 10).to_bytes(2, "big", signed=True), int(humidity * 2),
        *int(wind_speed * 10).to_bytes(2, "big"), *wind_direction.to_bytes(2, "big"), *int(rain_mm * 10).to_bytes(2, "big"),
    ])
    decoded = {"temperature": temperature, "humidity": humidity, "wind": {"speed": wind_speed, "direction": wind_direction},
               "rain": rain_mm}
    return raw, decoded


# A parking occupancy sensor: byte 0 = 1 occupied / 0 free, byte 1 = battery %. No network-server decoder.
def parking_payload(occupied: bool, battery_percent: int) -> bytes:
    return bytes([1 if occupied else 0, battery_percent])


# A waste-container fill level sensor: ChirpStack's codec decoded it.
def waste_object(fill_percent: float, temperature: float, battery_volts: float) -> dict[str, Any]:
    return {"fillingLevel": round(fill_percent / 100, 3), "distance": 1210, "temperature": temperature,
            "batteryVoltage": battery_volts}


# CayenneLPP: temperature ch1 21.7 °C, relative humidity ch2 56.5 %, barometer ch3 1013.2 hPa,
# GPS ch4 (Hamm Hbf), digital input ch5 = 1, voltage ch6 = 3.61 V
CAYENNE_PAYLOAD = bytes.fromhex("016700d9" "026871" "0373" "2794" "048807e2af" "0130fb" "001b58" "050001" "06740169")
