"""Tests of the section walk on a real recorded segment, intact and with documented edits."""

from __future__ import annotations

import itertools
import zlib
from pathlib import Path

import pytest

from casscade.commitlog.descriptor import decode_descriptor
from casscade.commitlog.errors import CorruptSegmentError
from casscade.commitlog.sections import (
    CorruptSection,
    LogEntry,
    SegmentEnd,
    StopReason,
    iter_entries,
)
from casscade.source.segments import DECOMPRESSORS

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "commitlog" / "5.0.9-v7" / "rows"
SEGMENT = next(iter(sorted(FIXTURE.glob("*.log")))).read_bytes()
DESCRIPTOR = decode_descriptor(SEGMENT)
RECORDS = list(iter_entries(SEGMENT, DESCRIPTOR, completed=True))
ENTRIES = [r for r in RECORDS if isinstance(r, LogEntry)]


def test_iter_entries_real_segment_positions_chain() -> None:
    """Entries follow each other: each starts where the previous ended or at a new section."""
    assert len(ENTRIES) > 10
    assert ENTRIES[0].position == DESCRIPTOR.header_length + 8
    for before, after in itertools.pairwise(ENTRIES):
        assert after.position in (before.end, before.end + 8)
    end = RECORDS[-1]
    assert isinstance(end, SegmentEnd)
    assert end.reason is StopReason.END_OF_DATA


def test_iter_entries_limit_stops_at_durable_offset() -> None:
    """With a durable limit, only sections ending at or before it are read."""
    limit = ENTRIES[len(ENTRIES) // 2].end
    got = list(iter_entries(SEGMENT, DESCRIPTOR, completed=False, limit=limit))
    entries = [r for r in got if isinstance(r, LogEntry)]
    assert entries
    assert all(e.end <= limit for e in entries)
    assert isinstance(got[-1], SegmentEnd)
    assert got[-1].reason in (StopReason.LIMIT, StopReason.END_OF_DATA)


def test_iter_entries_resume_from_segment_end_reads_only_new_sections() -> None:
    """Resuming at a SegmentEnd's file offset skips the sections already read."""
    limit = ENTRIES[len(ENTRIES) // 2].end
    first = list(iter_entries(SEGMENT, DESCRIPTOR, completed=False, limit=limit))
    stop = first[-1]
    assert isinstance(stop, SegmentEnd)
    rest = [
        r for r in iter_entries(SEGMENT, DESCRIPTOR, completed=True, start=stop.file_offset)
        if isinstance(r, LogEntry)
    ]  # fmt: skip
    seen = [r for r in first if isinstance(r, LogEntry)]
    assert seen + rest == ENTRIES


def test_iter_entries_corrupt_entry_reported_and_reading_goes_on() -> None:
    """Edit: one payload byte of the first entry flipped. Its section is reported with the
    offset of the failing CRC, and the entries of later sections still come out."""
    damaged = bytearray(SEGMENT)
    damaged[ENTRIES[0].position + 8] ^= 0xFF  # first byte of the first mutation
    records = list(iter_entries(bytes(damaged), DESCRIPTOR, completed=True))
    corrupt = [r for r in records if isinstance(r, CorruptSection)]
    assert len(corrupt) == 1
    assert isinstance(corrupt[0].error, CorruptSegmentError)
    assert "CRC" in corrupt[0].error.problem
    survivors = [r for r in records if isinstance(r, LogEntry)]
    assert survivors
    assert survivors[-1] == ENTRIES[-1]


def test_iter_entries_broken_marker_in_completed_segment_raises() -> None:
    """Edit: the CRC of the second sync marker zeroed. In a COMPLETED segment that is
    corruption with the marker's offset; in a live one it means 'not written yet'."""
    # The first entry that opens a new section sits 8 bytes (its marker) after the previous.
    second = next(b for a, b in itertools.pairwise(ENTRIES) if b.position == a.end + 8)
    marker = second.position - 8
    damaged = bytearray(SEGMENT)
    damaged[marker + 4 : marker + 8] = bytes(4)
    with pytest.raises(CorruptSegmentError) as caught:
        list(iter_entries(bytes(damaged), DESCRIPTOR, completed=True))
    assert caught.value.offset == marker
    live = list(iter_entries(bytes(damaged), DESCRIPTOR, completed=False))
    assert isinstance(live[-1], SegmentEnd)
    assert live[-1].reason is StopReason.NOT_YET_WRITTEN


def test_iter_entries_valid_marker_pointing_nowhere_is_the_live_frontier() -> None:
    """Edit: the second sync marker keeps its valid CRC but `next` is 0 (its CRC does not
    cover `next`; a live segment showed this at its write frontier). Live: not written yet,
    with the entries before it; COMPLETED: corruption at the marker's offset."""
    second = next(b for a, b in itertools.pairwise(ENTRIES) if b.position == a.end + 8)
    marker = second.position - 8
    damaged = bytearray(SEGMENT)
    damaged[marker : marker + 4] = bytes(4)
    live = list(iter_entries(bytes(damaged), DESCRIPTOR, completed=False))
    assert isinstance(live[-1], SegmentEnd)
    assert live[-1].reason is StopReason.NOT_YET_WRITTEN
    assert [r for r in live if isinstance(r, LogEntry)] == [e for e in ENTRIES if e.end <= marker]
    with pytest.raises(CorruptSegmentError, match="points to 0") as caught:
        list(iter_entries(bytes(damaged), DESCRIPTOR, completed=True))
    assert caught.value.offset == marker


@pytest.mark.parametrize("codec", ["lz4", "snappy", "deflate", "zstd"])
def test_iter_entries_resume_compressed_segment_skips_decoded_sections(codec: str) -> None:
    """On a compressed segment a resumed walk keeps the logical positions right, yields only
    the rest, and decompresses fewer sections than a walk from the start."""
    folder = FIXTURE.parents[1] / f"5.0.9-v7-{codec}" / "mixed"
    data = next(iter(sorted(folder.glob("*.log")))).read_bytes()
    descriptor = decode_descriptor(data)
    real = DECOMPRESSORS[descriptor.compression_class or ""] if codec != "deflate" else None
    calls: list[int] = []

    def counting(raw: bytes, length: int) -> bytes:
        calls.append(length)
        return real(raw, length) if real is not None else zlib.decompress(raw)

    every = [r for r in iter_entries(data, descriptor, completed=True, decompress=counting)
             if isinstance(r, LogEntry)]  # fmt: skip
    full_calls = len(calls)
    limit = every[len(every) // 2].end
    first = list(iter_entries(data, descriptor, completed=False, limit=limit, decompress=counting))
    stop = first[-1]
    assert isinstance(stop, SegmentEnd)
    calls.clear()
    rest = [r for r in iter_entries(data, descriptor, completed=True, start=stop.file_offset,
                                    decompress=counting) if isinstance(r, LogEntry)]  # fmt: skip
    assert [r for r in first if isinstance(r, LogEntry)] + rest == every
    assert len(calls) < full_calls
