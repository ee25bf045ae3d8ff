"""Cells of multi-cell columns (non-frozen lists, sets, maps and UDTs): path and value.

Format reference section 11.9. Each cell of a complex column carries a path saying which
element it is:

    list<T>   path: 16-byte time-based UUID (list order)   value: the element
    set<T>    path: the element                            value: empty
    map<K,V>  path: the key                                value: the value
    UDT       path: i16 field index (0-based)              value: that field's value

Paths decode to a `uuid.UUID` (list), the element or key in its hashable form (set, map;
see `registry`), or the field NAME (UDT). Decoders are built once per type and memoized.
Pure; errors are `ValueDecodeError`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

from casscade.commitlog.codecs._wire import I16, Buffer, Decoder, memoize
from casscade.commitlog.codecs.identifiers import decode_uuid
from casscade.commitlog.codecs.registry import decoder_for, key_decoder_for
from casscade.commitlog.types import (
    CqlType,
    ListType,
    MapType,
    SetType,
    UdtType,
    ValueDecodeError,
    format_cql_type,
)

# (cell path, cell value) -> (decoded path, decoded value).
ComplexCellDecoder: TypeAlias = Callable[[Buffer, Buffer], tuple[object, object]]

_unpack_i16 = I16.unpack


def _decode_list_path(path: Buffer) -> object:
    if len(path) != 16:
        raise ValueDecodeError(f"list cell path needs 16 bytes, got {len(path)}")
    return decode_uuid(path)


def _make_udt_field_index(t: UdtType) -> Callable[[Buffer], int]:
    count = len(t.field_names)

    def field_index(path: Buffer) -> int:
        if len(path) != 2:
            raise ValueDecodeError(f"UDT cell path needs 2 bytes, got {len(path)}")
        index: int = _unpack_i16(path)[0]
        if not 0 <= index < count:
            # A field added after the schema snapshot was taken also lands here.
            raise ValueDecodeError(f"UDT {t.name} has no field {index} (it has {count})")
        return index

    return field_index


def _build_path_decoder(t: CqlType) -> Decoder:
    if isinstance(t, ListType) and not t.frozen:
        return _decode_list_path
    if isinstance(t, SetType) and not t.frozen:
        return key_decoder_for(t.element)
    if isinstance(t, MapType) and not t.frozen:
        return key_decoder_for(t.key)
    if isinstance(t, UdtType) and not t.frozen:
        field_index = _make_udt_field_index(t)
        names = t.field_names
        return lambda path: names[field_index(path)]
    raise ValueDecodeError(f"{format_cql_type(t)} is not multi-cell and has no cell paths")


def cell_path_decoder_for(t: CqlType) -> Decoder:
    """The decoder of cell paths of a multi-cell column of type `t` (memoized per type).

    Raises:
        ValueDecodeError: `t` is not a non-frozen list, set, map or UDT.
    """
    return _path_decoders(t)


def decode_cell_path(t: CqlType, path: Buffer) -> object:
    """Decode the path of one cell of a multi-cell column of type `t`.

    Returns:
        list: the cell's `uuid.UUID`; set: the element; map: the key (both hashable);
        UDT: the field name.

    Raises:
        ValueDecodeError: `t` is not multi-cell, or the path is malformed.
    """
    return _path_decoders(t)(path)


def _build_cell_decoder(t: CqlType) -> ComplexCellDecoder:
    path_decoder = _path_decoders(t)
    if isinstance(t, ListType):
        element = decoder_for(t.element)
        return lambda path, value: (path_decoder(path), element(value))
    if isinstance(t, SetType):
        return lambda path, value: (path_decoder(path), None)
    if isinstance(t, MapType):
        map_value = decoder_for(t.value)
        return lambda path, value: (path_decoder(path), map_value(value))
    if not isinstance(t, UdtType):  # unreachable: the path decoder accepted only the four kinds
        raise ValueDecodeError(f"{format_cql_type(t)} is not multi-cell and has no cell paths")
    field_index = _make_udt_field_index(t)
    names = t.field_names
    fields = tuple(decoder_for(f) for f in t.field_types)

    def decode(path: Buffer, value: Buffer) -> tuple[object, object]:
        index = field_index(path)
        return names[index], fields[index](value)

    return decode


def complex_cell_decoder_for(t: CqlType) -> ComplexCellDecoder:
    """The (path, value) decoder of cells of a multi-cell column of type `t` (memoized).

    Raises:
        ValueDecodeError: `t` is not a non-frozen list, set, map or UDT.
    """
    return _cell_decoders(t)


def decode_complex_cell(t: CqlType, path: Buffer, value: Buffer) -> tuple[object, object]:
    """Decode one cell of a multi-cell column: its path and its value.

    Returns:
        (path value, cell value): list (UUID, element), set (element, None),
        map (key, value), UDT (field name, field value).

    Raises:
        ValueDecodeError: `t` is not multi-cell, or the path or value is malformed.
    """
    return _cell_decoders(t)(path, value)


_path_decoders = memoize(_build_path_decoder)
_cell_decoders = memoize(_build_cell_decoder)
