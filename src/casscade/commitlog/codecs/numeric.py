"""Codecs of the numeric CQL types: integers, floating point, decimal, varint and boolean.

Mirrors the serializers of `org.apache.cassandra.serializers` (5.0): `LongSerializer`,
`Int32Serializer`, `ShortSerializer`, `ByteSerializer`, `IntegerSerializer`,
`DecimalSerializer`, `DoubleSerializer`, `FloatSerializer`, `BooleanSerializer`. All
big-endian. An empty value (0 bytes, legacy) decodes to None (format reference section 12.1).

Pure: bytes in, a Python value out; errors are `ValueDecodeError`.
"""

from __future__ import annotations

import decimal
import struct

from casscade.commitlog.codecs._wire import (
    F32,
    F64,
    I8,
    I16,
    I32,
    I64,
    Buffer,
    bad_length,
)
from casscade.commitlog.types import ValueDecodeError

_unpack_i8 = I8.unpack
_unpack_i16 = I16.unpack
_unpack_i32 = I32.unpack
_unpack_i64 = I64.unpack
_unpack_f32 = F32.unpack
_unpack_f64 = F64.unpack
_unpack_scale = I32.unpack_from
# Decimals by total size: the scale and an unscaled value of 1, 2, 4 or 8 bytes in one unpack.
# A big-endian two's-complement varint of those sizes is exactly a signed struct integer,
# and one unpack is cheaper than `int.from_bytes(..., signed=True)` (its keyword argument
# alone costs ~90 ns).
_DECIMAL_LAYOUTS = {
    4 + size: struct.Struct(f">i{code}").unpack
    for size, code in ((1, "b"), (2, "h"), (4, "i"), (8, "q"))
}

# A context that never rounds: scaleb under it is exact for any unscaled value and any
# 32-bit scale, unlike the default 28-digit context.
_EXACT = decimal.Context(
    prec=decimal.MAX_PREC, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN, traps=[]
)


def decode_bigint(data: Buffer) -> int | None:
    """bigint (`LongType`): i64."""
    if len(data) == 8:
        value: int = _unpack_i64(data)[0]
        return value
    if data:
        raise bad_length("bigint", 8, data)
    return None


def decode_int(data: Buffer) -> int | None:
    """int (`Int32Type`): i32."""
    if len(data) == 4:
        value: int = _unpack_i32(data)[0]
        return value
    if data:
        raise bad_length("int", 4, data)
    return None


def decode_smallint(data: Buffer) -> int | None:
    """smallint (`ShortType`): i16."""
    if len(data) == 2:
        value: int = _unpack_i16(data)[0]
        return value
    if data:
        raise bad_length("smallint", 2, data)
    return None


def decode_tinyint(data: Buffer) -> int | None:
    """tinyint (`ByteType`): i8."""
    if len(data) == 1:
        value: int = _unpack_i8(data)[0]
        return value
    if data:
        raise bad_length("tinyint", 1, data)
    return None


def decode_varint(data: Buffer) -> int | None:
    """varint (`IntegerType`): minimal big-endian two's complement of any length."""
    if not data:
        return None
    return int.from_bytes(data, "big", signed=True)


def decode_decimal(data: Buffer) -> decimal.Decimal | None:
    """decimal (`DecimalType`): i32 scale, then the unscaled value as a varint.

    The result keeps the scale as its exponent (`00 00 00 02 30 39` is `Decimal('123.45')`).
    """
    size = len(data)
    unpack = _DECIMAL_LAYOUTS.get(size)
    if unpack is not None:
        scale, unscaled = unpack(data)
        return decimal.Decimal(unscaled).scaleb(-scale, _EXACT)
    if size > 4:
        scale = _unpack_scale(data)[0]
        unscaled = int.from_bytes(data[4:], "big", signed=True)
        return decimal.Decimal(unscaled).scaleb(-scale, _EXACT)
    if size == 0:
        return None
    # Java's BigInteger rejects zero bytes, so a bare scale is not a valid decimal either.
    raise ValueDecodeError(f"decimal value needs more than 4 bytes, got {size}")


def decode_double(data: Buffer) -> float | None:
    """double (`DoubleType`): IEEE-754 binary64."""
    if len(data) == 8:
        number: float = _unpack_f64(data)[0]
        return number
    if data:
        raise bad_length("double", 8, data)
    return None


def decode_float(data: Buffer) -> float | None:
    """float (`FloatType`): IEEE-754 binary32, widened to a Python float."""
    if len(data) == 4:
        number: float = _unpack_f32(data)[0]
        return number
    if data:
        raise bad_length("float", 4, data)
    return None


def decode_boolean(data: Buffer) -> bool | None:
    """boolean (`BooleanType`): `00` is false, any other byte true."""
    if len(data) == 1:
        return data[0] != 0
    if data:
        raise bad_length("boolean", 1, data)
    return None
