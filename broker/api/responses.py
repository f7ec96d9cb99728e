# SPDX-License-Identifier: EUPL-1.2
"""Responses: orjson bodies with exactly `application/json` or `application/ld+json` (no charset)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from broker.api.negotiation import JSON, JSON_LD, link_header
from broker.errors import NgsiLdError


def json_response(
    body: Any, *, status: int = 200, media_type: str = JSON, headers: dict[str, str] | None = None
) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=media_type, headers=headers)


def ld_response(body: Any, *, media_type: str, context: Any, context_url: str, status: int = 200) -> Response:
    """A body with compacted names: the @context goes in the body (ld+json) or the Link header."""
    if media_type == JSON_LD:
        if isinstance(body, dict):
            body = {**body, "@context": context}
        elif isinstance(body, list):
            body = [{**item, "@context": context} if isinstance(item, dict) else item for item in body]
        return json_response(body, status=status, media_type=JSON_LD)
    return json_response(body, status=status, media_type=media_type, headers={"Link": link_header(context_url)})


def problem_response(error: NgsiLdError, headers: dict[str, str] | None = None) -> Response:
    return json_response(error.problem_details(), status=error.status, headers=headers)


def no_content(headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=204, headers=headers)


__all__ = ["json_response", "ld_response", "problem_response", "no_content"]
