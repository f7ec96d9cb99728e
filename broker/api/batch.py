# SPDX-License-Identifier: EUPL-1.2
"""POST /ngsi-ld/v1/entityOperations/{create,upsert,update,delete,merge} (clause 6.14 to 6.17, 6.31).

201 with the ids created, 204 when all succeeded without creating, 207 with the spec's
BatchOperationResult {success, errors: [{entityId, error: ProblemDetails}]} when any item failed.
An empty array, a null item or a body that is not an array fails the whole request (400).
All items are written in one store transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from broker.api.call import Call, prepare, resolve_context
from broker.api.negotiation import JSON_LD
from broker.api.params import check_known, parse_options
from broker.api.responses import json_response, no_content
from broker.entities import batch, normalize
from broker.entities.operations import UpdateResult, now_iso
from broker.errors import BadRequestData, NgsiLdError, ResourceNotFound
from broker.ld import TermMap, expand_fragment
from broker.store.base import BatchChange, BatchOutcome, ExpandedEntity

BATCH_PATH = "/ngsi-ld/v1/entityOperations"
Builder = Callable[[Request, Call, Any, str, set[str]], Awaitable[tuple[str, BatchChange]]]


async def _term_map_of(request: Request, call: Call, item: dict[str, Any]) -> TermMap:
    """Clause 6.3.5 per item: with ld+json each entity carries its @context, with json none may."""
    if call.body_media_type == JSON_LD:
        if "@context" not in item:
            raise BadRequestData("with application/ld+json every entity must carry an @context member")
        return await resolve_context(request, call.tenant, item["@context"])
    if "@context" in item:
        raise BadRequestData("with application/json an entity must not carry @context; use the Link header")
    return call.term_map


async def _expanded_entity(request: Request, call: Call, item: Any, *, require_type: bool = True) -> ExpandedEntity:
    """The item parsed and expanded; the parse's errors come first, then the @context's, then the expansion's."""
    if call.body_media_type != JSON_LD and not (isinstance(item, dict) and "@context" in item):
        # The Link header's context, already resolved (most batches): parse and expand in one walk.
        return normalize.parse_expanded_entity(item, call.term_map, require_type=require_type)
    entity = normalize.parse_entity(item, require_type=require_type)
    return expand_fragment(entity, await _term_map_of(request, call, item))


async def _create(request: Request, call: Call, item: Any, now: str, options: set[str]) -> tuple[str, BatchChange]:
    expanded = await _expanded_entity(request, call, item)
    return expanded["id"], batch.create(expanded, now)


async def _upsert(request: Request, call: Call, item: Any, now: str, options: set[str]) -> tuple[str, BatchChange]:
    expanded = await _expanded_entity(request, call, item)
    return expanded["id"], batch.upsert(expanded, now, replace="update" not in options)


async def _update(request: Request, call: Call, item: Any, now: str, options: set[str]) -> tuple[str, BatchChange]:
    expanded = await _expanded_entity(request, call, item, require_type=False)
    return expanded["id"], batch.update(expanded, now, no_overwrite="noOverwrite" in options)


async def _merge(request: Request, call: Call, item: Any, now: str, options: set[str]) -> tuple[str, BatchChange]:
    if not isinstance(item, dict) or "id" not in item:
        raise BadRequestData("each entity of a batch merge needs an id")
    entity_id = normalize.check_entity_id(item["id"])
    fragment = normalize.parse_fragment(item, allow_null=True, entity_id=entity_id, partial=True)
    expanded = expand_fragment({"id": entity_id, **fragment}, await _term_map_of(request, call, item))
    return entity_id, batch.merge(expanded, now)


async def _delete(request: Request, call: Call, item: Any, now: str, options: set[str]) -> tuple[str, BatchChange]:
    entity_id = normalize.check_entity_id(item, "each item of a batch delete")
    return entity_id, batch.delete(entity_id)


# operation -> (builder, allowed options, creates entities)
_OPERATIONS: dict[str, tuple[Builder, set[str], bool]] = {
    "create": (_create, set(), True),
    "upsert": (_upsert, {"replace", "update"}, True),
    "update": (_update, {"noOverwrite"}, False),
    "merge": (_merge, set(), False),
    "delete": (_delete, set(), False),
}


async def batch_operation(request: Request) -> Response:
    operation = request.path_params["operation"]
    if operation not in _OPERATIONS:
        raise ResourceNotFound(f"no batch operation {operation!r}; use one of {', '.join(_OPERATIONS)}")
    builder, allowed_options, creates = _OPERATIONS[operation]
    check_known(request.query_params, {"options", "local"} if allowed_options else {"local"})
    options = parse_options(request.query_params.get("options"), allowed_options)
    if options >= {"replace", "update"}:
        raise BadRequestData("options=replace and options=update exclude each other")
    call = await prepare(request, body=True, batch=True, creates=creates)
    items = call.body
    if not isinstance(items, list) or not items:
        raise BadRequestData("the body of a batch operation must be a non-empty JSON array")
    if any(item is None for item in items):
        raise BadRequestData("a batch operation cannot contain null items")
    limit = request.app.state.settings.max_batch_size
    if len(items) > limit:
        raise BadRequestData(f"the batch has {len(items)} items; the limit is {limit}")

    now = now_iso()
    errors: list[dict[str, Any]] = []
    changes: list[tuple[str, BatchChange]] = []
    for item in items:
        try:
            changes.append(await builder(request, call, item, now, options))
        except NgsiLdError as error:
            errors.append(_error(_item_id(item), error))
    outcomes = await request.app.state.entity_service.batch_modify(call.tenant, changes)
    success, created = _collect(outcomes, errors)
    if errors:
        return json_response({"success": success, "errors": errors}, status=207)
    if operation == "create" or (operation == "upsert" and created):
        return json_response(created, status=201)
    return no_content()


def _collect(outcomes: list[BatchOutcome], errors: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    success: list[str] = []
    created: list[str] = []
    for outcome in outcomes:
        if outcome.error is not None:
            errors.append(_error(outcome.entity_id, outcome.error))
        elif isinstance(outcome.result, UpdateResult) and not outcome.result.complete:
            names = ", ".join(name for name, _ in outcome.result.not_updated)
            errors.append(_error(outcome.entity_id, BadRequestData(f"attributes not overwritten (options=noOverwrite): {names}")))
        else:
            success.append(outcome.entity_id)
            if outcome.result == batch.CREATED:
                created.append(outcome.entity_id)
    return success, created


def _error(entity_id: str, error: NgsiLdError) -> dict[str, Any]:
    return {"entityId": entity_id, "error": {**error.problem_details(), "status": error.status}}


def _item_id(item: Any) -> str:
    if isinstance(item, str):
        return item
    if isinstance(item, dict) and isinstance(item.get("id"), str):
        return str(item["id"])
    return ""


__all__ = ["BATCH_PATH", "batch_operation"]
