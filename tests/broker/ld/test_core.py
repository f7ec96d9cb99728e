# SPDX-License-Identifier: EUPL-1.2
"""Core context URLs are recognised and served from the package, never fetched."""

from __future__ import annotations

import pytest

from broker.ld import DEFAULT_CORE_CONTEXT_URL, DEFAULT_VOCAB, core_context_document, core_term_map, is_core_context_url

VERSIONED = [f"https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.{minor}.jsonld" for minor in range(3, 10)]
UNVERSIONED = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"
ALL_CORE_URLS = [*VERSIONED, UNVERSIONED]


def test_the_default_core_context_is_v1_8() -> None:
    assert DEFAULT_CORE_CONTEXT_URL == "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"


@pytest.mark.parametrize("url", ALL_CORE_URLS + [url.replace("https://", "http://") for url in ALL_CORE_URLS])
def test_every_core_url_is_served_from_the_package(url: str) -> None:
    assert is_core_context_url(url)
    document = core_context_document(url)
    assert document is not None and isinstance(document["@context"], dict)
    term_map = core_term_map(url)
    assert term_map.vocab == DEFAULT_VOCAB
    assert term_map.expand_term("Property") == "https://uri.etsi.org/ngsi-ld/Property"


@pytest.mark.parametrize("minor", [3, 4, 5])
def test_versions_before_1_6_are_served_by_the_v1_6_document(minor: int) -> None:
    assert core_context_document(VERSIONED[minor - 3]) == core_context_document(VERSIONED[3])


def test_each_shipped_version_has_its_own_document() -> None:
    documents = [core_context_document(url) for url in VERSIONED[3:]] + [core_context_document(UNVERSIONED)]
    assert all(a != b for i, a in enumerate(documents) for b in documents[i + 1 :])


@pytest.mark.parametrize(
    "url",
    [
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.2.jsonld",
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.10.jsonld",
        "https://example.org/ngsi-ld-core-context-v1.8.jsonld",
        "uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld",
    ],
)
def test_other_urls_are_not_core_contexts(url: str) -> None:
    assert not is_core_context_url(url)
    assert core_context_document(url) is None
