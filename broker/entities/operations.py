# SPDX-License-Identifier: EUPL-1.2
"""The entity operations of ETSI GS CIM 009 clause 5.6 as pure functions on expanded entities.

Each function takes the stored entity (mutable, a private copy the store gave us) and an expanded
fragment, changes the entity in place and returns what the API must report. They do no I/O:
store.modify_entity runs them inside one transaction, so a raised error writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from broker.ld.members import ENTITY_MEMBERS
from broker.entities.geojson import is_geometry
from broker.entities.normalize import (
    ATTRIBUTE_TYPES,
    NGSI_LD_NULL,
    SYSTEM_MEMBERS,
    VALUE_MEMBERS,
    check_member_value,
)
from broker.errors import BadRequestData, ResourceNotFound

Instance = dict[str, Any]
ENTITY_CORE_MEMBERS = ENTITY_MEMBERS  # the core members of an entity (broker.ld.members)
_INSTANCE_SCALAR_MEMBERS = frozenset({"observedAt", "unitCode", "objectType", "lang", "expiresAt"})


def now_iso() -> str:
    """The broker's timestamps: UTC, millisecond precision, 'Z' suffix."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def is_attribute_key(key: str) -> bool:
    return key not in ENTITY_CORE_MEMBERS


def is_sub_attribute_key(key: str) -> bool:
    return key not in VALUE_MEMBERS and key not in SYSTEM_MEMBERS and key not in _CORE_INSTANCE_KEYS


_CORE_INSTANCE_KEYS = frozenset({"type", "observedAt", "unitCode", "datasetId", "objectType", "lang"})
_NOT_SUB_ATTRIBUTE_KEYS = VALUE_MEMBERS | SYSTEM_MEMBERS | _CORE_INSTANCE_KEYS  # is_sub_attribute_key, as one set


def is_null(instance: Instance) -> bool:
    """A merge-patch deletion marker: the attribute's value member is "urn:ngsi-ld:null"."""
    return any(instance.get(member) == NGSI_LD_NULL for member in VALUE_MEMBERS)


@dataclass
class UpdateResult:
    """The spec's UpdateResult (clause 5.2.18): names are IRIs here, compacted by the API."""

    updated: list[str] = field(default_factory=list)
    not_updated: list[tuple[str, str]] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.not_updated


# -- stamping ----------------------------------------------------------------------------------


def stamp_instance(instance: Instance, now: str, created_at: str | None = None) -> Instance:
    instance["createdAt"] = created_at or now
    instance["modifiedAt"] = now
    for key, sub in instance.items():
        if isinstance(sub, dict) and is_sub_attribute_key(key):
            created = sub.get("createdAt") if isinstance(sub.get("createdAt"), str) else None
            stamp_instance(sub, now, created)
    return instance


def stamped_copy(instance: Instance, now: str, created_at: str | None = None) -> Instance:
    """stamp_instance on a copy: the instance and its sub-attributes are new dicts, values are shared."""
    copy = dict(instance)
    copy["createdAt"] = created_at or now
    copy["modifiedAt"] = now
    for key, sub in instance.items():
        if isinstance(sub, dict) and key not in _NOT_SUB_ATTRIBUTE_KEYS:
            created = sub.get("createdAt") if isinstance(sub.get("createdAt"), str) else None
            copy[key] = stamped_copy(sub, now, created)
    return copy


def created_entity(expanded_entity: dict[str, Any], now: str) -> dict[str, Any]:
    """new_entity on a copy, leaving `expanded_entity` as it was: a batch may apply one item more than once.

    The entity, its lists and its instances are new; values (GeoJSON, compound values) are shared,
    as no operation changes a value in place.
    """
    entity: dict[str, Any] = {}
    for key, value in expanded_entity.items():
        if key not in ENTITY_CORE_MEMBERS:
            entity[key] = [stamped_copy(instance, now) for instance in value]
        else:
            entity[key] = list(value) if isinstance(value, list) else value
    entity["createdAt"] = entity["modifiedAt"] = now
    return entity


def new_entity(expanded_entity: dict[str, Any], now: str) -> dict[str, Any]:
    """Stamp a freshly created entity: createdAt/modifiedAt on the entity and every attribute."""
    expanded_entity["createdAt"] = expanded_entity["modifiedAt"] = now
    for key, instances in expanded_entity.items():
        if is_attribute_key(key):
            for instance in instances:
                stamp_instance(instance, now)
    return expanded_entity


def _find(instances: list[Instance], dataset_id: Any) -> int:
    for index, instance in enumerate(instances):
        if instance.get("datasetId") == dataset_id:
            return index
    return -1


def _add_types(entity: dict[str, Any], types: list[str] | None) -> bool:
    added = False
    for iri in types or ():
        if iri not in entity["type"]:
            entity["type"].append(iri)
            added = True
    return added


def _set_scope(entity: dict[str, Any], scope: Any) -> None:
    if scope == NGSI_LD_NULL:
        entity.pop("scope", None)
    elif scope is not None:
        entity["scope"] = scope


def _set_expiry(entity: dict[str, Any], fragment: dict[str, Any]) -> bool:
    """The fragment's expiresAt of the entity (clause 4.22), if it has one: set, or taken away by
    "urn:ngsi-ld:null" (merge); True when the fragment had one."""
    if "expiresAt" not in fragment:
        return False
    if fragment["expiresAt"] == NGSI_LD_NULL:
        entity.pop("expiresAt", None)
    else:
        entity["expiresAt"] = fragment["expiresAt"]
    return True


def _attributes(fragment: dict[str, Any]) -> list[tuple[str, list[Instance]]]:
    return [(key, value) for key, value in fragment.items() if is_attribute_key(key)]


# -- operations --------------------------------------------------------------------------------


def append_attributes(entity: dict[str, Any], fragment: dict[str, Any], now: str, *, no_overwrite: bool) -> UpdateResult:
    """POST /entities/{id}/attrs (5.6.3): add new attributes; replace existing ones unless noOverwrite."""
    result = UpdateResult()
    changed = _add_types(entity, fragment.get("type"))
    if "scope" in fragment:
        if no_overwrite:  # clause 5.6.3.4: the new scopes are added to the existing ones
            fragment_scope = fragment["scope"] if isinstance(fragment["scope"], list) else []
            entity["scope"] = list(dict.fromkeys([*entity.get("scope", []), *fragment_scope]))
        else:
            _set_scope(entity, fragment["scope"])
        changed = True
    if not (no_overwrite and "expiresAt" in entity) and _set_expiry(entity, fragment):
        changed = True
    for iri, instances in _attributes(fragment):
        existing = entity.setdefault(iri, [])
        for instance in instances:
            index = _find(existing, instance.get("datasetId"))
            if index >= 0:
                if no_overwrite:
                    result.not_updated.append((iri, "attribute exists and options=noOverwrite was given"))
                    continue
                existing[index] = stamp_instance(instance, now, existing[index].get("createdAt"))
            else:
                existing.append(stamp_instance(instance, now))
            changed = True
            if iri not in result.updated:
                result.updated.append(iri)
        if not existing:
            del entity[iri]
    if changed:
        entity["modifiedAt"] = now
    return result


def update_attributes(entity: dict[str, Any], fragment: dict[str, Any], now: str) -> UpdateResult:
    """PATCH /entities/{id}/attrs (5.6.2): replace attributes that exist; report the others.
    The entity's expiresAt, when the fragment has one, is set too."""
    result = UpdateResult()
    expiry_set = _set_expiry(entity, fragment)
    for iri, instances in _attributes(fragment):
        existing = entity.get(iri, [])
        for instance in instances:
            dataset_id = instance.get("datasetId")
            index = _find(existing, dataset_id)
            if index < 0:
                where = f" with datasetId {dataset_id}" if dataset_id else ""
                result.not_updated.append((iri, f"attribute{where} does not exist"))
                continue
            existing[index] = stamp_instance(instance, now, existing[index].get("createdAt"))
            if iri not in result.updated:
                result.updated.append(iri)
    if result.updated or expiry_set:
        entity["modifiedAt"] = now
    return result


def merge_entity(
    entity: dict[str, Any], fragment: dict[str, Any], now: str, *, lang: str | None = None, observed_at: str | None = None
) -> None:
    """PATCH /entities/{id} (5.6.17): JSON merge-patch; "urn:ngsi-ld:null" deletes.

    An attribute given without a type keeps the type it has (a bare value merged into a
    Relationship sets its object). `lang` makes a string merged into a LanguageProperty replace
    that language only; `observed_at` refreshes observedAt where merged attributes had one.
    """
    _add_types(entity, fragment.get("type"))
    if "scope" in fragment:
        _set_scope(entity, fragment["scope"])
    _set_expiry(entity, fragment)
    for iri, instances in _attributes(fragment):
        existing = entity.get(iri, [])
        for instance in instances:
            dataset_id = instance.get("datasetId")
            index = _find(existing, dataset_id)
            if is_null(instance):
                if index >= 0:
                    del existing[index]
            elif index >= 0:
                merged = _merge_instance(existing[index], instance, now, lang, iri)
                if observed_at is not None and "observedAt" in merged:
                    merged["observedAt"] = observed_at
                existing[index] = merged
            else:
                existing.append(stamp_instance(_typed(_drop_nulls(instance), iri), now))
        if existing:
            entity[iri] = existing
        else:
            entity.pop(iri, None)
    entity["modifiedAt"] = now


def partial_update_attribute(entity: dict[str, Any], iri: str, instance: Instance, now: str) -> None:
    """PATCH /entities/{id}/attrs/{attrId} (5.6.4): merge the given members into one instance. As in a
    merge-patch, a value of "urn:ngsi-ld:null" deletes the instance (it was stored as the value, which
    no entity may hold)."""
    existing = entity.get(iri, [])
    index = _find(existing, instance.get("datasetId"))
    if index < 0:
        raise ResourceNotFound(_missing(iri, instance.get("datasetId")))
    current = existing[index]
    if is_null(instance):
        del existing[index]
        if not existing:
            del entity[iri]
        entity["modifiedAt"] = now
        return
    if "type" in instance and instance["type"] != current["type"]:
        raise BadRequestData(
            f"attribute {iri} is a {current['type']}; a partial update cannot make it a {instance['type']}"
        )
    existing[index] = _merge_instance(current, instance, now, name=iri)
    entity["modifiedAt"] = now


def replace_attribute(entity: dict[str, Any], iri: str, instance: Instance, now: str) -> None:
    """PUT /entities/{id}/attrs/{attrId} (5.6.19): replace one existing instance."""
    existing = entity.get(iri, [])
    index = _find(existing, instance.get("datasetId"))
    if index < 0:
        raise ResourceNotFound(_missing(iri, instance.get("datasetId")))
    existing[index] = stamp_instance(instance, now, existing[index].get("createdAt"))
    entity["modifiedAt"] = now


def delete_attribute(entity: dict[str, Any], iri: str, dataset_id: str | None, delete_all: bool, now: str) -> None:
    """DELETE /entities/{id}/attrs/{attrId} (5.6.5): one instance, or all with deleteAll=true; or the scope."""
    if iri == "scope":
        if "scope" not in entity:
            raise ResourceNotFound("the entity has no scope")
        del entity["scope"]
        entity["modifiedAt"] = now
        return
    existing = entity.get(iri)
    if not existing:
        raise ResourceNotFound(_missing(iri, None))
    if delete_all:
        del entity[iri]
    else:
        index = _find(existing, dataset_id)
        if index < 0:
            raise ResourceNotFound(_missing(iri, dataset_id))
        del existing[index]
        if not existing:
            del entity[iri]
    entity["modifiedAt"] = now


def replace_entity(entity: dict[str, Any], replacement: dict[str, Any], now: str) -> None:
    """PUT /entities/{id} (5.6.18): all attributes replaced; id and createdAt stay."""
    created_at = entity["createdAt"]
    types = replacement.get("type") or entity["type"]
    for key in [key for key in entity if key not in ("id", "createdAt")]:
        del entity[key]
    entity["type"] = list(types)
    scope = replacement.get("scope")
    if scope not in (None, NGSI_LD_NULL):
        entity["scope"] = list(scope) if isinstance(scope, list) else scope
    _set_expiry(entity, replacement)  # without one, the entity no longer expires
    # Stamped copies: `replacement` is left as it was (a batch item's change may run again).
    for iri, instances in _attributes(replacement):
        entity[iri] = [stamped_copy(instance, now) for instance in instances]
    entity["createdAt"] = created_at
    entity["modifiedAt"] = now


def _missing(iri: str, dataset_id: Any) -> str:
    where = f" with datasetId {dataset_id}" if dataset_id else ""
    return f"attribute {iri}{where} not found"


def _typed(instance: Instance, name: str) -> Instance:
    """A new attribute given without a type: its value member tells which (value -> Property)."""
    if "type" in instance:
        return instance
    member = next((m for m in instance if m in VALUE_MEMBERS), None)
    if member is None:
        raise BadRequestData(f"attribute {name} does not exist and the fragment gives only part of it")
    if member == "value":
        instance["type"] = "GeoProperty" if is_geometry(instance["value"]) else "Property"
    else:
        instance["type"] = _TYPE_OF_MEMBER[member]
    return instance


_TYPE_OF_MEMBER = {member: attr_type for attr_type, member in ATTRIBUTE_TYPES.items() if member != "value"}


def _merge_instance(current: Instance, patch: Instance, now: str, lang: str | None = None, name: str = "") -> Instance:
    """Merge-patch one attribute instance: members overwrite, sub-attributes merge recursively.

    A patch without a type keeps the attribute's type: its value goes to that type's member and must be
    what that member holds (a Relationship's object a URI, a GeoProperty's value a geometry, ...)."""
    if "type" in patch and patch["type"] != current["type"]:
        return stamp_instance(_drop_nulls(patch), now, current.get("createdAt"))
    if "type" not in patch:
        if "value" in patch:
            patch = _as_member_of(current, patch, lang)
        _check_members_of(current["type"], patch, name)
    merged = dict(current)
    for key, value in patch.items():
        if key in VALUE_MEMBERS:
            for member in VALUE_MEMBERS:
                merged.pop(member, None)
            merged[key] = value
        elif key in _INSTANCE_SCALAR_MEMBERS:
            if value == NGSI_LD_NULL:
                merged.pop(key, None)
            else:
                merged[key] = value
        elif key in ("type", "datasetId"):
            merged[key] = value
        elif isinstance(value, dict):
            if is_null(value):
                merged.pop(key, None)
            elif isinstance(current.get(key), dict):
                merged[key] = _merge_instance(current[key], value, now, lang, f"{name}.{key}")
            else:
                merged[key] = stamp_instance(_typed(_drop_nulls(value), key), now)
    merged["modifiedAt"] = now
    return merged


def _check_members_of(attr_type: str, patch: Instance, name: str) -> None:
    expected = ATTRIBUTE_TYPES.get(attr_type)
    for key, value in patch.items():
        if key in VALUE_MEMBERS and value != NGSI_LD_NULL:
            if key != expected:
                raise BadRequestData(f"attribute {name}: a {attr_type} has no {key!r} member")
            check_member_value(name, attr_type, key, value)


def _as_member_of(current: Instance, patch: Instance, lang: str | None) -> Instance:
    """A bare value merged into an existing attribute goes to that attribute's value member."""
    member = ATTRIBUTE_TYPES.get(current["type"], "value")
    patch = dict(patch)
    value = patch.pop("value")
    if current["type"] == "LanguageProperty" and isinstance(value, str):
        value = {**current.get("languageMap", {}), (lang or "@none"): value}
    elif current["type"] == "ListRelationship" and isinstance(value, list):
        value = [item if isinstance(item, dict) else {"object": item} for item in value]
    patch[member] = value
    return patch


def _drop_nulls(instance: Instance) -> Instance:
    return {
        key: _drop_nulls(value) if isinstance(value, dict) and is_sub_attribute_key(key) else value
        for key, value in instance.items()
        if value != NGSI_LD_NULL and not (isinstance(value, dict) and is_sub_attribute_key(key) and is_null(value))
    }


__all__ = [
    "UpdateResult",
    "now_iso",
    "new_entity",
    "created_entity",
    "stamped_copy",
    "stamp_instance",
    "is_attribute_key",
    "is_sub_attribute_key",
    "is_null",
    "append_attributes",
    "update_attributes",
    "merge_entity",
    "partial_update_attribute",
    "replace_attribute",
    "delete_attribute",
    "replace_entity",
    "ENTITY_CORE_MEMBERS",
]
