"""The codec registry: one decoder function per CQL type, chosen once and memoized.

`decoder_for(t)` walks a `CqlType` once and composes the codec functions of the type-family
modules into a single callable, so decoding a value does no type dispatch. The mutation
decoder should look the decoder up once per column and keep it; `decode_value` is the
convenience form.

Two flavours exist for every type. The plain one gives lists for lists, sets and vectors and
dicts for maps and UDTs. The key flavour (`key_decoder_for`) gives hashable values instead,
because Python dict keys must be hashable: it is used for map keys (inside frozen maps and in
map cell paths) and for set cell paths. In it, lists, sets and vectors become tuples, and maps
and UDTs become tuples of (key, value) / (field name, value) pairs, recursively.

Pure, standard library only. Memoization keeps state, but only of pure functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from types import MappingProxyType

from casscade.commitlog.codecs._wire import Buffer, Decoder, memoize
from casscade.commitlog.codecs.counter import decode_counter
from casscade.commitlog.codecs.frozen import (
    make_list_decoder,
    make_map_decoder,
    make_tuple_decoder,
    make_udt_decoder,
)
from casscade.commitlog.codecs.identifiers import decode_inet, decode_uuid
from casscade.commitlog.codecs.numeric import (
    decode_bigint,
    decode_boolean,
    decode_decimal,
    decode_double,
    decode_float,
    decode_int,
    decode_smallint,
    decode_tinyint,
    decode_varint,
)
from casscade.commitlog.codecs.temporal import (
    decode_date,
    decode_duration,
    decode_time,
    decode_timestamp,
)
from casscade.commitlog.codecs.text import decode_ascii, decode_blob, decode_custom, decode_text
from casscade.commitlog.codecs.vector import (
    make_bulk_vector_decoder,
    make_fixed_vector_decoder,
    make_variable_vector_decoder,
)
from casscade.commitlog.types import (
    CqlType,
    CustomType,
    ListType,
    MapType,
    NativeName,
    NativeType,
    SetType,
    TupleType,
    UdtType,
    VectorType,
    fixed_length,
)


def _decode_empty(data: Buffer) -> None:
    # EmptyType has no values; any bytes it carries are ignored, as Cassandra does.
    return None


_NATIVE_DECODERS: Mapping[NativeName, Decoder] = MappingProxyType(
    {
        NativeName.ASCII: decode_ascii,
        NativeName.BIGINT: decode_bigint,
        NativeName.BLOB: decode_blob,
        NativeName.BOOLEAN: decode_boolean,
        NativeName.COUNTER: decode_counter,
        NativeName.DATE: decode_date,
        NativeName.DECIMAL: decode_decimal,
        NativeName.DOUBLE: decode_double,
        NativeName.DURATION: decode_duration,
        NativeName.EMPTY: _decode_empty,
        NativeName.FLOAT: decode_float,
        NativeName.INET: decode_inet,
        NativeName.INT: decode_int,
        NativeName.SMALLINT: decode_smallint,
        NativeName.TEXT: decode_text,
        NativeName.TIME: decode_time,
        NativeName.TIMESTAMP: decode_timestamp,
        NativeName.TIMEUUID: decode_uuid,
        NativeName.TINYINT: decode_tinyint,
        NativeName.UUID: decode_uuid,
        NativeName.VARINT: decode_varint,
    }
)


def decoder_for(t: CqlType) -> Decoder:
    """The decoder of complete serialized values of type `t` (memoized per type).

    The decoder takes `bytes` or a `memoryview` and returns the Python value (see the
    package docstring for each type's representation), or None for an empty value of a type
    other than text, ascii and blob. It raises only `ValueDecodeError`.
    """
    return _plain_decoders(t)


def key_decoder_for(t: CqlType) -> Decoder:
    """Like `decoder_for`, but every value it returns is hashable (for map keys, set paths)."""
    return _key_decoders(t)


def decode_value(t: CqlType, data: Buffer) -> object:
    """Decode one complete serialized value of type `t` (no outer framing).

    Args:
        t: the value's type.
        data: exactly the value's bytes.

    Returns:
        The Python value; None for an empty value of a type other than text, ascii and blob.

    Raises:
        ValueDecodeError: the bytes are not a valid value of `t`.
    """
    return _plain_decoders(t)(data)


def _inner(t: CqlType, *, hashable: bool) -> Decoder:
    return key_decoder_for(t) if hashable else decoder_for(t)


def _build(t: CqlType, *, hashable: bool) -> Decoder:
    if isinstance(t, NativeType):
        return _NATIVE_DECODERS[t.name]
    if isinstance(t, CustomType):
        return decode_custom
    if isinstance(t, VectorType):
        return _build_vector(t, hashable=hashable)
    return _build_composite(t, hashable=hashable)


def _build_composite(
    t: ListType | SetType | MapType | TupleType | UdtType, *, hashable: bool
) -> Decoder:
    if isinstance(t, ListType | SetType):
        return make_list_decoder(_inner(t.element, hashable=hashable), as_tuple=hashable)
    if isinstance(t, MapType):
        value = _inner(t.value, hashable=hashable)
        return make_map_decoder(key_decoder_for(t.key), value, as_pairs=hashable)
    if isinstance(t, TupleType):
        return make_tuple_decoder([_inner(e, hashable=hashable) for e in t.elements])
    fields = [_inner(f, hashable=hashable) for f in t.field_types]
    return make_udt_decoder(t.field_names, fields, as_pairs=hashable)


def _build_vector(t: VectorType, *, hashable: bool) -> Decoder:
    element_size = fixed_length(t.element)
    if element_size is None:
        element = _inner(t.element, hashable=hashable)
        return make_variable_vector_decoder(element, t.dimension, as_tuple=hashable)
    if isinstance(t.element, NativeType):
        bulk = make_bulk_vector_decoder(t.element.name, t.dimension, as_tuple=hashable)
        if bulk is not None:
            return bulk
    element = _inner(t.element, hashable=hashable)
    return make_fixed_vector_decoder(element, element_size, t.dimension, as_tuple=hashable)


_plain_decoders = memoize(partial(_build, hashable=False))
_key_decoders = memoize(partial(_build, hashable=True))
