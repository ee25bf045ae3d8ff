"""The oracle: does each destination table hold exactly Cassandra's `SELECT *`?

For each configured table and destination: read every row from Cassandra and from the
destination's view, put values in one comparable form, and report row counts, how many rows
are missing, extra or different, and the first differing keys. Reads whole tables: meant for
tests and for checks on tables that fit in memory.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import psycopg

from casscade.commitlog.schema import ColumnKind, TableSchema
from casscade.sinks.postgres.ddl import TableLayout, quote

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
    if hasattr(value, "date") and type(value).__name__ == "Date":  # the driver's Date
        return value.date()
    return value


class CqlSession(Protocol):
    """The part of a cassandra-driver Session the oracle uses."""

    def execute(self, query: str) -> Iterable[Sequence[object]]: ...


def compare_table(
    session: CqlSession,
    conn: psycopg.Connection[tuple[object, ...]],
    layout: TableLayout,
    name: str,
) -> TableReport:
    """Compare one table of one destination with Cassandra."""
    table: TableSchema = layout.table
    keys = [c.name for c in layout.keys]
    values = [c.name for c in table.columns.values() if c.kind is ColumnKind.REGULAR]
    columns = keys + sorted(values)
    # Identifiers only, each quoted where CQL needs it.
    cql = (f"SELECT {', '.join(_cql_name(c) for c in columns)} "  # noqa: S608
           f"FROM {_cql_name(table.keyspace)}.{_cql_name(table.name)}")  # fmt: skip
    source = _rows(session.execute(cql), len(keys))
    # Identifiers only, each quoted.
    sql = f"SELECT {', '.join(quote(c) for c in columns)} FROM {layout.qualified()}"  # noqa: S608
    target = _rows(conn.execute(sql).fetchall(), len(keys))
    missing = [k for k in source if k not in target]
    extra = [k for k in target if k not in source]
    different = [k for k in source if k in target and source[k] != target[k]]
    shown = (missing + extra + different)[:SHOWN_KEYS]
    return TableReport(
        destination=name,
        table=table.qualified_name,
        source_rows=len(source),
        destination_rows=len(target),
        missing=len(missing),
        extra=len(extra),
        different=len(different),
        first_keys=tuple(repr(k) for k in shown),
    )


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
