# SPDX-License-Identifier: EUPL-1.2
"""No input produces a 500: hypothesis throws generated JSON at every write route of the real app."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.broker.entities.strategies import entities, instances, json_values, names
from tests.conftest import API

ID = "urn:ngsi-ld:Thing:fuzz"
ROUTES = [
    ("POST", "/entities"),
    ("PUT", f"/entities/{ID}"),
    ("PATCH", f"/entities/{ID}"),
    ("POST", f"/entities/{ID}/attrs"),
    ("PATCH", f"/entities/{ID}/attrs"),
    ("PATCH", f"/entities/{ID}/attrs/a"),
    ("PUT", f"/entities/{ID}/attrs/a"),
]
keys = st.one_of(names, st.sampled_from(["id", "type", "scope", "value", "object", "@context", "datasetId", "observedAt"]))
bodies = st.one_of(
    json_values,
    entities(),
    instances(),
    st.dictionaries(keys, st.one_of(json_values, instances()), max_size=5),
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(route=st.sampled_from(ROUTES), body=bodies)
async def test_generated_bodies_never_cause_a_server_error(client: httpx.AsyncClient, route: tuple[str, str], body: Any) -> None:
    await client.post(f"{API}/entities", json={"id": ID, "type": "Thing", "a": {"type": "Property", "value": 1}})
    method, path = route
    response = await client.request(method, API + path, json=body)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.json()["type"].startswith("https://uri.etsi.org/ngsi-ld/errors/")
    after = await client.get(f"{API}/entities/{ID}")
    assert after.status_code in (200, 404)


SUPERSCRIPT_TWO = "\u00b2"  # str.isdigit() says yes, int() says no
TOO_LONG = "9" * 5000  # more digits than int() reads
COUNTS = [SUPERSCRIPT_TWO, TOO_LONG, str(2**70), "\u0663"]  # the last: ARABIC-INDIC DIGIT THREE


@pytest.mark.parametrize("count", COUNTS)
async def test_a_count_that_is_not_ascii_digits_or_too_large_is_a_client_error(client: httpx.AsyncClient, count: str) -> None:
    await client.post(f"{API}/entities", json={"id": ID, "type": "Thing", "a": {"type": "Property", "value": 1}})
    # A limit over the maximum page size in ASCII digits: 403 TooManyResults (clause 5.5.9); else 400.
    expected = "TooManyResults" if count.isascii() and count.isdigit() else "BadRequestData"
    for path in ("/entities", "/temporal/entities"):
        limit = await client.get(API + path, params={"type": "Thing", "limit": count})
        assert limit.json()["type"] == f"https://uri.etsi.org/ngsi-ld/errors/{expected}", limit.text
    requests = [
        ("GET", "/entities", {"type": "Thing", "offset": count}),
        ("GET", f"/entities/{ID}", {"join": "inline", "joinLevel": count}),
        ("GET", f"/temporal/entities/{ID}", {"lastN": count}),
    ]
    for method, path, params in requests:
        response = await client.request(method, API + path, params=params)
        assert response.status_code == 400, (path, params, response.text)
        assert response.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"
    instance = await client.delete(f"{API}/temporal/entities/{ID}/attrs/a/urn:ngsi-ld:attribute:instance:{count}")
    assert instance.status_code == 404, instance.text
