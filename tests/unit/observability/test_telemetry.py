"""Telemetry: one call from the agent feeds the metrics and the status board alike."""

from __future__ import annotations

import structlog
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from casscade.commitlog.position import Position
from casscade.errors import PermanentSinkError, TransientSinkError
from casscade.observability.config import HttpConfig
from casscade.observability.kinds import DestinationState, ErrorKind, error_kind
from casscade.observability.telemetry import Telemetry
from casscade.observability.tracing import Tracing
from tests.unit.observability._support import T0, event


def sample(t: Telemetry, name: str, **labels: str) -> float | None:
    return t.metrics.registry.get_sample_value(name, labels)


def test_telemetry_applied_updates_metrics_and_board() -> None:
    """A committed batch shows in the counters and in the destination's status."""
    t = Telemetry.create("n1")
    pg = t.destination("pg", "postgres", ["ks.t"])
    pg.reached(Position(1, 0))
    summary = pg.applied([event(written_s=T0), event(written_s=T0, key=2)], duration_s=0.02,
                         position=Position(1, 50))  # fmt: skip
    assert summary.events == 2
    assert sample(t, "casscade_destination_events_applied_total", destination="pg",
                  table="ks.t") == 2  # fmt: skip
    status = t.board.snapshot().destinations[0]
    assert (status.applied_events, status.position) == (2, Position(1, 50))


def test_telemetry_transient_error_counts_error_and_retry() -> None:
    """A transient sink error is counted by kind, counts a retry, and sets RETRYING."""
    t = Telemetry.create("n1")
    pg = t.destination("pg", "postgres")
    kind = pg.error(TransientSinkError("pg", "server closed the connection"), retry_in_s=0.5)
    assert kind is ErrorKind.TRANSIENT
    assert sample(t, "casscade_destination_errors_total", destination="pg",
                  kind="transient") == 1  # fmt: skip
    assert sample(t, "casscade_destination_retries_total", destination="pg") == 1
    status = t.board.snapshot().destinations[0]
    assert status.state is DestinationState.RETRYING
    assert status.last_error is not None
    assert status.last_error.message == "server closed the connection"


def test_telemetry_permanent_error_fails_the_destination() -> None:
    """A permanent error without a retry stops the destination; no retry is counted."""
    t = Telemetry.create("n1")
    pg = t.destination("pg", "postgres")
    pg.error(PermanentSinkError("pg", "table ks.t does not exist"))
    assert sample(t, "casscade_destination_retries_total", destination="pg") == 0
    assert t.board.snapshot().destinations[0].state is DestinationState.FAILED


def test_error_kind_of_exceptions() -> None:
    """Sink errors map to their class's kind; anything else is internal."""
    assert error_kind(TransientSinkError("d", "p")) is ErrorKind.TRANSIENT
    assert error_kind(PermanentSinkError("d", "p")) is ErrorKind.PERMANENT
    assert error_kind(KeyError("x")) is ErrorKind.INTERNAL


def test_telemetry_internal_error_message_names_the_class() -> None:
    """An unexpected exception is shown as its class and first line."""
    t = Telemetry.create("n1")
    pg = t.destination("pg", "postgres")
    pg.error(ValueError("bad thing\nwith details"))
    last = t.board.snapshot().destinations[0].last_error
    assert last is not None
    assert (last.kind, last.message) == (ErrorKind.INTERNAL, "ValueError: bad thing")


def test_telemetry_source_calls_reach_both() -> None:
    """Source progress, cdc_raw usage and reachability land in metrics and board."""
    t = Telemetry.create("n1")
    t.segment_decoded(2048)
    t.decode_error()
    t.schema_change()
    t.cdc_raw_usage(100, 400)
    t.source_unreachable(OSError("connection refused"))
    source = t.board.snapshot().source
    assert (source.decoded_bytes, source.decode_errors, source.schema_changes) == (2048, 1, 1)
    assert source.cdc_raw_used_ratio == 0.25
    assert source.reachable is False
    assert sample(t, "casscade_source_decoded_bytes_total") == 2048
    assert sample(t, "casscade_source_cdc_raw_used_bytes") == 100
    t.source_reached()
    assert t.board.snapshot().source.reachable is True


def test_telemetry_backlog_and_dead_letters() -> None:
    """Backlog and dead letters reach the gauge/counter and the board."""
    t = Telemetry.create("n1")
    pg = t.destination("pg", "postgres")
    pg.backlog(17)
    pg.dead_letter(2)
    assert sample(t, "casscade_destination_backlog_events", destination="pg") == 17
    assert sample(t, "casscade_destination_dead_letters_total", destination="pg") == 2
    status = t.board.snapshot().destinations[0]
    assert (status.backlog_events, status.dead_letters) == (17, 2)


def test_telemetry_batch_binds_logs_and_opens_a_span() -> None:
    """Inside batch(): the log context has the batch id and a `batch` span is open."""
    exporter = InMemorySpanExporter()
    t = Telemetry.create("n1", tracing=Tracing.with_exporter(exporter))
    pg = t.destination("pg", "postgres")
    with pg.batch() as batch_id:
        context = structlog.contextvars.get_contextvars()
        with t.span("apply"):
            pass
    assert context == {"batch_id": batch_id, "destination": "pg"}
    assert structlog.contextvars.get_contextvars() == {}
    names = sorted(s.name for s in exporter.get_finished_spans())
    assert names == ["casscade.apply", "casscade.batch"]


def test_telemetry_create_takes_health_thresholds_from_http_config() -> None:
    """readiness_stall_s and liveness_timeout_s reach the board."""
    t = Telemetry.create("n1", http=HttpConfig(readiness_stall_s=7, liveness_timeout_s=9))
    assert (t.board.timing.stall_after_s, t.board.timing.liveness_timeout_s) == (7, 9)
