# SPDX-License-Identifier: EUPL-1.2
"""The Hamm demo: a realistic city dataset, loaded into a running broker in one call.

    citycontext demo [--broker http://127.0.0.1:1026] [--tenant NAME]
    citycontext serve --demo

`demo_entities(now)` gives the entities of demo_dataset.py with their observed attributes at
`now` (normalized NGSI-LD, Smart Data Models attribute names, no @context). `load_demo(url)`
sends them over the broker's public HTTP API: it first POSTs each Smart Data Models subject's
@context (shipped with this package) to /ngsi-ld/v1/jsonldContexts, reusing one the broker
already hosts, and then upserts the entities of each subject in batches with that hosted
@context in the Link header, so their names expand to the Smart Data Models IRIs. Nothing is
fetched from the internet. The hosted @context URLs are in the report: use them in a Link header
to read the entities with their short names.

`demo_history(now, days=7)` gives a week of values for every observed attribute, as temporal
entities ready for POST /ngsi-ld/v1/temporal/entities; `load_history(report)` posts them
(`citycontext demo --history`). Loading the current values never needs the temporal API.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import logging
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from smart_data_models.catalog import model as model_named
from smart_data_models.catalog import subject_context
from smart_data_models.demo_dataset import DemoEntity, hamm_dataset

log = logging.getLogger("citycontext.demo")

DEFAULT_BROKER_URL = "http://127.0.0.1:1026"
API = "/ngsi-ld/v1"
CONTEXTS_PATH = API + "/jsonldContexts"
JSON_LD_CONTEXT_REL = "http://www.w3.org/ns/json-ld#context"
DEFAULT_CHUNK_SIZE = 100
DEFAULT_TIMEOUT_S = 30.0
_FLOW_TYPES = frozenset(("TrafficFlowObserved", "ItemFlowObserved", "CrowdFlowObserved"))


class DemoLoadError(RuntimeError):
    """The broker refused part of the demo, or could not be reached."""


@dataclass
class DemoReport:
    """What load_demo wrote: entities per type, the hosted @context URL per subject, failures."""

    broker_url: str
    tenant: str | None
    entities_by_type: dict[str, int] = field(default_factory=dict)
    context_urls: dict[str, str] = field(default_factory=dict)  # subject -> hosted @context URL
    errors: list[dict[str, Any]] = field(default_factory=list)
    history_instances: int = 0  # attribute instances posted to /temporal/entities (load_history)
    elapsed_s: float = 0.0

    @property
    def entity_count(self) -> int:
        return sum(self.entities_by_type.values())

    def context_url_for(self, entity_type: str) -> str:
        return self.context_urls[model_named(entity_type).subject]

    def summary(self) -> str:
        lines = [
            f"Loaded {self.entity_count} entities of {len(self.entities_by_type)} types into {self.broker_url}"
            + (f" (tenant {self.tenant})" if self.tenant else "")
            + f" in {self.elapsed_s:.1f} s."
        ]
        for entity_type, count in sorted(self.entities_by_type.items()):
            lines.append(f"  {entity_type:<24} {count:>4}")
        lines.append("Read them with their Smart Data Models names by naming the subject's @context, e.g.:")
        if "dataModel.Parking" in self.context_urls:
            lines.append(
                f"  curl -G {self.broker_url}{API}/entities -d type=OffStreetParking -d options=keyValues \\\n"
                f"    -H 'Link: <{self.context_urls['dataModel.Parking']}>; rel=\"{JSON_LD_CONTEXT_REL}\"; type=\"application/ld+json\"'"
            )
        for subject, url in sorted(self.context_urls.items()):
            lines.append(f"  {subject:<30} {url}")
        if self.history_instances:
            lines.append(f"History: {self.history_instances} attribute instances posted to {API}/temporal/entities.")
        for error in self.errors:
            lines.append(f"  failed: {error.get('entityId')}: {error.get('error', {}).get('detail')}")
        return "\n".join(lines)


# -- the data -------------------------------------------------------------------------------------------


def default_now() -> datetime:
    """Now, to the minute, in UTC."""
    return datetime.now(UTC).replace(second=0, microsecond=0)


def iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def floor_time(at: datetime, step_s: int) -> datetime:
    seconds = int(at.timestamp())
    return datetime.fromtimestamp(seconds - seconds % step_s, UTC)


def demo_entities(now: datetime | None = None) -> list[dict[str, Any]]:
    """Every demo entity as it is at `now`: normalized, Smart Data Models names, no @context."""
    at = now or default_now()
    return [entity_at(item, at) for item in hamm_dataset()]


def entity_at(item: DemoEntity, now: datetime) -> dict[str, Any]:
    entity = copy.deepcopy(item.entity)
    for name, observed in item.observed.items():
        observed_at = floor_time(now, observed.step_s)
        attribute: dict[str, Any] = {"type": "Property", "value": observed.signal(observed_at), "observedAt": iso(observed_at)}
        if observed.unit_code:
            attribute["unitCode"] = observed.unit_code
        entity[name] = attribute
    if item.interval_s:
        end = floor_time(now, item.interval_s)
        entity["dateObserved"] = {"type": "Property", "value": iso(end)}
        if item.type in _FLOW_TYPES:
            entity["dateObservedFrom"] = {"type": "Property", "value": iso(end - timedelta(seconds=item.interval_s))}
            entity["dateObservedTo"] = {"type": "Property", "value": iso(end)}
    return entity


def demo_history(
    now: datetime | None = None, *, days: float = 7, max_instances: int = 1000
) -> Iterator[dict[str, Any]]:
    """A week (by default) of every observed attribute, as temporal entities (normalized).

    Each yielded dict is one body for POST /ngsi-ld/v1/temporal/entities: {"id", "type",
    attribute: [instance, ...]} with each instance {"type": "Property", "value", "observedAt"
    (, "unitCode")}, oldest first, at most `max_instances` instances per body; an entity with
    more yields several bodies (the temporal API appends instances to an existing entity).
    The last instance of each series is the value demo_entities(now) loads.
    """
    end = now or default_now()
    start = end - timedelta(days=days)
    for item in hamm_dataset():
        series = {name: observed for name, observed in item.observed.items() if observed.history}
        if not series:
            continue
        body: dict[str, Any] = {"id": item.id, "type": item.type}
        count = 0
        for name, observed in series.items():
            at = floor_time(start, observed.step_s) + timedelta(seconds=observed.step_s)
            last = floor_time(end, observed.step_s)
            while at <= last:
                instance: dict[str, Any] = {"type": "Property", "value": observed.signal(at), "observedAt": iso(at)}
                if observed.unit_code:
                    instance["unitCode"] = observed.unit_code
                body.setdefault(name, []).append(instance)
                count += 1
                if count >= max_instances:
                    yield body
                    body, count = {"id": item.id, "type": item.type}, 0
                at += timedelta(seconds=observed.step_s)
        if count:
            yield body


def subject_of(entity: dict[str, Any]) -> str:
    return model_named(str(entity["type"])).subject


# -- loading ---------------------------------------------------------------------------------------------


async def load_demo(
    broker_url: str = DEFAULT_BROKER_URL,
    *,
    tenant: str | None = None,
    now: datetime | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> DemoReport:
    """Upsert the demo into a running broker; DemoLoadError when it cannot be done at all.

    Entities the broker rejects one by one (a 207 answer) are listed in the report's errors;
    loading twice replaces the entities with fresh values and reuses the hosted @contexts.
    """
    started = time.monotonic()
    base = broker_url.rstrip("/")
    report = DemoReport(base, tenant)
    entities = demo_entities(now)
    by_subject: dict[str, list[dict[str, Any]]] = {}
    for entity in entities:
        by_subject.setdefault(subject_of(entity), []).append(entity)
    headers = {"NGSILD-Tenant": tenant} if tenant else {}
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s), headers=headers) as session:
            report.context_urls = await _host_contexts(session, base, sorted(by_subject))
            for subject, group in by_subject.items():
                link = f'<{report.context_urls[subject]}>; rel="{JSON_LD_CONTEXT_REL}"; type="application/ld+json"'
                for start in range(0, len(group), chunk_size):
                    chunk = group[start : start + chunk_size]
                    failed = await _upsert(session, base, chunk, link)
                    report.errors.extend(failed)
                    failed_ids = {error.get("entityId") for error in failed}
                    for entity in chunk:
                        if entity["id"] not in failed_ids:
                            report.entities_by_type[entity["type"]] = report.entities_by_type.get(entity["type"], 0) + 1
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise DemoLoadError(f"cannot load the demo into {base}: {exc or type(exc).__name__}") from exc
    report.entities_by_type = dict(sorted(report.entities_by_type.items()))
    report.elapsed_s = time.monotonic() - started
    return report


async def _host_contexts(session: aiohttp.ClientSession, base: str, subjects: list[str]) -> dict[str, str]:
    """subject -> URL of the broker-hosted copy of its @context (posted now, or found hosted)."""
    hosted = await _hosted_documents(session, base)
    urls: dict[str, str] = {}
    for subject in subjects:
        document = subject_context(subject)
        url = next((url for url, existing in hosted if existing == document), None)
        if url is None:
            async with session.post(f"{base}{CONTEXTS_PATH}", json=document) as response:
                if response.status != 201:
                    raise DemoLoadError(f"the broker refused the @context of {subject}: {response.status} {await response.text()}")
                location = response.headers["Location"]
            url = location if location.startswith("http") else base + location
        urls[subject] = url
    return urls


async def _hosted_documents(session: aiohttp.ClientSession, base: str) -> list[tuple[str, Any]]:
    async with session.get(f"{base}{CONTEXTS_PATH}", params={"kind": "Hosted", "details": "true"}) as response:
        if response.status == 404:
            return []  # a tenant that does not exist yet hosts nothing
        if response.status != 200:
            raise DemoLoadError(f"cannot list the broker's @contexts: {response.status} {await response.text()}")
        entries = await response.json()
    documents = []
    for entry in entries:
        local_id = entry.get("localId")
        async with session.get(f"{base}{CONTEXTS_PATH}/{local_id}") as response:
            if response.status == 200:
                documents.append((f"{base}{CONTEXTS_PATH}/{local_id}", await response.json(content_type=None)))
    return documents


async def _upsert(
    session: aiohttp.ClientSession, base: str, chunk: list[dict[str, Any]], link: str
) -> list[dict[str, Any]]:
    async with session.post(
        f"{base}{API}/entityOperations/upsert", json=chunk, headers={"Link": link}
    ) as response:
        if response.status in (201, 204):
            return []
        if response.status == 207:
            body = await response.json()
            return list(body.get("errors", []))
        raise DemoLoadError(f"batch upsert failed: {response.status} {await response.text()}")


async def load_history(
    report: DemoReport,
    *,
    now: datetime | None = None,
    days: float = 7,
    max_instances: int = 1000,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> DemoReport:
    """POST demo_history() to /ngsi-ld/v1/temporal/entities of the broker load_demo loaded, with the
    same hosted @contexts; adds the number of instances to the report. DemoLoadError when the
    broker has no temporal API or refuses a body. Call it with the `now` given to load_demo."""
    headers = {"NGSILD-Tenant": report.tenant} if report.tenant else {}
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s), headers=headers) as session:
            for body in demo_history(now, days=days, max_instances=max_instances):
                link = f'<{report.context_url_for(body["type"])}>; rel="{JSON_LD_CONTEXT_REL}"; type="application/ld+json"'
                async with session.post(f"{report.broker_url}{API}/temporal/entities", json=body, headers={"Link": link}) as response:
                    if response.status in (404, 405):
                        raise DemoLoadError(f"{report.broker_url} has no temporal API (POST {API}/temporal/entities: {response.status})")
                    if response.status not in (201, 204):
                        raise DemoLoadError(f"history of {body['id']} refused: {response.status} {await response.text()}")
                report.history_instances += sum(len(value) for key, value in body.items() if key not in ("id", "type"))
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise DemoLoadError(f"cannot load the demo history into {report.broker_url}: {exc or type(exc).__name__}") from exc
    return report


# -- the command line ---------------------------------------------------------------------------------------


def add_demo_command(commands: Any) -> argparse.ArgumentParser:
    """Add `demo` to the `citycontext` subcommands (the object add_subparsers() returned)."""
    demo: argparse.ArgumentParser = commands.add_parser(
        "demo",
        help="load the Hamm demo dataset into a running broker",
        description="Load a realistic Hamm dataset (Smart Data Models: parking, bike hire, EV charging, climate and "
        "air-quality stations, traffic counters, the pilot traffic signal, waste containers, points of interest, "
        "participation projects, street lights, LoRaWAN devices) into a running NGSI-LD broker.",
    )
    demo.add_argument("--broker", default=DEFAULT_BROKER_URL, help=f"broker base URL (default {DEFAULT_BROKER_URL})")
    demo.add_argument("--tenant", help="NGSILD-Tenant to load into (default: the default tenant)")
    demo.add_argument(
        "--history", action="store_true", help="also post a week of history of the observed attributes (temporal API)"
    )
    return demo


def add_serve_demo_option(serve: argparse.ArgumentParser) -> None:
    serve.add_argument("--demo", action="store_true", help="load the Hamm demo dataset once the broker is up")


def run_demo_command(args: argparse.Namespace) -> int:
    """`citycontext demo`: 0 when every entity was written, 1 when some were refused, 2 on failure."""
    try:
        report = asyncio.run(_load(args.broker, args.tenant, getattr(args, "history", False)))
    except DemoLoadError as exc:
        print(f"citycontext demo: {exc}", file=sys.stderr)
        return 2
    print(report.summary())
    return 1 if report.errors else 0


async def _load(broker_url: str, tenant: str | None, history: bool) -> DemoReport:
    now = default_now()
    report = await load_demo(broker_url, tenant=tenant, now=now)
    if history:
        await load_history(report, now=now)
    return report


def start_demo_loader(
    broker_url: str, *, tenant: str | None = None, history: bool = False, ready_timeout_s: float = 60.0
) -> threading.Thread:
    """For `serve --demo`: a daemon thread that waits for the broker's /ready, then loads the demo
    (and its week of history when `history`)."""

    def run() -> None:
        try:
            asyncio.run(_wait_ready(broker_url, ready_timeout_s))
            report = asyncio.run(_load(broker_url, tenant, history))
        except DemoLoadError as exc:
            log.error("demo not loaded: %s", exc)
            return
        log.info("demo loaded: %d entities of %d types", report.entity_count, len(report.entities_by_type))
        for line in report.summary().splitlines():
            print(line, file=sys.stderr)

    thread = threading.Thread(target=run, name="citycontext-demo-loader", daemon=True)
    thread.start()
    return thread


async def _wait_ready(broker_url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(broker_url.rstrip("/") + "/ready") as response:
                    if response.status == 200:
                        return
            except (TimeoutError, aiohttp.ClientError):
                pass
            await asyncio.sleep(0.2)
    raise DemoLoadError(f"the broker at {broker_url} was not ready within {timeout_s:.0f} s")


def type_counts(entities: Sequence[dict[str, Any]]) -> dict[str, int]:
    return dict(sorted(Counter(str(entity["type"]) for entity in entities).items()))


__all__ = [
    "DEFAULT_BROKER_URL",
    "DemoLoadError",
    "DemoReport",
    "add_demo_command",
    "add_serve_demo_option",
    "demo_entities",
    "demo_history",
    "entity_at",
    "load_demo",
    "load_history",
    "run_demo_command",
    "start_demo_loader",
    "subject_of",
    "type_counts",
]
