# SPDX-License-Identifier: EUPL-1.2
"""Settings of the JSON agent: the `json:` section of agents.yaml, plus CLI options.

Defaults are FIWARE's: provisioning API on 4041 (IOTA_NORTH_PORT), HTTP measures on 7896
(IOTA_HTTP_PORT), resource /iot/json, entity type Thing, autoprovision on.
"""

from __future__ import annotations

from pydantic import Field

from agents.common.settings import AgentSettings

DEFAULT_TOPICS = ("/+/+/attrs", "/+/+/attrs/+", "/json/+/+/attrs", "/json/+/+/attrs/+")


class JsonAgentSettings(AgentSettings):
    queue_path: str = Field("data/agent-json-queue.db", description="SQLite file of the durable queue.")
    north_port: int = Field(4041, ge=0, le=65535, description="Provisioning API (/iot/services, /iot/devices), /health, /metrics.")
    http_port: int = Field(7896, ge=0, le=65535, description="HTTP measures (POST /iot/json?k=&i=).")
    registry: str = Field("sqlite:///data/iotagent-json.db", description="Device registry: sqlite:///path.db or postgresql://...")
    mqtt_enabled: bool = Field(True, description="Subscribe to MQTT measures.")
    default_resource: str = Field("/iot/json", description="Resource of a service group that names none.")
    default_entity_type: str = Field("Thing", description="Entity type of a device whose group names none.")
    autoprovision: bool = Field(True, description="Default of a group's autoprovision: unknown device ids are registered.")
    registry_cache_s: float = Field(5.0, ge=0, description="How long a looked-up group or device is reused.")
