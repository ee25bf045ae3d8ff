"""The commit-log segment descriptor header and segment file names.

Mirrors `org.apache.cassandra.db.commitlog.CommitLogDescriptor` (5.0): `writeHeader`,
`readHeader` and `fromFileName`. Layout at file offset 0, all big-endian:

    0       4   i32     version (6 = 3.x, 7 = 4.x and 5.0 CASSANDRA_4 mode, 8 = 5.0 NONE mode)
    4       8   i64     segment id (equals the id in the file name)
    12      2   u16     L, length of the parameters JSON
    14      L   UTF-8   parameters: a JSON object (compression / encryption settings)
    14+L    4   u32     CRC32 of version, id low half, id high half, L as a 4-byte int, JSON

Pure: bytes in, a value out (STYLE.md section 3).
"""

from __future__ import annotations

import json
import re
import struct
import zlib
from dataclasses import dataclass
from enum import IntEnum

from casscade.commitlog.errors import (
    CorruptSegmentError,
    TruncatedSegmentError,
    UnsupportedVersionError,
)

_HEAD = struct.Struct(">iqH")
_U32 = struct.Struct(">I")
_SEGMENT_NAME = re.compile(r"^CommitLog-(\d+)-(\d+)\.log$")
_INDEX_NAME = re.compile(r"^CommitLog-(\d+)-(\d+)_cdc\.idx$")


class CommitLogVersion(IntEnum):
    """Descriptor versions (CommitLogDescriptor.VERSION_*, Cassandra 5.0)."""

    VERSION_30 = 6
    VERSION_40 = 7
    VERSION_50 = 8


@dataclass(frozen=True, slots=True)
class SegmentDescriptor:
    """A decoded descriptor header.

    Attributes:
        version: the commit-log version the segment was written in.
        segment_id: the segment id.
        parameters: the raw parameters JSON text (`{}` for a plain segment).
        compression_class: last dotted component of `compressionClass`, or None.
        encrypted: whether encryption parameters are present.
        header_length: bytes the header takes; the first sync marker starts here.
    """

    version: CommitLogVersion
    segment_id: int
    parameters: str
    compression_class: str | None
    encrypted: bool
    header_length: int


def _header_crc(version: int, segment_id: int, params: bytes) -> int:
    # Cassandra feeds the 64-bit id as two ints, low half first (FBUtilities.updateChecksumInt),
    # and the 2-byte length as a 4-byte int.
    crc = zlib.crc32(_U32.pack(version & 0xFFFFFFFF))
    crc = zlib.crc32(_U32.pack(segment_id & 0xFFFFFFFF), crc)
    crc = zlib.crc32(_U32.pack((segment_id >> 32) & 0xFFFFFFFF), crc)
    crc = zlib.crc32(_U32.pack(len(params)), crc)
    return zlib.crc32(params, crc)


def decode_descriptor(
    buf: bytes | memoryview, *, segment_id: int | None = None
) -> SegmentDescriptor:
    """Decode the header at offset 0 of a segment.

    Args:
        buf: the segment's bytes (at least the header).
        segment_id: the id from the file name, used in errors and checked against the header.

    Returns:
        The descriptor.

    Raises:
        TruncatedSegmentError: `buf` ends inside the header.
        CorruptSegmentError: CRC mismatch, bad JSON, or an id that differs from the name's.
        UnsupportedVersionError: a version other than 6, 7 or 8.
    """
    view = memoryview(buf)
    if len(view) < _HEAD.size:
        raise TruncatedSegmentError(segment_id, 0, "header shorter than 14 bytes")
    version, header_id, length = _HEAD.unpack_from(view, 0)
    end = _HEAD.size + length + _U32.size
    if len(view) < end:
        raise TruncatedSegmentError(segment_id, len(view), f"header needs {end} bytes")
    params = bytes(view[_HEAD.size : _HEAD.size + length])
    (stored_crc,) = _U32.unpack_from(view, _HEAD.size + length)
    if stored_crc != _header_crc(version, header_id, params):
        raise CorruptSegmentError(segment_id, _HEAD.size + length, "descriptor CRC mismatch")
    if version not in CommitLogVersion._value2member_map_:
        raise UnsupportedVersionError(segment_id, 0, f"commit-log version {version}")
    if segment_id is not None and header_id != segment_id:
        raise CorruptSegmentError(segment_id, 4, f"header id {header_id} differs from the name")
    try:
        decoded = json.loads(params.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise CorruptSegmentError(segment_id, _HEAD.size, "parameters are not JSON") from exc
    if not isinstance(decoded, dict):
        raise CorruptSegmentError(segment_id, _HEAD.size, "parameters are not a JSON object")
    compression = decoded.get("compressionClass")
    return SegmentDescriptor(
        version=CommitLogVersion(version),
        segment_id=header_id,
        parameters=params.decode("utf-8"),
        compression_class=str(compression).rsplit(".", 1)[-1] if compression else None,
        encrypted="encCipher" in decoded,
        header_length=end,
    )


@dataclass(frozen=True, slots=True)
class SegmentName:
    """What a `cdc_raw` file name says: version, segment id, and whether it is the index."""

    version: int
    segment_id: int
    is_index: bool


def parse_segment_name(name: str) -> SegmentName | None:
    """Parse `CommitLog-<v>-<id>.log` or `CommitLog-<v>-<id>_cdc.idx`; None for other names."""
    for pattern, is_index in ((_SEGMENT_NAME, False), (_INDEX_NAME, True)):
        match = pattern.match(name)
        if match is not None:
            return SegmentName(int(match.group(1)), int(match.group(2)), is_index)
    return None
