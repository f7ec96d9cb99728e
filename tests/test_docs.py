# SPDX-License-Identifier: EUPL-1.2
"""The README documents every setting, and the two set-up commands it names exist."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from broker.settings import ENV_PREFIX, Settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_in_the_readme_table(name: str) -> None:
    assert f"| `{ENV_PREFIX}{name.upper()}` |" in README


@pytest.mark.parametrize("script", ["scripts/serve", "scripts/test", ".ci/run"])
def test_the_set_up_commands_exist_and_are_executable(script: str) -> None:
    path = ROOT / script
    assert path.is_file() and os.access(path, os.X_OK)
    if script != ".ci/run":
        assert script in README
