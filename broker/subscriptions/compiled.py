# SPDX-License-Identifier: EUPL-1.2
"""A stored subscription made ready to match and notify: queries parsed and expanded once,
regular expressions compiled, the notification @context resolved to a TermMap.

Compiling needs the subscription's @context (an async resolution, possibly a fetch); everything
done per entity change afterwards is synchronous and in memory.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from broker.ld import DEFAULT_CORE_CONTEXT_URL, TermMap
from broker.query import (
    expand_query,
    matches_types,
    parse_geo_query_json,
    parse_q,
    parse_scope_query,
    parse_type_selection,
)
from broker.query.ast import (
    ALL_TYPES,
    GeoQuery,
    QNode,
    ScopeQuery,
    TypeAnd,
    TypeExpr,
    TypeName,
    TypeOr,
)
from broker.subscriptions.model import DEFAULT_TRIGGERS, parse_instant
from broker.subscriptions.notifiers import JSON, scheme_of

ResolveContext = Callable[[Any], Awaitable[TermMap]]

# The representation a notification format names (clause 5.2.14; simplified = keyValues).
_FORMS = {"normalized": "normalized", "concise": "concise", "keyValues": "keyValues", "simplified": "keyValues"}


@dataclass(frozen=True, slots=True)
class Selector:
    """One EntitySelector: the type selection, and optionally an id or an idPattern."""

    types: TypeExpr
    entity_id: str | None
    id_pattern: re.Pattern[str] | None
    id_pattern_text: str | None

    def matches(self, entity_id: str, expanded_entity: dict[str, Any]) -> bool:
        if self.entity_id is not None and entity_id != self.entity_id:
            return False
        if self.id_pattern is not None and self.id_pattern.search(entity_id) is None:
            return False
        return matches_types(self.types, expanded_entity)

    def index_types(self) -> tuple[str, ...]:
        """Type IRIs one of which every matching entity has ("*": none, it matches any type)."""
        return _required_names(self.types)


@dataclass(frozen=True, slots=True)
class NotificationSettings:
    """NotificationParams and Endpoint as the notification builder and the delivery read them."""

    form: str
    attributes: frozenset[str] | None
    pick: frozenset[str] | None
    omit: frozenset[str] | None
    show_changes: bool
    sys_attrs: bool
    dataset_ids: frozenset[str] | None
    lang: str | None
    uri: str
    scheme: str
    accept: str
    timeout_s: float | None
    cooldown_s: float | None
    receiver_info: tuple[tuple[str, str], ...]
    notifier_info: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class CompiledSubscription:
    tenant: str
    id: str
    version: str  # modifiedAt of the stored document: a new version is compiled again
    selectors: tuple[Selector, ...]
    watched: frozenset[str] | None
    triggers: frozenset[str]
    q: QNode | None
    geo: GeoQuery | None
    scope: ScopeQuery | None
    is_active: bool
    expires_at: float | None  # POSIX seconds
    time_interval_s: float | None
    throttling_s: float | None
    notification: NotificationSettings
    term_map: TermMap  # compacts notifications: jsonldContext, else the creation @context
    context: Any  # the @context value put into application/ld+json notifications
    context_url: str  # the @context named by the Link header of application/json notifications
    # Equal numbers for equal (triggers, watchedAttributes) and equal (entities, q, geoQ, scopeQ):
    # the matcher works each out once per change, however many subscriptions share them.
    trigger_key: int
    filter_key: int
    render_key: int  # equal for subscriptions that render an entity identically (same @context and params)

    def is_live(self, now_s: float) -> bool:
        return self.is_active and (self.expires_at is None or now_s < self.expires_at)

    @property
    def periodic(self) -> bool:
        return self.time_interval_s is not None


async def compile_subscription(tenant: str, doc: dict[str, Any], resolve: ResolveContext) -> CompiledSubscription:
    """Raises NgsiLdError when the stored @context cannot be resolved (e.g. its URL is down)."""
    creation_context = doc.get("@context")
    creation_tm = await resolve(creation_context)
    json_ld_context = doc.get("jsonldContext")
    if json_ld_context is not None:
        notify_tm = await resolve(json_ld_context)
        context: Any = json_ld_context
        context_url = json_ld_context
    else:
        notify_tm = creation_tm
        context = creation_context if creation_context is not None else DEFAULT_CORE_CONTEXT_URL
        context_url = _single_url(creation_context) or DEFAULT_CORE_CONTEXT_URL
    params = doc["notification"]
    endpoint = params["endpoint"]
    expires_at = doc.get("expiresAt")
    selectors = tuple(_selector(item) for item in doc.get("entities", ()))
    watched = frozenset(doc["watchedAttributes"]) if doc.get("watchedAttributes") else None
    triggers = frozenset(doc.get("notificationTrigger") or DEFAULT_TRIGGERS)
    q = expand_query(parse_q(doc["q"]), creation_tm) if doc.get("q") is not None else None
    geo = expand_query(parse_geo_query_json(doc["geoQ"]), creation_tm) if doc.get("geoQ") is not None else None
    scope = parse_scope_query(doc["scopeQ"]) if doc.get("scopeQ") is not None else None
    notification = NotificationSettings(
        form=_FORMS[params.get("format", "normalized")],
        attributes=_set(params.get("attributes")),
        pick=_set(params.get("pick")),
        omit=_set(params.get("omit")),
        show_changes=bool(params.get("showChanges", False)),
        sys_attrs=bool(params.get("sysAttrs", False)),
        dataset_ids=_set(params.get("datasetId")),
        lang=doc.get("lang"),
        uri=endpoint["uri"],
        scheme=scheme_of(endpoint["uri"]),
        accept=endpoint.get("accept", JSON),
        timeout_s=endpoint["timeout"] / 1000 if "timeout" in endpoint else None,
        cooldown_s=endpoint["cooldown"] / 1000 if "cooldown" in endpoint else None,
        receiver_info=tuple((pair["key"], pair["value"]) for pair in endpoint.get("receiverInfo", ())),
        notifier_info=tuple((pair["key"], pair["value"]) for pair in endpoint.get("notifierInfo", ())),
    )
    render = (
        orjson.dumps(context, option=orjson.OPT_SORT_KEYS),
        notification.form,
        notification.attributes,
        notification.pick,
        notification.omit,
        notification.show_changes,
        notification.sys_attrs,
        notification.dataset_ids,
        notification.lang,
        notification.accept,
    )
    return CompiledSubscription(
        tenant=tenant,
        id=doc["id"],
        version=str(doc.get("modifiedAt", "")),
        selectors=selectors,
        watched=watched,
        triggers=triggers,
        q=q,
        geo=geo,
        scope=scope,
        is_active=doc.get("isActive", True) is not False,
        expires_at=parse_instant(expires_at).timestamp() if expires_at is not None else None,
        time_interval_s=float(doc["timeInterval"]) if doc.get("timeInterval") is not None else None,
        throttling_s=float(doc["throttling"]) if doc.get("throttling") is not None else None,
        notification=notification,
        term_map=notify_tm,
        context=context,
        context_url=context_url,
        trigger_key=_intern((triggers, watched)),
        filter_key=_intern((tuple((sel.types, sel.entity_id, sel.id_pattern_text) for sel in selectors), q, geo, scope)),
        render_key=_intern(render),
    )


_INTERNED: dict[tuple[Any, str], int] = {}
_NEXT_KEY = itertools.count()
_MAX_INTERNED = 100_000


def _intern(value: Any) -> int:
    """A number for a value (equal values, equal numbers); forgetting old ones only loses sharing.

    Keyed by the repr too: in Python `True == 1`, so `a==true` and `a==1` would share a number, but in
    NGSI-LD they are different literals (a boolean matches only a boolean)."""
    typed = (value, repr(value))
    key = _INTERNED.get(typed)
    if key is None:
        if len(_INTERNED) >= _MAX_INTERNED:
            _INTERNED.clear()
        key = _INTERNED[typed] = next(_NEXT_KEY)
    return key


def now_s() -> float:
    return datetime.now(UTC).timestamp()


def _selector(item: dict[str, Any]) -> Selector:
    pattern = item.get("idPattern")
    return Selector(
        types=parse_type_selection(item["type"]),
        entity_id=item.get("id"),
        id_pattern=re.compile(pattern) if pattern is not None else None,
        id_pattern_text=pattern,
    )


def _required_names(node: TypeExpr) -> tuple[str, ...]:
    """Names such that a matching entity has at least one of them; () when any type can match."""
    if isinstance(node, TypeName):
        return () if node.name == ALL_TYPES else (node.name,)
    if isinstance(node, TypeAnd):
        for term in node.terms:
            names = _required_names(term)
            if names:
                return names
        return ()
    assert isinstance(node, TypeOr)
    collected: list[str] = []
    for term in node.terms:
        names = _required_names(term)
        if not names:
            return ()
        collected.extend(names)
    return tuple(dict.fromkeys(collected))


def _single_url(context: Any) -> str | None:
    if isinstance(context, str):
        return context
    if isinstance(context, list) and len(context) == 1 and isinstance(context[0], str):
        return context[0]
    return None


def _set(values: list[str] | None) -> frozenset[str] | None:
    return frozenset(values) if values is not None else None


__all__ = ["CompiledSubscription", "NotificationSettings", "ResolveContext", "Selector", "compile_subscription", "now_s"]
