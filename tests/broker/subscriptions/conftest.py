# SPDX-License-Identifier: EUPL-1.2
"""The subscription tests run the real app (in-process, real SQLite) against real receivers."""

from __future__ import annotations

import faulthandler
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from broker.settings import Settings
from tests.broker.subscriptions.fixtures import fast_settings, mqtt_listener, receiver

__all__ = ["mqtt_listener", "receiver", "settings", "watchdog"]

HANG_S = 60


HANG_DUMP = Path(tempfile.gettempdir()) / "citycontext-test-hang.txt"


@pytest.fixture(autouse=True)
def watchdog(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that hangs (a blocked event loop, a thread that never stops) writes every thread's
    stack to HANG_DUMP and ends the run, instead of hanging the suite (pytest captures stderr)."""
    with HANG_DUMP.open("w") as dump:
        dump.write(f"watchdog of {request.node.nodeid}: stacks below only if it ran over {HANG_S} s\n")
        dump.flush()
        faulthandler.dump_traceback_later(HANG_S, exit=True, file=dump)
        try:
            yield
        finally:
            faulthandler.cancel_dump_traceback_later()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return fast_settings(tmp_path)
