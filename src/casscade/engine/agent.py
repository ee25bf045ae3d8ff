"""The agent loop: tail cdc_raw, turn mutations into events, apply them to every destination.

Each destination has its own position (kept in the destination, committed with its rows) and
its own pending batch; an entry is handed to a destination only if it lies after that
destination's position, so after a crash every destination resumes from where it committed,
and anything replayed is absorbed by the sinks' last-write-wins rule. A segment Cassandra has
COMPLETED is deleted (or archived) from cdc_raw once every destination has committed past it.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from casscade.commitlog.mutation import Mutation, SkippedMutation, UnknownSchema
from casscade.commitlog.position import Position
from casscade.commitlog.sections import CorruptSection
from casscade.config.models import AgentConfig, Destination, TimescaleDestination
from casscade.errors import CasscadeError, SinkError
from casscade.events.mapping import mutation_to_events
from casscade.events.model import ChangeEvent
from casscade.sinks.postgres.sink import PostgresSink
from casscade.source.cdc_raw import scan_cdc_raw
from casscade.source.registry import SchemaRegistry
from casscade.source.tailer import CdcTailer, SegmentFinished

log = structlog.get_logger(__name__)
# The offset of a position that stands for "all of this segment" (larger than any segment).
END_OF_SEGMENT = 1 << 62


class CorruptLogError(CasscadeError):
    """A section of a segment could not be decoded; the agent stops rather than skip data."""

    def __init__(self, record: CorruptSection) -> None:
        self.record = record
        super().__init__(record)

    def __str__(self) -> str:
        return f"corrupt commit log: {self.record.error}"


@dataclass(slots=True)
class _Destination:
    config: Destination
    sink: PostgresSink
    tables: frozenset[str]
    position: Position | None
    pending: list[ChangeEvent] = field(default_factory=list)


@dataclass(slots=True)
class PollStats:
    """What one pass over cdc_raw did."""

    mutations: int = 0
    events: int = 0
    applied: dict[str, int] = field(default_factory=dict)
    unknown_schema: int = 0
    segments_removed: int = 0


def _behind(destination: _Destination, segment_id: int) -> bool:
    """Whether the destination may still need entries of segment `segment_id`."""
    return destination.position is None or destination.position.segment_id < segment_id


class Agent:
    """One node's agent."""

    def __init__(self, config: AgentConfig, registry: SchemaRegistry) -> None:
        self.config = config
        self.registry = registry
        self._destinations = [self._open(d) for d in config.destinations]
        positions = [d.position for d in self._destinations]
        start = None if any(p is None for p in positions) else min(p for p in positions if p)
        self.tailer = CdcTailer(config.source.cdc_raw_dir, registry, start=start)
        self._last: Position | None = start
        if start is not None:
            # Segments every destination committed past before a restart: the tailer will not
            # visit them again, so they are cleaned up here.
            self._clean_up([
                SegmentFinished(s.segment_id, s.path, by_link_count=False)
                for s in scan_cdc_raw(config.source.cdc_raw_dir)
                if s.index is not None and s.index.completed and s.segment_id < start.segment_id
            ])  # fmt: skip

    def _open(self, config: Destination) -> _Destination:
        hypertables = config.hypertables if isinstance(config, TimescaleDestination) else {}
        sink = PostgresSink(
            config.conninfo(),
            name=config.name,
            schema_prefix=config.schema_prefix,
            hypertables=hypertables,
            prepared_statements=config.prepared_statements,
        )
        tables = frozenset(self.config.tables_for(config))
        for name in sorted(tables):
            keyspace, table = name.split(".", 1)
            schema = self.registry.snapshot.by_name(keyspace, table)
            if schema is None:
                schema = self.registry.refresh().by_name(keyspace, table)
            if schema is None:
                raise SinkError(config.name, f"table {name} does not exist in Cassandra")
            sink.ensure_table(schema)
        return _Destination(config, sink, tables, sink.position(self.config.source.node_id))

    def close(self) -> None:
        for destination in self._destinations:
            destination.sink.close()

    def poll(self) -> PollStats:
        """Read what became durable, apply it everywhere, clean up finished segments."""
        stats = PollStats()
        finished: list[SegmentFinished] = []
        unknown: dict[str, int] = {}
        for record in self.tailer.poll():
            if isinstance(record, Mutation):
                stats.mutations += 1
                self._route(record, stats)
            elif isinstance(record, SegmentFinished):
                finished.append(record)
                # Every entry of it was handed out: positions may move past it even when none
                # of its entries was for a replicated table.
                self._advance(Position(record.segment_id, END_OF_SEGMENT))
            elif isinstance(record, SkippedMutation):
                self._advance(record.position)  # a keyspace without CDC tables
            elif isinstance(record, UnknownSchema):
                # Still unknown after a refresh: the table was dropped, and Cassandra no
                # longer has its data either.
                self._advance(record.position)
                stats.unknown_schema += 1
                unknown[str(record.table_id)] = unknown.get(str(record.table_id), 0) + 1
            else:
                raise CorruptLogError(record)
        for table_id, count in sorted(unknown.items()):
            log.warning("entries_of_unknown_table_skipped", table_id=table_id, entries=count)
        for destination in self._destinations:
            self._flush(destination, stats)
        stats.segments_removed = self._clean_up(finished)
        return stats

    def _advance(self, position: Position) -> None:
        if self._last is None or position > self._last:
            self._last = position

    def _route(self, mutation: Mutation, stats: PollStats) -> None:
        events = mutation_to_events(mutation)
        stats.events += len(events)
        self._advance(mutation.position)
        for destination in self._destinations:
            if destination.position is not None and mutation.position <= destination.position:
                continue
            wanted = destination.tables
            destination.pending.extend(e for e in events if e.qualified_table in wanted)
            if len(destination.pending) >= self.config.batch.max_events:
                self._flush(destination, stats)

    def _flush(self, destination: _Destination, stats: PollStats) -> None:
        last = self._last
        if last is None or (destination.position is not None and destination.position >= last):
            return
        destination.sink.apply(
            destination.pending, node_id=self.config.source.node_id, position=last
        )
        name = destination.config.name
        stats.applied[name] = stats.applied.get(name, 0) + len(destination.pending)
        log.info("batch_applied", destination=name, events=len(destination.pending),
                 position=str(last))  # fmt: skip
        destination.pending.clear()
        destination.position = last

    def _clean_up(self, finished: list[SegmentFinished]) -> int:
        """Remove finished segments every destination has committed past."""
        mode = self.config.source.cleanup
        if mode == "keep":
            return 0
        removed = 0
        for segment in finished:
            if any(_behind(d, segment.segment_id) for d in self._destinations):
                continue
            index = segment.path.with_name(f"{segment.path.stem}_cdc.idx")
            for path in (segment.path, index):
                if mode == "archive" and self.config.source.archive_dir is not None:
                    shutil.move(str(path), self.config.source.archive_dir / path.name)
                else:
                    path.unlink(missing_ok=True)
            removed += 1
            log.info("segment_removed", segment=segment.segment_id, mode=mode)
        return removed

    def run(self, *, should_stop: Callable[[], bool], sleep: Callable[[float], object]) -> None:
        """Poll until `should_stop()`; sleep the configured interval when idle."""
        interval = self.config.source.poll_interval_ms / 1000
        while not should_stop():
            stats = self.poll()
            if stats.mutations == 0:
                sleep(interval)
