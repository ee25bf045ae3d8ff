"""Scenarios about write shapes: rows and deletes, static columns, collections, counters.

Pure data (see scenario.py for the model). Timestamps are explicit microseconds.
"""

from __future__ import annotations

from .cqltypes import BIGINT, COUNTER, DOUBLE, INT, TEXT, ListOf, MapOf, SetOf, UserType, frozen
from .operations import (
    AddToSet,
    Append,
    Assign,
    Increment,
    Prepend,
    PutEntries,
    PutEntry,
    RemoveFromSet,
    RemoveKeys,
    SetField,
)
from .scenario import Scenario
from .statements import (
    Bound,
    DeleteColumns,
    DeleteElement,
    DeletePartition,
    DeleteRange,
    DeleteRow,
    Insert,
    Update,
)
from .tables import table

T = 1_700_000_100_000_000

_E1A = {"k": "p1", "c1": 1, "c2": "a"}
_E1B = {"k": "p1", "c1": 1, "c2": "b"}

ROWS_SCENARIO = Scenario(
    name="rows",
    summary="Inserts, partial updates, TTLs, nulls and every kind of row / range deletion.",
    covers=(
        "INSERT (liveness + cells), INSERT of the key only, INSERT with an explicit null",
        "UPDATE of some columns (no liveness), UPDATE ... = null, DELETE <column>",
        "INSERT ... USING TTL and UPDATE ... USING TTL",
        "row delete; partition delete; row delete on a table without clustering"
        " (a partition deletion)",
        "range deletes on an ASC table: clustering prefix, prefix + (c2 > x), c1 > x,"
        " c1 >= x AND c1 < y, c1 <= x, prefix + (c2 >= x AND c2 <= y)",
        "range deletes on a DESC table: c > x, c >= x AND c < y, c <= x (bounds swap)",
    ),
    tables=(
        table(
            "events",
            pk={"k": TEXT},
            ck={"c1": INT, "c2": TEXT},
            cols={"a": INT, "b": TEXT, "d": DOUBLE},
        ),
        table("desc_events", pk={"k": INT}, ck={"c": INT}, desc=["c"], cols={"v": TEXT}),
        table("simple", pk={"k": INT}, cols={"a": INT, "b": TEXT}),
    ),
    steps=(
        Insert("events", _E1A | {"a": 1, "b": "one", "d": 1.5}, T + 1),
        Insert("events", _E1B | {"a": 2, "b": "two"}, T + 2),
        Insert("events", {"k": "p1", "c1": 2, "c2": "a", "a": 3}, T + 3, ttl=3600),
        Update("events", _E1A, (Assign("a", 10),), T + 4),
        Update("events", _E1B, (Assign("b", "ttl text"), Assign("d", -0.5)), T + 5, ttl=600),
        Update("events", _E1B, (Assign("b", None),), T + 6),
        DeleteColumns("events", _E1A, ("d",), T + 7),
        Insert("events", {"k": "p1", "c1": 3, "c2": "x", "a": None, "b": "null a"}, T + 8),
        Insert("events", {"k": "p1", "c1": 4, "c2": "y"}, T + 9),
        DeleteRow("events", _E1B, T + 10),
        Insert("events", {"k": "p2", "c1": 1, "c2": "a", "a": 1}, T + 11),
        DeletePartition("events", {"k": "p2"}, T + 12),
        DeleteRange("events", {"k": "p1", "c1": 2}, T + 13),
        DeleteRange("events", {"k": "p1", "c1": 3}, T + 14, lower=Bound("m", False)),
        DeleteRange("events", {"k": "p3"}, T + 15, lower=Bound(5, False)),
        DeleteRange("events", {"k": "p3"}, T + 16, lower=Bound(2, True), upper=Bound(4, False)),
        DeleteRange("events", {"k": "p3"}, T + 17, upper=Bound(0, True)),
        DeleteRange(
            "events",
            {"k": "p3", "c1": 7},
            T + 18,
            lower=Bound("a", True),
            upper=Bound("c", True),
        ),
        Insert("desc_events", {"k": 1, "c": 1, "v": "one"}, T + 19),
        Insert("desc_events", {"k": 1, "c": 9, "v": "nine"}, T + 20),
        DeleteRange("desc_events", {"k": 1}, T + 21, lower=Bound(5, False)),
        DeleteRange("desc_events", {"k": 1}, T + 22, lower=Bound(1, True), upper=Bound(3, False)),
        DeleteRange("desc_events", {"k": 1}, T + 23, upper=Bound(0, True)),
        Insert("simple", {"k": 1, "a": 1, "b": "x"}, T + 24),
        Insert("simple", {"k": 2, "a": 2, "b": "expiring"}, T + 25, ttl=86400),
        Update("simple", {"k": 1}, (Assign("a", 2),), T + 26, ttl=30),
        DeleteColumns("simple", {"k": 1}, ("b",), T + 27),
        DeleteRow("simple", {"k": 2}, T + 28),
    ),
)

_A1 = {"k": 1}
STATIC_SCENARIO = Scenario(
    name="static_columns",
    summary="Static columns: written with a row, alone, updated, with TTL, deleted.",
    covers=(
        "INSERT of a row with static columns (static row without liveness + regular row)",
        "INSERT of the partition key and static columns only (no liveness, no regular row)",
        "UPDATE of static columns only (WHERE partition key), with and without TTL",
        "UPDATE of a static and a regular column at once",
        "non-frozen static set: add elements, whole-column INSERT with TTL, DELETE",
        "DELETE of a static column; static column set to null; partition delete",
    ),
    tables=(
        table(
            "accounts",
            pk={"k": INT},
            ck={"c": INT},
            cols={"owner": TEXT, "balance": BIGINT, "tags": SetOf(TEXT), "v": INT},
            static=["owner", "balance", "tags"],
        ),
    ),
    steps=(
        Insert("accounts", {"k": 1, "c": 1, "owner": "ann", "balance": 100, "v": 1}, T + 1),
        Insert("accounts", {"k": 2, "owner": "bob"}, T + 2),
        Update("accounts", _A1, (Assign("balance", 150),), T + 3),
        Update("accounts", _A1, (Assign("owner", "ann b"),), T + 4, ttl=120),
        Update("accounts", {"k": 1, "c": 2}, (Assign("v", 2), Assign("balance", 175)), T + 5),
        Update("accounts", _A1, (AddToSet("tags", frozenset({"gold", "vip"})),), T + 6),
        DeleteColumns("accounts", _A1, ("owner",), T + 7),
        Update("accounts", {"k": 2}, (Assign("owner", None),), T + 8),
        DeleteColumns("accounts", _A1, ("tags",), T + 9),
        Insert("accounts", {"k": 3, "c": 1, "tags": {"a"}, "v": 3}, T + 10, ttl=60),
        DeletePartition("accounts", {"k": 2}, T + 11),
    ),
)

ADDR = UserType("addr", (("street", TEXT), ("zip", INT), ("tags", frozen(SetOf(TEXT)))))
_C11 = {"k": 1, "c": 1}

COLLECTIONS_SCENARIO = Scenario(
    name="collections",
    summary="Non-frozen list, set, map and UDT: every element operation Cassandra logs as is.",
    covers=(
        "INSERT of whole collections and a UDT (complex deletion at ts-1 + element cells)",
        "list append, prepend, overwrite, set null (list paths are server timeuuids: '*')",
        "set add, remove, overwrite, overwrite with {} (complex deletion only)",
        "map put (m + {..} and m[k] = v), remove key (m - {k}, DELETE m[k]), overwrite",
        "UDT: whole value with unset fields, single field update, field set null,"
        " DELETE u.f, DELETE u",
        "element writes with TTL; INSERT ... USING TTL of collections",
        "DELETE of whole collections (complex deletion at ts)",
        "not covered: list remove by value / index (read-before-write, unknown paths)",
    ),
    types=(ADDR,),
    tables=(
        table(
            "coll",
            pk={"k": INT},
            ck={"c": INT},
            cols={"l": ListOf(TEXT), "s": SetOf(INT), "m": MapOf(TEXT, INT), "u": ADDR},
        ),
    ),
    steps=(
        Insert(
            "coll",
            _C11
            | {
                "l": ["a", "b"],
                "s": {3, 1, 2},
                "m": {"x": 1, "y": 2},
                "u": {"street": "Main St", "zip": 12345, "tags": {"home"}},
            },
            T + 1,
        ),
        Update("coll", _C11, (Append("l", ("c",)),), T + 2),
        Update("coll", _C11, (Prepend("l", ("z",)),), T + 3),
        Update("coll", _C11, (Assign("l", ["only"]),), T + 4),
        Update("coll", _C11, (AddToSet("s", frozenset({5, -6})),), T + 5),
        Update("coll", _C11, (RemoveFromSet("s", frozenset({1})),), T + 6),
        Update("coll", _C11, (Assign("s", {7, 8}),), T + 7),
        Update("coll", _C11, (PutEntries("m", (("z", 26),)),), T + 8),
        Update("coll", _C11, (PutEntry("m", "w", 23),), T + 9),
        Update("coll", _C11, (RemoveKeys("m", frozenset({"x"})),), T + 10),
        DeleteElement("coll", _C11, "m", "y", T + 11),
        Update("coll", _C11, (Assign("m", {"only": 1}),), T + 12),
        Update("coll", _C11, (SetField("u", "zip", 54321),), T + 13),
        Update("coll", _C11, (SetField("u", "street", None),), T + 14),
        DeleteElement("coll", _C11, "u", "tags", T + 15),
        Update("coll", _C11, (Assign("u", {"street": "Side St"}),), T + 16),
        Update(
            "coll",
            _C11,
            (
                PutEntries("m", (("t", 9),)),
                AddToSet("s", frozenset({9})),
                Append("l", ("t",)),
            ),
            T + 17,
            ttl=3600,
        ),
        Insert("coll", {"k": 1, "c": 2, "l": ["q"], "m": {"a": 1}}, T + 18, ttl=600),
        Update("coll", _C11, (Assign("l", None),), T + 19),
        Update("coll", _C11, (Assign("s", set()),), T + 20),
        DeleteColumns("coll", _C11, ("m", "u"), T + 21),
        Insert("coll", {"k": 1, "c": 3, "l": None, "s": {4}}, T + 22),
    ),
)

COUNTERS_SCENARIO = Scenario(
    name="counters",
    summary="Counter increments and decrements; the log holds each shard's running count.",
    covers=(
        "counter columns with and without clustering, several counters in one UPDATE",
        "expected value = the running total (one node, one shard), timestamp null (server"
        " time: counters refuse USING TIMESTAMP)",
    ),
    tables=(
        table("counts", pk={"k": TEXT}, ck={"c": INT}, cols={"hits": COUNTER, "misses": COUNTER}),
        table("page_views", pk={"page": TEXT}, cols={"views": COUNTER}),
    ),
    steps=(
        Update("counts", {"k": "a", "c": 1}, (Increment("hits", 5),), None),
        Update("counts", {"k": "a", "c": 1}, (Increment("hits", 3), Increment("misses", -2)), None),
        Update("counts", {"k": "a", "c": 2}, (Increment("hits", -7),), None),
        Update("page_views", {"page": "/home"}, (Increment("views", 1),), None),
        Update("page_views", {"page": "/home"}, (Increment("views", 1),), None),
        Update("page_views", {"page": "/about"}, (Increment("views", 1000000),), None),
        Update("page_views", {"page": "/home"}, (Increment("views", 40),), None),
    ),
)
