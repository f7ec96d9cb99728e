# SPDX-License-Identifier: EUPL-1.2
"""Delivery state and periodic claims in the PostgreSQL store (see broker.store.delivery_state).

Migration 3 moves the delivery state from the documents of kind "subscriptionStatus" into the
`subscription_states` table. Every statement is one upsert: PostgreSQL re-checks ON CONFLICT ... WHERE
on the row another transaction just committed, so broker processes sharing the database neither lose
an increment nor both win the claim on one periodic notification.
"""

from __future__ import annotations

MIGRATION = """
CREATE TABLE subscription_states (
    tenant text COLLATE "C" NOT NULL, id text COLLATE "C" NOT NULL,
    times_sent bigint NOT NULL DEFAULT 0, times_failed bigint NOT NULL DEFAULT 0,
    last_notification text COLLATE "C", last_success text COLLATE "C", last_failure text COLLATE "C",
    last_failure_reason text, periodic_version text COLLATE "C", periodic_next_due_s double precision,
    PRIMARY KEY (tenant, id)
);
INSERT INTO subscription_states
    (tenant, id, times_sent, times_failed, last_notification, last_success, last_failure, last_failure_reason)
SELECT tenant, id, coalesce((doc->>'timesSent')::bigint, 0), coalesce((doc->>'timesFailed')::bigint, 0),
    doc->>'lastNotification', doc->>'lastSuccess', doc->>'lastFailure', doc->>'lastFailureReason'
FROM documents WHERE kind = 'subscriptionStatus';
DELETE FROM documents WHERE kind = 'subscriptionStatus';
"""

ADD_DELIVERY_STATE = """
INSERT INTO subscription_states AS s
    (tenant, id, times_sent, times_failed, last_notification, last_success, last_failure, last_failure_reason)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (tenant, id) DO UPDATE SET
    times_sent = s.times_sent + excluded.times_sent,
    times_failed = s.times_failed + excluded.times_failed,
    last_notification = greatest(s.last_notification, excluded.last_notification),
    last_success = greatest(s.last_success, excluded.last_success),
    last_failure = greatest(s.last_failure, excluded.last_failure),
    last_failure_reason = CASE
        WHEN excluded.last_failure IS NOT NULL AND (s.last_failure IS NULL OR excluded.last_failure >= s.last_failure)
        THEN excluded.last_failure_reason ELSE s.last_failure_reason END
"""
_STATE = "times_sent, times_failed, last_notification, last_success, last_failure, last_failure_reason"
SELECT_DELIVERY_STATE = f"SELECT {_STATE} FROM subscription_states WHERE tenant = $1 AND id = $2"
SELECT_DELIVERY_STATES = f"SELECT id, {_STATE} FROM subscription_states WHERE tenant = $1"
DELETE_DELIVERY_STATE = "DELETE FROM subscription_states WHERE tenant = $1 AND id = $2"

CLAIM_PERIODIC = """
INSERT INTO subscription_states AS s (tenant, id, periodic_version, periodic_next_due_s) VALUES ($1, $2, $3, $4)
ON CONFLICT (tenant, id) DO UPDATE SET
    periodic_version = excluded.periodic_version, periodic_next_due_s = excluded.periodic_next_due_s
WHERE s.periodic_version IS NULL OR s.periodic_version < excluded.periodic_version
    OR (s.periodic_version = excluded.periodic_version AND s.periodic_next_due_s <= $5)
RETURNING true
"""
SELECT_NEXT_DUE = "SELECT periodic_next_due_s FROM subscription_states WHERE tenant = $1 AND id = $2"

__all__ = [
    "ADD_DELIVERY_STATE",
    "CLAIM_PERIODIC",
    "DELETE_DELIVERY_STATE",
    "MIGRATION",
    "SELECT_DELIVERY_STATE",
    "SELECT_DELIVERY_STATES",
    "SELECT_NEXT_DUE",
]
