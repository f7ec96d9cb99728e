# SPDX-License-Identifier: EUPL-1.2
"""Parse and render entity type selections (clause 4.17) and scope queries, scopeQ (clause 4.19).

Type selection: `A`, `A,B` and `A|B` (any), `A;B` (all), with parentheses; `;` binds tighter, and
`*` selects every type (clause 6.4.3.2). Names are terms or absolute IRIs; expand.py expands them.

scopeQ follows the ABNF of clause 4.19: alternatives separated by `|` or `,`; an alternative is a
scope, optionally ending in `/#`, or a parenthesised conjunction `(/A;/B)`. A level may be `+`
(any one level); `/#` alone matches any non-empty scope. Parentheses do not nest and `;` needs them.
A scope in scopeQ starts with `/`, as the ABNF says (example 5 of clause 4.19 omits it, a slip); an
entity's scope may omit it (clause 4.18, v1.9), and matches either way.
"""

from __future__ import annotations

import re

from broker.errors import BadRequestData
from broker.query.ast import ALL_TYPES, ScopeAnd, ScopePattern, ScopeQuery, TypeAnd, TypeExpr, TypeName, TypeOr
from broker.query.syntax import Cursor

_NAME = r"[^\W\d_]\w*"
_TYPE_NAME_RE = re.compile(rf"\*|(?:{_NAME}:)?{_NAME}|[A-Za-z][A-Za-z0-9+.-]*:[^\s;|,()]+")
_TYPE_TOKEN_RE = re.compile(r"[^\s;|,()]+")
_SCOPE_LEVEL_RE = re.compile(r"\+|\w+")


def parse_type_selection(text: str) -> TypeExpr:
    if not isinstance(text, str) or not text.strip():
        raise BadRequestData("the entity type selection must be a non-empty string")
    cursor = Cursor("type selection", text)
    node = _parse_type_or(cursor, 0)
    cursor.skip_spaces()
    if not cursor.at_end():
        raise cursor.error("expected ',', '|', ';' or the end of the type selection")
    return node


def plain_type_names(types: TypeExpr) -> list[str] | None:
    """The names of a selection of plain types joined by ',' or '|', which a type index can answer;
    None for anything else (`;` conjunctions, nesting) and for "*" (any type)."""
    terms: tuple[TypeExpr, ...] = (types,) if isinstance(types, TypeName) else types.terms if isinstance(types, TypeOr) else ()
    names = [term.name for term in terms if isinstance(term, TypeName)]
    return names if names and len(names) == len(terms) and ALL_TYPES not in names else None


def render_type_selection(node: TypeExpr) -> str:
    if isinstance(node, TypeName):
        return node.name
    if isinstance(node, TypeOr):
        return "|".join(
            f"({render_type_selection(term)})" if isinstance(term, (TypeOr, TypeAnd)) else render_type_selection(term)
            for term in node.terms
        )
    return ";".join(
        f"({render_type_selection(term)})" if not isinstance(term, TypeName) else term.name for term in node.terms
    )


def parse_scope_query(text: str) -> ScopeQuery:
    if not isinstance(text, str) or not text.strip():
        raise BadRequestData("scopeQ must be a non-empty string")
    cursor = Cursor("scopeQ", text)
    alternatives: list[ScopePattern | ScopeAnd] = [_parse_scope_alternative(cursor)]
    while _next_in(cursor, "|,"):
        cursor.pos += 1
        alternatives.append(_parse_scope_alternative(cursor))
    cursor.skip_spaces()
    if cursor.peek() == ";":
        raise cursor.error("';' (and) needs parentheses in scopeQ, as in (/A;/B)")
    if not cursor.at_end():
        raise cursor.error("expected '|', ',' or the end of scopeQ")
    return ScopeQuery(tuple(alternatives))


def render_scope_query(query: ScopeQuery) -> str:
    return "|".join(
        f"({';'.join(_render_scope(pattern) for pattern in alternative.patterns)})"
        if isinstance(alternative, ScopeAnd)
        else _render_scope(alternative)
        for alternative in query.alternatives
    )


def _render_scope(pattern: ScopePattern) -> str:
    levels = "".join("/" + level for level in pattern.levels)
    return levels + "/#" if pattern.descendants else levels


# --- type selection ------------------------------------------------------------------------------


def _parse_type_or(cursor: Cursor, depth: int) -> TypeExpr:
    terms = [_parse_type_and(cursor, depth)]
    while _next_in(cursor, ",|"):
        cursor.pos += 1
        terms.append(_parse_type_and(cursor, depth))
    return terms[0] if len(terms) == 1 else TypeOr(tuple(terms))


def _parse_type_and(cursor: Cursor, depth: int) -> TypeExpr:
    terms = [_parse_type_primary(cursor, depth)]
    while _next_in(cursor, ";"):
        cursor.pos += 1
        terms.append(_parse_type_primary(cursor, depth))
    return terms[0] if len(terms) == 1 else TypeAnd(tuple(terms))


def _parse_type_primary(cursor: Cursor, depth: int) -> TypeExpr:
    cursor.skip_spaces()
    if cursor.peek() == "(":
        cursor.check_nesting(depth + 1)
        cursor.pos += 1
        node = _parse_type_or(cursor, depth + 1)
        if not _next_in(cursor, ")"):
            raise cursor.error("expected ')'")
        cursor.pos += 1
        return node
    cursor.count_term()
    match = _TYPE_TOKEN_RE.match(cursor.text, cursor.pos)
    if match is None:
        raise cursor.error("expected an entity type")
    if _TYPE_NAME_RE.fullmatch(match[0]) is None:
        raise cursor.error("invalid entity type name", cursor.pos, match[0])
    cursor.pos = match.end()
    return TypeName(match[0])


# --- scopeQ --------------------------------------------------------------------------------------


def _parse_scope_alternative(cursor: Cursor) -> ScopePattern | ScopeAnd:
    cursor.skip_spaces()
    if cursor.peek() != "(":
        return _parse_scope(cursor)
    cursor.check_nesting(1)
    cursor.pos += 1
    patterns = [_parse_scope(cursor)]
    while _next_in(cursor, ";"):
        cursor.pos += 1
        patterns.append(_parse_scope(cursor))
    cursor.skip_spaces()
    if cursor.peek() == "(":
        raise cursor.error("parentheses do not nest in scopeQ")
    if cursor.peek() != ")":
        raise cursor.error("expected ';' or ')'")
    cursor.pos += 1
    return ScopeAnd(tuple(patterns))


def _parse_scope(cursor: Cursor) -> ScopePattern:
    cursor.skip_spaces()
    cursor.count_term()
    if cursor.peek() == "(":
        raise cursor.error("parentheses do not nest in scopeQ")
    if cursor.startswith("/#"):
        cursor.pos += 2
        return _scope_ends(cursor, ScopePattern((), descendants=True))
    levels: list[str] = []
    if cursor.peek() != "/":
        raise cursor.error("a scope in scopeQ starts with '/'")
    cursor.pos += 1
    while True:
        match = _SCOPE_LEVEL_RE.match(cursor.text, cursor.pos)
        if match is None:
            raise cursor.error("expected a scope level (letters, digits, '_') or '+'")
        levels.append(match[0])
        cursor.pos = match.end()
        if cursor.startswith("/#"):
            cursor.pos += 2
            return _scope_ends(cursor, ScopePattern(tuple(levels), descendants=True))
        if cursor.peek() != "/":
            return _scope_ends(cursor, ScopePattern(tuple(levels)))
        cursor.pos += 1


def _scope_ends(cursor: Cursor, pattern: ScopePattern) -> ScopePattern:
    cursor.skip_spaces()
    if not cursor.at_end() and cursor.peek() not in "|,;)":
        message = "'#' must end a scope" if cursor.peek() in "/#" else "unexpected character in a scope"
        raise cursor.error(message)
    return pattern


def _next_in(cursor: Cursor, chars: str) -> bool:
    cursor.skip_spaces()
    return not cursor.at_end() and cursor.peek() in chars
