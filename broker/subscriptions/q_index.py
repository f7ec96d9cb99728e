# SPDX-License-Identifier: EUPL-1.2
"""An index on q: which subscription groups could be true for an entity, found without evaluating
their q one by one.

A q that is a comparison `path op constant`, or a conjunction (`;`) with one, is false whenever that
comparison is false; the comparison is the group's guard (clause 4.9 semantics, as
broker.query.predicate evaluates them). Guards are filed per attribute path:

- `==` with a number, boolean, string or URI, and value lists of them: a hash table of the constants,
  looked up with every value the entity's target elements hold;
- `>`, `>=`, `<`, `<=` with a number or a string, and the lower bound of a range `a..b`: sorted lists
  of the constants (numbers apart from strings), cut by bisection at the largest (for `>`, `>=`) or
  smallest (`<`, `<=`) value of the entity;
- `!=` with a number, boolean or a string that is not a vocabulary term: a hash table; a group is left
  out only when every target of the entity holds its constant;
- anything else that needs the target to exist (`a`, a pattern, a dateTime comparison): "exists".

The index may keep a group whose q turns out false, never drop one whose q is true: the matcher
still checks every candidate in full (q, geoQ, scopeQ and the triggers with watchedAttributes). A q
without a guard (an Or at the top, `!a`) is not filed here: its groups are candidates for every change
of their entity types, as before.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from broker.query.ast import (
    EQUAL,
    GREATER,
    GREATER_EQ,
    LESS,
    LESS_EQ,
    UNEQUAL,
    And,
    AttrPath,
    Comparison,
    Exists,
    QNode,
    QValue,
    Range,
    Text,
    Uri,
    ValueList,
)
from broker.query.predicate import Target, is_number, targets

GroupKey = tuple[int, int]
Key = tuple[str, Any]  # ("n", number), ("b", bool) or ("s", string): values of different JSON types never meet

EXISTS = "exists"
ORDERINGS = (GREATER, GREATER_EQ, LESS, LESS_EQ)
# The best guard of a conjunction is the one that leaves the fewest candidates.
_RANK = {EQUAL: 0, GREATER: 1, GREATER_EQ: 1, LESS: 1, LESS_EQ: 1, UNEQUAL: 2, EXISTS: 3}


class Guarded(Protocol):
    """What the index files: a subscription group (broker.subscriptions.index.Group)."""

    @property
    def key(self) -> GroupKey: ...


@dataclass(frozen=True, slots=True)
class Guard:
    """A condition every entity matching the q satisfies: `path op` one of `keys` (none for exists)."""

    path: AttrPath
    op: str
    keys: tuple[Key, ...] = ()


def guard_of(q: QNode | None) -> Guard | None:
    """The most selective guard of a q, or None when q has none (then it cannot be indexed)."""
    if q is None:
        return None
    best: Guard | None = None
    for term in _conjuncts(q):
        guard = _term_guard(term)
        if guard is not None and (best is None or _RANK[guard.op] < _RANK[best.op]):
            best = guard
    return best


class QIndex:
    """Guarded groups of one index bucket (an entity type, an id, a watched attribute)."""

    __slots__ = ("_paths",)

    def __init__(self) -> None:
        self._paths: dict[AttrPath, _PathGuards] = {}

    def __bool__(self) -> bool:
        return bool(self._paths)

    def add(self, guard: Guard, group: Guarded) -> None:
        self._paths.setdefault(guard.path, _PathGuards()).add(guard, group)

    def discard(self, guard: Guard, group: Guarded) -> None:
        guards = self._paths.get(guard.path)
        if guards is not None:
            guards.discard(guard, group)
            if not guards:
                del self._paths[guard.path]

    def collect(self, entity: dict[str, Any], found: dict[GroupKey, Any], seen: dict[AttrPath, list[Target]]) -> None:
        """Add to `found` the groups whose guard the entity may satisfy; `seen` caches the entity's
        targets per path across the buckets of one change."""
        for path, guards in self._paths.items():
            found_targets = seen.get(path)
            if found_targets is None:
                found_targets = seen[path] = list(targets(entity, path))
            if found_targets:
                guards.collect(found_targets, found)


class _Sorted:
    """Groups by constant, in order of the constant; sorted again only when read after a change."""

    __slots__ = ("_entries", "_constants", "_groups")

    def __init__(self) -> None:
        self._entries: dict[tuple[GroupKey, Any], tuple[Any, Guarded]] = {}
        self._constants: list[Any] | None = []
        self._groups: list[Guarded] = []

    def __bool__(self) -> bool:
        return bool(self._entries)

    def add(self, constant: Any, group: Guarded) -> None:
        self._entries[(group.key, constant)] = (constant, group)
        self._constants = None

    def discard(self, constant: Any, group: Guarded) -> None:
        if self._entries.pop((group.key, constant), None) is not None:
            self._constants = None

    def below(self, bound: Any, inclusive: bool) -> list[Guarded]:
        """Groups whose constant is < bound (<= when inclusive)."""
        constants, groups = self._sorted()
        return groups[: (bisect_right if inclusive else bisect_left)(constants, bound)]

    def above(self, bound: Any, inclusive: bool) -> list[Guarded]:
        """Groups whose constant is > bound (>= when inclusive)."""
        constants, groups = self._sorted()
        return groups[(bisect_left if inclusive else bisect_right)(constants, bound) :]

    def _sorted(self) -> tuple[list[Any], list[Guarded]]:
        if self._constants is None:
            ordered = sorted(self._entries.values(), key=lambda entry: entry[0])
            self._constants = [constant for constant, _ in ordered]
            self._groups = [group for _, group in ordered]
        return self._constants, self._groups


class _PathGuards:
    __slots__ = ("equal", "exists", "order", "unequal")

    def __init__(self) -> None:
        self.equal: dict[Key, dict[GroupKey, Guarded]] = {}
        self.unequal: dict[Key, dict[GroupKey, Guarded]] = {}
        self.order: dict[tuple[str, str], _Sorted] = {}  # (op, "n" or "s")
        self.exists: dict[GroupKey, Guarded] = {}

    def __bool__(self) -> bool:
        return bool(self.equal or self.unequal or self.order or self.exists)

    def add(self, guard: Guard, group: Guarded) -> None:
        if guard.op == EXISTS:
            self.exists[group.key] = group
        elif guard.op in (EQUAL, UNEQUAL):
            table = self.equal if guard.op == EQUAL else self.unequal
            for key in guard.keys:
                table.setdefault(key, {})[group.key] = group
        else:
            for tag, constant in guard.keys:
                self.order.setdefault((guard.op, tag), _Sorted()).add(constant, group)

    def discard(self, guard: Guard, group: Guarded) -> None:
        if guard.op == EXISTS:
            self.exists.pop(group.key, None)
        elif guard.op in (EQUAL, UNEQUAL):
            table = self.equal if guard.op == EQUAL else self.unequal
            for key in guard.keys:
                groups = table.get(key)
                if groups is not None:
                    groups.pop(group.key, None)
                    if not groups:
                        del table[key]
        else:
            for tag, constant in guard.keys:
                ordered = self.order.get((guard.op, tag))
                if ordered is not None:
                    ordered.discard(constant, group)
                    if not ordered:
                        del self.order[(guard.op, tag)]

    def collect(self, found_targets: list[Target], found: dict[GroupKey, Any]) -> None:
        """The entity has at least one target at this path."""
        if self.exists:
            found.update(self.exists)
        if self.equal:
            for key in _keys(found_targets):
                groups = self.equal.get(key)
                if groups:
                    found.update(groups)
        if self.unequal:
            held = _held_by_every_target(found_targets)
            for key, groups in self.unequal.items():
                if key not in held:
                    found.update(groups)
        if self.order:
            for (op, tag), ordered in self.order.items():
                values = list(_values(found_targets, tag))
                if not values:
                    continue
                if op in (GREATER, GREATER_EQ):  # some value > constant: the constant is below the largest
                    in_range = ordered.below(max(values), inclusive=op == GREATER_EQ)
                else:
                    in_range = ordered.above(min(values), inclusive=op == LESS_EQ)
                for group in in_range:
                    found[group.key] = group


# --- guards of a q ---------------------------------------------------------------------------------


def _conjuncts(q: QNode) -> Iterator[QNode]:
    if isinstance(q, And):
        for term in q.terms:
            yield from _conjuncts(term)
    else:
        yield q


def _term_guard(term: QNode) -> Guard | None:
    if isinstance(term, Exists):
        return Guard(term.path, EXISTS)
    if not isinstance(term, Comparison):
        return None  # Or, NotExists: true without the attribute, or in many ways
    exists = Guard(term.path, EXISTS)  # a comparison is only ever true on a target that exists
    value = term.value
    if term.op == EQUAL:
        if isinstance(value, Range):
            keys = _order_keys(value.low)
            return Guard(term.path, GREATER_EQ, keys) if keys else exists
        keys = _equal_keys(value)
        return Guard(term.path, EQUAL, keys) if keys else exists
    if term.op == UNEQUAL:
        key = _unequal_key(value)
        return Guard(term.path, UNEQUAL, (key,)) if key is not None else exists
    if term.op in ORDERINGS:
        keys = _order_keys(value)
        return Guard(term.path, term.op, keys) if keys else exists
    return exists  # patterns


def _text_keys(value: Text | Uri) -> tuple[Key, ...]:
    """A string literal compares as written, or as its @vocab IRI with a vocab target: both keys."""
    if value.iri is None or value.iri == value.value:
        return (("s", value.value),)
    return (("s", value.value), ("s", value.iri))


def _equal_keys(value: QValue) -> tuple[Key, ...]:
    if isinstance(value, ValueList):
        keys: list[Key] = []
        for item in value.items:
            item_keys = _equal_keys(item)
            if not item_keys:
                return ()
            keys.extend(item_keys)
        return tuple(dict.fromkeys(keys))
    if isinstance(value, bool):
        return (("b", value),)
    if isinstance(value, (int, float)):
        return (("n", value),)
    if isinstance(value, (Text, Uri)):
        return _text_keys(value)
    return ()  # dateTime, date, time: compared as instants, not as written


def _unequal_key(value: QValue) -> Key | None:
    """Only a literal that means the same for every target: a vocab target would compare an IRI."""
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, (int, float)):
        return ("n", value)
    if isinstance(value, (Text, Uri)) and len(_text_keys(value)) == 1:
        return ("s", value.value)
    return None


def _order_keys(value: Any) -> tuple[Key, ...]:
    if isinstance(value, bool):
        return ()
    if isinstance(value, (int, float)):
        return (("n", value),)
    if isinstance(value, Text):
        return _text_keys(value)
    return ()  # a URI never orders; dateTime, date, time compare as instants


# --- values of an entity's targets ---------------------------------------------------------------------


def _key(element: Any) -> Key | None:
    if isinstance(element, bool):
        return ("b", element)
    if is_number(element):
        return ("n", element)
    if isinstance(element, str):
        return ("s", element)
    return None


def _keys(found_targets: list[Target]) -> set[Key]:
    keys: set[Key] = set()
    for target in found_targets:
        for element in target.elements:
            key = _key(element)
            if key is not None:
                keys.add(key)
    return keys


def _held_by_every_target(found_targets: list[Target]) -> set[Key]:
    """`a!=c` is false only when every target holds c."""
    held: set[Key] | None = None
    for target in found_targets:
        keys = _keys([target])
        held = keys if held is None else held & keys
        if not held:
            return set()
    return held or set()


def _values(found_targets: list[Target], tag: str) -> Iterator[Any]:
    for target in found_targets:
        for element in target.elements:
            if tag == "n" and is_number(element):
                yield element
            elif tag == "s" and isinstance(element, str):
                yield element


__all__ = ["Guard", "QIndex", "guard_of"]
