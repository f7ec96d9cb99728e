# SPDX-License-Identifier: EUPL-1.2
"""A job the broker runs every so often for as long as it runs (history retention, the expiry sweep).

`Periodic` is an async context manager for the app's lifespan: on entry the job starts at once and
then runs every `interval_s`; on exit it is cancelled. A run that fails is logged and the job runs
again at the next interval: the store may be away for a while, the broker must not stop for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self


class Periodic:
    def __init__(self, name: str, interval_s: float, run: Callable[[], Awaitable[Any]], log: logging.Logger) -> None:
        self.name = name
        self.interval_s = interval_s
        self.run = run
        self.log = log
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._loop(), name=self.name)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                await self.run()
            except Exception:  # the store may be away; try again next time
                self.log.exception("%s failed", self.name)
            await asyncio.sleep(self.interval_s)


__all__ = ["Periodic"]
