"""Codec of `vector<T, n>` (Cassandra 5.0 `VectorType`, format reference section 12.1).

    fixed-length T      the n elements concatenated, n x size(T) bytes, no lengths
    variable-length T   per element: unsigned vint length + element bytes (vint, not i32)

A vector decodes to a list (a tuple when it must be hashable). Vectors of float, double,
int and bigint, the common embedding shapes, are unpacked with one compiled Struct.
Pure; errors are `ValueDecodeError`.
"""

from __future__ import annotations

import struct

from casscade.commitlog.codecs._wire import Buffer, Decoder, read_unsigned_vint
from casscade.commitlog.types import NativeName, ValueDecodeError

# Struct format characters of the natives a vector can unpack in one call.
_BULK_FORMATS = {
    NativeName.FLOAT: "f",
    NativeName.DOUBLE: "d",
    NativeName.INT: "i",
    NativeName.BIGINT: "q",
}


def make_bulk_vector_decoder(
    element: NativeName, dimension: int, *, as_tuple: bool
) -> Decoder | None:
    """A decoder unpacking a whole vector with one Struct, or None if `element` has no format."""
    code = _BULK_FORMATS.get(element)
    if code is None:
        return None
    layout = struct.Struct(f">{dimension}{code}")
    unpack = layout.unpack
    size = layout.size

    def decode(data: Buffer) -> object:
        if len(data) == size:
            values = unpack(data)
            return values if as_tuple else list(values)
        if not data:
            return None
        raise ValueDecodeError(f"vector value needs {size} bytes, got {len(data)}")

    return decode


def make_fixed_vector_decoder(
    element: Decoder, element_size: int, dimension: int, *, as_tuple: bool
) -> Decoder:
    """A decoder of a vector of a fixed-length element type of `element_size` bytes."""
    size = element_size * dimension

    def decode(data: Buffer) -> object:
        if not data:
            return None
        if len(data) != size:
            raise ValueDecodeError(f"vector value needs {size} bytes, got {len(data)}")
        view = memoryview(data)
        items = [element(view[pos : pos + element_size]) for pos in range(0, size, element_size)]
        return tuple(items) if as_tuple else items

    return decode


def make_variable_vector_decoder(element: Decoder, dimension: int, *, as_tuple: bool) -> Decoder:
    """A decoder of a vector of a variable-length element type (vint-prefixed elements)."""

    def decode(data: Buffer) -> object:
        if not data:
            return None
        view = memoryview(data)
        size = len(view)
        items: list[object] = []
        pos = 0
        for _ in range(dimension):
            length, pos = read_unsigned_vint(view, pos)
            end = pos + length
            if end > size:
                raise ValueDecodeError(f"vector element of {length} bytes runs past the value")
            items.append(element(view[pos:end]))
            pos = end
        if pos != size:
            raise ValueDecodeError(f"vector value has {size - pos} extra bytes")
        return tuple(items) if as_tuple else items

    return decode
