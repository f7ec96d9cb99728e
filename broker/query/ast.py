# SPDX-License-Identifier: EUPL-1.2
"""The one query AST: q (ETSI GS CIM 009 v1.9.1 clause 4.9), entity type selection (4.17), geoQ (4.10) and scopeQ (4.19).

Parsers build it with the names as the client wrote them; `broker.query.expand.expand_query` gives the
same tree with IRIs. The SQL compilers and the Python predicate read only the expanded tree. Every
node is a frozen dataclass, so trees compare by value and can be cached or used as dict keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

# Operators of the q language (clause 4.9, production rules equal ... notPatternOp).
EQUAL = "=="
UNEQUAL = "!="
GREATER = ">"
GREATER_EQ = ">="
LESS = "<"
LESS_EQ = "<="
PATTERN = "~="
NOT_PATTERN = "!~="
OPERATORS = (EQUAL, UNEQUAL, GREATER, GREATER_EQ, LESS, LESS_EQ, PATTERN, NOT_PATTERN)
ORDERING_OPERATORS = (GREATER, GREATER_EQ, LESS, LESS_EQ)
PATTERN_OPERATORS = (PATTERN, NOT_PATTERN)

# Members of an attribute instance that an attribute path may end with; they stay short when expanded.
CORE_MEMBERS = frozenset(("observedAt", "unitCode", "datasetId", "createdAt", "modifiedAt", "expiresAt", "objectType"))

# Geo-relations (clause 4.10) and the GeoJSON geometry types a geoQ may use (RFC 7946 without GeometryCollection).
NEAR = "near"
GEORELS = (NEAR, "within", "contains", "intersects", "equals", "disjoint", "overlaps")
GEOMETRIES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")
DEFAULT_GEOPROPERTY = "location"

# Entity type selection: "*" selects every type (clause 6.4.3.2, table 6.4.3.2-1).
ALL_TYPES = "*"


# --- q values -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Text:
    """A quoted string (or a bare word). `iri` is its @vocab expansion, set by expand_query for VocabProperty."""

    value: str
    iri: str | None = None


@dataclass(frozen=True, slots=True)
class Uri:
    """An unquoted URI such as urn:ngsi-ld:ParkingGroup:1; it compares as a string."""

    value: str
    iri: str | None = None


@dataclass(frozen=True, slots=True)
class DateTime:
    """An unquoted dateTime (clause 4.6.3); compared as an instant with target strings that are dateTimes."""

    value: str


@dataclass(frozen=True, slots=True)
class Date:
    value: str


@dataclass(frozen=True, slots=True)
class Time:
    value: str


# bool is tested before int everywhere: in Python True == 1, in NGSI-LD they are different data types.
Scalar: TypeAlias = bool | int | float | Text | Uri | DateTime | Date | Time


@dataclass(frozen=True, slots=True)
class Range:
    """`a==low..high`: both bounds included."""

    low: Scalar
    high: Scalar


@dataclass(frozen=True, slots=True)
class ValueList:
    """`a=="x","y"`: equal to any item."""

    items: tuple[Scalar, ...]


QValue: TypeAlias = Scalar | Range | ValueList


# --- q nodes --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AttrPath:
    """`attribute.sub.path[compound.keys]`.

    `sub_path` names sub-attributes, and may end with one of CORE_MEMBERS (`temperature.observedAt`).
    `compound` addresses members inside a compound value. expand_query replaces the names by IRIs and
    keeps the compound keys as written in `compound_terms`, because the keys of a JsonProperty and the
    language tags of a LanguageProperty are not expanded.
    """

    attribute: str
    sub_path: tuple[str, ...] = ()
    compound: tuple[str, ...] = ()
    compound_terms: tuple[str, ...] | None = None

    @property
    def raw_compound(self) -> tuple[str, ...]:
        return self.compound if self.compound_terms is None else self.compound_terms


@dataclass(frozen=True, slots=True)
class Comparison:
    path: AttrPath
    op: str
    value: QValue


@dataclass(frozen=True, slots=True)
class Exists:
    """`a`: the entity has the target element."""

    path: AttrPath


@dataclass(frozen=True, slots=True)
class NotExists:
    """`!a`: the entity does not have the target element."""

    path: AttrPath


@dataclass(frozen=True, slots=True)
class And:
    terms: tuple[QNode, ...]


@dataclass(frozen=True, slots=True)
class Or:
    terms: tuple[QNode, ...]


QNode: TypeAlias = And | Or | Comparison | Exists | NotExists


# --- entity type selection (clause 4.17) ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TypeName:
    name: str


@dataclass(frozen=True, slots=True)
class TypeAnd:
    """`(A;B)`: the entity has all these types."""

    terms: tuple[TypeExpr, ...]


@dataclass(frozen=True, slots=True)
class TypeOr:
    """`A,B` or `A|B`: the entity has any of these types."""

    terms: tuple[TypeExpr, ...]


TypeExpr: TypeAlias = TypeName | TypeAnd | TypeOr


# --- geoQ (clause 4.10) ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Georel:
    """`near;maxDistance==1000` is Georel("near", max_distance_m=1000.0); other relations carry no distance."""

    relation: str
    max_distance_m: float | None = None
    min_distance_m: float | None = None


Coordinates: TypeAlias = tuple[Any, ...]  # nested tuples of floats, as deep as the geometry type needs


@dataclass(frozen=True, slots=True)
class GeoQuery:
    georel: Georel
    geometry: str
    coordinates: Coordinates
    geoproperty: str = DEFAULT_GEOPROPERTY

    @property
    def geojson(self) -> dict[str, Any]:
        return {"type": self.geometry, "coordinates": _as_lists(self.coordinates)}


def _as_lists(value: Any) -> Any:
    return [_as_lists(item) for item in value] if isinstance(value, tuple) else value


# --- scopeQ (clause 4.19) -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScopePattern:
    """`/Hamm/Mitte` (exact), `/Hamm/+` (a level is any one level), `/Hamm/#` (descendants=True: the scope
    and every scope below it). `/#` alone is ScopePattern((), descendants=True): any non-empty scope."""

    levels: tuple[str, ...]
    descendants: bool = False


@dataclass(frozen=True, slots=True)
class ScopeAnd:
    """`(/A;/B)`: the entity has scopes matching every pattern (not necessarily the same scope)."""

    patterns: tuple[ScopePattern, ...]


@dataclass(frozen=True, slots=True)
class ScopeQuery:
    """The whole scopeQ: matches when any alternative matches (`|` or `,`)."""

    alternatives: tuple[ScopePattern | ScopeAnd, ...]


__all__ = [
    "ALL_TYPES",
    "CORE_MEMBERS",
    "DEFAULT_GEOPROPERTY",
    "EQUAL",
    "GEOMETRIES",
    "GEORELS",
    "GREATER",
    "GREATER_EQ",
    "LESS",
    "LESS_EQ",
    "NEAR",
    "NOT_PATTERN",
    "OPERATORS",
    "ORDERING_OPERATORS",
    "PATTERN",
    "PATTERN_OPERATORS",
    "UNEQUAL",
    "And",
    "AttrPath",
    "Comparison",
    "Coordinates",
    "Date",
    "DateTime",
    "Exists",
    "GeoQuery",
    "Georel",
    "NotExists",
    "Or",
    "QNode",
    "QValue",
    "Range",
    "Scalar",
    "ScopeAnd",
    "ScopePattern",
    "ScopeQuery",
    "Text",
    "Time",
    "TypeAnd",
    "TypeExpr",
    "TypeName",
    "TypeOr",
    "Uri",
    "ValueList",
]
