"""ClickHouse `changelog` mode: each change event appended once.

For `ks.t` the destination holds `t__changelog` in database `<prefix>ks` (columns: see
casscade/sinks/changelog.py), a ReplacingMergeTree ordered by the event id: copies of one
event (replicas, replays after a restart) collapse into one row when parts merge, and a query
with `FINAL` (or `count(DISTINCT event_id)`) sees each event exactly once at any time.
"""

from __future__ import annotations

from collections.abc import Sequence

from casscade.commitlog.position import Position
from casscade.commitlog.schema import TableSchema
from casscade.errors import PermanentSinkError
from casscade.events.model import ChangeEvent
from casscade.sinks.changelog import EVENT_COLUMNS, event_values, identity, written_at
from casscade.sinks.clickhouse.ddl import ClickHouseLayout, ch_type, quote
from casscade.sinks.clickhouse.sink import ClickHouseSink, classify, converter

_EVENT_TYPES = ("Bool", "Nullable(Int64)", "Nullable(Int64)", "Nullable(Int32)",
                "Nullable(String)", "String", "Nullable(String)", "String")  # fmt: skip


def changelog_statements(layout: ClickHouseLayout) -> list[str]:
    """The DDL of a changelog table (idempotent)."""
    keys = [f"{quote(c.name)} {ch_type(c)}" for c in layout.table.partition_key]
    keys += [f"{quote(c.name)} Nullable({ch_type(c)})" for c in layout.table.clustering]
    events = [f"{quote(n)} {t}" for n, t in zip(EVENT_COLUMNS, _EVENT_TYPES, strict=True)]
    return [
        f"CREATE DATABASE IF NOT EXISTS {quote(layout.namespace)}",
        f"CREATE TABLE IF NOT EXISTS {layout.qualified('__changelog')} ("
        "`event_id` String, `written_at` DateTime64(6, 'UTC'), `op` LowCardinality(String), "
        + ", ".join(keys + events)
        + ") ENGINE = ReplacingMergeTree ORDER BY (`event_id`)",
    ]


class ClickHouseChangelogSink(ClickHouseSink):
    """Appends change events to changelog tables, each event once (after FINAL)."""

    def ensure_table(self, table: TableSchema) -> ClickHouseLayout:
        key = table.qualified_name
        if key in self._layouts:
            return self._layouts[key]
        layout = ClickHouseLayout(table, self.database_prefix + table.keyspace)
        try:
            statements = changelog_statements(layout)
        except ValueError as exc:  # UnsupportedColumnError: a key type this sink cannot map
            raise PermanentSinkError(self.name, f"{key}: not supported yet: {exc}") from exc
        client = self._connection()
        try:
            for statement in statements:
                client.command(statement)
        except Exception as exc:  # clickhouse-connect and chDB raise their own types
            raise classify(self.name, exc) from exc
        self._layouts[key] = layout
        return layout

    def apply(
        self, events: Sequence[ChangeEvent], *, node_id: str, position: Position | None
    ) -> None:
        """Insert the batch's events, then record `position` (unless None)."""
        by_table: dict[str, list[ChangeEvent]] = {}
        for event in events:
            by_table.setdefault(event.qualified_table, []).append(event)
        unknown = sorted(set(by_table) - set(self._layouts))
        if unknown:
            raise PermanentSinkError(self.name, f"unknown tables {', '.join(unknown)}")
        client = self._connection()
        try:
            for name, table_events in by_table.items():
                layout = self._layouts[name]
                pk, ck = layout.table.partition_key, layout.table.clustering
                pk_values, ck_values = [converter(c) for c in pk], [converter(c) for c in ck]
                rows = []
                for event in table_events:
                    clustering = list(event.clustering) + [None] * (len(ck) - len(event.clustering))
                    rows.append([
                        identity(event), written_at(event), event.op.value,
                        *(f(v) for f, v in zip(pk_values, event.partition_key, strict=True)),
                        *(None if v is None else f(v)
                          for f, v in zip(ck_values, clustering, strict=True)),
                        *event_values(event),
                    ])  # fmt: skip
                self._insert(
                    client,
                    layout.qualified("__changelog").replace("`", ""),
                    rows,
                    ["event_id", "written_at", "op", *(c.name for c in pk + ck), *EVENT_COLUMNS],
                )
            if position is not None:
                self._record_position(node_id, position)
        except PermanentSinkError:
            raise
        except Exception as exc:  # clickhouse-connect and chDB raise their own types
            raise classify(self.name, exc) from exc
