"""Decoding one commit-log entry's mutation into partition updates, rows, cells, tombstones.

Mirrors `Mutation.serializer`, `PartitionUpdate.PartitionUpdateSerializer`,
`UnfilteredRowIteratorSerializer`, `SerializationHeader`, `UnfilteredSerializer` and
`Cell.Serializer` at messaging versions 12 and 13 (Cassandra 4.0 to 5.0; the layouts are the
same, format reference section 11). Timestamps, TTLs and deletion times are delta-encoded
against per-partition-update minima; see `_Header`.

Pure: bytes plus a SchemaSnapshot in, records (casscade.commitlog.records) out.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from casscade.commitlog._fastpath import decode_common, visible_cells
from casscade.commitlog.errors import CorruptSegmentError
from casscade.commitlog.position import Position
from casscade.commitlog.reader import Cursor, to_i64
from casscade.commitlog.records import (
    DELETION_TIME_EPOCH_S,
    NO_TIMESTAMP,
    TIMESTAMP_EPOCH_US,
    BoundKind,
    Cell,
    CellFlag,
    ComplexDeletion,
    DeletionTime,
    ExtendedRowFlag,
    Liveness,
    Mutation,
    MutationRecord,
    PartitionFlag,
    PartitionUpdate,
    RangeTombstoneMarker,
    Row,
    RowFlag,
    SkippedMutation,
    Unfiltered,
    UnknownSchema,
)
from casscade.commitlog.schema import (
    ColumnSchema,
    HeaderColumn,
    SchemaSnapshot,
    TableSchema,
    resolve_header,
)
from casscade.commitlog.types import ValueDecodeError

__all__ = [
    "BoundKind",
    "Cell",
    "ComplexDeletion",
    "DeletionTime",
    "Liveness",
    "Mutation",
    "MutationRecord",
    "PartitionUpdate",
    "RangeTombstoneMarker",
    "Row",
    "SkippedMutation",
    "UnknownSchema",
    "decode_mutation",
    "decode_mutation_generic",
]

_U32_MASK = 0xFFFFFFFF
_MAX_CLUSTERING_BATCH = 32


# Plain ints for the hot path: IntFlag's `&` builds enum members and costs ~1 µs each.
_P_IS_EMPTY = int(PartitionFlag.IS_EMPTY)
_P_HAS_PARTITION_DELETION = int(PartitionFlag.HAS_PARTITION_DELETION)
_P_HAS_STATIC_ROW = int(PartitionFlag.HAS_STATIC_ROW)
_P_HAS_ROW_ESTIMATE = int(PartitionFlag.HAS_ROW_ESTIMATE)
_R_END_OF_PARTITION = int(RowFlag.END_OF_PARTITION)
_R_IS_MARKER = int(RowFlag.IS_MARKER)
_R_HAS_TIMESTAMP = int(RowFlag.HAS_TIMESTAMP)
_R_HAS_TTL = int(RowFlag.HAS_TTL)
_R_HAS_DELETION = int(RowFlag.HAS_DELETION)
_R_HAS_ALL_COLUMNS = int(RowFlag.HAS_ALL_COLUMNS)
_R_HAS_COMPLEX_DELETION = int(RowFlag.HAS_COMPLEX_DELETION)
_R_EXTENSION_FLAG = int(RowFlag.EXTENSION_FLAG)
_E_IS_STATIC = int(ExtendedRowFlag.IS_STATIC)
_C_IS_DELETED = int(CellFlag.IS_DELETED)
_C_IS_EXPIRING = int(CellFlag.IS_EXPIRING)
_C_HAS_EMPTY_VALUE = int(CellFlag.HAS_EMPTY_VALUE)
_C_USE_ROW_TIMESTAMP = int(CellFlag.USE_ROW_TIMESTAMP)
_C_USE_ROW_TTL = int(CellFlag.USE_ROW_TTL)


class _UnknownColumnError(Exception):
    def __init__(self, table_id: uuid.UUID, column: str | None) -> None:
        super().__init__(table_id, column)
        self.table_id = table_id
        self.column = column


@dataclass(slots=True)
class _Header:
    """SerializationHeader of one partition update: minima and the column lists."""

    min_timestamp: int
    min_ldt: int
    min_ttl: int
    statics: list[HeaderColumn]
    regulars: list[HeaderColumn]

    def timestamp(self, cur: Cursor) -> int:
        return to_i64(cur.vint() + self.min_timestamp)

    def ldt(self, cur: Cursor) -> int:
        # Unsigned 32-bit arithmetic is right for messaging 12 and 13 (reference 11.11).
        return (cur.vint32() + self.min_ldt) & _U32_MASK

    def ttl(self, cur: Cursor) -> int:
        return cur.vint32() + self.min_ttl

    def deletion(self, cur: Cursor) -> DeletionTime | None:
        marked = self.timestamp(cur)
        ldt = self.ldt(cur)
        return None if marked == NO_TIMESTAMP else DeletionTime(marked, ldt)


def decode_mutation(
    payload: bytes | memoryview,
    schema: SchemaSnapshot,
    *,
    position: Position,
    payload_offset: int = 0,
    include_non_cdc: bool = False,
) -> MutationRecord:
    """Decode one entry's mutation bytes.

    Args:
        payload: the mutation bytes (a `LogEntry.payload`).
        schema: tables by id.
        position: the entry's position, carried by the record.
        payload_offset: logical offset of payload[0] in the segment, for error offsets.
        include_non_cdc: also decode keyspaces without CDC tables (system tables).

    Returns:
        The Mutation, or UnknownSchema when the snapshot lacks the table or a column,
        or SkippedMutation for keyspaces without CDC tables.

    Raises:
        DecodeError: the bytes do not follow the format (with the exact offset).
    """
    # The common shapes take the specialised path; it returns None for everything else and
    # for anything malformed, which the generic path then decodes or reports.
    decoded = decode_common(payload, schema, position, include_non_cdc=include_non_cdc)
    if decoded is not None:
        return decoded
    return decode_mutation_generic(
        payload,
        schema,
        position=position,
        payload_offset=payload_offset,
        include_non_cdc=include_non_cdc,
    )


def decode_mutation_generic(
    payload: bytes | memoryview,
    schema: SchemaSnapshot,
    *,
    position: Position,
    payload_offset: int = 0,
    include_non_cdc: bool = False,
) -> MutationRecord:
    """`decode_mutation` without the specialised path: every shape, every error.

    The reference the specialised path (`casscade.commitlog._fastpath`) is tested against;
    arguments, result and errors as for `decode_mutation`.
    """
    cur = Cursor(payload, base=payload_offset, segment_id=position.segment_id)
    count = cur.vint32()
    if count < 1:
        raise cur.corrupt(f"mutation with {count} partition updates")
    updates: list[PartitionUpdate] = []
    for index in range(count):
        raw_id = cur.raw(16)
        table = schema.tables_by_id_bytes.get(raw_id)
        if table is None:
            return UnknownSchema(position, uuid.UUID(bytes=raw_id), None)
        if index == 0 and not include_non_cdc and table.keyspace not in schema.cdc_keyspaces:
            return SkippedMutation(position, table.id)
        try:
            updates.append(_decode_partition_update(cur, table))
        except _UnknownColumnError as exc:
            return UnknownSchema(position, exc.table_id, exc.column)
    if cur.remaining:
        raise cur.corrupt(f"{cur.remaining} bytes left after the mutation")
    return Mutation(position, updates[0].keyspace, tuple(updates))


def _decode_partition_update(cur: Cursor, table: TableSchema) -> PartitionUpdate:
    key_bytes = cur.vbytes()
    try:
        key = table.decode_key(key_bytes)
    except ValueDecodeError as exc:
        raise cur.corrupt(f"partition key of {table.qualified_name}: {exc}") from exc
    flags = cur.u8()
    if flags & _P_IS_EMPTY:
        return PartitionUpdate(table.id, table.keyspace, table.name, key, None, None, ())
    header = _read_header(cur, table, has_statics=bool(flags & _P_HAS_STATIC_ROW))
    deletion = header.deletion(cur) if flags & _P_HAS_PARTITION_DELETION else None
    static_row = None
    if flags & _P_HAS_STATIC_ROW:
        row_flags = cur.u8()
        extended = cur.u8() if row_flags & _R_EXTENSION_FLAG else 0
        if not extended & _E_IS_STATIC:
            raise cur.corrupt("static row without the IS_STATIC flag")
        static_row = _decode_row(
            cur, header, table, row_flags, columns=header.statics, clustering=None
        )
    if flags & _P_HAS_ROW_ESTIMATE:
        cur.vint32()  # informational only
    unfiltereds: list[Unfiltered] = []
    while True:
        row_flags = cur.u8()
        if row_flags & _R_END_OF_PARTITION:
            break
        extended = cur.u8() if row_flags & _R_EXTENSION_FLAG else 0
        if extended & _E_IS_STATIC:
            raise cur.corrupt("static row among the unfiltereds")
        if row_flags & _R_IS_MARKER:
            unfiltereds.append(_decode_marker(cur, header, table))
        else:
            clustering = _read_clustering(cur, table.clustering)
            unfiltereds.append(
                _decode_row(
                    cur, header, table, row_flags, columns=header.regulars, clustering=clustering
                )
            )
    return PartitionUpdate(
        table.id, table.keyspace, table.name, key, deletion, static_row, tuple(unfiltereds)
    )


def _read_header(cur: Cursor, table: TableSchema, *, has_statics: bool) -> _Header:
    min_timestamp = to_i64(cur.vint() + TIMESTAMP_EPOCH_US)
    min_ldt = (cur.vint32() + DELETION_TIME_EPOCH_S) & _U32_MASK
    min_ttl = cur.vint32()
    statics = _read_columns(cur, table) if has_statics else []
    regulars = _read_columns(cur, table)
    return _Header(min_timestamp, min_ldt, min_ttl, statics, regulars)


# How many serialized column lists are remembered per table (TableSchema.recent_headers).
_RECENT_HEADERS = 4


def _read_columns(cur: Cursor, table: TableSchema) -> list[HeaderColumn]:
    buf, start = cur.buf, cur.pos
    for raw, remembered in table.recent_headers:
        end = start + len(raw)
        if buf[start:end] == raw:
            cur.pos = end
            return remembered.columns
    columns = _parse_columns(cur, table)
    recent = table.recent_headers
    # Resolved once per list: the specialised path matches the same bytes and reuses it.
    recent.insert(0, (bytes(buf[start : cur.pos]), resolve_header(columns)))
    del recent[_RECENT_HEADERS:]
    return columns


def _parse_columns(cur: Cursor, table: TableSchema) -> list[HeaderColumn]:
    count = cur.vint32()
    if count < 0:
        raise cur.corrupt(f"column count {count}")
    by_name = table.header_columns
    out: list[HeaderColumn] = []
    for _ in range(count):
        raw_name = cur.vbytes()
        column = by_name.get(raw_name)
        if column is None:
            raise _UnknownColumnError(table.id, raw_name.decode("utf-8", errors="replace"))
        out.append(column)
    return out


def _read_clustering(cur: Cursor, columns: tuple[ColumnSchema, ...]) -> tuple[object, ...]:
    if not columns:
        return ()
    buf, pos = cur.buf, cur.pos
    if len(columns) == 1 and pos + 1 < len(buf) and buf[pos] == 0:
        # One clustering column, neither null nor empty (header byte 0): the common case.
        column = columns[0]
        size, start = column.fixed_length, pos + 1
        if size is None and buf[start] < 0x80:
            size, start = buf[start], start + 1
        if size is not None and start + size <= len(buf):
            cur.pos = start + size
            return (_decode(cur, column, buf[start : start + size]),)
    values: list[object] = []
    for start in range(0, len(columns), _MAX_CLUSTERING_BATCH):
        batch = columns[start : start + _MAX_CLUSTERING_BATCH]
        header = cur.vint()
        for j, column in enumerate(batch):
            if header & (1 << (2 * j + 1)):
                values.append(None)  # null: absent value (not expected in rows)
            elif header & (1 << (2 * j)):
                values.append(_decode(cur, column, b""))
            else:
                length = column.fixed_length
                raw = cur.raw(length) if length is not None else cur.vbytes()
                values.append(_decode(cur, column, raw))
    return tuple(values)


def _decode(cur: Cursor, column: HeaderColumn, raw: bytes | memoryview) -> object:
    try:
        return column.decode(raw)
    except ValueDecodeError as exc:
        raise cur.corrupt(f"value of column {column.name}: {exc}") from exc


def _decode_marker(cur: Cursor, header: _Header, table: TableSchema) -> RangeTombstoneMarker:
    kind_value = cur.u8()
    try:
        kind = BoundKind(kind_value)
    except ValueError as exc:
        raise cur.corrupt(f"range tombstone bound kind {kind_value}") from exc
    if kind in (BoundKind.STATIC_CLUSTERING, BoundKind.CLUSTERING):
        raise cur.corrupt(f"range tombstone marker of kind {kind.name}")
    size = cur.u16()
    if size > len(table.clustering):
        raise cur.corrupt(f"bound of {size} values for {len(table.clustering)} columns")
    clustering = _read_clustering(cur, table.clustering[:size]) if size else ()
    first = _required_deletion(cur, header)
    if kind.is_boundary:
        # A boundary writes the closing deletion first, then the opening one.
        return RangeTombstoneMarker(kind, clustering, (first, _required_deletion(cur, header)))
    return RangeTombstoneMarker(kind, clustering, (first,))


def _required_deletion(cur: Cursor, header: _Header) -> DeletionTime:
    at = cur.offset()
    deletion = header.deletion(cur)
    if deletion is None:
        raise CorruptSegmentError(cur.segment_id, at, "range tombstone without a deletion")
    return deletion


def _decode_row(
    cur: Cursor,
    header: _Header,
    table: TableSchema,
    flags: int,
    *,
    columns: list[HeaderColumn],
    clustering: tuple[object, ...] | None,
) -> Row:
    """Decode a row's body; `clustering` None means the static row."""
    liveness = None
    row_ts = row_ttl = row_ldt = None
    if flags & _R_HAS_TIMESTAMP:
        row_ts = to_i64(cur.vint() + header.min_timestamp)
        if flags & _R_HAS_TTL:
            row_ttl = header.ttl(cur)  # row liveness: TTL first, then ldt
            row_ldt = header.ldt(cur)
        liveness = Liveness(row_ts, row_ttl, row_ldt)
    deletion = header.deletion(cur) if flags & _R_HAS_DELETION else None
    present = columns if flags & _R_HAS_ALL_COLUMNS else _read_subset(cur, columns)
    cells: list[Cell] = []
    complex_deletions: list[ComplexDeletion] = []
    row_info = (row_ts, row_ttl, row_ldt)
    buf = cur.buf
    for column in present:
        if not column.is_multi_cell:
            # Fast path for the most common cell: an INSERT's live cell that takes the row's
            # timestamp (flags exactly USE_ROW_TIMESTAMP), with a fixed-length value or one of
            # less than 128 bytes. Anything else, or a short buffer, takes the general path.
            pos = cur.pos
            if row_ts is not None and pos + 1 < len(buf) and buf[pos] == _C_USE_ROW_TIMESTAMP:
                size = column.fixed_length
                start = pos + 1
                if size is None and buf[start] < 0x80:
                    size, start = buf[start], start + 1
                end = start + size if size is not None else len(buf) + 1
                if end <= len(buf):
                    cur.pos = end
                    raw = bytes(buf[start:end])
                    try:
                        value = column.decode(raw)
                    except ValueDecodeError as exc:
                        raise cur.corrupt(f"cell of column {column.name}: {exc}") from exc
                    cells.append(Cell(column.name, row_ts, value, raw=raw))
                    continue
            cells.append(_decode_cell(cur, header, column, row_info=row_info, complex_column=False))
            continue
        _read_complex_column(
            cur, header, column, has_deletion=bool(flags & _R_HAS_COMPLEX_DELETION),
            row_info=row_info, cells=cells, complex_deletions=complex_deletions,
        )  # fmt: skip
    return Row(
        clustering=clustering or (),
        is_static=clustering is None,
        liveness=liveness,
        deletion=deletion,
        cells=tuple(visible_cells(cells, table.dropped)),
        complex_deletions=tuple(complex_deletions),
    )


def _read_complex_column(
    cur: Cursor,
    header: _Header,
    column: HeaderColumn,
    *,
    has_deletion: bool,
    row_info: tuple[int | None, int | None, int | None],
    cells: list[Cell],
    complex_deletions: list[ComplexDeletion],
) -> None:
    """Read one non-frozen collection or UDT column of a row: its deletion and its cells."""
    if has_deletion:
        complex_deletion = header.deletion(cur)
        if complex_deletion is not None:
            complex_deletions.append(ComplexDeletion(column.name, complex_deletion))
    count = cur.vint32()
    if count < 0:
        raise cur.corrupt(f"cell count {count}")
    buf, decode_cell = cur.buf, column.decode_cell
    for _ in range(count):
        # Fast path for an element write of an UPDATE (flags 0: own timestamp, live, no
        # TTL) with a path and a value shorter than 128 bytes; anything else: general path.
        pos = cur.pos
        if decode_cell is not None and pos < len(buf) and buf[pos] == 0:
            cur.pos = pos + 1
            timestamp = to_i64(cur.vint() + header.min_timestamp)
            at = cur.pos
            if at + 1 < len(buf) and buf[at] < 0x80:
                path_end = at + 1 + buf[at]
                if path_end < len(buf) and buf[path_end] < 0x80:
                    value_end = path_end + 1 + buf[path_end]
                    if value_end <= len(buf):
                        cur.pos = value_end
                        raw = bytes(buf[path_end + 1 : value_end])
                        try:
                            path, value = decode_cell(buf[at + 1 : path_end], raw)
                        except ValueDecodeError as exc:
                            raise cur.corrupt(f"cell of column {column.name}: {exc}") from exc
                        cells.append(Cell(column.name, timestamp, value, path=path, raw=raw))
                        continue
            cur.pos = pos
        cells.append(_decode_cell(cur, header, column, row_info=row_info, complex_column=True))


def _read_subset(cur: Cursor, columns: list[HeaderColumn]) -> list[HeaderColumn]:
    """Columns.Serializer.deserializeSubset: which header columns this row has."""
    total = len(columns)
    encoded = cur.vint()
    if encoded == 0:
        return columns
    if total < 64:
        # A bitmap of the *missing* columns.
        return [c for i, c in enumerate(columns) if not encoded & (1 << i)]
    missing = to_i64(encoded)
    if not 0 < missing <= total:
        raise cur.corrupt(f"{missing} missing columns of {total}")
    present_count = total - missing
    if present_count < total // 2:
        indexes = [cur.vint32() for _ in range(present_count)]
        chosen = set(indexes)
    else:
        absent = {cur.vint32() for _ in range(missing)}
        chosen = set(range(total)) - absent
    if any(not 0 <= i < total for i in chosen):
        raise cur.corrupt("column subset index out of range")
    return [c for i, c in enumerate(columns) if i in chosen]


def _decode_cell(
    cur: Cursor,
    header: _Header,
    column: HeaderColumn,
    *,
    row_info: tuple[int | None, int | None, int | None],
    complex_column: bool,
) -> Cell:
    flags = cur.u8()
    row_ts, row_ttl, row_ldt = row_info
    if flags & _C_USE_ROW_TIMESTAMP:
        if row_ts is None:
            raise cur.corrupt("cell uses the row timestamp of a row without one")
        timestamp = row_ts
    else:
        timestamp = header.timestamp(cur)
    deleted = bool(flags & _C_IS_DELETED)
    expiring = bool(flags & _C_IS_EXPIRING)
    ldt = ttl = None
    if flags & _C_USE_ROW_TTL:
        ttl, ldt = row_ttl, row_ldt
    elif deleted or expiring:
        ldt = header.ldt(cur)  # cells: ldt first, then TTL
        if expiring:
            ttl = header.ttl(cur)
    raw_path = cur.vbytes() if complex_column else None
    if flags & _C_HAS_EMPTY_VALUE:
        raw = b""
    elif complex_column or column.fixed_length is None:
        raw = cur.vbytes()
    else:
        raw = cur.raw(column.fixed_length)
    path: object = None
    value: object = None
    try:
        if raw_path is not None and column.decode_cell is not None:
            path, value = column.decode_cell(raw_path, raw)
        elif not deleted:
            value = column.decode(raw)
    except ValueDecodeError as exc:
        raise cur.corrupt(f"cell of column {column.name}: {exc}") from exc
    return Cell(
        column=column.name,
        timestamp_us=timestamp,
        value=None if deleted else value,
        is_tombstone=deleted,
        ttl_s=ttl if expiring else None,
        local_deletion_time_s=ldt,
        path=path,
        raw=raw,
    )
