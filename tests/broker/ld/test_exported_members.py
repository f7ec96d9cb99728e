# SPDX-License-Identifier: EUPL-1.2
"""broker.ld's public surface is its __all__, and every name in it exists."""

from __future__ import annotations

import broker.ld


def test_all_names_exist_and_are_unique() -> None:
    assert len(set(broker.ld.__all__)) == len(broker.ld.__all__)
    for name in broker.ld.__all__:
        assert hasattr(broker.ld, name), name


def test_every_public_callable_defined_in_the_package_is_exported() -> None:
    public = {
        name
        for name, value in vars(broker.ld).items()
        if not name.startswith("_") and callable(value) and getattr(value, "__module__", "").startswith("broker.ld")
    }
    assert public <= set(broker.ld.__all__)
