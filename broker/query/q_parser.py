# SPDX-License-Identifier: EUPL-1.2
"""Parse and render the NGSI-LD Query Language, the q parameter (ETSI GS CIM 009 v1.9.1, clause 4.9).

`parse_q` turns the text into a tree of broker.query.ast nodes with the names as written, or raises
QuerySyntaxError (BadRequestData) naming the position and the token, or TooComplexQuery. `render_q`
is its inverse: parse_q(render_q(node)) == node. Names are expanded elsewhere (expand.py).

Beyond the ABNF of clause 4.9, and as common brokers do, the parser accepts `!attr` (the attribute
does not exist), `=~` as another spelling of `~=`, an unquoted regular expression, a bare word as a
string (`gender==Male`, clause 4.9 example 12) and spaces around tokens. Linked entity paths
(`a{b}`, clause 4.5.23) are refused.
"""

from __future__ import annotations

import json
import math
import re

from broker.errors import BadRequestData, TooComplexQuery
from broker.query.ast import (
    CORE_MEMBERS,
    EQUAL,
    NOT_PATTERN,
    ORDERING_OPERATORS,
    PATTERN,
    PATTERN_OPERATORS,
    UNEQUAL,
    And,
    AttrPath,
    Comparison,
    Date,
    DateTime,
    Exists,
    NotExists,
    Or,
    QNode,
    QValue,
    Range,
    Scalar,
    Text,
    Time,
    Uri,
    ValueList,
)
from broker.query.syntax import MAX_PATTERN_LENGTH, Cursor
from broker.query.values import (
    DATE_RE,
    DATETIME_RE,
    TIME_RE,
    compile_pattern,
    normalize_date,
    normalize_datetime,
    normalize_time,
)

# Longest first, so that ">=" is not read as ">" followed by "=".
_OPERATOR_SPELLINGS = (
    ("!~=", NOT_PATTERN),
    ("==", EQUAL),
    ("!=", UNEQUAL),
    (">=", ">="),
    ("<=", "<="),
    ("~=", PATTERN),
    ("=~", PATTERN),
    (">", ">"),
    ("<", "<"),
)
_NAME = r"[^\W\d_]\w*"  # AttrName: a Unicode letter, then letters, digits and "_"
_ATTR_NAME_RE = re.compile(rf"(?:{_NAME}:)?{_NAME}")  # optionally prefixed, as names may be (clause 4.6.2)
_COMPOUND_KEY_RE = re.compile(r"\*|[\w-]+(?::[\w-]+)?")  # member names, and language tags such as de-DE
_NUMBER_RE = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?", re.ASCII)  # RFC 8259 number
_BOOLEAN_RE = re.compile(r"true|false")
_URI_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s;|(),\"]+")
_WORD_RE = re.compile(_NAME)
_TERM_END = ";|)"
_VALUE_END = ";|),. \t"
_INT64 = 2**63


def parse_q(text: str) -> QNode:
    if not isinstance(text, str) or not text.strip():
        raise BadRequestData("q must be a non-empty string")
    cursor = Cursor("q", text)
    node = _parse_or(cursor, 0)
    cursor.skip_spaces()
    if not cursor.at_end():
        raise cursor.error("expected ';', '|' or the end of the query")
    return node


def render_q(node: QNode) -> str:
    """The canonical text of a tree (with the names it holds; an expanded tree renders with IRIs)."""
    if isinstance(node, Or):
        # An And inside an Or needs no parentheses (";" binds tighter); they are kept for readers, as in clause 4.9.
        return "|".join(f"({render_q(term)})" if isinstance(term, (And, Or)) else render_q(term) for term in node.terms)
    if isinstance(node, And):
        return ";".join(f"({render_q(term)})" if isinstance(term, (And, Or)) else render_q(term) for term in node.terms)
    if isinstance(node, Exists):
        return render_path(node.path)
    if isinstance(node, NotExists):
        return "!" + render_path(node.path)
    return render_path(node.path) + node.op + render_value(node.value)


def render_path(path: AttrPath) -> str:
    text = ".".join((path.attribute, *path.sub_path))
    return text + (f"[{'.'.join(path.compound)}]" if path.compound else "")


def render_value(value: QValue) -> str:
    if isinstance(value, Range):
        return f"{render_value(value.low)}..{render_value(value.high)}"
    if isinstance(value, ValueList):
        return ",".join(render_value(item) for item in value.items)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} has no q literal")
        return repr(value)
    if isinstance(value, Text):
        return json.dumps(value.value, ensure_ascii=False)
    return value.value


def is_comparable(value: Scalar) -> bool:
    """ComparableValue of clause 4.9: what >, >=, <, <= and range bounds accept."""
    return not isinstance(value, (bool, Uri))


def same_kind(low: Scalar, high: Scalar) -> bool:
    if isinstance(low, (int, float)) and not isinstance(low, bool):
        return isinstance(high, (int, float)) and not isinstance(high, bool)
    return type(low) is type(high)


# --- the grammar, one function per production ----------------------------------------------------


def _parse_or(cursor: Cursor, depth: int) -> QNode:
    terms = [_parse_and(cursor, depth)]
    while _next_is(cursor, "|"):
        cursor.pos += 1
        terms.append(_parse_and(cursor, depth))
    return terms[0] if len(terms) == 1 else Or(tuple(terms))


def _parse_and(cursor: Cursor, depth: int) -> QNode:
    terms = [_parse_primary(cursor, depth)]
    while _next_is(cursor, ";"):
        cursor.pos += 1
        terms.append(_parse_primary(cursor, depth))
    return terms[0] if len(terms) == 1 else And(tuple(terms))


def _parse_primary(cursor: Cursor, depth: int) -> QNode:
    cursor.skip_spaces()
    if cursor.peek() != "(":
        return _parse_term(cursor)
    cursor.check_nesting(depth + 1)
    cursor.pos += 1
    node = _parse_or(cursor, depth + 1)
    if not _next_is(cursor, ")"):
        raise cursor.error("expected ')'")
    cursor.pos += 1
    return node


def _parse_term(cursor: Cursor) -> QNode:
    cursor.count_term()
    if cursor.peek() == "!":
        cursor.pos += 1
        path = _parse_path(cursor)
        if not _term_ends(cursor):
            raise cursor.error("'!' takes an attribute path and no operator")
        return NotExists(path)
    path = _parse_path(cursor)
    if _term_ends(cursor):
        return Exists(path)
    op = _parse_operator(cursor)
    cursor.skip_spaces()
    return Comparison(path, op, _parse_operand(cursor, op))


def _parse_path(cursor: Cursor) -> AttrPath:
    attribute = _expect(cursor, _ATTR_NAME_RE, "expected an attribute name")
    sub_path: list[str] = []
    positions: list[int] = []
    while cursor.peek() == ".":
        cursor.pos += 1
        positions.append(cursor.pos)
        sub_path.append(_expect(cursor, _ATTR_NAME_RE, "expected a sub-attribute name after '.'"))
    compound: list[str] = []
    if cursor.peek() == "[":
        cursor.pos += 1
        compound.append(_expect(cursor, _COMPOUND_KEY_RE, "expected a member name after '['"))
        while cursor.peek() == ".":
            cursor.pos += 1
            compound.append(_expect(cursor, _COMPOUND_KEY_RE, "expected a member name after '.'"))
        if cursor.peek() != "]":
            raise cursor.error("expected ']' to close the trailing path")
        cursor.pos += 1
    if cursor.peek() == "{":
        raise cursor.error("linked entity paths (attr{path}, clause 4.5.23) are not supported")
    if cursor.peek() in ("[", "]"):
        raise cursor.error("an attribute path has at most one trailing [path]")
    for index, (name, position) in enumerate(zip(sub_path, positions)):
        if name in CORE_MEMBERS and (index < len(sub_path) - 1 or compound):
            raise cursor.error(f"{name!r} must end the attribute path", position, name)
    return AttrPath(attribute, tuple(sub_path), tuple(compound))


def _parse_operator(cursor: Cursor) -> str:
    for spelling, op in _OPERATOR_SPELLINGS:
        if cursor.startswith(spelling):
            cursor.pos += len(spelling)
            return op
    raise cursor.error("expected an operator (==, !=, >, >=, <, <=, ~=, !~=), ';', '|' or ')'")


def _parse_operand(cursor: Cursor, op: str) -> QValue:
    if op in PATTERN_OPERATORS:
        return _parse_pattern(cursor)
    start = cursor.pos
    first = _parse_scalar(cursor)
    cursor.skip_spaces()
    if cursor.startswith(".."):
        if op not in (EQUAL, UNEQUAL):
            raise cursor.error(f"a range is only allowed with == and !=, not {op}")
        cursor.pos += 2
        cursor.skip_spaces()
        high = _parse_scalar(cursor)
        if not (is_comparable(first) and same_kind(first, high)):
            raise cursor.error(
                "a range needs two numbers, strings, dates, times or dateTimes of one kind",
                start,
                cursor.text[start : cursor.pos],
            )
        cursor.count_values(2)
        return Range(first, high)
    if cursor.peek() == ",":
        if op not in (EQUAL, UNEQUAL):
            raise cursor.error(f"a list of values is only allowed with == and !=, not {op}")
        items = [first]
        while cursor.peek() == ",":
            cursor.pos += 1
            cursor.skip_spaces()
            items.append(_parse_scalar(cursor))
            cursor.skip_spaces()
            if cursor.startswith(".."):
                raise cursor.error("a list of values cannot hold a range")
        cursor.count_values(len(items))
        return ValueList(tuple(items))
    if op in ORDERING_OPERATORS and not is_comparable(first):
        raise cursor.error(
            f"{op} needs a number, a quoted string, a date, a time or a dateTime",
            start,
            cursor.text[start : cursor.pos],
        )
    cursor.count_values()
    return first


def _parse_scalar(cursor: Cursor) -> Scalar:
    start = cursor.pos
    if cursor.peek() == '"':
        return Text(_parse_quoted(cursor))
    text = cursor.text
    for form in (DATETIME_RE, DATE_RE, TIME_RE, _NUMBER_RE, _BOOLEAN_RE, _URI_RE, _WORD_RE):
        match = form.match(text, start)
        if match is None or not _value_ends(text, match.end()):
            continue
        cursor.pos = match.end()
        return _literal(cursor, form, match[0], start)
    raise cursor.error("expected a value (a number, a quoted string, true, false, a date, a time, a dateTime or a URI)")


def _literal(cursor: Cursor, form: re.Pattern[str], token: str, start: int) -> Scalar:
    if form is DATETIME_RE:
        if normalize_datetime(token) is None:
            raise cursor.error("invalid dateTime", start, token)
        return DateTime(token)
    if form is DATE_RE:
        if normalize_date(token) is None:
            raise cursor.error("invalid date", start, token)
        return Date(token)
    if form is TIME_RE:
        if normalize_time(token) is None:
            raise cursor.error("invalid time", start, token)
        return Time(token)
    if form is _NUMBER_RE:
        if not any(char in token for char in ".eE") and -_INT64 < int(token) < _INT64:
            return int(token)
        number = float(token)
        if not math.isfinite(number):
            raise cursor.error("number out of range", start, token)
        return number
    if form is _BOOLEAN_RE:
        return token == "true"
    if form is _URI_RE:
        return Uri(token)
    return Text(token)


def _parse_quoted(cursor: Cursor) -> str:
    """A JSON string (RFC 8259, section 7), as clause 4.9 defines quotedStr."""
    text, start = cursor.text, cursor.pos
    index = start + 1
    while index < len(text) and text[index] != '"':
        index += 2 if text[index] == "\\" else 1
    if index >= len(text):
        raise cursor.error("unterminated string", start, text[start : start + 40])
    try:
        value = json.loads(text[start : index + 1])
    except ValueError:
        raise cursor.error(
            "invalid string (control characters must be escaped as in JSON)", start, text[start : index + 1]
        ) from None
    cursor.pos = index + 1
    if not _value_ends(text, cursor.pos):
        raise cursor.error("expected ';', '|', ',' or ')' after the string")
    return str(value)


def _parse_pattern(cursor: Cursor) -> Text:
    start = cursor.pos
    pattern = _parse_quoted(cursor) if cursor.peek() == '"' else _parse_unquoted_pattern(cursor)
    if not pattern:
        raise cursor.error("expected a regular expression", start)
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise TooComplexQuery(f"a regular expression in q is longer than {MAX_PATTERN_LENGTH} characters")
    if compile_pattern(pattern) is None:
        raise cursor.error("invalid regular expression", start, cursor.text[start : cursor.pos])
    cursor.count_values()
    return Text(pattern)


def _parse_unquoted_pattern(cursor: Cursor) -> str:
    """Up to the next ';' or '|' outside the pattern's own parentheses, or an unbalanced ')'."""
    text, index, depth = cursor.text, cursor.pos, 0
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            if depth == 0:
                break
            depth -= 1
        elif char in ";|" and depth == 0:
            break
        index += 1
    pattern = text[cursor.pos : min(index, len(text))]
    cursor.pos = min(index, len(text))
    return pattern


def _expect(cursor: Cursor, pattern: re.Pattern[str], message: str) -> str:
    match = pattern.match(cursor.text, cursor.pos)
    if match is None:
        raise cursor.error(message)
    cursor.pos = match.end()
    return match[0]


def _next_is(cursor: Cursor, char: str) -> bool:
    cursor.skip_spaces()
    return cursor.peek() == char


def _term_ends(cursor: Cursor) -> bool:
    cursor.skip_spaces()
    return cursor.at_end() or cursor.peek() in _TERM_END


def _value_ends(text: str, index: int) -> bool:
    return index >= len(text) or text[index] in _VALUE_END and (text[index] != "." or text.startswith("..", index))
