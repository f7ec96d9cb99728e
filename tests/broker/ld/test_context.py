# SPDX-License-Identifier: EUPL-1.2
"""Context processing into a TermMap: definitions, the core context's precedence, errors, term selection."""

from __future__ import annotations

from typing import Any

import pytest

from broker.errors import BadRequestData, LdContextNotAvailable
from broker.ld import DEFAULT_CORE_CONTEXT_URL, DEFAULT_VOCAB, DocumentLoader, compile_context, core_term_map
from tests.broker.ld.ld_reference import pyld_compact

NGSI_LD = "https://uri.etsi.org/ngsi-ld/"
V16 = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.6.jsonld"
PROPERTY_INSTANCE = {"@type": [NGSI_LD + "Property"], NGSI_LD + "hasValue": [{"@value": 1}]}


def loader(documents: dict[str, Any]) -> DocumentLoader:
    def load(url: str) -> dict[str, Any]:
        if url not in documents:
            raise LdContextNotAvailable(url)
        document: dict[str, Any] = documents[url]
        return document

    return load


def test_no_context_is_the_default_core_context() -> None:
    term_map = compile_context(None)
    assert term_map.core_url == DEFAULT_CORE_CONTEXT_URL
    assert term_map.vocab == DEFAULT_VOCAB
    assert term_map.expand_term("location") == NGSI_LD + "location"
    assert term_map is core_term_map()


def test_compact_iris_resolve_against_prefixes_defined_later_in_the_same_context() -> None:
    term_map = compile_context({"speed": "ex:speed", "ex": "http://example.org/"})
    assert term_map.expand_term("speed") == "http://example.org/speed"
    assert term_map.expand_term("ex:level") == "http://example.org/level"


def test_a_term_without_id_expands_through_the_vocab() -> None:
    term_map = compile_context({"@vocab": "http://example.org/v#", "speed": {"@type": "@id"}})
    assert term_map.expand_term("speed") == "http://example.org/v#speed"
    assert term_map.type_mapping("speed") == "@id"
    assert term_map.type_mapping("http://example.org/v#speed") == "@id"


def test_a_term_without_id_and_no_user_vocab_takes_the_core_vocab() -> None:
    term_map = compile_context({"speed": {"@type": "@vocab"}})
    assert term_map.expand_term("speed") == DEFAULT_VOCAB + "speed"


def test_a_user_vocab_replaces_the_default_context() -> None:
    term_map = compile_context({"@vocab": "https://example.org/hamm#"})
    assert term_map.expand_term("colour") == "https://example.org/hamm#colour"
    assert term_map.compact_iri("https://example.org/hamm#colour") == "colour"
    # Stored under the default context by another client: JSON-LD compacts it with the core's prefix.
    assert term_map.compact_iri(DEFAULT_VOCAB + "colour") == "ngsi-ld:default-context/colour"


def test_user_definitions_of_core_terms_are_ignored_wherever_the_core_is() -> None:
    for context in ({"location": "http://x.org/l"}, [DEFAULT_CORE_CONTEXT_URL, {"location": "http://x.org/l"}]):
        term_map = compile_context(context)
        assert term_map.expand_term("location") == NGSI_LD + "location"
        assert term_map.is_core_term("location")


def test_a_core_url_in_the_user_context_chooses_the_core_context() -> None:
    term_map = compile_context([{"speed": "http://example.org/speed"}, V16])
    assert term_map.core_url == V16
    assert term_map.expand_term("speed") == "http://example.org/speed"
    assert "ContextSourceIdentity" not in term_map.terms  # a v1.8 term


def test_a_user_term_can_build_on_a_core_term_listed_before_it() -> None:
    term_map = compile_context([DEFAULT_CORE_CONTEXT_URL, {"speed": "ngsi-ld:speed"}])
    assert term_map.expand_term("speed") == NGSI_LD + "speed"


def test_a_null_definition_removes_the_term() -> None:
    term_map = compile_context([{"speed": "http://example.org/speed"}, {"speed": None}])
    assert term_map.expand_term("speed") == DEFAULT_VOCAB + "speed"


def test_import_merges_the_imported_context_under_the_local_one() -> None:
    documents = {
        "http://example.org/base.jsonld": {"@context": {"a": "http://example.org/a", "b": "http://example.org/b"}}
    }
    term_map = compile_context(
        {"@import": "http://example.org/base.jsonld", "b": "http://example.org/b2"}, loader(documents)
    )
    assert term_map.expand_term("a") == "http://example.org/a"
    assert term_map.expand_term("b") == "http://example.org/b2"


def test_remote_contexts_nest() -> None:
    documents = {
        "http://example.org/outer.jsonld": {"@context": ["http://example.org/inner.jsonld", {"b": "in:b"}]},
        "http://example.org/inner.jsonld": {"@context": {"in": "http://example.org/inner/"}},
    }
    term_map = compile_context("http://example.org/outer.jsonld", loader(documents))
    assert term_map.expand_term("b") == "http://example.org/inner/b"
    assert term_map.expand_term("in:c") == "http://example.org/inner/c"


def test_without_a_loader_a_remote_context_is_not_available() -> None:
    with pytest.raises(LdContextNotAvailable) as caught:
        compile_context(["http://example.org/ctx.jsonld"])
    assert caught.value.status == 504
    assert "http://example.org/ctx.jsonld" in caught.value.detail


@pytest.mark.parametrize(
    ("context", "documents", "detail"),
    [
        (5, {}, "must be a string, an object"),
        ([{"a": "http://x.org/a"}, True], {}, "not a boolean"),
        ({"a": 5}, {}, "'a'"),
        ({"a": {"@id": 5}}, {}, "@id must be a string"),
        ({"a": {"@id": "http://x.org/a", "@type": ["@id"]}}, {}, "@type must be a string"),
        ({"a": {"@id": "http://x.org/a", "@container": "@bag"}}, {}, "@container"),
        ({"a": {"@id": "http://x.org/a", "@colour": 1}}, {}, "@colour"),
        ({"a": "b", "b": "a"}, {}, "cyclic"),
        ({"@id": "http://x.org/a"}, {}, "keyword"),
        ({"@vocab": 5}, {}, "@vocab"),
        ({"@version": 1.0}, {}, "@version"),
        ("ftp://example.org/ctx.jsonld", {}, "http or https"),
        ("ctx.jsonld", {}, "http or https"),
        ("http://example.org/doc.jsonld", {"http://example.org/doc.jsonld": {"a": 1}}, "@context member"),
        ("http://example.org/doc.jsonld", {"http://example.org/doc.jsonld": [1]}, "@context member"),
        (
            "http://example.org/self.jsonld",
            {"http://example.org/self.jsonld": {"@context": "http://example.org/self.jsonld"}},
            "itself",
        ),
        ([{"a": {"@id": "http://x.org/a", "@protected": True}}, {"a": "http://x.org/other"}], {}, "protected"),
    ],
)
def test_invalid_contexts_are_bad_request_data(context: Any, documents: dict[str, Any], detail: str) -> None:
    with pytest.raises(BadRequestData) as caught:
        compile_context(context, loader(documents))
    assert detail in caught.value.detail


def test_remote_nesting_deeper_than_ten_documents_is_bad_request_data() -> None:
    documents = {
        f"http://example.org/{n}.jsonld": {"@context": f"http://example.org/{n + 1}.jsonld"} for n in range(20)
    }
    with pytest.raises(BadRequestData, match="deeper than 10"):
        compile_context("http://example.org/0.jsonld", loader(documents))


def test_deeply_nested_context_arrays_are_bad_request_data() -> None:
    context: Any = {"a": "http://example.org/a"}
    for _ in range(5000):
        context = [context]
    with pytest.raises(BadRequestData, match="nested deeper"):
        compile_context(context)


def test_expanding_a_term() -> None:
    term_map = compile_context({"ex": "http://example.org/", "speed": "http://example.org/speed"})
    assert term_map.expand_term("speed") == "http://example.org/speed"
    assert term_map.expand_term("ex:level") == "http://example.org/level"
    assert term_map.expand_term("ex://host/path") == "ex://host/path"
    assert term_map.expand_term("urn:ngsi-ld:attr") == "urn:ngsi-ld:attr"
    assert term_map.expand_term("https://example.com/a") == "https://example.com/a"
    assert term_map.expand_term("plain") == DEFAULT_VOCAB + "plain"
    assert term_map.expand_term("@context") == "@context"
    assert term_map.expand_term("type") == "@type"


# Term selection: each case is checked against pyld compacting an attribute instance (or a type) with that name.
SELECTION_CASES: list[tuple[dict[str, Any], str]] = [
    ({"speed": "http://example.org/speed", "sp": "http://example.org/speed"}, "http://example.org/speed"),
    ({"bb": "http://example.org/s", "aa": "http://example.org/s"}, "http://example.org/s"),
    ({"s": "http://example.org/s", "longer": {"@id": "http://example.org/s", "@type": "@id"}}, "http://example.org/s"),
    (
        {"s": "http://example.org/s", "longer": {"@id": "http://example.org/s", "@container": "@set"}},
        "http://example.org/s",
    ),
    ({"s": {"@id": "http://example.org/s", "@type": "@vocab"}}, "http://example.org/s"),
    ({"s": {"@id": "http://example.org/s", "@type": "@json"}}, "http://example.org/s"),
    ({"s": {"@id": "http://example.org/s", "@container": "@list"}}, "http://example.org/s"),
    ({"s": {"@id": "http://example.org/s", "@language": "de"}}, "http://example.org/s"),
    ({"s": {"@id": "http://example.org/s", "@type": "@none"}}, "http://example.org/s"),
    ({"s": {"@id": "http://example.org/s", "@container": "@index"}}, "http://example.org/s"),
    ({"ex": "http://example.org/"}, "http://example.org/speed"),
    ({"ex": "http://example.org/", "e": "http://example.org/sp"}, "http://example.org/speed"),
    ({"ex": {"@id": "http://example.org/"}}, "http://example.org/speed"),
    ({"ex": {"@id": "http://example.org/", "@prefix": True}}, "http://example.org/speed"),
    ({"speed": "http://example.org/other"}, DEFAULT_VOCAB + "speed"),
    ({}, DEFAULT_VOCAB + "speed"),
    ({}, "urn:ngsi-ld:attr:speed"),
]


@pytest.mark.parametrize(("context", "iri"), SELECTION_CASES)
def test_compact_iri_selects_the_term_pyld_selects(context: dict[str, Any], iri: str) -> None:
    pyld_context = [context, DEFAULT_CORE_CONTEXT_URL]
    term_map = compile_context(pyld_context)
    attribute = pyld_compact({iri: [PROPERTY_INSTANCE]}, pyld_context)
    typed = pyld_compact({"@id": "urn:x", "@type": [iri]}, pyld_context)
    [attribute_name] = attribute.keys() - {"@context"}
    assert term_map.compact_iri(iri) == attribute_name
    assert term_map.compact_type(iri) == typed["type"]


def test_compaction_prefers_core_terms_over_shorter_user_aliases() -> None:
    term_map = compile_context({"loc": NGSI_LD + "location"})
    assert term_map.compact_iri(NGSI_LD + "location") == "location"
    assert term_map.expand_term("loc") == NGSI_LD + "location"
