"""The status board: the agent writes what happens, the HTTP server reads snapshots.

One lock guards everything; every method holds it briefly and does no I/O, so the agent
loop never waits on a slow HTTP client. Throughput is counted over a sliding window, and a
ring buffer keeps a sample per destination every `sample_every_s` seconds for the last
`history_s` seconds (the status page's charts). Samples are taken when the board is touched
(the agent's heartbeat each pass, a batch, a /status read), so a busy or idle agent both
keep the history going.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from casscade import __version__
from casscade.commitlog.position import Position
from casscade.observability._lag import LagTracker
from casscade.observability._window import RateWindow
from casscade.observability.batch import BatchSummary
from casscade.observability.kinds import DestinationState, ErrorKind
from casscade.observability.status import (
    AgentStatus,
    Check,
    DestinationStatus,
    ErrorCounts,
    HistoryPoint,
    LastError,
    Readiness,
    SourceStatus,
)

# An error message is shown, not parsed: one line, short enough for a status page.
MAX_ERROR_CHARS = 300


def _one_line(message: str) -> str:
    line = message.strip().splitlines()[0] if message.strip() else ""
    return line[:MAX_ERROR_CHARS]


@dataclass(slots=True)
class _Entry:
    """One destination's mutable state on the board."""

    name: str
    type: str
    rate: RateWindow
    history: deque[HistoryPoint]
    state: DestinationState = DestinationState.STARTING
    position: Position | None = None
    applied: int = 0
    backlog: int = 0
    errors: dict[ErrorKind, int] = field(default_factory=dict)
    retries: int = 0
    dead_letters: int = 0
    last_error: LastError | None = None
    last_commit_at: float | None = None
    reached_at: float | None = None
    retry_at: float | None = None


@dataclass(slots=True)
class _Source:
    reachable: bool | None = None
    last_error: LastError | None = None
    segments: int = 0
    decoded_bytes: int = 0
    decode_errors: int = 0
    schema_changes: int = 0
    cdc_used: int | None = None
    cdc_total: int | None = None


@dataclass(frozen=True, slots=True)
class BoardTiming:
    """The board's time constants, in seconds.

    Attributes:
        window_s: the throughput window.
        history_s: how far back the history goes.
        sample_every_s: the history's sampling interval.
        stall_after_s: a destination with work and no commit for this long is stalled.
        liveness_timeout_s: the agent is not alive when it has not beaten for this long.
    """

    window_s: float = 30.0
    history_s: float = 600.0
    sample_every_s: float = 5.0
    stall_after_s: float = 300.0
    liveness_timeout_s: float = 120.0


class StatusBoard:
    """Thread-safe status of one agent.

    Args:
        node_id: the node the agent reads.
        timing: the window, history and health time constants.
        clock: wall-clock seconds since the epoch.
    """

    def __init__(
        self,
        node_id: str,
        *,
        timing: BoardTiming | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.node_id = node_id
        self.timing = BoardTiming() if timing is None else timing
        self._clock = clock
        self._lock = threading.Lock()
        self._samples = max(1, math.ceil(self.timing.history_s / self.timing.sample_every_s))
        self._started_at = clock()
        self._heartbeat_at = self._started_at
        self._stopped = False
        self._last_sample_at: float | None = None
        self._entries: dict[str, _Entry] = {}
        self._source = _Source()
        self._lag = LagTracker()

    def add_destination(
        self, name: str, type_: str, tables: frozenset[str] | None = None
    ) -> DestinationBoard:
        """Register a destination; returns the handle the agent reports its events to."""
        with self._lock:
            if name not in self._entries:
                self._entries[name] = _Entry(
                    name, type_, RateWindow(self.timing.window_s, started_at=self._started_at),
                    deque(maxlen=self._samples),
                )  # fmt: skip
            self._lag.add_destination(name, tables)
        return DestinationBoard(self, name)

    def heartbeat(self) -> None:
        """The agent loop completed a pass (liveness; also drives history sampling)."""
        with self._lock:
            self._heartbeat_at = self._clock()
            self._stopped = False
            self._sample(self._heartbeat_at)

    def stopped(self) -> None:
        """The agent loop has ended: liveness fails from now on."""
        with self._lock:
            self._stopped = True

    def source_state(self, *, reachable: bool, error: str | None = None) -> None:
        """The outcome of reading the source's schema."""
        with self._lock:
            self._source.reachable = reachable
            if error is not None:  # the schema read is retried: its failures are transient
                self._source.last_error = LastError(
                    ErrorKind.TRANSIENT, _one_line(error), self._clock()
                )

    def source_progress(
        self,
        *,
        segments: int = 0,
        decoded_bytes: int = 0,
        decode_errors: int = 0,
        schema_changes: int = 0,
    ) -> None:
        """Add to the source counters (segments and bytes decoded, errors, schema changes)."""
        with self._lock:
            s = self._source
            s.segments += segments
            s.decoded_bytes += decoded_bytes
            s.decode_errors += decode_errors
            s.schema_changes += schema_changes

    def source_writes_seen(self, newest_by_table: Mapping[str, int]) -> None:
        """The newest write time per table read from cdc_raw (for lag behind the source)."""
        with self._lock:
            self._lag.seen(newest_by_table)

    def cdc_raw_usage(self, used_bytes: int, total_bytes: int) -> None:
        """Bytes in cdc_raw and Cassandra's cdc_total_space."""
        with self._lock:
            self._source.cdc_used = used_bytes
            self._source.cdc_total = total_bytes

    def liveness(self) -> tuple[bool, float]:
        """Whether the agent loop is alive, and seconds since its last heartbeat."""
        with self._lock:
            return self._is_alive(self._clock())

    def readiness(self) -> Readiness:
        """The readiness checks: agent alive, source reachable, each destination running."""
        with self._lock:
            return self._readiness(self._clock())

    def snapshot(self) -> AgentStatus:
        """Everything, as of now."""
        with self._lock:
            now = self._clock()
            self._sample(now)
            s = self._source
            source = SourceStatus(s.reachable, s.last_error, s.segments, s.decoded_bytes,
                                  s.decode_errors, s.schema_changes, s.cdc_used,
                                  s.cdc_total)  # fmt: skip
            destinations = tuple(self._destination(e, now) for e in self._entries.values())
            return AgentStatus(
                node_id=self.node_id,
                version=__version__,
                started_at=self._started_at,
                now=now,
                alive=self._is_alive(now)[0],
                ready=self._readiness(now).ready,
                window_s=self.timing.window_s,
                source=source,
                destinations=destinations,
            )

    # Under the lock from here on.

    def _is_alive(self, now: float) -> tuple[bool, float]:
        age = max(0.0, now - self._heartbeat_at)
        return (not self._stopped and age <= self.timing.liveness_timeout_s), age

    def _readiness(self, now: float) -> Readiness:
        alive, age = self._is_alive(now)
        checks = [Check("agent", alive, "running" if alive else
                        ("stopped" if self._stopped else f"no pass for {age:.0f} s"))]  # fmt: skip
        reachable = self._source.reachable
        detail = {None: "not checked yet", True: "schema readable", False: "unreachable"}
        checks.append(Check("source", reachable is True, detail[reachable],
                            self._source.last_error))  # fmt: skip
        for entry in self._entries.values():
            stalled = self._is_stalled(entry, now)
            ok = entry.state is DestinationState.RUNNING and not stalled
            text = "stalled" if stalled else entry.state.value
            checks.append(Check(entry.name, ok, text, entry.last_error))
        return Readiness(all(c.ok for c in checks), tuple(checks))

    def _is_stalled(self, entry: _Entry, now: float) -> bool:
        if entry.state is not DestinationState.RUNNING:
            return False
        behind = self._lag.behind_source_s(entry.name)
        if entry.backlog == 0 and not behind:
            return False
        since = entry.last_commit_at if entry.last_commit_at is not None else entry.reached_at
        return since is not None and now - since > self.timing.stall_after_s

    def _destination(self, e: _Entry, now: float) -> DestinationStatus:
        return DestinationStatus(
            name=e.name,
            type=e.type,
            state=e.state,
            stalled=self._is_stalled(e, now),
            position=e.position,
            lag_s=self._lag.lag_s(e.name, now),
            lag_behind_source_s=self._lag.behind_source_s(e.name),
            events_per_s=e.rate.rate(now),
            applied_events=e.applied,
            backlog_events=e.backlog,
            errors=ErrorCounts(**{k.value: e.errors.get(k, 0) for k in ErrorKind}),
            retries=e.retries,
            dead_letters=e.dead_letters,
            last_error=e.last_error,
            last_commit_at=e.last_commit_at,
            retry_at=e.retry_at if e.state is DestinationState.RETRYING else None,
            history=tuple(e.history),
        )

    def _sample(self, now: float) -> None:
        last = self._last_sample_at
        if last is not None and now - last < self.timing.sample_every_s:
            return
        self._last_sample_at = now
        for e in self._entries.values():
            lag = self._lag.behind_source_s(e.name)
            e.history.append(HistoryPoint(now, lag, e.rate.rate(now), e.backlog))


class DestinationBoard:
    """One destination's handle on the board (from `StatusBoard.add_destination`)."""

    def __init__(self, board: StatusBoard, name: str) -> None:
        self._board = board
        self.name = name

    def reached(self, position: Position | None) -> None:
        """The destination answered (tables ensured, position read): it is running."""
        b = self._board
        with b._lock:
            e = b._entries[self.name]
            e.state = DestinationState.RUNNING
            e.reached_at = b._clock()
            e.retry_at = None
            if position is not None:
                e.position = position

    def batch_applied(self, batch: BatchSummary, position: Position) -> None:
        """A batch was committed up to `position`."""
        b = self._board
        with b._lock:
            now = b._clock()
            e = b._entries[self.name]
            e.state = DestinationState.RUNNING
            e.position = position
            e.applied += batch.events
            e.rate.add(now, batch.events)
            e.last_commit_at = now
            e.retry_at = None
            b._lag.applied(self.name, batch.newest_by_table)
            b._sample(now)

    def error(self, kind: ErrorKind, message: str, *, retry_in_s: float | None = None) -> None:
        """An attempt failed; with `retry_in_s` a retry is scheduled (RETRYING), and a
        PERMANENT error without one stops the destination (FAILED)."""
        b = self._board
        with b._lock:
            now = b._clock()
            e = b._entries[self.name]
            e.last_error = LastError(kind, _one_line(message), now)
            e.errors[kind] = e.errors.get(kind, 0) + 1
            if retry_in_s is not None:
                e.retries += 1
                e.state = DestinationState.RETRYING
                e.retry_at = now + retry_in_s
            elif kind is ErrorKind.PERMANENT:
                e.state = DestinationState.FAILED

    def backlog(self, events: int) -> None:
        """Events decoded for the destination and not committed yet."""
        with self._board._lock:
            self._board._entries[self.name].backlog = events

    def dead_letter(self, events: int = 1) -> None:
        """Events went to the dead-letter store."""
        with self._board._lock:
            self._board._entries[self.name].dead_letters += events
