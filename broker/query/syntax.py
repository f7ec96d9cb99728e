# SPDX-License-Identifier: EUPL-1.2
"""What the q, type selection and scopeQ parsers share: the syntax error, the complexity limits, a cursor.

A malformed query is BadRequestData (clause 6.3.2 maps parse failures of q, geoQ and scopeQ there);
QuerySyntaxError carries the 0-based character position and the offending token so that the detail
tells the user where to look. A query over the limits is TooComplexQuery (clause 5.5.2, 403).
"""

from __future__ import annotations

from broker.errors import BadRequestData, TooComplexQuery

# A query costs SQL and Python work proportional to its terms and values; beyond these it is refused.
MAX_TERMS = 100  # query terms (comparisons and existence tests) in one q, type names, scope patterns
MAX_NESTING = 20  # depth of parentheses
MAX_VALUES = 500  # literal values in one q, counting every item of value lists and both range bounds
MAX_PATTERN_LENGTH = 1_000  # characters of one regular expression

_DELIMITERS = frozenset(";|,()")


class QuerySyntaxError(BadRequestData):
    """BadRequestData for a malformed query, with `position` (0-based) and `token` for programs."""

    def __init__(self, language: str, position: int, token: str, message: str) -> None:
        found = f"found {token!r}" if token else "found the end of the input"
        super().__init__(f"invalid {language} at position {position}: {message}, {found}")
        self.language = language
        self.position = position
        self.token = token


class Cursor:
    """A position in the text of one query, and the running counts the limits apply to."""

    __slots__ = ("language", "pos", "terms", "text", "values")

    def __init__(self, language: str, text: str) -> None:
        self.language = language
        self.text = text
        self.pos = 0
        self.terms = 0
        self.values = 0

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def peek(self, length: int = 1) -> str:
        return self.text[self.pos : self.pos + length]

    def startswith(self, prefix: str) -> bool:
        return self.text.startswith(prefix, self.pos)

    def skip_spaces(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t":
            self.pos += 1

    def error(self, message: str, position: int | None = None, token: str | None = None) -> QuerySyntaxError:
        position = self.pos if position is None else position
        return QuerySyntaxError(self.language, position, self.token_at(position) if token is None else token, message)

    def token_at(self, position: int) -> str:
        """The token a user would point at: a delimiter alone, or the run of characters up to the next one."""
        if position >= len(self.text):
            return ""
        if self.text[position] in _DELIMITERS:
            return self.text[position]
        end = position
        while end < len(self.text) and self.text[end] not in _DELIMITERS and end - position < 40:
            end += 1
        return self.text[position:end]

    def count_term(self) -> None:
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise TooComplexQuery(f"the {self.language} has more than {MAX_TERMS} terms")

    def count_values(self, count: int = 1) -> None:
        self.values += count
        if self.values > MAX_VALUES:
            raise TooComplexQuery(f"the {self.language} has more than {MAX_VALUES} values")

    def check_nesting(self, depth: int) -> None:
        if depth > MAX_NESTING:
            raise TooComplexQuery(f"the {self.language} nests parentheses deeper than {MAX_NESTING} levels")
