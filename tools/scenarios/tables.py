"""Table definitions of the fixture scenarios: columns, keys, CREATE TABLE text.

A table is immutable; ALTER steps produce a new definition (`with_column`, `without_column`).
No I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .cqltypes import (
    CqlType,
    JsonValue,
    Native,
    ScenarioError,
    canonical,
    check_name,
    literal,
)


@dataclass(frozen=True, slots=True)
class Column:
    """A partition-key, regular or static column."""

    name: str
    type: CqlType
    static: bool = False


@dataclass(frozen=True, slots=True)
class ClusteringColumn:
    """A clustering column and its order."""

    name: str
    type: CqlType
    descending: bool = False


@dataclass(frozen=True, slots=True)
class Table:
    """A table of the scenario's keyspace.

    Attributes:
        name: the table name (unqualified).
        partition_key: partition-key columns in order.
        clustering: clustering columns in order.
        columns: regular and static columns.
        cdc: whether the table is created `WITH cdc = true`.
    """

    name: str
    partition_key: tuple[Column, ...]
    clustering: tuple[ClusteringColumn, ...] = ()
    columns: tuple[Column, ...] = ()
    cdc: bool = True

    def column(self, name: str) -> Column:
        """The regular or static column `name`."""
        for col in self.columns:
            if col.name == name:
                return col
        raise ScenarioError(f"table {self.name} has no regular or static column {name!r}")

    def is_key(self, name: str) -> bool:
        """Whether `name` is a partition-key or clustering column."""
        return name in self.key_names()

    def key_names(self) -> tuple[str, ...]:
        """Names of the primary-key columns, partition key first."""
        return tuple(c.name for c in self.partition_key) + tuple(c.name for c in self.clustering)

    def has_counters(self) -> bool:
        """Whether this is a counter table."""
        return any(c.type == Native("counter") for c in self.columns)

    def partition_values(self, values: Mapping[str, object]) -> tuple[JsonValue, ...]:
        """The canonical partition key taken from `values` (all components required)."""
        missing = [c.name for c in self.partition_key if c.name not in values]
        if missing:
            raise ScenarioError(f"{self.name}: partition key columns {missing} missing")
        return tuple(canonical(c.type, values[c.name]) for c in self.partition_key)

    def clustering_prefix(self, values: Mapping[str, object]) -> tuple[JsonValue, ...]:
        """The canonical clustering values given in `values`, which must form a prefix."""
        given = [c for c in self.clustering if c.name in values]
        if [c.name for c in given] != [c.name for c in self.clustering[: len(given)]]:
            raise ScenarioError(f"{self.name}: clustering values must form a prefix")
        return tuple(canonical(c.type, values[c.name]) for c in given)

    def full_clustering(self, values: Mapping[str, object]) -> tuple[JsonValue, ...]:
        """The canonical clustering of one row; every clustering column must be given."""
        prefix = self.clustering_prefix(values)
        if len(prefix) != len(self.clustering):
            raise ScenarioError(f"{self.name}: a row needs all clustering columns")
        return prefix

    def key_type(self, name: str) -> CqlType:
        """The type of a primary-key column."""
        keys: tuple[Column | ClusteringColumn, ...] = (*self.partition_key, *self.clustering)
        for col in keys:
            if col.name == name:
                return col.type
        raise ScenarioError(f"table {self.name} has no key column {name!r}")

    def type_of(self, name: str) -> CqlType:
        """The type of any column."""
        return self.key_type(name) if self.is_key(name) else self.column(name).type

    def where(self, values: Mapping[str, object]) -> str:
        """`k = v AND ...` over `values`, key columns only, in primary-key order."""
        for name in values:
            if not self.is_key(name):
                raise ScenarioError(f"{self.name}: {name!r} is not a key column")
        order = [n for n in self.key_names() if n in values]
        return " AND ".join(f"{n} = {literal(self.key_type(n), values[n])}" for n in order)

    def create_cql(self, keyspace: str) -> str:
        """The CREATE TABLE statement."""
        cols = [f"{c.name} {c.type.cql()}" for c in self.partition_key]
        cols += [f"{c.name} {c.type.cql()}" for c in self.clustering]
        cols += [f"{c.name} {c.type.cql()}{' STATIC' if c.static else ''}" for c in self.columns]
        pk = ", ".join(c.name for c in self.partition_key)
        if len(self.partition_key) > 1:
            pk = f"({pk})"
        key = ", ".join([pk, *(c.name for c in self.clustering)])
        options = [f"cdc = {'true' if self.cdc else 'false'}"]
        if any(c.descending for c in self.clustering):
            order = ", ".join(
                f"{c.name} {'DESC' if c.descending else 'ASC'}" for c in self.clustering
            )
            options.insert(0, f"CLUSTERING ORDER BY ({order})")
        body = ", ".join([*cols, f"PRIMARY KEY ({key})"])
        return f"CREATE TABLE {keyspace}.{self.name} ({body}) WITH {' AND '.join(options)}"

    def with_column(self, column: Column) -> Table:
        """This table after `ALTER TABLE ADD`."""
        if column.name in self.key_names() or any(c.name == column.name for c in self.columns):
            raise ScenarioError(f"{self.name} already has a column {column.name!r}")
        return dataclasses.replace(self, columns=(*self.columns, column))

    def without_column(self, name: str) -> Table:
        """This table after `ALTER TABLE DROP`."""
        self.column(name)
        return dataclasses.replace(self, columns=tuple(c for c in self.columns if c.name != name))


def table(
    name: str,
    *,
    pk: Mapping[str, CqlType],
    ck: Mapping[str, CqlType] | None = None,
    desc: Iterable[str] = (),
    cols: Mapping[str, CqlType] | None = None,
    static: Iterable[str] = (),
    cdc: bool = True,
) -> Table:
    """Build a Table from name -> type mappings (declaration order is kept).

    Args:
        name: the table name.
        pk: partition-key columns.
        ck: clustering columns.
        desc: clustering columns in descending order.
        cols: regular and static columns.
        static: which of `cols` are static.
        cdc: `WITH cdc = true`.
    """
    descending, statics = set(desc), set(static)
    clustering = ck or {}
    regular = cols or {}
    if not descending <= set(clustering) or not statics <= set(regular):
        raise ScenarioError(f"{name}: desc/static name unknown columns")
    for column_name in (*pk, *clustering, *regular):
        check_name(column_name)
    return Table(
        name=check_name(name),
        partition_key=tuple(Column(n, t) for n, t in pk.items()),
        clustering=tuple(ClusteringColumn(n, t, n in descending) for n, t in clustering.items()),
        columns=tuple(Column(n, t, n in statics) for n, t in regular.items()),
        cdc=cdc,
    )
