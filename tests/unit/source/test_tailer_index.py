"""The tailer waits for an index Cassandra is rewriting and never reads past it.

Cassandra rewrites a segment's `_cdc.idx` in place (truncate, then write), so a reader can
find it empty. Skipping that segment would hand out the next segment's entries first; the
skipped ones, read at a later poll, would fall behind the position the destination had
committed meanwhile and be dropped as already applied (seen under load: 780 and 1,304 of
60,000 rows missing in one destination). A segment with no index at all holds no CDC data
and is skipped. The segment here is one recorded from the real Cassandra
(tests/fixtures/commitlog/5.0.9-v7/rows); the one before it is only a name and an index.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

import casscade.source.tailer as tailer_module
from casscade.commitlog.mutation import Mutation
from casscade.commitlog.schema import rows_from_json
from casscade.source.cdc_raw import CdcSegment, SegmentFile, read_segment
from casscade.source.registry import SchemaRegistry
from casscade.source.segments import sources_in
from casscade.source.tailer import (
    INDEX_WAIT_WARN_SECONDS,
    CdcTailer,
    SegmentFinished,
    TailRecord,
)

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "commitlog" / "5.0.9-v7" / "rows"
SEGMENT_ID = 1795632936760


def _cdc_raw(tmp_path: Path) -> tuple[Path, Path]:
    """cdc_raw with the recorded segment and an earlier one; the earlier one's index path."""
    cdc_raw = tmp_path / "cdc_raw"
    cdc_raw.mkdir()
    for name in (f"CommitLog-7-{SEGMENT_ID}.log", f"CommitLog-7-{SEGMENT_ID}_cdc.idx"):
        shutil.copy(FIXTURE / name, cdc_raw / name)
    (cdc_raw / f"CommitLog-7-{SEGMENT_ID - 1}.log").write_bytes(b"")
    return cdc_raw, cdc_raw / f"CommitLog-7-{SEGMENT_ID - 1}_cdc.idx"


def _tailer(cdc_raw: Path, now: list[float] | None = None) -> CdcTailer:
    schema = (FIXTURE / "schema.json").read_text("utf-8")
    registry = SchemaRegistry(lambda: rows_from_json(schema))
    if now is None:
        return CdcTailer(cdc_raw, registry)
    return CdcTailer(cdc_raw, registry, clock=lambda: now[0])


def _mutations(records: list[TailRecord]) -> list[Mutation]:
    return [r for r in records if isinstance(r, Mutation)]


def test_a_segment_whose_index_is_being_rewritten_holds_back_the_later_ones(
    tmp_path: Path,
) -> None:
    cdc_raw, earlier_index = _cdc_raw(tmp_path)
    earlier_index.write_text("")  # truncated, not yet written again
    tailer = _tailer(cdc_raw)
    assert list(tailer.poll()) == []
    earlier_index.unlink()  # it turns out to hold no CDC data after all (no index)
    records = list(tailer.poll())
    assert len(_mutations(records)) > 0
    assert [r.segment_id for r in records if isinstance(r, SegmentFinished)] == [SEGMENT_ID]


def test_a_segment_without_an_index_is_skipped(tmp_path: Path) -> None:
    """No index: no CDC data was synced into it; the later segment is read at once."""
    cdc_raw, _ = _cdc_raw(tmp_path)
    records = list(_tailer(cdc_raw).poll())
    recorded = list(_tailer(FIXTURE).poll())
    assert _mutations(records) == _mutations(recorded)
    assert len(_mutations(records)) > 0


def test_decoding_a_cdc_raw_takes_a_segment_whose_index_is_being_rewritten(
    tmp_path: Path,
) -> None:
    """`casscade decode <cdc_raw>` lists it (read without a limit), and skips one with no
    index."""
    cdc_raw, earlier_index = _cdc_raw(tmp_path)
    assert [s.path.name for s in sources_in(cdc_raw)] == [f"CommitLog-7-{SEGMENT_ID}.log"]
    earlier_index.write_text("")
    listed = sources_in(cdc_raw)
    assert [s.path.name for s in listed] == [
        f"CommitLog-7-{SEGMENT_ID - 1}.log",
        f"CommitLog-7-{SEGMENT_ID}.log",
    ]
    assert listed[0].limit is None


def test_an_index_that_stays_unreadable_is_logged_by_name(tmp_path: Path) -> None:
    """Held back for good, a destination would only show lag; the log names the file, once
    when the wait passes the threshold and again only minutes later, and the segments behind
    it are read once it parses."""
    cdc_raw, earlier_index = _cdc_raw(tmp_path)
    earlier_index.write_text("garbage")
    now = [1000.0]
    tailer = _tailer(cdc_raw, now)
    warnings: list[MutableMapping[str, Any]] = []
    for step in (0.0, INDEX_WAIT_WARN_SECONDS - 1, 1.0, 10.0, 60.0, 240.0):
        now[0] += step
        with capture_logs() as logs:
            assert list(tailer.poll()) == []
        warnings += [line for line in logs if line["event"] == "cdc_index_unreadable"]
    assert [w["seconds"] for w in warnings] == [INDEX_WAIT_WARN_SECONDS, 340]
    assert {w["file"] for w in warnings} == {str(earlier_index)}
    assert {w["log_level"] for w in warnings} == {"warning"}
    earlier_index.unlink()
    with capture_logs() as logs:
        records = list(tailer.poll())
    assert logs == []
    assert len(_mutations(records)) > 0


def test_segments_before_the_start_are_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A destination's committed position is past them: the tailer does not read their
    indexes (a backlog holds hundreds), so one being rewritten does not hold it back."""
    cdc_raw, earlier_index = _cdc_raw(tmp_path)
    earlier_index.write_text("")
    recorded = list(_tailer(FIXTURE).poll())
    start = next(r for r in recorded if isinstance(r, Mutation)).position
    tailer = _tailer(cdc_raw)
    tailer.start = start
    read: list[int] = []

    def spy(listed: SegmentFile) -> CdcSegment | None:
        read.append(listed.segment_id)
        return read_segment(listed)

    monkeypatch.setattr(tailer_module, "read_segment", spy)
    records = list(tailer.poll())
    assert _mutations(records) == [m for m in _mutations(recorded) if m.position > start]
    assert len(_mutations(records)) > 0
    assert read == [SEGMENT_ID]


def test_an_index_written_while_the_later_ones_are_read_is_not_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A segment without an index when first read, whose index Cassandra writes before the
    next segment's, is read again after the next one's and its entries come first: skipping
    it would lose them."""
    cdc_raw = tmp_path / "cdc_raw"
    cdc_raw.mkdir()
    shutil.copy(FIXTURE / f"CommitLog-7-{SEGMENT_ID}.log", cdc_raw)
    (cdc_raw / f"CommitLog-7-{SEGMENT_ID + 1}.log").write_bytes(b"")
    (cdc_raw / f"CommitLog-7-{SEGMENT_ID + 1}_cdc.idx").write_text("0\n")

    def cassandra_meanwhile(listed: SegmentFile) -> CdcSegment | None:
        if listed.segment_id == SEGMENT_ID + 1:  # its index exists: the earlier one's does
            index = f"CommitLog-7-{SEGMENT_ID}_cdc.idx"
            shutil.copy(FIXTURE / index, cdc_raw / index)
        return read_segment(listed)

    monkeypatch.setattr(tailer_module, "read_segment", cassandra_meanwhile)
    records = list(_tailer(cdc_raw).poll())
    recorded = list(_tailer(FIXTURE).poll())
    assert _mutations(records) == _mutations(recorded)
    assert len(_mutations(records)) > 0


def test_a_segment_removed_before_it_was_read_to_its_end_is_logged(tmp_path: Path) -> None:
    """Removed by hand while live (casscade's clean-up waits for every destination): the
    entries this reader never got are named in an error, not passed over in silence."""
    cdc_raw = tmp_path / "cdc_raw"
    cdc_raw.mkdir()
    segment = cdc_raw / f"CommitLog-7-{SEGMENT_ID}.log"
    shutil.copy(FIXTURE / segment.name, segment)
    durable = (FIXTURE / f"CommitLog-7-{SEGMENT_ID}_cdc.idx").read_text().splitlines()[0]
    (cdc_raw / f"CommitLog-7-{SEGMENT_ID}_cdc.idx").write_text(durable + "\n")  # live
    (tmp_path / "commitlog").mkdir()
    os.link(segment, tmp_path / "commitlog" / segment.name)  # Cassandra's own link
    tailer = _tailer(cdc_raw)
    assert len(_mutations(list(tailer.poll()))) > 0
    segment.unlink()
    with capture_logs() as logs:
        assert list(tailer.poll()) == []
    assert [(line["event"], line["segment"]) for line in logs] == [
        ("segment_removed_unread", SEGMENT_ID)
    ]
