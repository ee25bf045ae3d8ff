"""Sync sections and log entries of a commit-log segment.

Mirrors `CommitLogSegmentReader` / `CommitLogReader.readSection` (Cassandra 5.0). After the
descriptor header a segment is a chain of sync sections:

    plain:       [next i32][crc u32][entries ...]                     next = file offset
    compressed:  [next i32][crc u32][U i32][compressor output]       next = file offset

marker crc = CRC32(id low 32 bits, id high 32 bits, marker file offset), each 4 bytes BE.
An entry is [size i32][crc32(size) u32][mutation: size bytes][crc32(size + mutation) u32].

Positions are *logical*: for plain segments the file offset; for compressed ones Cassandra's
uncompressed in-memory layout (header, then per section an 8-byte marker slot and U bytes).
The `_cdc.idx` offset and every entry position use the logical scale.

Pure: bytes in, records out. Decompression is passed in by the caller (the decoder imports
nothing third-party); Deflate is in the standard library and built in.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple

from casscade.commitlog.descriptor import SegmentDescriptor
from casscade.commitlog.errors import (
    CorruptSegmentError,
    DecodeError,
    TruncatedSegmentError,
    UnsupportedVersionError,
)

_MARKER = struct.Struct(">iI")
_I32 = struct.Struct(">i")
_U32 = struct.Struct(">I")
_ENTRY_OVERHEAD = 12
_unpack_i32 = _I32.unpack_from
_unpack_u32 = _U32.unpack_from
_crc32 = zlib.crc32
_new = tuple.__new__
# Cassandra's lower bound for a mutation's size (CommitLogReader: "size < 10" is corrupt).
_MIN_ENTRY_SIZE = 10

# Decompresses one section: (compressor output, uncompressed length U) -> U bytes.
Decompressor = Callable[[bytes, int], bytes]


def _inflate(data: bytes, length: int) -> bytes:
    # DeflateCompressor writes a zlib stream (Java Deflater defaults, with header).
    out = zlib.decompress(data)
    if len(out) != length:
        raise ValueError(f"inflated {len(out)} bytes, expected {length}")
    return out


BUILTIN_DECOMPRESSORS: Mapping[str, Decompressor] = {"DeflateCompressor": _inflate}


class StopReason(Enum):
    """Why reading a segment stopped."""

    END_OF_DATA = "end_of_data"  # zero marker or no room for a marker: nothing more, ever
    NOT_YET_WRITTEN = "not_yet_written"  # live segment: the writer has not got further yet
    LIMIT = "limit"  # the durable limit (from `_cdc.idx`) was reached


class LogEntry(NamedTuple):
    """One serialized mutation and where it sits (a NamedTuple: one is built per entry).

    Attributes:
        segment_id: the segment.
        position: logical offset of the entry's first byte (its size field).
        end: logical offset just after the entry: Cassandra's CommitLogPosition for it.
        payload: the serialized mutation.
    """

    segment_id: int
    position: int
    end: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class CorruptSection:
    """A section whose entries could not all be read; reading went on after it.

    Attributes:
        segment_id: the segment.
        position: logical offset of the section's marker.
        end: logical offset where the next section starts.
        error: what was wrong, with the exact offset.
    """

    segment_id: int
    position: int
    end: int
    error: DecodeError


@dataclass(frozen=True, slots=True)
class SegmentEnd:
    """The last record of every walk: why it stopped and where to resume.

    Attributes:
        reason: why it stopped.
        resume_at: logical offset of the first section not read (start here next time).
        file_offset: file offset of that section's marker (where to seek next time).
    """

    reason: StopReason
    resume_at: int
    file_offset: int


SectionRecord = LogEntry | CorruptSection | SegmentEnd


@dataclass(frozen=True, slots=True)
class _Section:
    file_offset: int
    next_file_offset: int
    logical_start: int  # logical offset of the marker slot
    data: bytes  # the entries' bytes
    data_base: int  # logical offset of data[0]

    @property
    def logical_end(self) -> int:
        return self.data_base + len(self.data)


def _marker_crc(segment_id: int, offset: int) -> int:
    crc = zlib.crc32(_U32.pack(segment_id & 0xFFFFFFFF))
    crc = zlib.crc32(_U32.pack((segment_id >> 32) & 0xFFFFFFFF), crc)
    return zlib.crc32(_U32.pack(offset & 0xFFFFFFFF), crc)


class _Walker:
    """Reads the section chain of one segment; each call to `next_section` reads one."""

    def __init__(
        self,
        buf: memoryview,
        descriptor: SegmentDescriptor,
        *,
        completed: bool,
        decompress: Decompressor | None,
    ) -> None:
        self.buf = buf
        self.descriptor = descriptor
        self.completed = completed
        self.decompress = decompress
        self.compressed = descriptor.compression_class is not None

    def read_marker(self, offset: int) -> tuple[int, StopReason | None]:
        """Return (next, None) for a valid marker at `offset`, or (0, reason) to stop."""
        seg = self.descriptor.segment_id
        if offset > len(self.buf) - _MARKER.size:
            return 0, StopReason.END_OF_DATA if self.completed else StopReason.NOT_YET_WRITTEN
        next_offset, crc = _MARKER.unpack_from(self.buf, offset)
        if crc != _marker_crc(seg, offset):
            if not self.completed:
                # A zero marker (the preallocated tail) or a torn one: the writer has not got
                # here yet. The writer stores `next` before the CRC, so a torn marker is seen.
                return 0, StopReason.NOT_YET_WRITTEN
            if next_offset == 0 and crc == 0 and not self.compressed:
                return 0, StopReason.END_OF_DATA
            raise CorruptSegmentError(seg, offset, "sync marker CRC mismatch")
        if next_offset <= offset or next_offset > len(self.buf):
            # The marker CRC covers the segment id and the offset, not `next`: in a live
            # segment a marker at the write frontier can carry a valid CRC before its `next`
            # is stored (seen as 0 on a real segment under load). Not written yet, then.
            if not self.completed:
                return 0, StopReason.NOT_YET_WRITTEN
            raise CorruptSegmentError(seg, offset, f"sync marker points to {next_offset}")
        return next_offset, None

    def section(self, offset: int, next_offset: int, logical: int) -> _Section:
        """Cut (and for compressed segments decompress) the section at `offset`."""
        if not self.compressed:
            data = bytes(self.buf[offset + _MARKER.size : next_offset])
            return _Section(offset, next_offset, offset, data, offset + _MARKER.size)
        seg = self.descriptor.segment_id
        if next_offset - offset < _MARKER.size + _I32.size:
            raise CorruptSegmentError(seg, offset, "compressed section shorter than 12 bytes")
        (length,) = _I32.unpack_from(self.buf, offset + _MARKER.size)
        if length < 0:
            raise CorruptSegmentError(seg, offset + _MARKER.size, f"section length {length}")
        raw = bytes(self.buf[offset + _MARKER.size + _I32.size : next_offset])
        data = b"" if length == 0 else self._decompress(raw, length, offset)
        return _Section(offset, next_offset, logical, data, logical + _MARKER.size)

    def logical_end(self, offset: int, logical: int) -> int:
        """The logical end of the compressed section at `offset`, without decompressing it."""
        if offset + _MARKER.size + _I32.size > len(self.buf):
            raise TruncatedSegmentError(self.descriptor.segment_id, offset, "section header")
        (length,) = _I32.unpack_from(self.buf, offset + _MARKER.size)
        return logical + _MARKER.size + int(length)

    def _decompress(self, raw: bytes, length: int, offset: int) -> bytes:
        seg = self.descriptor.segment_id
        if self.decompress is None:
            name = self.descriptor.compression_class
            raise UnsupportedVersionError(seg, offset, f"no decompressor for {name}")
        try:
            data = self.decompress(raw, length)
        except Exception as exc:  # codec libraries raise their own exception types
            raise CorruptSegmentError(seg, offset, f"section does not decompress: {exc}") from exc
        if len(data) != length:
            raise CorruptSegmentError(seg, offset, f"decompressed {len(data)} of {length} bytes")
        return data


def _entries(section: _Section, segment_id: int) -> list[LogEntry]:
    """Split a section's bytes into entries; raise DecodeError at the first bad one."""
    data, base = section.data, section.data_base
    length = len(data)
    out: list[LogEntry] = []
    pos = 0
    while pos < length:
        if length - pos < _I32.size:
            break  # a short tail: Cassandra stops reading this section
        size: int = _unpack_i32(data, pos)[0]
        if size == 0:
            break  # legacy end-of-segment marker
        if size < _MIN_ENTRY_SIZE:
            raise CorruptSegmentError(segment_id, base + pos, f"entry size {size}")
        end = pos + _ENTRY_OVERHEAD + size
        if end > length:
            raise TruncatedSegmentError(segment_id, base + pos, "entry runs past its section")
        size_crc = _crc32(data[pos : pos + 4])
        if size_crc != _unpack_u32(data, pos + 4)[0]:
            raise CorruptSegmentError(segment_id, base + pos + 4, "entry size CRC mismatch")
        payload = data[pos + 8 : end - 4]
        if _crc32(payload, size_crc) != _unpack_u32(data, end - 4)[0]:
            raise CorruptSegmentError(segment_id, base + end - 4, "entry CRC mismatch")
        # One LogEntry per entry: built from a tuple in C, without the NamedTuple's
        # Python-level __new__ (the same record).
        out.append(_new(LogEntry, (segment_id, base + pos, base + end, payload)))
        pos = end
    return out


def iter_entries(
    buf: bytes | memoryview,
    descriptor: SegmentDescriptor,
    *,
    completed: bool,
    start: int | None = None,
    limit: int | None = None,
    decompress: Decompressor | None = None,
) -> Iterator[SectionRecord]:
    """Walk the sections of a segment and yield its entries.

    Args:
        buf: the segment's bytes from offset 0 (a live segment: what is there now).
        descriptor: the decoded header of the same segment.
        completed: whether `_cdc.idx` says COMPLETED. For a live segment a torn marker
            or a section past the end means "not yet written", not corruption.
        start: a `SegmentEnd.file_offset` from an earlier walk, to resume without re-reading
            (sections before it are skipped); None to start after the header.
        limit: the durable logical offset from `_cdc.idx`; sections ending after it are not
            read. None reads everything that is there.
        decompress: decompressor for the segment's compression class (Deflate is built in).

    Yields:
        LogEntry for each entry, CorruptSection for a section with a bad entry (reading goes
        on at the next section), and finally one SegmentEnd.

    Raises:
        CorruptSegmentError: a broken sync-marker chain in a completed segment: nothing after
            it can be located.
        UnsupportedVersionError: compressed segment without a decompressor, or encrypted.
    """
    view = memoryview(buf)
    seg = descriptor.segment_id
    if descriptor.encrypted:
        raise UnsupportedVersionError(seg, 0, "encrypted segment: no encryption key configured")
    codec = decompress or BUILTIN_DECOMPRESSORS.get(descriptor.compression_class or "")
    walker = _Walker(view, descriptor, completed=completed, decompress=codec)
    offset, logical = descriptor.header_length, descriptor.header_length
    if start is not None and not walker.compressed and start > offset:
        # Plain segments: logical offsets are file offsets, so resume right at the section.
        offset = logical = start
    while True:
        next_offset, stop = walker.read_marker(offset)
        if stop is not None:
            yield SegmentEnd(stop, logical, offset)
            return
        if start is not None and offset < start:
            # Compressed sections already read: only their logical length is needed (U, in
            # their header), not their bytes.
            logical = walker.logical_end(offset, logical)
            offset = next_offset
            continue
        section = walker.section(offset, next_offset, logical)
        if limit is not None and section.logical_end > limit:
            yield SegmentEnd(StopReason.LIMIT, logical, offset)
            return
        try:
            entries = _entries(section, seg)
        except DecodeError as exc:
            yield CorruptSection(seg, logical, section.logical_end, exc)
        else:
            yield from entries
        offset, logical = next_offset, section.logical_end
