# SPDX-License-Identifier: EUPL-1.2
"""broker.temporal is core: usable without FastAPI (STYLE.md practice 1), and importable in any order."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("first", ["broker.temporal", "broker.store", "broker.temporal.service"])
def test_temporal_core_imports_without_fastapi_or_starlette(first: str) -> None:
    code = (
        f"import sys, {first}\n"
        "import broker.temporal.service, broker.temporal.open_data, broker.temporal.retention, broker.store\n"
        "bad = [m for m in ('fastapi', 'starlette') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
