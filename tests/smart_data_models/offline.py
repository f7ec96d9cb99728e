# SPDX-License-Identifier: EUPL-1.2
"""pyld with an offline document loader: NGSI-LD core contexts from broker.ld, everything else
from the shipped Smart Data Models files (refs.json). A URL that is not shipped fails the test."""

from __future__ import annotations

from typing import Any

from pyld import jsonld  # type: ignore[import-untyped]

from smart_data_models.catalog import document_for_url
from tests.broker.ld.ld_reference import document_loader as core_loader


def document_loader(url: str, options: Any = None) -> dict[str, Any]:
    try:
        document = document_for_url(url)
    except KeyError:
        return core_loader(url, options)
    return {"contextUrl": None, "documentUrl": url, "document": document}


def pyld_expand(document: dict[str, Any]) -> list[dict[str, Any]]:
    expanded: list[dict[str, Any]] = jsonld.expand(document, {"documentLoader": document_loader})
    return expanded
