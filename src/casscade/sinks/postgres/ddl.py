"""PostgreSQL layout of a mirrored Cassandra table: type mapping, state table, tombstones, view.

For a Cassandra table `ks.t` the destination holds, in schema `ks`:

* `t__state`: one row per Cassandra row ever written: the key columns; per regular column
  `c` the winning value, `c__ts` (its write or deletion timestamp, µs) and `c__exp` (expiry,
  epoch seconds, for TTL cells); the row's liveness `__row_ts`/`__row_exp` (INSERTs) and
  `__del_ts`, the newest row, range or partition deletion that covers it.
* `t__tombstones`: partition and clustering-range deletions (kept so that an older write that
  arrives late cannot resurrect data), with their bounds as JSON.
* `t`: a view with exactly the rows and values `SELECT * FROM ks.t` returns in Cassandra: a
  value shows when it is newer than the row's deletion and not expired; a row shows when its
  liveness or one of its values does.

Pure: schema in, SQL text out (identifiers quoted with psycopg.sql by the caller's helpers).
"""

from __future__ import annotations

from dataclasses import dataclass

from casscade.commitlog.schema import ColumnSchema
from casscade.commitlog.types import NativeName, NativeType
from casscade.sinks.layout import MirrorLayout, UnsupportedColumnError

__all__ = ["TableLayout", "UnsupportedColumnError", "create_statements", "pg_type", "quote"]

# CQL native type -> PostgreSQL type, chosen to hold every value exactly.
PG_TYPES: dict[NativeName, str] = {
    NativeName.ASCII: "text",
    NativeName.TEXT: "text",
    NativeName.BIGINT: "bigint",
    NativeName.INT: "integer",
    NativeName.SMALLINT: "smallint",
    NativeName.TINYINT: "smallint",
    NativeName.VARINT: "numeric",
    NativeName.DECIMAL: "numeric",
    NativeName.DOUBLE: "double precision",
    NativeName.FLOAT: "real",
    NativeName.BOOLEAN: "boolean",
    NativeName.BLOB: "bytea",
    NativeName.UUID: "uuid",
    NativeName.TIMEUUID: "uuid",
    NativeName.INET: "inet",
    NativeName.DATE: "date",
    NativeName.TIMESTAMP: "timestamptz",
}


def pg_type(column: ColumnSchema) -> str:
    """The PostgreSQL type of a column.

    Raises:
        UnsupportedColumnError: collections, UDTs, tuples, vectors, counters, `time` and
            `duration` are not mirrored yet (TODO(#4)).
    """
    t = column.cql_type
    if isinstance(t, NativeType) and t.name in PG_TYPES:
        return PG_TYPES[t.name]
    raise UnsupportedColumnError(f"column {column.name} of type {column.type_text}")


def quote(identifier: str) -> str:
    """A PostgreSQL quoted identifier."""
    return '"' + identifier.replace('"', '""') + '"'


@dataclass(frozen=True, slots=True)
class TableLayout(MirrorLayout):
    """One mirrored table in PostgreSQL (`namespace` is the schema)."""

    @staticmethod
    def quote(identifier: str) -> str:
        return quote(identifier)

    @staticmethod
    def column_type(column: ColumnSchema) -> str:
        return pg_type(column)


def create_statements(layout: TableLayout) -> list[str]:
    """The DDL that creates the layout (idempotent)."""
    layout.check_supported()
    keys = [f"{quote(c.name)} {pg_type(c)} NOT NULL" for c in layout.keys]
    values = []
    for c in layout.regulars:
        values += [f"{quote(c.name)} {pg_type(c)}", f"{quote(c.name + '__ts')} bigint",
                   f"{quote(c.name + '__exp')} bigint"]  # fmt: skip
    meta = ['"__row_ts" bigint', '"__row_exp" bigint', '"__del_ts" bigint']
    key_list = ", ".join(quote(c.name) for c in layout.keys)
    pk_list = ", ".join(quote(c.name) for c in layout.table.partition_key)
    return [
        f"CREATE SCHEMA IF NOT EXISTS {quote(layout.namespace)}",
        f"CREATE TABLE IF NOT EXISTS {layout.qualified('__state')} "
        f"({', '.join(keys + values + meta)}, PRIMARY KEY ({key_list}))",
        f"CREATE TABLE IF NOT EXISTS {layout.qualified('__tombstones')} ("
        + ", ".join(f"{quote(c.name)} {pg_type(c)} NOT NULL" for c in layout.table.partition_key)
        + ', "bounds" jsonb, "deleted_at" bigint NOT NULL)',
        f"CREATE INDEX IF NOT EXISTS {quote(layout.table.name + '__tombstones_pk')} "
        f"ON {layout.qualified('__tombstones')} ({pk_list})",
        view_statement(layout),
    ]


def view_statement(layout: TableLayout) -> str:
    """The view that shows the table as Cassandra's `SELECT *` does."""
    now = "extract(epoch from now())"
    shown = []
    alive = [f'("__row_ts" > coalesce("__del_ts", -9223372036854775808) '
             f'AND ("__row_exp" IS NULL OR "__row_exp" > {now}))']  # fmt: skip
    for c in layout.regulars:
        name, ts, exp = quote(c.name), quote(c.name + "__ts"), quote(c.name + "__exp")
        live = (f"({name} IS NOT NULL AND {ts} > coalesce(\"__del_ts\", -9223372036854775808) "
                f"AND ({exp} IS NULL OR {exp} > {now}))")  # fmt: skip
        shown.append(f"CASE WHEN {live} THEN {name} END AS {name}")
        alive.append(live)
    columns = [quote(c.name) for c in layout.keys] + shown
    # Only identifiers go into this text, each quoted by quote().
    return (
        f"CREATE OR REPLACE VIEW {layout.qualified()} AS SELECT {', '.join(columns)} "  # noqa: S608
        f"FROM {layout.qualified('__state')} WHERE {' OR '.join(alive)}"
    )
