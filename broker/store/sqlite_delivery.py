# SPDX-License-Identifier: EUPL-1.2
"""Delivery state and periodic claims in the SQLite store (see broker.store.delivery_state).

Migration 5 moves the delivery state from the documents of kind "subscriptionStatus" into the
`subscription_states` table. SQLite serialises writers across processes (BEGIN IMMEDIATE), and each
statement here is one upsert, so two processes sharing the file never lose an increment.
"""

from __future__ import annotations

MIGRATION = """
CREATE TABLE subscription_states (
    tenant TEXT NOT NULL, id TEXT NOT NULL,
    times_sent INTEGER NOT NULL DEFAULT 0, times_failed INTEGER NOT NULL DEFAULT 0,
    last_notification TEXT, last_success TEXT, last_failure TEXT, last_failure_reason TEXT,
    periodic_version TEXT, periodic_next_due_s REAL,
    PRIMARY KEY (tenant, id)
) WITHOUT ROWID;
INSERT INTO subscription_states
    (tenant, id, times_sent, times_failed, last_notification, last_success, last_failure, last_failure_reason)
SELECT tenant, id, coalesce(json_extract(doc, '$.timesSent'), 0), coalesce(json_extract(doc, '$.timesFailed'), 0),
    json_extract(doc, '$.lastNotification'), json_extract(doc, '$.lastSuccess'),
    json_extract(doc, '$.lastFailure'), json_extract(doc, '$.lastFailureReason')
FROM documents WHERE kind = 'subscriptionStatus';
DELETE FROM documents WHERE kind = 'subscriptionStatus';
"""

# max() of two instants where either may be NULL (ISO 8601 UTC strings of one format order as text).
_LATEST = "max(coalesce({c}, excluded.{c}), coalesce(excluded.{c}, {c}))"
ADD_DELIVERY_STATE = f"""
INSERT INTO subscription_states
    (tenant, id, times_sent, times_failed, last_notification, last_success, last_failure, last_failure_reason)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (tenant, id) DO UPDATE SET
    times_sent = times_sent + excluded.times_sent,
    times_failed = times_failed + excluded.times_failed,
    last_notification = {_LATEST.format(c="last_notification")},
    last_success = {_LATEST.format(c="last_success")},
    last_failure = {_LATEST.format(c="last_failure")},
    last_failure_reason = CASE
        WHEN excluded.last_failure IS NOT NULL AND (last_failure IS NULL OR excluded.last_failure >= last_failure)
        THEN excluded.last_failure_reason ELSE last_failure_reason END
"""
_STATE = "times_sent, times_failed, last_notification, last_success, last_failure, last_failure_reason"
SELECT_DELIVERY_STATE = f"SELECT {_STATE} FROM subscription_states WHERE tenant = ? AND id = ?"
SELECT_DELIVERY_STATES = f"SELECT id, {_STATE} FROM subscription_states WHERE tenant = ?"
DELETE_DELIVERY_STATE = "DELETE FROM subscription_states WHERE tenant = ? AND id = ?"

# Won when there is no claim yet, when this version is newer than the claimed one (the subscription
# changed), or when the claimed next due time has come; rowcount 0: another process has it.
CLAIM_PERIODIC = """
INSERT INTO subscription_states (tenant, id, periodic_version, periodic_next_due_s) VALUES (?, ?, ?, ?)
ON CONFLICT (tenant, id) DO UPDATE SET
    periodic_version = excluded.periodic_version, periodic_next_due_s = excluded.periodic_next_due_s
WHERE periodic_version IS NULL OR periodic_version < excluded.periodic_version
    OR (periodic_version = excluded.periodic_version AND periodic_next_due_s <= ?)
"""
SELECT_NEXT_DUE = "SELECT periodic_next_due_s FROM subscription_states WHERE tenant = ? AND id = ?"

__all__ = [
    "ADD_DELIVERY_STATE",
    "CLAIM_PERIODIC",
    "DELETE_DELIVERY_STATE",
    "MIGRATION",
    "SELECT_DELIVERY_STATE",
    "SELECT_DELIVERY_STATES",
    "SELECT_NEXT_DUE",
]
