"""Decoded mutations as flat "facts" with canonical JSON values, for comparisons.

A fact is one thing a mutation says: a row's liveness, a cell (value or tombstone), a row,
partition, clustering-range or whole-collection deletion. Golden tests compare the facts of
a decoded fixture with `expected.jsonl`, which the capture tool derives from the scenario
itself (tools/README.md documents the format); integration tests compare them with what a
workload wrote. Values are canonical JSON so both sides agree without sharing Python types:

    text, ascii -> str          integers, varint -> int        float, double -> float
    boolean -> bool             decimal -> str(Decimal)        blob -> "0x" + hex
    uuid, timeuuid, inet -> str date -> "YYYY-MM-DD"           time -> nanoseconds (int)
    timestamp -> ms (int)       duration -> [months, days, ns] counter -> total count
    list, set, vector, tuple -> list   map -> [[key, value], ...]   UDT -> {field: value}

Pure: records and a schema in, dicts out.
"""

from __future__ import annotations

import datetime
import decimal
import ipaddress
import uuid
from collections.abc import Generator, Iterator, Mapping, Sequence

from casscade.commitlog.codecs import CounterContext, CqlDate, CqlTime, CqlTimestamp, Duration
from casscade.commitlog.mutation import (
    BoundKind,
    Cell,
    DeletionTime,
    Mutation,
    PartitionUpdate,
    RangeTombstoneMarker,
    Row,
)
from casscade.commitlog.schema import SchemaSnapshot, TableSchema
from casscade.commitlog.types import CqlType, ListType, MapType, SetType, TupleType, UdtType

Fact = dict[str, object]
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_EPOCH_DATE = datetime.date(1970, 1, 1)


def canonical(value: object, cql_type: CqlType) -> object:  # noqa: PLR0911 - one case per type
    """The canonical JSON form of a decoded value of `cql_type`."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, (decimal.Decimal, uuid.UUID, ipaddress.IPv4Address)):
        return str(value)
    if isinstance(value, ipaddress.IPv6Address):
        return str(value)
    if isinstance(value, datetime.datetime):
        delta = value - _EPOCH
        return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000
    if isinstance(value, datetime.date):
        return value.isoformat()
    return _canonical_other(value, cql_type)


def _canonical_other(value: object, cql_type: CqlType) -> object:  # noqa: PLR0911
    if isinstance(value, CqlTime):
        return value.nanoseconds
    if isinstance(value, CqlTimestamp):
        return value.milliseconds
    if isinstance(value, CqlDate):
        return (_EPOCH_DATE + datetime.timedelta(days=value.days)).isoformat()
    if isinstance(value, Duration):
        return [value.months, value.days, value.nanoseconds]
    if isinstance(value, CounterContext):
        return value.total
    if isinstance(value, dict):
        return _canonical_mapping(value, cql_type)
    if isinstance(value, (list, tuple)):
        return [
            canonical(v, t)
            for v, t in zip(value, _element_types(cql_type, len(value)), strict=True)
        ]
    raise TypeError(f"no canonical form for {type(value).__name__}")


def _canonical_mapping(value: Mapping[object, object], cql_type: CqlType) -> object:
    if isinstance(cql_type, UdtType):
        types = dict(zip(cql_type.field_names, cql_type.field_types, strict=True))
        return {str(k): canonical(v, types[str(k)]) for k, v in value.items()}
    if isinstance(cql_type, MapType):
        pairs = [
            [canonical(k, cql_type.key), canonical(v, cql_type.value)] for k, v in value.items()
        ]
        return sorted(pairs, key=repr)
    raise TypeError(f"a mapping value for {cql_type}")


def _element_types(cql_type: CqlType, count: int) -> Sequence[CqlType]:
    if isinstance(cql_type, TupleType):
        return cql_type.elements
    element = getattr(cql_type, "element", None)
    if element is None:
        raise TypeError(f"a sequence value for {cql_type}")
    return [element] * count


def _path_type(cql_type: CqlType) -> CqlType | None:
    if isinstance(cql_type, (SetType, ListType)):
        return cql_type.element if isinstance(cql_type, SetType) else None
    if isinstance(cql_type, MapType):
        return cql_type.key
    return None


def _value_type(cql_type: CqlType, path: object) -> CqlType:
    if isinstance(cql_type, (ListType, SetType)):
        return cql_type.element
    if isinstance(cql_type, MapType):
        return cql_type.value
    if isinstance(cql_type, UdtType):
        return cql_type.field_types[cql_type.field_names.index(str(path))]
    return cql_type


def mutation_facts(mutation: Mutation, schema: SchemaSnapshot) -> Iterator[Fact]:
    """Every fact of a decoded mutation, for the tables `schema` knows."""
    for update in mutation.updates:
        table = schema.table(update.table_id)
        if table is not None:
            yield from _update_facts(update, table)


def _update_facts(update: PartitionUpdate, table: TableSchema) -> Iterator[Fact]:
    name = table.qualified_name
    key = [
        canonical(v, c.cql_type)
        for v, c in zip(update.partition_key, table.partition_key, strict=True)
    ]
    base: Fact = {"table": name, "key": key}
    if update.partition_deletion is not None:
        yield {"fact": "partition_deletion", **base, **_ts(update.partition_deletion)}
    rows = ((update.static_row,) if update.static_row else ()) + update.unfiltereds
    open_start: RangeTombstoneMarker | None = None
    for item in rows:
        if isinstance(item, RangeTombstoneMarker):
            open_start = yield from _marker_facts(item, open_start, base, table)
            continue
        yield from _row_facts(item, base, table)


def _clustering(values: Sequence[object], table: TableSchema) -> list[object]:
    # A range tombstone bound may hold a prefix of the clustering columns.
    return [canonical(v, c.cql_type) for v, c in zip(values, table.clustering, strict=False)]


def _ts(deletion: DeletionTime) -> Fact:
    return {"timestamp": deletion.marked_for_delete_at_us}


def _marker_facts(
    marker: RangeTombstoneMarker,
    open_start: RangeTombstoneMarker | None,
    base: Fact,
    table: TableSchema,
) -> Generator[Fact, None, RangeTombstoneMarker | None]:
    """Join an opening and a closing marker into one range_deletion fact.

    Returns:
        The marker that is open after this one (None when it closed a range).
    """
    kind = marker.kind
    closes = kind in (
        BoundKind.EXCL_END_BOUND,
        BoundKind.INCL_END_BOUND,
        BoundKind.EXCL_END_INCL_START_BOUNDARY,
        BoundKind.INCL_END_EXCL_START_BOUNDARY,
    )
    if closes and open_start is not None:
        yield {
            "fact": "range_deletion",
            **base,
            "start": _clustering(open_start.clustering, table),
            "start_inclusive": open_start.kind
            in (BoundKind.INCL_START_BOUND, BoundKind.EXCL_END_INCL_START_BOUNDARY),
            "end": _clustering(marker.clustering, table),
            "end_inclusive": kind
            in (BoundKind.INCL_END_BOUND, BoundKind.INCL_END_EXCL_START_BOUNDARY),
            **_ts(open_start.deletions[-1]),
        }
    opens = kind in (
        BoundKind.INCL_START_BOUND,
        BoundKind.EXCL_START_BOUND,
        BoundKind.EXCL_END_INCL_START_BOUNDARY,
        BoundKind.INCL_END_EXCL_START_BOUNDARY,
    )
    return marker if opens else None


def _row_facts(row: Row, base: Fact, table: TableSchema) -> Iterator[Fact]:
    where: Fact = {**base, "clustering": _clustering(row.clustering, table)}
    if row.liveness is not None:
        yield {
            "fact": "liveness",
            **where,
            "timestamp": row.liveness.timestamp_us,
            "ttl": row.liveness.ttl_s,
        }
    if row.deletion is not None:
        yield {"fact": "row_deletion", **where, **_ts(row.deletion)}
    for deletion in row.complex_deletions:
        yield {
            "fact": "complex_deletion",
            **where,
            "column": deletion.column,
            **_ts(deletion.deletion),
            "static": row.is_static,
        }
    for cell in row.cells:
        yield _cell_fact(cell, where, table, is_static=row.is_static)


def _cell_fact(cell: Cell, where: Fact, table: TableSchema, *, is_static: bool) -> Fact:
    column = table.columns.get(cell.column)
    dropped = column is None
    cql_type = column.cql_type if column is not None else table.dropped[cell.column].cql_type
    path: object = None
    if cell.path is not None:
        path_type = _path_type(cql_type)
        path = str(cell.path) if path_type is None else canonical(cell.path, path_type)
    value_type = _value_type(cql_type, cell.path) if cell.path is not None else cql_type
    return {
        "fact": "cell",
        **where,
        "column": cell.column,
        "path": path,
        "value": None if cell.is_tombstone else canonical(cell.value, value_type),
        "timestamp": cell.timestamp_us,
        "ttl": cell.ttl_s,
        "tombstone": cell.is_tombstone,
        "static": is_static,
        "dropped": dropped,
    }
