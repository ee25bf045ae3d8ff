"""Codecs of values stored as one cell: frozen lists, sets and maps, tuples and frozen UDTs.

Mirrors `CollectionSerializer`, `ListSerializer`, `SetSerializer`, `MapSerializer` and
`TupleType`/`UserType` (Cassandra 5.0), format reference section 12.3, all big-endian:

    list, set   i32 count, then per element: i32 length + element bytes
    map         i32 count, then per entry: i32 length + key, i32 length + value
    tuple, UDT  per field in declaration order: i32 length + bytes; the value may stop early

A negative length is a null element or field (None). Elements use their own type's native
encoding and are decoded with the element decoder they are built with. Bytes left over after
the last element or field are an error, as in Cassandra's `validate`.

Each `make_*` function builds a decoder once from its element decoders (the registry chooses
them), so decoding does no type dispatch. Pure; errors are `ValueDecodeError`.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from casscade.commitlog.codecs._wire import I32, Buffer, Decoder
from casscade.commitlog.types import ValueDecodeError

_unpack_i32_from = I32.unpack_from


def _read_values(data: memoryview, pos: int, count: int) -> tuple[list[memoryview | None], int]:
    """Read `count` i32-length-prefixed values from `pos`: the slices (None for null), end."""
    size = len(data)
    # Every value takes at least its 4-byte length: reject absurd counts before looping.
    if count < 0 or pos + 4 * count > size:
        raise ValueDecodeError(f"collection count {count} does not fit {size - pos} bytes")
    values: list[memoryview | None] = []
    append = values.append
    for _ in range(count):
        value, pos = _read_value(data, pos, "collection element")
        append(value)
    return values, pos


def _read_value(data: memoryview, pos: int, what: str) -> tuple[memoryview | None, int]:
    """One i32-length-prefixed value at `pos` (None for a negative length, null), and its end."""
    if pos + 4 > len(data):
        raise ValueDecodeError(f"{what} length runs past the value")
    length: int = _unpack_i32_from(data, pos)[0]
    pos += 4
    if length < 0:
        return None, pos
    end = pos + length
    if end > len(data):
        raise ValueDecodeError(f"{what} of {length} bytes runs past the value")
    return data[pos:end], end


def _read_collection(data: Buffer, pairs: bool) -> list[memoryview | None]:
    view = memoryview(data)
    try:
        count: int = _unpack_i32_from(view, 0)[0]
    except struct.error:
        raise ValueDecodeError(f"collection of {len(view)} bytes has no count") from None
    values, end = _read_values(view, 4, count * 2 if pairs else count)
    if end != len(view):
        raise ValueDecodeError(f"collection value has {len(view) - end} extra bytes")
    return values


def make_list_decoder(element: Decoder, *, as_tuple: bool) -> Decoder:
    """A decoder of a frozen list or set: a list (a tuple if `as_tuple`) in serialized order."""

    def decode(data: Buffer) -> object:
        if not data:
            return None
        items = [None if v is None else element(v) for v in _read_collection(data, pairs=False)]
        return tuple(items) if as_tuple else items

    return decode


def make_map_decoder(key: Decoder, value: Decoder, *, as_pairs: bool) -> Decoder:
    """A decoder of a frozen map: a dict, or a tuple of (key, value) pairs if `as_pairs`.

    `key` must give hashable values (the registry passes a key decoder).
    """

    def decode(data: Buffer) -> object:
        if not data:
            return None
        raw = _read_collection(data, pairs=True)
        keys = [None if k is None else key(k) for k in raw[0::2]]
        values = [None if v is None else value(v) for v in raw[1::2]]
        return (
            tuple(zip(keys, values, strict=True))
            if as_pairs
            else dict(zip(keys, values, strict=True))
        )

    return decode


def _read_fields(data: Buffer, count: int) -> list[memoryview | None]:
    """Split a tuple or UDT value into `count` fields, padding missing trailing ones with None."""
    view = memoryview(data)
    size = len(view)
    fields: list[memoryview | None] = []
    append = fields.append
    pos = 0
    while pos < size:
        if len(fields) == count:
            raise ValueDecodeError(f"tuple value has {size - pos} bytes after its {count} fields")
        field, pos = _read_value(view, pos, "tuple field")
        append(field)
    fields.extend([None] * (count - len(fields)))
    return fields


def make_tuple_decoder(elements: Sequence[Decoder]) -> Decoder:
    """A decoder of a tuple: a Python tuple, None for null and missing trailing fields."""
    decoders = tuple(elements)
    count = len(decoders)

    def decode(data: Buffer) -> object:
        if not data:
            return None
        fields = _read_fields(data, count)
        return tuple(
            None if raw is None else field(raw) for field, raw in zip(decoders, fields, strict=True)
        )

    return decode


def make_udt_decoder(
    field_names: Sequence[str], field_decoders: Sequence[Decoder], *, as_pairs: bool
) -> Decoder:
    """A decoder of a frozen UDT: a dict of field name to value (None for null or missing).

    With `as_pairs` (a UDT inside a map key or set element) it gives a tuple of
    (field name, value) pairs instead, which is hashable.
    """
    names = tuple(field_names)
    decoders = tuple(field_decoders)
    count = len(decoders)

    def decode(data: Buffer) -> object:
        if not data:
            return None
        fields = _read_fields(data, count)
        values = [
            None if raw is None else field(raw) for field, raw in zip(decoders, fields, strict=True)
        ]
        return (
            tuple(zip(names, values, strict=True))
            if as_pairs
            else dict(zip(names, values, strict=True))
        )

    return decode
