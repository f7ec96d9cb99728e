# SPDX-License-Identifier: EUPL-1.2
"""The durable queue: order, survival of a reopen (a restart), dead letters, redelivery keys."""

from __future__ import annotations

from pathlib import Path

from agents.common.ngsi import Update
from agents.common.queue import DurableQueue


def update(n: int, tenant: str | None = "hamm") -> Update:
    return Update("http://127.0.0.1:1026", tenant, {"id": f"urn:ngsi-ld:Thing:{n}", "type": "Thing"}, f"dev-{n}", 1.0 * n)


def test_updates_leave_in_the_order_they_came_and_survive_a_reopen(tmp_path: Path) -> None:
    queue = DurableQueue(tmp_path / "q.db")
    queue.put_many([update(1), update(2)])
    queue.put_many([update(3)], ["key-3"])
    queue.close()  # the agent stops (or dies: every put_many was committed)

    reopened = DurableQueue(tmp_path / "q.db")
    assert reopened.depth == 3
    head = reopened.head(2)
    assert [item.update.entity["id"] for item in head] == ["urn:ngsi-ld:Thing:1", "urn:ngsi-ld:Thing:2"]
    reopened.remove([item.seq for item in head])
    assert [item.update for item in reopened.head(10)] == [update(3)]
    assert reopened.seen("key-3") and not reopened.seen("key-4")
    reopened.close()


def test_a_refused_update_moves_to_the_dead_letters_and_does_not_block(tmp_path: Path) -> None:
    queue = DurableQueue(tmp_path / "q.db", synchronous="FULL")
    queue.put_many([update(1), update(2)])
    first = queue.head(1)
    queue.dead_letter(first, '{"type": "BadRequestData"}')
    assert queue.depth == 1
    assert queue.head(5)[0].update == update(2)
    assert queue.dead_letters() == [("dev-1", "urn:ngsi-ld:Thing:1", '{"type": "BadRequestData"}')]
    queue.close()
