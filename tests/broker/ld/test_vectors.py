# SPDX-License-Identifier: EUPL-1.2
"""Hand-written expansion and compaction cases (vectors/entities.json), checked against pyld too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from broker.ld import DEFAULT_CORE_CONTEXT_URL, compact_entity, compile_context, expand_entity
from tests.broker.ld.ld_reference import (
    our_compacted_names,
    our_expanded_names,
    pyld_compact,
    pyld_compacted_names,
    pyld_expand,
    pyld_expanded_names,
)

VECTORS: list[dict[str, Any]] = json.loads((Path(__file__).parent / "vectors" / "entities.json").read_text())
IDS = [vector["name"] for vector in VECTORS]


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_expansion_gives_the_expected_stored_entity(vector: dict[str, Any]) -> None:
    term_map = compile_context(vector["context"])
    assert expand_entity(vector["compacted"], term_map) == vector["expanded"]


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_compaction_gives_the_entity_back(vector: dict[str, Any]) -> None:
    term_map = compile_context(vector["context"])
    assert compact_entity(vector["expanded"], term_map) == vector["compacted"]


@pytest.mark.parametrize("vector", [v for v in VECTORS if v["pyld"]], ids=[v["name"] for v in VECTORS if v["pyld"]])
def test_names_agree_with_pyld(vector: dict[str, Any]) -> None:
    user_context = [] if vector["context"] is None else [vector["context"]]
    pyld_context = [*user_context, DEFAULT_CORE_CONTEXT_URL]
    term_map = compile_context(vector["context"])

    node = pyld_expand(vector["compacted"], pyld_context)
    ours = our_expanded_names(expand_entity(vector["compacted"], term_map))
    assert ours == pyld_expanded_names(node)
    assert our_compacted_names(term_map, *ours) == pyld_compacted_names(pyld_compact(node, pyld_context))
