"""Every Prometheus metric casscade exports, in one class with its own registry.

Names follow `casscade_<area>_<name>_<unit>` (STYLE.md section 8); counters end in `_total`.
Labels stay low-cardinality: `destination`, `table` (keyspace.table) and `kind` (ErrorKind),
never a key or a value. Each `Metrics` owns a `CollectorRegistry`, so several agents (or
tests) in one process never collide. docs/operations.md describes each metric.

The lag gauges are computed when Prometheus scrapes (now minus a stored write time), so they
keep growing while a destination is stuck instead of freezing at the last batch's value.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from casscade import __version__
from casscade.observability._lag import US_PER_S, LagTracker
from casscade.observability.batch import BatchSummary
from casscade.observability.kinds import ErrorKind

# Batches are cut at BatchConfig.max_events (default 5,000): buckets around that.
BATCH_SIZE_BUCKETS = (1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10000, 50000)
# One apply is a COPY plus a merge statement: milliseconds to tens of seconds.
APPLY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
# Source write to commit: sub-second when caught up, up to an hour after an outage.
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)

_DEST = ("destination",)


class Metrics:
    """The agent's metrics. Thread-safe; the agent calls the methods, /metrics reads them.

    Args:
        node_id: the node the agent reads (the `node_id` label of casscade_agent_info).
        registry: where to register (a new CollectorRegistry when None).
        clock: wall-clock seconds since the epoch (write times are wall-clock too).
    """

    def __init__(
        self,
        node_id: str = "",
        *,
        registry: CollectorRegistry | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.registry = CollectorRegistry() if registry is None else registry
        self._clock = clock
        self._lock = threading.Lock()
        self._lag = LagTracker()
        self._destinations: list[str] = []
        r = self.registry
        info = Gauge("casscade_agent_info", "Always 1; labels name the agent.",
                     ("node_id", "version"), registry=r)  # fmt: skip
        info.labels(node_id, __version__).set(1)
        self._up = Gauge("casscade_destination_up",
                         "1 while the destination is reachable, 0 while it is not.",
                         _DEST, registry=r)  # fmt: skip
        self._last_commit = Gauge("casscade_destination_last_commit_timestamp_seconds",
                                  "When the destination last committed a batch (Unix time).",
                                  _DEST, registry=r)  # fmt: skip
        self._applied = Counter("casscade_destination_events_applied_total",
                                "Change events committed in the destination.",
                                ("destination", "table"), registry=r)  # fmt: skip
        self._errors = Counter("casscade_destination_errors_total",
                               "Failed attempts to apply a batch, by kind.",
                               ("destination", "kind"), registry=r)  # fmt: skip
        self._retries = Counter("casscade_destination_retries_total",
                                "Retries scheduled after a transient error.",
                                _DEST, registry=r)  # fmt: skip
        self._backlog = Gauge("casscade_destination_backlog_events",
                              "Events decoded for the destination but not committed yet.",
                              _DEST, registry=r)  # fmt: skip
        self._dead = Counter("casscade_destination_dead_letters_total",
                             "Events the destination rejected, written to the dead-letter store.",
                             _DEST, registry=r)  # fmt: skip
        self._batch_size = Histogram("casscade_destination_batch_size_events",
                                     "Events per committed batch.", _DEST,
                                     buckets=BATCH_SIZE_BUCKETS, registry=r)  # fmt: skip
        self._apply = Histogram("casscade_destination_apply_duration_seconds",
                                "Time to apply and commit one batch.", _DEST,
                                buckets=APPLY_BUCKETS, registry=r)  # fmt: skip
        self._latency = Histogram("casscade_destination_end_to_end_latency_seconds",
                                  "Source write time to commit in the destination, per event.",
                                  _DEST, buckets=LATENCY_BUCKETS, registry=r)  # fmt: skip
        self._segments = Counter("casscade_source_segments_decoded_total",
                                 "Commit-log segments (or parts of live ones) decoded.",
                                 registry=r)  # fmt: skip
        self._bytes = Counter("casscade_source_decoded_bytes_total",
                              "Commit-log bytes decoded.", registry=r)  # fmt: skip
        self._decode_errors = Counter("casscade_source_decode_errors_total",
                                      "Commit-log sections that could not be decoded.",
                                      registry=r)  # fmt: skip
        self._schema_changes = Counter("casscade_source_schema_changes_total",
                                       "Schema changes the agent picked up from the source.",
                                       registry=r)  # fmt: skip
        self._cdc_used = Gauge("casscade_source_cdc_raw_used_bytes",
                               "Bytes of segments in cdc_raw.", registry=r)  # fmt: skip
        self._cdc_total = Gauge("casscade_source_cdc_raw_total_bytes",
                                "Cassandra's cdc_total_space: writes fail when cdc_raw is full.",
                                registry=r)  # fmt: skip
        r.register(_LagCollector(self))

    def add_destination(self, destination: str, tables: frozenset[str] | None = None) -> None:
        """Create the destination's series at zero so rate() and alerts see it from the start.

        Args:
            destination: its name.
            tables: the tables it receives (None: all); lag behind the source looks only there.
        """
        with self._lock:
            is_new = destination not in self._destinations
            if is_new:
                self._destinations.append(destination)
            self._lag.add_destination(destination, tables)
        if is_new:  # registering again must not mark a running destination down
            self._up.labels(destination).set(0)
        for child in (self._retries, self._dead, self._backlog):
            child.labels(destination)
        for kind in ErrorKind:
            self._errors.labels(destination, kind.value)
        for table in sorted(tables or ()):
            self._applied.labels(destination, table)

    def batch_applied(self, destination: str, batch: BatchSummary, duration_s: float) -> None:
        """A batch was committed in the destination just now.

        Args:
            destination: its name.
            batch: the batch's counts and write times.
            duration_s: how long applying and committing took.
        """
        now = self._clock()
        for table, count in batch.table_counts.items():
            self._applied.labels(destination, table).inc(count)
        self._batch_size.labels(destination).observe(batch.events)
        self._apply.labels(destination).observe(duration_s)
        latency = self._latency.labels(destination)
        now_us = now * US_PER_S
        for written in batch.write_times_us:
            # A client-supplied timestamp can lie in the future: count it as no latency.
            latency.observe(max(0.0, (now_us - written) / US_PER_S))
        self._last_commit.labels(destination).set(now)
        self._up.labels(destination).set(1)
        with self._lock:
            self._lag.applied(destination, batch.newest_by_table)

    def destination_up(self, destination: str, up: bool) -> None:
        """Whether the destination is reachable (set on each attempt's outcome)."""
        self._up.labels(destination).set(1 if up else 0)

    def destination_error(self, destination: str, kind: ErrorKind) -> None:
        """An attempt to apply a batch failed."""
        self._errors.labels(destination, kind.value).inc()
        if kind is not ErrorKind.INTERNAL:
            self._up.labels(destination).set(0)

    def retry(self, destination: str) -> None:
        """A retry of the destination was scheduled."""
        self._retries.labels(destination).inc()

    def backlog(self, destination: str, events: int) -> None:
        """Events decoded for the destination and not committed yet."""
        self._backlog.labels(destination).set(events)

    def dead_letter(self, destination: str, events: int = 1) -> None:
        """Events of the destination went to the dead-letter store."""
        self._dead.labels(destination).inc(events)

    def segment_decoded(self, size_bytes: int) -> None:
        """A segment (or the new part of a live one) was decoded."""
        self._segments.inc()
        self._bytes.inc(size_bytes)

    def decode_error(self) -> None:
        """A commit-log section could not be decoded."""
        self._decode_errors.inc()

    def schema_change(self) -> None:
        """The agent picked up a changed schema from the source."""
        self._schema_changes.inc()

    def source_writes_seen(self, newest_by_table: Mapping[str, int]) -> None:
        """The newest write time per table read from cdc_raw (for lag behind the source)."""
        with self._lock:
            self._lag.seen(newest_by_table)

    def cdc_raw_usage(self, used_bytes: int, total_bytes: int) -> None:
        """Bytes in cdc_raw and Cassandra's cdc_total_space."""
        self._cdc_used.set(used_bytes)
        self._cdc_total.set(total_bytes)

    def _lag_families(self) -> Iterator[GaugeMetricFamily]:
        lag = GaugeMetricFamily("casscade_destination_lag_seconds",
                                "Now minus the write time of the newest committed change.",
                                labels=_DEST)  # fmt: skip
        behind = GaugeMetricFamily("casscade_destination_lag_behind_source_seconds",
                                   "Newest write seen in cdc_raw minus newest committed, "
                                   "over the destination's tables.", labels=_DEST)  # fmt: skip
        now = self._clock()
        with self._lock:
            for destination in self._destinations:
                value = self._lag.lag_s(destination, now)
                if value is not None:
                    lag.add_metric((destination,), value)
                value = self._lag.behind_source_s(destination)
                if value is not None:
                    behind.add_metric((destination,), value)
        yield lag
        yield behind


class _LagCollector(Collector):
    """Computes the lag gauges at scrape time."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[GaugeMetricFamily]:
        return self._metrics._lag_families()
