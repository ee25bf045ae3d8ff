"""Closed sets the operations surface reports: error kinds and destination states."""

from __future__ import annotations

from enum import StrEnum

from casscade.errors import ConfigError, PermanentSinkError, SinkError, TransientSinkError


class ErrorKind(StrEnum):
    """Why a destination could not apply a batch (the `kind` label of the error counter).

    TRANSIENT: unreachable or restarting; retried with backoff.
    PERMANENT: the destination rejected the data or its setup; not retried.
    INTERNAL: anything else the engine loop caught (a bug, or an unclassified driver error).
    """

    TRANSIENT = "transient"
    PERMANENT = "permanent"
    INTERNAL = "internal"


def error_kind(exc: BaseException) -> ErrorKind:
    """The kind of an exception caught in the engine loop (the sink already classified it)."""
    if isinstance(exc, TransientSinkError):
        return ErrorKind.TRANSIENT
    if isinstance(exc, (PermanentSinkError, ConfigError)):
        return ErrorKind.PERMANENT
    if isinstance(exc, SinkError):  # an unclassified sink error is retried by the engine
        return ErrorKind.TRANSIENT
    return ErrorKind.INTERNAL


class DestinationState(StrEnum):
    """Where a destination is in its lifecycle, as the status page shows it.

    STARTING: not reached yet since the agent started.
    RUNNING: reached; applying batches.
    RETRYING: the last attempt failed with a transient error; waiting to retry.
    FAILED: stopped by a permanent error; needs an operator.
    """

    STARTING = "starting"
    RUNNING = "running"
    RETRYING = "retrying"
    FAILED = "failed"
