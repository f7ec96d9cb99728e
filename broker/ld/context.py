# SPDX-License-Identifier: EUPL-1.2
"""JSON-LD 1.1 context processing, reduced to what an NGSI-LD broker needs, into a TermMap.

Implements the term-definition part of the Context Processing algorithm (JSON-LD 1.1 API, 4.1
and 4.2) and the NGSI-LD rule that the core @context always applies last and cannot be
overridden (ETSI GS CIM 009 v1.9.1, clause 5.5.7). Fetching remote documents is left to
`context_cache.ContextResolver`; here a remote document comes from a synchronous loader.

Where we knowingly differ from a JSON-LD processor:
- the core context is moved to the end of the effective context, and a user definition of a core
  term is ignored rather than rejected as a protected-term redefinition;
- a user @vocab replaces the core's @vocab (JSON-LD would let the core's, processed last, win);
- a null term definition removes the term, so the name falls back to @vocab instead of being
  dropped, because silently dropping an attribute is worse than giving it a default IRI;
- a term with no @id while no @vocab is active takes the core's @vocab instead of being an error;
- @base, @language, @direction, @propagate, scoped contexts, @nest and @index carry no meaning here.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, TypeAlias
from urllib.parse import urlsplit

from broker.errors import BadRequestData, LdContextNotAvailable
from broker.ld.core import (
    DEFAULT_CORE_CONTEXT_URL,
    DEFAULT_VOCAB,
    core_context_document,
    is_core_context_url,
)
from broker.ld.term_map import TermDefinition, TermMap, is_absolute_iri

ContextValue: TypeAlias = str | dict[str, Any] | list[Any] | None
DocumentLoader: TypeAlias = Callable[[str], dict[str, Any]]

MAX_CONTEXT_DEPTH = 10

_KEYWORDS = frozenset(
    "@base @container @context @default @direction @embed @explicit @first @graph @id @import @included "
    "@index @json @language @list @nest @none @omitDefault @propagate @protected @preserve @requireAll "
    "@reverse @set @type @value @version @vocab".split()
)
_KEYWORD_FORM = re.compile(r"^@[a-zA-Z]+$")
_CONTEXT_MEMBERS = frozenset(
    ("@base", "@direction", "@import", "@language", "@propagate", "@protected", "@version", "@vocab")
)
_DEFINITION_MEMBERS = frozenset(
    (
        "@container",
        "@context",
        "@direction",
        "@id",
        "@index",
        "@language",
        "@nest",
        "@prefix",
        "@protected",
        "@reverse",
        "@type",
    )
)
_CONTAINERS = frozenset(("@graph", "@id", "@index", "@language", "@list", "@set", "@type"))
_GEN_DELIMS = tuple(":/?#[]@")


class RemoteContextNotLoaded(LdContextNotAvailable):
    """Raised by a loader that does not hold `url`; ContextResolver fetches it and compiles again."""

    def __init__(self, url: str) -> None:
        super().__init__(f"@context {url} is not available (not fetched)")
        self.url = url


def compile_context(context: ContextValue, load_document: DocumentLoader | None = None) -> TermMap:
    """The TermMap of a request whose @context member is `context` (None: the default core only).

    `load_document(url)` returns a remote context document (a JSON object with an @context
    member) or raises; without a loader, only core context URLs can be used.
    """
    if context is None:
        return core_term_map(DEFAULT_CORE_CONTEXT_URL)
    if isinstance(context, str) and is_core_context_url(context):
        return core_term_map(context)
    items = list(_flatten(context, load_document or _no_remote_documents, (), 0))
    core_url = next((item for item in items if isinstance(item, str)), DEFAULT_CORE_CONTEXT_URL)
    core = _compiled_core(core_url)
    state = _ActiveContext(fallback_vocab=core.vocab)
    for item in items:
        if isinstance(item, str):
            state.apply_core(_compiled_core(item))
        elif item is None:
            state.reset()
        else:
            _process_local_context(state, item)
    terms = {term: definition for term, definition in state.terms.items() if term not in core.terms}
    terms.update(core.terms)
    return TermMap(terms, state.user_vocab or core.vocab, core_url, frozenset(core.terms))


def core_term_map(core_url: str = DEFAULT_CORE_CONTEXT_URL) -> TermMap:
    """The TermMap of a core context alone; one shared instance per core URL."""
    return _core_term_map(core_url)


@functools.cache
def _core_term_map(core_url: str) -> TermMap:
    if not is_core_context_url(core_url):
        raise ValueError(f"{core_url} is not a core context URL")
    core = _compiled_core(core_url)
    return TermMap(core.terms, core.vocab, core_url, frozenset(core.terms))


def remote_context_urls(context: ContextValue, _nesting: int = 0) -> list[str]:
    """The non-core URLs `context` refers to directly (not those inside the documents they name)."""
    if isinstance(context, str):
        return [] if is_core_context_url(context) else [context]
    if isinstance(context, list) and _nesting < MAX_CONTEXT_DEPTH:  # deeper: compile_context rejects it
        return [url for item in context for url in remote_context_urls(item, _nesting + 1)]
    if isinstance(context, dict) and isinstance(context.get("@import"), str):
        return remote_context_urls(context["@import"])
    return []


def check_context_url(url: str) -> None:
    try:
        parts = urlsplit(url)
    except ValueError:  # such as an unclosed IPv6 bracket: http://[::1/c.jsonld
        raise BadRequestData(f"@context URL {url!r} is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BadRequestData(f"@context URL {url!r} is not an http or https URL")


def check_context_document(url: str, document: Any) -> dict[str, Any]:
    if not isinstance(document, dict) or "@context" not in document:
        raise BadRequestData(f"@context document at {url} is not a JSON object with an @context member")
    return document


@dataclass(frozen=True)
class _CompiledCore:
    terms: dict[str, TermDefinition]
    vocab: str


@functools.cache
def _compiled_core(core_url: str) -> _CompiledCore:
    document = core_context_document(core_url)
    assert document is not None, core_url
    state = _ActiveContext(fallback_vocab=DEFAULT_VOCAB)
    _process_local_context(state, document["@context"])
    # The core context is protected in v1.8+, and we treat the older ones the same way.
    terms = {term: replace(definition, protected=True) for term, definition in state.terms.items()}
    return _CompiledCore(terms, state.vocab or DEFAULT_VOCAB)


def _no_remote_documents(url: str) -> dict[str, Any]:
    raise RemoteContextNotLoaded(url)


_Item: TypeAlias = str | dict[str, Any] | None  # a core URL, a local context, or a reset


def _flatten(context: Any, load: DocumentLoader, stack: tuple[str, ...], nesting: int) -> Iterator[_Item]:
    """The local contexts `context` stands for, in order, with remote documents and @import inlined."""
    if context is None:
        yield None
    elif isinstance(context, list):
        if nesting >= MAX_CONTEXT_DEPTH:
            raise BadRequestData(f"@context arrays nested deeper than {MAX_CONTEXT_DEPTH} levels")
        for item in context:
            yield from _flatten(item, load, stack, nesting + 1)
    elif isinstance(context, str):
        if is_core_context_url(context):
            yield context
        else:
            yield from _flatten(_load_remote(context, load, stack)["@context"], load, (*stack, context), nesting)
    elif isinstance(context, dict):
        yield _inline_import(context, load, stack)
    else:
        raise BadRequestData(f"@context must be a string, an object, an array or null, not {_json_type(context)}")


def _load_remote(url: str, load: DocumentLoader, stack: tuple[str, ...]) -> dict[str, Any]:
    check_context_url(url)
    if url in stack:
        raise BadRequestData(f"@context {url} includes itself (recursive context inclusion)")
    if len(stack) >= MAX_CONTEXT_DEPTH:
        raise BadRequestData(f"@context nesting deeper than {MAX_CONTEXT_DEPTH} remote documents at {url}")
    return check_context_document(url, load(url))


def _inline_import(context: dict[str, Any], load: DocumentLoader, stack: tuple[str, ...]) -> dict[str, Any]:
    if "@import" not in context:
        return context
    url = context["@import"]
    if not isinstance(url, str):
        raise BadRequestData(f"@import must be a string, not {_json_type(url)}")
    document = core_context_document(url) if is_core_context_url(url) else _load_remote(url, load, stack)
    assert document is not None
    imported = document["@context"]
    if not isinstance(imported, dict):
        raise BadRequestData(f"@import {url}: its @context must be a single object")
    if "@import" in imported:
        raise BadRequestData(f"@import {url}: an imported context must not itself contain @import")
    merged = {**imported, **context}
    del merged["@import"]
    return merged


@dataclass
class _ActiveContext:
    fallback_vocab: str
    terms: dict[str, TermDefinition] = field(default_factory=dict)
    vocab: str | None = None
    user_vocab: str | None = None
    core_terms: frozenset[str] = frozenset()

    def apply_core(self, core: _CompiledCore) -> None:
        self.terms.update(core.terms)
        self.vocab = core.vocab
        self.core_terms |= core.terms.keys()

    def reset(self) -> None:
        if any(definition.protected for term, definition in self.terms.items() if term not in self.core_terms):
            raise BadRequestData("a null @context cannot clear protected term definitions")
        self.terms = {term: definition for term, definition in self.terms.items() if term in self.core_terms}
        self.vocab = None
        self.user_vocab = None


def _process_local_context(state: _ActiveContext, context: dict[str, Any]) -> None:
    if "@version" in context and context["@version"] != 1.1:
        raise BadRequestData(f"@context @version must be 1.1, not {context['@version']!r}")
    protected = context.get("@protected", False)
    if not isinstance(protected, bool):
        raise BadRequestData("@context @protected must be true or false")
    if "@vocab" in context:
        _set_vocab(state, context["@vocab"])
    defined: dict[str, bool] = {}
    for term in context:
        if term not in _CONTEXT_MEMBERS:
            _define_term(state, context, term, defined, protected)


def _set_vocab(state: _ActiveContext, vocab: Any) -> None:
    if vocab is None:
        state.vocab = state.user_vocab = None
        return
    if not isinstance(vocab, str):
        raise BadRequestData(f"@context @vocab must be a string or null, not {_json_type(vocab)}")
    iri = _expand_iri(state, vocab, None, {})
    if not is_absolute_iri(iri):
        raise BadRequestData(f"@context @vocab {vocab!r} is not an IRI")
    state.vocab = state.user_vocab = iri


def _define_term(
    state: _ActiveContext, context: dict[str, Any], term: str, defined: dict[str, bool], protected_default: bool
) -> None:
    """JSON-LD 1.1 Create Term Definition (4.2.2), keeping what TermDefinition holds."""
    if term in defined:
        if defined[term]:
            return
        raise BadRequestData(f"@context term {term!r} has a cyclic IRI mapping")
    defined[term] = False
    if term == "":
        raise BadRequestData("@context defines an empty term")
    if term == "@type":  # JSON-LD 1.1 only allows {"@container": "@set", "@protected": ...} here.
        defined[term] = True
        return
    if term in _KEYWORDS:
        raise BadRequestData(f"@context redefines the keyword {term}")
    if _KEYWORD_FORM.match(term) or term in state.core_terms:  # reserved, or a core term: ignored
        defined[term] = True
        return
    previous = state.terms.pop(term, None)
    definition = _new_definition(state, context, term, defined, protected_default)
    if previous is not None and previous.protected:
        # JSON-LD allows restating a protected term identically, and nothing else.
        if definition is None or replace(definition, protected=True) != previous:
            raise BadRequestData(f"@context redefines the protected term {term!r}")
        definition = previous
    if definition is not None:
        state.terms[term] = definition
    defined[term] = True


def _new_definition(
    state: _ActiveContext, context: dict[str, Any], term: str, defined: dict[str, bool], protected_default: bool
) -> TermDefinition | None:
    """The definition of `term` in `context`, or None when the definition removes the term."""
    value = context[term]
    if value is None:
        return None
    simple = isinstance(value, str)
    if simple:
        value = {"@id": value}
    elif not isinstance(value, dict):
        raise BadRequestData(
            f"@context term {term!r}: a definition must be a string, an object or null, not {_json_type(value)}"
        )
    unknown = value.keys() - _DEFINITION_MEMBERS
    if unknown:
        raise BadRequestData(f"@context term {term!r}: unexpected member {sorted(unknown)[0]!r} in its definition")

    prefix = False
    reverse = "@reverse" in value
    if reverse:
        iri = _expand_iri(state, _string(value["@reverse"], term, "@reverse"), context, defined)
    elif "@id" in value and value["@id"] != term:
        if value["@id"] is None:
            return None
        iri = _expand_iri(state, _string(value["@id"], term, "@id"), context, defined)
        prefix = simple and term.find(":") <= 0 and (iri.startswith("_:") or iri.endswith(_GEN_DELIMS))
    elif term.find(":") > 0:
        prefix_term, suffix = term.split(":", 1)
        if prefix_term in context:
            _define_term(state, context, prefix_term, defined, protected_default)
        prefix_definition = state.terms.get(prefix_term)
        iri = term if prefix_definition is None else prefix_definition.iri + suffix
    else:
        iri = (state.vocab or state.fallback_vocab) + term
    if iri in ("@context", "@preserve"):
        raise BadRequestData(f"@context term {term!r} aliases {iri}, which is not allowed")
    if not (iri in _KEYWORDS or is_absolute_iri(iri)):
        raise BadRequestData(f"@context term {term!r} does not map to an IRI")

    protected = value.get("@protected", protected_default)
    if not isinstance(protected, bool):
        raise BadRequestData(f"@context term {term!r}: @protected must be true or false")
    type_mapping = _type_mapping(state, context, term, value, defined)
    container = _container(term, value)
    if "@type" in container and type_mapping is None:
        type_mapping = "@id"
    if "@prefix" in value:
        if not isinstance(value["@prefix"], bool):
            raise BadRequestData(f"@context term {term!r}: @prefix must be true or false")
        if ":" in term or "/" in term or iri in _KEYWORDS:
            raise BadRequestData(f"@context term {term!r} cannot be a prefix")
        prefix = value["@prefix"]
    return TermDefinition(
        iri=iri,
        type_mapping=type_mapping,
        container="".join(sorted(container)) if container else "@none",
        prefix=prefix,
        protected=protected,
        reverse=reverse,
        language_or_direction=type_mapping is None and ("@language" in value or "@direction" in value),
    )


def _type_mapping(
    state: _ActiveContext, context: dict[str, Any], term: str, value: dict[str, Any], defined: dict[str, bool]
) -> str | None:
    if "@type" not in value:
        return None
    type_ = _string(value["@type"], term, "@type")
    if type_ in ("@id", "@vocab", "@json", "@none"):
        return type_
    iri = _expand_iri(state, type_, context, defined)
    if not is_absolute_iri(iri) or iri.startswith("_:"):
        raise BadRequestData(f"@context term {term!r}: @type {type_!r} is not an IRI, @id, @vocab, @json or @none")
    return iri


def _container(term: str, value: dict[str, Any]) -> list[str]:
    if "@container" not in value:
        return []
    container = value["@container"]
    containers = container if isinstance(container, list) else [container]
    if not containers or not all(isinstance(item, str) and item in _CONTAINERS for item in containers):
        raise BadRequestData(f"@context term {term!r}: invalid @container {container!r}")
    return containers


def _expand_iri(state: _ActiveContext, value: str, context: dict[str, Any] | None, defined: dict[str, bool]) -> str:
    """JSON-LD IRI expansion with vocab=true, defining terms of `context` it depends on first."""
    if value in _KEYWORDS or _KEYWORD_FORM.match(value):
        return value
    if context is not None and value in context and defined.get(value) is not True:
        _define_term(state, context, value, defined, bool(context.get("@protected", False)))
    definition = state.terms.get(value)
    if definition is not None:
        return definition.iri
    colon = value.find(":")
    if colon > 0:
        prefix, suffix = value[:colon], value[colon + 1 :]
        if prefix == "_" or suffix.startswith("//"):
            return value
        if context is not None and prefix in context and defined.get(prefix) is not True:
            _define_term(state, context, prefix, defined, bool(context.get("@protected", False)))
        prefix_definition = state.terms.get(prefix)
        if prefix_definition is not None and prefix_definition.prefix:
            return prefix_definition.iri + suffix
        if is_absolute_iri(value):
            return value
    return (state.vocab or state.fallback_vocab) + value


def _string(value: Any, term: str, member: str) -> str:
    if not isinstance(value, str):
        raise BadRequestData(f"@context term {term!r}: {member} must be a string, not {_json_type(value)}")
    return value


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
