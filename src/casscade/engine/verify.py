"""The oracle: does each destination table hold exactly Cassandra's `SELECT *`?

For each configured table and destination: read every row from Cassandra and from the
destination's view, put values in one comparable form, and report row counts, how many rows
are missing, extra or different, and the first differing keys. Reads whole tables: meant for
tests and for checks on tables that fit in memory.
"""

from __future__ import annotations

import datetime
import decimal
import ipaddress
import json
import math
import struct
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import psycopg

from casscade.commitlog.codecs.temporal import CqlDate, CqlTime, Duration, decode_timestamp
from casscade.commitlog.schema import ColumnKind, TableSchema
from casscade.commitlog.types import (
    CqlType,
    ListType,
    MapType,
    NativeName,
    NativeType,
    SetType,
    TupleType,
    UdtType,
    VectorType,
)
from casscade.config.models import ClickHouseDestination, Destination
from casscade.events.model import CellChange, ChangeEvent, Op
from casscade.masking import Masker, VaultEntries
from casscade.sinks.clickhouse.client import open_client
from casscade.sinks.clickhouse.ddl import ClickHouseLayout
from casscade.sinks.clickhouse.ddl import quote as ch_quote
from casscade.sinks.clickhouse.sink import classify as classify_clickhouse
from casscade.sinks.postgres.ddl import TableLayout
from casscade.sinks.postgres.ddl import quote as pg_quote
from casscade.sinks.postgres.sink import classify as classify_postgres
from casscade.sinks.values import json_value

# How many differing keys a report names.
SHOWN_KEYS = 5


@dataclass(frozen=True, slots=True)
class TableReport:
    """The comparison of one table in one destination."""

    destination: str
    table: str
    source_rows: int
    destination_rows: int
    missing: int
    extra: int
    different: int
    first_keys: tuple[str, ...]
    # The columns that differ in the first different row (names only, never values).
    differing_columns: tuple[str, ...] = ()

    @property
    def equal(self) -> bool:
        return self.missing == self.extra == self.different == 0


def comparable(value: object) -> object:
    """One form for a value read from Cassandra (driver) or PostgreSQL (psycopg)."""
    if isinstance(value, datetime.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
        delta = aware - datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
        return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return str(value)
    if isinstance(value, (bytes, memoryview)):
        return bytes(value) or None  # Cassandra returns an empty blob as null
    if isinstance(value, decimal.Decimal):
        return str(value)  # ClickHouse keeps decimals as their exact text
    if hasattr(value, "date") and type(value).__name__ == "Date":  # the driver's Date
        return value.date()
    return value


# The driver's own value classes, by name (time of day, duration, date).
_DRIVER_TYPES: dict[str, Callable[[Any], object]] = {
    "Time": lambda v: int(v.nanosecond_time),
    "Duration": lambda v: {"months": v.months, "days": v.days, "nanoseconds": v.nanoseconds},
    "Date": lambda v: v.date().isoformat(),
}


def driver_json(value: object) -> object:
    """A value read by cassandra-driver in the JSON form the sinks store (sinks/values.py)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    special = _DRIVER_TYPES.get(type(value).__name__)
    if special is not None:
        return special(value)
    if isinstance(value, datetime.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
        return aware.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "0x" + bytes(value).hex()
    return _driver_container_json(value)


def _driver_container_json(value: object) -> object:
    name = type(value).__name__
    if hasattr(value, "_fields"):  # a UDT
        return {f: driver_json(getattr(value, f)) for f in value._fields}
    if isinstance(value, Mapping):
        if all(isinstance(k, str) for k in value):
            return {k: driver_json(v) for k, v in value.items()}
        return [[driver_json(k), driver_json(v)] for k, v in value.items()]
    if isinstance(value, (list, tuple, set, frozenset)) or name == "SortedSet":
        return [driver_json(v) for v in value]  # type: ignore[attr-defined]
    return str(value)  # uuid, decimal, inet


def canonical(t: CqlType, value: object) -> object:
    """One form for a JSON value of type `t` from either side: sets and non-text-keyed maps
    sorted, UDTs without null fields, empty collections as null (Cassandra returns null)."""
    if value is None:
        return None
    json_kept = not isinstance(t, NativeType) or t.name is NativeName.DURATION
    if isinstance(value, str) and json_kept:
        value = json.loads(value)  # ClickHouse keeps JSON as String
    if isinstance(t, (SetType, MapType)):
        return _unordered(t, value)
    if isinstance(t, UdtType) and isinstance(value, dict):
        types = dict(zip(t.field_names, t.field_types, strict=True))
        fields = {k: canonical(types[k], v) for k, v in value.items() if v is not None}
        return fields or None
    if isinstance(t, (ListType, TupleType, VectorType)) and isinstance(value, list):
        elements = t.elements if isinstance(t, TupleType) else None
        items = [canonical(elements[i] if elements else t.element, v)  # type: ignore[union-attr]
                 for i, v in enumerate(value)]  # fmt: skip
        return items or None
    return value


def _unordered(t: SetType | MapType, value: object) -> object:
    if isinstance(t, SetType) and isinstance(value, list):
        return sorted((canonical(t.element, v) for v in value), key=_text) or None
    if isinstance(t, MapType) and isinstance(value, dict):
        return {k: canonical(t.value, v) for k, v in value.items()} or None
    if isinstance(t, MapType) and isinstance(value, list):
        pairs = [[canonical(t.key, k), canonical(t.value, v)] for k, v in value]
        return sorted(pairs, key=_text) or None
    return value


def _text(value: object) -> str:
    return json.dumps(value, sort_keys=True)


class CqlSession(Protocol):
    """The part of a cassandra-driver Session the oracle uses."""

    def execute(self, query: str) -> Iterable[Sequence[object]]: ...


Fetch = Callable[[list[str]], Iterable[Sequence[object]]]


def compare_table(
    session: CqlSession,
    table: TableSchema,
    fetch: Fetch,
    destination: str,
    masker: Masker | None = None,
) -> TableReport:
    """Compare one table with Cassandra; `fetch(columns)` reads them from the destination.

    With a `masker` that has rules for the table, Cassandra's rows are masked the way the
    agent masks them before the comparison (hash and tokenize are deterministic).
    """
    keys = [c.name for c in table.partition_key + table.clustering]
    values = [c.name for c in table.columns.values()
              if c.kind in (ColumnKind.REGULAR, ColumnKind.STATIC)]  # fmt: skip
    columns = keys + sorted(values)
    # Timestamps are read as their milliseconds: the driver cannot decode years beyond 9999.
    selected = [
        f"blobAsBigint(timestampAsBlob({_cql_name(c)}))"
        if table.columns[c].type_text == "timestamp"
        else _cql_name(c)
        for c in columns
    ]
    # Identifiers only, each quoted where CQL needs it.
    cql = (f"SELECT {', '.join(selected)} "  # noqa: S608
           f"FROM {_cql_name(table.keyspace)}.{_cql_name(table.name)}")  # fmt: skip
    types = [table.columns[c].cql_type for c in columns]
    if masker is not None and masker.has_rules(table.keyspace, table.name):
        masked = masker.masked_table(table)
        rows = _masked_source(session.execute(cql), table, columns, len(keys), masker)
        types = [masked.columns[c].cql_type for c in columns]
        source = _rows(rows, len(keys), types, side="decoded")
    else:
        source = _rows(session.execute(cql), len(keys), types, side="driver")
    target = _rows(fetch(columns), len(keys), types, side="destination")
    missing = [k for k in source if k not in target]
    extra = [k for k in target if k not in source]
    different = [k for k in source if k in target and source[k] != target[k]]
    shown = (missing + extra + different)[:SHOWN_KEYS]
    columns_differing: tuple[str, ...] = ()
    if different:
        first_source, first_target = source[different[0]], target[different[0]]
        columns_differing = tuple(
            name for name, a, b in zip(columns[len(keys) :], first_source, first_target,
                                       strict=True) if a != b
        )  # fmt: skip
    return TableReport(
        destination=destination,
        table=table.qualified_name,
        source_rows=len(source),
        destination_rows=len(target),
        missing=len(missing),
        extra=len(extra),
        different=len(different),
        first_keys=tuple(repr(k) for k in shown),
        differing_columns=columns_differing,
    )


def verify_destination(
    session: CqlSession,
    destination: Destination,
    tables: Sequence[TableSchema],
    masker: Masker | None = None,
) -> list[TableReport]:
    """Compare every given table of one destination (PostgreSQL, TimescaleDB or ClickHouse),
    masking Cassandra's side with `masker` where it has rules. A changelog destination holds
    changes, not Cassandra's rows: nothing to compare (no reports)."""
    if destination.mode == "changelog":
        return []
    if isinstance(destination, ClickHouseDestination):
        return _verify_clickhouse(session, destination, tables, masker)
    prepare = 5 if destination.prepared_statements else None
    reports = []
    try:
        connection = psycopg.connect(destination.conninfo(), prepare_threshold=prepare)
    except psycopg.Error as exc:  # refused or unreachable: one line, not a traceback
        raise classify_postgres(destination.name, exc) from exc
    with connection as conn:
        for table in tables:
            view = TableLayout(table, destination.schema_prefix + table.keyspace).qualified()

            def fetch(columns: list[str], view: str = view) -> list[tuple[object, ...]]:
                # Identifiers only, each quoted.
                sql = f"SELECT {', '.join(pg_quote(c) for c in columns)} FROM {view}"  # noqa: S608
                return conn.execute(sql).fetchall()

            reports.append(compare_table(session, table, fetch, destination.name, masker))
    return reports


def _verify_clickhouse(
    session: CqlSession,
    destination: ClickHouseDestination,
    tables: Sequence[TableSchema],
    masker: Masker | None,
) -> list[TableReport]:
    try:
        client = open_client(destination.dsn, destination.client_options())
    except Exception as exc:  # clickhouse-connect and chDB raise their own types
        raise classify_clickhouse(destination.name, exc) from exc
    reports = []
    try:
        for table in tables:
            layout = ClickHouseLayout(table, destination.database_prefix + table.keyspace)
            blobs = {c.name: "bytes" for c in table.columns.values() if c.type_text == "blob"}

            def fetch(columns: list[str], layout: ClickHouseLayout = layout,
                      blobs: dict[str, str] = blobs) -> Iterable[Sequence[object]]:  # fmt: skip
                # Identifiers only, each quoted.
                sql = f"SELECT {', '.join(ch_quote(c) for c in columns)} FROM {layout.qualified()}"  # noqa: S608
                result = client.query(sql, column_formats=blobs or None)  # type: ignore[arg-type]
                return result.result_rows

            reports.append(compare_table(session, table, fetch, destination.name, masker))
    finally:
        client.close()
    return reports


Side = Literal["driver", "decoded", "destination"]


def _rows(
    rows: Iterable[Sequence[object]],
    key_count: int,
    types: Sequence[CqlType],
    *,
    side: Side,
) -> dict[tuple[object, ...], tuple[object, ...]]:
    convert = [_normalizer(t, side=side) for t in types]
    out: dict[tuple[object, ...], tuple[object, ...]] = {}
    for row in rows:
        values = tuple(f(v) for f, v in zip(convert, row, strict=True))
        out[tuple(_hashable(v) for v in values[:key_count])] = values[key_count:]
    return out


def _normalizer(t: CqlType, *, side: Side) -> Callable[[object], object]:
    """How values of type `t` read on `side` become comparable: "driver" (cassandra-driver),
    "decoded" (decoder-like values, after masking) or "destination" (psycopg, ClickHouse)."""
    if side == "decoded":
        return _decoded_normalizer(t)
    if isinstance(t, NativeType) and t.name is not NativeName.DURATION:
        if t.name is NativeName.TIME and side == "driver":
            return driver_json
        return _NATIVE.get(t.name, comparable)
    if isinstance(t, VectorType) and side == "destination":
        return lambda v: canonical(t, list(v) if isinstance(v, (list, tuple)) else v)
    if side == "driver":
        return lambda v: canonical(t, driver_json(v))
    return lambda v: canonical(t, v)


def _float32(value: object) -> object:
    """PostgreSQL's real prints the shortest text of the float32 (1.1), the driver gives the
    float32 widened (1.100000023841858): compare both as float32."""
    if isinstance(value, float) and math.isfinite(value):
        return struct.unpack("<f", struct.pack("<f", value))[0]
    return value


def _integer(value: object) -> object:
    """A varint: an int from the driver, a Decimal from PostgreSQL's numeric."""
    return int(value) if isinstance(value, (decimal.Decimal, str)) else value


_NATIVE: dict[NativeName, Callable[[object], object]] = {
    NativeName.FLOAT: _float32,
    NativeName.VARINT: _integer,
}


def _decoded_normalizer(t: CqlType) -> Callable[[object], object]:
    if isinstance(t, NativeType) and t.name is not NativeName.DURATION:
        return lambda v: comparable(json_value(v) if isinstance(v, CqlTime) else v)
    return lambda v: canonical(t, json_value(v))


def _masked_source(
    rows: Iterable[Sequence[object]],
    table: TableSchema,
    columns: list[str],
    key_count: int,
    masker: Masker,
) -> Iterator[tuple[object, ...]]:
    """Cassandra's rows as the agent would send them: decoder-like values, masked.

    Each row becomes an UPSERT event of its non-null values, masked with the agent's rules.
    Non-frozen collections are masked as whole values here (the agent masks them element by
    element), so a masked non-frozen collection column may show as different.
    """
    width = len(table.partition_key)
    for row in rows:
        values = [decoded_from_driver(v, table.columns[c].cql_type)
                  for c, v in zip(columns, row, strict=True)]  # fmt: skip
        cells = tuple(
            CellChange(name, value, 1)
            for name, value in zip(columns[key_count:], values[key_count:], strict=True)
            if value is not None
        )
        event = ChangeEvent(table.keyspace, table.name, Op.UPSERT,
                            tuple(values[:width]), tuple(values[width:key_count]),
                            timestamp_us=1, cells=cells)  # fmt: skip
        masked = masker.mask_event(event, table, vault_entries=VaultEntries())
        written = {cell.column: cell.value for cell in masked.cells}
        yield (*masked.partition_key, *masked.clustering,
               *(written.get(name) for name in columns[key_count:]))  # fmt: skip


def decoded_from_driver(value: object, t: CqlType | None = None) -> object:
    """A value read by cassandra-driver as the decoder gives it (aware datetimes, CqlTime,
    Duration, sets, dicts), so masking hashes the same input."""
    if value is None:
        return None
    if isinstance(t, NativeType) and t.name is NativeName.TIMESTAMP and isinstance(value, int):
        return decode_timestamp(value.to_bytes(8, "big", signed=True))  # read as milliseconds
    special = _TO_DECODED.get(type(value).__name__)
    if special is not None:
        return special(value)
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
    if t is not None and isinstance(t, NativeType) and t.name is NativeName.INET:
        return ipaddress.ip_address(str(value))
    return _decoded_container(value)


def _decoded_container(value: object) -> object:
    if hasattr(value, "_fields"):  # a UDT
        return {f: decoded_from_driver(getattr(value, f)) for f in value._fields}
    if isinstance(value, Mapping):
        return {decoded_from_driver(k): decoded_from_driver(v) for k, v in value.items()}
    if type(value).__name__ == "SortedSet" or isinstance(value, (set, frozenset)):
        return {decoded_from_driver(v) for v in value}  # type: ignore[attr-defined]
    if isinstance(value, list):
        return [decoded_from_driver(v) for v in value]
    if isinstance(value, tuple):
        return tuple(decoded_from_driver(v) for v in value)
    return value


_TO_DECODED: dict[str, Callable[[Any], object]] = {
    "Time": lambda v: CqlTime(int(v.nanosecond_time)),
    "Duration": lambda v: Duration(v.months, v.days, v.nanoseconds),
    "Date": lambda v: v.date() if 1 <= v.date().year <= 9999 else CqlDate(v.days_from_epoch),
}


def _hashable(value: object) -> object:
    """Key values as dictionary keys: JSON lists and objects as their text."""
    if isinstance(value, (list, dict)):
        return _text(value)
    return value


def _cql_name(name: str) -> str:
    return name if name.islower() and name.isidentifier() else '"' + name.replace('"', '""') + '"'
