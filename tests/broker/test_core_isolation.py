# SPDX-License-Identifier: EUPL-1.2
"""The NGSI-LD core (ld, entities, store) must stay usable without FastAPI (STYLE.md practice 1)."""

from __future__ import annotations

import subprocess
import sys


def test_core_packages_import_without_fastapi_or_starlette() -> None:
    code = (
        "import sys, broker.ld, broker.entities, broker.store, broker.errors, broker.settings\n"
        "bad = [m for m in ('fastapi', 'starlette') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
