"""PostgreSQL mirror sink: applies change events with Cassandra's last-write-wins rule.

Every event is applied with per-column guards (ddl.py describes the layout): a cell replaces
the stored one only if its timestamp is newer (at equal timestamps the greater tie key, as
Cassandra breaks ties: casscade.sinks.staging.tie_key), and never when a row, range or
partition deletion at least as new covers it. Deletions are kept as tombstones, so late or
replayed writes converge to Cassandra's state whatever the order. The events of a batch and
the destination's position commit in one transaction.

A batch is applied set-based: folded to one row per key in Python (casscade.sinks.staging),
copied with COPY into a temporary table, merged with one guarded INSERT ... ON CONFLICT per
table (elements of non-frozen collections likewise into `t__elements`), and the batch's
deletions are stored and applied with one statement each. Mirrored tables may not have
counters or static columns yet.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import psycopg
import structlog
from psycopg.types.json import Jsonb

from casscade.commitlog.position import Position
from casscade.commitlog.schema import ColumnSchema, TableSchema
from casscade.commitlog.types import NativeName, NativeType
from casscade.errors import PermanentSinkError, TransientSinkError
from casscade.events.model import ChangeEvent, ClusteringRange
from casscade.sinks.layout import is_counter
from casscade.sinks.postgres.ddl import (
    TableLayout,
    UnsupportedColumnError,
    create_schema,
    create_statements,
    pg_type,
    pg_value,
    quote,
    static_value_columns,
    value_columns,
)
from casscade.sinks.postgres.timescale import Timescale
from casscade.sinks.ranges import TombstoneIndex, bounds_from_json, bounds_to_json, covers
from casscade.sinks.refusals import (
    AUTHENTICATION_FAILED,
    CERTIFICATE_UNVERIFIED,
    CERTIFICATE_WRONG_HOST,
    Refusal,
    refusal,
)
from casscade.sinks.staging import MIN_TS, Staged, StagedRow, stage
from casscade.sinks.values import element_order, json_value, path_text

log = structlog.get_logger(__name__)
# Clustering types whose Python ordering is Cassandra's and that survive JSON unchanged:
# the ones a range deletion may bound in this version.
_RANGE_TYPES = frozenset(
    {NativeName.INT, NativeName.BIGINT, NativeName.SMALLINT, NativeName.TINYINT,
     NativeName.VARINT, NativeName.TEXT, NativeName.ASCII, NativeName.BOOLEAN,
     NativeName.DOUBLE, NativeName.FLOAT}
)  # fmt: skip
_OFFSETS_DDL = (
    create_schema("casscade"),
    "CREATE TABLE IF NOT EXISTS casscade.positions (destination text, node_id text, "
    "segment_id bigint NOT NULL, position bigint NOT NULL, updated_at timestamptz NOT NULL "
    "DEFAULT now(), PRIMARY KEY (destination, node_id))",
)


class PostgresSink:
    """Mirrors tables into one PostgreSQL database."""

    def __init__(
        self,
        conninfo: str,
        *,
        name: str = "postgres",
        schema_prefix: str = "",
        timescale: Timescale | None = None,
        prepared_statements: bool = True,
    ) -> None:
        """Args:
        conninfo: libpq connection string.
        name: the destination's name (positions are kept per name and node).
        schema_prefix: prefixed to the keyspace to name the PostgreSQL schema of its tables.
        timescale: TimescaleDB: hypertables (`keyspace.table` -> the time column, a primary
            key column, of its state table) and policies. None for plain PostgreSQL.
        prepared_statements: let psycopg prepare repeated statements on the server. Off for
            servers where that breaks, such as the local stack's PGlite TimescaleDB (one
            shared session, so statement names of several clients collide).
        """
        self.name = name
        self.schema_prefix = schema_prefix
        self.timescale = timescale
        self.prepared_statements = prepared_statements
        self._conninfo = conninfo
        self._layouts: dict[str, TableLayout] = {}
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None

    def _connection(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._conn is None or self._conn.closed:
            with self._driver_errors():
                self._conn = psycopg.connect(
                    self._conninfo,
                    connect_timeout=10,
                    prepare_threshold=5 if self.prepared_statements else None,
                )
                with self._conn.transaction():
                    for statement in _OFFSETS_DDL:
                        self._conn.execute(statement)
        return self._conn

    @contextlib.contextmanager
    def _driver_errors(self) -> Iterator[None]:
        """Turn psycopg's errors into the project's; drop a connection that broke."""
        try:
            yield
        except psycopg.Error as exc:
            error = classify(self.name, exc)
            if isinstance(error, TransientSinkError) and self._conn is not None:
                self._conn.close()
                self._conn = None
            raise error from exc

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()

    def ensure_table(self, table: TableSchema) -> TableLayout:
        """Create the layout of `table` in schema `<prefix><keyspace>`, or bring an existing
        one to the table's current columns (schema evolution).

        Columns Cassandra added are added; columns it dropped are dropped with their values
        (Cassandra ignores a dropped column's old cells, even after it is re-added); a column
        whose type changed (dropped and re-added) is dropped and added again. The view is
        then recreated. Idempotent: a table whose columns did not change costs nothing.
        """
        key = table.qualified_name
        cached = self._layouts.get(key)
        if cached is not None and _signature(cached.table) == _signature(table):
            return cached
        layout = TableLayout(table, self.schema_prefix + table.keyspace)
        try:
            statements = create_statements(layout)
        except UnsupportedColumnError as exc:
            raise PermanentSinkError(self.name, f"{key}: not supported yet: {exc}") from exc
        conn = self._connection()
        with self._driver_errors(), conn.transaction():
            for statement in statements[:-1]:
                conn.execute(statement)
            changes = _evolution(conn, layout.qualified("__state"), layout.keys,
                                 value_columns(layout))  # fmt: skip
            if layout.statics:
                pk, statics = layout.table.partition_key, static_value_columns(layout)
                changes += _evolution(conn, layout.qualified("__static"), pk, statics)
            if changes:
                # The view depends on the columns: drop it first (a view of yours that depends
                # on it makes this fail with PostgreSQL's message naming it).
                conn.execute(f"DROP VIEW IF EXISTS {layout.qualified()}")
                for change in changes:
                    conn.execute(change)
                log.info("destination_table_evolved", destination=self.name, table=key,
                         changes=len(changes))  # fmt: skip
            conn.execute(statements[-1])
            self._forget_dropped_elements(conn, layout)
            if self.timescale is not None and key in self.timescale.hypertables:
                self.timescale.make_hypertable(
                    conn, layout.qualified("__state"), self._time_column(table)
                )
        self._layouts[key] = layout
        return layout

    def _forget_dropped_elements(self, conn: Conn, layout: TableLayout) -> None:
        """Delete the elements of collection columns the table no longer has."""
        elements = layout.qualified("__elements")
        found = conn.execute("SELECT to_regclass(%s)", (elements,)).fetchone()
        if found is not None and found[0] is not None:
            conn.execute(
                f'DELETE FROM {elements} WHERE NOT ("column" = ANY(%s))',  # noqa: S608
                ([c.name for c in layout.collections],),
            )

    def _time_column(self, table: TableSchema) -> str:
        column = self.timescale.hypertables[table.qualified_name] if self.timescale else ""
        keys = {c.name: c for c in table.partition_key + table.clustering}
        if column not in keys:
            raise PermanentSinkError(
                self.name,
                f"{table.qualified_name}: hypertable column {column} must be a primary key column",
            )
        return column

    def position(self, node_id: str) -> Position | None:
        """The position this destination has committed for `node_id`, if any."""
        conn = self._connection()
        with self._driver_errors():
            row = conn.execute(
                "SELECT segment_id, position FROM casscade.positions "
                "WHERE destination = %s AND node_id = %s",
                (self.name, node_id),
            ).fetchone()
            conn.commit()
        return None if row is None else Position(int(str(row[0])), int(str(row[1])))

    def forget_position(self, node_id: str) -> None:
        """Drop this destination's position for `node_id`: the next run starts from scratch."""
        conn = self._connection()
        with self._driver_errors(), conn.transaction():
            conn.execute(
                "DELETE FROM casscade.positions WHERE destination = %s AND node_id = %s",
                (self.name, node_id),
            )

    def apply(
        self, events: Sequence[ChangeEvent], *, node_id: str, position: Position | None
    ) -> None:
        """Apply a batch and record `position` (unless None), in one transaction.

        Per table: fold the batch to one row per key (casscade.sinks.staging), COPY it into a
        temporary staging table and merge it with one INSERT ... ON CONFLICT statement whose
        per-column guards apply last-write-wins against the stored rows; then store the
        batch's partition and range deletions and apply them to stored rows, set-based.

        Raises:
            TransientSinkError: the database is unreachable or the transaction failed.
            PermanentSinkError: a table or value the sink cannot hold.
        """
        conn = self._connection()
        by_table: dict[str, list[ChangeEvent]] = {}
        for event in events:
            by_table.setdefault(event.qualified_table, []).append(event)
        with self._driver_errors(), conn.transaction():
            for name, table_events in by_table.items():
                layout = self._layouts.get(name)
                if layout is None:
                    raise PermanentSinkError(self.name, f"{name}: unknown")
                _check_range_types(self.name, layout, table_events)
                descending = [c.descending for c in layout.table.clustering]
                index = _tombstone_index(conn, layout, {e.partition_key for e in table_events})
                counters = frozenset(c.name for c in layout.collections if is_counter(c))
                staged = stage(table_events, len(layout.keys), index, descending, counters)
                _merge_rows(conn, layout, staged)
                _store_deletions(conn, layout, staged, descending)
            if position is not None:
                self._record_position(node_id, position)

    def _record_position(self, node_id: str, position: Position) -> None:
        """Write the position (inside the caller's transaction)."""
        self._connection().execute(
            "INSERT INTO casscade.positions (destination, node_id, segment_id, position) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (destination, node_id) DO UPDATE SET "
            "segment_id = EXCLUDED.segment_id, position = EXCLUDED.position, "
            "updated_at = now()",
            (self.name, node_id, position.segment_id, position.offset),
        )


# psycopg error classes worth a retry: the server is unreachable, restarting, or the
# transaction lost a serialization or deadlock conflict. Everything else is about the data or
# the schema, and retrying would fail the same way.
_TRANSIENT: tuple[type[psycopg.Error], ...] = (
    psycopg.OperationalError,
    psycopg.InterfaceError,
)
# What psycopg puts before libpq's message of a failed connection.
_PREFIX = "connection failed: "


# libpq's words for a connection the server, or our own TLS settings, refuse: permanent, and
# told with the setting to look at (casscade.sinks.refusals).
_REFUSALS: tuple[Refusal, ...] = (
    ("certificate verify failed", f"{CERTIFICATE_UNVERIFIED} with the CA file (sslrootcert)"),
    ("does not match host name", f"{CERTIFICATE_WRONG_HOST} (sslmode verify-full)"),
    ("root certificate file", "the CA file (sslrootcert) cannot be read"),
    ("certificate file", "the client certificate or its key (sslcert, sslkey) cannot be read"),
    ("private key file", "the client certificate or its key (sslcert, sslkey) cannot be read"),
    ("alert unknown ca", "the server refused the client certificate (sslcert)"),
    ("certificate required", "the server requires a client certificate (sslcert, sslkey)"),
    ("password authentication failed", AUTHENTICATION_FAILED),
    ("server does not support SSL", "the server does not offer TLS, which sslmode requires"),
    ("no pg_hba.conf entry", "the server does not let this user in from here (pg_hba.conf)"),
)


def classify(destination: str, exc: psycopg.Error) -> TransientSinkError | PermanentSinkError:
    """The project's error for a psycopg error: transient (retry) or permanent.

    A refused connection (a certificate that cannot be verified, a wrong password) is
    permanent, in one line that names the setting to look at.
    """
    message = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    refused = refusal(message, _REFUSALS) if isinstance(exc, psycopg.OperationalError) else None
    if refused is not None:
        return PermanentSinkError(destination, f"{refused} ({message.removeprefix(_PREFIX)})")
    if isinstance(exc, _TRANSIENT):
        return TransientSinkError(destination, message)
    return PermanentSinkError(destination, message)


Conn = psycopg.Connection[tuple[object, ...]]


def _signature(table: TableSchema) -> tuple[object, ...]:
    """What of a table's schema the layout depends on: columns, kinds, types, drop times."""
    columns = sorted((c.name, c.kind.name, c.type_text) for c in table.columns.values())
    dropped = sorted((d.name, d.dropped_time_us) for d in table.dropped.values())
    return (*columns, *dropped)


def _check_range_types(destination: str, layout: TableLayout, events: list[ChangeEvent]) -> None:
    """Range deletions may bound only clustering types whose order Python shares."""
    for event in events:
        bounds = event.clustering_range
        if bounds is None:
            continue
        for column in layout.table.clustering[: max(len(bounds.start), len(bounds.end))]:
            t = column.cql_type
            if not (isinstance(t, NativeType) and t.name in _RANGE_TYPES):
                raise PermanentSinkError(
                    destination, f"range deletion over {column.type_text} clustering: not yet"
                )


def _unnest(columns: Sequence[ColumnSchema], alias: str, extra: Sequence[str] = ()) -> str:
    """`unnest(%s::t1[], ...) WITH ORDINALITY AS alias(c1, ..., ord)`: rows from arrays."""
    arrays = [f"%s::{pg_type(c)}[]" for c in columns] + [f"%s::{t}[]" for t in extra]
    names = [quote(c.name) for c in columns] + [f"x{i}" for i in range(len(extra))]
    return f"unnest({', '.join(arrays)}) WITH ORDINALITY AS {alias}({', '.join(names)}, ord)"


def _columns_of(
    keys: Sequence[tuple[object, ...]], columns: Sequence[ColumnSchema]
) -> list[list[object]]:
    """Transpose keys into one list per key column (the arrays `_unnest` reads)."""
    return [[convert(key[i]) for key in keys]
            for i, convert in enumerate(map(pg_value, columns))]  # fmt: skip


def _on(columns: Sequence[ColumnSchema], left: str, right: str) -> str:
    return " AND ".join(f"{left}.{quote(c.name)} = {right}.{quote(c.name)}" for c in columns)


def _tombstone_index(
    conn: Conn, layout: TableLayout, partitions: set[tuple[object, ...]]
) -> TombstoneIndex:
    """The stored partition and range deletions of the batch's partitions, in one query."""
    keys = list(partitions)
    pk = layout.table.partition_key
    rows = conn.execute(
        f"SELECT k.ord, t.bounds, t.deleted_at FROM {_unnest(pk, 'k')} "  # noqa: S608
        f"JOIN {layout.qualified('__tombstones')} t ON {_on(pk, 't', 'k')}",
        _columns_of(keys, pk),
    ).fetchall()
    stored: dict[tuple[object, ...], list[tuple[ClusteringRange | None, int]]] = {}
    for ordinal, bounds, deleted_at in rows:
        stored.setdefault(keys[int(str(ordinal)) - 1], []).append(
            (None if bounds is None else bounds_from_json(bounds), int(str(deleted_at)))
        )

    def load(key: tuple[object, ...]) -> list[tuple[ClusteringRange | None, int]]:
        return []  # every partition of the batch was primed above

    index = TombstoneIndex(load, [c.descending for c in layout.table.clustering])
    index.prime(keys, stored)
    return index


def _evolution(
    conn: Conn, table: str, keys: Sequence[ColumnSchema], wanted: list[tuple[str, str]]
) -> list[str]:
    """The ALTER statements that bring `table` (quoted) to the `wanted` value columns."""
    existing = {
        str(name): str(kind)
        for name, kind in conn.execute(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
            (table,),
        ).fetchall()
    }
    canonical = {
        str(kind): str(name)
        for kind, name in conn.execute(
            "SELECT t, t::regtype::text FROM unnest(%s::text[]) AS t",
            (sorted({kind for _, kind in wanted}),),
        ).fetchall()
    }
    keep = {c.name for c in keys} | {name for name, _ in wanted}
    changes = [f"ALTER TABLE {table} DROP COLUMN {quote(name)}"
               for name in existing if name not in keep]  # fmt: skip
    for name, kind in wanted:
        if name in existing and existing[name] != canonical[kind]:
            changes.append(f"ALTER TABLE {table} DROP COLUMN {quote(name)}")
        if name not in existing or existing[name] != canonical[kind]:
            changes.append(f"ALTER TABLE {table} ADD COLUMN {quote(name)} {kind}")
    return changes


def _merge_rows(conn: Conn, layout: TableLayout, staged: Staged) -> None:
    """Merge the staged rows (and static rows, and collection elements) set-based."""
    if staged.rows:
        collections = [c.name for c in layout.collections]
        _merge_into(conn, layout, "__state", staged.rows, keys=layout.keys,
                    cells=layout.regulars, collections=collections)  # fmt: skip
    if staged.statics and layout.statics:
        _merge_into(conn, layout, "__static", staged.statics, keys=layout.table.partition_key,
                    cells=layout.statics, collections=[])  # fmt: skip
    if layout.collections:
        _merge_elements(conn, layout, staged)


def _merge_into(
    conn: Conn,
    layout: TableLayout,
    suffix: str,
    rows: dict[tuple[object, ...], StagedRow],
    *,
    keys: Sequence[ColumnSchema],
    cells: Sequence[ColumnSchema],
    collections: list[str],
) -> None:
    """COPY staged rows into a temporary table and merge them into `t<suffix>` with one
    guarded INSERT ... ON CONFLICT (the rule, per column)."""
    target = layout.qualified(suffix)
    stage_table = quote(f"stage__{layout.namespace}__{layout.table.name}{suffix}")
    names = [c.name for c in keys]
    for c in cells:
        names += [c.name, c.name + "__ts", c.name + "__exp", c.name + "__tie"]
    names += [*(c + "__del" for c in collections), "__row_ts", "__row_exp", "__del_ts"]
    columns = ", ".join(map(quote, names))
    conn.execute(f"CREATE TEMP TABLE {stage_table} (LIKE {target}) ON COMMIT DROP")
    key_values = [pg_value(c) for c in keys]
    cell_values = [(c.name, pg_value(c)) for c in cells]
    with conn.cursor().copy(f"COPY {stage_table} ({columns}) FROM STDIN") as copy:
        for key, row in rows.items():
            values = [convert(v) for convert, v in zip(key_values, key, strict=True)]
            values += row.cell_values(cell_values)
            values += [row.collection_deletions.get(name) for name in collections]
            values += [row.row_timestamp_us, row.row_expires_at_s, row.deletion_us]
            copy.write_row(values)
    updates = []
    for name, _ in cell_values:
        col, ts, exp, tie = (quote(name + suffix) for suffix in ("", "__ts", "__exp", "__tie"))
        wins = (
            f'(EXCLUDED.{ts} > coalesce(s."__del_ts", {MIN_TS}) AND '
            f"(s.{ts} IS NULL OR (EXCLUDED.{ts}, EXCLUDED.{tie}) > "
            f"(s.{ts}, {_tie(f's.{tie}', f's.{col} IS NULL')})))"
        )
        updates += [f"{n} = CASE WHEN {wins} THEN EXCLUDED.{n} ELSE s.{n} END"
                    for n in (col, ts, exp, tie)]  # fmt: skip
    # At equal timestamps an expiring liveness beats one without TTL, the later expiry the
    # earlier (Cassandra's LivenessInfo.supersedes).
    row_wins = (f'(EXCLUDED."__row_ts" > coalesce(s."__del_ts", {MIN_TS}) AND '
                f'(s."__row_ts" IS NULL OR (EXCLUDED."__row_ts", EXCLUDED."__row_exp" IS NOT NULL, '
                f'coalesce(EXCLUDED."__row_exp", 0)) > (s."__row_ts", s."__row_exp" IS NOT NULL, '
                f'coalesce(s."__row_exp", 0))))')  # fmt: skip
    updates += [f'"{n}" = CASE WHEN {row_wins} THEN EXCLUDED."{n}" ELSE s."{n}" END'
                for n in ("__row_ts", "__row_exp")]  # fmt: skip
    updates += [f"{n} = greatest(s.{n}, EXCLUDED.{n})"
                for n in map(quote, [*(c + "__del" for c in collections), "__del_ts"])]  # fmt: skip
    conflict = ", ".join(quote(c.name) for c in keys)
    conn.execute(
        f"INSERT INTO {target} AS s ({columns}) "  # noqa: S608
        f"SELECT {columns} FROM {stage_table} ON CONFLICT ({conflict}) DO UPDATE SET "
        + ", ".join(updates)
    )


def _tie(stored: str, tombstone: str) -> str:
    """SQL: a stored tie key; for a cell stored before tie keys were kept, the rule of then:
    a tombstone (`tombstone` true) above every live cell, a live cell below all."""
    return f"coalesce({stored}, CASE WHEN {tombstone} THEN '\\x02'::bytea ELSE '\\x'::bytea END)"


def _merge_elements(conn: Conn, layout: TableLayout, staged: Staged) -> None:
    """COPY the batch's collection elements and merge them, newest (ts, tie key) winning."""
    if not any(row.elements for row in staged.rows.values()):
        return
    stage_table = quote(f"stage__{layout.namespace}__{layout.table.name}__elements")
    conn.execute(
        f"CREATE TEMP TABLE {stage_table} (LIKE {layout.qualified('__elements')}) ON COMMIT DROP"
    )
    types = {c.name: c.cql_type for c in layout.collections}
    key_values = [pg_value(c) for c in layout.keys]
    keys = ", ".join(quote(c.name) for c in layout.keys)
    columns = f'{keys}, "column", "path", "sort", "value", "ts", "exp", "tomb", "tie"'
    with conn.cursor().copy(f"COPY {stage_table} ({columns}) FROM STDIN") as copy:
        for key, row in staged.rows.items():
            converted = [convert(v) for convert, v in zip(key_values, key, strict=True)]
            for (column, path), cell in row.elements.items():
                if column not in types:
                    continue  # a column dropped since: Cassandra ignores its cells too
                value = None if cell.value is None else Jsonb(json_value(cell.value))
                copy.write_row([*converted, column, path_text(path),
                                element_order(types[column], path), value, cell.timestamp_us,
                                cell.expires_at_s, cell.is_tombstone, cell.tie])  # fmt: skip
    wins = f"((EXCLUDED.ts, EXCLUDED.tie) > (e.ts, {_tie('e.tie', 'e.tomb')}))"
    updates = ", ".join(f"{n} = CASE WHEN {wins} THEN EXCLUDED.{n} ELSE e.{n} END"
                        for n in ("value", "sort", "exp", "tomb", "ts", "tie"))  # fmt: skip
    conn.execute(
        f"INSERT INTO {layout.qualified('__elements')} AS e ({columns}) "  # noqa: S608
        f"SELECT {columns} FROM {stage_table} "
        f'ON CONFLICT ({keys}, "column", "path") DO UPDATE SET {updates}'
    )


def _store_deletions(
    conn: Conn, layout: TableLayout, staged: Staged, descending: list[bool]
) -> None:
    """Keep the batch's partition and range deletions and mark the stored rows they cover."""
    if not staged.tombstones:
        return
    pk = layout.table.partition_key
    pk_cols = ", ".join(quote(c.name) for c in pk)
    with conn.cursor().copy(
        f"COPY {layout.qualified('__tombstones')} ({pk_cols}, bounds, deleted_at) FROM STDIN"
    ) as copy:
        for key, bounds, deleted_at in staged.tombstones:
            pk_values = [convert(v) for convert, v in zip(map(pg_value, pk), key, strict=True)]
            copy.write_row([*pk_values, None if bounds is None else bounds_to_json(bounds),
                            deleted_at])  # fmt: skip
    if staged.partition_deletions and layout.statics:
        partitions = list(staged.partition_deletions)
        deleted = [staged.partition_deletions[p] for p in partitions]
        _update_deletions(conn, layout, pk, partitions, deleted, suffix="__static")
    marks: dict[tuple[object, ...], int] = {}  # row key -> newest deletion covering it
    if staged.partition_deletions and not layout.table.clustering:
        marks.update(staged.partition_deletions)
    elif staged.partition_deletions:
        partitions = list(staged.partition_deletions)
        _update_deletions(conn, layout, pk, partitions,
                          [staged.partition_deletions[p] for p in partitions])  # fmt: skip
    if staged.range_deletions:
        partitions = list({p for p, _, _ in staged.range_deletions})
        ck = ", ".join(f"s.{quote(c.name)}" for c in layout.table.clustering)
        rows = conn.execute(
            f"SELECT k.ord, {ck} FROM {_unnest(pk, 'k')} "  # noqa: S608
            f"JOIN {layout.qualified('__state')} s ON {_on(pk, 's', 'k')}",
            _columns_of(partitions, pk),
        ).fetchall()
        by_partition: dict[tuple[object, ...], list[tuple[object, ...]]] = {}
        for row in rows:
            by_partition.setdefault(partitions[int(str(row[0])) - 1], []).append(row[1:])
        for partition, bounds, deleted_at in staged.range_deletions:
            for stored in by_partition.get(partition, ()):
                if covers(bounds, stored, descending):
                    key = (*partition, *stored)
                    marks[key] = max(marks.get(key, MIN_TS), deleted_at)
    if marks:
        keys = list(marks)
        _update_deletions(conn, layout, layout.keys, keys, [marks[k] for k in keys])


def _update_deletions(
    conn: Conn,
    layout: TableLayout,
    columns: Sequence[ColumnSchema],
    keys: list[tuple[object, ...]],
    deleted_at: list[int],
    *,
    suffix: str = "__state",
) -> None:
    """Raise `__del_ts` of the stored rows of `t<suffix>` matching `keys` (full keys or
    partition keys)."""
    conn.execute(
        f'UPDATE {layout.qualified(suffix)} s SET "__del_ts" = '  # noqa: S608
        f'greatest(s."__del_ts", k.x0) FROM {_unnest(columns, "k", ["bigint"])} '
        f"WHERE {_on(columns, 's', 'k')}",
        [*_columns_of(keys, columns), deleted_at],
    )
