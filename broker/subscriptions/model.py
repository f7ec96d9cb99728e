# SPDX-License-Identifier: EUPL-1.2
"""The Subscription data type (ETSI GS CIM 009 v1.9.1 clauses 5.2.12 Subscription, 5.2.14
NotificationParams, 5.2.15 Endpoint, 5.2.33 EntitySelector): validate, expand, merge.

A subscription is stored as a document with its names expanded (entity types, watched and
notified attributes, the geoproperty) and with the @context of the request that created it under
"@context": that context compacts its notifications and gives q its meaning, so q, scopeQ and
the geoQ geometry are kept as written (render.py compacts it for reading). Validation is complete
before anything is stored, so a bad subscription leaves nothing behind.
"""

from __future__ import annotations

import math
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from broker.entities.normalize import (
    NGSI_LD_NULL,
    check_entity_id,
    check_name,
    is_datetime,
    is_uri,
)
from broker.entities.operations import now_iso
from broker.errors import BadRequestData, OperationNotSupported
from broker.ld import TermMap
from broker.query import (
    expand_query,
    parse_geo_query_json,
    parse_q,
    parse_scope_query,
    parse_type_selection,
    render_type_selection,
)
from broker.query.ast import TypeName
from broker.subscriptions.notifiers import GEO_JSON, JSON, JSON_LD, check_endpoint

DOCUMENT_KIND = "subscription"
SUBSCRIPTION_TYPE = "Subscription"

TRIGGERS = ("entityCreated", "entityUpdated", "entityDeleted", "attributeCreated", "attributeUpdated", "attributeDeleted")
# Table 5.2.12-1: "If not present, the default is attributeCreated and attributeUpdated".
DEFAULT_TRIGGERS = ("attributeCreated", "attributeUpdated")
FORMATS = ("normalized", "keyValues", "simplified", "concise")
ACCEPTS = (JSON, JSON_LD, GEO_JSON)
CORE_MEMBERS = ("id", "type", "scope")  # pick/omit may name these; they are never expanded

_MEMBERS = frozenset(
    {
        "id", "type", "subscriptionName", "description", "entities", "watchedAttributes", "notificationTrigger",
        "timeInterval", "q", "geoQ", "csf", "isActive", "notification", "expiresAt", "throttling", "temporalQ",
        "scopeQ", "lang", "jsonldContext", "localOnly",
    }
)  # fmt: skip
_READ_ONLY = frozenset({"status", "createdAt", "modifiedAt", "@context"})
_REQUIRED_IN_FRAGMENT = frozenset({"type", "notification", "id"})
_NOTIFICATION_MEMBERS = frozenset({"attributes", "pick", "omit", "format", "endpoint", "showChanges", "sysAttrs", "datasetId"})
NOTIFICATION_READ_ONLY = (
    "timesSent", "timesFailed", "lastNotification", "lastSuccess", "lastFailure", "lastFailureReason", "status",
)  # fmt: skip
_ENDPOINT_MEMBERS = frozenset({"uri", "accept", "timeout", "cooldown", "receiverInfo", "notifierInfo"})
_GEOQ_MEMBERS = frozenset({"georel", "geometry", "coordinates", "geoproperty"})
_SELECTOR_MEMBERS = frozenset({"id", "idPattern", "type"})
_MAX_PATTERN_LENGTH = 1_000


def parse_instant(value: str) -> datetime:
    """A DateTime of clause 4.6.3 as an aware datetime (fractions beyond microseconds are cut)."""
    text = value.removesuffix("Z")
    if "." in text:
        whole, fraction = text.split(".", 1)
        text = f"{whole}.{fraction[:6]}"
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# -- validation ------------------------------------------------------------------------------


def parse_subscription(body: Any, tm: TermMap, *, fragment: bool = False) -> dict[str, Any]:
    """Validate a Subscription (or, with fragment=True, a PATCH fragment) and expand its names.

    In a fragment, null or "urn:ngsi-ld:null" removes an optional member (clause 5.8.2); it comes
    back as None for merge_subscription.
    """
    if not isinstance(body, dict):
        raise BadRequestData("a subscription must be a JSON object")
    unknown = sorted(set(body) - _MEMBERS - _READ_ONLY)
    if unknown:
        raise BadRequestData(f"unknown Subscription members: {', '.join(unknown)} (clause 5.2.12)")
    out: dict[str, Any] = {}
    for name, value in body.items():
        if name in _READ_ONLY:
            continue  # read-only members are the broker's to set; what a client sends is ignored
        if fragment and (value is None or value == NGSI_LD_NULL):
            if name in _REQUIRED_IN_FRAGMENT:
                raise BadRequestData(f"{name} cannot be removed from a subscription")
            out[name] = None
            continue
        out[name] = _MEMBER_PARSERS[name](value, tm)
    if not fragment:
        out.setdefault("type", None)
        if out["type"] is None:
            raise BadRequestData('a subscription needs "type": "Subscription"')
        check_subscription(out)
    return out


def check_subscription(sub: dict[str, Any]) -> None:
    """The rules between members (Table 5.2.12-1); run on a new subscription and after a PATCH."""
    if "notification" not in sub:
        raise BadRequestData("a subscription needs notification (NotificationParams)")
    if "endpoint" not in sub["notification"]:
        raise BadRequestData("notification needs an endpoint with a uri")
    if not sub.get("entities") and not sub.get("watchedAttributes"):
        raise BadRequestData("a subscription needs entities or watchedAttributes (or both)")
    if sub.get("timeInterval") is not None:
        if sub.get("watchedAttributes"):
            raise BadRequestData("timeInterval (periodic notification) and watchedAttributes cannot be used together")
        if sub.get("throttling") is not None:
            raise BadRequestData("timeInterval (periodic notification) and throttling cannot be used together")
        if sub.get("notificationTrigger") is not None:
            raise BadRequestData("timeInterval (periodic notification) and notificationTrigger cannot be used together")
        if not sub.get("entities"):
            raise BadRequestData("a periodic subscription (timeInterval) needs entities")
    notification = sub["notification"]
    if notification.get("showChanges") and notification.get("format") in ("keyValues", "simplified"):
        raise BadRequestData("showChanges cannot be true when the notification format is keyValues (clause 5.2.14)")
    if "attributes" in notification and ("pick" in notification or "omit" in notification):
        raise BadRequestData("notification attributes cannot be combined with pick or omit")
    if "pick" in notification and "omit" in notification:
        raise BadRequestData("notification pick and omit cannot be used together")


def new_subscription(sub: dict[str, Any], context: Any) -> dict[str, Any]:
    """The document to store: an id when none was given, system times and the creation @context."""
    now = now_iso()
    sub = dict(sub)
    if sub.get("id") is None:
        sub["id"] = f"urn:ngsi-ld:Subscription:{uuid.uuid4()}"
    sub = {"id": sub.pop("id"), **sub}
    sub["createdAt"] = sub["modifiedAt"] = now
    if context is not None:
        sub["@context"] = context
    return sub


def merge_subscription(current: dict[str, Any], fragment: dict[str, Any]) -> dict[str, Any]:
    """Clause 5.8.2: members of the fragment replace those of the subscription; notification merges
    member by member, so that a PATCH of notification.attributes keeps the endpoint."""
    if "id" in fragment and fragment["id"] != current["id"]:
        raise BadRequestData("the id of a subscription cannot be changed")
    merged = dict(current)
    for name, value in fragment.items():
        if name == "id":
            continue
        if value is None:
            merged.pop(name, None)
        elif name == "notification":
            notification = {**current.get("notification", {}), **value}
            merged["notification"] = {key: item for key, item in notification.items() if item is not None}
        else:
            merged[name] = value
    check_subscription(merged)
    merged["modifiedAt"] = _modified_after(current.get("modifiedAt"))
    return merged


def _modified_after(previous: Any) -> str:
    """Now, or a millisecond after `previous` when the clock has not passed it: every version of a
    subscription has a modifiedAt of its own, by which broker processes sharing the store tell that the
    subscription changed (two PATCHes in one millisecond kept the first version in the others)."""
    now = now_iso()
    if not isinstance(previous, str):
        return now
    try:  # compared as instants: a stored modifiedAt need not have now_iso's form
        stamped = datetime.fromisoformat(previous.replace("Z", "+00:00"))
        later = datetime.fromisoformat(now.replace("Z", "+00:00")) > stamped
    except (ValueError, TypeError):
        return now
    if later:
        return now
    return (stamped + timedelta(milliseconds=1)).astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _id(value: Any, tm: TermMap) -> str:
    return check_entity_id(value, "the subscription id")


def _type(value: Any, tm: TermMap) -> str:
    if value != SUBSCRIPTION_TYPE:
        raise BadRequestData(f'the type of a subscription must be "Subscription", got {value!r}')
    return SUBSCRIPTION_TYPE


def _string(name: str) -> Any:
    def parse(value: Any, tm: TermMap) -> str:
        if not isinstance(value, str):
            raise BadRequestData(f"{name} must be a string")
        return value

    return parse


def _boolean(name: str) -> Any:
    def parse(value: Any, tm: TermMap) -> bool:
        if not isinstance(value, bool):
            raise BadRequestData(f"{name} must be true or false")
        return value

    return parse


def _positive_number(name: str) -> Any:
    def parse(value: Any, tm: TermMap) -> float | int:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
            raise BadRequestData(f"{name} must be a number greater than 0 (seconds), got {value!r}")
        return value

    return parse


def _entities(value: Any, tm: TermMap) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        raise BadRequestData("entities must be a non-empty array of EntitySelector objects")
    return [_entity_selector(item, tm) for item in value]


def _entity_selector(item: Any, tm: TermMap) -> dict[str, Any]:
    """Clause 5.2.33: type (a type selection, clause 4.17) is mandatory; id or idPattern narrow it."""
    if not isinstance(item, dict):
        raise BadRequestData("each item of entities must be an EntitySelector object")
    unknown = sorted(set(item) - _SELECTOR_MEMBERS)
    if unknown:
        raise BadRequestData(f"unknown EntitySelector members: {', '.join(unknown)}")
    if not isinstance(item.get("type"), str):
        raise BadRequestData("each EntitySelector needs a type (an entity type or a type selection)")
    selector: dict[str, Any] = {"type": _expand_type_selection(item["type"], tm)}
    if "id" in item and "idPattern" in item:
        raise BadRequestData("an EntitySelector takes id or idPattern, not both")
    if "id" in item:
        selector["id"] = check_entity_id(item["id"], "entities.id")
    if "idPattern" in item:
        pattern = item["idPattern"]
        if not isinstance(pattern, str) or not pattern or len(pattern) > _MAX_PATTERN_LENGTH:
            raise BadRequestData(f"idPattern must be a regular expression of 1 to {_MAX_PATTERN_LENGTH} characters")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise BadRequestData(f"idPattern is not a valid regular expression: {exc}") from None
        selector["idPattern"] = pattern
    return selector


def _expand_type_selection(text: str, tm: TermMap) -> str:
    expanded = expand_query(parse_type_selection(text), tm)
    return expanded.name if isinstance(expanded, TypeName) else render_type_selection(expanded)


def _names(name: str, *, allow_core: bool = False) -> Any:
    def parse(value: Any, tm: TermMap) -> list[str]:
        if not isinstance(value, list) or not value:
            raise BadRequestData(f"{name} must be a non-empty array of attribute names")
        names: list[str] = []
        for item in value:
            if item in CORE_MEMBERS:
                if not allow_core:
                    raise BadRequestData(f"{name} cannot name the entity member {item!r}")
                names.append(item)
            else:
                names.append(tm.expand_term(check_name(item)))
        return names

    return parse


def _triggers(value: Any, tm: TermMap) -> list[str]:
    if not isinstance(value, list) or not value:
        raise BadRequestData(f"notificationTrigger must be a non-empty array of {', '.join(TRIGGERS)}")
    for item in value:
        if item not in TRIGGERS:
            raise BadRequestData(f"{item!r} is not a notification trigger; use {', '.join(TRIGGERS)}")
    if len(set(value)) != len(value):
        raise BadRequestData("notificationTrigger lists a trigger twice")
    return list(value)


def _q(value: Any, tm: TermMap) -> str:
    if not isinstance(value, str):
        raise BadRequestData("q must be a string (clause 4.9)")
    expand_query(parse_q(value), tm)  # malformed: BadRequestData with the position
    return value


def _csf(value: Any, tm: TermMap) -> str:
    if not isinstance(value, str):
        raise BadRequestData("csf must be a string (clause 4.9)")
    parse_q(value)
    return value


def _geo_q(value: Any, tm: TermMap) -> dict[str, Any]:
    if isinstance(value, dict):
        unknown = sorted(set(value) - _GEOQ_MEMBERS)
        if unknown:
            raise BadRequestData(f"unknown geoQ members: {', '.join(unknown)}")
    expanded = expand_query(parse_geo_query_json(value), tm)  # malformed: BadRequestData
    geo_q = {name: value[name] for name in ("georel", "geometry", "coordinates")}
    if value.get("geoproperty") is not None:
        geo_q["geoproperty"] = expanded.geoproperty
    return geo_q


def _scope_q(value: Any, tm: TermMap) -> str:
    if not isinstance(value, str):
        raise BadRequestData("scopeQ must be a string (clause 4.19)")
    parse_scope_query(value)
    return value


def _expires_at(value: Any, tm: TermMap) -> str:
    if not is_datetime(value):
        raise BadRequestData("expiresAt must be a DateTime such as 2026-12-31T23:00:00Z")
    if parse_instant(value) <= datetime.now(UTC):
        raise BadRequestData(f"expiresAt {value} is in the past; a subscription must expire in the future")
    return str(value)


def _json_ld_context(value: Any, tm: TermMap) -> str:
    if not isinstance(value, str) or not re.match(r"^https?://\S+$", value):
        raise BadRequestData("jsonldContext must be the http(s) URL of a JSON-LD @context")
    return value


def _temporal_q(value: Any, tm: TermMap) -> Any:
    raise OperationNotSupported("temporalQ is not supported in subscriptions to entities by this broker")


def _notification(value: Any, tm: TermMap) -> dict[str, Any]:
    """NotificationParams (clause 5.2.14); the read-only members in the input are ignored."""
    if not isinstance(value, dict):
        raise BadRequestData("notification must be a NotificationParams object")
    unknown = sorted(set(value) - _NOTIFICATION_MEMBERS - set(NOTIFICATION_READ_ONLY))
    if unknown:
        raise BadRequestData(f"unknown NotificationParams members: {', '.join(unknown)}")
    out: dict[str, Any] = {}
    for name, item in value.items():
        if name in NOTIFICATION_READ_ONLY:
            continue
        if name == "attributes":
            out[name] = _names("notification.attributes")(item, tm)
        elif name in ("pick", "omit"):
            out[name] = _names(f"notification.{name}", allow_core=True)(item, tm)
        elif name == "format":
            if item not in FORMATS:
                raise BadRequestData(f"notification format must be one of {', '.join(FORMATS)}, got {item!r}")
            out[name] = item
        elif name in ("showChanges", "sysAttrs"):
            out[name] = _boolean(f"notification.{name}")(item, tm)
        elif name == "datasetId":
            out[name] = _dataset_ids(item)
        else:
            out[name] = _endpoint(item)
    return out


def _dataset_ids(value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        raise BadRequestData('notification.datasetId must be a non-empty array of URIs (or "@none")')
    for item in value:
        if item != "@none":
            check_entity_id(item, "notification.datasetId")
    return list(value)


def _endpoint(value: Any) -> dict[str, Any]:
    """Endpoint (clause 5.2.15); the notifier registered for the URI's scheme checks the rest."""
    if not isinstance(value, dict):
        raise BadRequestData("notification.endpoint must be an Endpoint object with a uri")
    unknown = sorted(set(value) - _ENDPOINT_MEMBERS)
    if unknown:
        raise BadRequestData(f"unknown Endpoint members: {', '.join(unknown)}")
    if not is_uri(value.get("uri")):
        raise BadRequestData("notification.endpoint.uri must be a URI")
    endpoint: dict[str, Any] = {"uri": value["uri"]}
    if "accept" in value:
        if value["accept"] not in ACCEPTS:
            raise BadRequestData(f"notification.endpoint.accept must be one of {', '.join(ACCEPTS)}")
        endpoint["accept"] = value["accept"]
    for name in ("timeout", "cooldown"):
        if name in value:
            endpoint[name] = _positive_number(f"notification.endpoint.{name} (milliseconds)")(value[name], None)
    for name in ("receiverInfo", "notifierInfo"):
        if name in value:
            endpoint[name] = _key_values(value[name], f"notification.endpoint.{name}")
    check_endpoint(endpoint)
    return endpoint


def _key_values(value: Any, name: str) -> list[dict[str, str]]:
    """KeyValuePair[] (clause 5.2.22): key and value are strings."""
    if not isinstance(value, list) or not all(
        isinstance(pair, dict) and set(pair) == {"key", "value"} and isinstance(pair["key"], str)
        and isinstance(pair["value"], str) and pair["key"]
        for pair in value
    ):  # fmt: skip
        raise BadRequestData(f'{name} must be an array of {{"key": string, "value": string}}')
    return [{"key": pair["key"], "value": pair["value"]} for pair in value]


_MEMBER_PARSERS: dict[str, Any] = {
    "id": _id,
    "type": _type,
    "subscriptionName": _string("subscriptionName"),
    "description": _string("description"),
    "entities": _entities,
    "watchedAttributes": _names("watchedAttributes"),
    "notificationTrigger": _triggers,
    "timeInterval": _positive_number("timeInterval"),
    "q": _q,
    "geoQ": _geo_q,
    "csf": _csf,
    "isActive": _boolean("isActive"),
    "notification": _notification,
    "expiresAt": _expires_at,
    "throttling": _positive_number("throttling"),
    "temporalQ": _temporal_q,
    "scopeQ": _scope_q,
    "lang": _string("lang"),
    "jsonldContext": _json_ld_context,
    "localOnly": _boolean("localOnly"),
}


__all__ = [
    "DEFAULT_TRIGGERS",
    "DOCUMENT_KIND",
    "FORMATS",
    "NOTIFICATION_READ_ONLY",
    "SUBSCRIPTION_TYPE",
    "TRIGGERS",
    "check_subscription",
    "merge_subscription",
    "new_subscription",
    "now_iso",
    "parse_instant",
    "parse_subscription",
]
