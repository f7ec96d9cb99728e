# SPDX-License-Identifier: EUPL-1.2
"""The NGSI-LD query languages: q (clause 4.9), entity type selection (4.17), geoQ (4.10), scopeQ (4.19).

Parse the client's text into one AST (ast.py), expand its names with the request's @context
(expand.py), then either evaluate it against expanded entities in Python (predicate.py: the
subscription matcher) or compile it to SQL (sql_sqlite.py: the store); the two agree. No I/O here.
"""

from broker.query.ast import (
    And,
    AttrPath,
    Comparison,
    Date,
    DateTime,
    Exists,
    GeoQuery,
    Georel,
    NotExists,
    Or,
    QNode,
    QValue,
    Range,
    Scalar,
    ScopeAnd,
    ScopePattern,
    ScopeQuery,
    Text,
    Time,
    TypeAnd,
    TypeExpr,
    TypeName,
    TypeOr,
    Uri,
    ValueList,
)
from broker.query.expand import expand_query
from broker.query.geoq import (
    geometry_bbox,
    parse_geo_query_json,
    parse_geo_query_params,
    parse_georel,
    query_bbox,
    render_georel,
)
from broker.query.predicate import matches_geo, matches_q, matches_scope, matches_types
from broker.query.q_parser import parse_q, render_q
from broker.query.selection import (
    parse_scope_query,
    parse_type_selection,
    plain_type_names,
    render_scope_query,
    render_type_selection,
)
from broker.query.sql_sqlite import compile_q, compile_scope, compile_types, register_functions
from broker.query.syntax import MAX_NESTING, MAX_TERMS, MAX_VALUES, QuerySyntaxError

__all__ = [
    "MAX_NESTING",
    "MAX_TERMS",
    "MAX_VALUES",
    "And",
    "AttrPath",
    "Comparison",
    "Date",
    "DateTime",
    "Exists",
    "GeoQuery",
    "Georel",
    "NotExists",
    "Or",
    "QNode",
    "QValue",
    "QuerySyntaxError",
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
    "compile_q",
    "compile_scope",
    "compile_types",
    "expand_query",
    "geometry_bbox",
    "matches_geo",
    "matches_q",
    "matches_scope",
    "matches_types",
    "parse_geo_query_json",
    "parse_geo_query_params",
    "parse_georel",
    "parse_q",
    "parse_scope_query",
    "parse_type_selection",
    "plain_type_names",
    "query_bbox",
    "register_functions",
    "render_georel",
    "render_q",
    "render_scope_query",
    "render_type_selection",
]
