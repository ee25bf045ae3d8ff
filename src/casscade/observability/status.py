"""The agent's status as values: what /status, /readyz and the status page show.

Frozen dataclasses built by `StatusBoard.snapshot()` / `readiness()` (board.py) and turned
into JSON by `to_json`. They hold names, positions, counts, times and error messages; never
a row, key or value. Times are Unix seconds.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import Enum
from typing import Any

from casscade.commitlog.position import Position
from casscade.observability.kinds import DestinationState, ErrorKind


@dataclass(frozen=True, slots=True)
class LastError:
    """The most recent error of a dependency.

    Attributes:
        kind: what kind of error.
        message: the error in one line (truncated; no values).
        at: when it happened.
    """

    kind: ErrorKind
    message: str
    at: float


@dataclass(frozen=True, slots=True)
class ErrorCounts:
    """Errors of one destination since the agent started, by kind."""

    transient: int = 0
    permanent: int = 0
    internal: int = 0

    @property
    def total(self) -> int:
        """All errors."""
        return self.transient + self.permanent + self.internal


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    """One sample of a destination's history (the status page's charts).

    Attributes:
        at: when it was taken.
        lag_s: lag behind the source, None before the first commit.
        events_per_s: throughput over the board's window.
        backlog_events: events decoded and not committed.
    """

    at: float
    lag_s: float | None
    events_per_s: float
    backlog_events: int


@dataclass(frozen=True, slots=True)
class DestinationStatus:
    """One destination.

    Attributes:
        name: as configured.
        type: postgres, timescaledb, clickhouse, ...
        state: its lifecycle state.
        stalled: it has work (backlog or lag) but committed nothing for too long.
        position: the committed position in this node's commit log.
        lag_s: now minus the write time of the newest committed change.
        lag_behind_source_s: newest write read from cdc_raw minus newest committed.
        events_per_s: events committed per second over the board's window.
        applied_events: events committed since the agent started.
        backlog_events: events decoded and not committed.
        errors: failed attempts since the agent started.
        retries: retries scheduled since the agent started.
        dead_letters: events sent to the dead-letter store since the agent started.
        last_error: the most recent error, if any.
        last_commit_at: when it last committed.
        retry_at: when the next attempt is due while RETRYING.
        history: samples over the last minutes, oldest first.
    """

    name: str
    type: str
    state: DestinationState
    stalled: bool
    position: Position | None
    lag_s: float | None
    lag_behind_source_s: float | None
    events_per_s: float
    applied_events: int
    backlog_events: int
    errors: ErrorCounts
    retries: int
    dead_letters: int
    last_error: LastError | None
    last_commit_at: float | None
    retry_at: float | None
    history: tuple[HistoryPoint, ...]


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """The source node: its schema connection and what was read from cdc_raw.

    Attributes:
        reachable: the last schema read succeeded (None: not tried yet).
        last_error: the last failure to read the schema.
        segments_decoded, decoded_bytes, decode_errors, schema_changes: since the start.
        cdc_raw_used_bytes, cdc_raw_total_bytes: cdc_raw usage and Cassandra's
            cdc_total_space (None until reported).
    """

    reachable: bool | None
    last_error: LastError | None
    segments_decoded: int
    decoded_bytes: int
    decode_errors: int
    schema_changes: int
    cdc_raw_used_bytes: int | None
    cdc_raw_total_bytes: int | None

    @property
    def cdc_raw_used_ratio(self) -> float | None:
        """Used / total, None while unknown."""
        if self.cdc_raw_used_bytes is None or not self.cdc_raw_total_bytes:
            return None
        return self.cdc_raw_used_bytes / self.cdc_raw_total_bytes


@dataclass(frozen=True, slots=True)
class Check:
    """One readiness check.

    Attributes:
        name: `agent`, `source`, or a destination's name.
        ok: the check passes.
        detail: why it passes or fails, in a few words.
        last_error: the dependency's most recent error, if any.
    """

    name: str
    ok: bool
    detail: str
    last_error: LastError | None = None


@dataclass(frozen=True, slots=True)
class Readiness:
    """Whether the agent is ready: every check passes."""

    ready: bool
    checks: tuple[Check, ...]


@dataclass(frozen=True, slots=True)
class AgentStatus:
    """The whole agent, as /status returns it.

    Attributes:
        node_id: the node this agent reads.
        version: casscade's version.
        started_at: when the agent started.
        now: when the snapshot was taken.
        alive: the agent loop is running (as /healthz says).
        ready: every readiness check passes (as /readyz says).
        window_s: the throughput window.
        source: the source node.
        destinations: every destination, in configuration order.
    """

    node_id: str
    version: str
    started_at: float
    now: float
    alive: bool
    ready: bool
    window_s: float
    source: SourceStatus
    destinations: tuple[DestinationStatus, ...]


def to_json(value: object) -> Any:  # noqa: ANN401 - a serialization edge (STYLE.md 4)
    """A JSON-ready form: dataclasses become objects (properties included), enums their
    values, positions "segment:offset", tuples lists."""
    if isinstance(value, Position):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
        for name, attribute in vars(type(value)).items():
            if isinstance(attribute, property):
                out[name] = to_json(getattr(value, name))
        return out
    if isinstance(value, (tuple, list)):
        return [to_json(item) for item in value]
    return value
