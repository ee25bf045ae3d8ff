"""ClickHouse mirror sink: appends change events; the view applies last-write-wins.

Through clickhouse-connect, so the same code serves chDB (`chdb:///dir`, embedded) and a server
(`http://host:8123`). Each batch inserts its change rows, then the destination's position
(a ReplacingMergeTree keyed by destination and node, read with FINAL). ClickHouse has no
transaction across the two: a crash between them replays the batch, and replays change
nothing because the view resolves every key by timestamps. A batch is folded to one change
row per key first (casscade.sinks.staging, as in the PostgreSQL sink), which drops late writes
older than a known partition or range deletion; the deletions of the batch's partitions are
read with one query.
"""

from __future__ import annotations

import datetime
import decimal
import ipaddress
import re
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import structlog

from casscade.commitlog.codecs.temporal import CqlDate, CqlTime, CqlTimestamp
from casscade.commitlog.position import Position
from casscade.commitlog.schema import ColumnSchema, TableSchema
from casscade.commitlog.types import CqlType, NativeName, NativeType
from casscade.errors import PermanentSinkError, TransientSinkError
from casscade.events.model import ChangeEvent, ClusteringRange
from casscade.sinks.clickhouse.client import ClientOptions, open_client, refused_connection
from casscade.sinks.clickhouse.ddl import (
    ClickHouseLayout,
    UnsupportedColumnError,
    ch_type,
    create_statements,
    is_array,
    is_json_column,
    quote,
    static_value_columns,
    value_columns,
)
from casscade.sinks.layout import is_counter
from casscade.sinks.ranges import TombstoneIndex, bounds_from_json, bounds_to_json, covers
from casscade.sinks.staging import MIN_TS, Staged, StagedRow, stage
from casscade.sinks.values import element_order, json_text, path_text

log = structlog.get_logger(__name__)

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client
    from clickhouse_connect.driver.insert import InsertContext

_POSITIONS_DDL = (
    "CREATE DATABASE IF NOT EXISTS casscade",
    "CREATE TABLE IF NOT EXISTS casscade.positions (destination String, node_id String, "
    "segment_id Int64, position Int64, version UInt64) "
    "ENGINE = ReplacingMergeTree(version) ORDER BY (destination, node_id)",
)


def _elements(types: dict[str, CqlType], row: StagedRow) -> list[tuple[object, ...]]:
    """The row's staged collection elements as ELEMENTS_TYPE tuples (`types`: of the table's
    element columns)."""
    return [
        (column, path_text(path), element_order(types[column], path).hex(),
         None if cell.value is None else json_text(cell.value), cell.timestamp_us,
         cell.expires_at_s, int(cell.is_tombstone), cell.tie)
        for (column, path), cell in row.elements.items()
        if column in types  # a column dropped since: Cassandra ignores its cells too
    ]  # fmt: skip


def _signature(table: TableSchema) -> tuple[object, ...]:
    """What of a table's schema the layout depends on: columns, kinds, types, drop times."""
    columns = sorted((c.name, c.kind.name, c.type_text) for c in table.columns.values())
    dropped = sorted((d.name, d.dropped_time_us) for d in table.dropped.values())
    return (*columns, *dropped)


# Native types whose decoded values (str, bytes, int, float, bool, UUID) clickhouse-connect
# inserts as they are: no per-value checks for their columns (most columns, and every masked
# one, which is text).
_AS_DECODED = frozenset({
    NativeName.ASCII, NativeName.TEXT, NativeName.BLOB, NativeName.BIGINT, NativeName.INT,
    NativeName.SMALLINT, NativeName.TINYINT, NativeName.VARINT, NativeName.DOUBLE,
    NativeName.FLOAT, NativeName.BOOLEAN, NativeName.UUID, NativeName.TIMEUUID,
})  # fmt: skip


def converter(column: ColumnSchema) -> Callable[[object], object]:
    """How a decoded value of the column is inserted (JSON text for composite values)."""
    if is_json_column(column):
        return lambda v: None if v is None else json_text(v)
    if is_array(column):
        return lambda v: [] if v is None else list(v)  # type: ignore[call-overload]
    t = column.cql_type
    if isinstance(t, NativeType) and t.name in _AS_DECODED:
        return _as_decoded
    return _value


def _as_decoded(value: object) -> object:
    return value


def _value(value: object) -> object:
    """A decoded value as clickhouse-connect inserts it into the mapped column.

    Raises:
        ValueError: a date or timestamp beyond years 1 to 9999 (Date32 and DateTime64 cannot
            hold them either); the event becomes a dead letter.
    """
    if isinstance(value, (CqlTimestamp, CqlDate)):
        kind = "timestamp" if isinstance(value, CqlTimestamp) else "date"
        raise ValueError(f"a {kind} outside years 1 to 9999 cannot be stored in ClickHouse")  # noqa: TRY004 - a value, not a type, is wrong
    if isinstance(value, (decimal.Decimal, ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return str(value)
    if isinstance(value, CqlTime):
        return value.nanoseconds
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        return value.astimezone(datetime.UTC).replace(tzinfo=None)
    return value


class ClickHouseSink:
    """Mirrors tables into one ClickHouse (chDB or server)."""

    def __init__(
        self,
        dsn: str,
        *,
        name: str = "clickhouse",
        database_prefix: str = "",
        options: ClientOptions | None = None,
    ) -> None:
        """Args:
        dsn: `chdb:///path` or `http(s)://host:port`.
        name: the destination's name (positions are kept per name and node).
        database_prefix: prefixed to the keyspace to name the database of its tables.
        options: a server's credentials and TLS settings (casscade.sinks.clickhouse.client).
        """
        self.name = name
        self.database_prefix = database_prefix
        self._dsn = dsn
        self._options = options
        self._layouts: dict[str, ClickHouseLayout] = {}
        self._client: Client | None = None
        # (table, column names) -> the insert context that holds their column types (`_insert`)
        self._inserts: dict[tuple[str, tuple[str, ...]], InsertContext] = {}

    def _connection(self) -> Client:
        if self._client is None:
            try:
                client = open_client(self._dsn, self._options)
                for statement in _POSITIONS_DDL:
                    client.command(statement)
            except Exception as exc:  # clickhouse-connect and chDB raise their own types
                refused = refused_connection(self.name, exc)
                if refused is not None:
                    raise refused from exc
                raise TransientSinkError(self.name, str(exc).splitlines()[0][:300]) from exc
            self._client = client
        return self._client

    def close(self) -> None:
        self._inserts.clear()
        if self._client is not None:
            self._client.close()
            self._client = None

    def _insert(
        self, client: Client, table: str, rows: list[list[object]], column_names: list[str]
    ) -> None:
        """Insert rows into `table` (database.table, unquoted).

        Reuses the table's insert context, which holds the columns' types: without one,
        clickhouse-connect asks for them (DESCRIBE TABLE) before every insert, a query of its
        own per table and batch (about a tenth of ClickHouse's time at 2,000 changes/s). A
        failed insert drops the context, and so does any change of the sink's tables
        (`ensure_table`) or connection.
        """
        key = (table, tuple(column_names))
        context = self._inserts.get(key)
        if context is None:
            context = client.create_insert_context(table, column_names=column_names)
            self._inserts[key] = context
        try:
            client.insert(data=rows, context=context)
        except Exception:
            self._inserts.pop(key, None)  # it may still hold the rows, or stale types
            raise

    def ensure_table(self, table: TableSchema) -> ClickHouseLayout:
        """Create the layout of `table`, or bring an existing one to the table's current
        columns: added columns are added, dropped ones dropped with their values, a column
        whose type changed is dropped and added again; then the view is replaced."""
        key = table.qualified_name
        cached = self._layouts.get(key)
        if cached is not None and _signature(cached.table) == _signature(table):
            return cached
        self._inserts.clear()  # column types may change below
        layout = ClickHouseLayout(table, self.database_prefix + table.keyspace)
        try:
            statements = create_statements(layout)
        except UnsupportedColumnError as exc:
            raise PermanentSinkError(self.name, f"{key}: not supported yet: {exc}") from exc
        client = self._connection()
        try:
            for statement in statements[:-1]:
                client.command(statement)
            changes = self._evolution(client, layout, "__changes", value_columns(layout))
            if layout.statics:
                changes += self._evolution(
                    client, layout, "__static_changes", static_value_columns(layout)
                )
            for change in changes:
                client.command(change)
            client.command(statements[-1])
        except Exception as exc:  # clickhouse-connect and chDB raise their own types
            raise classify(self.name, exc) from exc
        if changes:
            log.info("destination_table_evolved", destination=self.name, table=key,
                     changes=len(changes))  # fmt: skip
        self._layouts[key] = layout
        return layout

    def _evolution(
        self, client: Client, layout: ClickHouseLayout, suffix: str, wanted: list[tuple[str, str]]
    ) -> list[str]:
        """The ALTER statements that bring `t<suffix>` to the `wanted` value columns."""
        existing = {
            str(name): str(kind)
            for name, kind in client.query(
                "SELECT name, type FROM system.columns WHERE database = {db:String} "
                "AND table = {t:String}",
                parameters={"db": layout.namespace, "t": layout.table.name + suffix},
            ).result_rows
        }
        keep = {c.name for c in layout.keys} | {name for name, _ in wanted}
        table = layout.qualified(suffix)
        changes = [f"ALTER TABLE {table} DROP COLUMN {quote(name)}"
                   for name in existing if name not in keep]  # fmt: skip
        for name, kind in wanted:
            if name == "__elements" and name in existing and existing[name] != kind:
                # Made by an earlier casscade (elements without a tie key): ClickHouse adds the
                # tuple's new field in place (empty, which the view reads as the rule of then);
                # dropping and adding the column would lose every collection's history.
                changes.append(f"ALTER TABLE {table} MODIFY COLUMN `__elements` {kind} "
                               "SETTINGS mutations_sync = 2")  # fmt: skip
                continue
            if name in existing and existing[name] != kind:
                changes.append(f"ALTER TABLE {table} DROP COLUMN {quote(name)}")
            if name not in existing or existing[name] != kind:
                changes.append(f"ALTER TABLE {table} ADD COLUMN {quote(name)} {kind}")
        return changes

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
        self._insert(
            self._connection(),
            "casscade.positions",
            [[self.name, node_id, position.segment_id, position.offset, time.time_ns()]],
            ["destination", "node_id", "segment_id", "position", "version"],
        )

    def apply(
        self, events: Sequence[ChangeEvent], *, node_id: str, position: Position | None
    ) -> None:
        """Insert the batch's change rows, then record `position` (unless None)."""
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
            if position is not None:
                self._record_position(node_id, position)
        except Exception as exc:  # clickhouse-connect and chDB raise their own types
            raise classify(self.name, exc) from exc

    def _apply_table(
        self, client: Client, layout: ClickHouseLayout, events: list[ChangeEvent]
    ) -> None:
        """Fold the table's events (casscade.sinks.staging) and insert one row per key."""
        columns = [c.name for c in layout.keys] + [name for name, _ in value_columns(layout)]
        descending = [c.descending for c in layout.table.clustering]
        partitions = list({e.partition_key for e in events})
        index = TombstoneIndex(lambda key: [], descending)
        index.prime(partitions, self._load_tombstones(client, layout, partitions))
        collections = layout.collections  # a property that sorts: read it once per batch
        counters = frozenset(c.name for c in collections if is_counter(c))
        element_types = {c.name: c.cql_type for c in collections}
        staged = stage(events, len(layout.keys), index, descending, counters)
        regulars = [(c.name, converter(c)) for c in layout.regulars]
        keys = [converter(c) for c in layout.keys]
        rows: list[list[object]] = []
        for key, row in staged.rows.items():
            values = [convert(v) for convert, v in zip(keys, key, strict=True)]
            values += row.cell_values(regulars)
            values += [row.collection_deletions.get(c.name) for c in collections]
            if collections:
                values.append(_elements(element_types, row))
            values += [row.row_timestamp_us, row.row_expires_at_s, row.deletion_us]
            rows.append(values)
        if staged.statics and layout.statics:
            self._insert_statics(client, layout, staged)
        if staged.tombstones:
            pk_convert = [converter(c) for c in layout.table.partition_key]
            self._insert(
                client,
                layout.qualified("__tombstones").replace("`", ""),
                [[*(f(v) for f, v in zip(pk_convert, pk, strict=True)),
                  "" if bounds is None else bounds_to_json(bounds),
                  deleted_at] for pk, bounds, deleted_at in staged.tombstones],
                [*(c.name for c in layout.table.partition_key), "bounds", "deleted_at"],
            )  # fmt: skip
        # Partition deletions need no rows (the view joins them); range deletions mark the
        # stored rows they cover with a row holding only the deletion time.
        if staged.range_deletions:
            rows += self._range_marks(client, layout, staged, descending)
        if rows:
            self._insert(client, layout.qualified("__changes").replace("`", ""), rows, columns)

    def _insert_statics(self, client: Client, layout: ClickHouseLayout, staged: Staged) -> None:
        """One change row per partition whose static row the batch writes."""
        pk_convert = [converter(c) for c in layout.table.partition_key]
        statics = [(c.name, converter(c)) for c in layout.statics]
        rows: list[list[object]] = []
        for pk, row in staged.statics.items():
            values = [f(v) for f, v in zip(pk_convert, pk, strict=True)]
            values += row.cell_values(statics)
            values += [row.row_timestamp_us, row.row_expires_at_s, row.deletion_us]
            rows.append(values)
        names = [c.name for c in layout.table.partition_key]
        names += [n for n, _ in static_value_columns(layout)]
        self._insert(client, layout.qualified("__static_changes").replace("`", ""), rows, names)

    def _key_tuples(
        self, layout: ClickHouseLayout, keys: list[tuple[object, ...]]
    ) -> tuple[str, dict[str, object]]:
        """`indexOf({keys}, tuple(pk...))` (1-based, 0 when absent) and its parameter."""
        pk = layout.table.partition_key
        array = f"Array(Tuple({', '.join(_param_type(c) for c in pk)}))"
        found = f"indexOf({{keys:{array}}}, tuple({', '.join(quote(c.name) for c in pk)}))"
        convert = [converter(c) for c in pk]
        return found, {"keys": [tuple(f(v) for f, v in zip(convert, key, strict=True))
                                for key in keys]}  # fmt: skip

    def _load_tombstones(
        self, client: Client, layout: ClickHouseLayout, partitions: list[tuple[object, ...]]
    ) -> dict[tuple[object, ...], list[tuple[ClusteringRange | None, int]]]:
        """The stored deletions of the batch's partitions, in one query."""
        found, parameters = self._key_tuples(layout, partitions)
        rows = client.query(
            f"SELECT {found} AS __ord, bounds, deleted_at "  # noqa: S608
            f"FROM {layout.qualified('__tombstones')} WHERE __ord > 0",
            parameters=parameters,
        ).result_rows
        stored: dict[tuple[object, ...], list[tuple[ClusteringRange | None, int]]] = {}
        for ordinal, bounds, deleted_at in rows:
            stored.setdefault(partitions[int(str(ordinal)) - 1], []).append(
                (bounds_from_json(bounds) if bounds else None, int(str(deleted_at)))
            )
        return stored

    def _range_marks(
        self, client: Client, layout: ClickHouseLayout, staged: Staged, descending: list[bool]
    ) -> list[list[object]]:
        """Rows that raise the deletion time of the stored rows a range deletion covers."""
        partitions = list({pk for pk, _, _ in staged.range_deletions})
        found, parameters = self._key_tuples(layout, partitions)
        ck = ", ".join(quote(c.name) for c in layout.table.clustering)
        existing = client.query(
            f"SELECT DISTINCT {found} AS __ord, {ck} "  # noqa: S608
            f"FROM {layout.qualified('__changes')} WHERE __ord > 0",
            parameters=parameters,
        ).result_rows
        by_partition: dict[tuple[object, ...], list[tuple[object, ...]]] = {}
        for row in existing:
            by_partition.setdefault(partitions[int(str(row[0])) - 1], []).append(tuple(row[1:]))
        marks: dict[tuple[object, ...], int] = {}
        for pk, bounds, deleted_at in staged.range_deletions:
            for clustering in by_partition.get(pk, ()):
                if covers(bounds, clustering, descending):
                    key = (*pk, *clustering)
                    marks[key] = max(marks.get(key, MIN_TS), deleted_at)
        blank: list[object] = []
        for c in layout.regulars:
            blank += [[] if is_array(c) else None, None, None, None]
        blank += [None] * len(layout.collections) + ([[]] if layout.collections else [])
        convert = [converter(c) for c in layout.keys]
        return [[*(f(v) for f, v in zip(convert, key, strict=True)), *blank, None, None, deleted]
                for key, deleted in marks.items()]  # fmt: skip


# Server error codes that are about the data (the same batch fails the same way again):
# CANNOT_PARSE_TEXT, CANNOT_PARSE_INPUT_ASSERTION_FAILED, TYPE_MISMATCH, ARGUMENT_OUT_OF_BOUND,
# CANNOT_CONVERT_TYPE, VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE, DECIMAL_OVERFLOW.
_DATA_CODES = frozenset({6, 27, 53, 69, 70, 321, 407})
_CODE = re.compile(r"\bCode: (\d+)")


def classify(destination: str, exc: Exception) -> TransientSinkError | PermanentSinkError:
    """Transient (retry later) or permanent (this data can never go in) for any error."""
    from clickhouse_connect.driver import exceptions  # noqa: PLC0415 - optional heavy import

    if isinstance(exc, (TransientSinkError, PermanentSinkError)):
        return exc  # ours, already classified
    message = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
    refused = refused_connection(destination, exc)
    if refused is not None:
        return refused
    if isinstance(exc, exceptions.OperationalError):
        return TransientSinkError(destination, message)
    # A value the client cannot turn into the column's type (raised before anything is sent).
    if isinstance(exc, (exceptions.DataError, TypeError, ValueError, OverflowError)):
        return PermanentSinkError(destination, message)
    code = _CODE.search(str(exc))
    if code is not None and int(code.group(1)) in _DATA_CODES:
        return PermanentSinkError(destination, message)
    return TransientSinkError(destination, message)


def _param_type(column: ColumnSchema) -> str:
    return ch_type(column)
