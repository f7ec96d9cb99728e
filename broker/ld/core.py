# SPDX-License-Identifier: EUPL-1.2
"""The NGSI-LD core @context documents, shipped as package data and never fetched.

ETSI publishes one core context per minor version of GS CIM 009. We ship v1.6 to v1.9 and the
unversioned URL's document; v1.3, v1.4 and v1.5 are recognised too but served by the v1.6 file,
the oldest we ship, whose terms are a superset of theirs for everything an entity uses.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

DEFAULT_CORE_CONTEXT_URL = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
DEFAULT_VOCAB = "https://uri.etsi.org/ngsi-ld/default-context/"

_URL_BASE = "uri.etsi.org/ngsi-ld/v1/"
_FILE_BY_PATH: dict[str, str] = {
    "ngsi-ld-core-context.jsonld": "ngsi-ld-core-context.jsonld",
    "ngsi-ld-core-context-v1.3.jsonld": "ngsi-ld-core-context-v1.6.jsonld",
    "ngsi-ld-core-context-v1.4.jsonld": "ngsi-ld-core-context-v1.6.jsonld",
    "ngsi-ld-core-context-v1.5.jsonld": "ngsi-ld-core-context-v1.6.jsonld",
    "ngsi-ld-core-context-v1.6.jsonld": "ngsi-ld-core-context-v1.6.jsonld",
    "ngsi-ld-core-context-v1.7.jsonld": "ngsi-ld-core-context-v1.7.jsonld",
    "ngsi-ld-core-context-v1.8.jsonld": "ngsi-ld-core-context-v1.8.jsonld",
    "ngsi-ld-core-context-v1.9.jsonld": "ngsi-ld-core-context-v1.9.jsonld",
}
CORE_CONTEXT_FILES: dict[str, str] = {
    scheme + _URL_BASE + path: file for scheme in ("https://", "http://") for path, file in _FILE_BY_PATH.items()
}


def is_core_context_url(url: str) -> bool:
    return url in CORE_CONTEXT_FILES


def core_context_document(url: str) -> dict[str, Any] | None:
    """The parsed core document for `url`, or None when `url` is not a core context URL.

    Callers must not mutate the returned document: it is shared.
    """
    file = CORE_CONTEXT_FILES.get(url)
    return None if file is None else _load_shipped(file)


@functools.cache
def _load_shipped(file: str) -> dict[str, Any]:
    text = (resources.files("broker.ld") / "contexts" / file).read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document
