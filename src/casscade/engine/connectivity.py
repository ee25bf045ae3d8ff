"""Can the agent log into each destination? (`casscade check-config --connect`)

Opens one connection per destination with the settings of the file (credentials, TLS) and
runs `SELECT 1`; it creates nothing and writes nothing. A failure is the same one-line
SinkError the agent would report (a refused connection is permanent, with the setting to
check), so the check and the agent never disagree.
"""

from __future__ import annotations

import psycopg

from casscade.config.models import ClickHouseDestination, Destination
from casscade.sinks.clickhouse.client import open_client
from casscade.sinks.clickhouse.sink import classify as classify_clickhouse
from casscade.sinks.postgres.sink import classify as classify_postgres

# Seconds to wait for a destination to answer; the agent's sinks wait as long.
CONNECT_TIMEOUT_S = 10


def check_destination(destination: Destination) -> None:
    """Connect to `destination` and run `SELECT 1`.

    Raises:
        casscade.errors.SinkError: TransientSinkError (unreachable) or PermanentSinkError
            (refused: a certificate that cannot be verified, wrong credentials), one line
            and no secret.
    """
    if isinstance(destination, ClickHouseDestination):
        _check_clickhouse(destination)
        return
    try:
        with psycopg.connect(destination.conninfo(), connect_timeout=CONNECT_TIMEOUT_S) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        raise classify_postgres(destination.name, exc) from exc


def _check_clickhouse(destination: ClickHouseDestination) -> None:
    try:
        client = open_client(destination.dsn, destination.client_options())
        try:
            client.command("SELECT 1")
        finally:
            client.close()
    except Exception as exc:  # clickhouse-connect and chDB raise their own types
        raise classify_clickhouse(destination.name, exc) from exc
