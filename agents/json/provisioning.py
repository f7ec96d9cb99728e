# SPDX-License-Identifier: EUPL-1.2
"""The FIWARE IoT Agent provisioning API (iotagent-node-lib), so that provisioning scripts and the FIWARE
tutorials work unchanged: /iot/services (service groups), /iot/devices, /iot/about.

fiware-service and fiware-servicepath select the service and subservice (missing: "" and "/";
servicepath `/*` lists every subservice). Bodies and answers are node-lib's: POST {"services": [...]}
or {"devices": [...]} -> 201; GET -> {"count", "services"|"devices"}; PUT/DELETE -> 204; errors
{"name": "DUPLICATE_GROUP"|"DUPLICATE_DEVICE_ID"|"DEVICE_NOT_FOUND"|"DEVICE_GROUP_NOT_FOUND"|
"WRONG_SYNTAX", "message": ...}. Unlike node-lib, a JEXL expression that does not parse is refused
here (400 WRONG_SYNTAX naming the attribute), not discovered on the first measure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import orjson
from aiohttp import web

import broker
from agents.common.expressions import ExpressionError, Expressions
from agents.json.measures import entity_id
from agents.json.registry import Duplicate, Registry
from agents.json.settings import JsonAgentSettings

DEFAULT_LIMIT = 20
MAX_LIMIT = 1000
_ATTRIBUTE_LISTS = ("attributes", "lazy", "commands", "static_attributes")


class ProvisioningError(Exception):
    def __init__(self, status: int, name: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.name = name
        self.message = message


class ProvisioningApi:
    def __init__(
        self, registry: Registry, settings: JsonAgentSettings, expressions: Expressions, changed: Callable[[], None]
    ) -> None:
        self._registry = registry
        self._settings = settings
        self._expressions = expressions
        self._changed = changed

    def add_routes(self, app: web.Application) -> None:
        app.middlewares.append(_errors)
        for path in ("/iot/services", "/iot/services/"):
            app.router.add_get(path, self.list_groups)
            app.router.add_post(path, self.create_groups)
            app.router.add_put(path, self.update_group)
            app.router.add_delete(path, self.delete_group)
        for path in ("/iot/devices", "/iot/devices/"):
            app.router.add_get(path, self.list_devices)
            app.router.add_post(path, self.create_devices)
        for path in ("/iot/devices/{device_id}", "/iot/devices/{device_id}/"):
            app.router.add_get(path, self.get_device)
            app.router.add_put(path, self.update_device)
            app.router.add_delete(path, self.delete_device)
        app.router.add_get("/iot/about", self.about)
        app.router.add_get("/version", self.about)

    # -- service groups --------------------------------------------------------------------------

    async def create_groups(self, request: web.Request) -> web.Response:
        service, subservice = _scope(request)
        body = await _body(request)
        items = body.get("services") if isinstance(body, dict) else None
        if not isinstance(items, list) or not items:
            raise ProvisioningError(400, "WRONG_SYNTAX", 'expected {"services": [ {...}, ... ]}')
        groups = [self._group(item, service, subservice) for item in items]
        try:
            await self._registry.create_groups(service, subservice, groups)
        except Duplicate as exc:
            raise ProvisioningError(409, "DUPLICATE_GROUP", "a service group with this apikey and resource exists") from exc
        self._changed()
        return web.Response(status=201)

    async def list_groups(self, request: web.Request) -> web.Response:
        service, subservice = _scope(request, listing=True)
        limit, offset = _paging(request)
        count, groups = await self._registry.list_groups(service, subservice, limit, offset)
        return _json({"count": count, "services": groups})

    async def update_group(self, request: web.Request) -> web.Response:
        service, subservice = _scope(request)
        apikey, resource = _group_key(request, self._settings)
        current = await self._registry.get_group(service, subservice, apikey, resource)
        if current is None:
            raise ProvisioningError(404, "DEVICE_GROUP_NOT_FOUND", f"no service group with apikey {apikey!r} and resource {resource!r}")
        changes = await _body(request)
        if not isinstance(changes, dict):
            raise ProvisioningError(400, "WRONG_SYNTAX", "expected a JSON object of the fields to change")
        group = self._group({**current, **changes}, service, subservice)
        try:
            await self._registry.replace_group(service, subservice, apikey, resource, group)
        except Duplicate as exc:
            raise ProvisioningError(409, "DUPLICATE_GROUP", "a service group with this apikey and resource exists") from exc
        self._changed()
        return web.Response(status=204)

    async def delete_group(self, request: web.Request) -> web.Response:
        service, subservice = _scope(request)
        apikey, resource = _group_key(request, self._settings)
        if not await self._registry.delete_group(service, subservice, apikey, resource):
            raise ProvisioningError(404, "DEVICE_GROUP_NOT_FOUND", f"no service group with apikey {apikey!r} and resource {resource!r}")
        self._changed()
        return web.Response(status=204)

    def _group(self, item: Any, service: str, subservice: str) -> dict[str, Any]:
        if not isinstance(item, dict):
            raise ProvisioningError(400, "WRONG_SYNTAX", "a service group must be a JSON object")
        apikey = item.get("apikey")
        if not isinstance(apikey, str) or not apikey or "/" in apikey or "+" in apikey or "#" in apikey:
            raise ProvisioningError(400, "WRONG_SYNTAX", "apikey: a non-empty string without /, + or # is required")
        group = {**item, "apikey": apikey, "resource": item.get("resource") or self._settings.default_resource}
        group["service"], group["subservice"] = service, subservice
        self._check_common(group, "service group")
        cbroker = group.get("cbroker")
        if cbroker is not None and (not isinstance(cbroker, str) or urlsplit(cbroker).scheme not in {"http", "https"}):
            raise ProvisioningError(400, "WRONG_SYNTAX", f"cbroker: expected http(s)://host:port, got {cbroker!r}")
        if "autoprovision" in group and not isinstance(group["autoprovision"], bool):
            raise ProvisioningError(400, "WRONG_SYNTAX", "autoprovision must be true or false")
        return group

    # -- devices ---------------------------------------------------------------------------------

    async def create_devices(self, request: web.Request) -> web.Response:
        service, subservice = _scope(request)
        body = await _body(request)
        items = body.get("devices") if isinstance(body, dict) else None
        if not isinstance(items, list) or not items:
            raise ProvisioningError(400, "WRONG_SYNTAX", 'expected {"devices": [ {...}, ... ]}')
        devices = [self._device(item, service, subservice) for item in items]
        try:
            await self._registry.create_devices(service, subservice, devices)
        except Duplicate as exc:
            raise ProvisioningError(409, "DUPLICATE_DEVICE_ID", "a device with this device_id exists in this service") from exc
        self._changed()
        return web.Response(status=201)

    async def list_devices(self, request: web.Request) -> web.Response:
        service, subservice = _scope(request, listing=True)
        limit, offset = _paging(request)
        count, devices = await self._registry.list_devices(service, subservice, limit, offset)
        return _json({"count": count, "devices": devices})

    async def get_device(self, request: web.Request) -> web.Response:
        service, subservice = _scope(request)
        device_id = request.match_info["device_id"]
        device = await self._registry.get_device(service, subservice, device_id)
        if device is None:
            raise ProvisioningError(404, "DEVICE_NOT_FOUND", f"no device {device_id!r} in this service")
        return _json(device)

    async def update_device(self, request: web.Request) -> web.Response:
        service, subservice = _scope(request)
        device_id = request.match_info["device_id"]
        current = await self._registry.get_device(service, subservice, device_id)
        if current is None:
            raise ProvisioningError(404, "DEVICE_NOT_FOUND", f"no device {device_id!r} in this service")
        changes = await _body(request)
        if not isinstance(changes, dict):
            raise ProvisioningError(400, "WRONG_SYNTAX", "expected a JSON object of the fields to change")
        if changes.get("device_id", device_id) != device_id:
            raise ProvisioningError(400, "WRONG_SYNTAX", "device_id cannot be changed")
        merged = {**current, **changes}
        if "entity_type" in changes and "entity_name" not in changes and current.get("entity_name") == entity_id(
            {"device_id": device_id}, current.get("entity_type") or ""
        ):
            merged.pop("entity_name", None)  # the default name follows the new type
        await self._registry.replace_device(service, subservice, device_id, self._device(merged, service, subservice))
        self._changed()
        return web.Response(status=204)

    async def delete_device(self, request: web.Request) -> web.Response:
        service, subservice = _scope(request)
        device_id = request.match_info["device_id"]
        if not await self._registry.delete_device(service, subservice, device_id):
            raise ProvisioningError(404, "DEVICE_NOT_FOUND", f"no device {device_id!r} in this service")
        self._changed()
        return web.Response(status=204)

    def _device(self, item: Any, service: str, subservice: str) -> dict[str, Any]:
        if not isinstance(item, dict):
            raise ProvisioningError(400, "WRONG_SYNTAX", "a device must be a JSON object")
        device_id = item.get("device_id")
        if not isinstance(device_id, str) or not device_id or any(c in device_id for c in "/+#"):
            raise ProvisioningError(400, "WRONG_SYNTAX", "device_id: a non-empty string without /, + or # is required")
        device = {**item, "service": service, "service_path": subservice}
        self._check_common(device, f"device {device_id}")
        entity_type = device.get("entity_type")
        if entity_type is not None and (not isinstance(entity_type, str) or not entity_type):
            raise ProvisioningError(400, "WRONG_SYNTAX", f"device {device_id}: entity_type must be a string")
        if entity_type:
            device["entity_name"] = entity_id(device, entity_type)
        return device

    def _check_common(self, doc: dict[str, Any], what: str) -> None:
        for key in _ATTRIBUTE_LISTS:
            attributes = doc.get(key)
            if attributes is None:
                continue
            if not isinstance(attributes, list):
                raise ProvisioningError(400, "WRONG_SYNTAX", f"{what}: {key} must be a list")
            for n, attribute in enumerate(attributes):
                if not isinstance(attribute, dict) or not isinstance(attribute.get("name"), str) or not attribute["name"]:
                    raise ProvisioningError(400, "WRONG_SYNTAX", f"{what}: {key}[{n}] needs a name")
                if attribute.get("type") is not None and not isinstance(attribute["type"], str):
                    raise ProvisioningError(400, "WRONG_SYNTAX", f"{what}: {key}[{n}].type must be a string")
                expression = attribute.get("expression")
                if expression is not None:
                    try:
                        if not isinstance(expression, str):
                            raise ExpressionError("not a string")
                        self._expressions.check(expression)
                    except ExpressionError as exc:
                        raise ProvisioningError(
                            400, "WRONG_SYNTAX", f"{what}: {key}[{n}] ({attribute['name']}): expression {exc}"
                        ) from exc

    async def about(self, request: web.Request) -> web.Response:
        return _json({
            "libVersion": f"citycontext {broker.__version__}",
            "port": str(self._settings.north_port),
            "baseRoot": "/",
            "version": broker.__version__,
        })


@web.middleware
async def _errors(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        return await handler(request)  # type: ignore[no-any-return]
    except ProvisioningError as exc:
        return _json({"name": exc.name, "message": exc.message}, status=exc.status)


def _scope(request: web.Request, *, listing: bool = False) -> tuple[str, Any]:
    service = request.headers.get("fiware-service", "").strip()
    subservice = request.headers.get("fiware-servicepath", "").strip() or ("/*" if listing else "/")
    if not listing and subservice in {"/*", "/#"}:
        subservice = "/"
    if not subservice.startswith("/"):
        raise ProvisioningError(400, "WRONG_SYNTAX", "fiware-servicepath must start with /")
    return service, subservice


def _group_key(request: web.Request, settings: JsonAgentSettings) -> tuple[str, str]:
    apikey = request.query.get("apikey")
    if not apikey:
        raise ProvisioningError(400, "WRONG_SYNTAX", "the apikey query parameter is required")
    return apikey, request.query.get("resource") or settings.default_resource


def _paging(request: web.Request) -> tuple[int, int]:
    try:
        limit = int(request.query.get("limit", DEFAULT_LIMIT))
        offset = int(request.query.get("offset", 0))
    except ValueError as exc:
        raise ProvisioningError(400, "WRONG_SYNTAX", "limit and offset must be integers") from exc
    if limit < 0 or offset < 0:
        raise ProvisioningError(400, "WRONG_SYNTAX", "limit and offset must not be negative")
    return min(limit, MAX_LIMIT), offset


async def _body(request: web.Request) -> Any:
    raw = await request.read()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ProvisioningError(400, "WRONG_SYNTAX", f"the body is not JSON: {exc}") from exc


def _json(value: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(value), status=status, content_type="application/json")
