# SPDX-License-Identifier: EUPL-1.2
"""An uplink -> the target entity fragment and the Device entity fragment.

The decoded fields come from the network server (decoded_payload, object) when it sent them, else
from the profile's decoder. Mapped fields become the attributes the profile names, with unitCode,
scale, JEXL expression and a type check; with explicit_attrs false, the other top-level fields pass
through under their own names (CayenneLPP fields get their unit code). Every attribute carries
observedAt = the network server's receipt time.

The Device entity (Smart Data Model Device) carries the radio side: rssi (dBm) and snr (dB) of the
gateway that heard the uplink best, gatewayId (every gateway), frameCounter, fPort, batteryLevel
(0..1), dateLastValueReported and controlledAsset (the target entity).
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
    property_,
    relationship,
    to_point,
    valid_attribute_name,
)
from agents.lorawan.decoders import CAYENNE_UNITS, get_decoder
from agents.lorawan.settings import (
    AttributeMapping,
    DeviceConfig,
    LorawanSettings,
    Profile,
)
from agents.lorawan.uplink import Uplink

Report = Callable[[Rejected], None]


class UplinkMapper:
    def __init__(self, settings: LorawanSettings, expressions: Expressions | None = None) -> None:
        self._settings = settings
        self._expressions = expressions or Expressions()
        self._devices = {key.lower(): device for key, device in settings.devices.items()}

    def map(self, uplink: Uplink, report: Report) -> tuple[str | None, list[dict[str, Any]]]:
        """(tenant, [target entity fragment, Device fragment]); Rejected for the whole uplink,
        `report` for a single attribute that is left out."""
        device, profile = self._profile(uplink)
        fields, decoded_by = self._decode(uplink, profile)
        observed_at = iso_utc(uplink.received_at)
        entity_type = (device.entity_type if device else None) or profile.entity_type
        entity_id = _entity_id((device.entity_id if device else None) or profile.entity_id, uplink, entity_type)
        entity: dict[str, Any] = {"id": entity_id, "type": entity_type}
        device_attrs: dict[str, Any] = {}
        consumed: set[str] = set()
        for path, mapping in profile.attributes.items():
            found, value = _lookup(fields, path)
            if not found:
                continue
            consumed.add(path.split(".", 1)[0])
            name = mapping.name or path.replace(".", "_")
            try:
                attribute = self._attribute(name, value, mapping, fields, observed_at, uplink)
            except Rejected as rejected:
                report(rejected)
                continue
            if attribute is not None:
                (device_attrs if mapping.target == "device" else entity)[name] = attribute
        if not profile.explicit_attrs:
            for key, value in fields.items():
                if key in consumed or value is None:
                    continue
                try:
                    entity[key] = _passthrough(key, value, observed_at, decoded_by, uplink.device_id)
                except Rejected as rejected:
                    report(rejected)
        for source in (profile.static_attributes, device.static_attributes if device else {}):
            for name, value in source.items():
                entity[name] = _static(value)
        tenant = (device.tenant if device else None) or profile.tenant or self._settings.tenant
        fragments = [entity] if len(entity) > 2 else []
        if self._settings.device_entities:
            fragments.append(self._device_entity(uplink, entity, device_attrs, observed_at))
        return tenant, fragments

    # -- profile and decoding ---------------------------------------------------------------------

    def _profile(self, uplink: Uplink) -> tuple[DeviceConfig | None, Profile]:
        device = None
        for key in (uplink.device_id, uplink.dev_eui, uplink.device_name):
            if key and key.lower() in self._devices:
                device = self._devices[key.lower()]
                break
        profiles = self._settings.profiles
        for name in (device.profile if device else None, uplink.profile, self._settings.default_profile):
            if name and name in profiles:
                return device, profiles[name]
        raise Rejected(
            "unknown_device",
            f"no device entry and no profile for {uplink.network} device (profile {uplink.profile!r})",
            uplink.device_id,
        )

    def _decode(self, uplink: Uplink, profile: Profile) -> tuple[dict[str, Any], str]:
        if uplink.decoded is not None:
            return uplink.decoded, "network server"
        if not profile.decoder:
            raise Rejected("no_decoder", "no decoded payload from the network server and no decoder in the profile", uplink.device_id)
        if not uplink.payload:
            raise Rejected("empty_payload", "the uplink carries no application payload", uplink.device_id)
        decoder = get_decoder(profile.decoder)
        if decoder is None:
            raise Rejected("unknown_decoder", f"no decoder named {profile.decoder!r}", uplink.device_id)
        try:
            fields = decoder(uplink.payload, uplink.f_port)
        except Exception as exc:
            raise Rejected("decoder_error", f"decoder {profile.decoder} failed: {type(exc).__name__}: {exc}", uplink.device_id) from exc
        if not isinstance(fields, Mapping):
            raise Rejected("decoder_error", f"decoder {profile.decoder} returned {type(fields).__name__}, not a mapping", uplink.device_id)
        return dict(fields), profile.decoder

    # -- attributes ---------------------------------------------------------------------------------

    def _attribute(
        self, name: str, value: Any, mapping: AttributeMapping, fields: Mapping[str, Any], observed_at: str, uplink: Uplink
    ) -> dict[str, Any] | None:
        if not valid_attribute_name(name):
            raise Rejected("bad_attribute_name", f"{name!r} is not a valid attribute name", uplink.device_id)
        if mapping.expression:
            context = {**fields, "value": value, "device_id": uplink.device_id, "f_port": uplink.f_port}
            try:
                value = self._expressions.evaluate(mapping.expression, context)
            except ExpressionError as exc:
                raise Rejected("expression_error", f"{name}: {exc}", uplink.device_id) from exc
            if value is None:
                return None
        if mapping.scale is not None:
            if not is_number(value):
                raise Rejected("wrong_type", f"{name}: {value!r} is not a number (scale {mapping.scale})", uplink.device_id)
            value = value * mapping.scale
        return _typed(name, value, mapping.type, mapping.unitCode, observed_at, uplink.device_id)

    def _device_entity(
        self, uplink: Uplink, entity: dict[str, Any], device_attrs: dict[str, Any], observed_at: str
    ) -> dict[str, Any]:
        fragment: dict[str, Any] = {
            "id": f"urn:ngsi-ld:Device:{uplink.device_id}",
            "type": "Device",
            "deviceCategory": property_(["sensor"], None),
            "controlledAsset": relationship(entity["id"]),
            "dateLastValueReported": property_(date_time(observed_at), None),
        }
        controlled = sorted(name for name in entity if name not in {"id", "type"})
        if controlled:
            fragment["controlledProperty"] = property_(controlled, None)
        if uplink.dev_eui:
            fragment["devEUI"] = property_(uplink.dev_eui, None)
        best = uplink.best_gateway
        if best is not None:
            if best.rssi is not None:
                fragment["rssi"] = property_(best.rssi, observed_at, "DBM")
            if best.snr is not None:
                fragment["snr"] = property_(best.snr, observed_at, "2N")
            fragment["gatewayId"] = property_([g.gateway_id for g in uplink.gateways if g.gateway_id], observed_at)
        if uplink.f_cnt is not None:
            fragment["frameCounter"] = property_(uplink.f_cnt, observed_at)
        if uplink.f_port is not None:
            fragment["fPort"] = property_(uplink.f_port, observed_at)
        if uplink.battery_percent is not None:
            fragment["batteryLevel"] = property_(round(uplink.battery_percent / 100, 4), observed_at)
        fragment.update(device_attrs)
        return fragment


def _typed(name: str, value: Any, kind: str, unit: str | None, observed_at: str, device_id: str) -> dict[str, Any]:
    def wrong(expected: str) -> Rejected:
        return Rejected("wrong_type", f"{name}: {value!r} is not {expected}", device_id)

    if kind == "GeoProperty" or (kind == "auto" and name in GEO_NAMES):
        try:
            return geo_property(to_point(value), observed_at)
        except (ValueError, TypeError) as exc:
            raise wrong("a location") from exc
    if kind == "Relationship":
        if not isinstance(value, str) or ":" not in value:
            raise wrong("an entity id (URI)")
        return relationship(value, observed_at)
    if kind == "Number" and not is_number(value):
        raise wrong("a number")
    if kind == "Integer":
        if not is_number(value) or float(value) != int(value):
            raise wrong("an integer")
        value = int(value)
    if kind == "Boolean":
        if isinstance(value, int) and not isinstance(value, bool) and value in (0, 1):
            value = bool(value)
        if not isinstance(value, bool):
            raise wrong("a boolean")
    if kind == "Text" and not isinstance(value, str):
        raise wrong("a text")
    if kind == "Object" and not isinstance(value, dict | list):
        raise wrong("an object")
    if kind == "DateTime":
        try:
            value = date_time(iso_utc(parse_time(value)))
        except ValueError as exc:
            raise wrong("a date-time") from exc
    if kind == "auto" and isinstance(value, float) and not is_number(value):
        raise wrong("a finite number")
    return property_(value, observed_at, unit)


def _passthrough(key: str, value: Any, observed_at: str, decoded_by: str, device_id: str) -> dict[str, Any]:
    if not valid_attribute_name(key):
        raise Rejected("bad_attribute_name", f"field {key!r} is not a valid attribute name", device_id)
    unit = CAYENNE_UNITS.get(key.rsplit("_", 1)[0]) if decoded_by == "cayennelpp" else None
    return _typed(key, value, "auto", unit, observed_at, device_id)


def _static(value: Any) -> dict[str, Any]:
    if isinstance(value, dict) and value.get("type") in {"Property", "Relationship", "GeoProperty", "LanguageProperty"}:
        return value
    return property_(value, None)


def _lookup(fields: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    if path in fields:
        return True, fields[path]
    node: Any = fields
    for part in path.split("."):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isascii() and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False, None
    return True, node


def _entity_id(template: str, uplink: Uplink, entity_type: str) -> str:
    values = {
        "device_id": uplink.device_id,
        "dev_eui": uplink.dev_eui or uplink.device_id,
        "device_name": uplink.device_name or uplink.device_id,
        "application": uplink.application,
        "entity_type": entity_type,
    }
    try:
        return template.format_map(values)
    except (KeyError, ValueError, IndexError) as exc:
        raise Rejected("config_error", f"entity_id template {template!r}: {exc}", uplink.device_id) from exc
