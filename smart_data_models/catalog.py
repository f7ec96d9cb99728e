# SPDX-License-Identifier: EUPL-1.2
"""The Smart Data Models shipped as package data: which models, their files, @contexts and $refs.

Everything is read from `smart_data_models/models/` (see ATTRIBUTION.md for sources and
licences); nothing is fetched. `refs.json` maps every remote URL a schema or example names
(`$id`, `$ref`, `@context`) to a shipped file. Validation lives in `validation.py`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from types import MappingProxyType
from typing import Any

from broker.ld import DEFAULT_CORE_CONTEXT_URL, DEFAULT_VOCAB, TermMap, compile_context

CITY_SUBJECT = "dataModel.Hamm"
"""The subject of the models the city defines itself (EUPL-1.2), laid out like an SDM subject."""


class UnknownModel(LookupError):
    """No shipped model has this name or type IRI."""


@dataclass(frozen=True, slots=True)
class Model:
    """One data model: `name` is the entity type's short name, `type_iri` its IRI in the subject @context."""

    name: str
    subject: str
    type_iri: str
    schema_id: str

    @property
    def city_defined(self) -> bool:
        return self.subject == CITY_SUBJECT

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = _load_json(f"{self.subject}/{self.name}/schema.json")
        return schema

    def example(self, file_name: str) -> Any:
        """An example as shipped: "example.json", "example.jsonld", "example-normalized.jsonld", ..."""
        return _load_json(f"{self.subject}/{self.name}/examples/{file_name}")

    def example_names(self) -> list[str]:
        folder = models_root() / self.subject / self.name / "examples"
        return sorted(item.name for item in folder.iterdir() if item.name.endswith((".json", ".jsonld")))

    def context(self) -> dict[str, Any]:
        """The @context document of the model's subject ({"@context": {...}})."""
        return subject_context(self.subject)

    def term_map(self) -> TermMap:
        """The subject @context with the NGSI-LD core context, compiled as the broker compiles it."""
        return subject_term_map(self.subject)


def models_root() -> Traversable:
    return resources.files("smart_data_models") / "models"


def read_text(path: str) -> str:
    """A shipped file by its path under models/ (as refs.json and MANIFEST.json name it)."""
    return (models_root() / path).read_text(encoding="utf-8")


@functools.cache
def _load_json(path: str) -> Any:
    return json.loads(read_text(path))


def load_json(path: str) -> Any:
    """A shipped JSON file, parsed once and shared: callers must not mutate it."""
    return _load_json(path)


@functools.cache
def _models() -> Mapping[str, Model]:
    found: dict[str, Model] = {}
    for subject in sorted(models_root().iterdir(), key=lambda item: item.name):
        if not subject.is_dir() or not subject.name.startswith("dataModel."):
            continue
        context = subject_context(subject.name)["@context"]
        for folder in sorted(subject.iterdir(), key=lambda item: item.name):
            if not folder.is_dir() or not (folder / "schema.json").is_file():
                continue
            schema = _load_json(f"{subject.name}/{folder.name}/schema.json")
            found[folder.name] = Model(
                name=folder.name, subject=subject.name, type_iri=context[folder.name], schema_id=schema["$id"]
            )
    return MappingProxyType(found)


def models() -> Mapping[str, Model]:
    """Every shipped model by name, Smart Data Models and city-defined ones."""
    return _models()


@functools.cache
def _models_by_type_iri() -> Mapping[str, Model]:
    by_iri: dict[str, Model] = {}
    for model in _models().values():
        by_iri[model.type_iri] = model
        # An entity written without the model's @context gets the core's default vocabulary.
        by_iri.setdefault(DEFAULT_VOCAB + model.name, model)
    return MappingProxyType(by_iri)


def model(name_or_iri: str) -> Model:
    """A model by its short name ("OffStreetParking") or a type IRI; UnknownModel otherwise."""
    found = _models().get(name_or_iri) or _models_by_type_iri().get(name_or_iri)
    if found is None:
        raise UnknownModel(
            f"no shipped Smart Data Model for type {name_or_iri!r}; known: {', '.join(sorted(_models()))}"
        )
    return found


def find_model(name_or_iri: str) -> Model | None:
    return _models().get(name_or_iri) or _models_by_type_iri().get(name_or_iri)


def subject_context(subject: str) -> dict[str, Any]:
    """The @context document of a subject, as shipped (shared: do not mutate)."""
    document: dict[str, Any] = _load_json(f"{subject}/context.jsonld")
    return document


@functools.cache
def subject_term_map(subject: str) -> TermMap:
    return compile_context([subject_context(subject)["@context"], DEFAULT_CORE_CONTEXT_URL])


def subjects() -> list[str]:
    return sorted({model.subject for model in _models().values()})


@functools.cache
def refs() -> Mapping[str, str]:
    """Remote URL (without fragment) -> shipped path under models/."""
    mapping: dict[str, str] = _load_json("refs.json")
    return MappingProxyType(mapping)


def document_for_url(url: str) -> Any:
    """The shipped document a remote URL stands for (a schema or an @context); KeyError if none."""
    path = refs()[url.split("#", 1)[0]]
    return _load_json(path)


def manifest() -> dict[str, Any]:
    manifest_document: dict[str, Any] = _load_json("MANIFEST.json")
    return manifest_document


__all__ = [
    "CITY_SUBJECT",
    "Model",
    "UnknownModel",
    "document_for_url",
    "find_model",
    "load_json",
    "manifest",
    "model",
    "models",
    "models_root",
    "read_text",
    "refs",
    "subject_context",
    "subject_term_map",
    "subjects",
]
