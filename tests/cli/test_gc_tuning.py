# SPDX-License-Identifier: EUPL-1.2
"""`citycontext serve` tunes Python's cyclic GC from CITYCONTEXT_GC_GEN0_THRESHOLD (broker.cli.tune_gc)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from broker.cli import tune_gc
from broker.settings import Settings, SettingsError


@pytest.fixture
def restored_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def test_the_setting_sets_the_young_generation_threshold_and_freezes_start_up_objects(restored_gc: None) -> None:
    _, gen1, gen2 = gc.get_threshold()
    tune_gc(Settings.from_mapping({"CITYCONTEXT_GC_GEN0_THRESHOLD": "12345"}))
    assert gc.get_threshold() == (12345, gen1, gen2)
    assert gc.get_freeze_count() > 0


def test_the_default_keeps_a_batch_of_1000_entities_below_the_threshold() -> None:
    assert Settings.from_mapping({}).gc_gen0_threshold >= 50_000


def test_a_threshold_below_pythons_default_is_refused_naming_the_variable() -> None:
    with pytest.raises(SettingsError, match="CITYCONTEXT_GC_GEN0_THRESHOLD"):
        Settings.from_mapping({"CITYCONTEXT_GC_GEN0_THRESHOLD": "10"})
