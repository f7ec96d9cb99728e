# SPDX-License-Identifier: EUPL-1.2
"""The member names of an entity and of an attribute instance that stay short in every form.

They are NGSI-LD core members (ETSI GS CIM 009 v1.9.1, clauses 4.5 and 5.2): the broker reads
them by their short name, so expansion leaves them alone and every other name is a term.
"""

from __future__ import annotations

from typing import Any, TypeAlias

ExpandedEntity: TypeAlias = dict[str, Any]
CompactedEntity: TypeAlias = dict[str, Any]
ExpandedInstance: TypeAlias = dict[str, Any]
CompactedInstance: TypeAlias = dict[str, Any]

# expiresAt (clause 4.22, Table 5.2.4-1): the instant the entity, or an attribute instance, expires.
ENTITY_MEMBERS = frozenset(("id", "type", "scope", "createdAt", "modifiedAt", "deletedAt", "expiresAt"))

VALUE_MEMBERS = frozenset(("value", "object", "languageMap", "vocab", "valueList", "objectList", "json"))
INSTANCE_MEMBERS = VALUE_MEMBERS | frozenset(
    (
        "type",
        "observedAt",
        "unitCode",
        "datasetId",
        "createdAt",
        "modifiedAt",
        "deletedAt",
        "expiresAt",
        "objectType",
        "lang",
        "instanceId",
    )
)


_GEOJSON_GEOMETRY_TYPES = frozenset(
    {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection"}
)


def is_geojson_geometry(value: Any) -> bool:
    """A GeoJSON geometry stays raw GeoJSON in any attribute (not only a GeoProperty): its keys are
    GeoJSON's, and the core context's geojson terms (coordinates as a @list) would not round-trip."""
    return (
        isinstance(value, dict)
        and value.get("type") in _GEOJSON_GEOMETRY_TYPES
        and ("coordinates" in value or "geometries" in value)
    )
