"""Shared pytest wiring: markers by folder, and the real local stack for integration tests.

Integration tests get the `stack` fixture, which brings the project's own stack up (the same
code as `casscade stack up`) and fails the run, never skips, when a service cannot start.
The stack is left running afterwards so the next run starts warm; `casscade stack down`
stops it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from casscade.cli.stack import build_settings
from casscade.source.cdc_raw import scan_cdc_raw
from casscade.stack.manager import Stack

REPO = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test with the marker of its folder (unit, property, integration)."""
    for item in items:
        parts = Path(str(item.fspath)).relative_to(REPO / "tests").parts
        if parts[0] == "integration":
            item.add_marker(pytest.mark.integration)
        else:
            item.add_marker(pytest.mark.unit)


def stack_root() -> Path:
    """The stack folder the tests use: $CASSCADE_STACK_DIR, else .stack in the checkout."""
    return Path(os.environ.get("CASSCADE_STACK_DIR", str(REPO / ".stack")))


@pytest.fixture(scope="session")
def stack() -> Stack:
    """The running local stack with the tests' settings (batch commit-log sync).

    Segments earlier runs left COMPLETED in cdc_raw are deleted first: nothing consumes them
    between runs, and a full cdc_raw (cdc_total_space) would make Cassandra reject writes.
    """
    running = Stack(build_settings(stack_root()))
    running.up()
    for segment in scan_cdc_raw(running.cassandra.layout.cdc_raw_dir):
        if segment.index is not None and segment.index.completed:
            segment.index_path.unlink(missing_ok=True)
            segment.path.unlink(missing_ok=True)
    return running
