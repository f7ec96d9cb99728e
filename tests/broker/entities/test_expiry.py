# SPDX-License-Identifier: EUPL-1.2
"""What the expiry sweep makes of one entity (broker.entities.expiry.expired, clause 4.22)."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from broker.entities.expiry import expired
from broker.store.base import lists_copied
from broker.temporal.times import datetime_ms

STAMP = "2026-07-01T10:00:00.000Z"
INSTANTS = ["2030-01-01T00:00:00Z", "2030-01-01T00:00:00.000Z", "2030-01-01T00:00:00.001Z", "2035-05-05T05:05:05.5Z"]
NOW_MS = st.sampled_from([datetime_ms(instant) for instant in INSTANTS] + [datetime_ms(INSTANTS[0]) - 1])

expiry = st.one_of(st.none(), st.sampled_from(INSTANTS))
instances = st.lists(expiry, min_size=1, max_size=3)
shapes = st.tuples(expiry, st.dictionaries(st.sampled_from(["https://e.org/a", "https://e.org/b", "https://e.org/c"]), instances))


def entity_of(shape: tuple[str | None, dict[str, list[str | None]]]) -> dict[str, Any]:
    own, attributes = shape
    entity: dict[str, Any] = {"id": "urn:x:1", "type": ["https://e.org/T"], "createdAt": STAMP, "modifiedAt": STAMP}
    if own is not None:
        entity["expiresAt"] = own
    for name, expiries in attributes.items():
        entity[name] = []
        for number, at in enumerate(expiries):
            instance: dict[str, Any] = {"type": "Property", "value": number, "datasetId": f"urn:ngsi-ld:Dataset:{number}"}
            if at is not None:
                instance["expiresAt"] = at
            entity[name].append(instance)
    return entity


def gone(item: dict[str, Any], now_ms: int) -> bool:
    return "expiresAt" in item and datetime_ms(item["expiresAt"]) <= now_ms


@given(shapes, NOW_MS)
def test_what_expired_goes_and_nothing_else(shape: tuple[Any, Any], now_ms: int) -> None:
    before = entity_of(shape)
    pristine = copy.deepcopy(before)
    after = expired(lists_copied(before), now_ms)
    assert before == pristine  # the stored entity's instances are shared, never changed
    if gone(before, now_ms):
        assert after is None
        return
    assert after is not None
    expected = {
        key: [instance for instance in value if not gone(instance, now_ms)] if key.startswith("https://") else value
        for key, value in before.items()
    }
    expected = {key: value for key, value in expected.items() if value != []}
    removed_any = expected.keys() != before.keys() or any(expected[key] != before[key] for key in expected)
    if removed_any:
        assert after.pop("modifiedAt") > STAMP and expected.pop("modifiedAt") == STAMP
    assert after == expected
