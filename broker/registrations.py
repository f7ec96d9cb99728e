# SPDX-License-Identifier: EUPL-1.2
"""Context source registrations (ETSI GS CIM 009 v1.9.1 clauses 5.2.9, 5.9 and 5.10): storage only.

Registrations are validated, kept per tenant in the store with entity types and attribute names
expanded, and compacted on read. Forwarding requests to the registered sources comes later; FIWARE
IoT agents need only to register their commands and get 201 + Location back.
"""

from __future__ import annotations

import uuid
from typing import Any

from broker.entities.normalize import check_entity_id, check_name, is_datetime, is_uri
from broker.entities.operations import now_iso
from broker.errors import BadRequestData
from broker.ld import TermMap

DOCUMENT_KIND = "csourceRegistration"
MODES = ("inclusive", "exclusive", "redirect", "auxiliary")
_SYSTEM = ("createdAt", "modifiedAt")


def parse_registration(body: Any, tm: TermMap, *, require_all: bool = True) -> dict[str, Any]:
    """Validate a CSourceRegistration (or, with require_all=False, a PATCH fragment) and expand it."""
    if not isinstance(body, dict):
        raise BadRequestData("a context source registration must be a JSON object")
    reg = {key: value for key, value in body.items() if key not in ("@context", *_SYSTEM)}
    if "id" in reg:
        check_entity_id(reg["id"], "the registration id")
    if require_all or "type" in reg:
        if reg.get("type") != "ContextSourceRegistration":
            raise BadRequestData('a registration needs "type": "ContextSourceRegistration"')
    if require_all or "information" in reg:
        reg["information"] = [_information(item, tm) for item in _non_empty_list(reg.get("information"), "information")]
    if require_all or "endpoint" in reg:
        if not is_uri(reg.get("endpoint")):
            raise BadRequestData("a registration needs an endpoint URI")
    if "mode" in reg and reg["mode"] not in MODES:
        raise BadRequestData(f"mode must be one of {', '.join(MODES)}")
    for name in ("expiresAt",):
        if name in reg:
            _datetime(reg[name], name)
    for name in ("observationInterval", "managementInterval"):
        if name in reg:
            interval = reg[name]
            if not isinstance(interval, dict) or "startAt" not in interval:
                raise BadRequestData(f"{name} must be an object with startAt (and endAt)")
            for member in ("startAt", "endAt"):
                if member in interval:
                    _datetime(interval[member], f"{name}.{member}")
    if "operations" in reg and not (
        isinstance(reg["operations"], list) and all(isinstance(op, str) for op in reg["operations"])
    ):
        raise BadRequestData("operations must be an array of operation names")
    for name in ("registrationName", "description"):
        if name in reg and not isinstance(reg[name], str):
            raise BadRequestData(f"{name} must be a string")
    return reg


def new_registration(reg: dict[str, Any]) -> dict[str, Any]:
    now = now_iso()
    reg.setdefault("id", f"urn:ngsi-ld:ContextSourceRegistration:{uuid.uuid4()}")
    reg["createdAt"] = reg["modifiedAt"] = now
    return reg


def merge_registration(current: dict[str, Any], fragment: dict[str, Any]) -> dict[str, Any]:
    if "id" in fragment and fragment["id"] != current["id"]:
        raise BadRequestData("the id of a registration cannot be changed")
    merged = {**current, **{key: value for key, value in fragment.items() if value is not None}}
    for key, value in fragment.items():
        if value is None:
            merged.pop(key, None)
    merged["modifiedAt"] = now_iso()
    return merged


def matches(reg: dict[str, Any], *, entity_id: str | None, types: list[str] | None, attrs: list[str] | None) -> bool:
    """GET /csourceRegistrations filters: any RegistrationInfo naming the id / type / attribute."""
    for info in reg["information"]:
        entities = info.get("entities", [])
        names = info.get("propertyNames", []) + info.get("relationshipNames", [])
        if types and not any(set(types) & set(_as_list(e.get("type"))) for e in entities):
            continue
        if entity_id and not any(e.get("id") in (None, entity_id) for e in entities):
            continue
        if attrs and names and not set(attrs) & set(names):
            continue
        return True
    return False


def compact_registration(reg: dict[str, Any], tm: TermMap, *, sys_attrs: bool = False) -> dict[str, Any]:
    out = {key: value for key, value in reg.items() if sys_attrs or key not in _SYSTEM}
    out["information"] = [
        {
            **info,
            **({"entities": [_compact_entity_info(e, tm) for e in info["entities"]]} if "entities" in info else {}),
            **{
                key: [tm.compact_iri(name) for name in info[key]]
                for key in ("propertyNames", "relationshipNames")
                if key in info
            },
        }
        for info in reg["information"]
    ]
    return out


def _compact_entity_info(info: dict[str, Any], tm: TermMap) -> dict[str, Any]:
    types = [tm.compact_type(t) for t in _as_list(info["type"])]
    return {**info, "type": types[0] if len(types) == 1 else types}


def _information(item: Any, tm: TermMap) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise BadRequestData("each item of information must be an object (a RegistrationInfo)")
    info = dict(item)
    if "entities" in info:
        info["entities"] = [_entity_info(e, tm) for e in _non_empty_list(info["entities"], "information.entities")]
    for key in ("propertyNames", "relationshipNames"):
        if key in info:
            names = info[key]
            if not isinstance(names, list):
                raise BadRequestData(f"{key} must be an array of attribute names")
            info[key] = [tm.expand_term(check_name(name)) for name in names]
    if not {"entities", "propertyNames", "relationshipNames"} & set(info):
        raise BadRequestData("a RegistrationInfo needs entities, propertyNames or relationshipNames")
    return info


def _entity_info(item: Any, tm: TermMap) -> dict[str, Any]:
    if not isinstance(item, dict) or "type" not in item:
        raise BadRequestData("each registered entity needs a type")
    info = dict(item)
    info["type"] = [tm.expand_type(check_name(t, "entity type")) for t in _as_list(item["type"])]
    if "id" in info:
        check_entity_id(info["id"], "information.entities.id")
    if "idPattern" in info and not isinstance(info["idPattern"], str):
        raise BadRequestData("idPattern must be a string (a regular expression)")
    return info


def _non_empty_list(value: Any, name: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise BadRequestData(f"{name} must be a non-empty array")
    return value


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _datetime(value: Any, name: str) -> None:
    if not is_datetime(value):
        raise BadRequestData(f"{name} must be a DateTime of the form YYYY-MM-DDThh:mm:ssZ")


__all__ = [
    "DOCUMENT_KIND",
    "parse_registration",
    "new_registration",
    "merge_registration",
    "matches",
    "compact_registration",
]
