# SPDX-License-Identifier: EUPL-1.2
"""Validate NGSI-LD entities against the shipped Smart Data Models, with errors a person can act on.

`validate(entity)` picks the model from the entity's type, turns the entity into keyValues
(key_values.py) and checks it against the model's JSON Schema (2020-12, $refs resolved from the
shipped files). It returns a list of ValidationIssue (attribute path + reason); empty means valid.
Entities in the broker's stored, expanded form (IRIs for names) are compacted with the model's
subject @context first.

One Validator per model is built on first use and kept: the jsonschema validator for the error
messages and a compiled predicate (compiled.py) that decides the common case, a valid entity,
without walking the schema.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from jsonschema.exceptions import ValidationError as SchemaError  # type: ignore[import-untyped]
from jsonschema.exceptions import best_match
from referencing.jsonschema import DRAFT202012

from broker.ld import DEFAULT_VOCAB, TermMap, compact_entity
from smart_data_models.catalog import Model, UnknownModel, find_model
from smart_data_models.catalog import model as model_named
from smart_data_models.compiled import Check, Unsupported, compile_check
from smart_data_models.key_values import to_key_values
from smart_data_models.schemas import format_checker, registry

log = logging.getLogger("citycontext.smart_data_models")

_MAX_VALUE_CHARS = 80
_MAX_ENUM_SHOWN = 12


@dataclass(frozen=True, slots=True)
class ValidationIssue:
    """One failure: `path` names the attribute (then items and members: "category[1]",
    "address.postalCode"; "" for the entity as a whole), `reason` says what is wrong."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}" if self.path else self.reason

    def as_dict(self) -> dict[str, str]:
        return {"attribute": self.path, "reason": self.reason}


class Validator:
    """The compiled validation of one model; get it with Validator.of(model or name)."""

    def __init__(self, model: Model) -> None:
        self.model = model
        schema = model.schema()
        self._schema_validator = Draft202012Validator(schema, registry=registry(), format_checker=format_checker())
        try:
            resolver = registry().resolver_with_root(DRAFT202012.create_resource(schema))
            self._check: Check | None = compile_check(schema, resolver, format_checker())
        except Unsupported as exc:  # jsonschema alone then: correct, slower
            log.info("model %s is validated without the compiled check: %s", model.name, exc)
            self._check = None

    @staticmethod
    def of(model: Model | str) -> Validator:
        return _validator(model if isinstance(model, Model) else model_named(model))

    def is_valid(self, key_values_document: dict[str, Any]) -> bool:
        if self._check is not None and self._check(key_values_document):
            return True
        return bool(self._schema_validator.is_valid(key_values_document))

    def issues(self, key_values_document: dict[str, Any]) -> list[ValidationIssue]:
        """Every failure of a keyValues document (the entity's type must be this model's name)."""
        if self._check is not None and self._check(key_values_document):
            return []
        issues = _dedupe(_issue(error) for error in self._schema_validator.iter_errors(key_values_document))
        return sorted(issues, key=lambda issue: issue.path)

    def validate(self, entity: dict[str, Any], *, representation: str | None = None) -> list[ValidationIssue]:
        """Every failure of an entity in any representation (see the module docstring)."""
        if _looks_expanded(entity):
            entity = compact_for_validation(entity, self.model)
        converted = to_key_values(entity, representation=representation)
        document = converted.document
        document["type"] = self.model.name  # the entity may have several types, or a type IRI
        found = [ValidationIssue(path, reason) for path, reason in converted.shape_errors]
        misshapen = {path for path, _ in converted.shape_errors}
        found.extend(issue for issue in self.issues(document) if issue.path not in misshapen)  # not "missing" too
        for name, dataset_id, value in converted.extra_instances:
            variant = {**document, name: value}
            for issue in self.issues(variant):
                if issue.path == name or issue.path.startswith((name + ".", name + "[")):
                    found.append(ValidationIssue(f"{issue.path} (datasetId {dataset_id})", issue.reason))
        return found


@functools.cache
def _validator(model: Model) -> Validator:
    return Validator(model)


def validate(
    entity: dict[str, Any], *, model: Model | str | None = None, representation: str | None = None
) -> list[ValidationIssue]:
    """The failures of `entity` against its Smart Data Model; [] when it is valid.

    The model is `model` when given, else the first of the entity's types that names a shipped
    model (a short name, the model's IRI, or the core default-vocabulary IRI of its name).
    UnknownModel when there is none. `representation` forces "keyValues" or "normalized";
    by default each attribute's form is recognised (normalized, concise and keyValues mixed).
    """
    chosen = model_of(entity) if model is None else model if isinstance(model, Model) else model_named(model)
    return Validator.of(chosen).validate(entity, representation=representation)


def model_of(entity: dict[str, Any]) -> Model:
    types = entity.get("type")
    names = [types] if isinstance(types, str) else types if isinstance(types, list) else []
    for name in names:
        if isinstance(name, str):
            found = find_model(name)
            if found is not None:
                return found
    raise UnknownModel(f"no shipped Smart Data Model for type {types!r}")


def compact_for_validation(expanded_entity: dict[str, Any], model: Model) -> dict[str, Any]:
    """An expanded entity with the names of the model's @context (normalized representation).

    Names in the core's default vocabulary (an entity written without the model's @context)
    become their short names too, so that they are checked against the schema.
    """
    term_map = model.term_map()
    return compact_entity(_out_of_default_vocab(expanded_entity, term_map), term_map)


def _out_of_default_vocab(value: Any, term_map: TermMap) -> Any:
    """Default-vocabulary IRIs (names and compound-value keys) as the model's @context expands their term."""
    if isinstance(value, list):
        return [_out_of_default_vocab(item, term_map) for item in value]
    if not isinstance(value, dict):
        return value
    return {
        (term_map.expand_term(key[len(DEFAULT_VOCAB) :]) if key.startswith(DEFAULT_VOCAB) else key): (
            item if key in ("type", "id") else _out_of_default_vocab(item, term_map)
        )
        for key, item in value.items()
    }


def _looks_expanded(entity: dict[str, Any]) -> bool:
    """The broker's stored form: type is a list of absolute IRIs."""
    types = entity.get("type")
    return (
        isinstance(types, list)
        and bool(types)
        and all(isinstance(t, str) and t.startswith(("http://", "https://", "urn:")) for t in types)
    )


def _issue(error: SchemaError) -> ValidationIssue:
    path = list(error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = next((name for name in error.validator_value if name not in error.instance), "")
        return ValidationIssue(_path(path + [missing]), "is required but missing")
    if error.validator in ("anyOf", "oneOf") and error.context:
        specific = _furthest_branch_error(error)
        if len(specific.absolute_path) > len(path):  # deeper inside the value: that is the actual problem
            return _issue(specific)
        return ValidationIssue(_path(path), _reason(error, f"matches none of the allowed forms ({specific.message})"))
    if error.validator == "enum" and isinstance(error.validator_value, list):
        allowed = [str(value) for value in error.validator_value]
        shown = ", ".join(allowed[:_MAX_ENUM_SHOWN]) + (f", ... ({len(allowed)} values)" if len(allowed) > _MAX_ENUM_SHOWN else "")
        return ValidationIssue(_path(path), _reason(error, f"{error.instance!r} is not one of the allowed values: {shown}"))
    return ValidationIssue(_path(path), _reason(error, error.message))


def _furthest_branch_error(error: SchemaError) -> SchemaError:
    """Of the anyOf/oneOf branches, the one whose errors are deepest in the value (it matched the
    most: a GeoJSON Point with a bad coordinate is a bad Point, not a bad Polygon); its best error."""
    branches: dict[Any, list[SchemaError]] = {}
    for sub in error.context or ():
        branches.setdefault(sub.relative_schema_path[0] if sub.relative_schema_path else None, []).append(sub)
    furthest = max(branches.values(), key=lambda errors: min(len(e.relative_path) for e in errors))
    return best_match(furthest)


def _reason(error: SchemaError, message: str) -> str:
    shown = repr(error.instance)
    if len(shown) > _MAX_VALUE_CHARS:
        message = message.replace(shown, shown[: _MAX_VALUE_CHARS - 3] + "...")
    return message


def _path(parts: list[Any]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _dedupe(issues: Iterable[ValidationIssue]) -> list[ValidationIssue]:
    return list(dict.fromkeys(issues))


__all__ = ["ValidationIssue", "Validator", "compact_for_validation", "model_of", "validate"]
