# SPDX-License-Identifier: EUPL-1.2
"""broker.subscriptions is core: usable without FastAPI or Starlette (STYLE practice 1)."""

from __future__ import annotations

import subprocess
import sys


def test_subscriptions_import_without_fastapi_or_starlette() -> None:
    code = (
        "import sys, broker.subscriptions\n"
        "bad = [m for m in ('fastapi', 'starlette') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
