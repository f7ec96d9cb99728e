# SPDX-License-Identifier: EUPL-1.2
"""Validate request bodies and bring them to the normalized representation (compacted names).

Accepts the normalized and the concise representations (clauses 4.5.1 and 4.5.3 of ETSI GS CIM
009); keyValues input is a subset of concise. Names stay as the client wrote them: expansion is
broker.ld's job. The output shape is the one broker.ld.expand_entity takes: each attribute a list
of instances, one per datasetId. System members (createdAt, modifiedAt, ...) in input are dropped.
"""

from __future__ import annotations

import functools
import re
from datetime import datetime
from typing import Any

from broker.entities.geojson import GEOMETRY_TYPES, is_geometry, validate_geometry
from broker.errors import BadRequestData
from broker.ld.expand import EXPANDED_MEMBERS, attribute_iri, expand_member, expand_types
from broker.ld.term_map import TermMap

NGSI_LD_NULL = "urn:ngsi-ld:null"

ATTRIBUTE_TYPES: dict[str, str] = {
    "Property": "value",
    "Relationship": "object",
    "GeoProperty": "value",
    "LanguageProperty": "languageMap",
    "VocabProperty": "vocab",
    "ListProperty": "valueList",
    "ListRelationship": "objectList",
    "JsonProperty": "json",
}
# Concise input: the member present tells the attribute type.
_TYPE_BY_MEMBER = {
    "object": "Relationship",
    "languageMap": "LanguageProperty",
    "vocab": "VocabProperty",
    "valueList": "ListProperty",
    "objectList": "ListRelationship",
    "json": "JsonProperty",
}
VALUE_MEMBERS = frozenset(ATTRIBUTE_TYPES.values())
# The system members: shown only with options=sysAttrs. The broker stamps all but expiresAt, which a
# client sets (clause 4.22) on the entity and on an attribute instance; stamped ones in input are dropped.
SYSTEM_MEMBERS = frozenset({"createdAt", "modifiedAt", "deletedAt", "instanceId", "expiresAt"})
STAMPED_MEMBERS = SYSTEM_MEMBERS - {"expiresAt"}
ENTITY_MEMBERS = frozenset({"id", "type", "scope", "@context"}) | SYSTEM_MEMBERS
# Clause 4.5.1: core terms that are members of attributes cannot name an attribute.
RESERVED_ATTRIBUTE_NAMES = VALUE_MEMBERS | frozenset(
    {"datasetId", "observedAt", "unitCode", "objectType", "lang", "instanceId", "previousValue"}
)
# Clauses 4.5.3.2 and 4.5.24.2: these are unitless.
_UNITLESS = frozenset({"Relationship", "ListRelationship", "JsonProperty"})
_MAX_DEPTH = 16

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`\x00-\x1f\x7f]*$")  # no control characters (RFC 3987)
# Characters the NGSI-LD API forbids in names (they break q, attrs and URLs), and control characters
# (no IRI holds one; PostgreSQL cannot store NUL).
_BAD_NAME = re.compile(r"[\s<>\"'=;()\\\x00-\x1f\x7f]")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")
_LANG_TAG = re.compile(r"^(@none|[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*)$")


def is_uri(value: Any) -> bool:
    return isinstance(value, str) and bool(_URI.match(value))


def check_entity_id(value: Any, where: str = "id") -> str:
    if not is_uri(value):
        raise BadRequestData(f"{where} must be a URI, got {value!r}")
    return str(value)


def check_name(name: Any, what: str = "attribute name") -> str:
    if not isinstance(name, str) or not (_is_valid_name(name) if len(name) <= _CACHED_NAME_MAX else _valid_name(name)):
        raise BadRequestData(f"invalid {what} {name!r}")
    return name


def check_attribute_name(name: Any) -> str:
    """An attribute's name in a URL (.../attrs/{attrId}): a valid name that no core member of an entity
    or of an attribute has taken (clause 4.5.1), such as createdAt or expiresAt."""
    check_name(name)
    if name in ENTITY_MEMBERS or name in RESERVED_ATTRIBUTE_NAMES:
        raise BadRequestData(f"{name!r} is a core NGSI-LD term and cannot name an attribute (clause 4.5.1)")
    return str(name)


_CACHED_NAME_MAX = 256  # longer names are checked afresh: a client must not fill the cache with megabytes


def _valid_name(name: str) -> bool:
    return bool(name) and not _BAD_NAME.search(name) and not name.startswith("@")


_is_valid_name = functools.lru_cache(maxsize=4096)(_valid_name)  # a batch names the same few terms a thousand times


def parse_types(value: Any) -> list[str]:
    names = value if isinstance(value, list) else [value]
    if not names:
        raise BadRequestData("type must not be an empty array")
    return [check_name(name, "entity type") for name in names]


def parse_scope(value: Any) -> list[str]:
    scopes = value if isinstance(value, list) else [value]
    for scope in scopes:
        if not isinstance(scope, str) or not re.fullmatch(r"(/[^/\s#+]+)+", scope):
            raise BadRequestData(f"invalid scope {scope!r}: a scope is a path such as /Hamm/Mitte")
    return list(scopes)


def parse_entity(body: Any, *, require_type: bool = True) -> dict[str, Any]:
    """A full entity (create, or batch items later): id and type required."""
    return _parse_entity(body, require_type, None)


def parse_expanded_entity(body: Any, term_map: TermMap, *, require_type: bool = True) -> dict[str, Any]:
    """expand_entity(parse_entity(body), term_map) in one walk: the same entity, the same first error.

    Each attribute is expanded as soon as it is parsed, into the one dict the stored form needs
    (a batch of a thousand items walked each of them twice). An error of expansion (a name that is
    a keyword alias, two names of one IRI) is kept until the whole body has parsed, since an error
    of the parse comes first when both are found, as in the two-step path.
    """
    expansion = _Expansion(term_map)
    entity = _parse_entity(body, require_type, expansion)
    if expansion.error is not None:
        error, expansion.error = expansion.error, None  # no cycle (error -> traceback -> frame -> expansion) left
        raise error
    return entity


def _parse_entity(body: Any, require_type: bool, expansion: _Expansion | None) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequestData("an entity must be a JSON object")
    if "id" not in body:
        raise BadRequestData("the entity has no id")
    entity: dict[str, Any] = {"id": check_entity_id(body["id"])}
    if "type" in body:
        types = parse_types(body["type"])
        entity["type"] = expansion.types(types) if expansion is not None else types
    elif require_type:
        raise BadRequestData("the entity has no type")
    entity.update(
        _parse_members(body, allow_null=False, entity_id=None, partial=False, types_parsed=True, expansion=expansion)
    )
    return entity


class _Expansion:
    """Expansion (broker.ld.expand) during the parse walk; its first error is kept, and after it nothing
    is expanded (the result is then thrown away), as broker.ld.expand stops at its first error."""

    __slots__ = ("term_map", "error")

    def __init__(self, term_map: TermMap) -> None:
        self.term_map = term_map
        self.error: BadRequestData | None = None

    def iri(self, name: str, seen: dict[str, str]) -> str:
        if self.error is None:
            try:
                return attribute_iri(name, self.term_map, seen)
            except BadRequestData as error:
                self.error = error
        return name

    def member(self, key: str, value: Any, attribute_type: Any) -> Any:
        if self.error is None and key in EXPANDED_MEMBERS:
            try:
                return expand_member(key, value, attribute_type, self.term_map)
            except BadRequestData as error:
                self.error = error
        return value

    def types(self, types: list[str]) -> list[str]:
        if self.error is None:
            try:
                return expand_types(types, self.term_map)
            except BadRequestData as error:
                self.error = error
        return types


def parse_fragment(
    body: Any, *, allow_null: bool, entity_id: str | None, partial: bool = False
) -> dict[str, Any]:
    """An entity fragment (append, update, merge, replace): attributes, plus optional type/scope.

    `entity_id`, when given, is the id from the URL; an id member in the body must equal it.
    `allow_null` admits "urn:ngsi-ld:null" (merge-patch deletion); `partial` admits attribute
    objects that carry only some members (merge-patch, partial attribute update).
    """
    if not isinstance(body, dict):
        raise BadRequestData("the request body must be a JSON object")
    return _parse_members(body, allow_null=allow_null, entity_id=entity_id, partial=partial, types_parsed=False)


def _parse_members(
    body: dict[str, Any],
    *,
    allow_null: bool,
    entity_id: str | None,
    partial: bool,
    types_parsed: bool,
    expansion: _Expansion | None = None,
) -> dict[str, Any]:
    """parse_fragment's walk; `types_parsed`: the caller has parsed "type" already (parse_entity).

    With `expansion`, names and values come out expanded (parse_expanded_entity).
    """
    fragment: dict[str, Any] = {}
    seen: dict[str, str] = {}
    for name, raw in body.items():
        if name == "@context" or name in ("createdAt", "modifiedAt", "deletedAt"):
            continue
        if name == "expiresAt":  # the entity's (clause 4.22); "urn:ngsi-ld:null" in a merge takes it away
            fragment[name] = _check_datetime("the entity's expiresAt", raw, allow_null)
            continue
        if name in RESERVED_ATTRIBUTE_NAMES:
            raise BadRequestData(f"{name!r} is a core NGSI-LD term and cannot name an attribute (clause 4.5.1)")
        if name == "id":
            if entity_id is not None and raw != entity_id:
                raise BadRequestData(f"the id in the body ({raw!r}) differs from the id in the URL")
            continue
        if name == "type":
            if not types_parsed:
                types = parse_types(raw)
                fragment["type"] = types if expansion is None else expansion.types(types)
        elif name == "scope":
            if raw == NGSI_LD_NULL and allow_null:
                fragment["scope"] = NGSI_LD_NULL
            else:
                fragment["scope"] = parse_scope(raw)
        elif expansion is None:
            fragment[check_name(name)] = parse_attribute(name, raw, allow_null=allow_null, partial=partial)
        else:
            iri = expansion.iri(name, seen)  # expanded before the instances, as broker.ld.expand does
            instances = _parse_attribute(name, raw, allow_null, partial, expansion)
            fragment[iri] = instances
            check_name(name)
    return fragment


def parse_attribute(name: str, raw: Any, *, allow_null: bool = False, partial: bool = False) -> list[dict[str, Any]]:
    """One attribute (one instance, or an array of instances with distinct datasetIds)."""
    return _parse_attribute(name, raw, allow_null, partial, None)


def _parse_attribute(
    name: str, raw: Any, allow_null: bool, partial: bool, expansion: _Expansion | None
) -> list[dict[str, Any]]:
    if isinstance(raw, list) and raw and all(isinstance(item, dict) for item in raw) and _looks_like_instances(raw):
        instances = [_parse_instance(name, item, allow_null, partial, 0, expansion) for item in raw]
    else:  # one instance: no two datasetIds to compare
        return [_parse_instance(name, raw, allow_null, partial, 0, expansion)]
    seen: set[str | None] = set()
    for instance in instances:
        dataset_id = instance.get("datasetId")
        if dataset_id in seen:
            raise BadRequestData(f"attribute {name}: two instances with the same datasetId {dataset_id!r}")
        seen.add(dataset_id)
    return instances


def _looks_like_instances(items: list[dict[str, Any]]) -> bool:
    # An array of attribute objects (multi-attribute with datasetIds), not a concise array value.
    return all("type" in item or VALUE_MEMBERS.intersection(item) for item in items)


def parse_instance(name: str, raw: Any, *, allow_null: bool = False, partial: bool = False) -> dict[str, Any]:
    return _parse_instance(name, raw, allow_null, partial, 0)


def _parse_instance(
    name: str, raw: Any, allow_null: bool, partial: bool, depth: int, expansion: _Expansion | None = None
) -> dict[str, Any]:
    if depth > _MAX_DEPTH:
        raise BadRequestData(f"attribute {name}: sub-attributes nested too deeply")
    if raw is None:
        raise BadRequestData(f"attribute {name}: null is not a valid attribute value")
    if not isinstance(raw, dict):
        if raw == NGSI_LD_NULL and not allow_null:
            raise BadRequestData(f"attribute {name}: {NGSI_LD_NULL} is only allowed in a merge or update")
        # In a merge the existing attribute keeps its type (clause 5.6.17.4): leave it open.
        if partial:
            return {"value": raw if expansion is None else expansion.member("value", raw, None)}
        return _concise("Property", raw, expansion)
    attr_type = raw.get("type")
    if attr_type is not None and not isinstance(attr_type, str):
        raise BadRequestData(f"attribute {name}: type must be a string")
    if attr_type in GEOMETRY_TYPES and not VALUE_MEMBERS.intersection(raw):
        _check_geo_value(name, raw)  # concise GeoProperty: the bare GeoJSON geometry
        return _concise("GeoProperty", raw, expansion)
    if attr_type is None:
        attr_type = _infer_type(raw)
        if partial and (attr_type is None or "value" in raw):
            if "value" in raw and is_geometry(raw["value"]):
                _check_geo_value(name, raw["value"])
            return _members(name, raw, None, allow_null, partial, depth, expansion)
        if attr_type is None:
            if is_geometry(raw):
                _check_geo_value(name, raw)
                return _concise("GeoProperty", raw, expansion)
            return _concise("Property", raw, expansion)
    if attr_type not in ATTRIBUTE_TYPES:
        raise BadRequestData(f"attribute {name}: unknown attribute type {attr_type!r}")
    instance = _members(name, raw, attr_type, allow_null, partial, depth, expansion)
    member = ATTRIBUTE_TYPES[attr_type]
    if member not in instance and not partial:
        raise BadRequestData(f"attribute {name}: a {attr_type} needs a {member!r} member")
    return instance


def _concise(attr_type: str, value: Any, expansion: _Expansion | None) -> dict[str, Any]:
    """A value given without its attribute object (concise representation)."""
    return {"type": attr_type, "value": value if expansion is None else expansion.member("value", value, attr_type)}


def _infer_type(raw: dict[str, Any]) -> str | None:
    for member, attr_type in _TYPE_BY_MEMBER.items():
        if member in raw:
            return attr_type
    if "value" in raw:
        return "GeoProperty" if is_geometry(raw["value"]) else "Property"
    return None


def _members(
    name: str,
    raw: dict[str, Any],
    attr_type: str | None,
    allow_null: bool,
    partial: bool,
    depth: int,
    expansion: _Expansion | None = None,
) -> dict[str, Any]:
    instance: dict[str, Any] = {} if attr_type is None else {"type": attr_type}
    expected = ATTRIBUTE_TYPES.get(attr_type) if attr_type else None
    seen: dict[str, str] = {}
    for key, value in raw.items():
        if key == "type" or key in STAMPED_MEMBERS:
            continue
        if key in VALUE_MEMBERS:
            if expected is not None and key != expected:
                raise BadRequestData(f"attribute {name}: a {attr_type} has no {key!r} member")
            checked = _check_value(name, attr_type, key, value, allow_null)
            instance[key] = checked if expansion is None else expansion.member(key, checked, attr_type)
        elif key == "observedAt":
            instance[key] = _check_datetime(f"attribute {name}: {key}", value, allow_null)
        elif key == "expiresAt":
            if depth > 0:  # the broker removes attribute instances, not parts of them
                raise BadRequestData(f"attribute {name}: expiresAt is taken on an attribute, not on a sub-attribute")
            instance[key] = _check_datetime(f"attribute {name}: {key}", value, allow_null)
        elif key == "unitCode":
            if attr_type in _UNITLESS:
                raise BadRequestData(f"attribute {name}: a {attr_type} has no unitCode (it is unitless)")
            if not isinstance(value, str) or not value:
                raise BadRequestData(f"attribute {name}: unitCode must be a non-empty string")
            instance[key] = value
        elif key == "datasetId":
            if value != "@none":  # clause 4.5.5.1: "@none" names the default instance
                instance[key] = check_entity_id(value, f"attribute {name}: datasetId")
        elif key == "objectType":
            checked = _check_strings(name, key, value)
            instance[key] = checked if expansion is None else expansion.member(key, checked, attr_type)
        elif key == "lang":
            if not isinstance(value, str) or not _LANG_TAG.match(value):
                raise BadRequestData(f"attribute {name}: invalid lang {value!r}")
            instance[key] = value
        elif expansion is None:
            instance[check_name(key, "sub-attribute name")] = _parse_instance(
                f"{name}.{key}", value, allow_null, partial, depth + 1
            )
        else:
            iri = expansion.iri(key, seen)  # expanded before its members, as broker.ld.expand does
            sub_attribute = _parse_instance(f"{name}.{key}", value, allow_null, partial, depth + 1, expansion)
            check_name(key, "sub-attribute name")
            instance[iri] = sub_attribute
    return instance


def check_member_value(name: str, attr_type: str, member: str, value: Any) -> Any:
    """BadRequestData unless `value` is what the member of that attribute type holds (a merge without a
    type puts a value in the attribute's own member, so it is checked against the attribute's type)."""
    return _check_value(name, attr_type, member, value, allow_null=True)


def _check_value(name: str, attr_type: str | None, member: str, value: Any, allow_null: bool) -> Any:
    if value is None:
        raise BadRequestData(f"attribute {name}: {member} must not be null")
    if value == NGSI_LD_NULL:
        if not allow_null:
            raise BadRequestData(f"attribute {name}: {NGSI_LD_NULL} is only allowed in a merge or update")
        return value
    if member == "value" and attr_type == "GeoProperty":
        _check_geo_value(name, value)
    elif member == "object":
        objects = value if isinstance(value, list) else [value]
        if not objects or not all(is_uri(item) for item in objects):
            raise BadRequestData(f"attribute {name}: a Relationship object must be a URI")
    elif member == "languageMap":
        if not isinstance(value, dict) or not value:
            raise BadRequestData(f"attribute {name}: languageMap must be a non-empty object")
        for tag, text in value.items():
            if not _LANG_TAG.match(tag):
                raise BadRequestData(f"attribute {name}: invalid language tag {tag!r}")
            texts = text if isinstance(text, list) else [text]
            if not all(isinstance(item, str) for item in texts):
                raise BadRequestData(f"attribute {name}: languageMap values must be strings")
    elif member == "vocab":
        _check_strings(name, member, value)
    elif member == "valueList":
        if not isinstance(value, list):
            raise BadRequestData(f"attribute {name}: valueList must be an array")
    elif member == "objectList":
        if not isinstance(value, list):
            raise BadRequestData(f"attribute {name}: objectList must be an array")
        for item in value:
            target = item.get("object") if isinstance(item, dict) else item
            if not is_uri(target):
                raise BadRequestData(f"attribute {name}: objectList items must be URIs or {{\"object\": URI}}")
        # clause 4.5.22.2: the normalized form is an array of {"object": URI}
        return [item if isinstance(item, dict) else {"object": item} for item in value]
    elif member == "json":
        if not isinstance(value, (dict, list)):
            raise BadRequestData(f"attribute {name}: json must be a JSON object or array (clause 4.5.24.2)")
    return value


def _check_geo_value(name: str, value: Any) -> None:
    validate_geometry(value, f"attribute {name}")
    if value.get("type") == "GeometryCollection":
        raise BadRequestData(f"attribute {name}: a GeoProperty cannot hold a GeometryCollection (clause 4.6.3)")


def _check_strings(name: str, member: str, value: Any) -> Any:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(item, str) and item for item in items):
        raise BadRequestData(f"attribute {name}: {member} must be a string or an array of strings")
    return value


def is_datetime(value: Any) -> bool:
    """Clause 4.6.3: YYYY-MM-DDThh:mm:ss[.fraction]Z, UTC only, no reduced forms."""
    if not isinstance(value, str) or not _DATETIME.match(value):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _check_datetime(what: str, value: Any, allow_null: bool) -> str:
    if allow_null and value == NGSI_LD_NULL:
        return value  # type: ignore[no-any-return]
    if not is_datetime(value):
        raise BadRequestData(f"{what} {value!r} is not a DateTime of the form YYYY-MM-DDThh:mm:ssZ (UTC, clause 4.6.3)")
    return str(value)


__all__ = [
    "NGSI_LD_NULL",
    "ATTRIBUTE_TYPES",
    "VALUE_MEMBERS",
    "SYSTEM_MEMBERS",
    "check_attribute_name",
    "check_member_value",
    "STAMPED_MEMBERS",
    "ENTITY_MEMBERS",
    "is_uri",
    "is_datetime",
    "RESERVED_ATTRIBUTE_NAMES",
    "check_entity_id",
    "check_name",
    "parse_types",
    "parse_scope",
    "parse_entity",
    "parse_expanded_entity",
    "parse_fragment",
    "parse_attribute",
    "parse_instance",
]
