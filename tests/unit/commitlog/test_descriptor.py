"""Tests of the descriptor header decoder and segment file names."""

from __future__ import annotations

import struct
import zlib

import pytest

from casscade.commitlog.descriptor import (
    CommitLogVersion,
    decode_descriptor,
    parse_segment_name,
)
from casscade.commitlog.errors import (
    CorruptSegmentError,
    DecodeError,
    TruncatedSegmentError,
    UnsupportedVersionError,
)

# Header of a real segment, CommitLog-7-1699285478684.log (format reference, section 4).
REAL_HEADER = bytes.fromhex(
    "00000007"  # version 7
    "0000018ba54ead1c"  # segment id 1699285478684
    "0002"  # L = 2
    "7b7d"  # "{}"
    "943080a5"  # CRC32 of be32(7) be32(low id) be32(high id) be32(L) "{}"
)
REAL_ID = 1699285478684


def test_decode_descriptor_real_header_gives_fields() -> None:
    """A real version-7 header decodes to its version, id, empty parameters and length 20."""
    descriptor = decode_descriptor(REAL_HEADER + b"\0" * 16, segment_id=REAL_ID)
    assert descriptor.version is CommitLogVersion.VERSION_40
    assert descriptor.segment_id == REAL_ID
    assert descriptor.parameters == "{}"
    assert descriptor.compression_class is None
    assert descriptor.encrypted is False
    assert descriptor.header_length == 20


@pytest.mark.parametrize("length", range(len(REAL_HEADER)))
def test_decode_descriptor_truncated_raises_truncated(length: int) -> None:
    """Every cut inside the header raises TruncatedSegmentError, never IndexError."""
    with pytest.raises(TruncatedSegmentError) as caught:
        decode_descriptor(REAL_HEADER[:length], segment_id=REAL_ID)
    assert caught.value.segment_id == REAL_ID


@pytest.mark.parametrize("position", range(len(REAL_HEADER)))
def test_decode_descriptor_bit_flip_raises_decode_error(position: int) -> None:
    """Flipping any bit of the header is detected (CRC, version or length check)."""
    damaged = bytearray(REAL_HEADER)
    damaged[position] ^= 0x10
    with pytest.raises(DecodeError):
        decode_descriptor(bytes(damaged) + b"\0" * 32, segment_id=REAL_ID)


def test_decode_descriptor_crc_mismatch_names_offset() -> None:
    """A wrong CRC is a CorruptSegmentError pointing at the CRC's offset."""
    damaged = REAL_HEADER[:-1] + bytes([REAL_HEADER[-1] ^ 0xFF])
    with pytest.raises(CorruptSegmentError) as caught:
        decode_descriptor(damaged, segment_id=REAL_ID)
    assert caught.value.offset == 16
    assert "CRC" in str(caught.value)


def test_decode_descriptor_name_id_mismatch_raises() -> None:
    """A header whose id differs from the file name's is reported as corrupt."""
    with pytest.raises(CorruptSegmentError, match="differs from the name"):
        decode_descriptor(REAL_HEADER, segment_id=REAL_ID + 1)


def test_decode_descriptor_unknown_version_raises_unsupported() -> None:
    """A version outside 6..8 with a valid CRC is UnsupportedVersionError."""
    header = struct.pack(">iqH", 5, 42, 2) + b"{}"
    crc = 0
    for word in (5, 42, 0, 2):
        crc = zlib.crc32(struct.pack(">I", word), crc)
    header += struct.pack(">I", zlib.crc32(b"{}", crc))
    with pytest.raises(UnsupportedVersionError):
        decode_descriptor(header)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("CommitLog-7-1795630578913.log", (7, 1795630578913, False)),
        ("CommitLog-8-12_cdc.idx", (8, 12, True)),
        ("CommitLog-7-1795630578913.log.tmp", None),
        ("commitlog-7-1.log", None),
        ("CommitLog-7-abc.log", None),
    ],
)
def test_parse_segment_name_variants(name: str, expected: tuple[int, int, bool] | None) -> None:
    """Segment and index names parse; anything else is None."""
    parsed = parse_segment_name(name)
    if expected is None:
        assert parsed is None
    else:
        assert parsed is not None
        assert (parsed.version, parsed.segment_id, parsed.is_index) == expected
