"""The decoder on a fresh random workload recorded from the live Cassandra.

A seeded workload of inserts, partial updates, TTLs, cell/row/partition/range deletes and
collection changes is written with explicit `USING TIMESTAMP`; the facts the workload implies
(values, write timestamps, TTLs, deletions) must be exactly the facts decoded from cdc_raw.
"""

from __future__ import annotations

import datetime
import decimal
import json
import random
import uuid
from collections import Counter
from typing import Any

from casscade.commitlog.facts import mutation_facts
from casscade.commitlog.mutation import Mutation, UnknownSchema
from casscade.commitlog.schema import SchemaSnapshot, build_snapshot
from casscade.commitlog.sections import CorruptSection
from casscade.source.schema import read_schema_rows
from casscade.source.segments import read_segment, sources_in
from casscade.stack.manager import Stack
from tests.integration.workloads import create_keyspace

KEYSPACE = "it_decoder"
COLUMNS = "a text, b bigint, c double, d boolean, e uuid, f timestamp, g decimal, h inet"


def _key(fact: dict[str, Any]) -> str:
    return json.dumps(fact, sort_keys=True)


class _Workload:
    """Writes statements and records the facts each one must produce."""

    def __init__(self, session: Any, table: str, seed: int) -> None:
        self._session = session
        self._prepared: dict[str, Any] = {}
        self.table = f"{KEYSPACE}.{table}"
        self.rng = random.Random(seed)
        self.ts = 1_700_000_000_000_000
        self.facts: list[dict[str, Any]] = []

    def execute(self, cql: str, params: tuple[object, ...]) -> None:
        """Run a prepared statement: values travel in binary, exactly as given.

        (Simple statements render values into the CQL text; the driver writes a Decimal
        there as a float literal, which changes its scale.)
        """
        statement = self._prepared.get(cql)
        if statement is None:
            statement = self._prepared[cql] = self._session.prepare(cql.replace("%s", "?"))
        self._session.execute(statement, params)

    def next_ts(self) -> int:
        self.ts += self.rng.randrange(1, 1000)
        return self.ts

    def values(self) -> dict[str, tuple[object, object]]:
        """Column -> (value bound in CQL, canonical expected value)."""
        rng = self.rng
        stamp = rng.randrange(0, 2_000_000_000_000)
        when = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC) + datetime.timedelta(
            milliseconds=stamp
        )
        dec = decimal.Decimal(rng.randrange(-(10**8), 10**8)).scaleb(-rng.randrange(0, 6))
        ident = uuid.UUID(int=rng.getrandbits(128), version=4)
        address = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}"
        big = rng.randrange(-(2**63), 2**63)
        return {
            "a": (text := f"t{rng.randrange(10**6)}é", text),
            "b": (big, big),
            "c": (value := rng.randrange(-1000, 1000) / 8, value),
            "d": (flag := rng.random() < 0.5, flag),
            "e": (ident, str(ident)),
            "f": (when, stamp),
            "g": (dec, str(dec)),
            "h": (address, address),
        }

    def cell(self, where: tuple[int, int], column: str, value: object, *, ts: int,
             ttl: int | None, tombstone: bool = False, path: object = None) -> None:  # fmt: skip
        pk, ck = where
        self.facts.append(
            {"fact": "cell", "table": self.table, "key": [pk], "clustering": [ck],
             "column": column, "path": path, "value": value, "timestamp": ts, "ttl": ttl,
             "tombstone": tombstone, "static": False, "dropped": False}
        )  # fmt: skip

    def insert(self, pk: int, ck: int) -> None:
        ts, cols = self.next_ts(), self.values()
        ttl = self.rng.choice([None, None, 3600])
        using = f"USING TIMESTAMP {ts}" + (f" AND TTL {ttl}" if ttl else "")
        names = ", ".join(cols)
        marks = ", ".join(["%s"] * len(cols))
        self.execute(
            f"INSERT INTO {self.table} (pk, ck, {names}) VALUES (%s, %s, {marks}) {using}",
            (pk, ck, *(bound for bound, _ in cols.values())),
        )
        self.facts.append({"fact": "liveness", "table": self.table, "key": [pk],
                           "clustering": [ck], "timestamp": ts, "ttl": ttl})  # fmt: skip
        for column, (_, expected) in cols.items():
            self.cell((pk, ck), column, expected, ts=ts, ttl=ttl)

    def update(self, pk: int, ck: int) -> None:
        ts, cols = self.next_ts(), self.values()
        chosen = self.rng.sample(sorted(cols), 2)
        ttl = self.rng.choice([None, 60])
        using = f"USING TIMESTAMP {ts}" + (f" AND TTL {ttl}" if ttl else "")
        sets = ", ".join(f"{c} = %s" for c in chosen)
        self.execute(
            f"UPDATE {self.table} {using} SET {sets} WHERE pk = %s AND ck = %s",
            (*(cols[c][0] for c in chosen), pk, ck),
        )
        for column in chosen:
            self.cell((pk, ck), column, cols[column][1], ts=ts, ttl=ttl)

    def delete_cell(self, pk: int, ck: int) -> None:
        ts, column = self.next_ts(), self.rng.choice("abcdefgh")
        self.execute(
            f"DELETE {column} FROM {self.table} USING TIMESTAMP {ts} WHERE pk = %s AND ck = %s",
            (pk, ck),
        )
        self.cell((pk, ck), column, None, ts=ts, ttl=None, tombstone=True)

    def collections(self, pk: int, ck: int) -> None:
        ts = self.next_ts()
        key, number = f"k{self.rng.randrange(100)}", self.rng.randrange(-50, 50)
        self.execute(
            f"UPDATE {self.table} USING TIMESTAMP {ts} SET m = m + %s, s = s + %s "
            "WHERE pk = %s AND ck = %s",
            ({key: number}, {number}, pk, ck),
        )
        self.cell((pk, ck), "m", number, ts=ts, ttl=None, path=key)
        self.cell((pk, ck), "s", None, ts=ts, ttl=None, path=number)

    def delete_row(self, pk: int, ck: int) -> None:
        ts = self.next_ts()
        self.execute(
            f"DELETE FROM {self.table} USING TIMESTAMP {ts} WHERE pk = %s AND ck = %s", (pk, ck)
        )
        self.facts.append({"fact": "row_deletion", "table": self.table, "key": [pk],
                           "clustering": [ck], "timestamp": ts})  # fmt: skip

    def delete_partition(self, pk: int) -> None:
        ts = self.next_ts()
        self.execute(f"DELETE FROM {self.table} USING TIMESTAMP {ts} WHERE pk = %s", (pk,))
        self.facts.append(
            {"fact": "partition_deletion", "table": self.table, "key": [pk], "timestamp": ts}
        )

    def delete_range(self, pk: int) -> None:
        ts, low = self.next_ts(), self.rng.randrange(0, 10)
        high = low + self.rng.randrange(1, 5)
        self.execute(
            f"DELETE FROM {self.table} USING TIMESTAMP {ts} WHERE pk = %s AND ck >= %s AND ck < %s",
            (pk, low, high),
        )
        self.facts.append(
            {"fact": "range_deletion", "table": self.table, "key": [pk], "start": [low],
             "start_inclusive": True, "end": [high], "end_inclusive": False, "timestamp": ts}
        )  # fmt: skip

    def run(self, operations: int) -> None:
        actions = [self.insert] * 4 + [self.update] * 3 + [self.delete_cell, self.collections]
        actions += [self.collections, self.delete_row]
        for _ in range(operations):
            pk, ck = self.rng.randrange(0, 8), self.rng.randrange(0, 12)
            roll = self.rng.random()
            if roll < 0.03:
                self.delete_partition(pk)
            elif roll < 0.07:
                self.delete_range(pk)
            else:
                self.rng.choice(actions)(pk, ck)


def _create_keyspace(session: Any) -> None:
    create_keyspace(session, KEYSPACE)


def _decoded_facts(stack: Stack, snapshot: SchemaSnapshot, table: str) -> list[dict[str, Any]]:
    """The facts of `table` in every segment of cdc_raw; nothing may be corrupt or unknown."""
    decoded: list[dict[str, Any]] = []
    problems: list[object] = []
    for source in sources_in(stack.cassandra.layout.cdc_raw_dir):
        for record in read_segment(source, snapshot):
            if isinstance(record, (CorruptSection, UnknownSchema)):
                problems.append(record)
            elif isinstance(record, Mutation):
                decoded.extend(
                    f for f in mutation_facts(record, snapshot)
                    if f["table"] == f"{KEYSPACE}.{table}"
                )  # fmt: skip
    assert problems == []
    return decoded


def test_decoder_live_random_workload_matches_written_facts(stack: Stack) -> None:
    """Every value, timestamp, TTL and deletion written is decoded, and nothing else."""
    table = f"w_{uuid.uuid4().hex[:10]}"
    with stack.cassandra.cluster() as cluster:
        session = cluster.connect()
        _create_keyspace(session)
        session.execute(
            f"CREATE TABLE {KEYSPACE}.{table} (pk int, ck int, {COLUMNS}, m map<text, int>, "
            "s set<int>, PRIMARY KEY (pk, ck)) WITH cdc = true"
        )
        workload = _Workload(session, table, seed=20261125)
        workload.run(400)
        snapshot = build_snapshot(read_schema_rows(session))
    decoded = _decoded_facts(stack, snapshot, table)
    want, got = Counter(map(_key, workload.facts)), Counter(map(_key, decoded))
    assert sum(want.values()) > 1500
    missing, unexpected = want - got, got - want
    assert not missing, f"{sum(missing.values())} facts not decoded, e.g. {next(iter(missing))}"
    assert not unexpected, f"{sum(unexpected.values())} unexpected, e.g. {next(iter(unexpected))}"


def test_decoder_live_wide_rows_column_subsets_over_64_columns(stack: Stack) -> None:
    """Rows of one partition update that each carry a subset of a 70-column header (the
    large-header subset encoding: present or missing column indexes) decode exactly."""
    table = f"wide_{uuid.uuid4().hex[:10]}"
    columns = [f"c{i:02d}" for i in range(70)]
    chosen = {0: columns, 1: columns[:3], 2: columns[5:65], 3: columns[40:41]}
    ts = 1_700_000_500_000_000
    with stack.cassandra.cluster() as cluster:
        session = cluster.connect()
        _create_keyspace(session)
        session.execute(
            f"CREATE TABLE {KEYSPACE}.{table} (pk int, ck int, "
            + ", ".join(f"{c} int" for c in columns)
            + ", PRIMARY KEY (pk, ck)) WITH cdc = true"
        )
        # One unlogged batch on one partition: one partition update whose header lists all
        # 70 columns, with rows that each carry only some of them.
        statements = [
            f"UPDATE {KEYSPACE}.{table} USING TIMESTAMP {ts} SET "
            + ", ".join(f"{c} = {ck * 100 + i}" for i, c in enumerate(cols))
            + f" WHERE pk = 1 AND ck = {ck}"
            for ck, cols in chosen.items()
        ]
        session.execute("BEGIN UNLOGGED BATCH " + "; ".join(statements) + "; APPLY BATCH")
        snapshot = build_snapshot(read_schema_rows(session))
    decoded = _decoded_facts(stack, snapshot, table)
    got = {(f["clustering"][0], f["column"]): f["value"] for f in decoded}
    want = {(ck, c): ck * 100 + i for ck, cols in chosen.items() for i, c in enumerate(cols)}
    assert got == want
    assert {f["timestamp"] for f in decoded} == {ts}
