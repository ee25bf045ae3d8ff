"""`casscade audit`: scan what the destinations hold for values that look like raw PII.

Reads every configured table's view in every destination and hands the rows to the masking
scanner (casscade.masking.audit): raw emails, SSNs, phone numbers, card numbers (Luhn), the
configured patterns, and classified columns whose values are not in masked form. Findings
name the table, column and kind, never a value.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import psycopg
from psycopg.rows import dict_row

from casscade.config.models import AgentConfig, ClickHouseDestination, Destination
from casscade.errors import SinkError
from casscade.masking import AuditReport, AuditScanner
from casscade.sinks.clickhouse.client import open_client
from casscade.sinks.clickhouse.ddl import quote as ch_quote
from casscade.sinks.clickhouse.sink import classify as classify_clickhouse
from casscade.sinks.postgres.ddl import quote as pg_quote
from casscade.sinks.postgres.sink import classify as classify_postgres


def audit_destination(config: AgentConfig, destination: Destination) -> list[AuditReport]:
    """Scan every table the destination receives.

    Raises:
        SinkError: the destination cannot be read (one line, transient or permanent).
    """
    scanner = AuditScanner(config.masking)
    return [
        scanner.scan_table(table, _rows(destination, table))
        for table in config.tables_for(destination)
    ]


def _rows(destination: Destination, table: str) -> Iterator[Mapping[str, object]]:
    keyspace, name = table.split(".", 1)
    if isinstance(destination, ClickHouseDestination):
        yield from _clickhouse_rows(destination, keyspace, name)
        return
    view = f"{pg_quote(destination.schema_prefix + keyspace)}.{pg_quote(name)}"
    try:
        with psycopg.connect(destination.conninfo(), row_factory=dict_row) as conn:
            yield from conn.execute(f"SELECT * FROM {view}")  # noqa: S608 - quoted names
    except psycopg.Error as exc:
        raise classify_postgres(destination.name, exc) from exc


def _clickhouse_rows(
    destination: ClickHouseDestination, keyspace: str, name: str
) -> Iterator[Mapping[str, object]]:
    view = f"{ch_quote(destination.database_prefix + keyspace)}.{ch_quote(name)}"
    try:
        client = open_client(destination.dsn, destination.client_options())
        try:
            yield from client.query(f"SELECT * FROM {view}").named_results()  # noqa: S608
        finally:
            client.close()
    except SinkError:
        raise
    except Exception as exc:  # clickhouse-connect and chDB raise their own types
        raise classify_clickhouse(destination.name, exc) from exc
