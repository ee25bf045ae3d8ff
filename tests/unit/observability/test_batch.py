"""BatchSummary: one pass over a batch, counts and write times only."""

from __future__ import annotations

from casscade.events.model import ChangeEvent, Op
from casscade.observability.batch import BatchSummary
from tests.unit.observability._support import T0, event


def test_batch_summary_counts_tables_and_keeps_newest_write() -> None:
    """Counts per table, the newest write per table and every write time are kept."""
    summary = BatchSummary.of([event("ks.a", written_s=T0), event("ks.a", written_s=T0 + 1),
                               event("ks.b", written_s=T0 - 5)])  # fmt: skip
    assert dict(summary.table_counts) == {"ks.a": 2, "ks.b": 1}
    assert dict(summary.newest_by_table) == {"ks.a": int((T0 + 1) * 1e6),
                                             "ks.b": int((T0 - 5) * 1e6)}  # fmt: skip
    assert summary.events == 3
    assert summary.newest_write_us == int((T0 + 1) * 1e6)
    assert len(summary.write_times_us) == 3


def test_batch_summary_events_without_write_time_count_but_have_no_age() -> None:
    """An event with timestamp 0 is counted but adds no write time."""
    summary = BatchSummary.of([ChangeEvent("ks", "a", Op.DELETE_PARTITION, (1,))])
    assert summary.events == 1
    assert summary.write_times_us == ()
    assert summary.newest_write_us is None


def test_batch_summary_empty_batch() -> None:
    """An empty batch has no events and no newest write."""
    summary = BatchSummary.of([])
    assert summary.events == 0
    assert summary.newest_write_us is None
