"""PostgreSQL mirror sink: applies change events with Cassandra's last-write-wins rule.

Every event is applied with per-column guards (ddl.py describes the layout): a cell replaces
the stored one only if its timestamp is newer (at equal timestamps a tombstone wins over a
live value, and between live values the greater one wins), and never when a row, range or
partition deletion at least as new covers it. Deletions are kept as tombstones, so late or
replayed writes converge to Cassandra's state whatever the order. The events of a batch and
the destination's position commit in one transaction.

This first version applies a batch event by event inside the transaction (correct, not yet
fast): the COPY + set-based merge of issue #4 replaces it. Mirrored tables may not have
collections, UDTs, tuples, vectors, counters, static columns, `time` or `duration` yet.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence

import psycopg

from casscade.commitlog.position import Position
from casscade.commitlog.schema import TableSchema
from casscade.commitlog.types import NativeName, NativeType
from casscade.errors import PermanentSinkError, TransientSinkError
from casscade.events.model import ChangeEvent, ClusteringRange, Op
from casscade.sinks.postgres.ddl import (
    TableLayout,
    UnsupportedColumnError,
    create_statements,
    quote,
)
from casscade.sinks.ranges import TombstoneIndex, bounds_from_json, bounds_to_json, covers

MIN_TS = -(1 << 63)
# Clustering types whose Python ordering is Cassandra's and that survive JSON unchanged:
# the ones a range deletion may bound in this version.
_RANGE_TYPES = frozenset(
    {NativeName.INT, NativeName.BIGINT, NativeName.SMALLINT, NativeName.TINYINT,
     NativeName.VARINT, NativeName.TEXT, NativeName.ASCII, NativeName.BOOLEAN,
     NativeName.DOUBLE, NativeName.FLOAT}
)  # fmt: skip
_OFFSETS_DDL = (
    "CREATE SCHEMA IF NOT EXISTS casscade",
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
        hypertables: Mapping[str, str] | None = None,
        prepared_statements: bool = True,
    ) -> None:
        """Args:
        conninfo: libpq connection string.
        name: the destination's name (positions are kept per name and node).
        schema_prefix: prefixed to the keyspace to name the PostgreSQL schema of its tables.
        hypertables: TimescaleDB: `keyspace.table` -> the time column (a primary key column)
            on which its state table becomes a hypertable. Empty for plain PostgreSQL.
        prepared_statements: let psycopg prepare repeated statements on the server. Off for
            servers where that breaks, such as the local stack's PGlite TimescaleDB (one
            shared session, so statement names of several clients collide).
        """
        self.name = name
        self.schema_prefix = schema_prefix
        self.hypertables = dict(hypertables or {})
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
        """Create (idempotently) the layout of `table` in schema `<prefix><keyspace>`."""
        key = table.qualified_name
        if key not in self._layouts:
            layout = TableLayout(table, self.schema_prefix + table.keyspace)
            try:
                statements = create_statements(layout)
            except UnsupportedColumnError as exc:
                raise PermanentSinkError(self.name, f"{key}: not supported yet: {exc}") from exc
            conn = self._connection()
            with self._driver_errors(), conn.transaction():
                for statement in statements:
                    conn.execute(statement)
                if key in self.hypertables:
                    conn.execute(
                        "SELECT create_hypertable(%s, by_range(%s), if_not_exists => TRUE)",
                        (layout.qualified("__state"), self._time_column(table)),
                    )
            self._layouts[key] = layout
        return self._layouts[key]

    def _time_column(self, table: TableSchema) -> str:
        column = self.hypertables[table.qualified_name]
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

    def apply(self, events: Sequence[ChangeEvent], *, node_id: str, position: Position) -> None:
        """Apply a batch and record `position`, in one transaction.

        Raises:
            TransientSinkError: the database is unreachable or the transaction failed.
            PermanentSinkError: a table or value the sink cannot hold.
        """
        conn = self._connection()
        indexes: dict[str, TombstoneIndex] = {}
        with self._driver_errors(), conn.transaction():
            for event in events:
                layout = self._layouts.get(event.qualified_table)
                if layout is None:
                    raise PermanentSinkError(self.name, f"{event.qualified_table}: unknown")
                index = indexes.get(event.qualified_table)
                if index is None:
                    index = indexes[event.qualified_table] = _tombstone_index(conn, layout)
                _apply_event(conn, layout, event, index)
            conn.execute(
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


def classify(destination: str, exc: psycopg.Error) -> TransientSinkError | PermanentSinkError:
    """The project's error for a psycopg error: transient (retry) or permanent."""
    message = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if isinstance(exc, _TRANSIENT):
        return TransientSinkError(destination, message)
    return PermanentSinkError(destination, message)


def _key_values(layout: TableLayout, event: ChangeEvent) -> list[object]:
    return [*event.partition_key, *event.clustering]


def _pk_where(layout: TableLayout) -> str:
    return " AND ".join(f"{quote(c.name)} = %s" for c in layout.table.partition_key)


def _apply_event(
    conn: psycopg.Connection[tuple[object, ...]],
    layout: TableLayout,
    event: ChangeEvent,
    tombstones: TombstoneIndex,
) -> None:
    if event.op is Op.UPSERT:
        _upsert(conn, layout, event, tombstones.shadow(event.partition_key, event.clustering))
    elif event.op is Op.DELETE_ROW:
        _delete_row(conn, layout, event)
    else:
        _delete_partition_or_range(conn, layout, event)
        tombstones.add(event.partition_key, event.clustering_range, event.deletion_us or 0)


def _tombstone_index(
    conn: psycopg.Connection[tuple[object, ...]], layout: TableLayout
) -> TombstoneIndex:
    """The table's partition and range deletions, read once per partition per batch."""

    def load(key: tuple[object, ...]) -> list[tuple[ClusteringRange | None, int]]:
        rows = conn.execute(
            f"SELECT bounds, deleted_at FROM {layout.qualified('__tombstones')} "  # noqa: S608
            f"WHERE {_pk_where(layout)}",
            list(key),
        ).fetchall()
        return [(None if b is None else bounds_from_json(b), int(str(t))) for b, t in rows]

    return TombstoneIndex(load, [c.descending for c in layout.table.clustering])


def _upsert(
    conn: psycopg.Connection[tuple[object, ...]],
    layout: TableLayout,
    event: ChangeEvent,
    shadow: int,
) -> None:
    """Upsert the cells and liveness newer than `shadow` (the covering deletions)."""
    cells = [c for c in event.cells if c.timestamp_us > shadow and c.path is None]
    row_ts = event.row_timestamp_us if (event.row_timestamp_us or MIN_TS) > shadow else None
    if not cells and row_ts is None:
        return
    names = [c.name for c in layout.keys]
    params: list[object] = _key_values(layout, event)
    updates = []
    for cell in cells:
        col, ts, exp = quote(cell.column), quote(cell.column + "__ts"), quote(cell.column + "__exp")
        names += [cell.column, cell.column + "__ts", cell.column + "__exp"]
        params += [None if cell.is_tombstone else cell.value, cell.timestamp_us,
                   None if cell.is_tombstone else cell.expires_at_s]  # fmt: skip
        wins = (
            f'(EXCLUDED.{ts} > coalesce(s."__del_ts", {MIN_TS}) AND '
            f"(s.{ts} IS NULL OR EXCLUDED.{ts} > s.{ts} OR (EXCLUDED.{ts} = s.{ts} AND "
            f"((EXCLUDED.{col} IS NULL AND s.{col} IS NOT NULL) OR EXCLUDED.{col} > s.{col}))))"
        )
        updates += [f"{name} = CASE WHEN {wins} THEN EXCLUDED.{name} ELSE s.{name} END"
                    for name in (col, ts, exp)]  # fmt: skip
    if row_ts is not None:
        names += ["__row_ts", "__row_exp"]
        params += [row_ts, event.row_expires_at_s]
        wins = (f"(EXCLUDED.\"__row_ts\" > coalesce(s.\"__del_ts\", {MIN_TS}) AND "
                f"EXCLUDED.\"__row_ts\" >= coalesce(s.\"__row_ts\", {MIN_TS}))")  # fmt: skip
        updates += [f'"{n}" = CASE WHEN {wins} THEN EXCLUDED."{n}" ELSE s."{n}" END'
                    for n in ("__row_ts", "__row_exp")]  # fmt: skip
    keys = ", ".join(quote(c.name) for c in layout.keys)
    conn.execute(
        f"INSERT INTO {layout.qualified('__state')} AS s ({', '.join(map(quote, names))}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(params))}) ON CONFLICT ({keys}) DO UPDATE SET "
        + ", ".join(updates),
        params,
    )


def _delete_row(
    conn: psycopg.Connection[tuple[object, ...]], layout: TableLayout, event: ChangeEvent
) -> None:
    keys = ", ".join(quote(c.name) for c in layout.keys)
    marks = ", ".join(["%s"] * len(layout.keys))
    conn.execute(
        f'INSERT INTO {layout.qualified("__state")} AS s ({keys}, "__del_ts") '  # noqa: S608
        f"VALUES ({marks}, %s) ON CONFLICT ({keys}) DO UPDATE SET "
        '"__del_ts" = greatest(s."__del_ts", EXCLUDED."__del_ts")',
        [*_key_values(layout, event), event.deletion_us],
    )


def _delete_partition_or_range(
    conn: psycopg.Connection[tuple[object, ...]], layout: TableLayout, event: ChangeEvent
) -> None:
    bounds = event.clustering_range
    if bounds is not None:
        for column in layout.table.clustering[: max(len(bounds.start), len(bounds.end))]:
            t = column.cql_type
            if not (isinstance(t, NativeType) and t.name in _RANGE_TYPES):
                raise PermanentSinkError(
                    "postgres", f"range deletion over {column.type_text} clustering: not yet"
                )
    pk_cols = ", ".join(quote(c.name) for c in layout.table.partition_key)
    conn.execute(
        f"INSERT INTO {layout.qualified('__tombstones')} ({pk_cols}, bounds, deleted_at) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(layout.table.partition_key))}, %s, %s)",
        [*event.partition_key,
         None if bounds is None else bounds_to_json(bounds), event.deletion_us],
    )  # fmt: skip
    ck_cols = [quote(c.name) for c in layout.table.clustering]
    where = _pk_where(layout)
    if bounds is None or not ck_cols:
        conn.execute(
            f'UPDATE {layout.qualified("__state")} SET "__del_ts" = '  # noqa: S608
            f'greatest("__del_ts", %s) WHERE {where}',
            [event.deletion_us, *event.partition_key],
        )
        return
    descending = [c.descending for c in layout.table.clustering]
    rows = conn.execute(
        f"SELECT {', '.join(ck_cols)} FROM {layout.qualified('__state')} WHERE {where}",  # noqa: S608
        list(event.partition_key),
    ).fetchall()
    for row in rows:
        if covers(bounds, row, descending):
            conn.execute(
                f'UPDATE {layout.qualified("__state")} SET "__del_ts" = '  # noqa: S608
                f'greatest("__del_ts", %s) WHERE {where} AND '
                + " AND ".join(f"{c} = %s" for c in ck_cols),
                [event.deletion_us, *event.partition_key, *row],
            )
