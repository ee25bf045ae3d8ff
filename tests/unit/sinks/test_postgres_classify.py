"""Table-driven test of the PostgreSQL sink's error classification (retry only what helps)."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors

from casscade.errors import PermanentSinkError, TransientSinkError
from casscade.sinks.postgres.sink import classify


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (psycopg.OperationalError("connection refused"), TransientSinkError),
        (psycopg.InterfaceError("the connection is closed"), TransientSinkError),
        (errors.SerializationFailure("could not serialize access"), TransientSinkError),
        (errors.DeadlockDetected("deadlock detected"), TransientSinkError),
        (errors.AdminShutdown("terminating connection"), TransientSinkError),
        (errors.NumericValueOutOfRange("value out of range"), PermanentSinkError),
        (errors.UndefinedColumn('column "x" does not exist'), PermanentSinkError),
        (errors.InsufficientPrivilege("permission denied"), PermanentSinkError),
        (psycopg.DataError("invalid input syntax"), PermanentSinkError),
    ],
)
def test_classify_driver_error_kind(error: psycopg.Error, expected: type[Exception]) -> None:
    """Unreachable servers and lost conflicts retry; data and schema problems do not."""
    result = classify("warehouse", error)
    assert type(result) is expected
    assert result.destination == "warehouse"
    assert "\n" not in str(result)
