"""Scenarios about how writes arrive: batches, LWT, schema changes, non-CDC tables, a mix.

Pure data (see scenario.py for the model). Timestamps are explicit microseconds, except
for LWTs (the ballot's time) whose facts say timestamp null.
"""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

from .catalog_writes import ADDR
from .cqltypes import (
    BIGINT,
    BOOLEAN,
    INT,
    TEXT,
    ListOf,
    MapOf,
    Native,
    SetOf,
)
from .operations import AddToSet, Append, Assign, PutEntries, PutEntry, SetField
from .scenario import AddColumn, CreateTable, DropColumn, Scenario
from .statements import (
    Batch,
    Bound,
    DeleteColumns,
    DeletePartition,
    DeleteRange,
    DeleteRow,
    Insert,
    Lwt,
    Update,
)
from .tables import Column, table

T = 1_700_000_200_000_000

BATCHES_SCENARIO = Scenario(
    name="batches",
    summary="Logged and unlogged batches over two tables sharing a partition key.",
    covers=(
        "logged single-partition batch over two tables (one log entry, two partition updates)",
        "unlogged batch over the same two tables, with a set add",
        "logged multi-partition batch (goes through system.batches, not CDC)",
        "unlogged batch of deletes (row, range) and an update",
        "INSERT and UPDATE of the same row in one batch with different timestamps"
        " (merged into one row)",
    ),
    tables=(
        table(
            "orders", pk={"customer": INT}, ck={"order_id": INT}, cols={"item": TEXT, "qty": INT}
        ),
        table(
            "customers",
            pk={"customer": INT},
            cols={"name": TEXT, "order_count": INT, "tags": SetOf(TEXT)},
        ),
    ),
    steps=(
        Batch(
            (
                Insert(
                    "orders", {"customer": 1, "order_id": 100, "item": "apple", "qty": 3}, T + 1
                ),
                Update(
                    "customers",
                    {"customer": 1},
                    (Assign("name", "Ann"), Assign("order_count", 1)),
                    T + 1,
                ),
            )
        ),
        Batch(
            (
                Insert("orders", {"customer": 1, "order_id": 101, "item": "pear", "qty": 1}, T + 2),
                Update(
                    "customers",
                    {"customer": 1},
                    (Assign("order_count", 2), AddToSet("tags", frozenset({"repeat"}))),
                    T + 2,
                ),
            ),
            logged=False,
        ),
        Batch(
            (
                Insert("orders", {"customer": 2, "order_id": 200, "item": "fig", "qty": 2}, T + 3),
                Insert("customers", {"customer": 3, "name": "Cy"}, T + 3),
                Insert("orders", {"customer": 3, "order_id": 300, "item": "kiwi", "qty": 9}, T + 3),
            )
        ),
        Batch(
            (
                DeleteRow("orders", {"customer": 1, "order_id": 100}, T + 4),
                Update("customers", {"customer": 1}, (Assign("order_count", 1),), T + 4),
                DeleteRange("orders", {"customer": 2}, T + 4, lower=Bound(150, True)),
            ),
            logged=False,
        ),
        Batch(
            (
                Insert("orders", {"customer": 1, "order_id": 102, "item": "plum"}, T + 5),
                Update("orders", {"customer": 1, "order_id": 102}, (Assign("qty", 5),), T + 6),
            )
        ),
    ),
)

LWT_SCENARIO = Scenario(
    name="lwt",
    summary="Lightweight transactions: applied and failed conditions; timestamps are ballots.",
    covers=(
        "INSERT ... IF NOT EXISTS (applied, then not applied: nothing written)",
        "INSERT ... IF NOT EXISTS USING TTL",
        "UPDATE ... IF col = v (applied and not applied), UPDATE ... IF EXISTS with a set add",
        "DELETE ... IF EXISTS of a row (row deletion) and of a partition without clustering",
        "expected timestamps are null (the Paxos ballot's time); one plain write among them",
    ),
    tables=(
        table(
            "users", pk={"username": TEXT}, cols={"email": TEXT, "age": INT, "roles": SetOf(TEXT)}
        ),
        table("sessions", pk={"username": TEXT}, ck={"sid": INT}, cols={"active": BOOLEAN}),
    ),
    steps=(
        Lwt(
            Insert("users", {"username": "ann", "email": "ann@example.com", "age": 30}, None),
            "NOT EXISTS",
        ),
        Lwt(
            Insert("users", {"username": "ann", "email": "other@example.com", "age": 99}, None),
            "NOT EXISTS",
            applied=False,
        ),
        Lwt(Update("users", {"username": "ann"}, (Assign("age", 31),), None), {"age": 30}),
        Lwt(
            Update("users", {"username": "ann"}, (Assign("age", 50),), None),
            {"age": 30},
            applied=False,
        ),
        Lwt(
            Update(
                "users",
                {"username": "ann"},
                (AddToSet("roles", frozenset({"admin"})), Assign("email", "ann@corp.example")),
                None,
            ),
            "EXISTS",
        ),
        Lwt(
            Insert("users", {"username": "bob", "email": "bob@example.com"}, None, ttl=3600),
            "NOT EXISTS",
        ),
        Insert("users", {"username": "cy", "age": 20}, T + 1),
        Lwt(Insert("sessions", {"username": "ann", "sid": 1, "active": True}, None), "NOT EXISTS"),
        Lwt(DeleteRow("sessions", {"username": "ann", "sid": 1}, None), "EXISTS"),
        Lwt(DeleteRow("users", {"username": "bob"}, None), "EXISTS"),
    ),
)

_K1C1 = {"k": 1, "c": 1}
SCHEMA_CHANGE_SCENARIO = Scenario(
    name="schema_change",
    summary="ALTER ADD / ALTER DROP and CREATE TABLE between writes in the same segment.",
    covers=(
        "writes, then ALTER TABLE ADD of a text column, a map column and a static column,"
        " then writes using them",
        "writes to column b (incl. a tombstone), then ALTER TABLE DROP b: those facts are"
        " marked dropped (the decoder must ignore them), then writes without b",
        "CREATE TABLE in the middle of the segment and a write to it",
    ),
    tables=(table("evolving", pk={"k": INT}, ck={"c": INT}, cols={"a": INT, "b": TEXT}),),
    steps=(
        Insert("evolving", _K1C1 | {"a": 1, "b": "before drop"}, T + 1),
        Update("evolving", _K1C1, (Assign("b", "updated"),), T + 2),
        AddColumn("evolving", Column("d", TEXT)),
        Insert("evolving", {"k": 1, "c": 2, "a": 2, "b": "x", "d": "new column"}, T + 3),
        AddColumn("evolving", Column("e", MapOf(TEXT, INT))),
        Update("evolving", {"k": 1, "c": 2}, (PutEntry("e", "n", 1), Assign("d", "d2")), T + 4),
        DeleteColumns("evolving", {"k": 1, "c": 2}, ("b",), T + 5),
        DropColumn("evolving", "b"),
        Insert("evolving", {"k": 1, "c": 3, "a": 3, "d": "after drop"}, T + 6),
        AddColumn("evolving", Column("s", INT, static=True)),
        Update("evolving", {"k": 1}, (Assign("s", 9),), T + 7),
        CreateTable(table("late", pk={"k": INT}, cols={"v": TEXT})),
        Insert("late", {"k": 1, "v": "created mid-segment"}, T + 8),
    ),
)

NON_CDC_SCENARIO = Scenario(
    name="non_cdc_table",
    summary="A table without CDC beside a CDC table in the same keyspace: only CDC facts.",
    covers=(
        "writes to fx.untracked (cdc = false) interleaved with writes to fx.tracked;"
        " MANIFEST lists both under cdc_tables / other_tables",
        "an unlogged batch over both tables in one partition (one log entry with a CDC and a"
        " non-CDC partition update)",
        "deletes on both tables",
    ),
    tables=(
        table("tracked", pk={"k": INT}, ck={"c": INT}, cols={"v": TEXT}),
        table("untracked", pk={"k": INT}, ck={"c": INT}, cols={"v": TEXT}, cdc=False),
    ),
    steps=(
        Insert("tracked", {"k": 1, "c": 1, "v": "cdc"}, T + 1),
        Insert("untracked", {"k": 1, "c": 1, "v": "not cdc"}, T + 2),
        Update("untracked", {"k": 1, "c": 1}, (Assign("v", "still not cdc"),), T + 3),
        Batch(
            (
                Insert("tracked", {"k": 1, "c": 2, "v": "batched"}, T + 4),
                Insert("untracked", {"k": 1, "c": 2, "v": "batched"}, T + 4),
            ),
            logged=False,
        ),
        DeleteRow("untracked", {"k": 1, "c": 1}, T + 5),
        DeletePartition("tracked", {"k": 1}, T + 6),
        Insert("untracked", {"k": 2, "c": 1, "v": "last"}, T + 7),
    ),
)

_LOREM = (
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
    "incididunt ut labore et dolore magna aliqua. "
) * 12
_M1 = {"k": 1, "bucket": "2024-01"}
_TS = Native("timestamp")
MIXED_SCENARIO = Scenario(
    name="mixed",
    summary="A compact mix of everything, recorded with every commit-log compressor too.",
    covers=(
        "composite partition key, DESC timestamp clustering, static column, decimal, uuid",
        "a 1.4 KB compressible text value; INSERT, UPDATE, TTL, null",
        "set / list / map / UDT element writes and a whole-collection overwrite",
        "row, range and partition deletes; a logged batch over two tables",
        "a write to a table without CDC",
    ),
    types=(ADDR,),
    tables=(
        table(
            "readings",
            pk={"k": INT, "bucket": TEXT},
            ck={"at": _TS, "seq": INT},
            desc=["at"],
            cols={
                "payload": TEXT,
                "amount": Native("decimal"),
                "flags": SetOf(TEXT),
                "history": ListOf(BIGINT),
                "attrs": MapOf(TEXT, TEXT),
                "place": ADDR,
                "site": TEXT,
            },
            static=["site"],
        ),
        table("notes", pk={"id": Native("uuid")}, cols={"body": TEXT, "day": Native("date")}),
        table("scratch", pk={"id": INT}, cols={"body": TEXT}, cdc=False),
    ),
    steps=(
        Insert(
            "readings",
            _M1
            | {
                "at": 1_704_067_200_000,
                "seq": 1,
                "payload": _LOREM,
                "amount": Decimal("19.99"),
                "flags": {"new", "hot"},
                "site": "north",
            },
            T + 1,
        ),
        Insert(
            "readings",
            _M1 | {"at": 1_704_067_260_000, "seq": 1, "payload": "short"},
            T + 2,
            ttl=7200,
        ),
        Update(
            "readings",
            _M1 | {"at": 1_704_067_200_000, "seq": 1},
            (
                Append("history", (1, 2)),
                PutEntries("attrs", (("unit", "kWh"), ("src", "meter"))),
                SetField("place", "zip", 10115),
                Assign("amount", None),
            ),
            T + 3,
        ),
        Update(
            "readings",
            _M1 | {"at": 1_704_067_200_000, "seq": 1},
            (Assign("flags", {"cold"}),),
            T + 4,
        ),
        Update("readings", _M1, (Assign("site", "south"),), T + 5),
        DeleteRange("readings", _M1, T + 6, upper=Bound(1_704_067_000_000, False)),
        DeleteRow("readings", _M1 | {"at": 1_704_067_260_000, "seq": 1}, T + 7),
        Batch(
            (
                Insert(
                    "notes",
                    {
                        "id": uuid.UUID("0b5e0f06-4c8e-4c1f-9c43-8f2d2b7f5a11"),
                        "body": _LOREM[:200],
                        "day": datetime.date(2024, 1, 1),
                    },
                    T + 8,
                ),
                Insert("readings", {"k": 2, "bucket": "2024-02", "at": 0, "seq": -1}, T + 8),
            )
        ),
        Insert("scratch", {"id": 1, "body": "not captured"}, T + 9),
        DeletePartition("readings", {"k": 2, "bucket": "2024-02"}, T + 10),
    ),
)
