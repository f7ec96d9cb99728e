# SPDX-License-Identifier: EUPL-1.2
"""The ASGI application (Starlette): wiring only. Routes parse, call one core function, and compact.

Starlette, the toolkit FastAPI is built on, serves the routes directly: they are plain request ->
response functions (no dependency injection, no pydantic request models), and FastAPI's own layers
(body limit, telemetry, an exit stack per request) cost about a tenth of an entity GET (bench/RESULTS.md).

Resources open in the lifespan and close in reverse order: the store, then the @context
resolver (its HTTP session). Three error handlers give every failure the ProblemDetails shape:
our NgsiLdError tree, Starlette's routing errors, and a last resort that logs the traceback and
answers InternalError without it. Every path also answers with a trailing slash, as FIWARE IoT
agents send (POST /entityOperations/upsert/); a collection stays a collection.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from broker.api import (
    batch,
    contexts,
    discovery,
    entities,
    open_data,
    operations,
    query,
    registrations,
    subscriptions,
    temporal,
)
from broker.api.observability import Metrics, ObservabilityMiddleware
from broker.api.responses import problem_response
from broker.entities.expiry import entity_expiry
from broker.entities.operations import now_iso
from broker.entities.service import EntityService
from broker.errors import (
    InternalError,
    InvalidRequest,
    LengthRequired,
    MethodNotAllowed,
    NgsiLdError,
    ResourceNotFound,
    UnsupportedMediaType,
)
from broker.jsonld_contexts import ContextRegistry
from broker.ld import ContextResolver
from broker.settings import Settings
from broker.store import open_store
from broker.subscriptions import SubscriptionService
from smart_data_models import WriteValidation
from broker.temporal.retention import history_maintenance

log = logging.getLogger("citycontext.broker")
ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
V1 = "/ngsi-ld/v1"

ROUTES: list[tuple[str, Any]] = [
    (entities.ENTITIES_PATH, entities.entities_collection),
    (entities.ENTITIES_PATH + "/{rest:path}", entities.entity_item),
    (query.QUERY_PATH, query.query_entities_post),
    (batch.BATCH_PATH + "/{operation}", batch.batch_operation),
    (V1 + "/types", discovery.types),
    (V1 + "/types/{name:path}", discovery.entity_type),
    (V1 + "/attributes", discovery.attributes),
    (V1 + "/attributes/{name:path}", discovery.attribute),
    (contexts.CONTEXTS_PATH, contexts.contexts_collection),
    (contexts.CONTEXTS_PATH + "/{context_id:path}", contexts.context_item),
    (registrations.REGISTRATIONS_PATH, registrations.registrations_collection),
    (registrations.REGISTRATIONS_PATH + "/{reg_id:path}", registrations.registration_item),
    (subscriptions.SUBSCRIPTIONS_PATH, subscriptions.subscriptions_collection),
    (subscriptions.SUBSCRIPTIONS_PATH + "/{subscription_id:path}", subscriptions.subscription_item),
    (temporal.TEMPORAL_PATH, temporal.temporal_collection),
    (temporal.TEMPORAL_PATH + "/{rest:path}", temporal.temporal_item),
    (temporal.TEMPORAL_QUERY_PATH, temporal.query_post),
    (open_data.OPEN_DATA_PATH + "/{name:path}", open_data.download),
]
READ_ONLY_ROUTES: list[tuple[str, Any]] = [
    ("/health", operations.health),
    ("/ready", operations.ready),
    ("/version", operations.version),
    ("/metrics", operations.metrics),
]


def create_app(settings: Settings) -> Starlette:
    metrics = Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            store = await stack.enter_async_context(open_store(settings, observe=metrics.observe_store))
            resolver = await stack.enter_async_context(
                ContextResolver(
                    fetch_timeout_s=settings.context_fetch_timeout_s,
                    max_context_bytes=settings.max_context_bytes,
                    cache_size=settings.context_cache_size,
                )
            )
            app.state.store = store
            app.state.context_resolver = resolver
            app.state.context_registry = ContextRegistry(resolver, store)
            subscription_service = await stack.enter_async_context(
                SubscriptionService(settings, store, app.state.context_registry, metrics_registry=metrics.registry)
            )
            app.state.subscriptions = subscription_service
            validation = WriteValidation.from_setting(settings.validate_types)
            app.state.entity_service = EntityService(
                store, [subscription_service.listener], validate=validation.check if validation else None
            )
            await stack.enter_async_context(history_maintenance(store, settings))
            await stack.enter_async_context(entity_expiry(app.state.entity_service, settings.expiry_interval_s))
            log.info("broker ready on store %s", settings.store_safe_url)
            yield

    routes: list[Route] = []
    for path, endpoint in ROUTES:
        routes.append(Route(path, endpoint, methods=ALL_METHODS))
        if not path.endswith(":path}"):
            routes.append(Route(path + "/", endpoint, methods=ALL_METHODS))
    routes.extend(Route(path, endpoint, methods=["GET"]) for path, endpoint in READ_ONLY_ROUTES)
    app = Starlette(
        routes=routes,
        middleware=[Middleware(ObservabilityMiddleware, metrics=metrics)],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.started = (now_iso(), time.monotonic())  # /version: startedAt and uptime
    app.router.redirect_slashes = False
    return app


async def _ngsi_ld_error(request: Request, exc: NgsiLdError) -> Response:
    if exc.status >= 500:
        log.warning("%s %s: %s", request.method, request.url.path, exc.detail, exc_info=exc.__cause__)
    if isinstance(exc, (UnsupportedMediaType, LengthRequired)):
        # Clause 6.3.4: "just a 415 (411) HTTP status code, without any payload body".
        return Response(status_code=exc.status, headers=exc.headers)
    return problem_response(exc, headers=exc.headers)


async def _http_error(request: Request, exc: HTTPException) -> Response:
    if exc.status_code == 404:
        error: NgsiLdError = ResourceNotFound(f"no resource at {request.url.path}")
    elif exc.status_code == 405:
        error = MethodNotAllowed(f"{request.method} is not supported on {request.url.path}", headers=dict(exc.headers or {}))
    else:
        error = InvalidRequest(str(exc.detail))
    return problem_response(error, headers=error.headers)


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(InternalError("an unexpected error occurred; it has been logged"))


# Starlette types each handler as taking any Exception; ours take the class they are registered for.
EXCEPTION_HANDLERS: dict[Any, Any] = {
    NgsiLdError: _ngsi_ld_error,
    HTTPException: _http_error,
    Exception: _unexpected_error,
}

__all__ = ["create_app"]
