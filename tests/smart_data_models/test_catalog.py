# SPDX-License-Identifier: EUPL-1.2
"""The shipped models: present as package data, attributed, traceable to upstream, resolvable offline."""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from smart_data_models import CITY_SUBJECT, UnknownModel, model, models
from smart_data_models.catalog import document_for_url, manifest, models_root, read_text, refs, subject_term_map
from smart_data_models.schemas import registry

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "smart_data_models"

# The models the issue lists, plus WasteContainerModel (WasteContainer refers to it) and the city's own.
ISSUE_MODELS = ["TrafficFlowObserved", "ItemFlowObserved", "CrowdFlowObserved", "RoadSegment", "EVChargingStation", "BikeHireDockingStation", "Vehicle", "OffStreetParking", "OnStreetParking", "ParkingSpot", "ParkingGroup", "WeatherObserved", "AirQualityObserved", "Device", "DeviceModel", "DeviceMeasurement", "WasteContainer", "WasteContainerIsle", "WasteObserved", "PointOfInterest", "Event", "IssueReporting", "Streetlight", "Building"]
CITY_MODELS = ("TrafficSignal", "ParticipationProject")


def _files() -> list[str]:
    return sorted(
        path.relative_to(PACKAGE / "models").as_posix()
        for path in (PACKAGE / "models").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    )


def test_every_model_the_city_uses_is_shipped() -> None:
    shipped = set(models())
    assert set(ISSUE_MODELS) <= shipped
    assert set(CITY_MODELS) <= shipped
    assert shipped == set(ISSUE_MODELS) | set(CITY_MODELS) | {"WasteContainerModel"}


def test_models_are_read_through_importlib_resources() -> None:
    assert (models_root() / "dataModel.Parking" / "OffStreetParking" / "schema.json").is_file()
    assert model("OffStreetParking").schema()["$id"].endswith("OffStreetParking/schema.json")


@pytest.mark.parametrize("name", sorted(set(ISSUE_MODELS) | {"WasteContainerModel"}))
def test_every_smart_data_model_keeps_its_licence_and_source_commit(name: str) -> None:
    chosen = model(name)
    licence = read_text(f"{chosen.subject}/{name}/LICENSE.md")
    assert "Attribution 4.0 International" in licence
    entries = [entry for entry in manifest()["files"] if entry["file"].startswith(f"{chosen.subject}/{name}/")]
    assert entries and all(re.fullmatch(r"[0-9a-f]{40}", entry["sourceCommit"]) for entry in entries)
    assert all(entry["license"] == "CC-BY-4.0" and entry["sourceRepo"] == f"smart-data-models/{chosen.subject}" for entry in entries)


def test_city_models_are_eupl_and_say_so() -> None:
    for name in CITY_MODELS:
        chosen = model(name)
        assert chosen.city_defined and chosen.subject == CITY_SUBJECT
        assert chosen.schema()["license"] == "EUPL-1.2"
        assert (models_root() / CITY_SUBJECT / name / "spec.md").is_file()
        assert set(chosen.example_names()) == {"example.json", "example.jsonld", "example-normalized.jsonld"}
    assert "EUPL-1.2" in read_text(f"{CITY_SUBJECT}/LICENSE.md")
    assert all(entry["license"] == "EUPL-1.2" for entry in manifest()["files"] if entry["file"].startswith(CITY_SUBJECT))


def test_the_manifest_lists_every_shipped_file_with_its_hash() -> None:
    listed = {entry["file"]: entry for entry in manifest()["files"]}
    shipped = [path for path in _files() if path not in ("MANIFEST.json", "refs.json") and not path.startswith("upstream/")]
    assert sorted(listed) == shipped
    for path, entry in listed.items():
        digest = hashlib.sha256((PACKAGE / "models" / path).read_bytes()).hexdigest()
        # After editing a city-defined file, put this digest in its MANIFEST.json entry; an upstream
        # file must not change without "modified", "upstreamSha256" and a copy under upstream/.
        assert digest == entry["sha256"], f"{path}: sha256 is {digest}"


def test_every_modified_file_keeps_its_upstream_bytes_and_says_what_changed() -> None:
    modified = [entry for entry in manifest()["files"] if "modified" in entry]
    assert len(modified) == 9
    for entry in modified:
        upstream = (PACKAGE / "models" / entry["upstreamCopy"]).read_bytes()
        assert hashlib.sha256(upstream).hexdigest() == entry["upstreamSha256"]
        assert entry["upstreamSha256"] != entry["sha256"]
        assert entry["modified"].startswith("upstream defect:")
    attribution = (PACKAGE / "ATTRIBUTION.md").read_text(encoding="utf-8")
    for entry in modified:
        assert f"`{entry['file']}`" in attribution


def test_attribution_names_every_source_repository_and_commit() -> None:
    attribution = (PACKAGE / "ATTRIBUTION.md").read_text(encoding="utf-8")
    assert "CC BY 4.0" in attribution and "https://smartdatamodels.org" in attribution and "EUPL-1.2" in attribution
    for entry in manifest()["files"]:
        if "sourceCommit" in entry:
            assert entry["sourceCommit"] in attribution, entry["file"]


def test_refs_point_at_shipped_files() -> None:
    for url, path in refs().items():
        assert url.startswith("https://"), url
        assert (PACKAGE / "models" / path).is_file(), (url, path)


def _refs_in(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["$ref"]] if isinstance(value.get("$ref"), str) else []
        return found + [ref for item in value.values() for ref in _refs_in(item)]
    if isinstance(value, list):
        return [ref for item in value for ref in _refs_in(item)]
    return []


@pytest.mark.parametrize("name", sorted(models()))
def test_every_schema_is_valid_2020_12_and_every_ref_resolves_offline(name: str) -> None:
    chosen = model(name)
    schema = chosen.schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    resolver = registry().resolver(base_uri=chosen.schema_id)
    for ref in _refs_in(schema):
        assert resolver.lookup(ref).contents is not None, ref


def test_every_context_an_example_names_is_shipped_or_core() -> None:
    from broker.ld import is_core_context_url

    for chosen in models().values():
        for name in chosen.example_names():
            if not name.endswith(".jsonld"):
                continue
            contexts = chosen.example(name).get("@context", [])
            for url in contexts if isinstance(contexts, list) else [contexts]:
                assert is_core_context_url(url) or document_for_url(url), (chosen.name, name, url)


@pytest.mark.parametrize("subject", sorted({chosen.subject for chosen in models().values()}))
def test_every_subject_context_compiles_and_names_its_models(subject: str) -> None:
    term_map = subject_term_map(subject)
    for chosen in models().values():
        if chosen.subject == subject:
            assert term_map.expand_type(chosen.name) == chosen.type_iri
            assert term_map.compact_type(chosen.type_iri) == chosen.name


def test_an_unknown_model_is_named_in_the_error() -> None:
    with pytest.raises(UnknownModel, match="Parkhaus"):
        model("Parkhaus")


def test_package_data_globs_cover_every_shipped_file() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["smart_data_models"]
    dependencies = " ".join(pyproject["project"]["dependencies"])
    assert "jsonschema>=4.18" in dependencies and "referencing>=0.30" in dependencies
    for path in ["ATTRIBUTION.md"] + [f"models/{file}" for file in _files()]:
        assert any(_glob_match(path, pattern) for pattern in patterns), path


def _glob_match(path: str, pattern: str) -> bool:
    """setuptools package-data semantics: '**' spans folders, '*' stays within one."""
    regex = re.escape(pattern).replace(r"\*\*/", "(?:.*/)?").replace(r"\*\*", ".*").replace(r"\*", "[^/]*")
    return re.fullmatch(regex, path) is not None


def test_json_files_are_json() -> None:
    for path in _files():
        if path.endswith((".json", ".jsonld")) and not path.startswith("upstream/"):
            json.loads((PACKAGE / "models" / path).read_text(encoding="utf-8"))
