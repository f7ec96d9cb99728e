# SPDX-License-Identifier: EUPL-1.2
"""NGSI-LD entities: input validation (normalize), pure operations, representations, and the service."""

from broker.entities.operations import UpdateResult
from broker.entities.service import EntityService

__all__ = ["EntityService", "UpdateResult"]
