# SPDX-License-Identifier: EUPL-1.2
"""JSON-LD for the broker: @context resolution and caching, and entity expansion and compaction.

The stored ("expanded") entity has IRIs for names and mostly plain JSON for values:

    {"id": str, "type": [iri, ...], "scope"?: [str], "createdAt"?, "modifiedAt"?, "deletedAt"?: str,
     <attribute iri>: [instance, ...]}        # one instance per datasetId
    instance = {"type": "Property" | "Relationship" | ..., one of "value" | "object" | "languageMap" |
                "vocab" | "valueList" | "objectList" | "json", core members kept short ("observedAt",
                "unitCode", "datasetId", "createdAt", "modifiedAt", "deletedAt", "objectType", "lang",
                "instanceId"), <sub-attribute iri>: instance}

Nothing here imports a web framework.
"""

from broker.ld.compact import (
    compact_attribute,
    compact_entity,
    compact_fragment,
    compact_instance,
    compact_types,
)
from broker.ld.context import (
    ContextValue,
    DocumentLoader,
    compile_context,
    core_term_map,
)
from broker.ld.context_cache import ContextResolver
from broker.ld.core import (
    DEFAULT_CORE_CONTEXT_URL,
    DEFAULT_VOCAB,
    core_context_document,
    is_core_context_url,
)
from broker.ld.expand import (
    expand_attribute,
    expand_entity,
    expand_fragment,
    expand_instance,
    expand_types,
)
from broker.ld.members import (
    ENTITY_MEMBERS,
    INSTANCE_MEMBERS,
    VALUE_MEMBERS,
    CompactedEntity,
    CompactedInstance,
    ExpandedEntity,
    ExpandedInstance,
)
from broker.ld.term_map import Iri, Term, TermDefinition, TermMap

__all__ = [
    "DEFAULT_CORE_CONTEXT_URL",
    "DEFAULT_VOCAB",
    "ENTITY_MEMBERS",
    "INSTANCE_MEMBERS",
    "VALUE_MEMBERS",
    "CompactedEntity",
    "CompactedInstance",
    "ContextResolver",
    "ContextValue",
    "DocumentLoader",
    "ExpandedEntity",
    "ExpandedInstance",
    "Iri",
    "Term",
    "TermDefinition",
    "TermMap",
    "compact_attribute",
    "compact_entity",
    "compact_fragment",
    "compact_instance",
    "compact_types",
    "compile_context",
    "core_context_document",
    "core_term_map",
    "expand_attribute",
    "expand_entity",
    "expand_fragment",
    "expand_instance",
    "expand_types",
    "is_core_context_url",
]
