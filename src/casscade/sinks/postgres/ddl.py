"""PostgreSQL layout of a mirrored Cassandra table: type mapping, state table, tombstones, view.

For a Cassandra table `ks.t` the destination holds, in schema `ks`:

* `t__state`: one row per Cassandra row ever written: the key columns; per regular column
  `c` the winning value, `c__ts` (its write or deletion timestamp, µs), `c__exp` (expiry,
  epoch seconds, for TTL cells) and `c__tie` (what breaks a tie of equal timestamps,
  casscade.sinks.staging.tie_key); the row's liveness `__row_ts`/`__row_exp` (INSERTs) and
  `__del_ts`, the newest row, range or partition deletion that covers it.
* `t__elements` (tables with non-frozen collections or UDTs): one row per element or field
  ever written: the key, the column, the element's `path` (JSON text: list timeuuid, set
  element, map key, UDT field), `sort` (list order), `value` (jsonb), `ts`, `exp`, `tomb`
  (a deleted element, kept so a late older write cannot resurrect it) and `tie`; the row
  keeps `c__del`,
  the newest deletion of the whole collection (an overwrite deletes at its timestamp - 1).
* `t__tombstones`: partition and clustering-range deletions (kept so that an older write that
  arrives late cannot resurrect data), with their bounds as JSON.
* `t`: a view with exactly the rows and values `SELECT * FROM ks.t` returns in Cassandra: a
  value shows when it is newer than the row's deletion and not expired; a row shows when its
  liveness, one of its values or one element does. Collections show as JSON
  (casscade/sinks/values.py): lists and sets as arrays, maps with text keys and UDTs as
  objects, other maps as arrays of [key, value] pairs.

Pure: schema in, SQL text out (identifiers quoted with psycopg.sql by the caller's helpers).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from psycopg.types.json import Jsonb

from casscade.commitlog.schema import ColumnSchema
from casscade.commitlog.types import (
    ListType,
    MapType,
    NativeName,
    NativeType,
    SetType,
    TupleType,
    UdtType,
    VectorType,
)
from casscade.sinks.layout import (
    ROW_COLUMNS,
    MirrorLayout,
    UnsupportedColumnError,
    cell_columns,
    is_counter,
)
from casscade.sinks.values import json_value, time_ns

MIN_TS = -(1 << 63)

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


# Vectors of these element types become PostgreSQL arrays; other vectors are JSON.
_VECTOR_ARRAYS = {NativeName.FLOAT: "real[]", NativeName.DOUBLE: "double precision[]"}


def pg_type(column: ColumnSchema) -> str:
    """The PostgreSQL type of a single-cell column (casscade/sinks/values.py for JSON forms).

    Raises:
        UnsupportedColumnError: counters (and custom types) are not mirrored.
    """
    t = column.cql_type
    if isinstance(t, NativeType):
        if t.name in PG_TYPES:
            return PG_TYPES[t.name]
        if t.name is NativeName.TIME:
            return "bigint"  # nanoseconds since midnight: PostgreSQL's time stops at µs
        if t.name is NativeName.DURATION:
            return "jsonb"
    elif isinstance(t, VectorType):
        element = t.element
        if isinstance(element, NativeType) and element.name in _VECTOR_ARRAYS:
            return _VECTOR_ARRAYS[element.name]
        return "jsonb"
    elif isinstance(t, (ListType, SetType, MapType, TupleType, UdtType)):
        return "jsonb"
    raise UnsupportedColumnError(f"column {column.name} of type {column.type_text}")


def pg_value(column: ColumnSchema) -> Callable[[object], object]:
    """How a decoded value of the column is handed to psycopg."""
    kind = pg_type(column)
    if kind == "jsonb":
        return lambda v: None if v is None else Jsonb(json_value(v))
    if kind == "bigint" and isinstance(column.cql_type, NativeType):
        return time_ns
    return _same


def _same(value: object) -> object:
    return value


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


def value_columns(layout: TableLayout) -> list[tuple[str, str]]:
    """The state table's non-key columns, (name, PostgreSQL type), in order."""
    values = cell_columns(layout.regulars, pg_type, "bigint", "bytea")
    values += [(c.name + "__del", "bigint") for c in layout.collections]
    return values + [(name, "bigint") for name in ROW_COLUMNS]


def static_value_columns(layout: TableLayout) -> list[tuple[str, str]]:
    """The static table's non-key columns, (name, PostgreSQL type), in order."""
    values = cell_columns(layout.statics, pg_type, "bigint", "bytea")
    return values + [(name, "bigint") for name in ROW_COLUMNS]


def create_statements(layout: TableLayout) -> list[str]:
    """The DDL that creates the layout (idempotent; the view last)."""
    layout.check_supported()
    keys = [f"{quote(c.name)} {pg_type(c)} NOT NULL" for c in layout.keys]
    values = [f"{quote(name)} {kind}" for name, kind in value_columns(layout)]
    meta: list[str] = []
    key_list = ", ".join(quote(c.name) for c in layout.keys)
    pk_list = ", ".join(quote(c.name) for c in layout.table.partition_key)
    elements = []
    if layout.collections:
        elements.append(
            f"CREATE TABLE IF NOT EXISTS {layout.qualified('__elements')} ("
            + ", ".join(f"{quote(c.name)} {pg_type(c)} NOT NULL" for c in layout.keys)
            + ', "column" text NOT NULL, "path" text NOT NULL, "sort" bytea NOT NULL, '
            '"value" jsonb, "ts" bigint NOT NULL, "exp" bigint, "tomb" boolean NOT NULL, '
            f'"tie" bytea, PRIMARY KEY ({key_list}, "column", "path"))'
        )
        # Element tables made before tie keys were kept get the column (NULL: no tie known).
        elements.append(
            f'ALTER TABLE {layout.qualified("__elements")} ADD COLUMN IF NOT EXISTS "tie" bytea'
        )
    if layout.statics:
        pk_columns = [f"{quote(c.name)} {pg_type(c)} NOT NULL" for c in layout.table.partition_key]
        static_values = [f"{quote(n)} {t}" for n, t in static_value_columns(layout)]
        elements.append(
            f"CREATE TABLE IF NOT EXISTS {layout.qualified('__static')} "
            f"({', '.join(pk_columns + static_values)}, PRIMARY KEY ({pk_list}))"
        )
    return [
        create_schema(layout.namespace),
        f"CREATE TABLE IF NOT EXISTS {layout.qualified('__state')} "
        f"({', '.join(keys + values + meta)}, PRIMARY KEY ({key_list}))",
        f"CREATE TABLE IF NOT EXISTS {layout.qualified('__tombstones')} ("
        + ", ".join(f"{quote(c.name)} {pg_type(c)} NOT NULL" for c in layout.table.partition_key)
        + ', "bounds" jsonb, "deleted_at" bigint NOT NULL)',
        f"CREATE INDEX IF NOT EXISTS {quote(layout.table.name + '__tombstones_pk')} "
        f"ON {layout.qualified('__tombstones')} ({pk_list})",
        *elements,
        view_statement(layout),
    ]


def view_statement(layout: TableLayout) -> str:
    """The view that shows the table as Cassandra's `SELECT *` does."""
    now = "extract(epoch from now())"
    shown = []
    alive = [f'("__row_ts" > coalesce("__del_ts", {MIN_TS}) '
             f'AND ("__row_exp" IS NULL OR "__row_exp" > {now}))']  # fmt: skip
    for c in layout.regulars:
        name, ts, exp = quote(c.name), quote(c.name + "__ts"), quote(c.name + "__exp")
        since = f'greatest("__del_ts", {layout.dropped_before(c)})'
        live = (f"({name} IS NOT NULL AND {ts} > {since} "
                f"AND ({exp} IS NULL OR {exp} > {now}))")  # fmt: skip
        shown.append(f"CASE WHEN {live} THEN {name} END AS {name}")
        alive.append(live)
    for c in layout.collections:
        shown.append(f"{_collection(layout, c, now)} AS {quote(c.name)}")
    columns = [quote(c.name) for c in layout.keys] + shown
    inner = (  # identifiers only, each quoted by quote(); column names as literals
        f'SELECT {", ".join(columns)}, ({" OR ".join(alive)}) AS "__alive" '  # noqa: S608
        f"FROM {layout.qualified('__state')} AS s"
    )
    outer = [quote(c.name) for c in layout.keys + layout.regulars + layout.collections]
    shows = ['"__alive"'] + [f"{quote(c.name)} IS NOT NULL" for c in layout.collections]
    rows = (  # identifiers only, each quoted
        f"SELECT {', '.join(outer)} FROM ({inner}) AS v WHERE {' OR '.join(shows)}"  # noqa: S608
    )
    if layout.statics:
        rows = _with_statics(layout, rows, outer, now)
    return f"CREATE OR REPLACE VIEW {layout.qualified()} AS {rows}"


def _with_statics(layout: TableLayout, rows: str, columns: list[str], now: str) -> str:
    """Rows with their partition's live static values; a partition whose static row is live
    but which has no live row shows once, clustering and regular columns null (Cassandra's
    SELECT * does the same)."""
    pk = [quote(c.name) for c in layout.table.partition_key]
    shown, alive = [], [f'("__row_ts" > coalesce("__del_ts", {MIN_TS}) '
                        f'AND ("__row_exp" IS NULL OR "__row_exp" > {now}))']  # fmt: skip
    for c in layout.statics:
        name, ts, exp = quote(c.name), quote(c.name + "__ts"), quote(c.name + "__exp")
        live = (f"({name} IS NOT NULL AND {ts} > greatest(\"__del_ts\", "
                f"{layout.dropped_before(c)}) AND ({exp} IS NULL OR {exp} > {now}))")  # fmt: skip
        shown.append(f"CASE WHEN {live} THEN {name} END AS {name}")
        alive.append(live)
    statics = (  # identifiers only, each quoted
        f'SELECT {", ".join(pk + shown)}, ({" OR ".join(alive)}) AS "__live" '  # noqa: S608
        f"FROM {layout.qualified('__static')}"
    )
    names = [quote(c.name) for c in layout.statics]
    others = [*layout.keys[len(pk) :], *layout.regulars, *layout.collections]
    nulls = [f"NULL::{_view_type(c)} AS {quote(c.name)}" for c in others]
    joined = ", ".join([f"r.{c}" for c in columns] + [f"st.{n}" for n in names])
    lonely = ", ".join([f"st.{c}" for c in pk] + nulls + [f"st.{n}" for n in names])
    on = " AND ".join(f"r.{c} = st.{c}" for c in pk)
    return (  # identifiers only, each quoted
        f"WITH r AS ({rows}), st AS ({statics}) "  # noqa: S608
        f"SELECT {joined} FROM r LEFT JOIN st ON {on} "
        f'UNION ALL SELECT {lonely} FROM st WHERE st."__live" '
        f"AND NOT EXISTS (SELECT 1 FROM r WHERE {on})"
    )


def _view_type(column: ColumnSchema) -> str:
    """The type a column has in the view (collections are built as jsonb)."""
    if is_counter(column):
        return "bigint"
    return "jsonb" if column.is_multi_cell else pg_type(column)


def _collection(layout: TableLayout, column: ColumnSchema, now: str) -> str:
    """The live elements of a non-frozen collection or UDT as JSON (NULL when none)."""
    t = column.cql_type
    if is_counter(column):  # the live shards' counts, one per node that counted
        aggregate = "sum((e.value)::bigint)::bigint"
    elif isinstance(t, SetType):
        aggregate = "jsonb_agg(e.path::jsonb ORDER BY e.sort, e.path)"
    elif isinstance(t, ListType):
        aggregate = "jsonb_agg(e.value ORDER BY e.sort, e.path)"
    elif isinstance(t, UdtType) or (isinstance(t, MapType) and _text_keys(t)):
        aggregate = "jsonb_object_agg(e.path::jsonb #>> '{}', e.value)"
    else:
        aggregate = "jsonb_agg(jsonb_build_array(e.path::jsonb, e.value) ORDER BY e.sort, e.path)"
    keys = " AND ".join(f"e.{quote(k.name)} = s.{quote(k.name)}" for k in layout.keys)
    deleted = (f'greatest(s.{quote(column.name + "__del")}, s."__del_ts", '
               f"{layout.dropped_before(column)})")  # fmt: skip
    return (  # identifiers quoted; the column name is a literal
        f"(SELECT {aggregate} FROM {layout.qualified('__elements')} AS e "  # noqa: S608
        f'WHERE {keys} AND e."column" = {literal(column.name)} AND NOT e.tomb '
        f"AND e.ts > {deleted} AND (e.exp IS NULL OR e.exp > {now}))"
    )


def _text_keys(t: MapType) -> bool:
    return isinstance(t.key, NativeType) and t.key.name in (NativeName.TEXT, NativeName.ASCII)


def create_schema(name: str) -> str:
    """Create a schema unless it exists, without needing CREATE on the database when it does
    (`CREATE SCHEMA IF NOT EXISTS` checks that privilege first): an administrator may
    pre-create the schemas and grant only USAGE and CREATE on them."""
    return (
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_namespace WHERE nspname = {literal(name)}) "
        f"THEN CREATE SCHEMA {quote(name)}; END IF; END $$"
    )


def literal(text: str) -> str:
    """A PostgreSQL string literal."""
    return "'" + text.replace("'", "''") + "'"
