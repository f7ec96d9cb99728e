# SPDX-License-Identifier: EUPL-1.2
"""A device's measures -> an NGSI-LD entity fragment, the way iotagent-node-lib does it in NGSI-LD mode.

- Attributes (group's, then device's, the device winning per object_id) map object_id -> name/type;
  a measure without one passes through under its own name unless explicitAttrs is true.
- `expression` (JEXL) computes the value from the measures, the static attributes and id/type/service.
- FIWARE types become NGSI-LD: Number/Integer/Float/Boolean/Text/DateTime -> Property (values of the
  wrong type are refused, where FIWARE would write NaN or null), geo:point/geo:json/GeoProperty/Point...
  -> GeoProperty, Relationship -> Relationship; metadata unitCode -> unitCode, other metadata ->
  sub-properties.
- TimeInstant (a measure, or the `t` of an HTTP measure) is the observedAt of every attribute; without
  it, the agent's receipt time.
- static_attributes are added every time; fiware-servicepath (other than /) becomes the entity's scope.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from agents.common.expressions import ExpressionError, Expressions
from agents.common.ngsi import (
    GEO_NAMES,
    Rejected,
    date_time,
    geo_property,
    is_number,
    iso_utc,
    parse_time,
    relationship,
    to_point,
    valid_attribute_name,
)

Report = Callable[[Rejected], None]

GEO_TYPES = frozenset(
    {"geo:point", "geo:json", "geo:line", "geo:box", "geo:polygon", "GeoProperty", "Point", "LineString",
     "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon", "GeoJSON"}
)
NUMBER_TYPES = frozenset({"Number", "Float", "number", "float", "Double", "double"})
INTEGER_TYPES = frozenset({"Integer", "integer", "Int", "int"})
BOOLEAN_TYPES = frozenset({"Boolean", "boolean", "Bool", "bool"})
TIME_TYPES = frozenset({"DateTime", "Date", "Time", "ISO8601"})
TIME_INSTANT = "TimeInstant"


def entity_id(device: Mapping[str, Any], entity_type: str) -> str:
    """iotagent-node-lib (NGSI-LD): entity_name, made a URN when it is not one; default from type and id."""
    name = device.get("entity_name") or f"{entity_type}:{device['device_id']}"
    return name if name.startswith("urn:") or "://" in name else f"urn:ngsi-ld:{name}"


def build_fragment(
    group: Mapping[str, Any],
    device: Mapping[str, Any],
    measures: Mapping[str, Any],
    received_at_iso: str,
    expressions: Expressions,
    report: Report,
    *,
    default_entity_type: str,
    timestamp: str | None = None,
) -> dict[str, Any]:
    device_id = str(device["device_id"])
    entity_type = device.get("entity_type") or group.get("entity_type") or default_entity_type
    fragment: dict[str, Any] = {"id": entity_id(device, entity_type), "type": entity_type}
    observed_at = received_at_iso
    when = measures.get(TIME_INSTANT, timestamp)
    if when is not None:
        try:
            observed_at = iso_utc(parse_time(when))
        except ValueError:
            report(Rejected("wrong_type", f"{TIME_INSTANT} {when!r} is not an ISO 8601 time; using receipt time", device_id))

    mappings: dict[str, dict[str, Any]] = {}
    computed: list[dict[str, Any]] = []
    for source in (group.get("attributes") or [], device.get("attributes") or []):
        for attribute in source:
            if attribute.get("object_id"):
                mappings[attribute["object_id"]] = attribute
            elif attribute.get("expression"):
                computed.append(attribute)
                mappings.setdefault(attribute["name"], attribute)
            else:
                mappings[attribute["name"]] = attribute
    statics = [*(group.get("static_attributes") or []), *(device.get("static_attributes") or [])]
    context: dict[str, Any] = {
        **{s["name"]: s.get("value") for s in statics if "name" in s},
        "id": fragment["id"], "type": entity_type, "deviceId": device_id,
        "service": device.get("service", ""), "subservice": device.get("service_path", "/"),
    }
    context.update(measures)
    for object_id, value in measures.items():
        mapping = mappings.get(object_id)
        if mapping is not None and mapping.get("name"):
            context.setdefault(mapping["name"], value)

    explicit = device.get("explicitAttrs", group.get("explicitAttrs", False)) is True
    done: set[str] = set()
    for object_id, value in measures.items():
        if object_id == TIME_INSTANT:
            continue
        mapping = mappings.get(object_id)
        if mapping is None:
            if explicit:
                continue
            mapping = {"name": object_id, "type": "Property"}
        name = mapping.get("name") or object_id
        done.add(name)
        _add(fragment, name, mapping, value, context, observed_at, expressions, report, device_id)
    for mapping in computed:
        if mapping["name"] not in done:
            _add(fragment, mapping["name"], mapping, None, context, observed_at, expressions, report, device_id)

    for static in statics:
        if not isinstance(static, Mapping) or not static.get("name"):
            continue
        try:
            fragment[static["name"]] = convert(static["name"], static.get("type", "Property"), static.get("value"), static.get("metadata"), None)
        except ValueError as exc:
            report(Rejected("wrong_type", f"static attribute {static['name']}: {exc}", device_id))
    scope = device.get("service_path") or "/"
    if scope not in {"/", "/*", "/#"}:
        fragment["scope"] = scope
    return fragment


def _add(
    fragment: dict[str, Any], name: str, mapping: Mapping[str, Any], value: Any, context: Mapping[str, Any],
    observed_at: str, expressions: Expressions, report: Report, device_id: str,
) -> None:
    if not valid_attribute_name(name):
        report(Rejected("bad_attribute_name", f"{name!r} is not a valid attribute name", device_id))
        return
    expression = mapping.get("expression")
    if expression:
        try:
            value = expressions.evaluate(expression, context)
        except ExpressionError as exc:
            report(Rejected("expression_error", f"{name}: {exc}", device_id))
            return
    if value is None:
        return
    try:
        fragment[name] = convert(name, mapping.get("type") or "Property", value, mapping.get("metadata"), observed_at)
    except ValueError as exc:
        report(Rejected("wrong_type", f"{name}: {exc}", device_id))


def convert(name: str, fiware_type: str, value: Any, metadata: Any, observed_at: str | None) -> dict[str, Any]:
    """One FIWARE-typed value -> an NGSI-LD attribute; ValueError when the value is not of the type."""
    attribute: dict[str, Any]
    if fiware_type in GEO_TYPES or name in GEO_NAMES:
        try:
            attribute = geo_property(to_point(value))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{value!r} is not a location ({fiware_type})") from exc
    elif fiware_type == "Relationship":
        if not isinstance(value, str) or ":" not in value:
            raise ValueError(f"{value!r} is not an entity id (Relationship)")
        attribute = relationship(value)
    else:
        attribute = {"type": "Property", "value": _value(fiware_type, value)}
    if observed_at is not None:
        attribute["observedAt"] = observed_at
    if isinstance(metadata, Mapping):
        for key, meta in metadata.items():
            meta_value = meta.get("value") if isinstance(meta, Mapping) else meta
            if key == "unitCode" and isinstance(meta_value, str):
                attribute["unitCode"] = meta_value
            elif valid_attribute_name(key) and key not in {"observedAt", "unitCode"}:
                attribute[key] = {"type": "Property", "value": meta_value}
    return attribute


def _value(fiware_type: str, value: Any) -> Any:
    if fiware_type in NUMBER_TYPES:
        number = _to_number(value)
        if number is None:
            raise ValueError(f"{value!r} is not a number")
        return number
    if fiware_type in INTEGER_TYPES:
        number = _to_number(value)
        if number is None or float(number) != int(number):
            raise ValueError(f"{value!r} is not an integer")
        return int(number)
    if fiware_type in BOOLEAN_TYPES:
        if isinstance(value, bool):
            return value
        if value in (0, 1) or (isinstance(value, str) and value.lower() in {"true", "false", "0", "1"}):
            return str(value).lower() in {"true", "1"}
        raise ValueError(f"{value!r} is not a boolean")
    if fiware_type in TIME_TYPES:
        try:
            return date_time(iso_utc(parse_time(value)))
        except ValueError as exc:
            raise ValueError(f"{value!r} is not an ISO 8601 date-time") from exc
    if fiware_type in {"Text", "string", "String"} and isinstance(value, int | float | bool) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and not is_number(value):
        raise ValueError(f"{value!r} is not a finite number")
    return value


def _to_number(value: Any) -> int | float | None:
    if is_number(value):
        return value  # type: ignore[no-any-return]
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        if is_number(number):
            return int(number) if number.is_integer() and "." not in value and "e" not in value.lower() else number
    return None
