# SPDX-License-Identifier: EUPL-1.2
"""Counts written as text (limit, offset, lastN, joinLevel, an instanceId's number, settings)."""

from __future__ import annotations

import re

_COUNT = re.compile(r"[0-9]{1,18}")


def is_count(text: str) -> bool:
    """A non-negative integer in ASCII digits that int() reads and every store can bind (64 bits).

    str.isdigit() is not enough: it accepts '²' and other digits that int() refuses, and int() refuses
    more than 4,300 digits; either would be a 500 instead of the 400 the client's mistake deserves.
    """
    return _COUNT.fullmatch(text) is not None


__all__ = ["is_count"]
