"""Tests of the value codecs: native types, counters, frozen values, vectors, keys and paths."""

from __future__ import annotations

import datetime
import decimal
import ipaddress
import pickle
import uuid

import pytest

from casscade.commitlog.codecs import (
    CounterContext,
    CounterShard,
    CounterShardKind,
    CqlDate,
    CqlTime,
    CqlTimestamp,
    Duration,
    complex_cell_decoder_for,
    decode_cell_path,
    decode_complex_cell,
    decode_partition_key,
    decode_value,
    decoder_for,
    key_decoder_for,
    partition_key_decoder_for,
)
from casscade.commitlog.codecs._wire import memoize
from casscade.commitlog.types import CqlType, UdtDefinitions, ValueDecodeError, parse_cql_type

UDTS: UdtDefinitions = {
    ("shop", "address"): (("street", "zip", "city"), ("text", "int", "text")),
    ("shop", "point"): (("x", "y"), ("int", "int")),
}
UTC = datetime.UTC
NODE = uuid.UUID("11111111-2222-3333-4444-555555555555")
OTHER_NODE = uuid.UUID("99999999-8888-7777-6666-555555555555")
LIST_PATH = uuid.UUID("5d4c3b2a-1dd2-11b2-8000-000000000001")


def t(text: str) -> CqlType:
    """Parse a type text in keyspace `shop` with the test UDTs."""
    return parse_cql_type(text, keyspace="shop", udts=UDTS)


def h(text: str) -> bytes:
    """Bytes from hex written with spaces and '|' separators."""
    return bytes.fromhex(text.replace("|", " "))


def i32(value: int) -> str:
    """The hex of an i32, for building frozen values."""
    return value.to_bytes(4, "big", signed=True).hex()


# -- native types --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_text", "hex_value", "expected"),
    [
        ("ascii", "6e 61 6d 65 30", "name0"),
        ("text", "63 61 66 c3 a9", "café"),
        ("varchar", "61", "a"),
        ("blob", "00 ff 10", b"\x00\xff\x10"),
        ("bigint", "ff ff ff ff ff ff ff fe", -2),
        ("bigint", "7f ff ff ff ff ff ff ff", 2**63 - 1),
        ("int", "00 00 00 2a", 42),
        ("int", "80 00 00 00", -(2**31)),
        ("smallint", "ff 85", -123),
        ("tinyint", "80", -128),
        ("varint", "00 80", 128),
        ("varint", "ff", -1),
        ("varint", "01 00 00 00 00 00 00 00 00 00", 2**72),
        ("boolean", "00", False),
        ("boolean", "01", True),
        ("boolean", "ff", True),
        ("double", "3f f8 00 00 00 00 00 00", 1.5),
        ("float", "40 49 0f db", 3.1415927410125732),
        ("decimal", "00 00 00 02 | 30 39", decimal.Decimal("123.45")),
        ("decimal", "ff ff ff fe | 05", decimal.Decimal("500")),
        ("decimal", "00 00 00 01 | f6", decimal.Decimal("-1.0")),
        ("date", "80 00 4d 0b", datetime.date(2024, 1, 1)),
        ("date", "80 00 00 00", datetime.date(1970, 1, 1)),
        ("date", "7f ff ff ff", datetime.date(1969, 12, 31)),
        ("time", "00 00 27 4a 48 a7 80 00", CqlTime(43_200_000_000_000)),
        ("time", "00 00 00 00 00 00 00 07", CqlTime(7)),
        (
            "timestamp",
            "00 00 01 8c c2 51 f4 00",
            datetime.datetime(2024, 1, 1, tzinfo=UTC),
        ),
        (
            "timestamp",
            "ff ff ff ff ff ff ff ff",
            datetime.datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
        ),
        ("duration", "02 | 04 | 06", Duration(1, 2, 3)),
        ("duration", "01 | 01 | 01", Duration(-1, -1, -1)),
        ("duration", "00 | 00 | fc 0d 18 c2 e2 80 00", Duration(0, 0, 3_600_000_000_000 * 2)),
        ("uuid", "11111111 2222 3333 4444 555555555555", NODE),
        ("timeuuid", "5d4c3b2a 1dd2 11b2 8000 000000000001", LIST_PATH),
        ("inet", "7f 00 00 01", ipaddress.IPv4Address("127.0.0.1")),
        ("inet", "00" * 15 + "01", ipaddress.IPv6Address("::1")),
        ("'org.apache.cassandra.db.marshal.LexicalUUIDType'", "ab cd", b"\xab\xcd"),
    ],
)
def test_decode_value_native_bytes_give_python_value(
    type_text: str, hex_value: str, expected: object
) -> None:
    """Each native type's serialized bytes decode to the documented Python value."""
    value = decode_value(t(type_text), h(hex_value))
    assert value == expected
    assert type(value) is type(expected)


def test_decode_value_decimal_keeps_scale_as_exponent() -> None:
    """A decimal keeps its scale: 1.10 (scale 2) is not normalised to 1.1."""
    value = decode_value(t("decimal"), h("00 00 00 02 | 6e"))
    assert isinstance(value, decimal.Decimal)
    assert str(value) == "1.10"


def test_decode_value_decimal_huge_unscaled_is_exact() -> None:
    """A decimal far beyond 28 digits decodes exactly, not rounded to the default context."""
    unscaled = 10**200 + 1
    data = (3).to_bytes(4, "big") + unscaled.to_bytes(85, "big", signed=True)
    assert decode_value(t("decimal"), data) == decimal.Decimal(f"{unscaled}E-3")


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 8, 9])
@pytest.mark.parametrize("scale", [-(2**31), -7, 0, 2, 2**31 - 1])
def test_decode_value_decimal_every_unscaled_size_is_exact(size: int, scale: int) -> None:
    """Unscaled values of every size, at both ends of their range, keep value and exponent."""
    bits = 8 * size
    for unscaled in (-(1 << (bits - 1)), -1, 0, 1, (1 << (bits - 1)) - 1):
        data = scale.to_bytes(4, "big", signed=True) + unscaled.to_bytes(size, "big", signed=True)
        value = decode_value(t("decimal"), data)
        assert isinstance(value, decimal.Decimal)
        assert value.as_tuple() == decimal.Decimal(f"{unscaled}E{-scale}").as_tuple()


@pytest.mark.parametrize(
    ("type_text", "expected"),
    [("text", ""), ("ascii", ""), ("blob", b"")]
    + [
        (name, None)
        for name in [
            "bigint",
            "int",
            "smallint",
            "tinyint",
            "varint",
            "boolean",
            "double",
            "float",
            "decimal",
            "date",
            "time",
            "timestamp",
            "duration",
            "uuid",
            "timeuuid",
            "inet",
            "counter",
            "empty",
            "frozen<list<int>>",
            "frozen<map<int,int>>",
            "frozen<tuple<int>>",
            "frozen<address>",
            "vector<float,2>",
            "vector<text,2>",
            "'org.apache.cassandra.db.marshal.LexicalUUIDType'",
        ]
    ],
)
def test_decode_value_empty_bytes_give_empty_string_or_none(
    type_text: str, expected: object
) -> None:
    """An empty value is '' or b'' for text, ascii and blob, and None for every other type."""
    assert decode_value(t(type_text), b"") == expected


@pytest.mark.parametrize(
    ("type_text", "hex_value", "fragment"),
    [
        ("bigint", "00 01", "bigint value needs 8 bytes, got 2"),
        ("int", "00 00 00 00 00", "int value needs 4 bytes"),
        ("smallint", "00", "smallint value needs 2 bytes"),
        ("tinyint", "00 00", "tinyint value needs 1 bytes"),
        ("boolean", "00 01", "boolean value needs 1 bytes"),
        ("double", "00", "double value needs 8 bytes"),
        ("float", "00", "float value needs 4 bytes"),
        ("date", "80 00 4d", "date value needs 4 bytes"),
        ("time", "00", "time value needs 8 bytes"),
        ("timestamp", "00", "timestamp value needs 8 bytes"),
        ("uuid", "00", "uuid value needs 16 bytes"),
        ("inet", "7f 00 01", "inet value needs 4 or 16 bytes"),
        ("decimal", "00 00 00 02", "decimal value needs more than 4 bytes"),
        ("text", "c3 28", "not UTF-8"),
        ("ascii", "61 e9", "non-ASCII byte at 1"),
        ("duration", "02 04", "vint expected at end"),
        ("duration", "02 04 06 00", "1 extra bytes"),
        ("duration", "02 04 ff", "vint runs past the end"),
        ("duration", "f1 ff ff ff ff | 00 | 00", "does not fit 32 bits"),
    ],
)
def test_decode_value_malformed_native_raises_value_decode_error(
    type_text: str, hex_value: str, fragment: str
) -> None:
    """Wrong lengths and invalid bytes raise ValueDecodeError, never a built-in error."""
    with pytest.raises(ValueDecodeError) as caught:
        decode_value(t(type_text), h(hex_value))
    assert fragment in str(caught.value)


def test_decode_value_date_outside_python_range_gives_cql_date() -> None:
    """Dates before year 1 or after 9999 keep their day number in a CqlDate."""
    assert decode_value(t("date"), h("00 00 00 00")) == CqlDate(-(2**31))
    assert decode_value(t("date"), h("ff ff ff ff")) == CqlDate(2**31 - 1)


def test_decode_value_timestamp_outside_python_range_gives_cql_timestamp() -> None:
    """Timestamps outside years 1-9999 keep their milliseconds in a CqlTimestamp."""
    assert decode_value(t("timestamp"), h("7f ff ff ff ff ff ff ff")) == CqlTimestamp(2**63 - 1)
    assert decode_value(t("timestamp"), h("80 00 00 00 00 00 00 00")) == CqlTimestamp(-(2**63))


def test_cql_time_to_time_sub_microseconds_are_truncated() -> None:
    """CqlTime.to_time gives a datetime.time, dropping the sub-microsecond part."""
    assert CqlTime(43_200_000_001_999).to_time() == datetime.time(12, 0, 0, 1)
    assert CqlTime(86_399_999_999_999).to_time() == datetime.time(23, 59, 59, 999999)


@pytest.mark.parametrize("nanoseconds", [-1, 86_400_000_000_000])
def test_cql_time_to_time_out_of_day_raises_value_error(nanoseconds: int) -> None:
    """A time outside one day (possible on the wire) cannot become a datetime.time."""
    with pytest.raises(ValueError, match="not a time of day"):
        CqlTime(nanoseconds).to_time()


def test_decode_value_memoryview_input_gives_same_values() -> None:
    """Decoders take a memoryview slice as well as bytes."""
    buffer = memoryview(h("ff | 00 00 00 2a | ff"))
    assert decode_value(t("int"), buffer[1:5]) == 42
    assert decode_value(t("blob"), buffer[1:3]) == b"\x00\x00"
    assert decode_value(t("text"), memoryview(b"abc")) == "abc"


def test_decoder_for_same_type_gives_same_function() -> None:
    """Decoders are built once per type and memoized."""
    assert decoder_for(t("frozen<list<int>>")) is decoder_for(t("frozen<list<int>>"))


def test_memoize_equal_keys_build_once_and_failures_are_not_kept() -> None:
    """The memo builds once per equal key, by identity or equality, and retries failures."""
    calls: list[tuple[int, ...]] = []

    def build(key: tuple[int, ...]) -> int:
        calls.append(key)
        if not key:
            raise ValueDecodeError("empty")
        return sum(key)

    lookup = memoize(build)
    first = (1, 2)
    assert [lookup(first), lookup(first), lookup((1, 2))] == [3, 3, 3]
    assert calls == [(1, 2)]
    for _ in range(2):
        with pytest.raises(ValueDecodeError):
            lookup(())
    assert calls == [(1, 2), (), ()]
    for n in range(5000):  # past the identity table's limit, which then starts over
        assert lookup((n, 1)) == n + 1
    assert lookup(first) == 3


def test_decode_value_uuid_behaves_like_constructed_uuid() -> None:
    """A decoded UUID equals, hashes, prints and pickles like uuid.UUID(bytes=...)."""
    raw = h("5d4c3b2a 1dd2 11b2 8000 000000000001")
    decoded = decode_value(t("timeuuid"), raw)
    expected = uuid.UUID(bytes=raw)
    assert isinstance(decoded, uuid.UUID)
    assert decoded == expected
    assert hash(decoded) == hash(expected)
    assert str(decoded) == str(expected)
    assert decoded.version == 1
    assert decoded.is_safe is uuid.SafeUUID.unknown
    assert pickle.loads(pickle.dumps(decoded)) == expected  # noqa: S301 - our own object


# -- counters -------------------------------------------------------------------------------

COUNTER_ONE_GLOBAL = h(
    "00 01"  # header count h = 1
    "80 00"  # header entry: shard 0 is global (0 + -32768)
    "11111111 2222 3333 4444 555555555555"  # shard 0: counter id
    "00 00 00 00 00 00 00 03"  # shard 0: logical clock 3
    "00 00 00 00 00 00 00 05"  # shard 0: count 5
)


def test_decode_value_counter_one_global_shard_gives_context() -> None:
    """The context a counter update logs (one global shard) decodes to that shard."""
    context = decode_value(t("counter"), COUNTER_ONE_GLOBAL)
    assert context == CounterContext((CounterShard(NODE, 3, 5, CounterShardKind.GLOBAL),))
    assert isinstance(context, CounterContext)
    assert context.total == 5
    assert context.shards[0].is_global


def test_decode_value_counter_mixed_shards_gives_kinds_and_total() -> None:
    """Header entries mark global and local shards; unlisted shards are remote."""
    data = h(
        "00 01"  # header count h = 1
        "00 01"  # header entry: shard 1 is local
        "11111111 2222 3333 4444 555555555555"  # shard 0: counter id
        "00 00 00 00 00 00 00 01"  # shard 0: clock 1
        "ff ff ff ff ff ff ff fe"  # shard 0: count -2
        "99999999 8888 7777 6666 555555555555"  # shard 1: counter id
        "00 00 00 00 00 00 00 02"  # shard 1: clock 2
        "00 00 00 00 00 00 00 0a"  # shard 1: count 10
    )
    context = decode_value(t("counter"), data)
    assert isinstance(context, CounterContext)
    assert [s.kind for s in context.shards] == [CounterShardKind.REMOTE, CounterShardKind.LOCAL]
    assert context.shards[1].counter_id == OTHER_NODE
    assert not context.shards[1].is_global
    assert context.total == 8


@pytest.mark.parametrize(
    ("hex_value", "fragment"),
    [
        ("00", "shorter than its header count"),
        ("ff ff", "does not fit -1 header entries"),
        ("00 01 80 00 00", "whole 32-byte shards"),
        ("00 01 80 01" + "00" * 32, "names shard 1 of 1"),
        ("00 02 80 00", "does not fit 2 header entries"),
    ],
)
def test_decode_value_malformed_counter_raises_value_decode_error(
    hex_value: str, fragment: str
) -> None:
    """Counter contexts whose header and body disagree raise ValueDecodeError."""
    with pytest.raises(ValueDecodeError) as caught:
        decode_value(t("counter"), h(hex_value))
    assert fragment in str(caught.value)


# -- frozen collections, tuples, UDTs ----------------------------------------------------------

FROZEN_LIST_INT = h(
    "00 00 00 03"  # element count 3
    "00 00 00 04"  # element 0: length 4
    "00 00 00 01"  # element 0: 1
    "00 00 00 04"  # element 1: length 4
    "00 00 00 02"  # element 1: 2
    "ff ff ff ff"  # element 2: length -1 (null)
)


def test_decode_value_frozen_list_gives_list_with_null() -> None:
    """A frozen list decodes to a list in order; a negative length is a None element."""
    assert decode_value(t("frozen<list<int>>"), FROZEN_LIST_INT) == [1, 2, None]


def test_decode_value_frozen_set_gives_list_in_serialized_order() -> None:
    """A frozen set decodes to a list that keeps Cassandra's serialized order."""
    data = h(
        "00 00 00 02"  # element count 2
        "00 00 00 01"  # element 0: length 1
        "62"  # element 0: "b"
        "00 00 00 01"  # element 1: length 1
        "61"  # element 1: "a"
    )
    assert decode_value(t("frozen<set<text>>"), data) == ["b", "a"]


def test_decode_value_frozen_map_gives_dict() -> None:
    """A frozen map decodes to a dict in serialized order."""
    data = h(
        "00 00 00 02"  # entry count 2
        "00 00 00 01"  # key 0: length 1
        "61"  # key 0: "a"
        "00 00 00 04"  # value 0: length 4
        "00 00 00 01"  # value 0: 1
        "00 00 00 01"  # key 1: length 1
        "62"  # key 1: "b"
        "00 00 00 00"  # value 1: length 0 (empty int: None)
    )
    assert decode_value(t("frozen<map<text, int>>"), data) == {"a": 1, "b": None}


def test_decode_value_map_with_collection_key_gives_hashable_key() -> None:
    """A map key that is a list or a UDT decodes to a tuple so that it can key a dict."""
    list_key = h(
        "00 00 00 01"  # entry count 1
        "00 00 00 0c"  # key: length 12
        "00 00 00 01"  # key: list count 1
        "00 00 00 04"  # key: element 0 length 4
        "00 00 00 07"  # key: element 0 = 7
        "00 00 00 01"  # value: length 1
        "78"  # value: "x"
    )
    assert decode_value(t("frozen<map<frozen<list<int>>, text>>"), list_key) == {(7,): "x"}
    udt_key = h(
        "00 00 00 01"  # entry count 1
        "00 00 00 10"  # key: length 16
        "00 00 00 04"  # key: field x length 4
        "00 00 00 01"  # key: x = 1
        "00 00 00 04"  # key: field y length 4
        "00 00 00 02"  # key: y = 2
        "00 00 00 00"  # value: length 0 (empty text)
    )
    assert decode_value(t("frozen<map<frozen<point>, text>>"), udt_key) == {
        (("x", 1), ("y", 2)): ""
    }


def test_key_decoder_for_nested_collections_gives_tuples() -> None:
    """The hashable form turns lists into tuples and maps into pairs, recursively."""
    data = h(
        "00 00 00 01"  # outer list count 1
        "00 00 00 11"  # element 0: length 17
        "00 00 00 01"  # element 0: map count 1
        "00 00 00 01"  # key: length 1
        "6b"  # key: "k"
        "00 00 00 04"  # value: length 4
        "00 00 00 09"  # value: 9
    )
    decoded = key_decoder_for(t("frozen<list<frozen<map<text, int>>>>"))(data)
    assert decoded == ((("k", 9),),)
    assert hash(decoded)


def test_decode_value_tuple_with_null_and_missing_trailing_fields_gives_none() -> None:
    """A null field (length -1) and fields missing at the end both decode to None."""
    data = h(
        "00 00 00 04"  # field 0: length 4
        "00 00 00 05"  # field 0: 5
        "ff ff ff ff"  # field 1: length -1 (null)
    )
    assert decode_value(t("frozen<tuple<int, text, bigint>>"), data) == (5, None, None)


def test_decode_value_frozen_udt_gives_field_dict() -> None:
    """A frozen UDT decodes to a dict of field name to value, missing fields None."""
    data = h(
        "00 00 00 04"  # street: length 4
        "4d 61 69 6e"  # street: "Main"
        "ff ff ff ff"  # zip: null
    )
    assert decode_value(t("frozen<address>"), data) == {
        "street": "Main",
        "zip": None,
        "city": None,
    }


def test_decode_value_frozen_udt_with_nested_collection_decodes_inside() -> None:
    """Fields and elements are decoded with their own types, nested to any depth."""
    data = h(
        "00 00 00 01"  # list count 1
        "00 00 00 08"  # element 0: length 8 (a frozen point)
        "00 00 00 00"  # x: length 0 (empty int: None)
        "ff ff ff ff"  # y: null
    )
    assert decode_value(t("frozen<list<frozen<point>>>"), data) == [{"x": None, "y": None}]


@pytest.mark.parametrize(
    ("type_text", "hex_value", "fragment"),
    [
        ("frozen<list<int>>", "00 00 01", "has no count"),
        ("frozen<list<int>>", "00 00 00 02 00 00 00 00", "does not fit"),
        ("frozen<list<int>>", "ff ff ff ff", "collection count -1"),
        ("frozen<list<int>>", "00 00 00 01 00 00 00 05 00", "runs past the value"),
        ("frozen<list<int>>", "00 00 00 01 00 00 00 00 00", "1 extra bytes"),
        ("frozen<list<int>>", "00 00 00 01 00 00 00 01 00", "int value needs 4 bytes"),
        ("frozen<list<text>>", "00 00 00 02 00 00 00 03 61 61 61 00", "length runs past"),
        ("frozen<map<int, int>>", "00 00 00 01 00 00 00 00", "does not fit"),
        ("frozen<tuple<int>>", "00 00 00 00 00 00 00 00", "4 bytes after its 1 fields"),
        ("frozen<tuple<int>>", "00 00", "field length runs past"),
        ("frozen<tuple<int>>", "00 00 00 09 00", "field of 9 bytes runs past"),
        ("frozen<point>", "00 00 00 01 00", "int value needs 4 bytes"),
    ],
)
def test_decode_value_malformed_frozen_value_raises_value_decode_error(
    type_text: str, hex_value: str, fragment: str
) -> None:
    """Truncated, oversized or inconsistent frozen values raise ValueDecodeError."""
    with pytest.raises(ValueDecodeError) as caught:
        decode_value(t(type_text), h(hex_value))
    assert fragment in str(caught.value)


# -- vectors --------------------------------------------------------------------------------


def test_decode_value_vector_of_float_gives_list_without_lengths() -> None:
    """vector<float, 3> is 12 bytes, three floats with no length prefixes."""
    data = h(
        "3f 80 00 00"  # 1.0
        "c0 00 00 00"  # -2.0
        "3e 80 00 00"  # 0.25
    )
    assert decode_value(t("vector<float, 3>"), data) == [1.0, -2.0, 0.25]


def test_decode_value_vector_of_text_gives_list_with_vint_lengths() -> None:
    """vector<text, 2> has each element prefixed by a vint length (not an i32)."""
    data = h(
        "02"  # element 0: vint length 2
        "68 69"  # element 0: "hi"
        "00"  # element 1: vint length 0 (empty text)
    )
    assert decode_value(t("vector<text, 2>"), data) == ["hi", ""]


def test_decode_value_vector_of_smallint_uses_vint_lengths() -> None:
    """smallint is variable-length, so a vector of smallint carries vint lengths too."""
    data = h(
        "02"  # element 0: vint length 2
        "00 07"  # element 0: 7
        "02"  # element 1: vint length 2
        "ff ff"  # element 1: -1
    )
    assert decode_value(t("vector<smallint, 2>"), data) == [7, -1]


def test_decode_value_vector_of_fixed_non_bulk_type_slices_elements() -> None:
    """A vector of another fixed type (boolean, uuid, nested vector) is sliced per element."""
    assert decode_value(t("vector<boolean, 3>"), h("00 01 00")) == [False, True, False]
    nested = h("00 00 00 01 | 00 00 00 02 | 00 00 00 03 | 00 00 00 04")
    assert decode_value(t("vector<vector<int, 2>, 2>"), nested) == [[1, 2], [3, 4]]


def test_decode_value_vector_inside_map_key_gives_tuple() -> None:
    """A vector in a hashable position decodes to a tuple."""
    assert key_decoder_for(t("vector<int, 2>"))(h("00 00 00 01 00 00 00 02")) == (1, 2)
    assert key_decoder_for(t("vector<text, 1>"))(h("01 61")) == ("a",)
    assert key_decoder_for(t("vector<boolean, 1>"))(h("01")) == (True,)


@pytest.mark.parametrize(
    ("type_text", "hex_value", "fragment"),
    [
        ("vector<float, 3>", "3f 80 00 00", "needs 12 bytes, got 4"),
        ("vector<boolean, 2>", "01", "needs 2 bytes, got 1"),
        ("vector<text, 2>", "01 61", "vint expected at end"),
        ("vector<text, 1>", "05 61", "element of 5 bytes runs past"),
        ("vector<text, 1>", "01 61 62", "1 extra bytes"),
    ],
)
def test_decode_value_malformed_vector_raises_value_decode_error(
    type_text: str, hex_value: str, fragment: str
) -> None:
    """Vectors with the wrong size or broken element lengths raise ValueDecodeError."""
    with pytest.raises(ValueDecodeError) as caught:
        decode_value(t(type_text), h(hex_value))
    assert fragment in str(caught.value)


# -- partition keys -------------------------------------------------------------------------

SSTABLE_ACTIVITY_KEY = h(
    "00 06"  # component 0: length 6
    "73 79 73 74 65 6d"  # component 0: "system"
    "00"  # end of component
    "00 09"  # component 1: length 9
    "49 6e 64 65 78 49 6e 66 6f"  # component 1: "IndexInfo"
    "00"  # end of component
    "00 04"  # component 2: length 4
    "00 00 00 03"  # component 2: 3
    "00"  # end of component
)


def test_decode_partition_key_composite_gives_components() -> None:
    """The real system.sstable_activity key (text, text, int) splits into its three values."""
    types = [t("text"), t("text"), t("int")]
    assert decode_partition_key(types, SSTABLE_ACTIVITY_KEY) == ("system", "IndexInfo", 3)


def test_decode_partition_key_single_column_has_no_framing() -> None:
    """A single-column key is the bare native encoding of its value."""
    assert decode_partition_key([t("int")], h("00 00 00 2a")) == (42,)
    assert decode_partition_key([t("text")], b"k1") == ("k1",)


@pytest.mark.parametrize(
    ("hex_key", "fragment"),
    [
        ("00 06 73 79 73 74 65 6d 00", "ends before component 1"),
        ("00 06 73 79 73", "component 0 runs past"),
        ("00 01 61 01 00 01 62 00", "end-of-component byte is 0x01"),
        ("00 01 61 00 00 01 62 00 ff", "1 extra bytes"),
        ("00 01 61 00 00 01 62", "component 1 runs past"),
    ],
)
def test_decode_partition_key_malformed_composite_raises_value_decode_error(
    hex_key: str, fragment: str
) -> None:
    """Composite keys with bad lengths, end bytes or leftovers raise ValueDecodeError."""
    with pytest.raises(ValueDecodeError) as caught:
        decode_partition_key([t("text"), t("text")], h(hex_key))
    assert fragment in str(caught.value)


def test_partition_key_decoder_for_no_columns_raises_value_decode_error() -> None:
    """A key decoder needs at least one column type."""
    with pytest.raises(ValueDecodeError, match="at least one column"):
        partition_key_decoder_for([])


# -- cells of multi-cell columns ------------------------------------------------------------


def test_decode_cell_path_list_gives_timeuuid() -> None:
    """A list cell's path is the 16-byte time-based UUID that orders the list."""
    path = h("5d4c3b2a 1dd2 11b2 8000 000000000001")
    assert decode_cell_path(t("list<text>"), path) == LIST_PATH


def test_decode_cell_path_set_gives_element() -> None:
    """A set cell's path is the element itself."""
    assert decode_cell_path(t("set<int>"), h("00 00 00 07")) == 7


def test_decode_cell_path_map_gives_hashable_key() -> None:
    """A map cell's path is the key, in hashable form when the key is a collection."""
    assert decode_cell_path(t("map<text, int>"), b"k") == "k"
    key = h("00 00 00 01 | 00 00 00 04 | 00 00 00 07")
    assert decode_cell_path(t("map<frozen<list<int>>, int>"), key) == (7,)


def test_decode_cell_path_udt_gives_field_name() -> None:
    """A non-frozen UDT cell's path is an i16 field index, decoded to the field's name."""
    assert decode_cell_path(t("address"), h("00 01")) == "zip"


@pytest.mark.parametrize(
    ("type_text", "hex_path", "fragment"),
    [
        ("list<int>", "00 01", "list cell path needs 16 bytes"),
        ("address", "00", "UDT cell path needs 2 bytes"),
        ("address", "00 03", "has no field 3 (it has 3)"),
        ("address", "ff ff", "has no field -1"),
        ("frozen<list<int>>", "00", "frozen<list<int>> is not multi-cell"),
        ("int", "00", "int is not multi-cell"),
        ("set<int>", "00", "int value needs 4 bytes"),
    ],
)
def test_decode_cell_path_malformed_raises_value_decode_error(
    type_text: str, hex_path: str, fragment: str
) -> None:
    """Bad paths, and paths asked of single-cell types, raise ValueDecodeError."""
    with pytest.raises(ValueDecodeError) as caught:
        decode_cell_path(t(type_text), h(hex_path))
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    ("type_text", "hex_path", "hex_value", "expected"),
    [
        (
            "list<text>",
            "5d4c3b2a 1dd2 11b2 8000 000000000001",
            "61 62",
            (LIST_PATH, "ab"),
        ),
        ("set<text>", "61", "", ("a", None)),
        ("map<int, bigint>", "00 00 00 01", "00 00 00 00 00 00 00 01", (1, 1)),
        ("map<int, text>", "00 00 00 02", "", (2, "")),
        ("address", "00 00", "4d 61 69 6e", ("street", "Main")),
        ("address", "00 01", "00 00 30 39", ("zip", 12345)),
        ("address", "00 02", "", ("city", "")),
    ],
)
def test_decode_complex_cell_path_and_value_give_pair(
    type_text: str, hex_path: str, hex_value: str, expected: tuple[object, object]
) -> None:
    """Each kind of multi-cell column gives (path value, cell value) as section 11.9 says."""
    assert decode_complex_cell(t(type_text), h(hex_path), h(hex_value)) == expected


def test_complex_cell_decoder_for_frozen_type_raises_value_decode_error() -> None:
    """A frozen collection has no cells with paths."""
    with pytest.raises(ValueDecodeError, match="not multi-cell"):
        complex_cell_decoder_for(t("frozen<map<int, int>>"))


def test_decode_complex_cell_udt_bad_field_value_raises_value_decode_error() -> None:
    """A UDT field value is decoded with the field's own type and checked."""
    with pytest.raises(ValueDecodeError, match="int value needs 4 bytes"):
        decode_complex_cell(t("address"), h("00 01"), h("00"))
