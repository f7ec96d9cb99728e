# SPDX-License-Identifier: EUPL-1.2
"""GET /open-data/{type}.csv | .geojson | .jsonl: the history of a type's entities as an open-data download.

Parameters: attrs (comma-separated attribute names), from and to (a day YYYY-MM-DD, inclusive, or
a DateTime, exclusive as an end), and the tenant header. Names are expanded with the request's
@context (Link header), the core context by default. The body is streamed as the store is read
(broker.temporal.open_data); the licence and attribution the operator configured open the file,
and a Link rel="license" header names the licence too.
"""

from __future__ import annotations

from urllib.parse import quote, unquote

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from broker.api.call import prepare
from broker.api.params import check_known, split_list
from broker.entities import normalize
from broker.errors import BadRequestData, MethodNotAllowed, ResourceNotFound
from broker.settings import Settings
from broker.temporal.open_data import FORMATS, MEDIA_TYPES, Export, Licence, export
from broker.temporal.times import parse_date_or_datetime

OPEN_DATA_PATH = "/open-data"


def licence_of(settings: Settings) -> Licence:
    return Licence(settings.open_data_licence, settings.open_data_licence_url, settings.open_data_attribution)


def content_disposition(filename: str) -> str:
    """An attachment's header (RFC 6266): the name in ASCII, and as UTF-8 in filename* (RFC 8187) when it
    is not ASCII; a header is Latin-1, so a type named in other letters must not go there as it is."""
    ascii_name = "".join(c if " " <= c < "\x7f" and c not in '"\\' else "_" for c in filename)
    if ascii_name == filename:
        return f'attachment; filename="{filename}"'
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def download(request: Request) -> Response:
    if request.method != "GET":
        raise MethodNotAllowed(f"{request.method} is not supported on {request.url.path}", headers={"Allow": "GET"})
    raw_path = request.scope.get("raw_path") or request.scope["path"].encode()
    name = unquote(raw_path.decode("latin-1").split("?")[0][len(OPEN_DATA_PATH) + 1 :].rstrip("/"))
    entity_type, _, fmt = name.rpartition(".")
    if not entity_type or fmt not in FORMATS:
        raise ResourceNotFound(f"no download at {request.url.path}; ask for /open-data/<type>.csv, .geojson or .jsonl")
    params = request.query_params
    check_known(params, {"attrs", "from", "to"})
    start = parse_date_or_datetime(params["from"], "from", end=False) if "from" in params else None
    end = parse_date_or_datetime(params["to"], "to", end=True) if "to" in params else None
    if start is not None and end is not None and end <= start:
        raise BadRequestData("to must be after from")
    call = await prepare(request, offered=(MEDIA_TYPES[fmt].split(";")[0],))
    tm = call.term_map
    attrs = split_list(params.get("attrs"), "attrs")
    what = Export(
        entity_type=tm.expand_type(normalize.check_name(entity_type, "entity type")),
        attributes=tuple(tm.expand_term(normalize.check_name(attr)) for attr in attrs) if attrs else None,
        start_ms=start,
        end_ms=end,
        geoproperty=tm.expand_term("location"),
    )
    settings = request.app.state.settings
    licence = licence_of(settings)
    headers = {"Content-Disposition": content_disposition(f"{entity_type}.{fmt}")}
    if licence.url:
        headers["Link"] = f'<{licence.url}>; rel="license"'
    body = export(request.app.state.store, call.tenant, what, fmt, tm, licence)
    return StreamingResponse(body, media_type=MEDIA_TYPES[fmt], headers=headers)


__all__ = ["OPEN_DATA_PATH", "download", "licence_of"]
