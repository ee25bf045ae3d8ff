"""A bounds-checked cursor over a mutation's bytes, with Cassandra's primitive encodings.

Every read checks the remaining length first and raises TruncatedSegmentError (with the
segment id and the absolute position) instead of letting IndexError or struct.error escape.
Encodings (format reference section 2; `VIntCoding`, `ByteBufferUtil`, Cassandra 5.0):

    u8, u16, i32, i64     fixed width, big-endian
    vint                  unsigned variable-length, 1-9 bytes, leading 1-bits = extra bytes
    vint32                vint reinterpreted as a signed 64-bit value that must fit an int32
    vbytes                vint length, then that many bytes

Pure: a memoryview in, values out.
"""

from __future__ import annotations

import struct

from casscade.commitlog.errors import CorruptSegmentError, TruncatedSegmentError

_U16 = struct.Struct(">H")
_I32 = struct.Struct(">i")
_I64 = struct.Struct(">q")
_U64_MASK = (1 << 64) - 1
_I32_MIN, _I32_MAX = -(1 << 31), (1 << 31) - 1
# Value bits of a vint with `extra` bytes after the first: 7 per byte, and all 64 when the
# first byte is all ones (8 extra bytes, no terminating zero bit).
_VINT_MASKS = tuple((1 << (7 * (extra + 1) if extra < 8 else 64)) - 1 for extra in range(9))


def to_i64(value: int) -> int:
    """Reinterpret an unsigned 64-bit value as signed (Java long)."""
    value &= _U64_MASK
    return value - (1 << 64) if value >> 63 else value


def vint_at(buf: bytes, pos: int) -> tuple[int, int]:
    """The unsigned vint at `pos` and the offset after it, for callers that bound-check.

    Raises:
        IndexError: `buf` ends before the vint does (no DecodeError: the caller, which
            reads without a Cursor, decides what a short buffer means).
    """
    first = buf[pos]
    if first < 0x80:
        return first, pos + 1
    extra = 8 - (first ^ 0xFF).bit_length()
    end = pos + 1 + extra
    if end > len(buf):
        raise IndexError(end)
    return int.from_bytes(buf[pos:end], "big") & _VINT_MASKS[extra], end


class Cursor:
    """Reads one mutation's bytes front to back.

    Attributes:
        buf: the bytes.
        pos: the next byte to read, relative to `buf`.
        base: absolute position of `buf[0]` in the segment (for error offsets).
        segment_id: the segment, for errors.
    """

    __slots__ = ("base", "buf", "pos", "segment_id")

    def __init__(
        self, buf: bytes | memoryview, *, base: int = 0, segment_id: int | None = None
    ) -> None:
        self.buf = memoryview(buf)
        self.pos = 0
        self.base = base
        self.segment_id = segment_id

    @property
    def remaining(self) -> int:
        return len(self.buf) - self.pos

    def offset(self) -> int:
        """The absolute position of the next byte."""
        return self.base + self.pos

    def truncated(self, what: str) -> TruncatedSegmentError:
        return TruncatedSegmentError(self.segment_id, self.offset(), f"bytes end inside {what}")

    def corrupt(self, problem: str) -> CorruptSegmentError:
        return CorruptSegmentError(self.segment_id, self.offset(), problem)

    def u8(self) -> int:
        if self.pos >= len(self.buf):
            raise self.truncated("a byte field")
        value = self.buf[self.pos]
        self.pos += 1
        return value

    def u16(self) -> int:
        if self.pos + 2 > len(self.buf):
            raise self.truncated("a 2-byte field")
        (value,) = _U16.unpack_from(self.buf, self.pos)
        self.pos += 2
        return int(value)

    def i32(self) -> int:
        if self.pos + 4 > len(self.buf):
            raise self.truncated("a 4-byte field")
        (value,) = _I32.unpack_from(self.buf, self.pos)
        self.pos += 4
        return int(value)

    def i64(self) -> int:
        if self.pos + 8 > len(self.buf):
            raise self.truncated("an 8-byte field")
        (value,) = _I64.unpack_from(self.buf, self.pos)
        self.pos += 8
        return int(value)

    def raw(self, length: int) -> bytes:
        """The next `length` bytes."""
        if length < 0:
            raise self.corrupt(f"negative length {length}")
        end = self.pos + length
        if end > len(self.buf):
            raise self.truncated(f"a {length}-byte value")
        data = bytes(self.buf[self.pos : end])
        self.pos = end
        return data

    def vint(self) -> int:
        """An unsigned vint (0 .. 2^64-1)."""
        buf, pos = self.buf, self.pos
        if pos >= len(buf):
            raise self.truncated("a vint")
        first = buf[pos]
        if first < 0x80:  # the common one-byte case
            self.pos = pos + 1
            return first
        extra = 8 - (first ^ 0xFF).bit_length()  # number of leading one bits
        end = pos + 1 + extra
        if end > len(buf):
            raise self.truncated("a vint")
        self.pos = end
        # All the bytes as one big-endian number, minus the length prefix of the first byte.
        return int.from_bytes(buf[pos:end], "big") & _VINT_MASKS[extra]

    def vint32(self) -> int:
        """A vint Cassandra reads as a 32-bit int (counts, lengths, TTL and ldt deltas)."""
        pos = self.pos
        if pos < len(self.buf) and self.buf[pos] < 0x80:  # the common one-byte case
            self.pos = pos + 1
            return self.buf[pos]
        value = to_i64(self.vint())
        if not _I32_MIN <= value <= _I32_MAX:
            raise self.corrupt(f"vint {value} does not fit 32 bits")
        return value

    def vbytes(self) -> bytes:
        """A vint length followed by that many bytes."""
        buf, pos = self.buf, self.pos
        if pos < len(buf) and buf[pos] < 0x80:  # short values: one length byte
            end = pos + 1 + buf[pos]
            if end <= len(buf):
                self.pos = end
                return bytes(buf[pos + 1 : end])
        length = self.vint32()
        if length < 0:
            raise self.corrupt(f"negative length {length}")
        return self.raw(length)
