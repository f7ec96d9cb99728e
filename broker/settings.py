# SPDX-License-Identifier: EUPL-1.2
"""The broker's settings: one typed object, read once from a mapping and passed down.

`Settings.from_mapping(os.environ)` in production, a plain dict in tests. Every field has a
default that lets `citycontext serve` start on the embedded SQLite store with no config file.
No other module reads os.environ.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from broker.counts import is_count

ENV_PREFIX = "CITYCONTEXT_"
DEFAULT_STORE_URL = "sqlite:///data/citycontext.db"


class SettingsError(ValueError):
    """A setting has a value we cannot use; the message names the environment variable."""


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = Field("127.0.0.1", description="Address the HTTP server binds to.")
    port: int = Field(1026, ge=0, le=65535, description="TCP port of the NGSI-LD API.")
    store: str = Field(
        DEFAULT_STORE_URL,
        description="Store URL: sqlite:///relative/path.db, sqlite:////absolute/path.db, sqlite://:memory: "
        "or postgresql://user[:password]@host:5432/database.",
    )
    max_body_bytes: int = Field(8_388_608, gt=0, description="Largest accepted request body; larger gets 413.")
    max_batch_size: int = Field(1000, gt=0, description="Most entities in one batch operation; more is 400.")
    default_page_size: int = Field(20, gt=0, description="Page size (limit) when a request gives none.")
    max_page_size: int = Field(1000, gt=0, description="Largest limit a request may ask for; more is 403 TooManyResults.")
    context_fetch_timeout_s: float = Field(5.0, gt=0, description="Timeout for fetching a user @context by URL.")
    max_context_bytes: int = Field(2_000_000, gt=0, description="Largest user @context document accepted.")
    context_cache_size: int = Field(256, gt=0, description="Compiled @context term maps kept in memory.")
    sqlite_synchronous: str = Field(
        "FULL", description="SQLite PRAGMA synchronous: FULL makes every acknowledged write durable."
    )
    sqlite_cache_mib: int = Field(
        32,
        ge=1,
        description="SQLite page cache per connection, MiB (PRAGMA cache_size); geo-queries read many scattered pages.",
    )
    postgres_pool_size: int = Field(
        10, gt=0, le=1000, description="Most PostgreSQL connections per broker process (processes x this < max_connections)."
    )
    postgres_connect_timeout_s: float = Field(5.0, gt=0, description="Timeout to open one PostgreSQL connection.")
    postgres_command_timeout_s: float = Field(30.0, gt=0, description="Timeout of one PostgreSQL statement; past it 503.")
    postgres_acquire_timeout_s: float = Field(10.0, gt=0, description="Wait for a free pooled connection before 503.")
    validate_types: str = Field(
        "", description="Comma-separated Smart Data Model names or type IRIs whose writes are validated; empty: none."
    )
    log_level: str = Field("info", description="Log level of the broker (debug, info, warning, error).")
    gc_gen0_threshold: int = Field(
        100_000,
        ge=700,
        le=1_000_000,  # higher would all but switch the cyclic GC off
        description="`citycontext serve`: objects allocated before Python's cyclic GC traces the young generation. "
        "A batch of 1,000 entities holds ~40,000 until it is answered; below that the GC traces each batch "
        "several times over (~10 % of the batch CPU). A collection pauses ~0.5 ms per 10,000 objects.",
    )
    notification_timeout_s: float = Field(
        10.0, gt=0, description="Timeout of one notification delivery (HTTP response, MQTT connect and acknowledgement)."
    )
    notification_queue_size: int = Field(
        10_000, gt=0, description="Notifications waiting per endpoint; beyond it they are dropped, counted and reported."
    )
    notification_retries: int = Field(3, ge=0, le=20, description="Retries of a failed notification before it is recorded as failed.")
    notification_retry_backoff_s: float = Field(
        0.5, gt=0, description="Wait before the first retry of a notification; each further retry waits twice as long."
    )
    notification_concurrency: int = Field(
        8, gt=0, le=256, description="Notifications in flight at once per endpoint (order is kept per subscription and entity)."
    )
    notification_max_connections: int = Field(100, gt=0, description="HTTP connections the notifier keeps open in total.")
    notification_mqtt_ca_file: str = Field(
        "", description="PEM file of the certificate authorities mqtts:// endpoints are verified against; empty: the system's."
    )
    notification_shutdown_grace_s: float = Field(
        5.0, ge=0, description="At shutdown, how long queued notifications may still be delivered; the rest are recorded as failed."
    )
    notification_state_flush_s: float = Field(
        1.0, gt=0, description="How often delivery state (timesSent, lastSuccess, ...) is written to the store."
    )
    subscription_refresh_s: float = Field(
        5.0, gt=0, description="How often subscriptions are re-read from the store (to see other broker processes' changes)."
    )
    subscription_match_backlog: int = Field(
        100_000, gt=0, description="Entity changes waiting to be matched; beyond it writes match inline (slower, nothing lost)."
    )

    temporal_page_size_instances: int = Field(
        1000, gt=0, description="Most instances per attribute in one temporal answer; more is 206 Partial Content with Content-Range."
    )
    history_retention_days: int = Field(
        0, ge=0, description="Days of attribute history every tenant keeps (by the instant of the instance); 0 keeps everything."
    )
    history_retention_by_tenant: str = Field(
        "", description="Per-tenant retention overriding history_retention_days, e.g. 'stadtwerke=30,verkehr=365' (0 keeps all)."
    )
    history_maintenance_interval_s: float = Field(
        3600.0, gt=0, description="How often retention runs and PostgreSQL history partitions are prepared."
    )
    expiry_interval_s: float = Field(
        1.0, gt=0, description="How often entities and attribute instances whose expiresAt has passed are removed (clause 4.22)."
    )
    open_data_licence: str = Field(
        "Datenlizenz Deutschland – Namensnennung – Version 2.0", description="Licence named in every open-data download."
    )
    open_data_licence_url: str = Field(
        "https://www.govdata.de/dl-de/by-2-0", description="Where the open-data licence text is (empty: none)."
    )
    open_data_attribution: str = Field(
        "Stadt Hamm", description="Attribution (Namensnennung) every open-data download carries."
    )

    @field_validator("history_retention_by_tenant")
    @classmethod
    def _retention_by_tenant(cls, value: str) -> str:
        parse_retention_by_tenant(value)
        return value

    def history_retention_days_of(self, tenant: str) -> int:
        """The retention of one tenant's history in days; 0 keeps everything."""
        return parse_retention_by_tenant(self.history_retention_by_tenant).get(tenant, self.history_retention_days)

    @field_validator("store")
    @classmethod
    def _store_scheme(cls, value: str) -> str:
        scheme = urlsplit(value).scheme
        if scheme not in ("sqlite", "postgresql", "postgres"):
            raise ValueError(
                f"unsupported store URL scheme {scheme!r}; use sqlite:///path/to/file.db or postgresql://user@host:5432/db"
            )
        return value

    @field_validator("sqlite_synchronous")
    @classmethod
    def _synchronous(cls, value: str) -> str:
        if value.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise ValueError("must be one of OFF, NORMAL, FULL, EXTRA")
        return value.upper()

    @classmethod
    def from_mapping(cls, environ: Mapping[str, str], **overrides: Any) -> "Settings":
        """Build from CITYCONTEXT_* variables; `overrides` (e.g. CLI options) win over the mapping."""
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            key = ENV_PREFIX + name.upper()
            if key in environ:
                values[name] = environ[key]
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls(**values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{ENV_PREFIX}{str(err['loc'][0]).upper()}: {err['msg']}" for err in exc.errors()
            )
            raise SettingsError(problems) from exc

    @property
    def store_safe_url(self) -> str:
        """The store URL without credentials, for logs."""
        parts = urlsplit(self.store)
        if parts.scheme == "sqlite":
            return self.store  # a file path, no credentials
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def parse_retention_by_tenant(value: str) -> dict[str, int]:
    """'tenant=days,tenant=days' -> {tenant: days}; the default tenant is written as an empty name ('=7')."""
    retention: dict[str, int] = {}
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        tenant, sep, days = item.partition("=")
        if not sep or not is_count(days.strip()):
            raise ValueError(f"expected tenant=days items separated by commas, got {item!r}")
        retention[tenant.strip()] = int(days)
    return retention


__all__ = ["Settings", "SettingsError", "ENV_PREFIX", "DEFAULT_STORE_URL", "parse_retention_by_tenant"]
