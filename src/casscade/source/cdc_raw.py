"""Discovery of the segments in a node's `cdc_raw` directory.

Reads names, `_cdc.idx` files and descriptor headers; decodes nothing else. Segments are
ordered by numeric id (not by name or mtime: ids increase on a node, names sort as text).

Listing names (`list_segments`) is cheap; reading a segment's file and index
(`read_segment`) costs a stat and a file read. A backlog holds hundreds of segments and the
agent polls many times a second, so the tailer and the clean-up read only the segments they
need (every segment's index each poll cost 4 ms at 250 segments).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from casscade.commitlog.cdc_index import CdcIndex, parse_cdc_index
from casscade.commitlog.descriptor import SegmentDescriptor, decode_descriptor, parse_segment_name

# The largest header is 18 bytes plus a parameters JSON of at most 65535 bytes.
_MAX_HEADER_BYTES = 18 + 65535


@dataclass(frozen=True, slots=True)
class CdcSegment:
    """One segment file in `cdc_raw` and what its index says.

    Attributes:
        path: the `.log` hard link.
        version: commit-log version from the name.
        segment_id: segment id from the name.
        size_bytes: file size (segments are preallocated, so this is not the data end).
        index: the parsed `_cdc.idx`, or None while Cassandra has not written one (the
            segment has no CDC data synced yet) or while it is being rewritten.
        link_count: hard links to the file; 1 means Cassandra dropped its own copy.
        index_unreadable: the `_cdc.idx` exists but does not parse: Cassandra is rewriting
            it (truncate, then write). Its segment holds CDC data; read it again shortly.
    """

    path: Path
    version: int
    segment_id: int
    size_bytes: int
    index: CdcIndex | None
    link_count: int
    index_unreadable: bool = False

    @property
    def index_path(self) -> Path:
        return self.path.with_name(f"{self.path.stem}_cdc.idx")


@dataclass(frozen=True, slots=True)
class SegmentFile:
    """A segment's `.log` name in `cdc_raw`, not read yet."""

    path: Path
    version: int
    segment_id: int


def list_segments(directory: Path) -> list[SegmentFile]:
    """The segments' `.log` files in `directory`, oldest first, from their names alone."""
    found: list[SegmentFile] = []
    for entry in os.scandir(directory):
        name = parse_segment_name(entry.name)
        if name is not None and not name.is_index:
            found.append(SegmentFile(directory / entry.name, name.version, name.segment_id))
    return sorted(found, key=lambda segment: segment.segment_id)


def read_segment(listed: SegmentFile) -> CdcSegment | None:
    """The segment's size, link count and index; None if it is gone (deleted meanwhile)."""
    try:
        stat = listed.path.stat()
    except FileNotFoundError:
        return None
    index, unreadable = _read_index(listed.path.with_name(f"{listed.path.stem}_cdc.idx"))
    return CdcSegment(
        path=listed.path,
        version=listed.version,
        segment_id=listed.segment_id,
        size_bytes=stat.st_size,
        index=index,
        link_count=stat.st_nlink,
        index_unreadable=unreadable,
    )


def scan_cdc_raw(directory: Path) -> list[CdcSegment]:
    """Every segment in `directory` with its index, oldest first.

    A file that disappears while we look (the consumer or Cassandra deleted it) is skipped.
    """
    read = (read_segment(listed) for listed in list_segments(directory))
    return [segment for segment in read if segment is not None]


def bytes_used(directory: Path) -> int:
    """The size of the segments' `.log` files in `directory` (what counts against
    `cdc_total_space`)."""
    used = 0
    for entry in os.scandir(directory):
        name = parse_segment_name(entry.name)
        if name is not None and not name.is_index:
            try:
                used += entry.stat().st_size
            except FileNotFoundError:
                continue  # removed meanwhile
    return used


def read_index_again(segment: CdcSegment) -> CdcSegment:
    """`segment` with its `_cdc.idx` read once more (the file and link count as before)."""
    index, unreadable = _read_index(segment.index_path)
    return replace(segment, index=index, index_unreadable=unreadable)


def _read_index(path: Path) -> tuple[CdcIndex | None, bool]:
    """The parsed index, or None; and whether the file exists but does not parse."""
    try:
        index = parse_cdc_index(path.read_text(encoding="ascii", errors="replace"))
    except FileNotFoundError:
        return None, False
    return index, index is None


def read_descriptor(segment: CdcSegment) -> SegmentDescriptor:
    """Read and decode the descriptor header of `segment`.

    Raises:
        DecodeError: the header is truncated, corrupt or of an unknown version.
    """
    with segment.path.open("rb") as handle:
        head = handle.read(_MAX_HEADER_BYTES)
    return decode_descriptor(head, segment_id=segment.segment_id)
