# SPDX-License-Identifier: EUPL-1.2
"""Stores behind one async interface (base.Store); `open_store` picks one from a store URL."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from broker.settings import Settings
from broker.store.base import ExpandedEntity, Modification, Store
from broker.store.postgres import PostgresStore
from broker.store.sqlite import SqliteStore


class UnsupportedStore(ValueError):
    """The store URL names a store this build cannot open."""


def sqlite_path(store_url: str) -> str:
    """`sqlite:///rel/x.db` -> `rel/x.db`, `sqlite:////abs/x.db` -> `/abs/x.db`, `sqlite://:memory:`."""
    parts = urlsplit(store_url)
    if parts.netloc == ":memory:" or parts.path in ("/:memory:", ":memory:"):
        return ":memory:"
    if parts.netloc:
        raise UnsupportedStore(f"a sqlite store URL has no host: use sqlite:///path/to/file.db, not {store_url}")
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    if not path:
        raise UnsupportedStore("the sqlite store URL names no file: use sqlite:///path/to/file.db")
    return path


def open_store(settings: Settings, observe: Callable[[str, float], None] | None = None) -> Store:
    """Build (not yet open) the store named by settings.store; open it with `async with`.

    `observe(kind, seconds)` is called after each store call ("read" or "write"), for metrics.
    """
    scheme = urlsplit(settings.store).scheme
    if scheme == "sqlite":
        return SqliteStore(
            sqlite_path(settings.store),
            synchronous=settings.sqlite_synchronous,
            cache_mib=settings.sqlite_cache_mib,
            observe=observe,
        )
    if scheme in ("postgresql", "postgres"):
        return PostgresStore(
            settings.store,
            pool_size=settings.postgres_pool_size,
            connect_timeout_s=settings.postgres_connect_timeout_s,
            command_timeout_s=settings.postgres_command_timeout_s,
            acquire_timeout_s=settings.postgres_acquire_timeout_s,
            observe=observe,
        )
    raise UnsupportedStore(
        f"the {scheme} store is not available in citycontext; "
        "use sqlite:///path/to/file.db or postgresql://user@host:5432/database"
    )


__all__ = [
    "ExpandedEntity",
    "Modification",
    "PostgresStore",
    "SqliteStore",
    "Store",
    "UnsupportedStore",
    "open_store",
    "sqlite_path",
]
