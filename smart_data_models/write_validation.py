# SPDX-License-Identifier: EUPL-1.2
"""The broker's write validation: entities of chosen types must satisfy their Smart Data Model.

The broker builds one WriteValidation from its settings (`validate_types`, off when empty) and
calls `check` on the entity a write would store, in expanded form, before it is stored: an
invalid entity raises BadRequestData naming each failing attribute, and the write does not
happen. `wrap_change` and `wrap_batch_change` put that check inside the store's read-modify-write
functions, so merges and partial updates are checked on the entity they produce.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from broker.errors import BadRequestData
from broker.ld import DEFAULT_VOCAB
from smart_data_models.catalog import Model
from smart_data_models.catalog import model as model_named
from smart_data_models.validation import ValidationIssue, Validator

T = TypeVar("T")
Entity = dict[str, Any]
BatchChange = Callable[[Entity | None], tuple[Entity | None, Any]]

_MAX_ISSUES_IN_DETAIL = 20


class WriteValidation:
    """`WriteValidation({"OffStreetParking", "WeatherObserved"})`; an empty set validates nothing.

    A type is a model's short name or a type IRI. A short name covers the model's IRI in its
    Smart Data Models @context and the core default-vocabulary IRI of the name (an entity written
    without the model's @context). An unknown name raises UnknownModel at construction, so a
    typo in the settings stops the broker at start-up rather than silently validating nothing.
    """

    def __init__(self, types: Iterable[str] = ()) -> None:
        self._models_by_type: dict[str, Model] = {}
        for name in types:
            name = name.strip()
            if not name:
                continue
            chosen = model_named(name)
            if name == chosen.name:
                for key in (chosen.name, chosen.type_iri, DEFAULT_VOCAB + chosen.name):
                    self._models_by_type[key] = chosen
            else:
                self._models_by_type[name] = chosen
        for chosen in set(self._models_by_type.values()):
            Validator.of(chosen)  # compile now, not on the first write

    @classmethod
    def from_setting(cls, value: str) -> WriteValidation:
        """From a comma-separated setting such as "OffStreetParking,WeatherObserved"."""
        return cls(value.split(","))

    def __bool__(self) -> bool:
        return bool(self._models_by_type)

    @property
    def model_names(self) -> list[str]:
        return sorted({chosen.name for chosen in self._models_by_type.values()})

    def models_for(self, entity: Entity) -> list[Model]:
        types = entity.get("type")
        names = [types] if isinstance(types, str) else types if isinstance(types, list) else []
        found: list[Model] = []
        for name in names:
            chosen = self._models_by_type.get(name) if isinstance(name, str) else None
            if chosen is not None and chosen not in found:
                found.append(chosen)
        return found

    def check(self, entity: Entity) -> None:
        """Raise BadRequestData listing each failing attribute when `entity` (expanded or
        compacted) is of a validated type and does not satisfy its model; else return."""
        if not self._models_by_type:
            return
        for chosen in self.models_for(entity):
            issues = Validator.of(chosen).validate(entity)
            if issues:
                raise invalid_entity(entity.get("id"), chosen, issues)

    def wrap_change(self, change: Callable[[Entity], T]) -> Callable[[Entity], T]:
        """For store.modify_entity: apply `change` to the entity, then check what it produced."""
        if not self._models_by_type:
            return change

        def checked(entity: Entity) -> T:
            result = change(entity)
            self.check(entity)
            return result

        return checked

    def wrap_batch_change(self, change: BatchChange) -> BatchChange:
        """For store.batch_modify: check the entity the change would store (a deletion passes)."""
        if not self._models_by_type:
            return change

        def checked(current: Entity | None) -> tuple[Entity | None, Any]:
            after, result = change(current)
            if after is not None:
                self.check(after)
            return after, result

        return checked


def invalid_entity(entity_id: Any, chosen: Model, issues: list[ValidationIssue]) -> BadRequestData:
    shown = "; ".join(str(issue) for issue in issues[:_MAX_ISSUES_IN_DETAIL])
    if len(issues) > _MAX_ISSUES_IN_DETAIL:
        shown += f"; and {len(issues) - _MAX_ISSUES_IN_DETAIL} more"
    return BadRequestData(
        f"entity {entity_id} is not a valid {chosen.name} (Smart Data Model): {shown}",
        extra={"invalidAttributes": [issue.as_dict() for issue in issues]},
    )


__all__ = ["WriteValidation", "invalid_entity"]
