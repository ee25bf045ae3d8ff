"""Tests of the bounds-checked cursor and Cassandra's vint encodings."""

from __future__ import annotations

import pytest

from casscade.commitlog.errors import CorruptSegmentError, TruncatedSegmentError
from casscade.commitlog.reader import Cursor, to_i64

# (value, bytes) pairs from the format reference, section 2.1.
VINTS = [
    (0, "00"),
    (127, "7f"),
    (128, "8080"),
    (300, "812c"),
    (16383, "bfff"),
    (16384, "c04000"),
    (256405480066000, "fce9330d8ecbd0"),
    (1 << 56, "ff0100000000000000"),
    ((1 << 64) - 1, "ffffffffffffffffff"),
]


@pytest.mark.parametrize(("value", "encoded"), VINTS)
def test_cursor_vint_reference_examples_decode(value: int, encoded: str) -> None:
    """Every worked vint example decodes to its value and consumes all its bytes."""
    cur = Cursor(bytes.fromhex(encoded))
    assert cur.vint() == value
    assert cur.remaining == 0


def test_cursor_vint32_negative_int_sign_extended() -> None:
    """A negative int written through the unsigned writer (9 bytes) reads back as negative."""
    cur = Cursor(bytes.fromhex("ff" + "ff" * 7 + "fe"))
    assert cur.vint32() == -2


def test_cursor_vint32_too_large_is_corrupt() -> None:
    """A vint beyond 32 bits where Cassandra reads an int is corruption, with the offset."""
    cur = Cursor(bytes.fromhex("f080000000"), base=100, segment_id=5)
    with pytest.raises(CorruptSegmentError) as caught:
        cur.vint32()
    assert caught.value.segment_id == 5
    assert caught.value.offset == 105


@pytest.mark.parametrize("encoded", ["", "80", "c040", "ff01000000000000"])
def test_cursor_vint_truncated_raises_truncated(encoded: str) -> None:
    """A vint cut short raises TruncatedSegmentError, never IndexError."""
    with pytest.raises(TruncatedSegmentError):
        Cursor(bytes.fromhex(encoded)).vint()


def test_cursor_fixed_width_fields_big_endian() -> None:
    """u8, u16, i32, i64 read big-endian and advance the position."""
    cur = Cursor(bytes.fromhex("010203fffffffe0000000000000100"))
    assert (cur.u8(), cur.u16(), cur.i32(), cur.i64()) == (1, 0x0203, -2, 256)
    assert cur.remaining == 0
    with pytest.raises(TruncatedSegmentError):
        cur.u8()


def test_cursor_vbytes_reads_length_prefixed() -> None:
    """vbytes reads a vint length then that many bytes; a short buffer is truncation."""
    assert Cursor(bytes.fromhex("03616263")).vbytes() == b"abc"
    with pytest.raises(TruncatedSegmentError):
        Cursor(bytes.fromhex("05616263")).vbytes()


def test_to_i64_wraps_like_java_long() -> None:
    """Unsigned 64-bit patterns reinterpret as Java longs."""
    assert to_i64((1 << 64) - 1) == -1
    assert to_i64(1 << 63) == -(1 << 63)
    assert to_i64(5) == 5
