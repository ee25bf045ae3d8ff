"""The specialised path of mutation decoding: the common shapes in one pass over locals.

`mutation.decode_mutation` offers every entry here first. This path decodes, with plain
`bytes` indexing, local variables and records built straight from tuples, the shapes that
make up nearly all of a CDC workload:

* one partition update of a known CDC table (or any table when asked) whose serialization
  column list repeats one the generic path has already resolved (`ResolvedHeader`, kept in
  `TableSchema.recent_headers`): the per-header decoder state is built once, by the generic
  path, and reused here while the list repeats;
* no partition deletion and no static row; rows (not range tombstone markers) whose
  clustering values are all present, with or without liveness, TTL and row deletion;
* cells of every kind, with all columns present or a subset of a header of fewer than 64
  columns. The cells INSERT and UPDATE write most (a live cell taking the row timestamp, an
  element write of a collection) are read inline; the others by `_cell`, which mirrors the
  generic `mutation._decode_cell` field by field.

Anything else, and any sign of a problem (bytes ending early, a value that does not decode,
a count out of range, bytes left over), makes it return None; the generic path then decodes
the entry from the start and raises any error with its exact offset. So for any bytes this
path returns exactly what the generic path returns, or None (tests check this on every golden
fixture). It never raises: a short buffer shows here as IndexError and is caught.

Pure: bytes plus a SchemaSnapshot in, records out. Cassandra classes mirrored: as `mutation`.
"""

from __future__ import annotations

from collections.abc import Mapping

from casscade.commitlog.codecs import Decoder
from casscade.commitlog.position import Position
from casscade.commitlog.reader import to_i64, vint_at
from casscade.commitlog.records import (
    DELETION_TIME_EPOCH_S,
    NO_TIMESTAMP,
    TIMESTAMP_EPOCH_US,
    Cell,
    CellFlag,
    ComplexDeletion,
    DeletionTime,
    Liveness,
    Mutation,
    PartitionFlag,
    PartitionUpdate,
    Row,
    RowFlag,
)
from casscade.commitlog.schema import (
    CellSpec,
    DroppedColumn,
    ResolvedHeader,
    SchemaSnapshot,
    TableSchema,
)
from casscade.commitlog.types import ValueDecodeError

# Builds a NamedTuple record from a tuple of all its fields in C, without the Python-level
# `__new__` a NamedTuple class call runs (0.1 µs instead of 0.2 µs per record): the record is
# the same object either way.
_new = tuple.__new__

# Plain ints: IntFlag operators build enum members and cost ~1 µs each.
_P_HAS_ROW_ESTIMATE = int(PartitionFlag.HAS_ROW_ESTIMATE)
_R_END_OF_PARTITION = int(RowFlag.END_OF_PARTITION)
# Range tombstone markers, and extended flags (static rows, shadowable deletions).
_R_GENERIC_ONLY = int(RowFlag.IS_MARKER | RowFlag.EXTENSION_FLAG)
_R_HAS_TIMESTAMP = int(RowFlag.HAS_TIMESTAMP)
_R_HAS_TTL = int(RowFlag.HAS_TTL)
_R_HAS_DELETION = int(RowFlag.HAS_DELETION)
_R_HAS_ALL_COLUMNS = int(RowFlag.HAS_ALL_COLUMNS)
_R_HAS_COMPLEX_DELETION = int(RowFlag.HAS_COMPLEX_DELETION)
_C_IS_DELETED = int(CellFlag.IS_DELETED)
_C_IS_EXPIRING = int(CellFlag.IS_EXPIRING)
_C_HAS_EMPTY_VALUE = int(CellFlag.HAS_EMPTY_VALUE)
_C_USE_ROW_TIMESTAMP = int(CellFlag.USE_ROW_TIMESTAMP)
_C_USE_ROW_TTL = int(CellFlag.USE_ROW_TTL)

_U32_MASK = 0xFFFFFFFF
_I32_MIN, _I32_MAX = -(1 << 31), (1 << 31) - 1
_I64_MIN, _I64_MAX = -(1 << 63), (1 << 63) - 1
# Row subsets remembered per header (ResolvedHeader.subsets); emptied when full. A table's
# UPDATEs touch a handful of column sets, and a miss costs one tuple filter.
_MAX_SUBSETS = 64
# A clustering prefix writes one header vint per 32 values (ClusteringPrefix.Serializer).
_MAX_CLUSTERING_BATCH = 32

# (min timestamp, min local deletion time, min TTL) of the partition update's header.
_Minima = tuple[int, int, int]
# (timestamp, TTL, local deletion time) of the row's liveness; all None without one.
_RowInfo = tuple[int | None, int | None, int | None]


class _GenericOnlyError(Exception):
    """Raised inside this module to hand the entry to the generic path."""


def decode_common(
    payload: bytes | memoryview,
    schema: SchemaSnapshot,
    position: Position,
    *,
    include_non_cdc: bool,
) -> Mutation | None:
    """Decode an entry of a common shape exactly as `mutation.decode_mutation` would.

    Args:
        payload: the mutation bytes.
        schema: tables by id.
        position: the entry's position, carried by the record.
        include_non_cdc: also decode keyspaces without CDC tables.

    Returns:
        The Mutation, or None when the entry is not of a shape this path decodes or is not
        well formed (the generic path then decodes it or raises).
    """
    buf = payload if type(payload) is bytes else bytes(payload)
    try:
        return _mutation(buf, schema, position, include_non_cdc=include_non_cdc)
    except (IndexError, ValueDecodeError, _GenericOnlyError):
        return None


def visible_cells(cells: list[Cell], dropped: Mapping[str, DroppedColumn]) -> list[Cell]:
    """Drop cells of dropped columns written at or before the drop, as Cassandra does."""
    if not dropped:
        return cells
    out = []
    for cell in cells:
        column = dropped.get(cell.column)
        if column is None or cell.timestamp_us > column.dropped_time_us:
            out.append(cell)
    return out


def _mutation(
    buf: bytes, schema: SchemaSnapshot, position: Position, *, include_non_cdc: bool
) -> Mutation | None:
    # One partition update (count vint 1) of a known table with a key under 128 bytes;
    # UnknownSchema and SkippedMutation records, batches across tables and long keys are
    # the generic path's.
    table = schema.tables_by_id_bytes.get(buf[1:17])
    if buf[0] != 1 or table is None or buf[17] >= 0x80:
        return None
    if not include_non_cdc and table.keyspace not in schema.cdc_keyspaces:
        return None
    at = 18 + buf[17]
    key = table.decode_key(buf[18:at])
    flags = buf[at]
    if flags & ~_P_HAS_ROW_ESTIMATE:
        return None  # empty update, partition deletion or static row
    minima, pos = _minima(buf, at + 1)
    header = _recent_header(buf, pos, table)
    pos += header[0]
    if flags & _P_HAS_ROW_ESTIMATE:  # informational only
        if buf[pos] < 0x80:
            pos += 1
        else:
            _, pos = _vint32(buf, pos)
    rows: list[Row] = []
    clustering_specs, dropped = table.clustering_specs, table.dropped
    while not buf[pos] & _R_END_OF_PARTITION:
        row_flags = buf[pos]
        if row_flags & _R_GENERIC_ONLY:
            return None
        clustering: tuple[object, ...] = ()
        pos += 1
        if clustering_specs:
            clustering, pos = _clustering(buf, pos, clustering_specs)
        row, pos = _row(buf, pos, row_flags, clustering, header[1], minima=minima, dropped=dropped)
        rows.append(row)
    if pos + 1 != len(buf):
        return None  # bytes left over (or a value ran past the end)
    fields = (table.id, table.keyspace, table.name, key, None, None, tuple(rows))
    return _new(Mutation, (position, table.keyspace, (_new(PartitionUpdate, fields),)))


def _minima(buf: bytes, pos: int) -> tuple[_Minima, int]:
    """The header's minimum timestamp, local deletion time and TTL (`_Minima`)."""
    min_ts, pos = vint_at(buf, pos)
    min_ldt, min_ttl = buf[pos], buf[pos + 1]
    if min_ldt < 0x80 and min_ttl < 0x80:  # both one byte: always without TTLs
        pos += 2
    else:
        min_ldt, pos = _vint32(buf, pos)
        min_ttl, pos = _vint32(buf, pos)
    min_ts += TIMESTAMP_EPOCH_US
    if min_ts > _I64_MAX:
        min_ts = to_i64(min_ts)
    return (min_ts, (min_ldt + DELETION_TIME_EPOCH_S) & _U32_MASK, min_ttl), pos


def _vint32(buf: bytes, pos: int) -> tuple[int, int]:
    """Cursor.vint32 without a Cursor: a vint that must fit a signed 32-bit int."""
    first = buf[pos]
    if first < 0x80:
        return first, pos + 1
    value, pos = vint_at(buf, pos)
    value = to_i64(value)
    if not _I32_MIN <= value <= _I32_MAX:
        raise _GenericOnlyError
    return value, pos


def _recent_header(buf: bytes, pos: int, table: TableSchema) -> tuple[int, ResolvedHeader]:
    """The remembered column list the bytes at `pos` repeat: (its length, its resolution)."""
    for raw, header in table.recent_headers:
        if buf.startswith(raw, pos):
            return len(raw), header
    # A list not seen lately: the generic path parses, resolves and remembers it.
    raise _GenericOnlyError


def _clustering(
    buf: bytes, pos: int, specs: tuple[tuple[int | None, Decoder], ...]
) -> tuple[tuple[object, ...], int]:
    """Clustering values behind a single header vint 0 (every value present and non-empty)."""
    if buf[pos] or len(specs) > _MAX_CLUSTERING_BATCH:
        raise _GenericOnlyError  # null or empty values, or several headers
    pos += 1
    values: list[object] = []
    for size, decode in specs:
        length = size
        if length is None:
            length = buf[pos]
            if length >= 0x80:
                raise _GenericOnlyError
            pos += 1
        end = pos + length
        values.append(decode(buf[pos:end]))
        pos = end
    return tuple(values), pos


def _row(
    buf: bytes,
    pos: int,
    flags: int,
    clustering: tuple[object, ...],
    header: ResolvedHeader,
    *,
    minima: _Minima,
    dropped: Mapping[str, DroppedColumn],
) -> tuple[Row, int]:
    liveness = row_ts = row_ttl = row_ldt = None
    if flags & _R_HAS_TIMESTAMP:
        row_ts = buf[pos]
        if row_ts < 0x80:  # one byte: the usual delta from the header's minimum
            pos += 1
        else:
            row_ts, pos = vint_at(buf, pos)
        row_ts += minima[0]
        if not _I64_MIN <= row_ts <= _I64_MAX:
            row_ts = to_i64(row_ts)
        if flags & _R_HAS_TTL:
            row_ttl, pos = _vint32(buf, pos)  # row liveness: TTL first, then ldt
            row_ttl += minima[2]
            row_ldt, pos = _vint32(buf, pos)
            row_ldt = (row_ldt + minima[1]) & _U32_MASK
        liveness = _new(Liveness, (row_ts, row_ttl, row_ldt))
    deletion = None
    if flags & _R_HAS_DELETION:
        deletion, pos = _deletion(buf, pos, minima)
    specs = header.specs
    if not flags & _R_HAS_ALL_COLUMNS:
        specs, pos = _subset(buf, pos, header)
    cells, complex_deletions, pos = _cells(
        buf, pos, specs, (row_ts, row_ttl, row_ldt), minima,
        has_complex_deletion=bool(flags & _R_HAS_COMPLEX_DELETION),
    )  # fmt: skip
    if dropped:
        cells = visible_cells(cells, dropped)
    fields = (clustering, False, liveness, deletion, tuple(cells), tuple(complex_deletions))
    return _new(Row, fields), pos


def _deletion(buf: bytes, pos: int, minima: _Minima) -> tuple[DeletionTime | None, int]:
    marked, pos = vint_at(buf, pos)
    marked = to_i64(marked + minima[0])
    ldt, pos = _vint32(buf, pos)
    if marked == NO_TIMESTAMP:
        return None, pos
    return _new(DeletionTime, (marked, (ldt + minima[1]) & _U32_MASK)), pos


def _subset(buf: bytes, pos: int, header: ResolvedHeader) -> tuple[tuple[CellSpec, ...], int]:
    """Columns.Serializer.deserializeSubset for headers under 64 columns, memoized."""
    encoded, pos = vint_at(buf, pos)
    specs = header.specs
    if encoded == 0:
        return specs, pos
    if len(specs) >= 64:
        raise _GenericOnlyError  # present- or missing-index lists
    subset = header.subsets.get(encoded)
    if subset is None:
        # A bitmap of the *missing* columns.
        subset = tuple(spec for i, spec in enumerate(specs) if not encoded & (1 << i))
        if len(header.subsets) >= _MAX_SUBSETS:
            header.subsets.clear()
        header.subsets[encoded] = subset
    return subset, pos


def _cells(
    buf: bytes,
    pos: int,
    specs: tuple[CellSpec, ...],
    row_info: _RowInfo,
    minima: _Minima,
    *,
    has_complex_deletion: bool,
) -> tuple[list[Cell], list[ComplexDeletion], int]:
    row_ts = row_info[0]
    # The flags byte of an INSERT's cell: exactly USE_ROW_TIMESTAMP (live, the row's
    # timestamp, no TTL of its own). Without a row timestamp no byte matches (-1), so such a
    # cell reaches `_cell`, which hands the corrupt entry to the generic path.
    inline_flags = _C_USE_ROW_TIMESTAMP if row_ts is not None else -1
    cells: list[Cell] = []
    append = cells.append
    complex_deletions: list[ComplexDeletion] = []
    for spec in specs:
        name, size, decode, decode_cell = spec
        if buf[pos] == inline_flags and decode_cell is None:
            # A fixed-length value, or one of less than 128 bytes, read inline.
            if size is None:
                size = buf[pos + 1]
                if size >= 0x80:
                    cell, pos = _cell(buf, pos, spec, row_info, minima, is_complex=False)
                    append(cell)
                    continue
                pos += 1
            pos += 1
            end = pos + size
            raw = buf[pos:end]
            append(_new(Cell, (name, row_ts, decode(raw), False, None, None, None, raw)))
            pos = end
        elif decode_cell is not None:
            pos = _complex_column(
                buf, pos, spec, row_info, minima, has_deletion=has_complex_deletion,
                cells=cells, complex_deletions=complex_deletions,
            )  # fmt: skip
        else:
            cell, pos = _cell(buf, pos, spec, row_info, minima, is_complex=False)
            append(cell)
    return cells, complex_deletions, pos


def _complex_column(
    buf: bytes,
    pos: int,
    spec: CellSpec,
    row_info: _RowInfo,
    minima: _Minima,
    *,
    has_deletion: bool,
    cells: list[Cell],
    complex_deletions: list[ComplexDeletion],
) -> int:
    """One non-frozen collection or UDT column of a row: its deletion and its cells."""
    name, _, _, decode_cell = spec
    if has_deletion:
        deletion, pos = _deletion(buf, pos, minima)
        if deletion is not None:
            complex_deletions.append(_new(ComplexDeletion, (name, deletion)))
    count, pos = _vint32(buf, pos)
    if count < 0 or decode_cell is None:
        raise _GenericOnlyError
    min_ts = minima[0]
    for _ in range(count):
        flags = buf[pos]
        if not flags & ~_C_HAS_EMPTY_VALUE:
            # An element write of an UPDATE: its own timestamp, live, no TTL; a path and (set
            # elements have none: HAS_EMPTY_VALUE) a value, each of less than 128 bytes.
            timestamp, at = vint_at(buf, pos + 1)
            path_end = at + 1 + buf[at]
            if flags:
                value_end, raw = path_end, b""
            else:
                value_end = path_end + 1 + buf[path_end]
                raw = buf[path_end + 1 : value_end]
            if buf[at] < 0x80 and (flags or buf[path_end] < 0x80):
                timestamp += min_ts
                if not _I64_MIN <= timestamp <= _I64_MAX:
                    timestamp = to_i64(timestamp)
                path, value = decode_cell(buf[at + 1 : path_end], raw)
                cells.append(_new(Cell, (name, timestamp, value, False, None, None, path, raw)))
                pos = value_end
                continue
        cell, pos = _cell(buf, pos, spec, row_info, minima, is_complex=True)
        cells.append(cell)
    return pos


def _vbytes(buf: bytes, pos: int) -> tuple[bytes, int]:
    length, pos = _vint32(buf, pos)
    if length < 0:
        raise _GenericOnlyError
    end = pos + length
    return buf[pos:end], end


def _cell(
    buf: bytes,
    pos: int,
    spec: CellSpec,
    row_info: _RowInfo,
    minima: _Minima,
    *,
    is_complex: bool,
) -> tuple[Cell, int]:
    """Any cell (Cell.Serializer.deserialize), field by field as the generic path reads it."""
    name, size, decode, decode_cell = spec
    row_ts, row_ttl, row_ldt = row_info
    flags = buf[pos]
    pos += 1
    if flags & _C_USE_ROW_TIMESTAMP:
        if row_ts is None:
            raise _GenericOnlyError  # corrupt: the generic path says so
        timestamp = row_ts
    else:
        timestamp, pos = vint_at(buf, pos)
        timestamp = to_i64(timestamp + minima[0])
    deleted = bool(flags & _C_IS_DELETED)
    expiring = bool(flags & _C_IS_EXPIRING)
    ldt = ttl = None
    if flags & _C_USE_ROW_TTL:
        ttl, ldt = row_ttl, row_ldt
    elif deleted or expiring:
        ldt, pos = _vint32(buf, pos)  # cells: ldt first, then TTL
        ldt = (ldt + minima[1]) & _U32_MASK
        if expiring:
            ttl, pos = _vint32(buf, pos)
            ttl += minima[2]
    raw_path = None
    if is_complex:
        raw_path, pos = _vbytes(buf, pos)
    raw = b""
    if flags & _C_HAS_EMPTY_VALUE:
        pass
    elif is_complex or size is None:
        raw, pos = _vbytes(buf, pos)
    else:
        raw, pos = buf[pos : pos + size], pos + size
    path: object = None
    value: object = None
    if raw_path is not None and decode_cell is not None:
        path, value = decode_cell(raw_path, raw)
    elif not deleted:
        value = decode(raw)
    fields = (name, timestamp, None if deleted else value, deleted, ttl if expiring else None)
    return _new(Cell, (*fields, ldt, path, raw)), pos
