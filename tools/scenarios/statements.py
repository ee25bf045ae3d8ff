"""CQL statements of the fixture scenarios: INSERT, UPDATE, the DELETE kinds, batches, LWT.

Every statement renders its CQL text and derives the facts it must leave in the commit log
from its own literal values and its explicit `USING TIMESTAMP` (format reference section 13).
An LWT carries no timestamp (Cassandra uses the Paxos ballot), so its facts have timestamp
None, meaning "any". No I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, TypeAlias

from .cqltypes import JsonValue, MapOf, ScenarioError, UserType, canonical, literal
from .facts import Fact, Liveness, PartitionDeletion, RangeDeletion, RowDeletion
from .operations import FactState, Increment, Operation, RowRef, assign_facts
from .tables import Table


@dataclass(frozen=True, slots=True)
class Context:
    """The schema a statement is rendered against: keyspace and current tables."""

    keyspace: str
    tables: Mapping[str, Table]

    def table(self, name: str) -> Table:
        """The current definition of table `name`."""
        try:
            return self.tables[name]
        except KeyError:
            raise ScenarioError(f"no table {name!r} (yet)") from None

    def qualified(self, name: str) -> str:
        """`keyspace.table`, as facts name tables."""
        return f"{self.keyspace}.{name}"


def _using(ts: int | None, ttl: int | None) -> str:
    parts = ([f"TIMESTAMP {ts}"] if ts is not None else []) + ([f"TTL {ttl}"] if ttl else [])
    return f" USING {' AND '.join(parts)}" if parts else ""


def _suffix(condition: str) -> str:
    return f" {condition}" if condition else ""


def _delete(
    ctx: Context, t: Table, *, targets: str, ts: int | None, where: str, condition: str
) -> str:
    head = f"DELETE {targets} FROM" if targets else "DELETE FROM"
    return f"{head} {ctx.qualified(t.name)}{_using(ts, None)} WHERE {where}{_suffix(condition)}"


@dataclass(frozen=True, slots=True)
class Insert:
    """`INSERT INTO t (...) VALUES (...) USING TIMESTAMP ts [AND TTL ttl]`.

    A row with every clustering column gets a liveness fact; an INSERT of only the partition
    key and static columns writes just the static row (no liveness).
    """

    table: str
    values: Mapping[str, object]
    ts: int | None
    ttl: int | None = None

    def cql(self, ctx: Context, condition: str = "") -> str:
        t = ctx.table(self.table)
        names = ", ".join(self.values)
        values = ", ".join(literal(t.type_of(n), v) for n, v in self.values.items())
        # S608: CQL text made from the scenario's own literals, never from outside input.
        head = f"INSERT INTO {ctx.qualified(t.name)} ({names}) VALUES ({values})"  # noqa: S608
        # The grammar puts IF NOT EXISTS before the USING clause.
        return head + _suffix(condition) + _using(self.ts, self.ttl)

    def facts(self, ctx: Context, state: FactState) -> list[Fact]:
        del state
        t = ctx.table(self.table)
        if t.has_counters():
            raise ScenarioError(f"{t.name}: counter tables take UPDATE only")
        key = t.partition_values(self.values)
        clustering = t.clustering_prefix(self.values)
        columns = [(t.column(n), v) for n, v in self.values.items() if not t.is_key(n)]
        is_row = len(clustering) == len(t.clustering)
        if not is_row and (clustering or not columns or any(not c.static for c, _ in columns)):
            raise ScenarioError(f"{t.name}: an INSERT needs the full primary key")
        qname = ctx.qualified(t.name)
        facts: list[Fact] = []
        if is_row:
            facts.append(Liveness(qname, key, clustering, self.ts, self.ttl))
        for col, value in columns:
            row = RowRef(qname, key, () if col.static else clustering, col.static)
            facts.extend(assign_facts(row, col, value, self.ts, self.ttl))
        return facts


@dataclass(frozen=True, slots=True)
class Update:
    """`UPDATE t USING TIMESTAMP ts [AND TTL ttl] SET ... WHERE ...` (no liveness).

    `where` holds the partition key and, unless every operation is on a static column,
    every clustering column. Counter updates take no timestamp (ts None).
    """

    table: str
    where: Mapping[str, object]
    ops: tuple[Operation, ...]
    ts: int | None
    ttl: int | None = None

    def cql(self, ctx: Context, condition: str = "") -> str:
        t = ctx.table(self.table)
        sets = ", ".join(op.render(t.column(op.column)) for op in self.ops)
        head = f"UPDATE {ctx.qualified(t.name)}{_using(self.ts, self.ttl)}"
        return f"{head} SET {sets} WHERE {t.where(self.where)}{_suffix(condition)}"

    def facts(self, ctx: Context, state: FactState) -> list[Fact]:
        t = ctx.table(self.table)
        if not self.ops:
            raise ScenarioError("an UPDATE needs at least one operation")
        columns = [(op, t.column(op.column)) for op in self.ops]
        key, clustering = _row_key(t, self.where, all(col.static for _, col in columns))
        facts: list[Fact] = []
        for op, col in columns:
            row = RowRef(ctx.qualified(t.name), key, () if col.static else clustering, col.static)
            facts.extend(op.facts(row, col, self.ts, self.ttl, state))
        return facts

    @property
    def is_counter_update(self) -> bool:
        return all(isinstance(op, Increment) for op in self.ops)


def _row_key(
    t: Table, where: Mapping[str, object], static_only: bool
) -> tuple[tuple[JsonValue, ...], tuple[JsonValue, ...]]:
    # Cassandra refuses clustering restrictions when only static columns are written, and
    # needs all of them otherwise.
    t.where(where)
    key = t.partition_values(where)
    if static_only:
        if t.clustering_prefix(where):
            raise ScenarioError(f"{t.name}: a static-only write takes the partition key only")
        return key, ()
    return key, t.full_clustering(where)


@dataclass(frozen=True, slots=True)
class DeleteRow:
    """`DELETE FROM t WHERE <full primary key>`: a row deletion, or a partition deletion
    when the table has no clustering columns."""

    table: str
    where: Mapping[str, object]
    ts: int | None

    def cql(self, ctx: Context, condition: str = "") -> str:
        t = ctx.table(self.table)
        return _delete(
            ctx, t, targets="", ts=self.ts, where=t.where(self.where), condition=condition
        )

    def facts(self, ctx: Context, state: FactState) -> list[Fact]:
        del state
        t = ctx.table(self.table)
        key, clustering = _row_key(t, self.where, static_only=False)
        if not t.clustering:
            return [PartitionDeletion(ctx.qualified(t.name), key, self.ts)]
        return [RowDeletion(ctx.qualified(t.name), key, clustering, self.ts)]


@dataclass(frozen=True, slots=True)
class DeletePartition:
    """`DELETE FROM t WHERE <partition key>` of a table with clustering columns."""

    table: str
    key: Mapping[str, object]
    ts: int | None

    def cql(self, ctx: Context, condition: str = "") -> str:
        t = ctx.table(self.table)
        return _delete(ctx, t, targets="", ts=self.ts, where=t.where(self.key), condition=condition)

    def facts(self, ctx: Context, state: FactState) -> list[Fact]:
        del state
        t = ctx.table(self.table)
        t.where(self.key)
        if t.clustering_prefix(self.key):
            raise ScenarioError(f"{t.name}: a partition delete takes the partition key only")
        return [PartitionDeletion(ctx.qualified(t.name), t.partition_values(self.key), self.ts)]


@dataclass(frozen=True, slots=True)
class Bound:
    """One side of a clustering slice: `c > value` (exclusive) or `c >= value`."""

    value: object
    inclusive: bool


@dataclass(frozen=True, slots=True)
class DeleteRange:
    """`DELETE FROM t WHERE <pk> [AND <clustering prefix>] [AND c > a] [AND c <= b]`.

    The bounds restrict the clustering column that follows the prefix. Without bounds this
    is a prefix delete (start = end = prefix, both inclusive). The fact's start and end are
    in clustering order, as the range tombstone markers in the log: on a DESC column the
    upper CQL bound becomes the start. An unrestricted side is the empty (open) bound,
    inclusive, as Cassandra's BOTTOM / TOP.
    """

    table: str
    where: Mapping[str, object]
    ts: int | None
    lower: Bound | None = None
    upper: Bound | None = None

    def cql(self, ctx: Context, condition: str = "") -> str:
        t = ctx.table(self.table)
        parts = [t.where(self.where)]
        if self.lower or self.upper:
            col = t.clustering[len(t.clustering_prefix(self.where))]
            for bound, ops in ((self.lower, (">", ">=")), (self.upper, ("<", "<="))):
                if bound is not None:
                    lit = literal(col.type, bound.value)
                    parts.append(f"{col.name} {ops[bound.inclusive]} {lit}")
        return _delete(
            ctx, t, targets="", ts=self.ts, where=" AND ".join(parts), condition=condition
        )

    def facts(self, ctx: Context, state: FactState) -> list[Fact]:
        del state
        t = ctx.table(self.table)
        key = t.partition_values(self.where)
        prefix = t.clustering_prefix(self.where)
        qname = ctx.qualified(t.name)
        if self.lower is None and self.upper is None:
            if not prefix or len(prefix) == len(t.clustering):
                raise ScenarioError(f"{t.name}: a prefix delete needs a partial clustering")
            return [RangeDeletion(qname, key, prefix, True, prefix, True, self.ts)]
        if len(prefix) >= len(t.clustering):
            raise ScenarioError(f"{t.name}: no clustering column left for the range")
        col = t.clustering[len(prefix)]
        first, last = (self.upper, self.lower) if col.descending else (self.lower, self.upper)

        def side(bound: Bound | None) -> tuple[tuple[JsonValue, ...], bool]:
            if bound is None:
                return prefix, True
            return (*prefix, canonical(col.type, bound.value)), bound.inclusive

        (start, start_incl), (end, end_incl) = side(first), side(last)
        return [RangeDeletion(qname, key, start, start_incl, end, end_incl, self.ts)]


@dataclass(frozen=True, slots=True)
class DeleteColumns:
    """`DELETE a, b FROM t WHERE ...`: tombstone cells; complex deletions at ts for
    non-frozen collections and UDTs."""

    table: str
    where: Mapping[str, object]
    columns: tuple[str, ...]
    ts: int | None

    def cql(self, ctx: Context, condition: str = "") -> str:
        t = ctx.table(self.table)
        return _delete(
            ctx,
            t,
            targets=", ".join(self.columns),
            ts=self.ts,
            where=t.where(self.where),
            condition=condition,
        )

    def facts(self, ctx: Context, state: FactState) -> list[Fact]:
        del state
        t = ctx.table(self.table)
        cols = [t.column(n) for n in self.columns]
        key, clustering = _row_key(t, self.where, all(c.static for c in cols))
        facts: list[Fact] = []
        for col in cols:
            row = RowRef(ctx.qualified(t.name), key, () if col.static else clustering, col.static)
            if col.type.is_multi_cell:
                facts.append(row.complex_deletion(col.name, self.ts))
            else:
                facts.append(row.tombstone(col.name, None, self.ts))
        return facts


@dataclass(frozen=True, slots=True)
class DeleteElement:
    """`DELETE m[k] FROM t ...` (map key) or `DELETE u.f FROM t ...` (UDT field)."""

    table: str
    where: Mapping[str, object]
    column: str
    element: object
    ts: int | None

    def cql(self, ctx: Context, condition: str = "") -> str:
        t = ctx.table(self.table)
        col = t.column(self.column)
        if isinstance(col.type, MapOf):
            target = f"{col.name}[{literal(col.type.key, self.element)}]"
        else:
            target = f"{col.name}.{self.element}"
        return _delete(
            ctx, t, targets=target, ts=self.ts, where=t.where(self.where), condition=condition
        )

    def facts(self, ctx: Context, state: FactState) -> list[Fact]:
        del state
        t = ctx.table(self.table)
        col = t.column(self.column)
        key, clustering = _row_key(t, self.where, col.static)
        row = RowRef(ctx.qualified(t.name), key, clustering, col.static)
        if isinstance(col.type, MapOf) and col.type.is_multi_cell:
            return [row.tombstone(col.name, canonical(col.type.key, self.element), self.ts)]
        if isinstance(col.type, UserType) and col.type.is_multi_cell:
            col.type.field_type(str(self.element))
            return [row.tombstone(col.name, str(self.element), self.ts)]
        # DELETE l[i] is a read-before-write at unknown paths (operations module docstring).
        raise ScenarioError(f"{col.name}: element deletes are modelled for maps and UDTs only")


Modification: TypeAlias = (
    Insert | Update | DeleteRow | DeletePartition | DeleteRange | DeleteColumns | DeleteElement
)


@dataclass(frozen=True, slots=True)
class Batch:
    """`BEGIN [UNLOGGED] BATCH ... APPLY BATCH`; each statement keeps its own timestamp.

    Cassandra merges the statements per partition key (one log entry may hold the updates of
    several tables); the facts are the union of the statements' facts.
    """

    statements: tuple[Modification, ...]
    logged: bool = True

    def cql(self, ctx: Context) -> str:
        head = "BEGIN BATCH" if self.logged else "BEGIN UNLOGGED BATCH"
        body = "".join(f"  {s.cql(ctx)};\n" for s in self.statements)
        return f"{head}\n{body}APPLY BATCH"

    def facts(self, ctx: Context, state: FactState) -> list[Fact]:
        return [fact for s in self.statements for fact in s.facts(ctx, state)]


@dataclass(frozen=True, slots=True)
class Lwt:
    """A lightweight transaction: `statement` plus `IF NOT EXISTS`, `IF EXISTS` or
    `IF col = value AND ...`.

    The statement has no timestamp: Cassandra writes the Paxos ballot's time, so every
    timestamp in its facts is None ("any"). When `applied` is False the condition fails and
    nothing reaches the table (no facts); the capture tool checks `[applied]`.
    """

    statement: Insert | Update | DeleteRow | DeleteColumns
    condition: Literal["NOT EXISTS", "EXISTS"] | Mapping[str, object]
    applied: bool = True

    def cql(self, ctx: Context) -> str:
        if isinstance(self.condition, str):
            return self.statement.cql(ctx, f"IF {self.condition}")
        t = ctx.table(self.statement.table)
        terms = [f"{n} = {literal(t.type_of(n), v)}" for n, v in self.condition.items()]
        return self.statement.cql(ctx, "IF " + " AND ".join(terms))

    def facts(self, ctx: Context, state: FactState) -> list[Fact]:
        if self.statement.ts is not None:
            raise ScenarioError("an LWT cannot take USING TIMESTAMP")
        facts = self.statement.facts(ctx, state)
        return facts if self.applied else []


Statement: TypeAlias = Modification | Batch | Lwt
