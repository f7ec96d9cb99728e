# SPDX-License-Identifier: EUPL-1.2
"""pyld as the reference JSON-LD processor, offline: the core contexts come from the package."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from pyld import jsonld  # type: ignore[import-untyped]

from broker.ld import ENTITY_MEMBERS, INSTANCE_MEMBERS, TermMap, core_context_document, core_term_map

DATA_INTEGRITY_V2 = "https://w3id.org/security/data-integrity/v2"

# The names an expanded instance carries for its core members, in pyld's output.
_CORE_MEMBER_IRIS = frozenset(core_term_map().expand_term(member) for member in INSTANCE_MEMBERS) | {"@type"}
_ENTITY_MEMBER_IRIS = frozenset(core_term_map().expand_term(member) for member in ENTITY_MEMBERS)

Path = tuple[str, ...]


def document_loader(url: str, options: Any = None) -> dict[str, Any]:
    if url == DATA_INTEGRITY_V2:
        text = (resources.files("broker.ld") / "contexts" / "w3id-security-data-integrity-v2.jsonld").read_text()
        document = json.loads(text)
    else:
        document = core_context_document(url)
    if document is None:
        raise AssertionError(f"the reference test tried to load {url}")
    return {"contextUrl": None, "documentUrl": url, "document": document}


_OPTIONS = {"documentLoader": document_loader}


def pyld_expand(entity: dict[str, Any], context: list[Any]) -> dict[str, Any]:
    [node] = jsonld.expand(dict(entity, **{"@context": context}), _OPTIONS)
    result: dict[str, Any] = node
    return result


def pyld_compact(expanded_node: dict[str, Any], context: list[Any]) -> dict[str, Any]:
    result: dict[str, Any] = jsonld.compact(expanded_node, context, _OPTIONS)
    return result


def pyld_expanded_names(node: dict[str, Any]) -> tuple[set[str], set[Path]]:
    """Entity types and attribute/sub-attribute paths in pyld's expanded output."""
    paths: set[Path] = set()
    for key, instances in node.items():
        if key not in _ENTITY_MEMBER_IRIS:
            _collect_expanded(instances, (key,), paths)
    return set(node.get("@type", [])), paths


def _collect_expanded(instances: list[dict[str, Any]], path: Path, paths: set[Path]) -> None:
    paths.add(path)
    for instance in instances:
        for key, value in instance.items():
            if key not in _CORE_MEMBER_IRIS:
                _collect_expanded(value, (*path, key), paths)


def pyld_compacted_names(document: dict[str, Any]) -> tuple[set[str], set[Path]]:
    """Entity types and attribute/sub-attribute paths in pyld's compacted output."""
    paths: set[Path] = set()
    for key, value in document.items():
        if key != "@context" and key not in ENTITY_MEMBERS:
            _collect_compacted(value, (key,), paths)
    types = document.get("type", [])
    return set(types if isinstance(types, list) else [types]), paths


def _collect_compacted(value: Any, path: Path, paths: set[Path]) -> None:
    paths.add(path)
    for instance in value if isinstance(value, list) else [value]:
        for key, item in instance.items():
            if key not in INSTANCE_MEMBERS:
                _collect_compacted(item, (*path, key), paths)


def our_expanded_names(expanded_entity: dict[str, Any]) -> tuple[set[str], set[Path]]:
    paths: set[Path] = set()
    for key, instances in expanded_entity.items():
        if key not in ENTITY_MEMBERS:
            _collect_ours(instances, (key,), paths)
    return set(expanded_entity["type"]), paths


def _collect_ours(instances: list[dict[str, Any]], path: Path, paths: set[Path]) -> None:
    paths.add(path)
    for instance in instances:
        for key, value in instance.items():
            if key not in INSTANCE_MEMBERS:
                _collect_ours([value], (*path, key), paths)


def our_compacted_names(term_map: TermMap, types: set[str], paths: set[Path]) -> tuple[set[str], set[Path]]:
    return {term_map.compact_type(iri) for iri in types}, {
        tuple(term_map.compact_iri(iri) for iri in path) for path in paths
    }
