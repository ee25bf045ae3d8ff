"""Scenarios about value encodings: every native type, keys of every type, frozen values.

Pure data (see scenario.py for the model). Timestamps are explicit microseconds; values are
chosen to be exact (floats exact in binary32/binary64, decimals as written).
"""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

from .cqltypes import (
    BOOLEAN,
    FLOAT,
    INT,
    KEY_TYPES,
    NATIVE_TYPES,
    TEXT,
    Duration,
    ListOf,
    MapOf,
    Native,
    SetOf,
    TupleOf,
    UserType,
    VectorOf,
    frozen,
)
from .operations import AddToSet, Append, Assign
from .scenario import Scenario
from .statements import Bound, DeleteColumns, DeleteRange, DeleteRow, Insert, Update
from .tables import table

T = 1_700_000_000_000_000  # 2023-11-14T22:13:20Z in microseconds

# One ordinary value per native type.
TYPICAL: dict[str, object] = {
    "ascii": "plain ascii",
    "bigint": 1234567890123,
    "blob": bytes.fromhex("cafebabe"),
    "boolean": True,
    "date": datetime.date(2024, 2, 29),
    "decimal": Decimal("123.45"),
    "double": 2.718281828459045,
    "duration": Duration(1, 2, 3_000_000_000),
    "float": 1.5,
    "inet": "192.168.1.10",
    "int": 42,
    "smallint": 300,
    "text": "h\u00e9llo w\u00f6rld \u2713",
    "time": (13 * 3600 + 45 * 60 + 30) * 10**9 + 123_456_789,
    "timestamp": 1_700_000_000_123,
    "timeuuid": uuid.UUID("e7c5c1e0-8f3a-11ee-b9d1-0242ac120002"),
    "tinyint": 7,
    "uuid": uuid.UUID("123e4567-e89b-42d3-a456-556642440000"),
    "varint": 12345678901234567890123,
}
# Minimum, negative, empty or otherwise awkward values.
LOW: dict[str, object] = {
    "ascii": "",
    "bigint": -(2**63),
    "blob": b"",
    "boolean": False,
    "date": datetime.date(1969, 12, 31),
    "decimal": Decimal("-0.000001"),
    "double": -1e300,
    "duration": Duration(-14, -3, -1),
    "float": -0.25,
    "inet": "2001:db8::1",
    "int": -(2**31),
    "smallint": -(2**15),
    "text": "",
    "time": 0,
    "timestamp": -86_400_000,
    "timeuuid": uuid.UUID("5f6a1d40-0a1b-11ef-8000-000000000001"),
    "tinyint": -128,
    "uuid": uuid.UUID(int=0),
    "varint": -(2**100),
}
# Maximum and large values.
HIGH: dict[str, object] = {
    "ascii": "~tilde 'quoted' \"double\"",
    "bigint": 2**63 - 1,
    "blob": bytes(range(256)),
    "boolean": True,
    "date": datetime.date(9999, 12, 31),
    "decimal": Decimal("12345678901234567890.123456789"),
    "double": 1.7976931348623157e308,
    "duration": Duration(0, 0, 86_400 * 10**9 - 1),
    "float": 3.4028234663852886e38,
    "inet": "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    "int": 2**31 - 1,
    "smallint": 2**15 - 1,
    "text": "it's \U0001d11e \u2014 \u00fcn\u00efcode",
    "time": 86_400 * 10**9 - 1,
    "timestamp": 253_402_300_799_999,
    "timeuuid": uuid.UUID("00000000-0000-1000-8000-000000000000"),
    "tinyint": 127,
    "uuid": uuid.UUID(int=2**128 - 1),
    "varint": 2**100,
}
# Key values must not be empty: a second, non-empty set for keys.
KEY_LOW = {**LOW, "ascii": "A", "blob": b"\x00", "text": "\u00e9"}

NATIVE_TYPES_SCENARIO = Scenario(
    name="native_types",
    summary="Every CQL native type as a regular column, with ordinary, low and high values.",
    covers=(
        "all 19 native types (ascii ... varint, incl. duration) in regular columns",
        "min/max integers, negative and empty values, IPv6, negative timestamps and dates",
        "INSERT with explicit nulls (tombstone cells), partial UPDATE of several types",
        "INSERT of the primary key only (liveness, no cells)",
    ),
    tables=(
        table(
            "all_types",
            pk={"k": INT},
            ck={"c": INT},
            cols={f"v_{name}": Native(name) for name in NATIVE_TYPES},
        ),
    ),
    steps=(
        Insert("all_types", {"k": 1, "c": 1} | {f"v_{n}": v for n, v in TYPICAL.items()}, T + 1),
        Insert("all_types", {"k": 1, "c": 2} | {f"v_{n}": v for n, v in LOW.items()}, T + 2),
        Insert("all_types", {"k": 1, "c": 3} | {f"v_{n}": v for n, v in HIGH.items()}, T + 3),
        Insert(
            "all_types",
            {"k": 2, "c": 1, "v_text": None, "v_int": None, "v_blob": None, "v_uuid": None},
            T + 4,
        ),
        Update(
            "all_types",
            {"k": 1, "c": 1},
            (
                Assign("v_int", -7),
                Assign("v_text", "updated"),
                Assign("v_decimal", Decimal("-1E+3")),
                Assign("v_inet", "10.1.2.3"),
                Assign("v_duration", Duration(0, 1, 0)),
            ),
            T + 5,
        ),
        Insert("all_types", {"k": 3, "c": -1}, T + 6),
    ),
)


def _key_values(values: dict[str, object], prefix: str) -> dict[str, object]:
    return {f"{prefix}_{name}": values[name] for name in KEY_TYPES}


KEY_TYPES_SCENARIO = Scenario(
    name="key_types",
    summary="Every key-capable native type as single and composite partition key and clustering.",
    covers=(
        "a composite partition key of all 18 key types and 18 clustering columns, every other"
        " one DESC; rows with ordinary and low values; a row delete and a range delete on it",
        "one single-column partition key table per type (pk_<type>), one row each,"
        " and a row delete (a partition deletion) on three of them",
    ),
    tables=(
        table(
            "composite_keys",
            pk={f"k_{n}": Native(n) for n in KEY_TYPES},
            ck={f"c_{n}": Native(n) for n in KEY_TYPES},
            desc=[f"c_{n}" for i, n in enumerate(KEY_TYPES) if i % 2],
            cols={"v": INT},
        ),
        *(table(f"pk_{n}", pk={"k": Native(n)}, cols={"v": INT}) for n in KEY_TYPES),
    ),
    steps=(
        Insert(
            "composite_keys",
            _key_values(TYPICAL, "k") | _key_values(TYPICAL, "c") | {"v": 1},
            T + 1,
        ),
        Insert(
            "composite_keys",
            _key_values(KEY_LOW, "k") | _key_values(HIGH, "c") | {"v": 2},
            T + 2,
        ),
        Insert(
            "composite_keys",
            _key_values(KEY_LOW, "k") | _key_values(KEY_LOW, "c") | {"v": 3},
            T + 3,
        ),
        DeleteRow("composite_keys", _key_values(KEY_LOW, "k") | _key_values(HIGH, "c"), T + 4),
        DeleteRange(
            "composite_keys",
            _key_values(TYPICAL, "k") | {"c_ascii": "plain ascii"},
            T + 5,
            lower=Bound(0, False),
        ),
        *(
            Insert(f"pk_{n}", {"k": TYPICAL[n], "v": i}, T + 10 + i)
            for i, n in enumerate(KEY_TYPES)
        ),
        *(
            Insert(f"pk_{n}", {"k": KEY_LOW[n], "v": -i}, T + 40 + i)
            for i, n in enumerate(KEY_TYPES)
        ),
        DeleteRow("pk_text", {"k": TYPICAL["text"]}, T + 70),
        DeleteRow("pk_varint", {"k": KEY_LOW["varint"]}, T + 71),
        DeleteRow("pk_timeuuid", {"k": TYPICAL["timeuuid"]}, T + 72),
    ),
)

POINT = UserType("point", (("x", INT), ("y", INT), ("label", TEXT)))
PAIR = TupleOf((INT, TEXT))

FROZEN_TYPES_SCENARIO = Scenario(
    name="frozen_types",
    summary="Frozen collections, tuples and UDTs (also nested and in keys), and vectors.",
    covers=(
        "frozen<list>, frozen<set>, frozen<map>, frozen<udt>, tuple: whole-value cells",
        "nested frozen values: map of frozen lists, list of maps of UDTs, tuple holding a UDT",
        "frozen UDT with unset fields and tuple with a null element; empty frozen list",
        "non-frozen list and set of tuples (elements are frozen values)",
        "vector<float, 3>",
        "frozen map / set / tuple / UDT as partition key and clustering columns (one DESC)",
        "replacing a frozen value (one cell), setting it null (tombstone cell), deleting it",
    ),
    types=(POINT,),
    tables=(
        table(
            "frozen_values",
            pk={"k": INT},
            cols={
                "fl": ListOf(INT, frozen=True),
                "fs": SetOf(TEXT, frozen=True),
                "fm": MapOf(INT, TEXT, frozen=True),
                "fu": frozen(POINT),
                "ft": TupleOf((INT, TEXT, BOOLEAN)),
                "nested": MapOf(TEXT, ListOf(INT, frozen=True), frozen=True),
                "deep": ListOf(MapOf(TEXT, frozen(POINT), frozen=True), frozen=True),
                "tu": TupleOf((INT, frozen(POINT), ListOf(TEXT, frozen=True))),
                "lt": ListOf(PAIR),
                "st": SetOf(PAIR),
                "vec": VectorOf(FLOAT, 3),
            },
        ),
        table(
            "frozen_keys",
            pk={"k": MapOf(TEXT, INT, frozen=True)},
            ck={"c": SetOf(INT, frozen=True), "t": PAIR, "p": frozen(POINT)},
            desc=["t"],
            cols={"v": INT},
        ),
    ),
    steps=(
        Insert(
            "frozen_values",
            {
                "k": 1,
                "fl": [3, 1, 2, 1],
                "fs": {"b", "a", "\u00e9"},
                "fm": {2: "two", -1: "minus one"},
                "fu": {"x": 1, "y": -2, "label": "p"},
                "ft": [7, "seven", True],
                "nested": {"b": [2, 3], "a": [1]},
                "deep": [{"home": {"x": 1, "y": 1, "label": "h"}}, {}],
                "tu": [5, {"x": 0, "y": 0, "label": "origin"}, ["t1", "t2"]],
                "lt": [[1, "one"], [2, "two"]],
                "st": {(2, "b"), (1, "z"), (1, "a")},
                "vec": [1.5, -0.25, 3.0],
            },
            T + 1,
        ),
        Insert(
            "frozen_values",
            {"k": 2, "fl": [], "fu": {"x": 9}, "ft": [1, None, False], "vec": [0.0, 0.5, -8.0]},
            T + 2,
        ),
        Update(
            "frozen_values",
            {"k": 1},
            (
                Assign("fl", [9]),
                Assign("fm", None),
                Assign("vec", [2.0, 4.0, 8.0]),
                Append("lt", ((3, "three"),)),
                AddToSet("st", frozenset({(0, "zero")})),
            ),
            T + 3,
        ),
        DeleteColumns("frozen_values", {"k": 1}, ("fs", "fu", "lt"), T + 4),
        Insert(
            "frozen_keys",
            {
                "k": {"a": 1, "b": 2},
                "c": {3, 1},
                "t": (1, "x"),
                "p": {"x": 1, "y": 2, "label": "q"},
                "v": 10,
            },
            T + 5,
        ),
        Insert(
            "frozen_keys",
            {"k": {"a": 1, "b": 2}, "c": {3, 1}, "t": (2, "y"), "p": {"x": 0}, "v": 11},
            T + 6,
        ),
        DeleteRow(
            "frozen_keys",
            {
                "k": {"a": 1, "b": 2},
                "c": {3, 1},
                "t": (1, "x"),
                "p": {"x": 1, "y": 2, "label": "q"},
            },
            T + 7,
        ),
        DeleteRange(
            "frozen_keys", {"k": {"a": 1, "b": 2}, "c": {3, 1}}, T + 8, upper=Bound((2, "a"), True)
        ),
    ),
)
