"""Fixtures of the observability tests."""

from __future__ import annotations

import pytest

from tests.unit.observability._support import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    """A wall clock at T0 that the test advances."""
    return FakeClock()
