"""The one object the agent reports to: it feeds the metrics, the status board and traces.

The agent makes one `Telemetry` (with `Telemetry.create`), one `DestinationTelemetry` per
destination (`telemetry.destination(...)`), and calls their methods where things happen; it
never touches the Prometheus registry or the board directly. Nothing here does I/O or raises
into the agent loop except a programming error.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager

from casscade.commitlog.position import Position
from casscade.events.model import ChangeEvent
from casscade.observability.batch import BatchSummary
from casscade.observability.board import BoardTiming, DestinationBoard, StatusBoard
from casscade.observability.config import HttpConfig
from casscade.observability.kinds import ErrorKind, error_kind
from casscade.observability.logging import bind_batch
from casscade.observability.metrics import Metrics
from casscade.observability.tracing import Attribute, Tracing

_MAX_MESSAGE = 300


def _message(exc: BaseException) -> str:
    """One line about an error: a sink error's own problem text, else the class and text."""
    problem = getattr(exc, "problem", None)
    text = problem if isinstance(problem, str) else f"{type(exc).__name__}: {exc}"
    return (text.strip().splitlines() or [""])[0][:_MAX_MESSAGE]


class Telemetry:
    """Metrics, status board and tracing of one agent.

    Args:
        metrics: the Prometheus metrics.
        board: the status board.
        tracing: spans (disabled when None).
    """

    def __init__(
        self, metrics: Metrics, board: StatusBoard, tracing: Tracing | None = None
    ) -> None:
        self.metrics = metrics
        self.board = board
        self.tracing = Tracing.disabled() if tracing is None else tracing

    @classmethod
    def create(
        cls, node_id: str, *, http: HttpConfig | None = None, tracing: Tracing | None = None
    ) -> Telemetry:
        """Fresh metrics and board for a node, with the health thresholds of `http`."""
        settings = HttpConfig() if http is None else http
        timing = BoardTiming(stall_after_s=settings.readiness_stall_s,
                             liveness_timeout_s=settings.liveness_timeout_s)  # fmt: skip
        return cls(Metrics(node_id), StatusBoard(node_id, timing=timing), tracing)

    def destination(
        self, name: str, type_: str, tables: Iterable[str] | None = None
    ) -> DestinationTelemetry:
        """Register a destination (at start-up, in configuration order); returns its handle."""
        wanted = None if tables is None else frozenset(tables)
        self.metrics.add_destination(name, wanted)
        return DestinationTelemetry(self, self.board.add_destination(name, type_, wanted))

    def heartbeat(self) -> None:
        """Call once per pass of the agent loop (liveness, history sampling)."""
        self.board.heartbeat()

    def stopped(self) -> None:
        """Call when the agent loop ends."""
        self.board.stopped()

    def source_reached(self) -> None:
        """The source's schema was read."""
        self.board.source_state(reachable=True)

    def source_unreachable(self, exc: BaseException) -> None:
        """Reading the source's schema failed."""
        self.board.source_state(reachable=False, error=_message(exc))

    def source_writes_seen(self, newest_by_table: Mapping[str, int]) -> None:
        """The newest write time (microseconds) per keyspace.table read from cdc_raw.

        Call once per pass with the maxima of the events built (see BatchSummary), not per
        event: it takes two locks.
        """
        self.metrics.source_writes_seen(newest_by_table)
        self.board.source_writes_seen(newest_by_table)

    def segment_decoded(self, size_bytes: int) -> None:
        """A segment, or the newly synced part of a live one, was decoded."""
        self.metrics.segment_decoded(size_bytes)
        self.board.source_progress(segments=1, decoded_bytes=size_bytes)

    def decode_error(self) -> None:
        """A commit-log section could not be decoded."""
        self.metrics.decode_error()
        self.board.source_progress(decode_errors=1)

    def schema_change(self) -> None:
        """A changed schema was picked up from the source."""
        self.metrics.schema_change()
        self.board.source_progress(schema_changes=1)

    def cdc_raw_usage(self, used_bytes: int, total_bytes: int) -> None:
        """Bytes in cdc_raw and Cassandra's cdc_total_space (after each clean-up)."""
        self.metrics.cdc_raw_usage(used_bytes, total_bytes)
        self.board.cdc_raw_usage(used_bytes, total_bytes)

    def span(self, name: str, **attributes: Attribute) -> AbstractContextManager[object]:
        """A tracing span (decode, vault, apply, ...), a no-op when tracing is off."""
        return self.tracing.span(name, **attributes)

    def close(self) -> None:
        """Flush traces."""
        self.tracing.shutdown()


class DestinationTelemetry:
    """What the agent reports about one destination."""

    def __init__(self, telemetry: Telemetry, board: DestinationBoard) -> None:
        self._telemetry = telemetry
        self._metrics = telemetry.metrics
        self._board = board
        self.name = board.name

    def reached(self, position: Position | None) -> None:
        """The destination answered: tables ensured, committed position read."""
        self._metrics.destination_up(self.name, up=True)
        self._board.reached(position)

    @contextmanager
    def batch(self, table: str | None = None) -> Iterator[str]:
        """Around the work of one batch: a correlation id on every log line inside, and a
        root `batch` span for its vault and apply spans. Yields the batch id."""
        with bind_batch(self.name, table) as batch_id, self._telemetry.span(
            "batch", destination=self.name, batch_id=batch_id
        ):  # fmt: skip
            yield batch_id

    def applied(
        self, events: Iterable[ChangeEvent], *, duration_s: float, position: Position
    ) -> BatchSummary:
        """Call right after a batch committed (its events, apply time, new position)."""
        summary = BatchSummary.of(events)
        self._metrics.batch_applied(self.name, summary, duration_s)
        self._board.batch_applied(summary, position)
        return summary

    def error(self, exc: BaseException, *, retry_in_s: float | None = None) -> ErrorKind:
        """An attempt failed with `exc`; pass `retry_in_s` when a retry was scheduled."""
        kind = error_kind(exc)
        self._metrics.destination_error(self.name, kind)
        if retry_in_s is not None:
            self._metrics.retry(self.name)
        self._board.error(kind, _message(exc), retry_in_s=retry_in_s)
        return kind

    def backlog(self, events: int) -> None:
        """Events decoded for the destination and not committed (after routing, flushing
        and backing off)."""
        self._metrics.backlog(self.name, events)
        self._board.backlog(events)

    def dead_letter(self, events: int = 1) -> None:
        """Events went to the dead-letter store."""
        self._metrics.dead_letter(self.name, events)
        self._board.dead_letter(events)
