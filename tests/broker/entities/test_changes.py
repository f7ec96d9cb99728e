# SPDX-License-Identifier: EUPL-1.2
"""Every write path reports each changed entity once, with before and after, after it committed."""

from __future__ import annotations

from pathlib import Path

from broker.entities import batch, operations
from broker.entities.changes import EntityChange
from broker.entities.service import EntityService
from broker.errors import AlreadyExists
from broker.store import SqliteStore

T = "https://example.org/T"


def entity(entity_id: str, value: int) -> dict[str, object]:
    return {"id": entity_id, "type": [T], "https://example.org/v": [{"type": "Property", "value": value}]}


async def test_writes_report_changes(tmp_path: Path) -> None:
    seen: list[EntityChange] = []
    async with SqliteStore(str(tmp_path / "s.db")) as store:
        service = EntityService(store, [seen.append])
        await service.create_entity("", entity("urn:x:1", 1))
        assert seen[-1].created and seen[-1].entity_id == "urn:x:1"
        await service.merge_entity("", "urn:x:1", {"https://example.org/v": [{"value": 2}]})
        assert seen[-1].before["https://example.org/v"][0]["value"] == 1  # type: ignore[index]
        assert seen[-1].after["https://example.org/v"][0]["value"] == 2  # type: ignore[index]
        now = operations.now_iso()
        outcomes = await service.batch_modify(
            "", [("urn:x:1", batch.create(entity("urn:x:1", 5), now)), ("urn:x:2", batch.create(entity("urn:x:2", 5), now))]
        )
        assert isinstance(outcomes[0].error, AlreadyExists)
        assert [c.entity_id for c in seen[-1:]] == ["urn:x:2"] and len(seen) == 3
        await service.purge_entities("", [T])
        assert {c.entity_id for c in seen[-2:]} == {"urn:x:1", "urn:x:2"} and all(c.deleted for c in seen[-2:])
