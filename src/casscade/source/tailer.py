"""Following a node's cdc_raw as Cassandra writes it: new segments, growing indexes, the end.

Each poll re-reads the `_cdc.idx` of the segments not finished yet and decodes only the
sections that became durable since the last poll (it resumes at the file offset where the
previous walk stopped). A segment is finished when its idx says COMPLETED, or when its `.log`
has one hard link left (Cassandra dropped its own copy: the crash case where the idx never
gets COMPLETED, format reference 10.2 and 10.3). Segments are handed out strictly in id order.

Deleting finished segments is not done here: that waits until every destination has
committed past them (the engine's job).
"""

from __future__ import annotations

import mmap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from casscade.commitlog.descriptor import SegmentDescriptor, decode_descriptor
from casscade.commitlog.mutation import MutationRecord
from casscade.commitlog.position import Position
from casscade.commitlog.sections import (
    CorruptSection,
    LogEntry,
    SegmentEnd,
    StopReason,
    iter_entries,
)
from casscade.source.cdc_raw import (
    CdcSegment,
    SegmentFile,
    list_segments,
    read_index_again,
    read_segment,
)
from casscade.source.registry import SchemaRegistry
from casscade.source.segments import DECOMPRESSORS

# Bytes of a descriptor header at most (18 fixed + a 65535-byte parameters JSON).
_MAX_HEADER_BYTES = 18 + 65535

# Cassandra rewrites a `_cdc.idx` in well under a second. One that has not parsed for this
# long is logged (naming the file), and again every `_INDEX_WARN_EVERY` seconds it stays so.
INDEX_WAIT_WARN_SECONDS = 30.0
_INDEX_WARN_EVERY = 300.0

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class _Progress:
    """How far one segment has been read."""

    descriptor: SegmentDescriptor | None = None
    resume_file_offset: int | None = None
    last_position: int = 0
    finished: bool = False


def _removed_unread(segment_id: int) -> None:
    """A segment this reader had not read to its end is gone: never by casscade's clean-up
    (it waits for every destination), so by hand or by another tool. Its remaining entries
    are lost to this reader; say so."""
    log.error("segment_removed_unread", segment=segment_id,
              detail="removed from cdc_raw before this destination read all of it")  # fmt: skip


class _Listing:
    """One poll's listing of cdc_raw: each segment's file and index read once, when needed."""

    def __init__(self, names: list[SegmentFile]) -> None:
        self.names = names
        self._reads: dict[int, CdcSegment | None] = {}

    def read(self, place: int) -> CdcSegment | None:
        """The segment at `place` with its index (read at the first call); None if gone."""
        if place not in self._reads:
            self._reads[place] = read_segment(self.names[place])
        return self._reads[place]

    def later_has_index(self, place: int) -> bool:
        """Whether a segment after `place` has an index file (one being rewritten counts)."""
        for later in range(place + 1, len(self.names)):
            segment = self.read(later)
            if segment is not None and (segment.index is not None or segment.index_unreadable):
                return True
        return False


@dataclass(frozen=True, slots=True)
class SegmentFinished:
    """Every entry of a segment has been handed out; it may be deleted once applied.

    Attributes:
        segment_id: the segment.
        path: its `.log` in cdc_raw.
        by_link_count: finished because Cassandra dropped its copy without COMPLETED.
    """

    segment_id: int
    path: Path
    by_link_count: bool


TailRecord = MutationRecord | CorruptSection | SegmentFinished


@dataclass(slots=True)
class CdcTailer:
    """Polls one cdc_raw directory.

    Attributes:
        cdc_raw: the directory.
        registry: the schema to decode with; refreshed when an entry names an unknown table.
        start: skip entries at or before this position (a destination's checkpoint).
        clock: monotonic seconds, for how long an unreadable index has held the poll.
    """

    cdc_raw: Path
    registry: SchemaRegistry
    start: Position | None = None
    clock: Callable[[], float] = time.monotonic
    _progress: dict[int, _Progress] = field(default_factory=dict)
    # The index that held back the last poll: its path, since when, when last logged.
    _held: tuple[Path, float, float | None] | None = None

    def poll(self) -> Iterator[TailRecord]:
        """Yield what became durable since the last poll, oldest segment first."""
        held: Path | None = None
        listing = _Listing(list_segments(self.cdc_raw))
        listed_ids = {name.segment_id for name in listing.names}
        for gone in [s for s in self._progress if s not in listed_ids]:
            if not self._progress.pop(gone).finished:
                _removed_unread(gone)
        for place, name in enumerate(listing.names):
            if self.start is not None and name.segment_id < self.start.segment_id:
                continue  # committed already: not even read
            progress = self._progress.get(name.segment_id)
            if progress is not None and progress.finished:
                continue
            segment = listing.read(place)
            if segment is None:
                if progress is not None:
                    del self._progress[name.segment_id]
                    _removed_unread(name.segment_id)
                continue  # deleted meanwhile
            if segment.index is None and not segment.index_unreadable:
                # No index: no CDC data synced into it so far. If a later segment has one,
                # this one is no longer written and never will hold CDC data; otherwise it
                # is the active (or spare) segment and nothing after it has data either.
                if not listing.later_has_index(place):
                    break
                # Read it again now that a later one's was read: Cassandra writes a
                # segment's first index before the next segment's, so one that did not exist
                # at the first read but does now is seen (and not skipped).
                segment = read_index_again(segment)
            if segment.index_unreadable:
                # Being rewritten. Skipping it would hand out later segments' entries first;
                # its own would then fall behind the committed position and be lost.
                held = segment.index_path
                break
            if segment.index is None:
                continue
            progress = self._progress.setdefault(segment.segment_id, _Progress())
            yield from self._read(segment, progress)
            if not progress.finished:
                break  # a live segment: nothing after it can be complete yet
        self._note_held(held)

    def _note_held(self, index_path: Path | None) -> None:
        """Log an index that has not parsed for long: the poll cannot pass it (no data lost)."""
        if index_path is None:
            self._held = None
            return
        now = self.clock()
        if self._held is None or self._held[0] != index_path:
            self._held = (index_path, now, None)
            return
        _, since, warned = self._held
        waited = now - since
        if waited >= INDEX_WAIT_WARN_SECONDS and (
            warned is None or now - warned >= _INDEX_WARN_EVERY
        ):
            log.warning(
                "cdc_index_unreadable",
                file=str(index_path),
                seconds=round(waited),
                detail="this segment and the later ones wait until it parses",
            )
            self._held = (index_path, since, now)

    def _read(self, segment: CdcSegment, progress: _Progress) -> Iterator[TailRecord]:
        index = segment.index
        if index is None:
            return
        dropped = segment.link_count == 1 and not index.completed
        done = index.completed or dropped
        with segment.path.open("rb") as handle:
            if segment.size_bytes == 0:
                return  # nothing written yet
            # Mapped, not read: a poll touches only the sections that are new since the last.
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                yield from self._walk(memoryview(mapped), segment, progress, done=done)

    def _walk(
        self, data: memoryview, segment: CdcSegment, progress: _Progress, *, done: bool
    ) -> Iterator[TailRecord]:
        index = segment.index
        if index is None:
            return
        dropped = segment.link_count == 1 and not index.completed
        if progress.descriptor is None:
            progress.descriptor = decode_descriptor(
                data[:_MAX_HEADER_BYTES], segment_id=segment.segment_id
            )
        codec = DECOMPRESSORS.get(progress.descriptor.compression_class or "")
        for record in iter_entries(
            data,
            progress.descriptor,
            completed=done,
            start=progress.resume_file_offset,
            limit=None if done else index.durable_offset,
            decompress=codec,
        ):
            if isinstance(record, SegmentEnd):
                progress.resume_file_offset = record.file_offset
                finished = done and record.reason is StopReason.END_OF_DATA
                if finished:
                    progress.finished = True
                    yield SegmentFinished(segment.segment_id, segment.path, dropped)
            elif isinstance(record, CorruptSection):
                yield record
            else:
                yield from self._decode(record, progress)

    def _decode(self, entry: LogEntry, progress: _Progress) -> Iterator[MutationRecord]:
        position = Position(entry.segment_id, entry.end)
        if entry.end <= progress.last_position:
            return  # already handed out (a section re-read after resuming)
        progress.last_position = entry.end
        if self.start is not None and position <= self.start:
            return
        yield self.registry.decode(
            entry.payload, position=position, payload_offset=entry.position + 8
        )
