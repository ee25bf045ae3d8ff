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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import psycopg

from casscade.commitlog.schema import ColumnKind, TableSchema
from casscade.config.models import ClickHouseDestination, Destination
from casscade.sinks.clickhouse.ddl import ClickHouseLayout
from casscade.sinks.clickhouse.ddl import quote as ch_quote
from casscade.sinks.postgres.ddl import TableLayout
from casscade.sinks.postgres.ddl import quote as pg_quote

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


class CqlSession(Protocol):
    """The part of a cassandra-driver Session the oracle uses."""

    def execute(self, query: str) -> Iterable[Sequence[object]]: ...


Fetch = Callable[[list[str]], Iterable[Sequence[object]]]


def compare_table(
    session: CqlSession, table: TableSchema, fetch: Fetch, destination: str
) -> TableReport:
    """Compare one table with Cassandra; `fetch(columns)` reads them from the destination."""
    keys = [c.name for c in table.partition_key + table.clustering]
    values = [c.name for c in table.columns.values() if c.kind is ColumnKind.REGULAR]
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
    source = _rows(session.execute(cql), len(keys))
    target = _rows(fetch(columns), len(keys))
    missing = [k for k in source if k not in target]
    extra = [k for k in target if k not in source]
    different = [k for k in source if k in target and source[k] != target[k]]
    shown = (missing + extra + different)[:SHOWN_KEYS]
    return TableReport(
        destination=destination,
        table=table.qualified_name,
        source_rows=len(source),
        destination_rows=len(target),
        missing=len(missing),
        extra=len(extra),
        different=len(different),
        first_keys=tuple(repr(k) for k in shown),
    )


def verify_destination(
    session: CqlSession, destination: Destination, tables: Sequence[TableSchema]
) -> list[TableReport]:
    """Compare every given table of one destination (PostgreSQL, TimescaleDB or ClickHouse)."""
    if isinstance(destination, ClickHouseDestination):
        return _verify_clickhouse(session, destination, tables)
    prepare = 5 if destination.prepared_statements else None
    reports = []
    with psycopg.connect(destination.conninfo(), prepare_threshold=prepare) as conn:
        for table in tables:
            view = TableLayout(table, destination.schema_prefix + table.keyspace).qualified()

            def fetch(columns: list[str], view: str = view) -> list[tuple[object, ...]]:
                # Identifiers only, each quoted.
                sql = f"SELECT {', '.join(pg_quote(c) for c in columns)} FROM {view}"  # noqa: S608
                return conn.execute(sql).fetchall()

            reports.append(compare_table(session, table, fetch, destination.name))
    return reports


def _verify_clickhouse(
    session: CqlSession, destination: ClickHouseDestination, tables: Sequence[TableSchema]
) -> list[TableReport]:
    import clickhouse_connect  # noqa: PLC0415 - loads the embedded engine when chDB

    client = clickhouse_connect.get_client(dsn=destination.dsn)
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

            reports.append(compare_table(session, table, fetch, destination.name))
    finally:
        client.close()
    return reports


def _rows(
    rows: Iterable[Sequence[object]], key_count: int
) -> dict[tuple[object, ...], tuple[object, ...]]:
    out: dict[tuple[object, ...], tuple[object, ...]] = {}
    for row in rows:
        values = tuple(comparable(v) for v in row)
        out[values[:key_count]] = values[key_count:]
    return out


def _cql_name(name: str) -> str:
    return name if name.islower() and name.isidentifier() else '"' + name.replace('"', '""') + '"'
