# SPDX-License-Identifier: EUPL-1.2
"""HTTP content negotiation and @context discovery (ETSI GS CIM 009 clauses 6.3.4 to 6.3.6).

Pure functions of header values: which media type to answer with (Accept with q-values), whether
a request body's Content-Type is acceptable, and where the request's @context comes from (the
JSON-LD Link header for application/json, the body for application/ld+json).
"""

from __future__ import annotations

import re
from typing import Any

from broker.errors import BadRequestData, NotAcceptable, UnsupportedMediaType

JSON = "application/json"
JSON_LD = "application/ld+json"
GEO_JSON = "application/geo+json"
MERGE_PATCH = "application/merge-patch+json"
JSON_LD_CONTEXT_REL = "http://www.w3.org/ns/json-ld#context"

ENTITY_MEDIA_TYPES = (JSON, JSON_LD)
RETRIEVAL_MEDIA_TYPES = (JSON, JSON_LD, GEO_JSON)

_LINK = re.compile(r"\s*<([^>]*)>\s*((?:;\s*[^;,]+)*)")


def choose_media_type(accept: str | None, offered: tuple[str, ...] = ENTITY_MEDIA_TYPES) -> str:
    """The offered media type the client prefers, by q-value (RFC 9110 clause 12.5.1).

    The most specific media range that matches an offered type sets its q-value; among equal
    q-values the order of `offered` decides, which is the spec's order json, ld+json, geo+json
    (clause 6.3.4). No match: 406.
    """
    if accept is None or not accept.strip():
        return offered[0]
    ranges = _parse_accept(accept)
    best: tuple[float, int, int] | None = None
    chosen: str | None = None
    for media_type in offered:
        main = media_type.split("/")[0]
        match: tuple[float, int, int] | None = None
        for position, (media_range, quality) in enumerate(ranges):
            if media_range == media_type:
                specificity = 2
            elif media_range == f"{main}/*":
                specificity = 1
            elif media_range == "*/*":
                specificity = 0
            else:
                continue
            if match is None or specificity > match[1]:
                match = (quality, specificity, -position)
        if match is None or match[0] <= 0:
            continue
        if best is None or match[0] > best[0]:
            best, chosen = match, media_type
    if chosen is None:
        raise NotAcceptable(f"none of {', '.join(offered)} is acceptable to Accept: {accept}")
    return chosen


def _parse_accept(accept: str) -> list[tuple[str, float]]:
    ranges: list[tuple[str, float]] = []
    for part in accept.split(","):
        pieces = [piece.strip() for piece in part.split(";")]
        if not pieces[0]:
            continue
        quality = 1.0
        for param in pieces[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranges.append((pieces[0].lower(), quality))
    return ranges


def body_media_type(content_type: str | None, allowed: tuple[str, ...] = ENTITY_MEDIA_TYPES) -> str:
    """The media type of a request body; 415 when it is missing or not one we take."""
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type not in allowed:
        shown = media_type or "none"
        raise UnsupportedMediaType(f"Content-Type {shown} is not supported here; use {' or '.join(allowed)}")
    return media_type


def context_from_link_headers(values: list[str]) -> str | None:
    """The @context URL of the JSON-LD Link header, if any; two of them are BadRequestData."""
    found: list[str] = []
    for value in values:
        for url, params in _split_links(value):
            rel = None
            for param in params.split(";"):
                name, _, param_value = param.strip().partition("=")
                if name.strip().lower() == "rel":
                    rel = param_value.strip().strip('"')
            if rel == JSON_LD_CONTEXT_REL:
                found.append(url)
    if len(found) > 1:
        raise BadRequestData("more than one JSON-LD context Link header")
    if found and not re.match(r"^https?://", found[0]):
        raise BadRequestData(f"the JSON-LD Link header must name an http(s) URL, got {found[0]!r}")
    return found[0] if found else None


def _split_links(value: str) -> list[tuple[str, str]]:
    links: list[tuple[str, str]] = []
    position = 0
    value = value.strip()
    while position < len(value):
        match = _LINK.match(value, position)
        if match is None:
            raise BadRequestData(f"malformed Link header: {value!r}")
        links.append((match.group(1).strip(), match.group(2)))
        position = match.end()
        rest = value[position:].lstrip()
        if rest.startswith(","):
            position = len(value) - len(rest) + 1
        elif rest:
            raise BadRequestData(f"malformed Link header: {value!r}")
        else:
            break
    return links


def request_context(media_type: str, link_context: str | None, body: Any) -> Any:
    """Clause 6.3.5: @context from the Link header (application/json) or from the body (ld+json)."""
    if media_type == JSON_LD:
        if link_context is not None:
            raise BadRequestData("with application/ld+json the @context goes in the body, not in a Link header")
        if not isinstance(body, dict) or "@context" not in body:
            raise BadRequestData("an application/ld+json body must carry an @context member")
        return body["@context"]
    if isinstance(body, dict) and "@context" in body:
        raise BadRequestData("an application/json body must not carry @context; use the JSON-LD Link header")
    return link_context


def link_header(context_url: str) -> str:
    return f'<{context_url}>; rel="{JSON_LD_CONTEXT_REL}"; type="{JSON_LD}"'


__all__ = [
    "JSON",
    "JSON_LD",
    "GEO_JSON",
    "MERGE_PATCH",
    "ENTITY_MEDIA_TYPES",
    "RETRIEVAL_MEDIA_TYPES",
    "choose_media_type",
    "body_media_type",
    "context_from_link_headers",
    "request_context",
    "link_header",
]
