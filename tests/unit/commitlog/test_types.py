"""Tests of the CQL type model: parsing schema type text, multi-cell and fixed-length rules."""

from __future__ import annotations

import pickle

import pytest

from casscade.commitlog.types import (
    CqlType,
    CustomType,
    ListType,
    MapType,
    NativeName,
    NativeType,
    SetType,
    TupleType,
    UdtDefinitions,
    UdtType,
    ValueDecodeError,
    VectorType,
    fixed_length,
    format_cql_type,
    is_multi_cell,
    parse_cql_type,
)
from casscade.errors import CasscadeError

INT = NativeType(NativeName.INT)
TEXT = NativeType(NativeName.TEXT)
FLOAT = NativeType(NativeName.FLOAT)

UDTS: UdtDefinitions = {
    ("shop", "address"): (("street", "zip"), ("text", "int")),
    ("shop", "person"): (
        ("name", "home", "tags"),
        ("text", "frozen<address>", "frozen<set<text>>"),
    ),
    ("shop", "MyType"): (("a",), ("int",)),
    ("shop", 'we"ird'): (("x",), ("text",)),
    ("shop", "list"): (("n",), ("int",)),
    ("other", "address"): (("line",), ("text",)),
    ("shop", "loop_a"): (("b",), ("frozen<loop_b>",)),
    ("shop", "loop_b"): (("a",), ("frozen<loop_a>",)),
    ("shop", "broken"): (("a", "b"), ("int",)),
}
ADDRESS = UdtType("shop", "address", ("street", "zip"), (TEXT, INT), frozen=True)


def parse(text: str) -> CqlType:
    """Parse in keyspace `shop` with the test UDTs."""
    return parse_cql_type(text, keyspace="shop", udts=UDTS)


@pytest.mark.parametrize("name", list(NativeName))
def test_parse_cql_type_native_name_gives_native_type(name: NativeName) -> None:
    """Every native type name parses to the NativeType of that name."""
    assert parse(name.value) == NativeType(name)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("varchar", TEXT),
        ("INT", INT),
        ("  int  ", INT),
        ("frozen<list<text>>", ListType(TEXT, frozen=True)),
        ("list<int>", ListType(INT, frozen=False)),
        ("set<int>", SetType(INT, frozen=False)),
        ("map<text, int>", MapType(TEXT, INT, frozen=False)),
        ("map<text,int>", MapType(TEXT, INT, frozen=False)),
        ("frozen<map<text, int>>", MapType(TEXT, INT, frozen=True)),
        ("frozen<tuple<int, text>>", TupleType((INT, TEXT))),
        ("tuple<int>", TupleType((INT,))),
        ("vector<float, 3>", VectorType(FLOAT, 3)),
        ("vector<text,2>", VectorType(TEXT, 2)),
        ("vector<vector<float, 2>, 4>", VectorType(VectorType(FLOAT, 2), 4)),
        (
            "frozen<list<frozen<set<int>>>>",
            ListType(SetType(INT, frozen=True), frozen=True),
        ),
        (
            " frozen < map < frozen<list<int>> , set<text> > > ",
            MapType(ListType(INT, frozen=True), SetType(TEXT, frozen=True), frozen=True),
        ),
        (
            "map<frozen<tuple<int, frozen<list<text>>>>, frozen<address>>",
            MapType(TupleType((INT, ListType(TEXT, frozen=True))), ADDRESS, frozen=False),
        ),
        (
            "'org.apache.cassandra.db.marshal.LexicalUUIDType'",
            CustomType("org.apache.cassandra.db.marshal.LexicalUUIDType"),
        ),
        ("'it''s'", CustomType("it's")),
    ],
)
def test_parse_cql_type_text_gives_expected_type(text: str, expected: CqlType) -> None:
    """Schema type texts parse to the expected model, whitespace and case ignored."""
    assert parse(text) == expected


def test_parse_cql_type_inner_types_are_normalised_to_frozen() -> None:
    """A collection nested without frozen<> equals the same type written with it."""
    assert parse("list<frozen<map<int, text>>>") == parse("list<map<int, text>>")
    assert parse("frozen<list<frozen<set<int>>>>") == parse("frozen<list<set<int>>>")


def test_parse_cql_type_udt_name_resolves_fields() -> None:
    """A bare UDT name resolves through the definitions to a multi-cell UdtType."""
    assert parse("address") == UdtType("shop", "address", ("street", "zip"), (TEXT, INT), False)


def test_parse_cql_type_frozen_udt_is_frozen() -> None:
    """frozen<name> gives the same UDT with frozen=True."""
    assert parse("frozen<address>") == ADDRESS


def test_parse_cql_type_nested_udt_resolves_recursively() -> None:
    """A UDT whose fields name another UDT and a collection resolves all the way down."""
    person = parse("person")
    assert person == UdtType(
        "shop",
        "person",
        ("name", "home", "tags"),
        (TEXT, ADDRESS, SetType(TEXT, frozen=True)),
        frozen=False,
    )


def test_parse_cql_type_quoted_names_keep_case_and_quotes() -> None:
    """Double-quoted UDT names keep their case, and "" inside stands for one quote."""
    assert parse('"MyType"') == UdtType("shop", "MyType", ("a",), (INT,), False)
    assert parse('"we""ird"') == UdtType("shop", 'we"ird', ("x",), (TEXT,), False)


def test_parse_cql_type_unquoted_names_are_lowercased() -> None:
    """An unquoted UDT name is case-insensitive, as in CQL."""
    assert parse("Address") == parse("address")


def test_parse_cql_type_keyspace_qualified_udt_uses_that_keyspace() -> None:
    """ks.name resolves the UDT in keyspace ks, not the table's keyspace."""
    assert parse("other.address") == UdtType("other", "address", ("line",), (TEXT,), False)


def test_parse_cql_type_udt_named_like_collection_without_bracket_is_udt() -> None:
    """A UDT may be called `list`; only a following '<' makes the keyword."""
    assert parse("frozen<list>") == UdtType("shop", "list", ("n",), (INT,), True)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "unexpected end"),
        ("   ", "unexpected end"),
        ("nosuchtype", "unknown type shop.nosuchtype"),
        ("frozen<nosuchtype>", "unknown type"),
        ("list<int", "unexpected end"),
        ("list<int>>", "unexpected '>'"),
        ("map<int>", "expected ','"),
        ("int int", "unexpected 'int'"),
        ("vector<float, 0>", "positive integer"),
        ("vector<float, x>", "positive integer"),
        ("widget<int>", "unknown parameterized type"),
        ("a$b", "unexpected character '$'"),
        ("<int>", "unexpected '<'"),
        ("loop_a", "contains itself"),
        ("broken", "unequal field name and type counts"),
        ("frozen<" * 100 + "int" + ">" * 100, "nested too deeply"),
        ("shop.", "unexpected end"),
        ("shop.3", "expected a type name"),
    ],
)
def test_parse_cql_type_malformed_text_raises_value_decode_error(text: str, fragment: str) -> None:
    """Malformed or unknown type texts raise ValueDecodeError naming the problem."""
    with pytest.raises(ValueDecodeError) as caught:
        parse(text)
    assert fragment in str(caught.value)


def test_parse_cql_type_without_udts_rejects_udt_names() -> None:
    """With no UDT definitions given, any UDT name is unknown."""
    with pytest.raises(ValueDecodeError):
        parse_cql_type("address", keyspace="shop")


def test_value_decode_error_carries_problem_and_pickles() -> None:
    """ValueDecodeError is a CasscadeError whose message is its problem, and it pickles."""
    error = ValueDecodeError("bad bytes")
    assert isinstance(error, CasscadeError)
    assert str(error) == "bad bytes"
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object
    assert copy.problem == "bad bytes"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("list<int>", True),
        ("set<text>", True),
        ("map<text, int>", True),
        ("address", True),
        ("frozen<list<int>>", False),
        ("frozen<set<text>>", False),
        ("frozen<map<text, int>>", False),
        ("frozen<address>", False),
        ("frozen<tuple<int, text>>", False),
        ("tuple<int, text>", False),
        ("vector<float, 3>", False),
        ("counter", False),
        ("int", False),
        ("'org.apache.cassandra.db.marshal.LexicalUUIDType'", False),
    ],
)
def test_is_multi_cell_top_level_type_gives_expected(text: str, expected: bool) -> None:
    """Only non-frozen lists, sets, maps and UDTs at top level are multi-cell."""
    assert is_multi_cell(parse(text)) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bigint", 8),
        ("boolean", 1),
        ("double", 8),
        ("float", 4),
        ("int", 4),
        ("timestamp", 8),
        ("timeuuid", 16),
        ("uuid", 16),
        ("empty", 0),
        # The traps: constant size, but written with a length.
        ("date", None),
        ("time", None),
        ("smallint", None),
        ("tinyint", None),
        ("ascii", None),
        ("blob", None),
        ("counter", None),
        ("decimal", None),
        ("duration", None),
        ("inet", None),
        ("text", None),
        ("varint", None),
        ("vector<float, 3>", 12),
        ("vector<bigint, 2>", 16),
        ("vector<vector<int, 2>, 3>", 24),
        ("vector<text, 2>", None),
        ("vector<smallint, 2>", None),
        ("frozen<list<int>>", None),
        ("frozen<tuple<int, int>>", None),
        ("frozen<address>", None),
        ("'org.apache.cassandra.db.marshal.LexicalUUIDType'", 16),
        ("'org.apache.cassandra.db.marshal.EmptyType'", 0),
        ("'org.apache.cassandra.db.marshal.DateType'", 8),
        (
            "'org.apache.cassandra.db.marshal.ReversedType(org.apache.cassandra.db.marshal.Int32Type)'",
            4,
        ),
        ("'org.apache.cassandra.db.marshal.DynamicCompositeType(s=>UTF8Type)'", None),
    ],
)
def test_fixed_length_type_gives_expected_length(text: str, expected: int | None) -> None:
    """fixed_length follows section 12.1, including the date/time/smallint/tinyint traps."""
    assert fixed_length(parse(text)) == expected


@pytest.mark.parametrize(
    "text",
    [
        "int",
        "text",
        "list<int>",
        "frozen<list<frozen<set<int>>>>",
        "map<text, frozen<list<int>>>",
        "frozen<tuple<int, text>>",
        "vector<float, 3>",
        "address",
        "frozen<person>",
        '"MyType"',
        '"we""ird"',
        "frozen<list>",
        "'org.apache.cassandra.db.marshal.LexicalUUIDType'",
    ],
)
def test_format_cql_type_output_parses_back_to_equal_type(text: str) -> None:
    """format_cql_type renders text that parse_cql_type reads back to the same type."""
    parsed = parse(text)
    assert parse(format_cql_type(parsed)) == parsed


def test_format_cql_type_nested_frozen_repeats_frozen() -> None:
    """Rendering repeats frozen<> at each frozen level, like toSchemaString."""
    assert format_cql_type(parse("frozen<list<set<int>>>")) == "frozen<list<frozen<set<int>>>>"
