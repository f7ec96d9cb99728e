# SPDX-License-Identifier: EUPL-1.2
"""A compiled @context: term -> IRI for expansion, IRI -> term for compaction.

Expansion follows JSON-LD 1.1 IRI expansion with vocab=true; compaction follows the IRI
compaction and term selection algorithms for the two kinds of values an NGSI-LD entity holds
under a name: attribute instances (node objects without @id) and entity types (no value). Both
were checked against pyld. The inverse lookups are computed once per context; per-name results
are memoised, with a bound because names come from clients.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TypeAlias

Term: TypeAlias = str
Iri: TypeAlias = str

_ABSOLUTE_IRI = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*|_):\S*$")  # an IRI with a scheme, or a blank node
_MEMO_LIMIT = 10_000
_MEMO_KEY_MAX = 256  # characters of a term or IRI kept in a memo

# Term selection order for a node object without @id (JSON-LD 1.1 IRI compaction, 4.9-4.11),
# and for an @type value, which is compacted with no value at all.
_PROPERTY_CONTAINERS = ("@id", "@id@set", "@type", "@set@type", "@set", "@none", "@index", "@index@set")
_TYPE_CONTAINERS = ("@set", "@none")


@dataclass(frozen=True, slots=True)
class TermDefinition:
    """One term of an active context, reduced to what NGSI-LD expansion and compaction use.

    `container` is the container mapping as JSON-LD's inverse context keys it: the values
    sorted and concatenated ("@none" when absent). `language_or_direction` marks a term with a
    language or direction mapping and no type mapping, which compaction never picks for a node.
    """

    iri: Iri
    type_mapping: str | None = None
    container: str = "@none"
    prefix: bool = False
    protected: bool = False
    reverse: bool = False
    language_or_direction: bool = False


def is_absolute_iri(value: str) -> bool:
    return _ABSOLUTE_IRI.match(value) is not None


class TermMap:
    """An effective request context. Build it with `broker.ld.context.compile_context`."""

    __slots__ = (
        "terms",
        "vocab",
        "core_url",
        "_core_terms",
        "_property_terms",
        "_type_terms",
        "_expanded",
        "_compacted",
        "_compacted_types",
    )

    def __init__(
        self, terms: Mapping[Term, TermDefinition], vocab: Iri, core_url: str, core_terms: frozenset[Term]
    ) -> None:
        self.terms: Mapping[Term, TermDefinition] = MappingProxyType(dict(terms))
        self.vocab = vocab
        self.core_url = core_url
        self._core_terms = core_terms
        self._property_terms = _select_terms(self.terms, core_terms, _PROPERTY_CONTAINERS)
        self._type_terms = _select_terms(self.terms, core_terms, _TYPE_CONTAINERS)
        self._expanded: dict[Term, Iri] = {}
        self._compacted: dict[Iri, Term] = {}
        self._compacted_types: dict[Iri, Term] = {}

    def __repr__(self) -> str:
        return f"TermMap(core_url={self.core_url!r}, vocab={self.vocab!r}, terms={len(self.terms)})"

    def is_core_term(self, term: Term) -> bool:
        return term in self._core_terms

    def definition(self, term: Term) -> TermDefinition | None:
        return self.terms.get(term)

    def type_mapping(self, term_or_iri: str) -> str | None:
        """The @type mapping ("@id", "@vocab", "@json" or an IRI) of a term, or of the term an IRI compacts to."""
        definition = self.terms.get(term_or_iri) or self.terms.get(self.compact_iri(term_or_iri))
        return None if definition is None else definition.type_mapping

    def expand_term(self, term: Term) -> Iri:
        """Attribute, sub-attribute and value-key names. Keyword aliases ("id", "type") give the keyword."""
        iri = self._expanded.get(term)
        if iri is None:
            iri = self._expand(term)
            _remember(self._expanded, term, iri)
        return iri

    # Entity types and @vocab-typed values expand exactly as names do (IRI expansion, vocab=true).
    expand_type = expand_term

    def compact_iri(self, iri: Iri) -> Term:
        """The name a JSON-LD compactor gives an attribute or sub-attribute IRI."""
        term = self._compacted.get(iri)
        if term is None:
            term = self._compact(iri, self._property_terms, for_type=False)
            _remember(self._compacted, iri, term)
        return term

    def compact_type(self, iri: Iri) -> Term:
        """The name a JSON-LD compactor gives an entity type IRI (or a @vocab-typed value)."""
        term = self._compacted_types.get(iri)
        if term is None:
            term = self._compact(iri, self._type_terms, for_type=True)
            _remember(self._compacted_types, iri, term)
        return term

    def _expand(self, term: Term) -> Iri:
        if term.startswith("@"):
            return term
        definition = self.terms.get(term)
        if definition is not None:
            return definition.iri
        colon = term.find(":")
        if colon > 0:
            prefix, suffix = term[:colon], term[colon + 1 :]
            if prefix == "_" or suffix.startswith("//"):
                return term
            prefix_definition = self.terms.get(prefix)
            if prefix_definition is not None and prefix_definition.prefix:
                return prefix_definition.iri + suffix
            if is_absolute_iri(term):
                return term
        return self.vocab + term

    def _compact(self, iri: Iri, selected: Mapping[Iri, Term], *, for_type: bool) -> Term:
        term = selected.get(iri)
        if term is not None:
            return term
        if iri.startswith(self.vocab) and iri != self.vocab:
            suffix = iri[len(self.vocab) :]
            if suffix not in self.terms:
                return suffix
        candidate: str | None = None
        for prefix, definition in self.terms.items():
            if ":" in prefix or definition.iri == iri or not iri.startswith(definition.iri) or not definition.iri:
                continue
            curie = prefix + ":" + iri[len(definition.iri) :]
            curie_definition = self.terms.get(curie)
            usable = (definition.prefix and curie_definition is None) or (
                for_type and curie_definition is not None and curie_definition.iri == iri
            )
            if usable and (candidate is None or (len(curie), curie) < (len(candidate), candidate)):
                candidate = curie
        # JSON-LD would reject an IRI that reads as a compact IRI of one of our prefixes; we keep it.
        return iri if candidate is None else candidate


def _select_terms(
    terms: Mapping[Term, TermDefinition], core_terms: frozenset[Term], containers: tuple[str, ...]
) -> dict[Iri, Term]:
    """For each IRI, the term JSON-LD term selection returns (preferred type/language values: @id, @none).

    One departure: a core term beats a user term for the same IRI, as the core context is protected;
    JSON-LD would pick the shorter one (a user alias "loc" for ngsi-ld:location).
    """
    best: dict[Iri, tuple[bool, int, int, int, Term]] = {}
    for term, definition in terms.items():
        if definition.reverse or definition.container not in containers:
            continue
        if definition.type_mapping == "@id":
            preference = 0
        elif definition.type_mapping in (None, "@none") and not (
            definition.type_mapping is None and definition.language_or_direction
        ):
            preference = 1
        else:
            continue
        rank = (term not in core_terms, containers.index(definition.container), preference, len(term), term)
        if definition.iri not in best or rank < best[definition.iri]:
            best[definition.iri] = rank
    return {iri: rank[-1] for iri, rank in best.items()}


def _remember(memo: dict[str, str], key: str, value: str) -> None:
    if len(key) > _MEMO_KEY_MAX:  # a client's megabyte-long name is expanded afresh, not kept
        return
    if len(memo) >= _MEMO_LIMIT:
        memo.clear()
    memo[key] = value
