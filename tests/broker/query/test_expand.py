# SPDX-License-Identifier: EUPL-1.2
"""Expansion of a parsed query with the request's @context (clause 5.5.7), as the stored entities were expanded."""

from __future__ import annotations

import pytest

from broker.errors import BadRequestData
from broker.ld import compile_context
from broker.query import (
    AttrPath,
    Comparison,
    Text,
    TypeName,
    Uri,
    ValueList,
    expand_query,
    parse_geo_query_params,
    parse_q,
    parse_scope_query,
    parse_type_selection,
)

SDM = "https://smartdatamodels.org/dataModel.Parking/"
TERM_MAP = compile_context(
    {
        "OffStreetParking": SDM + "OffStreetParking",
        "availableSpotNumber": SDM + "availableSpotNumber",
        "address": "https://smartdatamodels.org/address",
        "addressLocality": "https://schema.org/addressLocality",
        "accuracy": "https://example.org/accuracy",
        "public": SDM + "public",
        "broken": 'https://example.org/a"b',
    }
)
VOCAB = "https://uri.etsi.org/ngsi-ld/default-context/"


def test_attribute_sub_attribute_and_compound_names_become_iris_and_core_members_stay_short() -> None:
    node = expand_query(parse_q("availableSpotNumber.accuracy.observedAt>=2026-11-26T00:00:00Z"), TERM_MAP)
    assert isinstance(node, Comparison)
    assert node.path == AttrPath(SDM + "availableSpotNumber", ("https://example.org/accuracy", "observedAt"))
    node = expand_query(parse_q('address[addressLocality]=="Hamm"'), TERM_MAP)
    assert isinstance(node, Comparison)
    assert node.path == AttrPath(
        "https://smartdatamodels.org/address", (), ("https://schema.org/addressLocality",), ("addressLocality",)
    )


def test_string_literals_keep_their_vocab_expansion_beside_them() -> None:
    node = expand_query(parse_q('category=="public",other,urn:ngsi-ld:X:1'), TERM_MAP)
    assert isinstance(node, Comparison)
    assert node.value == ValueList(
        (Text("public", SDM + "public"), Text("other", VOCAB + "other"), Uri("urn:ngsi-ld:X:1", "urn:ngsi-ld:X:1"))
    )


def test_patterns_are_not_expanded() -> None:
    node = expand_query(parse_q('name~="public"'), TERM_MAP)
    assert isinstance(node, Comparison) and node.value == Text("public")


def test_compound_keys_that_are_keyword_aliases_keep_their_spelling() -> None:
    node = expand_query(parse_q('address[type]=="PostalAddress"'), TERM_MAP)
    assert isinstance(node, Comparison) and node.path.compound == ("type",)


def test_types_and_geoproperty_expand_and_scopes_do_not() -> None:
    assert expand_query(parse_type_selection("OffStreetParking"), TERM_MAP) == TypeName(SDM + "OffStreetParking")
    assert expand_query(parse_type_selection("*"), TERM_MAP) == TypeName("*")
    geo = parse_geo_query_params("within", "Point", "[7.8,51.6]")
    assert geo is not None
    assert expand_query(geo, TERM_MAP).geoproperty == "https://uri.etsi.org/ngsi-ld/location"
    scope = parse_scope_query("/Hamm/Mitte")
    assert expand_query(scope, TERM_MAP) == scope


def test_a_keyword_is_not_an_attribute() -> None:
    with pytest.raises(BadRequestData, match="keyword"):
        expand_query(parse_q('id=="urn:ngsi-ld:X:1"'), TERM_MAP)
    with pytest.raises(BadRequestData, match="keyword"):
        expand_query(parse_type_selection("type"), TERM_MAP)


def test_a_term_that_expands_to_no_iri_is_refused() -> None:
    with pytest.raises(BadRequestData, match="not an IRI"):
        expand_query(parse_q("broken==1"), TERM_MAP)
