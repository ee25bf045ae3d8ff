"""Property tests of the value codecs and the type parser.

Arbitrary bytes decode to a value or raise ValueDecodeError, never any other exception, for
every type family; simple natives round-trip through a small encoder that lives here only.
"""

from __future__ import annotations

import dataclasses
import decimal
import math
import struct
import uuid
from collections.abc import Callable

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from casscade.commitlog.codecs import (
    Duration,
    decode_cell_path,
    decode_complex_cell,
    decode_partition_key,
    decode_value,
    decoder_for,
    key_decoder_for,
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
    ValueDecodeError,
    VectorType,
    format_cql_type,
    is_multi_cell,
    parse_cql_type,
)

# -- test-side encoders ---------------------------------------------------------------------


def encode_unsigned_vint(value: int) -> bytes:
    """Cassandra's unsigned vint (format reference section 2.1)."""
    for size in range(1, 9):
        if value < 1 << (7 * size):
            raw = bytearray(value.to_bytes(size, "big"))
            raw[0] |= (0xFF << (9 - size)) & 0xFF
            return bytes(raw)
    return b"\xff" + value.to_bytes(8, "big")


def encode_signed_vint(value: int) -> bytes:
    """Zig-zag then unsigned vint (section 2.2), for 64-bit values."""
    return encode_unsigned_vint(((value << 1) ^ (value >> 63)) & (2**64 - 1))


def encode_varint(value: int) -> bytes:
    """Minimal big-endian two's complement."""
    return value.to_bytes((value + (value < 0)).bit_length() // 8 + 1, "big", signed=True)


def encode_decimal(value: decimal.Decimal) -> bytes:
    """i32 scale then the unscaled varint."""
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    unscaled = int("".join(map(str, digits)) or "0") * (-1 if sign else 1)
    return struct.pack(">i", -exponent) + encode_varint(unscaled)


def encode_duration(value: Duration) -> bytes:
    """Three zig-zag vints."""
    return b"".join(encode_signed_vint(v) for v in (value.months, value.days, value.nanoseconds))


def framed(values: list[bytes | None]) -> bytes:
    """i32-length-prefixed values, -1 for None (frozen collections, tuples, UDTs)."""
    return b"".join(
        b"\xff\xff\xff\xff" if v is None else struct.pack(">i", len(v)) + v for v in values
    )


# -- strategies -----------------------------------------------------------------------------

NATIVES = st.sampled_from(list(NativeName)).map(NativeType)
CUSTOM = st.just(CustomType("org.apache.cassandra.db.marshal.LexicalUUIDType"))
UDT_NAMES = st.sampled_from(["point", "Mixed Case", 'qu"ote'])


def _udt(name: str, fields: list[CqlType], frozen: bool) -> UdtType:
    return UdtType("ks", name, tuple(f"f{i}" for i in range(len(fields))), tuple(fields), frozen)


def _extend(children: st.SearchStrategy[CqlType]) -> st.SearchStrategy[CqlType]:
    fields = st.lists(children, min_size=1, max_size=4)
    return st.one_of(
        st.builds(ListType, children, st.just(True)),
        st.builds(SetType, children, st.just(True)),
        st.builds(MapType, children, children, st.just(True)),
        fields.map(lambda es: TupleType(tuple(es))),
        st.builds(_udt, UDT_NAMES, fields, st.just(True)),
        st.builds(VectorType, children, st.integers(1, 4)),
    )


INNER_TYPES = st.recursive(NATIVES | CUSTOM, _extend, max_leaves=8)


@st.composite
def top_level_types(draw: st.DrawFn) -> CqlType:
    """A column type: any type, with collections and UDTs sometimes multi-cell."""
    inner = draw(INNER_TYPES)
    if isinstance(inner, ListType | SetType | MapType | UdtType):
        return dataclasses.replace(inner, frozen=draw(st.booleans()))
    return inner


@st.composite
def plausible_bytes(draw: st.DrawFn, t: CqlType, depth: int = 0) -> bytes:
    """Bytes that are usually well framed for `t`, with random leaves and random damage."""
    if depth > 3 or draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=40))
    inner = depth + 1
    raw: bytes
    if isinstance(t, ListType | SetType):
        items = draw(st.lists(plausible_bytes(t.element, inner) | st.none(), max_size=3))
        raw = struct.pack(">i", len(items)) + framed(items)
    elif isinstance(t, MapType):
        keys = draw(st.lists(plausible_bytes(t.key, inner), max_size=3))
        pairs: list[bytes | None] = []
        for key in keys:
            pairs += [key, draw(plausible_bytes(t.value, inner))]
        raw = struct.pack(">i", len(keys)) + framed(pairs)
    elif isinstance(t, TupleType | UdtType):
        parts = t.elements if isinstance(t, TupleType) else t.field_types
        count = draw(st.integers(0, len(parts)))
        raw = framed([draw(plausible_bytes(p, inner) | st.none()) for p in parts[:count]])
    elif isinstance(t, VectorType):
        elements = [draw(plausible_bytes(t.element, inner)) for _ in range(t.dimension)]
        with_lengths = draw(st.booleans())
        raw = b"".join(
            (encode_unsigned_vint(len(e)) if with_lengths else b"") + e for e in elements
        )
    else:
        raw = draw(st.binary(max_size=40))
    return raw


def decode_or_error(decoder: Callable[[bytes], object], data: bytes) -> object:
    """The decoded value, or the ValueDecodeError; anything else propagates and fails."""
    try:
        return decoder(data)
    except ValueDecodeError as exc:
        return exc


# -- never anything but ValueDecodeError -----------------------------------------------------

FAMILIES = [
    *(f"{name.value}" for name in NativeName),
    "frozen<list<int>>",
    "frozen<set<text>>",
    "frozen<map<text, frozen<list<int>>>>",
    "frozen<tuple<int, text, frozen<list<bigint>>>>",
    "frozen<point>",
    "vector<float, 3>",
    "vector<boolean, 2>",
    "vector<text, 2>",
    "vector<vector<int, 2>, 2>",
    "'org.apache.cassandra.db.marshal.LexicalUUIDType'",
]
UDTS = {("ks", "point"): (("x", "y", "tags"), ("int", "text", "frozen<list<text>>"))}


@pytest.mark.parametrize("type_text", FAMILIES)
@given(data=st.binary(max_size=80))
def test_decode_value_arbitrary_bytes_gives_value_or_value_decode_error(
    type_text: str, data: bytes
) -> None:
    """For every type family, any bytes give a value or ValueDecodeError, nothing else."""
    cql_type = parse_cql_type(type_text, keyspace="ks", udts=UDTS)
    decode_or_error(decoder_for(cql_type), data)
    result = decode_or_error(key_decoder_for(cql_type), data)
    if not isinstance(result, ValueDecodeError):
        hash(result)


@given(data=st.data())
def test_decode_value_random_type_plausible_bytes_never_raise_other_errors(
    data: st.DataObject,
) -> None:
    """Random nested types with mostly well-framed bytes decode or raise ValueDecodeError."""
    cql_type = data.draw(INNER_TYPES)
    raw = data.draw(plausible_bytes(cql_type))
    decode_or_error(decoder_for(cql_type), raw)
    result = decode_or_error(key_decoder_for(cql_type), raw)
    if not isinstance(result, ValueDecodeError):
        hash(result)


@pytest.mark.parametrize(
    "type_text", ["list<text>", "set<frozen<list<int>>>", "map<int, frozen<point>>", "point"]
)
@given(path=st.binary(max_size=24), value=st.binary(max_size=40))
def test_decode_complex_cell_arbitrary_bytes_gives_pair_or_value_decode_error(
    type_text: str, path: bytes, value: bytes
) -> None:
    """Cell paths and values of every multi-cell kind decode or raise ValueDecodeError."""
    cql_type = parse_cql_type(type_text, keyspace="ks", udts=UDTS)
    decode_or_error(lambda raw: decode_cell_path(cql_type, raw), path)
    result = decode_or_error(lambda raw: decode_complex_cell(cql_type, raw, value), path)
    if isinstance(result, tuple):
        hash(result[0])


@given(key=st.binary(max_size=40))
def test_decode_partition_key_arbitrary_bytes_gives_tuple_or_value_decode_error(
    key: bytes,
) -> None:
    """Any key bytes split into components or raise ValueDecodeError."""
    types = [NativeType(NativeName.TEXT), NativeType(NativeName.INT)]
    result = decode_or_error(lambda raw: decode_partition_key(types, raw), key)
    assert isinstance(result, tuple | ValueDecodeError)


@given(text=st.text(alphabet="<>,.'\" \tintlsmapfrozvecuple0123", max_size=40))
def test_parse_cql_type_arbitrary_text_gives_type_or_value_decode_error(text: str) -> None:
    """Any type text parses to a type or raises ValueDecodeError."""
    try:
        parse_cql_type(text, keyspace="ks", udts=UDTS)
    except ValueDecodeError:
        return


# -- round trips ----------------------------------------------------------------------------

INT32 = st.integers(-(2**31), 2**31 - 1)
INT64 = st.integers(-(2**63), 2**63 - 1)


@pytest.mark.parametrize(
    ("type_text", "values", "encode"),
    [
        ("int", INT32, lambda v: struct.pack(">i", v)),
        ("bigint", INT64, lambda v: struct.pack(">q", v)),
        ("text", st.text(min_size=1), lambda v: v.encode()),
        ("varint", st.integers(), encode_varint),
        ("uuid", st.uuids(), lambda v: v.bytes),
        ("timeuuid", st.uuids(version=1), lambda v: v.bytes),
    ],
)
@given(data=st.data())
def test_decode_value_encoded_simple_native_round_trips(
    type_text: str,
    values: st.SearchStrategy[object],
    encode: Callable[[object], bytes],
    data: st.DataObject,
) -> None:
    """int, bigint, text, varint and uuid values decode back to what was encoded."""
    value = data.draw(values)
    assert decode_value(parse_cql_type(type_text, keyspace="ks"), encode(value)) == value


@given(st.floats(width=64))
def test_decode_value_encoded_double_round_trips(value: float) -> None:
    """Doubles, NaN and infinities included, decode to the same bits."""
    decoded = decode_value(NativeType(NativeName.DOUBLE), struct.pack(">d", value))
    assert isinstance(decoded, float)
    assert struct.pack(">d", decoded) == struct.pack(">d", value) or math.isnan(value)


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_decode_value_encoded_decimal_round_trips(value: decimal.Decimal) -> None:
    """Decimals decode to an equal value with the same exponent (the CQL scale)."""
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    assume(-(2**31) <= -exponent < 2**31)
    decoded = decode_value(NativeType(NativeName.DECIMAL), encode_decimal(value))
    assert isinstance(decoded, decimal.Decimal)
    assert decoded == value
    assert decoded.as_tuple().exponent == exponent


@given(st.builds(Duration, INT32, INT32, INT64))
def test_decode_value_encoded_duration_round_trips(value: Duration) -> None:
    """Durations decode back to the same months, days and nanoseconds."""
    assert decode_value(NativeType(NativeName.DURATION), encode_duration(value)) == value


@given(st.lists(INT32 | st.none(), max_size=8))
def test_decode_value_encoded_frozen_list_round_trips(values: list[int | None]) -> None:
    """A frozen list<int> with nulls decodes back to the same list."""
    data = struct.pack(">i", len(values)) + framed(
        [None if v is None else struct.pack(">i", v) for v in values]
    )
    cql_type = ListType(NativeType(NativeName.INT), frozen=True)
    assert decode_value(cql_type, data) == values


@given(st.lists(st.text(max_size=10) | INT32.map(str), min_size=2, max_size=4), INT32)
def test_decode_partition_key_encoded_composite_round_trips(texts: list[str], number: int) -> None:
    """A composite key of texts and an int built with CompositeType framing splits back."""
    components = [t.encode() for t in texts] + [struct.pack(">i", number)]
    key = b"".join(struct.pack(">H", len(c)) + c + b"\x00" for c in components)
    types = [NativeType(NativeName.TEXT)] * len(texts) + [NativeType(NativeName.INT)]
    assert decode_partition_key(types, key) == (*texts, number)


def _collect_udts(
    t: CqlType, out: dict[tuple[str, str], tuple[tuple[str, ...], tuple[str, ...]]]
) -> None:
    children: tuple[CqlType, ...] = ()
    if isinstance(t, UdtType):
        definition = (t.field_names, tuple(format_cql_type(f) for f in t.field_types))
        assume(out.setdefault((t.keyspace, t.name), definition) == definition)
        children = t.field_types
    elif isinstance(t, ListType | SetType | VectorType):
        children = (t.element,)
    elif isinstance(t, MapType):
        children = (t.key, t.value)
    elif isinstance(t, TupleType):
        children = t.elements
    for child in children:
        _collect_udts(child, out)


@given(top_level_types())
def test_format_cql_type_random_type_parses_back_equal(cql_type: CqlType) -> None:
    """Rendering any type and parsing the text gives an equal type (UDTs defined alike)."""
    udts: dict[tuple[str, str], tuple[tuple[str, ...], tuple[str, ...]]] = {}
    _collect_udts(cql_type, udts)
    text = format_cql_type(cql_type)
    parsed = parse_cql_type(text, keyspace="ks", udts=udts)
    assert parsed == cql_type
    assert is_multi_cell(parsed) == is_multi_cell(cql_type)


@given(st.uuids())
def test_decode_cell_path_list_path_round_trips(value: uuid.UUID) -> None:
    """A list cell path of 16 bytes decodes to the same UUID."""
    assert decode_cell_path(ListType(NativeType(NativeName.INT), False), value.bytes) == value
