"""Tables of four shapes and a seeded generator of random CQL operations over them.

The shapes: `simple` (one int key, a column of most native types), `series` (composite
partition key, two clustering columns, the first DESC), `rich` (frozen list/set/map, tuple,
frozen UDT, time, duration, non-frozen list/set/map/UDT and a static column) and `frozen`
(frozen and nested frozen values, a tuple holding a timestamp). Operations: inserts of some
columns with and without TTL (long TTLs: nothing expires during a test), explicit nulls,
partial updates, cell, row, clustering-range and partition deletions, collection element and
UDT field operations, static-only writes. Every operation carries `USING TIMESTAMP`; one in
ten is older than what came before, so last-write-wins is exercised, not last-arrived.
`operations(..., ttl_s=)` gives short TTLs instead, for a workload that expires as it runs.

Each operation is one prepared statement with bound values; columns an INSERT or UPDATE does
not write are bound as UNSET, so one statement per table and kind serves every subset.
"""

from __future__ import annotations

import datetime
import decimal
import ipaddress
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from cassandra.query import UNSET_VALUE
from cassandra.util import Duration, Time

UDT = "CREATE TYPE IF NOT EXISTS {keyspace}.addr (street text, zip int)"
# shape -> the column list of its CREATE TABLE (with `{keyspace}` for the UDT).
SHAPES: dict[str, str] = {
    "simple": (
        "id int PRIMARY KEY, name text, score bigint, ratio double, active boolean, ref uuid, "
        "at timestamp, amount decimal, addr inet, data blob, small smallint, tiny tinyint, "
        "big varint, day date, f float, tid timeuuid, code ascii"
    ),
    "series": (
        "tenant int, region text, bucket int, seq int, value double, note text, cnt int, "
        "flag boolean, at timestamp, PRIMARY KEY ((tenant, region), bucket, seq)"
    ),
    "rich": (
        "pk int, ck text, st text static, fl frozen<list<text>>, fs frozen<set<int>>, "
        "fm frozen<map<text, bigint>>, tu tuple<int, text>, fa frozen<{keyspace}.addr>, "
        "tm time, du duration, l list<int>, s set<text>, m map<text, int>, "
        "a {keyspace}.addr, PRIMARY KEY (pk, ck)"
    ),
    "frozen": (
        "id int, ck int, fl frozen<list<text>>, fs frozen<set<int>>, "
        "fm frozen<map<text, bigint>>, tu tuple<int, text, timestamp>, "
        "fa frozen<{keyspace}.addr>, tm time, du duration, "
        "nest frozen<map<text, frozen<list<int>>>>, PRIMARY KEY (id, ck)"
    ),
}
OPTIONS = {"series": "CLUSTERING ORDER BY (bucket DESC, seq ASC) AND cdc = true"}
# Long enough that nothing expires while a test runs.
LONG_TTL_S = 86_400

Maker = Callable[[random.Random], object]
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def create_tables(session: Any, keyspace: str, names: dict[str, str]) -> None:
    """Create the UDT and a table of each shape; `names` maps shape -> table name."""
    session.execute(UDT.format(keyspace=keyspace))
    for shape, table in names.items():
        columns = SHAPES[shape].format(keyspace=keyspace)
        options = OPTIONS.get(shape, "cdc = true")
        session.execute(f"CREATE TABLE {keyspace}.{table} ({columns}) WITH {options}")


def _text(rng: random.Random) -> str:
    return rng.choice(["", "plain", "ünïcödé ✓", "line\nbreak", "quote ' \""]) + str(
        rng.randrange(100)
    )


def _timestamp(rng: random.Random) -> datetime.datetime:
    # Whole milliseconds (what a timestamp holds), 1970 to 2100.
    return EPOCH + datetime.timedelta(milliseconds=rng.randrange(4_102_444_800_000))


def _udt(rng: random.Random) -> tuple[object, ...]:
    return (
        _text(rng) if rng.random() < 0.8 else None,
        rng.randrange(99_999) if rng.random() < 0.8 else None,
    )


def _duration(rng: random.Random) -> Duration:
    # Months, days and nanoseconds share one sign in a valid duration.
    sign = rng.choice([1, -1])
    return Duration(
        sign * rng.randrange(30), sign * rng.randrange(40), sign * rng.randrange(10**13)
    )


MAKERS: dict[str, Maker] = {
    "name": _text,
    "note": _text,
    "code": lambda r: f"ascii-{r.randrange(1000)}",
    "score": lambda r: r.randrange(-(2**63), 2**63),
    "ratio": lambda r: r.randrange(-(10**9), 10**9) / 64,
    "value": lambda r: r.randrange(-(10**6), 10**6) / 8,
    "f": lambda r: r.randrange(-(2**20), 2**20) / 16,  # exact in a float32
    "active": lambda r: r.random() < 0.5,
    "flag": lambda r: r.random() < 0.5,
    "ref": lambda r: uuid.UUID(int=r.getrandbits(128), version=4),
    "tid": lambda r: uuid.UUID(int=r.getrandbits(128), version=1),
    "at": _timestamp,
    "amount": lambda r: decimal.Decimal(r.randrange(-(10**12), 10**12)).scaleb(-r.randrange(6)),
    "addr": lambda r: str(
        ipaddress.IPv4Address(r.getrandbits(32))
        if r.random() < 0.7
        else ipaddress.IPv6Address(r.getrandbits(128))
    ),
    "data": lambda r: r.randbytes(r.randrange(0, 24)),
    "small": lambda r: r.randrange(-(2**15), 2**15),
    "tiny": lambda r: r.randrange(-128, 128),
    "big": lambda r: r.randrange(-(10**40), 10**40),
    "day": lambda r: datetime.date(1900, 1, 1) + datetime.timedelta(days=r.randrange(140_000)),
    "cnt": lambda r: r.randrange(-(2**31), 2**31),
    "st": _text,
    "fl": lambda r: [_text(r) for _ in range(r.randrange(1, 4))],
    "fs": lambda r: {r.randrange(-50, 50) for _ in range(r.randrange(1, 5))},
    "fm": lambda r: {
        f"k{r.randrange(9)}": r.randrange(-(2**40), 2**40) for _ in range(r.randrange(1, 4))
    },
    "tm": lambda r: Time(r.randrange(86_400 * 10**9)),
    "du": _duration,
    "fa": _udt,
    "a": _udt,
    "l": lambda r: [r.randrange(-1000, 1000) for _ in range(r.randrange(1, 4))],
    "s": lambda r: {f"e{r.randrange(12)}" for _ in range(r.randrange(1, 4))},
    "m": lambda r: {
        f"k{r.randrange(8)}": r.randrange(-1000, 1000) for _ in range(r.randrange(1, 3))
    },
    "nest": lambda r: {
        f"n{r.randrange(5)}": [r.randrange(100) for _ in range(r.randrange(0, 3))]
        for _ in range(r.randrange(1, 3))
    },
}


def _tuple_value(shape: str) -> Maker:
    if shape == "rich":
        return lambda r: (r.randrange(-(2**31), 2**31), _text(r))
    return lambda r: (r.randrange(1000), _text(r) if r.random() < 0.8 else None, _timestamp(r))


@dataclass(frozen=True, slots=True)
class Table:
    """One table of a shape: how to pick a key, which columns, which deletions it allows."""

    keyspace: str
    name: str
    shape: str
    partition: tuple[str, ...]
    clustering: tuple[str, ...]
    columns: tuple[str, ...]  # regular and static columns an INSERT or UPDATE writes
    collections: tuple[str, ...] = ()  # non-frozen collections and UDTs (element operations)
    static: tuple[str, ...] = ()
    makers: dict[str, Maker] = field(default_factory=dict)

    @property
    def qualified(self) -> str:
        return f"{self.keyspace}.{self.name}"

    def key(self, rng: random.Random) -> tuple[object, ...]:
        """A random primary key (partition, then clustering): few keys, many overwrites."""
        if self.shape == "simple":
            return (rng.randrange(40),)
        if self.shape == "series":
            return (rng.randrange(3), rng.choice(["eu", "us"]), rng.randrange(4), rng.randrange(8))
        if self.shape == "rich":
            return (rng.randrange(6), rng.choice("abcde"))
        return (rng.randrange(5), rng.randrange(8))

    def value(self, rng: random.Random, column: str) -> object:
        """A random value of the column; one in twenty an explicit null (a cell tombstone)."""
        return self.makers[column](rng) if rng.random() >= 0.05 else None


# shape -> (partition key, clustering columns): the other columns are written by operations.
KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "simple": (("id",), ()),
    "series": (("tenant", "region"), ("bucket", "seq")),
    "rich": (("pk",), ("ck",)),
    "frozen": (("id",), ("ck",)),
}


def column_names(shape: str) -> list[str]:
    """The columns of a shape, in CREATE TABLE order (commas inside <> and () skipped)."""
    parts, depth, current = [], 0, ""
    for char in SHAPES[shape] + ",":
        depth += char in "<("
        depth -= char in ">)"
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    return [p.split()[0] for p in parts if not p.startswith("PRIMARY KEY")]


def tables(keyspace: str, names: dict[str, str]) -> dict[str, Table]:
    """The Table of each shape in `names` (shape -> table name)."""
    out = {}
    for shape, name in names.items():
        partition, clustering = KEYS[shape]
        keys = set(partition + clustering)
        regular = tuple(c for c in column_names(shape) if c not in keys)
        makers = {c: MAKERS[c] for c in regular if c in MAKERS}
        if "tu" in regular:
            makers["tu"] = _tuple_value(shape)
        collections = ("l", "s", "m", "a") if shape == "rich" else ()
        static = ("st",) if shape == "rich" else ()
        out[shape] = Table(keyspace, name, shape, partition, clustering, regular,
                           collections, static, makers)  # fmt: skip
    return out


@dataclass(frozen=True, slots=True)
class Operation:
    """One CQL statement with its bound values."""

    cql: str
    values: tuple[object, ...]
    kind: str


class Stamps:
    """Write timestamps (µs): mostly increasing, one in ten older than the newest; never one
    used before, unless `ties`: then drawn from a few recent values, so that many writes share
    a timestamp (Cassandra then breaks the tie: a deletion wins, then a tombstone, an
    expiring cell, the greater serialized value)."""

    def __init__(self, rng: random.Random, start_us: int, *, ties: bool = False) -> None:
        self._rng = rng
        self.newest = start_us
        self._used: set[int] = set()
        self._ties = ties
        self.drawn: list[int] = []  # with ties: every timestamp handed out, in order

    def next(self) -> int:
        if self._ties:
            self.newest += self._rng.randrange(0, 2)
            self.drawn.append(self.newest - self._rng.randrange(0, 3))
            return self.drawn[-1]
        self.newest += self._rng.randrange(1, 50)
        stamp = self.newest
        if self._rng.random() < 0.1:
            stamp -= self._rng.randrange(1, 3000)
        while stamp in self._used:
            stamp -= 1
        self._used.add(stamp)
        return stamp


def _ttl(rng: random.Random, ttl_s: int) -> int:
    """A TTL of at most `ttl_s` and more than half of it."""
    return ttl_s - rng.randrange(max(1, ttl_s // 2))


def _where(table: Table, columns: tuple[str, ...]) -> str:
    return " AND ".join(f"{c} = ?" for c in columns)


def _insert(table: Table, rng: random.Random, stamp: int, ttl_s: int = LONG_TTL_S) -> Operation:
    # Any subset of the columns, even none (a row marker only).
    chosen = set(rng.sample(table.columns, rng.randrange(0, len(table.columns) + 1)))
    keys = table.partition + table.clustering
    names = keys + table.columns
    ttl = _ttl(rng, ttl_s) if rng.random() < 0.25 else 0
    cql = (f"INSERT INTO {table.qualified} ({', '.join(names)}) "
           f"VALUES ({', '.join('?' * len(names))}) USING TTL ? AND TIMESTAMP ?")  # fmt: skip
    values = [table.value(rng, c) if c in chosen else UNSET_VALUE for c in table.columns]
    return Operation(cql, (*table.key(rng), *values, ttl, stamp), "insert")


def _update(table: Table, rng: random.Random, stamp: int, ttl_s: int = LONG_TTL_S) -> Operation:
    chosen = set(rng.sample(table.columns, rng.randrange(1, min(5, len(table.columns)) + 1)))
    ttl = _ttl(rng, ttl_s) if rng.random() < 0.15 else 0
    keys = table.partition + table.clustering
    cql = (f"UPDATE {table.qualified} USING TTL ? AND TIMESTAMP ? SET "
           + ", ".join(f"{c} = ?" for c in table.columns)
           + f" WHERE {_where(table, keys)}")  # fmt: skip
    values = [table.value(rng, c) if c in chosen else UNSET_VALUE for c in table.columns]
    return Operation(cql, (ttl, stamp, *values, *table.key(rng)), "update")


def _delete_cells(table: Table, rng: random.Random, stamp: int) -> Operation:
    columns = sorted(rng.sample(table.columns, rng.randrange(1, 3)))
    static_only = all(c in table.static for c in columns)
    keys = table.partition if static_only else table.partition + table.clustering
    key = table.key(rng)[: len(keys)]
    cql = (f"DELETE {', '.join(columns)} FROM {table.qualified} USING TIMESTAMP ? "
           f"WHERE {_where(table, keys)}")  # fmt: skip
    return Operation(cql, (stamp, *key), "delete_cells")


def _delete_row(table: Table, rng: random.Random, stamp: int) -> Operation:
    keys = table.partition + table.clustering
    cql = f"DELETE FROM {table.qualified} USING TIMESTAMP ? WHERE {_where(table, keys)}"
    return Operation(cql, (stamp, *table.key(rng)), "delete_row")


def _delete_partition(table: Table, rng: random.Random, stamp: int) -> Operation:
    cql = (f"DELETE FROM {table.qualified} USING TIMESTAMP ? "
           f"WHERE {_where(table, table.partition)}")  # fmt: skip
    return Operation(cql, (stamp, *table.key(rng)[: len(table.partition)]), "delete_partition")


def _delete_range(table: Table, rng: random.Random, stamp: int) -> Operation:
    """A clustering-range deletion: a prefix, a slice of the first or the last column."""
    key = table.key(rng)
    width = len(table.partition)
    where = _where(table, table.partition)
    first = table.clustering[0]
    if table.shape == "series":
        low, high = sorted((rng.randrange(8), rng.randrange(8)))
        forms: list[tuple[str, tuple[object, ...]]] = [
            (f"{first} = ?", (key[width],)),
            (f"{first} > ?", (key[width],)),
            (f"{first} <= ?", (key[width],)),
            (f"{first} = ? AND seq >= ? AND seq < ?", (key[width], low, high + 1)),
            (f"{first} = ? AND seq > ?", (key[width], low)),
        ]
    else:
        ends: list[Any] = [table.key(rng)[width], table.key(rng)[width]]
        low, high = sorted(ends)
        forms = [
            (f"{first} >= ? AND {first} <= ?", (low, high)),
            (f"{first} > ?", (low,)),
            (f"{first} < ?", (high,)),
        ]
    condition, bounds = rng.choice(forms)
    cql = f"DELETE FROM {table.qualified} USING TIMESTAMP ? WHERE {where} AND {condition}"
    return Operation(cql, (stamp, *key[:width], *bounds), "delete_range")


def _collection(table: Table, rng: random.Random, stamp: int, ttl_s: int = LONG_TTL_S) -> Operation:
    """An element operation on a non-frozen list, set, map or UDT (of `rich`)."""
    r = rng
    choices: list[tuple[str, tuple[object, ...]]] = [
        ("SET l = l + ?", (MAKERS["l"](r),)),
        ("SET l = ? + l", (MAKERS["l"](r),)),
        ("SET l = ?", (MAKERS["l"](r),)),
        ("SET l = l - ?", ([r.randrange(-1000, 1000), r.randrange(-3, 3)],)),
        ("SET s = s + ?", (MAKERS["s"](r),)),
        ("SET s = s - ?", ({f"e{r.randrange(12)}"},)),
        ("SET s = ?", (MAKERS["s"](r),)),
        ("SET m = m + ?", (MAKERS["m"](r),)),
        ("SET m[?] = ?", (f"k{r.randrange(8)}", r.randrange(-1000, 1000))),
        ("SET m = ?", (MAKERS["m"](r),)),
        ("SET a.street = ?", (_text(r),)),
        ("SET a.zip = ?", (r.randrange(99_999),)),
        ("SET a = ?", (_udt(r),)),
    ]
    deletes: list[tuple[str, tuple[object, ...]]] = [
        ("m[?]", (f"k{r.randrange(8)}",)),
        ("a.zip", ()),
        ("a.street", ()),
    ]
    keys = table.partition + table.clustering
    key = table.key(rng)
    if rng.random() < 0.2:
        element, bound = rng.choice(deletes)
        cql = (f"DELETE {element} FROM {table.qualified} USING TIMESTAMP ? "
               f"WHERE {_where(table, keys)}")  # fmt: skip
        return Operation(cql, (*bound, stamp, *key), "collection")  # m[?] comes first
    assignment, bound = rng.choice(choices)
    ttl = _ttl(rng, ttl_s) if rng.random() < 0.1 else 0
    if rng.random() < 0.15:  # static only: a write to the partition, no row
        assignment, bound, keys, key = "SET st = ?", (_text(r),), table.partition, key[:1]
    cql = (f"UPDATE {table.qualified} USING TTL ? AND TIMESTAMP ? {assignment} "
           f"WHERE {_where(table, keys)}")  # fmt: skip
    return Operation(cql, (ttl, stamp, *bound, *key), "collection")


# (kind, weight): what a random operation is, per table with or without clustering.
_KINDS: tuple[tuple[Callable[..., Operation], float], ...] = (
    (_insert, 0.3),
    (_update, 0.25),
    (_delete_cells, 0.1),
    (_delete_row, 0.07),
    (_delete_range, 0.06),
    (_delete_partition, 0.02),
    (_collection, 0.6),
)
# How often each shape is picked (the rich table has the most kinds of operation).
_SHAPE_WEIGHTS = {"simple": 0.2, "series": 0.3, "rich": 0.35, "frozen": 0.15}


def operations(
    rng: random.Random,
    all_tables: list[Table],
    count: int,
    stamps: Stamps,
    *,
    ttl_s: int = LONG_TTL_S,
) -> Iterator[Operation]:
    """`count` random operations over `all_tables`, deterministic for a seeded `rng`; the
    writes with a TTL have one of at most `ttl_s`."""
    for _ in range(count):
        (table,) = rng.choices(all_tables, weights=[_SHAPE_WEIGHTS[t.shape] for t in all_tables])
        kinds = [
            (kind, weight)
            for kind, weight in _KINDS
            if (kind is not _collection or table.collections)
            and (kind not in (_delete_range, _delete_row) or table.clustering)
        ]
        (kind,) = rng.choices([k for k, _ in kinds], weights=[w for _, w in kinds])
        if kind in (_insert, _update, _collection):
            yield kind(table, rng, stamps.next(), ttl_s)
        else:
            yield kind(table, rng, stamps.next())
