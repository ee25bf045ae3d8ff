"""Table-driven test of how the PostgreSQL sink reports a refused connection (TLS, login)."""

from __future__ import annotations

import psycopg
import pytest

from casscade.errors import PermanentSinkError, TransientSinkError
from casscade.sinks.postgres.sink import classify

_AT = 'connection failed: connection to server at "127.0.0.1", port 5432 failed: '


@pytest.mark.parametrize(
    ("libpq", "expected"),
    [
        # Messages of libpq 18 (psycopg-binary 3.3), captured against a cluster with ssl=on.
        ("SSL error: certificate verify failed",
         "the server's TLS certificate could not be verified with the CA file (sslrootcert)"),
        ('server certificate for "db.internal" does not match host name "127.0.0.1"',
         "the server's TLS certificate does not name the configured host"),
        ('root certificate file "/nonexistent" does not exist',
         "the CA file (sslrootcert) cannot be read"),
        ('could not open certificate file "/c.pem": No such file or directory',
         "the client certificate or its key (sslcert, sslkey) cannot be read"),
        ('FATAL:  password authentication failed for user "casscade"',
         "authentication failed: wrong user or password"),
        ("server does not support SSL, but SSL was required",
         "the server does not offer TLS, which sslmode requires"),
        ('FATAL:  no pg_hba.conf entry for host "10.0.0.1", user "casscade", database "app", '
         "no encryption",
         "the server does not let this user in from here (pg_hba.conf)"),
    ],
)  # fmt: skip
def test_classify_refused_connection_permanent_one_line(libpq: str, expected: str) -> None:
    """A connection refused for TLS or credentials is permanent, and its one line starts
    with the setting to check, then libpq's words."""
    result = classify("warehouse", psycopg.OperationalError(_AT + libpq))
    assert isinstance(result, PermanentSinkError)
    assert str(result).startswith(f"destination warehouse: {expected} (")
    assert libpq.splitlines()[0] in str(result)
    assert "\n" not in str(result)


def test_classify_unreachable_server_stays_transient() -> None:
    """A server that does not answer is no refusal: retried as before."""
    error = psycopg.OperationalError(_AT + "Connection refused")
    assert isinstance(classify("warehouse", error), TransientSinkError)
