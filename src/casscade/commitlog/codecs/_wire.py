"""Shared pieces of the codecs: decoder signature, compiled Structs, vint readers, memoizing.

Private to `casscade.commitlog.codecs`. Pure: no I/O. Every reader here checks bounds itself
and raises `ValueDecodeError`, never IndexError or struct.error.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Hashable
from typing import TypeAlias, TypeVar

from casscade.commitlog.types import ValueDecodeError

KeyT = TypeVar("KeyT", bound=Hashable)
ValueT = TypeVar("ValueT")

# The serialized bytes of one complete value, without outer framing.
Buffer: TypeAlias = bytes | memoryview
# Turns a complete serialized value into its Python representation.
Decoder: TypeAlias = Callable[[Buffer], object]

I8 = struct.Struct(">b")
I16 = struct.Struct(">h")
I32 = struct.Struct(">i")
U32 = struct.Struct(">I")
I64 = struct.Struct(">q")
F32 = struct.Struct(">f")
F64 = struct.Struct(">d")

_I32_MIN = -(1 << 31)
_I32_MAX = (1 << 31) - 1


def bad_length(type_name: str, expected: int, data: Buffer) -> ValueDecodeError:
    """The error for a non-empty value of a fixed-size type whose length is wrong."""
    return ValueDecodeError(f"{type_name} value needs {expected} bytes, got {len(data)}")


def read_unsigned_vint(data: Buffer, pos: int) -> tuple[int, int]:
    """Read Cassandra's unsigned vint (format reference section 2.1) at `pos`.

    Returns:
        The unsigned 64-bit value and the offset just after it.

    Raises:
        ValueDecodeError: the vint runs past the end of `data`.
    """
    if pos >= len(data):
        raise ValueDecodeError("vint expected at end of value")
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    # The number of leading 1-bits of the first byte is the number of extra bytes.
    extra = 8 - (~first & 0xFF).bit_length()
    end = pos + 1 + extra
    if end > len(data):
        raise ValueDecodeError("vint runs past the end of the value")
    value = ((first & (0xFF >> extra)) << (8 * extra)) | int.from_bytes(data[pos + 1 : end], "big")
    return value, end


def read_signed_vint(data: Buffer, pos: int) -> tuple[int, int]:
    """Read a zig-zag signed vint (section 2.2) at `pos`: the signed value and the next offset.

    Raises:
        ValueDecodeError: the vint runs past the end of `data`.
    """
    raw, pos = read_unsigned_vint(data, pos)
    return (raw >> 1) ^ -(raw & 1), pos


def to_i32(value: int, what: str) -> int:
    """Check that a decoded number fits a Java int.

    Raises:
        ValueDecodeError: it does not.
    """
    if not _I32_MIN <= value <= _I32_MAX:
        raise ValueDecodeError(f"{what} {value} does not fit 32 bits")
    return value


# Hashing a (nested) frozen dataclass runs Python code and costs more than decoding an int,
# so memos also find the keys seen last by identity. An entry keeps its key alive, so the id
# cannot be reused while the entry exists; the identity table is emptied when it reaches this
# size (schema refreshes create new type objects), which bounds it without an LRU's cost.
_IDENTITY_LIMIT = 4096
_MISSING = object()


def memoize(build: Callable[[KeyT], ValueT]) -> Callable[[KeyT], ValueT]:
    """Wrap a pure one-argument builder so each key (by equality) is built only once.

    Raises:
        Whatever `build` raises; failures are not memoized.
    """
    by_value: dict[KeyT, ValueT] = {}
    by_identity: dict[int, tuple[KeyT, ValueT]] = {}

    def lookup(key: KeyT) -> ValueT:
        entry = by_identity.get(id(key))
        if entry is not None and entry[0] is key:
            return entry[1]
        found = by_value.get(key, _MISSING)
        value: ValueT
        if found is _MISSING:
            value = by_value[key] = build(key)
        else:
            value = found  # type: ignore[assignment]  # not _MISSING, so a ValueT
        if len(by_identity) >= _IDENTITY_LIMIT:
            by_identity.clear()
        by_identity[id(key)] = (key, value)
        return value

    return lookup
