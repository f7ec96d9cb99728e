# SPDX-License-Identifier: EUPL-1.2
"""What Smart Data Models validation costs a write: the validators alone, and the broker's write path
with and without it.

    .venv/bin/python bench/validation.py --rounds 30 --patches 2000

1. Validation alone: microseconds per entity of WriteValidation.check on the demo's entities in the
   broker's stored (expanded) form, by type, with the compiled check (the default) and with
   jsonschema alone (what a plain Draft202012Validator costs).
2. The write path: the real app in-process (httpx ASGITransport, no sockets) on a fresh SQLite file;
   batch upserts of the demo dataset (163 entities, 27 types, 100 per request) and single-attribute
   PATCHes of a car park, without validation and with every demo type validated, wired as the
   report asks EntityService to be wired (tests/smart_data_models/test_write_validation.py).

Prints a table, writes bench/results/<timestamp>-validation.json and adds one line per scenario
to the "Smart Data Models validation" table of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self, TypeVar

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from broker.api import create_app
from broker.entities.service import EntityService
from broker.settings import Settings
from broker.store.base import BatchChange, ExpandedEntity
from smart_data_models import Validator, WriteValidation, model
from smart_data_models.demo import demo_entities, subject_of

API = "/ngsi-ld/v1"
T = TypeVar("T")
RESULTS_MARKER = "<!-- validation results: bench/validation.py inserts its lines above this marker -->"


class ValidatingEntityService(EntityService):
    def __init__(self, inner: EntityService, validation: WriteValidation) -> None:
        super().__init__(inner.store, inner.listeners)
        self.validation = validation

    async def create_entity(self, tenant: str, expanded_entity: ExpandedEntity) -> None:
        self.validation.check(expanded_entity)
        await super().create_entity(tenant, expanded_entity)

    async def batch_modify(self, tenant: str, changes: list[tuple[str, BatchChange]]) -> list[Any]:
        return await super().batch_modify(tenant, [(i, self.validation.wrap_batch_change(c)) for i, c in changes])

    async def _modify(self, tenant: str, entity_id: str, types: list[str] | None, change: Callable[[ExpandedEntity], T]) -> T:
        return await super()._modify(tenant, entity_id, types, self.validation.wrap_change(change))


def validation_alone(repeat: int) -> dict[str, Any]:
    """Median microseconds per check, by type: compiled (default) and jsonschema alone."""
    entities = demo_entities()
    expanded = [(e["type"], _expand(e)) for e in entities]
    all_types = sorted({entity_type for entity_type, _ in expanded})
    validation = WriteValidation(all_types)
    by_type: dict[str, dict[str, float]] = {}
    for entity_type in all_types:
        samples = [entity for t, entity in expanded if t == entity_type]
        plain = Validator(model(entity_type))
        plain._check = None  # jsonschema alone

        def check_all(samples: list[dict[str, Any]] = samples) -> None:
            for entity in samples:
                validation.check(entity)

        def validate_all(samples: list[dict[str, Any]] = samples, plain: Validator = plain) -> None:
            for entity in samples:
                plain.validate(entity)

        compiled = _time_per_call(check_all, repeat) / len(samples)
        slow = _time_per_call(validate_all, max(3, repeat // 10)) / len(samples)
        by_type[entity_type] = {"compiled_us": round(compiled * 1e6, 1), "jsonschema_us": round(slow * 1e6, 1)}
    return {
        "by_type": by_type,
        "median_compiled_us": round(statistics.median(v["compiled_us"] for v in by_type.values()), 1),
        "median_jsonschema_us": round(statistics.median(v["jsonschema_us"] for v in by_type.values()), 1),
    }


def _expand(entity: dict[str, Any]) -> dict[str, Any]:
    from broker.ld import expand_entity

    return expand_entity(entity, model(entity["type"]).term_map())


def _time_per_call(call: Callable[[], Any], repeat: int) -> float:
    call()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


class WritePath:
    """The real app in-process on its own SQLite file, with or without write validation."""

    def __init__(self, validated: bool, synchronous: str, workdir: Path) -> None:
        name = f"{'on' if validated else 'off'}-{synchronous.lower()}"
        self.app = create_app(Settings.from_mapping({}, store=f"sqlite:///{workdir}/{name}.db", sqlite_synchronous=synchronous))
        self.validated = validated
        self.entities = demo_entities()
        self.contexts: dict[str, str] = {}
        self.round = 0
        self.patches = 0

    async def __aenter__(self) -> Self:
        self._lifespan = self.app.router.lifespan_context(self.app)
        await self._lifespan.__aenter__()
        if self.validated:
            types = sorted({entity["type"] for entity in self.entities})
            self.app.state.entity_service = ValidatingEntityService(self.app.state.entity_service, WriteValidation(types))
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://bench")
        for subject in sorted({subject_of(entity) for entity in self.entities}):
            created = await self.http.post(f"{API}/jsonldContexts", json=model_for_subject(subject).context())
            self.contexts[subject] = "http://bench" + created.headers["Location"]
        await self.upsert_rounds(1)  # warm-up: caches, compiled validators, the car park to patch
        await self.patch(50)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()
        await self._lifespan.__aexit__(None, None, None)

    async def upsert_rounds(self, rounds: int) -> float:
        """Entities per second: the demo dataset upserted `rounds` times under new ids, 100 per request."""
        by_subject: dict[str, list[dict[str, Any]]] = {}
        for entity in self.entities:
            by_subject.setdefault(subject_of(entity), []).append(entity)
        written = 0
        started = time.perf_counter()
        for _ in range(rounds):
            suffix = f"-{self.round}"
            self.round += 1
            for subject, group in by_subject.items():
                for start in range(0, len(group), 100):
                    chunk = [{**e, "id": e["id"] + suffix} for e in group[start : start + 100]]
                    response = await self.http.post(f"{API}/entityOperations/upsert", json=chunk, headers=_link(self.contexts[subject]))
                    assert response.status_code in (201, 204), response.text
                    written += len(chunk)
        return written / (time.perf_counter() - started)

    async def patch(self, count: int) -> float:
        """Requests per second: PATCH availableSpotNumber of one car park."""
        link = _link(self.contexts["dataModel.Parking"])
        started = time.perf_counter()
        for _ in range(count):
            self.patches += 1
            response = await self.http.patch(
                f"{API}/entities/urn:ngsi-ld:OffStreetParking:hamm-hauptbahnhof-0/attrs/availableSpotNumber",
                json={"value": self.patches % 500},
                headers=link,
            )
            assert response.status_code == 204, response.text
        return count / (time.perf_counter() - started)


async def write_path(synchronous: str, rounds: int, patches: int, blocks: int, workdir: Path) -> dict[str, dict[str, float]]:
    """Median rates over `blocks` alternating blocks (without, with, without, ...), so that drift on
    a shared machine hits both alike."""
    rates: dict[str, dict[str, list[float]]] = {"off": {"upsert": [], "patch": []}, "on": {"upsert": [], "patch": []}}
    async with WritePath(False, synchronous, workdir) as off, WritePath(True, synchronous, workdir) as on:
        for _ in range(blocks):
            for name, path in (("off", off), ("on", on)):
                rates[name]["upsert"].append(await path.upsert_rounds(max(1, rounds // blocks)))
                rates[name]["patch"].append(await path.patch(max(1, patches // blocks)))
    return {
        name: {
            "upsert_entities_per_s": round(statistics.median(figures["upsert"]), 1),
            "patches_per_s": round(statistics.median(figures["patch"]), 1),
        }
        for name, figures in rates.items()
    }


def model_for_subject(subject: str) -> Any:
    from smart_data_models import models

    return next(chosen for chosen in models().values() if chosen.subject == subject)


def _link(url: str) -> dict[str, str]:
    return {"Link": f'<{url}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'}


def machine() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")] if cpuinfo.exists() else []
    return f"{os.cpu_count()} cores, {names[0] if names else platform.processor()}"


def commit() -> str:
    """The checked-out commit, read from .git (no git process)."""
    head = ROOT / ".git" / "HEAD"
    try:
        ref = head.read_text().strip()
        if ref.startswith("ref: "):
            ref_path = ROOT / ".git" / ref[5:]
            if ref_path.exists():
                return ref_path.read_text().strip()[:7]
            packed = (ROOT / ".git" / "packed-refs").read_text().splitlines()
            return next(line.split()[0][:7] for line in packed if line.endswith(ref[5:]))
        return ref[:7]
    except (OSError, StopIteration):
        return "unknown"


def record_lines(record: dict[str, Any]) -> None:
    """Append rows to the validation table of RESULTS.md (the broker table stays last, for bench/run.py)."""
    path = ROOT / "bench" / "RESULTS.md"
    text = path.read_text(encoding="utf-8")
    alone = record["validation_alone"]
    rows = [
        ("check per entity, compiled (median of 27 types)", f"{alone['median_compiled_us']} µs", ""),
        ("check per entity, jsonschema alone (median of 27 types)", f"{alone['median_jsonschema_us']} µs", ""),
    ]
    for synchronous, rates in record["write_path"].items():
        off, on, overhead = rates["off"], rates["on"], record["overhead"][synchronous]
        rows.append((f"batch upsert, entities/s (synchronous={synchronous})",
                     f"{off['upsert_entities_per_s']} → {on['upsert_entities_per_s']}", f"{overhead['upsert_percent']} %"))
        rows.append((f"PATCH one attribute, requests/s (synchronous={synchronous})",
                     f"{off['patches_per_s']} → {on['patches_per_s']}", f"{overhead['patch_percent']} %"))
    lines = [f"| {record['date'][:10]} | {record['commit']} | sqlite | {name} | {figure} | {overhead} |" for name, figure, overhead in rows]
    marker = text.index(RESULTS_MARKER)
    path.write_text(text[:marker] + "\n".join(lines) + "\n" + text[marker:], encoding="utf-8")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30, help="times the demo dataset is upserted (new ids each time)")
    parser.add_argument("--patches", type=int, default=2000, help="single-attribute PATCH requests")
    parser.add_argument("--repeat", type=int, default=200, help="repetitions of the validation-alone timing")
    parser.add_argument("--blocks", type=int, default=6, help="alternating timed blocks per write scenario")
    args = parser.parse_args()

    alone = validation_alone(args.repeat)
    print(f"validation alone: median {alone['median_compiled_us']} µs compiled, {alone['median_jsonschema_us']} µs jsonschema")
    for entity_type, figures in alone["by_type"].items():
        print(f"  {entity_type:<24} {figures['compiled_us']:>8} µs  {figures['jsonschema_us']:>8} µs")
    with tempfile.TemporaryDirectory(prefix="citycontext-bench-validation-") as workdir:
        write = {
            synchronous: await write_path(synchronous, args.rounds, args.patches, args.blocks, Path(workdir))
            for synchronous in ("FULL", "OFF")
        }
    overhead = {
        synchronous: {
            "upsert_percent": round(100 * (r["off"]["upsert_entities_per_s"] / r["on"]["upsert_entities_per_s"] - 1), 1),
            "patch_percent": round(100 * (r["off"]["patches_per_s"] / r["on"]["patches_per_s"] - 1), 1),
        }
        for synchronous, r in write.items()
    }
    for synchronous, r in write.items():
        print(f"SQLite synchronous={synchronous}: without {r['off']}, with {r['on']}; time added {overhead[synchronous]}")
    record: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit(),
        "machine": machine(),
        "command": "python " + " ".join(sys.argv),
        "validation_alone": alone,
        "write_path": write,
        "overhead": overhead,
    }
    out = ROOT / "bench" / "results" / f"{record['date'].replace(':', '')}-validation.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    record_lines(record)
    print(f"wrote {out}")


if __name__ == "__main__":
    asyncio.run(main())
