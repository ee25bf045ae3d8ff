"""Metrics: the values in the registry after the agent's calls."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from casscade.observability.batch import BatchSummary
from casscade.observability.kinds import ErrorKind
from casscade.observability.metrics import Metrics
from tests.unit.observability._support import T0, FakeClock, event


def value(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


@pytest.fixture
def metrics(clock: FakeClock) -> Metrics:
    m = Metrics("node1", clock=clock)
    m.add_destination("pg", frozenset({"ks.t", "ks.u"}))
    return m


def test_metrics_add_destination_creates_zero_series(metrics: Metrics) -> None:
    """A new destination is down, with zero errors of each kind and zero applied per table."""
    assert value(metrics, "casscade_destination_up", destination="pg") == 0
    for kind in ErrorKind:
        labels = {"destination": "pg", "kind": kind.value}
        assert value(metrics, "casscade_destination_errors_total", **labels) == 0
    for table in ("ks.t", "ks.u"):
        labels = {"destination": "pg", "table": table}
        assert value(metrics, "casscade_destination_events_applied_total", **labels) == 0
    assert value(metrics, "casscade_agent_info", node_id="node1", version="0.1.0") == 1


def test_metrics_batch_applied_counts_tables_sizes_and_latency(
    metrics: Metrics, clock: FakeClock
) -> None:
    """A batch counts per table, observes its size and apply time, and each event's latency."""
    events = [event("ks.t", written_s=T0 - 0.2), event("ks.t", written_s=T0 - 3),
              event("ks.u", written_s=T0 - 40)]  # fmt: skip
    metrics.batch_applied("pg", BatchSummary.of(events), duration_s=0.03)
    applied = "casscade_destination_events_applied_total"
    assert value(metrics, applied, destination="pg", table="ks.t") == 2
    assert value(metrics, applied, destination="pg", table="ks.u") == 1
    assert value(metrics, "casscade_destination_batch_size_events_sum", destination="pg") == 3
    assert value(metrics, "casscade_destination_apply_duration_seconds_sum",
                 destination="pg") == pytest.approx(0.03)  # fmt: skip
    latency = "casscade_destination_end_to_end_latency_seconds"
    assert value(metrics, f"{latency}_count", destination="pg") == 3
    assert value(metrics, f"{latency}_bucket", destination="pg", le="0.25") == 1
    assert value(metrics, f"{latency}_bucket", destination="pg", le="5.0") == 2
    assert value(metrics, f"{latency}_bucket", destination="pg", le="30.0") == 2
    assert value(metrics, f"{latency}_bucket", destination="pg", le="60.0") == 3
    assert value(metrics, f"{latency}_sum", destination="pg") == pytest.approx(43.2)
    assert value(metrics, "casscade_destination_up", destination="pg") == 1
    assert value(metrics, "casscade_destination_last_commit_timestamp_seconds",
                 destination="pg") == T0  # fmt: skip


def test_metrics_future_write_time_counts_as_zero_latency(metrics: Metrics) -> None:
    """A client timestamp ahead of the clock lands in the lowest bucket, not below zero."""
    metrics.batch_applied("pg", BatchSummary.of([event(written_s=T0 + 5)]), duration_s=0.01)
    name = "casscade_destination_end_to_end_latency_seconds"
    assert value(metrics, f"{name}_bucket", destination="pg", le="0.05") == 1
    assert value(metrics, f"{name}_sum", destination="pg") == 0


def test_metrics_lag_grows_with_the_clock_between_batches(
    metrics: Metrics, clock: FakeClock
) -> None:
    """The lag gauge is computed at scrape time: it keeps growing while nothing commits."""
    assert value(metrics, "casscade_destination_lag_seconds", destination="pg") is None
    metrics.batch_applied("pg", BatchSummary.of([event(written_s=T0 - 2)]), duration_s=0.01)
    assert value(metrics, "casscade_destination_lag_seconds", destination="pg") == 2
    clock.advance(60)
    assert value(metrics, "casscade_destination_lag_seconds", destination="pg") == 62


def test_metrics_lag_behind_source_looks_only_at_the_destinations_tables(
    metrics: Metrics,
) -> None:
    """Newer writes seen for its tables make it lag; writes of other tables do not."""
    name = "casscade_destination_lag_behind_source_seconds"
    metrics.batch_applied("pg", BatchSummary.of([event("ks.t", written_s=T0 - 10)]), 0.01)
    assert value(metrics, name, destination="pg") == 0
    metrics.source_writes_seen({"ks.other": int((T0 - 1) * 1e6)})
    assert value(metrics, name, destination="pg") == 0
    metrics.source_writes_seen({"ks.t": int((T0 - 4) * 1e6)})
    assert value(metrics, name, destination="pg") == pytest.approx(6)
    # ks.u was never committed since the start: measured from pg's newest commit (T0 - 10).
    metrics.source_writes_seen({"ks.u": int((T0 - 1) * 1e6)})
    assert value(metrics, name, destination="pg") == pytest.approx(9)


def test_metrics_errors_retries_backlog_and_dead_letters(metrics: Metrics) -> None:
    """Errors count by kind and mark the destination down; the other calls set their series."""
    metrics.destination_up("pg", up=True)
    metrics.destination_error("pg", ErrorKind.TRANSIENT)
    metrics.destination_error("pg", ErrorKind.TRANSIENT)
    metrics.destination_error("pg", ErrorKind.PERMANENT)
    metrics.retry("pg")
    metrics.backlog("pg", 1234)
    metrics.dead_letter("pg", 3)
    errors = "casscade_destination_errors_total"
    assert value(metrics, errors, destination="pg", kind="transient") == 2
    assert value(metrics, errors, destination="pg", kind="permanent") == 1
    assert value(metrics, errors, destination="pg", kind="internal") == 0
    assert value(metrics, "casscade_destination_up", destination="pg") == 0
    assert value(metrics, "casscade_destination_retries_total", destination="pg") == 1
    assert value(metrics, "casscade_destination_backlog_events", destination="pg") == 1234
    assert value(metrics, "casscade_destination_dead_letters_total", destination="pg") == 3


def test_metrics_source_counters_and_cdc_raw_usage(metrics: Metrics) -> None:
    """Segments, bytes, decode errors, schema changes and cdc_raw usage are agent-wide."""
    metrics.segment_decoded(1000)
    metrics.segment_decoded(24)
    metrics.decode_error()
    metrics.schema_change()
    metrics.cdc_raw_usage(used_bytes=300, total_bytes=4096)
    assert value(metrics, "casscade_source_segments_decoded_total") == 2
    assert value(metrics, "casscade_source_decoded_bytes_total") == 1024
    assert value(metrics, "casscade_source_decode_errors_total") == 1
    assert value(metrics, "casscade_source_schema_changes_total") == 1
    assert value(metrics, "casscade_source_cdc_raw_used_bytes") == 300
    assert value(metrics, "casscade_source_cdc_raw_total_bytes") == 4096


def test_metrics_add_destination_again_keeps_its_state(metrics: Metrics) -> None:
    """Registering a running destination a second time does not mark it down."""
    metrics.destination_up("pg", up=True)
    metrics.add_destination("pg", frozenset({"ks.t"}))
    assert value(metrics, "casscade_destination_up", destination="pg") == 1


def test_metrics_two_instances_keep_separate_registries() -> None:
    """Two agents in one process register the same names without colliding."""
    first, second = Metrics("a"), Metrics("b")
    first.segment_decoded(10)
    assert first.registry is not second.registry
    assert value(first, "casscade_source_decoded_bytes_total") == 10
    assert value(second, "casscade_source_decoded_bytes_total") == 0


def test_metrics_given_registry_is_used() -> None:
    """A registry passed in receives the metrics."""
    registry = CollectorRegistry()
    Metrics("a", registry=registry).schema_change()
    assert registry.get_sample_value("casscade_source_schema_changes_total") == 1


def test_metrics_every_name_follows_the_naming_rule() -> None:
    """Every metric is casscade_<area>_... and ends in a unit, _total, _info or _up."""
    metrics = Metrics("a")
    families = list(metrics.registry.collect())
    assert len(families) == 19
    for family in families:
        exposed = family.name + "_total" if family.type == "counter" else family.name
        assert exposed.startswith(("casscade_destination_", "casscade_source_", "casscade_agent_"))
        assert exposed.endswith(("_total", "_seconds", "_bytes", "_events", "_info", "_up"))
