# SPDX-License-Identifier: EUPL-1.2
"""broker.query's public surface is its __all__; it imports without a web framework (STYLE.md practices 1, 8)."""

from __future__ import annotations

import subprocess
import sys

import broker.query


def test_all_names_exist_and_are_unique() -> None:
    assert len(set(broker.query.__all__)) == len(broker.query.__all__)
    for name in broker.query.__all__:
        assert hasattr(broker.query, name), name


def test_every_public_callable_defined_in_the_package_is_exported() -> None:
    public = {
        name
        for name, value in vars(broker.query).items()
        if not name.startswith("_") and callable(value) and getattr(value, "__module__", "").startswith("broker.query")
    }
    assert public <= set(broker.query.__all__)


def test_the_query_package_imports_without_fastapi_or_starlette() -> None:
    code = (
        "import sys, broker.query\n"
        "bad = [m for m in ('fastapi', 'starlette') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
