"""Tests of the agent's process settings."""

from __future__ import annotations

import gc

from casscade.engine.runtime import YOUNG_THRESHOLD, tune_collector


def test_tune_collector_raises_the_young_generation_threshold() -> None:
    """After tuning, the collector waits for YOUNG_THRESHOLD allocations, not CPython's 700."""
    before = gc.get_threshold()
    try:
        tune_collector()
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD > before[0]
    finally:
        gc.set_threshold(*before)
