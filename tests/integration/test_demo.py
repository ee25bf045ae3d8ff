"""The README's main job, `casscade demo`, end to end on the real stack."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator

import pytest

from casscade.stack.manager import Stack


@pytest.fixture
def restore_test_settings(stack: Stack) -> Iterator[Stack]:
    """The demo restarts Cassandra with periodic sync; put the tests' batch sync back after."""
    yield stack
    stack.up()


def test_demo_decodes_one_event_per_write(restore_test_settings: Stack) -> None:
    """The demo writes its workload, decodes every write back as a change event, replicates
    them into PostgreSQL, TimescaleDB and ClickHouse, finds every table equal to Cassandra's,
    and exits 0."""
    stack = restore_test_settings
    result = subprocess.run(
        [sys.executable, "-c", "from casscade.cli.main import main; main()",
         "demo", "--dir", str(stack.settings.root), "--events", "400", "--rate", "2000"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    found = re.search(r"decoded (\d+) change events for the (\d+) writes", result.stdout)
    assert found is not None, result.stdout[-2000:]
    assert found.group(1) == found.group(2) == "400"
    assert "COMPLETED" in result.stdout or "live" in result.stdout
    # Step 4: replicated into every destination, each table verified against Cassandra.
    for destination in ("demo-postgres", "demo-timescaledb", "demo-clickhouse"):
        found = re.search(rf"400 change events to\s+{destination}", result.stdout)
        assert found is not None, result.stdout[-3000:]
    assert len(re.findall(r"│ equal\s*│", result.stdout)) == 6, result.stdout[-3000:]
