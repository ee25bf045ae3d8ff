"""PostgreSQL (and TimescaleDB) `changelog` mode: each change event appended once.

For `ks.t` the destination holds `t__changelog` in schema `<prefix>ks` (columns: see
casscade/sinks/changelog.py) with the primary key (event_id, written_at), so a replayed or
replica-duplicated event is not stored twice (`INSERT ... ON CONFLICT DO NOTHING`). In
TimescaleDB it is a hypertable on `written_at`, with the configured compression and retention
policies. A batch is copied into a temporary table and inserted with one statement; the
position commits in the same transaction, as in mirror mode.
"""

from __future__ import annotations

from collections.abc import Sequence

from casscade.commitlog.position import Position
from casscade.commitlog.schema import TableSchema
from casscade.errors import PermanentSinkError
from casscade.events.model import ChangeEvent
from casscade.sinks.changelog import EVENT_COLUMNS, event_values, identity, written_at
from casscade.sinks.postgres.ddl import TableLayout, create_schema, pg_type, pg_value, quote
from casscade.sinks.postgres.sink import PostgresSink

# The types of casscade/sinks/changelog.py's EVENT_COLUMNS.
_EVENT_TYPES = ("boolean NOT NULL", "bigint", "bigint", "integer", "jsonb", "jsonb NOT NULL",
                "jsonb", "text")  # fmt: skip


def changelog_statements(layout: TableLayout) -> list[str]:
    """The DDL of a changelog table (idempotent)."""
    keys = [f"{quote(c.name)} {pg_type(c)} NOT NULL" for c in layout.table.partition_key]
    keys += [f"{quote(c.name)} {pg_type(c)}" for c in layout.table.clustering]
    events = [f"{quote(n)} {t}" for n, t in zip(EVENT_COLUMNS, _EVENT_TYPES, strict=True)]
    return [
        create_schema(layout.namespace),
        f"CREATE TABLE IF NOT EXISTS {layout.qualified('__changelog')} ("
        '"event_id" text NOT NULL, "written_at" timestamptz NOT NULL, "op" text NOT NULL, '
        + ", ".join(keys + events)
        + ', PRIMARY KEY ("event_id", "written_at"))',
    ]


class PostgresChangelogSink(PostgresSink):
    """Appends change events to changelog tables, each event once."""

    def ensure_table(self, table: TableSchema) -> TableLayout:
        key = table.qualified_name
        if key in self._layouts:
            return self._layouts[key]
        layout = TableLayout(table, self.schema_prefix + table.keyspace)
        try:
            statements = changelog_statements(layout)
        except ValueError as exc:  # UnsupportedColumnError: a key type this sink cannot map
            raise PermanentSinkError(self.name, f"{key}: not supported yet: {exc}") from exc
        conn = self._connection()
        with self._driver_errors(), conn.transaction():
            for statement in statements:
                conn.execute(statement)
            if self.timescale is not None:
                self.timescale.make_hypertable(conn, layout.qualified("__changelog"), "written_at")
        self._layouts[key] = layout
        return layout

    def apply(
        self, events: Sequence[ChangeEvent], *, node_id: str, position: Position | None
    ) -> None:
        """Append the batch's events (each at most once) and record `position`."""
        conn = self._connection()
        by_table: dict[str, list[ChangeEvent]] = {}
        for event in events:
            by_table.setdefault(event.qualified_table, []).append(event)
        with self._driver_errors(), conn.transaction():
            for name, table_events in by_table.items():
                layout = self._layouts.get(name)
                if layout is None:
                    raise PermanentSinkError(self.name, f"{name}: unknown")
                self._append(layout, table_events)
            if position is not None:
                self._record_position(node_id, position)

    def _append(self, layout: TableLayout, events: list[ChangeEvent]) -> None:
        conn = self._connection()
        pk, ck = layout.table.partition_key, layout.table.clustering
        names = ["event_id", "written_at", "op", *(c.name for c in pk + ck), *EVENT_COLUMNS]
        columns = ", ".join(map(quote, names))
        stage = quote(f"stage__{layout.namespace}__{layout.table.name}__changelog")
        target = layout.qualified("__changelog")
        conn.execute(f"CREATE TEMP TABLE {stage} (LIKE {target}) ON COMMIT DROP")
        pk_values = [pg_value(c) for c in pk]
        ck_values = [pg_value(c) for c in ck]
        with conn.cursor().copy(f"COPY {stage} ({columns}) FROM STDIN") as copy:
            for event in events:
                clustering = list(event.clustering) + [None] * (len(ck) - len(event.clustering))
                copy.write_row([
                    identity(event), written_at(event), event.op.value,
                    *(f(v) for f, v in zip(pk_values, event.partition_key, strict=True)),
                    *(None if v is None else f(v)
                      for f, v in zip(ck_values, clustering, strict=True)),
                    *event_values(event),
                ])  # fmt: skip
        conn.execute(
            f"INSERT INTO {target} ({columns}) SELECT {columns} FROM {stage} "  # noqa: S608
            "ON CONFLICT DO NOTHING"
        )
