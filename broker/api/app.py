# SPDX-License-Identifier: EUPL-1.2
"""The FastAPI application: wiring only. Routes parse, call one core function, and compact.

Resources open in the lifespan and close in reverse order: the store, then the @context
resolver (its HTTP session). Three error handlers give every failure the ProblemDetails shape:
our NgsiLdError tree, Starlette's routing errors, and a last resort that logs the traceback and
answers InternalError without it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

import broker
from broker.api.entities import ENTITIES_PATH, entities_collection, entity_item
from broker.api.responses import problem_response
from broker.entities.service import EntityService
from broker.errors import (
    InternalError,
    InvalidRequest,
    MethodNotAllowed,
    NgsiLdError,
    ResourceNotFound,
)
from broker.ld import ContextResolver
from broker.settings import Settings
from broker.store import open_store

log = logging.getLogger("citycontext.broker")


def create_app(settings: Settings) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            store = await stack.enter_async_context(open_store(settings))
            resolver = await stack.enter_async_context(
                ContextResolver(
                    fetch_timeout_s=settings.context_fetch_timeout_s,
                    max_context_bytes=settings.max_context_bytes,
                    cache_size=settings.context_cache_size,
                )
            )
            app.state.store = store
            app.state.context_resolver = resolver
            app.state.entity_service = EntityService(store)
            log.info("broker ready on store %s", settings.store_safe_url)
            yield

    app = FastAPI(title="citycontext NGSI-LD broker", version=broker.__version__, lifespan=lifespan)
    app.state.settings = settings
    app.router.redirect_slashes = False
    app.add_route(ENTITIES_PATH, entities_collection, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    app.add_route(ENTITIES_PATH + "/{rest:path}", entity_item, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    app.add_exception_handler(NgsiLdError, _ngsi_ld_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected_error)
    return app


async def _ngsi_ld_error(request: Request, exc: NgsiLdError) -> Response:
    if exc.status >= 500:
        log.warning("%s %s: %s", request.method, request.url.path, exc.detail, exc_info=exc.__cause__)
    return problem_response(exc, headers=exc.headers)


async def _http_error(request: Request, exc: HTTPException) -> Response:
    if exc.status_code == 404:
        error: NgsiLdError = ResourceNotFound(f"no resource at {request.url.path}")
    elif exc.status_code == 405:
        error = MethodNotAllowed(f"{request.method} is not supported on {request.url.path}", headers=exc.headers)
    else:
        error = InvalidRequest(str(exc.detail))
    return problem_response(error, headers=error.headers)


async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
    return problem_response(InvalidRequest(f"invalid request: {exc.errors()}"))


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(InternalError("an unexpected error occurred; it has been logged"))


__all__ = ["create_app"]
