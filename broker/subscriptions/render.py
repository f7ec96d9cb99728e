# SPDX-License-Identifier: EUPL-1.2
"""A stored subscription as a client reads it (clause 5.8.3): names compacted with the reading
request's @context, the spec's defaults filled in (notificationTrigger, isActive, format,
showChanges, sysAttrs, accept), and the read-only members added: status (active, paused, expired)
and, inside notification, timesSent, timesFailed, lastNotification, lastSuccess, lastFailure,
lastFailureReason (an extension saying why) and status (ok, failed).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from broker.ld import TermMap
from broker.query import parse_type_selection, render_type_selection
from broker.query.ast import TypeAnd, TypeExpr, TypeName, TypeOr
from broker.subscriptions.model import CORE_MEMBERS, DEFAULT_TRIGGERS, parse_instant
from broker.subscriptions.notifiers import JSON


def subscription_status(sub: dict[str, Any], now: datetime | None = None) -> str:
    """Clause 5.2.12: expired once expiresAt has passed, paused when isActive is false, else active."""
    expires_at = sub.get("expiresAt")
    if expires_at is not None and parse_instant(expires_at) <= (now or datetime.now(UTC)):
        return "expired"
    if sub.get("isActive") is False:
        return "paused"
    return "active"


def delivery_status(state: dict[str, Any]) -> str:
    """notification.status (clause 5.2.14): failed when the last attempt failed, else ok."""
    last_failure, last_success = state.get("lastFailure"), state.get("lastSuccess")
    if last_failure is not None and (last_success is None or last_failure > last_success):
        return "failed"
    return "ok"


def render_subscription(
    sub: dict[str, Any], state: dict[str, Any] | None, tm: TermMap, *, sys_attrs: bool = False
) -> dict[str, Any]:
    """The subscription as a client reads it: names compacted with `tm`, defaults and read-only members added."""
    out: dict[str, Any] = {}
    for name, value in sub.items():
        if name == "@context" or (name in ("createdAt", "modifiedAt") and not sys_attrs):
            continue
        if name == "entities":
            value = [{**item, "type": _compact_type_selection(item["type"], tm)} for item in value]
        elif name == "watchedAttributes":
            value = [tm.compact_iri(iri) for iri in value]
        elif name == "geoQ" and "geoproperty" in value:
            value = {**value, "geoproperty": tm.compact_iri(value["geoproperty"])}
        elif name == "notification":
            value = _render_notification(value, state or {}, tm)
        out[name] = value
    if "timeInterval" not in sub:
        out.setdefault("notificationTrigger", list(DEFAULT_TRIGGERS))
    out.setdefault("isActive", True)
    out["status"] = subscription_status(sub)
    return out


def _render_notification(notification: dict[str, Any], state: dict[str, Any], tm: TermMap) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in notification.items():
        if name in ("attributes", "pick", "omit"):
            value = [item if item in CORE_MEMBERS else tm.compact_iri(item) for item in value]
        elif name == "endpoint":
            value = {"uri": value["uri"], "accept": value.get("accept", JSON), **value}
        out[name] = value
    out.setdefault("format", "normalized")
    out.setdefault("showChanges", False)
    out.setdefault("sysAttrs", False)
    out["timesSent"] = state.get("timesSent", 0)
    out["timesFailed"] = state.get("timesFailed", 0)
    for name in ("lastNotification", "lastSuccess", "lastFailure", "lastFailureReason"):
        if state.get(name) is not None:
            out[name] = state[name]
    out["status"] = delivery_status(state)
    return out


def _compact_type_selection(stored: str, tm: TermMap) -> str:
    expression = parse_type_selection(stored)
    if isinstance(expression, TypeName):
        return tm.compact_type(expression.name)
    return render_type_selection(_map_type_names(expression, tm))


def _map_type_names(node: TypeExpr, tm: TermMap) -> TypeExpr:
    if isinstance(node, TypeName):
        return node if node.name == "*" else TypeName(tm.compact_type(node.name))
    if isinstance(node, TypeAnd):
        return TypeAnd(tuple(_map_type_names(term, tm) for term in node.terms))
    assert isinstance(node, TypeOr)
    return TypeOr(tuple(_map_type_names(term, tm) for term in node.terms))


__all__ = ["delivery_status", "render_subscription", "subscription_status"]
