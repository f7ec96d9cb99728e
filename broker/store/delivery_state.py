# SPDX-License-Identifier: EUPL-1.2
"""What both stores keep per subscription besides the subscription itself: its delivery state
(clause 5.2.14: timesSent, timesFailed, lastNotification, lastSuccess, lastFailure, and
lastFailureReason) and the claim on its next periodic notification.

Both live in one table, `subscription_states`, so that several broker processes can add to them at
once: counters are incremented in SQL (`times_sent = times_sent + n`), instants only move forward,
and a periodic notification is claimed by one conditional upsert. The SQL of each store is in
sqlite_delivery and postgres_delivery.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class DeliveryDelta:
    """What happened since the last write: counts to add and the latest instants (None: unchanged)."""

    sent: int = 0
    failed: int = 0
    last_notification: str | None = None
    last_success: str | None = None
    last_failure: str | None = None
    last_failure_reason: str | None = None

    def params(self) -> tuple[Any, ...]:
        return (
            self.sent,
            self.failed,
            self.last_notification,
            self.last_success,
            self.last_failure,
            self.last_failure_reason,
        )


# The columns, in the order of DeliveryDelta.params and of the rows the SELECTs return after the id.
COLUMNS = ("times_sent", "times_failed", "last_notification", "last_success", "last_failure", "last_failure_reason")
NAMES = ("timesSent", "timesFailed", "lastNotification", "lastSuccess", "lastFailure", "lastFailureReason")


def state_of(row: Sequence[Any]) -> dict[str, Any]:
    """A row (the COLUMNS) as the members of NotificationParams it holds; absent instants are left out."""
    return {name: value for name, value in zip(NAMES, row, strict=True) if value is not None}


__all__ = ["COLUMNS", "DeliveryDelta", "NAMES", "state_of"]
