# SPDX-License-Identifier: EUPL-1.2
"""Typed settings shared by the agents, built from a mapping (a YAML file's section plus CLI options).

Nothing here reads os.environ: the CLI entry (agents.cli) is the one place that does. A bad value
fails with the dotted path of the setting (`northbound.batch_size: ...`), like the broker's settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlsplit

import yaml  # type: ignore[import-untyped]
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

SECTIONS = frozenset({"lorawan", "json"})


class SettingsError(ValueError):
    """A configuration value we cannot use; the message names the setting."""


class ConfigModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class MqttSettings(ConfigModel):
    url: str = Field("mqtt://127.0.0.1:1883", description="mqtt://[user:password@]host[:port] of the MQTT broker.")
    client_id: str = Field("", description="MQTT client id; stable, so the persistent session survives a restart.")
    qos: int = Field(1, ge=0, le=1, description="QoS of the subscriptions (1: at least once, acknowledged after queueing).")
    topics: list[str] = Field(default_factory=list, description="Topic filters; empty means the agent's defaults.")
    keepalive_s: int = Field(30, gt=0)
    clean_session: bool = Field(False, description="False keeps the session (and queued uplinks) across restarts.")

    @field_validator("url")
    @classmethod
    def _mqtt_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in {"mqtt", "tcp"} or not parts.hostname:
            raise ValueError(f"expected mqtt://host[:port], got {url!r}")
        return url

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or 1883

    @property
    def username(self) -> str | None:
        return urlsplit(self.url).username

    @property
    def password(self) -> str | None:
        return urlsplit(self.url).password


class NorthboundSettings(ConfigModel):
    broker_url: str = Field("http://127.0.0.1:1026", description="Base URL of the NGSI-LD broker (/ngsi-ld/v1 is added).")
    context: str | list[Any] | dict[str, Any] | None = Field(
        None, description="The agent's @context: a URL (sent as a Link header) or an inline context; none = core."
    )
    operation: str = Field("upsert", pattern="^(upsert|merge)$", description="entityOperations/upsert?options=update or /merge.")
    batch_size: int = Field(200, gt=0, le=1000, description="Most entity fragments in one batch request.")
    timeout_s: float = Field(10.0, gt=0, description="Timeout of one northbound request.")
    backoff_initial_s: float = Field(0.2, gt=0, description="First wait after a failed delivery; doubles up to the maximum.")
    backoff_max_s: float = Field(30.0, gt=0, description="Longest wait between delivery attempts.")

    @field_validator("broker_url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if urlsplit(url).scheme not in {"http", "https"}:
            raise ValueError(f"expected http(s)://host:port, got {url!r}")
        return url.rstrip("/")


class AgentSettings(ConfigModel):
    """What every agent has: MQTT southbound, northbound delivery, the queue file, an HTTP port."""

    mqtt: MqttSettings = Field(default_factory=MqttSettings)  # type: ignore[arg-type]
    northbound: NorthboundSettings = Field(default_factory=NorthboundSettings)  # type: ignore[arg-type]
    queue_path: str = Field("data/agent-queue.db", description="SQLite file of the durable queue.")
    queue_synchronous: str = Field(
        "NORMAL", pattern="^(NORMAL|FULL)$", description="NORMAL survives a crash of the agent, FULL a power cut too."
    )
    host: str = Field("127.0.0.1", description="Address the agent's HTTP server(s) bind to.")
    log_level: str = Field("info")

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any], **overrides: Any) -> Self:
        """Build from a configuration mapping; `overrides` use dotted keys (`mqtt.url`) and win."""
        values = _deep_copy(config)
        for dotted, value in overrides.items():
            if value is None:
                continue
            *parents, leaf = dotted.split(".")
            node = values
            for parent in parents:
                node = node.setdefault(parent, {})
            node[leaf] = value
        try:
            return cls(**values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}" for err in exc.errors()
            )
            raise SettingsError(problems) from exc


def load_config_file(path: str | Path, section: str) -> dict[str, Any]:
    """Read a YAML (or JSON) file; return its `section` (lorawan, json), or the whole file if it has none."""
    try:
        with open(path, encoding="utf-8") as handle:
            document = yaml.safe_load(handle)
    except OSError as exc:
        raise SettingsError(f"cannot read {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise SettingsError(f"{path} is not valid YAML: {exc}") from exc
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise SettingsError(f"{path}: expected a mapping at the top")
    if SECTIONS & document.keys():
        common = {k: v for k, v in document.items() if k in {"mqtt", "northbound"}}
        merged = _deep_copy(common)
        own = document.get(section) or {}
        if not isinstance(own, dict):
            raise SettingsError(f"{path}: section {section!r} must be a mapping")
        for key, value in own.items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
        return dict(merged)
    return dict(_deep_copy(document))


def _deep_copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value
