"""ClickHouse mirror sink: appends change events; the view applies last-write-wins.

Through clickhouse-connect, so the same code serves chDB (`chdb:///dir`, embedded) and a server
(`http://host:8123`). Each batch inserts its change rows, then the destination's position
(a ReplacingMergeTree keyed by destination and node, read with FINAL). ClickHouse has no
transaction across the two: a crash between them replays the batch, and replays change
nothing because the view resolves every key by timestamps. Late writes older than a known
partition or range deletion are filtered before insertion, as in the PostgreSQL sink.
"""

from __future__ import annotations

import datetime
import decimal
import ipaddress
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from casscade.commitlog.position import Position
from casscade.commitlog.schema import ColumnSchema, TableSchema
from casscade.errors import PermanentSinkError, TransientSinkError
from casscade.events.model import ChangeEvent, ClusteringRange, Op
from casscade.sinks.clickhouse.ddl import (
    ClickHouseLayout,
    UnsupportedColumnError,
    ch_type,
    create_statements,
    quote,
)
from casscade.sinks.ranges import TombstoneIndex, bounds_from_json, bounds_to_json, covers

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

_POSITIONS_DDL = (
    "CREATE DATABASE IF NOT EXISTS casscade",
    "CREATE TABLE IF NOT EXISTS casscade.positions (destination String, node_id String, "
    "segment_id Int64, position Int64, version UInt64) "
    "ENGINE = ReplacingMergeTree(version) ORDER BY (destination, node_id)",
)


def _value(value: object) -> object:
    """A decoded value as clickhouse-connect inserts it into the mapped column."""
    if isinstance(value, (decimal.Decimal, ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return str(value)
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        return value.astimezone(datetime.UTC).replace(tzinfo=None)
    return value


class ClickHouseSink:
    """Mirrors tables into one ClickHouse (chDB or server)."""

    def __init__(self, dsn: str, *, name: str = "clickhouse", database_prefix: str = "") -> None:
        self.name = name
        self.database_prefix = database_prefix
        self._dsn = dsn
        self._layouts: dict[str, ClickHouseLayout] = {}
        self._client: Client | None = None

    def _connection(self) -> Client:
        if self._client is None:
            import clickhouse_connect  # noqa: PLC0415 - loads the embedded engine when chDB

            try:
                client = clickhouse_connect.get_client(dsn=self._dsn)
                for statement in _POSITIONS_DDL:
                    client.command(statement)
            except Exception as exc:  # clickhouse-connect and chDB raise their own types
                raise TransientSinkError(self.name, str(exc).splitlines()[0][:300]) from exc
            self._client = client
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def ensure_table(self, table: TableSchema) -> ClickHouseLayout:
        key = table.qualified_name
        if key not in self._layouts:
            layout = ClickHouseLayout(table, self.database_prefix + table.keyspace)
            try:
                statements = create_statements(layout)
            except UnsupportedColumnError as exc:
                raise PermanentSinkError(self.name, f"{key}: not supported yet: {exc}") from exc
            client = self._connection()
            for statement in statements:
                client.command(statement)
            self._layouts[key] = layout
        return self._layouts[key]

    def position(self, node_id: str) -> Position | None:
        rows = (
            self._connection()
            .query(
                "SELECT segment_id, position FROM casscade.positions FINAL "
                "WHERE destination = {d:String} AND node_id = {n:String}",
                parameters={"d": self.name, "n": node_id},
            )
            .result_rows
        )
        if not rows or int(str(rows[0][0])) < 0:  # none yet, or forgotten (forget_position)
            return None
        return Position(int(str(rows[0][0])), int(str(rows[0][1])))

    def forget_position(self, node_id: str) -> None:
        # A newer version with a negative segment reads back as "no position".
        self._record_position(node_id, Position(-1, -1))

    def _record_position(self, node_id: str, position: Position) -> None:
        self._connection().insert(
            "casscade.positions",
            [[self.name, node_id, position.segment_id, position.offset, time.time_ns()]],
            column_names=["destination", "node_id", "segment_id", "position", "version"],
        )

    def apply(self, events: Sequence[ChangeEvent], *, node_id: str, position: Position) -> None:
        """Insert the batch's change rows, then record `position`."""
        client = self._connection()
        by_table: dict[str, list[ChangeEvent]] = {}
        for event in events:
            by_table.setdefault(event.qualified_table, []).append(event)
        unknown = sorted(set(by_table) - set(self._layouts))
        if unknown:
            raise PermanentSinkError(self.name, f"unknown tables {', '.join(unknown)}")
        try:
            for name, table_events in by_table.items():
                self._apply_table(client, self._layouts[name], table_events)
            self._record_position(node_id, position)
        except Exception as exc:  # clickhouse-connect and chDB raise their own types
            raise TransientSinkError(self.name, str(exc).splitlines()[0][:300]) from exc

    def _apply_table(
        self, client: Client, layout: ClickHouseLayout, events: list[ChangeEvent]
    ) -> None:
        columns = [c.name for c in layout.keys]
        for c in layout.regulars:
            columns += [c.name, c.name + "__ts", c.name + "__exp"]
        columns += ["__row_ts", "__row_exp", "__del_ts"]
        target = layout.qualified("__changes").replace("`", "")
        tombstones = TombstoneIndex(
            lambda key: self._load_tombstones(client, layout, key),
            [c.descending for c in layout.table.clustering],
        )
        rows: list[list[object]] = []
        for event in events:
            if event.op is Op.UPSERT:
                row = self._upsert_row(layout, event, tombstones)
                if row is not None:
                    rows.append(row)
            elif event.op is Op.DELETE_ROW:
                key = event.partition_key + event.clustering
                rows.append(self._row(layout, key, del_ts=event.deletion_us))
            else:
                # A range deletion looks up the rows it covers: those of this batch included.
                if rows:
                    client.insert(target, rows, column_names=columns)
                    rows = []
                rows.extend(self._delete(client, layout, event))
                tombstones.add(event.partition_key, event.clustering_range, event.deletion_us or 0)
        if rows:
            client.insert(target, rows, column_names=columns)

    def _row(
        self, layout: ClickHouseLayout, key: tuple[object, ...], *, del_ts: int | None = None
    ) -> list[object]:
        row: list[object] = [_value(v) for v in key]
        row += [None] * (3 * len(layout.regulars))
        row += [None, None, del_ts]
        return row

    def _upsert_row(
        self, layout: ClickHouseLayout, event: ChangeEvent, tombstones: TombstoneIndex
    ) -> list[object] | None:
        shadow = tombstones.shadow(event.partition_key, event.clustering)
        row = self._row(layout, event.partition_key + event.clustering)
        offset = len(layout.keys)
        index = {c.name: offset + 3 * i for i, c in enumerate(layout.regulars)}
        written = False
        for cell in event.cells:
            if cell.path is not None or cell.timestamp_us <= shadow or cell.column not in index:
                continue
            at = index[cell.column]
            row[at] = None if cell.is_tombstone else _value(cell.value)
            row[at + 1] = cell.timestamp_us
            row[at + 2] = None if cell.is_tombstone else cell.expires_at_s
            written = True
        if event.row_timestamp_us is not None and event.row_timestamp_us > shadow:
            row[-3], row[-2] = event.row_timestamp_us, event.row_expires_at_s
            written = True
        return row if written else None

    def _load_tombstones(
        self, client: Client, layout: ClickHouseLayout, key: tuple[object, ...]
    ) -> list[tuple[ClusteringRange | None, int]]:
        pk = layout.table.partition_key
        where = " AND ".join(
            f"{quote(c.name)} = {{k{i}:{_param_type(c)}}}" for i, c in enumerate(pk)
        )
        rows = client.query(
            f"SELECT bounds, deleted_at FROM {layout.qualified('__tombstones')} WHERE {where}",  # noqa: S608
            parameters={f"k{i}": _value(v) for i, v in enumerate(key)},
        ).result_rows
        return [(bounds_from_json(b) if b else None, int(str(t))) for b, t in rows]

    def _delete(
        self, client: Client, layout: ClickHouseLayout, event: ChangeEvent
    ) -> list[list[object]]:
        bounds = event.clustering_range
        text = "" if bounds is None else bounds_to_json(bounds)
        client.insert(
            layout.qualified("__tombstones").replace("`", ""),
            [[*(_value(v) for v in event.partition_key), text, event.deletion_us]],
            column_names=[c.name for c in layout.table.partition_key] + ["bounds", "deleted_at"],
        )
        if bounds is None:
            return []  # the view joins partition deletions
        pk = layout.table.partition_key
        where = " AND ".join(
            f"{quote(c.name)} = {{k{i}:{_param_type(c)}}}" for i, c in enumerate(pk)
        )
        ck = ", ".join(quote(c.name) for c in layout.table.clustering)
        existing = client.query(
            f"SELECT DISTINCT {ck} FROM {layout.qualified('__changes')} WHERE {where}",  # noqa: S608
            parameters={f"k{i}": _value(v) for i, v in enumerate(event.partition_key)},
        ).result_rows
        descending = [c.descending for c in layout.table.clustering]
        return [
            self._row(layout, event.partition_key + tuple(row), del_ts=event.deletion_us)
            for row in existing
            if covers(bounds, tuple(row), descending)
        ]


def _param_type(column: ColumnSchema) -> str:
    return ch_type(column)
