# SPDX-License-Identifier: EUPL-1.2
"""Entity changes as the write paths report them, for whatever must react (subscriptions, history).

Every write path (entity operations, batch operations, merge, purge) reports each changed entity
once, after its transaction committed, with the entity before and after (None: absent). A
listener must not block: it takes the change and returns (queue work for later).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ExpandedEntity = dict[str, Any]


@dataclass(frozen=True, slots=True)
class EntityChange:
    tenant: str
    before: ExpandedEntity | None
    after: ExpandedEntity | None

    @property
    def entity_id(self) -> str:
        return str((self.after or self.before or {})["id"])

    @property
    def created(self) -> bool:
        return self.before is None and self.after is not None

    @property
    def deleted(self) -> bool:
        return self.after is None and self.before is not None


ChangeListener = Callable[[EntityChange], None]

__all__ = ["EntityChange", "ChangeListener"]
