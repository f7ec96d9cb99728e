# SPDX-License-Identifier: EUPL-1.2
"""Settings of the LoRaWAN agent: the `lorawan:` section of agents.yaml.

    lorawan:
      tenant: hamm                       # NGSILD-Tenant of the entities (optional)
      profiles:                          # matched by a device's `profile`, else the network server's
        climate-station:                 # device profile name (ChirpStack) or model id (TTS)
          entity_type: WeatherObserved
          entity_id: "urn:ngsi-ld:WeatherObserved:{device_id}"
          decoder: cayennelpp            # only used when the network server sent no decoded payload
          attributes:
            temperature_1: {name: temperature, unitCode: CEL}
            wind.speed: {name: windSpeed, unitCode: MTS}
            battery: {name: batteryLevel, target: device, scale: 0.01}
      devices:                           # by TTS device id, dev EUI or device name
        hamm-klima-sued: {profile: climate-station, entity_id: "urn:ngsi-ld:WeatherObserved:hamm-sued"}
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from agents.common.settings import AgentSettings, ConfigModel

ATTRIBUTE_TYPES = ("auto", "Number", "Integer", "Boolean", "Text", "Object", "GeoProperty", "Relationship", "DateTime")


class AttributeMapping(ConfigModel):
    name: str | None = Field(None, description="NGSI-LD attribute name; default: the field name.")
    type: Literal["auto", "Number", "Integer", "Boolean", "Text", "Object", "GeoProperty", "Relationship", "DateTime"] = "auto"
    unitCode: str | None = None
    target: Literal["entity", "device"] = Field("entity", description="device: an attribute of the Device entity.")
    scale: float | None = Field(None, description="Multiply a number by this (e.g. 0.01 for percent to fraction).")
    expression: str | None = Field(None, description="FIWARE-style JEXL over the decoded fields; `value` is this field.")


class Profile(ConfigModel):
    entity_type: str
    entity_id: str = Field("urn:ngsi-ld:{entity_type}:{device_id}", description="Template of the target entity id.")
    decoder: str | None = Field(None, description="Decoder name (cayennelpp, or an entry point of citycontext.decoders).")
    attributes: dict[str, AttributeMapping] = Field(default_factory=dict)
    explicit_attrs: bool = Field(False, description="True: only mapped fields reach the broker.")
    static_attributes: dict[str, Any] = Field(default_factory=dict, description="NGSI-LD attributes added every time.")
    tenant: str | None = None


class DeviceConfig(ConfigModel):
    profile: str | None = None
    entity_id: str | None = None
    entity_type: str | None = None
    tenant: str | None = None
    static_attributes: dict[str, Any] = Field(default_factory=dict)


class LorawanSettings(AgentSettings):
    queue_path: str = Field("data/agent-lorawan-queue.db", description="SQLite file of the durable queue.")
    port: int = Field(4042, ge=0, le=65535, description="Port of /health and /metrics.")
    tenant: str | None = None
    profiles: dict[str, Profile] = Field(default_factory=dict)
    devices: dict[str, DeviceConfig] = Field(default_factory=dict)
    default_profile: str | None = Field(None, description="Profile of a device neither listed nor matched by profile name.")
    device_entities: bool = Field(True, description="Keep a Smart Data Model Device entity per sensor.")

    @model_validator(mode="after")
    def _profiles_exist(self) -> LorawanSettings:
        for name, device in self.devices.items():
            if device.profile is not None and device.profile not in self.profiles:
                raise ValueError(f"devices.{name}.profile: no profile named {device.profile!r}")
        if self.default_profile is not None and self.default_profile not in self.profiles:
            raise ValueError(f"default_profile: no profile named {self.default_profile!r}")
        return self
