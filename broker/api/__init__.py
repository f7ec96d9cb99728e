# SPDX-License-Identifier: EUPL-1.2
"""The HTTP face of the broker (Starlette routes under uvicorn). Nothing in the core imports this package."""

from broker.api.app import create_app

__all__ = ["create_app"]
