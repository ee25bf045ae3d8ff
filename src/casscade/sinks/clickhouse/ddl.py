"""ClickHouse layout of a mirrored Cassandra table: type mapping, change log, view.

ClickHouse has no in-place guarded update, so the destination keeps every change and lets a
view resolve them with Cassandra's rule. For `ks.t`, in database `<prefix>ks`:

* `t__changes` (MergeTree): one row per change event: the key; per regular column `c` its new
  value, `c__ts` (write or deletion timestamp, NULL when the event did not write it),
  `c__exp` (expiry) and `c__tie` (what breaks a tie of equal timestamps,
  casscade.sinks.staging.tie_key); the row's liveness `__row_ts`/`__row_exp`; `__del_ts`
  for a row deletion. Duplicates are harmless: the view takes maxima.
* `t__tombstones` (MergeTree): partition deletions (`bounds` empty) and clustering-range
  deletions (`bounds` JSON, kept so late older writes are filtered before they are inserted).
* `t` (view): per key, each column's value with the greatest (timestamp, tie key), shown
  when newer than the newest row or partition deletion and not expired; rows with a live
  value or liveness.

Pure: schema in, SQL text out.
"""

from __future__ import annotations

from dataclasses import dataclass

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

__all__ = ["ClickHouseLayout", "UnsupportedColumnError", "ch_type", "create_statements", "quote"]

# CQL native type -> ClickHouse type. Decimals and inet addresses are kept as their exact
# text (ClickHouse decimals have a fixed scale; Cassandra's do not).
CH_TYPES: dict[NativeName, str] = {
    NativeName.ASCII: "String",
    NativeName.TEXT: "String",
    NativeName.BLOB: "String",
    NativeName.BIGINT: "Int64",
    NativeName.INT: "Int32",
    NativeName.SMALLINT: "Int16",
    NativeName.TINYINT: "Int8",
    NativeName.VARINT: "Int256",
    NativeName.DECIMAL: "String",
    NativeName.DOUBLE: "Float64",
    NativeName.FLOAT: "Float32",
    NativeName.BOOLEAN: "Bool",
    NativeName.UUID: "UUID",
    NativeName.TIMEUUID: "UUID",
    NativeName.INET: "String",
    NativeName.DATE: "Date32",
    NativeName.TIMESTAMP: "DateTime64(3, 'UTC')",
}
MIN_TS = -(1 << 63)
# The expiry of a row's newest liveness (INSERT). At equal timestamps an expiring liveness
# beats one without TTL, and the later expiry the earlier (Cassandra's LivenessInfo.supersedes).
# In a tuple: argMax skips rows whose argument is NULL (no TTL).
ROW_EXPIRY = (
    "tupleElement(argMaxIf(tuple(`__row_exp`), tuple(`__row_ts`, isNotNull(`__row_exp`), "
    "ifNull(`__row_exp`, 0)), `__row_ts` IS NOT NULL), 1)"
)


# The elements (and UDT fields) of non-frozen collections a change writes: column, path (JSON
# text), list order, value (JSON text), timestamp, expiry, tombstone, tie key.
ELEMENTS_TYPE = (
    "Array(Tuple(column String, path String, sort String, value Nullable(String), ts Int64, "
    "exp Nullable(Int64), tomb UInt8, tie String))"
)
_VECTOR_ARRAYS = {NativeName.FLOAT: "Array(Float32)", NativeName.DOUBLE: "Array(Float64)"}


def ch_type(column: ColumnSchema) -> str:
    """The ClickHouse type of a single-cell column (not Nullable); JSON forms are String
    (casscade/sinks/values.py).

    Raises:
        UnsupportedColumnError: counters (and custom types) are not mirrored.
    """
    t = column.cql_type
    if isinstance(t, NativeType):
        if t.name in CH_TYPES:
            return CH_TYPES[t.name]
        if t.name is NativeName.TIME:
            return "Int64"  # nanoseconds since midnight
        if t.name is NativeName.DURATION:
            return "String"
    elif isinstance(t, VectorType):
        element = t.element
        if isinstance(element, NativeType) and element.name in _VECTOR_ARRAYS:
            return _VECTOR_ARRAYS[element.name]
        return "String"
    elif isinstance(t, (ListType, SetType, MapType, TupleType, UdtType)):
        return "String"
    raise UnsupportedColumnError(f"column {column.name} of type {column.type_text}")


def _stored_type(column: ColumnSchema) -> str:
    """The change table's type of a value column: Nullable, except arrays (ClickHouse has
    no Nullable(Array); an empty array stands for null, a vector is never empty)."""
    kind = ch_type(column)
    return kind if is_array(column) else f"Nullable({kind})"


def is_array(column: ColumnSchema) -> bool:
    """Whether the column is a ClickHouse Array (a vector of floats)."""
    return ch_type(column).startswith("Array(")


def _tie(column: ColumnSchema) -> str:
    """SQL: a change row's tie key of the column; for one stored before tie keys were kept,
    the rule of then: a tombstone (no value) above every live value, a live value below all."""
    name = quote(column.name)
    absent = f"empty({name})" if is_array(column) else f"isNull({name})"
    return f"ifNull({quote(column.name + '__tie')}, if({absent}, '\\x02', ''))"


def _present(column: ColumnSchema, value: str) -> str:
    """SQL: the value expression holds a value (not null, not the empty array)."""
    return f"notEmpty({value})" if is_array(column) else f"{value} IS NOT NULL"


def is_json_column(column: ColumnSchema) -> bool:
    """Whether the column's values are kept as JSON text."""
    return ch_type(column) == "String" and not (
        isinstance(column.cql_type, NativeType) and column.cql_type.name in CH_TYPES
    )


def quote(identifier: str) -> str:
    """A ClickHouse quoted identifier."""
    return "`" + identifier.replace("\\", "\\\\").replace("`", "\\`") + "`"


@dataclass(frozen=True, slots=True)
class ClickHouseLayout(MirrorLayout):
    """One mirrored table in ClickHouse (`namespace` is the database)."""

    @staticmethod
    def quote(identifier: str) -> str:
        return quote(identifier)

    @staticmethod
    def column_type(column: ColumnSchema) -> str:
        return ch_type(column)


def value_columns(layout: ClickHouseLayout) -> list[tuple[str, str]]:
    """The change table's non-key columns, (name, ClickHouse type), in order."""
    values = cell_columns(layout.regulars, _stored_type, "Nullable(Int64)", "Nullable(String)")
    values += [(c.name + "__del", "Nullable(Int64)") for c in layout.collections]
    if layout.collections:
        values.append(("__elements", ELEMENTS_TYPE))
    return values + [(name, "Nullable(Int64)") for name in ROW_COLUMNS]


def static_value_columns(layout: ClickHouseLayout) -> list[tuple[str, str]]:
    """The static change table's non-key columns, (name, ClickHouse type), in order."""
    values = cell_columns(layout.statics, _stored_type, "Nullable(Int64)", "Nullable(String)")
    return values + [(name, "Nullable(Int64)") for name in ROW_COLUMNS]


def create_statements(layout: ClickHouseLayout) -> list[str]:
    """The DDL that creates the layout (idempotent; the view last)."""
    layout.check_supported()
    keys = [f"{quote(c.name)} {ch_type(c)}" for c in layout.keys]
    values = [f"{quote(name)} {kind}" for name, kind in value_columns(layout)]
    meta: list[str] = []
    order = ", ".join(quote(c.name) for c in layout.keys)
    pk = ", ".join(quote(c.name) for c in layout.table.partition_key)
    pk_columns = ", ".join(f"{quote(c.name)} {ch_type(c)}" for c in layout.table.partition_key)
    statics = []
    if layout.statics:
        static_values = ", ".join(f"{quote(n)} {t}" for n, t in static_value_columns(layout))
        statics.append(
            f"CREATE TABLE IF NOT EXISTS {layout.qualified('__static_changes')} "
            f"({pk_columns}, {static_values}) ENGINE = MergeTree ORDER BY ({pk})"
        )
    return [
        f"CREATE DATABASE IF NOT EXISTS {quote(layout.namespace)}",
        f"CREATE TABLE IF NOT EXISTS {layout.qualified('__changes')} "
        f"({', '.join(keys + values + meta)}) ENGINE = MergeTree ORDER BY ({order})",
        f"CREATE TABLE IF NOT EXISTS {layout.qualified('__tombstones')} "
        f"({pk_columns}, `bounds` String, `deleted_at` Int64) ENGINE = MergeTree ORDER BY ({pk})",
        *statics,
        view_statement(layout),
    ]


def literal(text: str) -> str:
    """A ClickHouse string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _collection_json(column: ColumnSchema, live: str) -> str:
    """SQL: the JSON text of a collection's live elements (casscade/sinks/values.py forms).

    Elements are (column, path, sort, value, ts, exp, tomb) tuples; `path` and `value` hold
    JSON text already, so the collection is built by concatenation."""
    t = column.cql_type
    if is_counter(column):  # the live shards' counts, one per node that counted
        return f"arraySum(arrayMap(x -> toInt64(assumeNotNull(x.4)), {live}))"
    if isinstance(t, ListType):
        items = f"arrayMap(x -> ifNull(x.4, 'null'), arraySort(x -> (x.3, x.2), {live}))"
        return f"concat('[', arrayStringConcat({items}, ','), ']')"
    if isinstance(t, SetType):
        return f"concat('[', arrayStringConcat(arrayMap(x -> x.2, {live}), ','), ']')"
    text_keys = isinstance(t, MapType) and isinstance(t.key, NativeType) and t.key.name in (
        NativeName.TEXT, NativeName.ASCII)  # fmt: skip
    if isinstance(t, UdtType) or text_keys:
        pairs = f"arrayMap(x -> concat(x.2, ':', ifNull(x.4, 'null')), {live})"
        return f"concat('{{', arrayStringConcat({pairs}, ','), '}}')"
    pairs = f"arrayMap(x -> concat('[', x.2, ',', ifNull(x.4, 'null'), ']'), {live})"
    return f"concat('[', arrayStringConcat({pairs}, ','), ']')"


def view_statement(layout: ClickHouseLayout) -> str:
    """The view that shows the table as Cassandra's `SELECT *` does."""
    keys = [quote(c.name) for c in layout.keys]
    pk = [quote(c.name) for c in layout.table.partition_key]
    now = "toUnixTimestamp(now())"
    inner = list(keys)
    outer = list(keys)
    lives: list[str] = []  # the live elements of each collection, named for outer and alive
    alive = [f"(__s.row_ts > __s.del_ts AND (__s.row_exp IS NULL OR __s.row_exp > {now}))"]
    for c in layout.regulars:
        aggregates, shown, live = _winning_cell(layout, c, "__s", now)
        inner += aggregates
        outer.append(shown)
        alive.append(live)
    if layout.collections:
        # Every version of every element, sorted so that the last of each (column, path) is
        # the newest (the greatest tie key last among equal timestamps): the winner. An empty
        # tie key is an element stored before tie keys were kept: a tombstone then beat
        # every live element, and a live one loses to every new one.
        tie = "if(x.8 = '' AND x.7 = 1, '\\x02', x.8)"
        inner += [
            f"arraySort(x -> (x.1, x.2, x.5, {tie}), groupArrayArray(`__elements`)) AS __all",
            "arrayFilter((x, i) -> i = length(__all) OR __all[i + 1].1 != x.1 "
            "OR __all[i + 1].2 != x.2, __all, arrayEnumerate(__all)) AS __winners",
        ]
    for c in layout.collections:
        deleted = quote("d_" + c.name)
        inner.append(f"max({quote(c.name + '__del')}) AS {deleted}")
        live = quote("l_" + c.name)
        since = f"greatest(__s.del_ts, ifNull(__s.{deleted}, {MIN_TS}), {layout.dropped_before(c)})"
        elements = (f"arrayFilter(x -> x.1 = {literal(c.name)} AND x.7 = 0 AND x.5 > {since} "
                    f"AND (x.6 IS NULL OR x.6 > {now}), __s.__winners)")  # fmt: skip
        lives.append(f"{elements} AS {live}")
        outer.append(f"if(empty({live}), NULL, {_collection_json(c, live)}) AS {quote(c.name)}")
        alive.append(f"notEmpty({live})")
    inner += [
        f"ifNull(max(`__row_ts`), {MIN_TS}) AS row_ts",
        f"{ROW_EXPIRY} AS row_exp",
        f"ifNull(max(`__del_ts`), {MIN_TS}) AS row_del",
    ]
    partitions = (  # identifiers only, each quoted
        f"SELECT {', '.join(pk)}, max(`deleted_at`) AS part_del "  # noqa: S608
        f"FROM {layout.qualified('__tombstones')} WHERE `bounds` = '' GROUP BY {', '.join(pk)}"
    )
    grouped = (  # identifiers only, each quoted
        # Aliases start with __ so they cannot collide with column names such as `g` or `p`.
        f"SELECT __g.*, greatest(__g.row_del, ifNull(__p.part_del, {MIN_TS})) AS del_ts FROM "  # noqa: S608
        f"(SELECT {', '.join(inner)} FROM {layout.qualified('__changes')} "
        f"GROUP BY {', '.join(keys)}) AS __g LEFT JOIN ({partitions}) AS __p "
        f"USING ({', '.join(pk)})"
    )
    # Identifiers only, each quoted.
    if lives:  # name each collection's live elements once, for the value and for `alive`
        grouped = f"SELECT __s.*, {', '.join(lives)} FROM ({grouped}) AS __s"  # noqa: S608
    rows = (  # identifiers only, each quoted
        f"SELECT {', '.join(outer)} FROM ({grouped}) AS __s WHERE {' OR '.join(alive)}"  # noqa: S608
    )
    if layout.statics:
        rows = _with_statics(layout, rows, partitions, now)
    return (
        f"CREATE OR REPLACE VIEW {layout.qualified()} AS {rows} "
        # Without it a LEFT JOIN miss gives 0, not NULL, and 0 would count as a deletion time.
        "SETTINGS join_use_nulls = 1"
    )


def _winning_cell(
    layout: ClickHouseLayout, c: ColumnSchema, frame: str, now: str
) -> tuple[list[str], str, str]:
    """SQL for one single-cell column of the view: the aggregates over its change rows (the
    winning value, timestamp and expiry by (timestamp, tie key)), the column as shown, and
    the condition that its value is live (`frame`: the alias holding `del_ts`)."""
    name, ts, exp = quote(c.name), quote(c.name + "__ts"), quote(c.name + "__exp")
    won, newest, expiry = quote("w_" + c.name), quote("t_" + c.name), quote("e_" + c.name)
    order = f"tuple({ts}, {_tie(c)})"
    aggregates = [
        f"argMaxIf(tuple({name}), {order}, {ts} IS NOT NULL) AS {won}",
        f"maxIf({ts}, {ts} IS NOT NULL) AS {newest}",
        # In a tuple: argMax skips rows whose argument is NULL, and a newest cell without
        # TTL (NULL expiry) would give way to an older one's expiry.
        f"tupleElement(argMaxIf(tuple({exp}), {order}, {ts} IS NOT NULL), 1) AS {expiry}",
    ]
    value = f"tupleElement({won}, 1)"
    since = f"greatest({frame}.del_ts, {layout.dropped_before(c)})"
    live = (f"({_present(c, value)} AND {newest} > {since} AND "
            f"({expiry} IS NULL OR {expiry} > {now}))")  # fmt: skip
    return aggregates, f"if({live}, {value}, {'[]' if is_array(c) else 'NULL'}) AS {name}", live


def _with_statics(layout: ClickHouseLayout, rows: str, partitions: str, now: str) -> str:
    """Rows with their partition's live static values, and once each partition whose
    statics are live but which has no live row (clustering and regular columns null)."""
    pk = [quote(c.name) for c in layout.table.partition_key]
    inner, shown = list(pk), list(pk)
    alive = [f"(__t.row_ts > __t.del_ts AND (__t.row_exp IS NULL OR __t.row_exp > {now}))"]
    for c in layout.statics:
        aggregates, static, live = _winning_cell(layout, c, "__t", now)
        inner += aggregates
        shown.append(static)
        alive.append(live)
    inner += [f"ifNull(max(`__row_ts`), {MIN_TS}) AS row_ts",
              f"{ROW_EXPIRY} AS row_exp"]  # fmt: skip
    statics = (  # identifiers only, each quoted
        f"SELECT {', '.join(shown)}, ({' OR '.join(alive)}) AS __live FROM ("  # noqa: S608
        f"SELECT __h.*, ifNull(__p.part_del, {MIN_TS}) AS del_ts FROM (SELECT {', '.join(inner)} "
        f"FROM {layout.qualified('__static_changes')} GROUP BY {', '.join(pk)}) AS __h "
        f"LEFT JOIN ({partitions}) AS __p USING ({', '.join(pk)})) AS __t"
    )
    names = [quote(c.name) for c in layout.statics]
    others = [*layout.keys[len(pk) :], *layout.regulars, *layout.collections]
    nulls = [f"{'[]' if is_array(c) else 'NULL'} AS {quote(c.name)}" for c in others]
    columns = [quote(c.name) for c in [*layout.keys, *layout.regulars, *layout.collections]]
    key = f"({', '.join(pk)})"
    return (  # identifiers only, each quoted
        f"SELECT {', '.join([f'__r.{c}' for c in columns] + [f'__st.{n}' for n in names])} "  # noqa: S608
        f"FROM ({rows}) AS __r LEFT JOIN ({statics}) AS __st USING ({', '.join(pk)}) "
        f"UNION ALL SELECT {', '.join(pk + nulls + names)} FROM ({statics}) AS __lonely "
        f"WHERE __live AND {key} NOT IN (SELECT {', '.join(pk)} FROM ({rows}) AS __any)"
    )
