"""The agent loop: tail cdc_raw, turn mutations into events, apply them to every destination.

Each destination is independent: it has its own position (kept in the destination and
committed with its rows), its own reader of cdc_raw starting at that position, and its own
batches. A destination that fails with a transient error (unreachable, restarting) is retried
with exponential backoff and jitter and, when it comes back, catches up from its own
position; the others never wait for it. After a crash every destination resumes from what it
committed; anything replayed is absorbed by the sinks' last-write-wins rule. A segment
Cassandra has COMPLETED is deleted (or archived) once every destination has committed past
it, so the slowest destination holds `cdc_raw` space, never data.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import NamedTuple

import structlog

from casscade.commitlog.mutation import Mutation, SkippedMutation, UnknownSchema
from casscade.commitlog.position import Position
from casscade.commitlog.schema import TableSchema
from casscade.commitlog.sections import CorruptSection
from casscade.config.models import (
    AgentConfig,
    ClickHouseDestination,
    Destination,
    TimescaleDestination,
)
from casscade.engine.cleanup import Cleanup
from casscade.engine.deadletters import DeadLetterStore
from casscade.engine.masking import Masking
from casscade.errors import (
    CasscadeError,
    ConfigError,
    PermanentSinkError,
    SinkError,
    TransientSinkError,
)
from casscade.events.mapping import mutation_to_events
from casscade.events.model import ChangeEvent
from casscade.masking import (
    Masker,
    MaskingError,
    TokenVault,
    VaultEntries,
    VaultError,
    VaultUnavailableError,
)
from casscade.observability import DestinationTelemetry, Telemetry
from casscade.sinks.base import Sink
from casscade.sinks.clickhouse.changelog import ClickHouseChangelogSink
from casscade.sinks.clickhouse.sink import ClickHouseSink
from casscade.sinks.postgres.changelog import PostgresChangelogSink
from casscade.sinks.postgres.sink import PostgresSink
from casscade.sinks.postgres.timescale import Timescale
from casscade.source.registry import SchemaRegistry
from casscade.source.shared import Latest
from casscade.source.tailer import CdcTailer, SegmentFinished

log = structlog.get_logger(__name__)
# The offset of a position that stands for "all of this segment" (larger than any segment).
END_OF_SEGMENT = 1 << 62
# Retry delays of an unavailable destination: 0.5 s doubling to 30 s, each with +-25% jitter
# so that agents on many nodes do not retry in step.
RETRY_FIRST_S = 0.5
RETRY_MAX_S = 30.0


class CorruptLogError(CasscadeError):
    """A section of a segment could not be decoded; the agent stops rather than skip data."""

    def __init__(self, record: CorruptSection) -> None:
        self.record = record
        super().__init__(record)

    def __str__(self) -> str:
        return f"corrupt commit log: {self.record.error}"


_NO_MASKING = Masking()


@dataclass(slots=True)
class _Destination:
    """One destination's state in the agent."""

    config: Destination
    sink: Sink
    tables: frozenset[str]
    tailer: CdcTailer | None = None  # None until the destination was reached once
    position: Position | None = None
    last: Position | None = None  # the newest entry read for it (not yet committed)
    pending: list[ChangeEvent] = field(default_factory=list)
    tokens: VaultEntries = field(default_factory=VaultEntries)  # of the pending events
    masking: Masking = _NO_MASKING  # the rules (and vault) of its pending events and tables
    finished: set[int] = field(default_factory=set)  # segments it committed entirely
    failures: int = 0
    retry_at: float = 0.0
    failed: str | None = None  # a permanent error: no more attempts
    snapshot: object = None  # the schema snapshot its tables were last brought to
    schemas: dict[str, TableSchema] = field(default_factory=dict)  # as last brought to
    telemetry: DestinationTelemetry | None = None

    @property
    def name(self) -> str:
        return self.config.name


class _Mapped(NamedTuple):
    """A mutation's events as one destination mapped them, for the others to share."""

    mutation: Mutation  # the decoded record they came from (the registry shares it)
    masking: Masking  # the rules that masked them
    tables: frozenset[str]  # the tables they were mapped for (others' updates were left out)
    events: list[ChangeEvent]
    tokens: VaultEntries | None  # what tokenizing them left for the vault


@dataclass(slots=True)
class PollStats:
    """What one pass over cdc_raw did."""

    mutations: int = 0
    events: int = 0
    applied: dict[str, int] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)
    unknown_schema: int = 0
    segments_removed: int = 0
    dead_letters: dict[str, int] = field(default_factory=dict)
    # keyspace.table -> the newest write time seen at the source in this pass (lag metrics)
    newest_seen: dict[str, int] = field(default_factory=dict)


def sink_for(config: Destination) -> Sink:
    """The sink of a configured destination (mirror or changelog mode)."""
    if isinstance(config, ClickHouseDestination):
        kind = ClickHouseChangelogSink if config.mode == "changelog" else ClickHouseSink
        return kind(config.dsn, name=config.name, database_prefix=config.database_prefix,
                    options=config.client_options())  # fmt: skip
    timescale = None
    if isinstance(config, TimescaleDestination):
        timescale = Timescale(config.hypertables, config.compress_after, config.drop_after)
    postgres = PostgresChangelogSink if config.mode == "changelog" else PostgresSink
    return postgres(
        config.conninfo(),
        name=config.name,
        schema_prefix=config.schema_prefix,
        timescale=timescale,
        prepared_statements=config.prepared_statements,
    )


class Agent:
    """One node's agent."""

    def __init__(
        self,
        config: AgentConfig,
        registry: SchemaRegistry,
        *,
        clock: Callable[[], float] = time.monotonic,
        telemetry: Telemetry | None = None,
        masking: Masking = _NO_MASKING,
        only: Collection[str] | None = None,
    ) -> None:
        """Args:
        config: the configuration.
        registry: the node's schema.
        clock: monotonic seconds (retry timing, schema reads).
        telemetry: where metrics, status and spans go (a private one when None).
        masking: the masker, which masks classified columns before events leave (required
            when `config.masking` has rules), and the token vault (required when a rule
            tokenizes); `casscade.engine.masking.masking_for` gives both.
        only: run these destinations only (`casscade run --destination`); other processes
            run the rest. Progress is then shared through `source.state_dir`, and a segment
            is removed only when every destination is done with it (engine/cleanup.py).

        Raises:
            ConfigError: `only` names a destination that is not configured, or none.
            DestinationClaimedError: another process runs one of `only` already.
        """
        if config.masking.tables and masking.masker is None:
            raise ConfigError("masking", "masking rules are configured but no masker was given")
        if config.masking.tokenizes and masking.vault is None:
            raise ConfigError("masking.vault", "a rule tokenizes but no token vault was given")
        self._masking = masking
        self._ready_vault: TokenVault | None = None  # the vault whose tables were ensured
        self._vault_lock = threading.Lock()
        self.config = config
        self.registry = registry
        self._clock = clock
        self.telemetry = telemetry or Telemetry.create(config.source.node_id, http=config.http)
        # Destinations with the same tables share one set object (and so mapped events).
        table_sets: dict[frozenset[str], frozenset[str]] = {}
        # Removing segments (with `only`: the locks, and progress shared with the others).
        self._cleanup = Cleanup(config, self.telemetry, clock, only)
        self._destinations = []
        try:
            for d in config.destinations:
                if only is not None and d.name not in only:
                    continue
                tables = frozenset(config.tables_for(d))
                tables = table_sets.setdefault(tables, tables)
                self._destinations.append(_Destination(d, sink_for(d), tables))
            for destination in self._destinations:
                destination.masking = self._masking
                destination.telemetry = self.telemetry.destination(
                    destination.name, destination.config.type, sorted(destination.tables)
                )
            self.dead_letters = DeadLetterStore(config.dead_letters.directory)
        except BaseException:
            self.close()  # the sinks made so far, and the locks
            raise
        self._schema_read_at = float("-inf")
        # The events of recent mutations, for destinations in step (the registry keeps their
        # decoded entries likewise): each mutation is mapped once, not once per destination.
        # With one destination there is nobody to share with.
        if len(self._destinations) < 2:
            registry.keep_decoded(0)
        self._mapped: Latest[Position, _Mapped] = Latest(registry.shared_entries)

    def close(self) -> None:
        for destination in self._destinations:
            destination.sink.close()
        self._cleanup.release()

    @property
    def shared_mappings(self) -> int:
        """How many times a destination took the events another had mapped (approximate)."""
        return self._mapped.hits

    @property
    def failed(self) -> dict[str, str]:
        """Destinations stopped by a permanent error, with the error."""
        return {d.name: d.failed for d in self._destinations if d.failed is not None}

    def reach(self) -> list[str]:
        """Reach every destination now, as its first pass would: its connection, its tables,
        its committed position and a reader from there. Errors are left to that pass (a
        permanent one stops the destination there, a transient one is retried).

        Returns:
            The destinations reached.
        """
        reached = []
        for destination in self._destinations:
            try:
                self._prepare(destination)
            except SinkError:
                continue
            reached.append(destination.name)
        return reached

    def poll(self) -> PollStats:
        """One pass: every available destination in turn reads and applies what it has not
        yet (tests and `run --once`; `run` gives every destination its own thread)."""
        stats = PollStats()
        self._refresh_schema()
        for destination in self._destinations:
            self._poll_one(destination, stats)
        stats.segments_removed = self._clean_up()
        self.telemetry.heartbeat()
        return stats

    def _poll_one(self, destination: _Destination, stats: PollStats) -> None:
        """One pass of one destination, its errors turned into its state.

        Raises:
            CorruptLogError: a section of a segment cannot be decoded.
        """
        if destination.failed is not None or self._clock() < destination.retry_at:
            return
        try:
            self._poll_destination(destination, stats)
        except TransientSinkError as exc:
            self._back_off(destination, exc, stats)
        except PermanentSinkError as exc:
            destination.failed = exc.problem
            _telemetry(destination).error(exc)
            # The problem in one line, no traceback: it is about data or configuration.
            log.error(  # noqa: TRY400
                "destination_failed", destination=destination.name, error=exc.problem
            )
        except CorruptLogError:
            self.telemetry.decode_error()
            raise
        if stats.newest_seen:
            self.telemetry.source_writes_seen(stats.newest_seen)

    def _refresh_schema(self) -> None:
        """Re-read the schema every `schema_refresh_s`: an entry of a new table or column
        triggers a read by itself, but a column dropped and added again with the same type
        decodes with the old schema, and only a read shows when its old values stopped."""
        now = self._clock()
        if now - self._schema_read_at < self.config.source.schema_refresh_s:
            return
        self._schema_read_at = now
        try:
            self.registry.refresh()
        except Exception as exc:  # noqa: BLE001 - any driver error: decode with the last schema
            self.telemetry.source_unreachable(exc)
            log.warning("schema_refresh_failed", error=str(exc).splitlines()[0][:300])
        else:
            self.telemetry.source_reached()

    def _back_off(self, destination: _Destination, exc: SinkError, stats: PollStats) -> None:
        """Forget the unapplied batch and retry later from the committed position."""
        destination.failures += 1
        delay = min(RETRY_MAX_S, RETRY_FIRST_S * 2 ** (destination.failures - 1))
        delay *= random.uniform(0.75, 1.25)  # noqa: S311 - jitter, not a secret
        destination.retry_at = self._clock() + delay
        destination.pending.clear()
        destination.tokens = VaultEntries()
        destination.tailer = None  # re-read from its committed position when it is back
        stats.unavailable[destination.name] = exc.problem
        _telemetry(destination).error(exc, retry_in_s=delay)
        _telemetry(destination).backlog(0)
        log.warning("destination_unavailable", destination=destination.name,
                    error=exc.problem, retry_in_s=round(delay, 2))  # fmt: skip

    def _prepare(self, destination: _Destination) -> CdcTailer:
        """Reach the destination: its tables, its position, a reader from that position."""
        if destination.tailer is not None:
            return destination.tailer
        for name in sorted(destination.tables):
            keyspace, table = name.split(".", 1)
            if self.registry.snapshot.by_name(keyspace, table) is None:
                self.registry.refresh()
            if self.registry.snapshot.by_name(keyspace, table) is None:
                raise PermanentSinkError(destination.name, f"table {name} does not exist")
        self._ensure_tables(destination)
        destination.position = destination.sink.position(self.config.source.node_id)
        destination.last = destination.position
        destination.tailer = CdcTailer(
            self.config.source.cdc_raw_dir, self.registry, start=destination.position
        )
        if destination.failures:
            log.info("destination_available", destination=destination.name)
        destination.failures = 0
        _telemetry(destination).reached(destination.position)
        return destination.tailer

    def _poll_destination(self, destination: _Destination, stats: PollStats) -> None:
        if destination.masking is not self._masking:
            self._rewind(destination)
        tailer = self._prepare(destination)
        finished: list[int] = []
        unknown = 0
        # A pass reads, decodes, maps and masks cdc_raw; the batches that fill up meanwhile
        # are applied inside its span, the last one after it.
        with self.telemetry.span("decode", destination=destination.name):
            for record in tailer.poll():
                if destination.masking is not self._masking:
                    break  # the rules were reloaded: what is pending is read again with them
                if isinstance(record, Mutation):
                    stats.mutations += 1
                    self._route(destination, record, stats)
                elif isinstance(record, SegmentFinished):
                    finished.append(record.segment_id)
                    with contextlib.suppress(OSError):  # deleted by another reader meanwhile
                        self.telemetry.segment_decoded(record.path.stat().st_size)
                    # Every entry of it was handed out: the position may move past it even when
                    # none of its entries was for a replicated table.
                    _advance(destination, Position(record.segment_id, END_OF_SEGMENT))
                elif isinstance(record, (SkippedMutation, UnknownSchema)):
                    # Other keyspaces, or a table dropped since (Cassandra no longer has its data).
                    unknown += isinstance(record, UnknownSchema)
                    _advance(destination, record.position)
                else:
                    raise CorruptLogError(record)
        if unknown:
            stats.unknown_schema += unknown
            log.warning("entries_of_unknown_table_skipped", destination=destination.name,
                        entries=unknown)  # fmt: skip
        if destination.masking is not self._masking:
            self._rewind(destination)
            return
        if self._flush(destination, stats):  # everything read is committed: so are they
            position = destination.position
            # Those before the committed position's segment are done by the position; a new
            # set (not pruned in place) for the clean-up, which reads it from another thread.
            destination.finished = {
                s
                for s in (*destination.finished, *finished)
                if position is None or s >= position.segment_id
            }
        _telemetry(destination).backlog(len(destination.pending))

    def _ensure_tables(self, destination: _Destination) -> None:
        """Bring the destination's tables to the current schema (created, columns added or
        dropped); a table dropped from Cassandra keeps what the destination has."""
        snapshot = self.registry.snapshot
        changed = []
        for name in sorted(destination.tables):
            keyspace, table = name.split(".", 1)
            schema = snapshot.by_name(keyspace, table)
            if schema is None:
                continue
            seen = destination.schemas.get(name)
            if seen is not None and seen != schema:  # columns, types or drops changed
                changed.append(name)
            destination.schemas[name] = schema
            destination.sink.ensure_table(self._as_destinations_see(destination, schema))
        if changed:
            self.telemetry.schema_change()
            log.info("schema_changed", destination=destination.name, tables=changed)
        destination.snapshot = snapshot

    def _as_destinations_see(self, destination: _Destination, schema: TableSchema) -> TableSchema:
        """The table after masking (masked columns change type), checked against the rules."""
        masker = _masker_of(destination)
        if masker is None or not masker.has_rules(schema.keyspace, schema.name):
            return schema
        try:
            masker.check_table(schema)
        except ConfigError as exc:  # the rules no longer fit (a column changed): stop here
            raise PermanentSinkError(destination.name, f"masking rules: {exc}") from exc
        return masker.masked_table(schema)

    def _store_tokens(self, destination: _Destination) -> None:
        """Keep the pending events' tokens in the vault of the rules that made them, before any
        of them leaves the node.

        Raises:
            TransientSinkError: the vault is unreachable (the batch is retried).
            PermanentSinkError: the vault refuses them; the destination stops, nothing lost.
        """
        vault = destination.masking.vault
        if not destination.tokens:
            return
        if vault is None:  # tokens without a vault: never let them out
            raise PermanentSinkError(destination.name, "tokens to store but no token vault")
        with self.telemetry.span("vault", tokens=len(destination.tokens)):
            try:
                with self._vault_lock:  # one connection, shared by the destinations
                    if self._ready_vault is not vault:
                        vault.ensure_tables()
                        self._ready_vault = vault
                    vault.store(destination.tokens)
            except VaultUnavailableError as exc:
                raise TransientSinkError(destination.name, f"token vault: {exc}") from exc
            except VaultError as exc:
                raise PermanentSinkError(destination.name, f"token vault: {exc}") from exc
        destination.tokens = VaultEntries()

    def _rewind(self, destination: _Destination) -> None:
        """Forget what was read and not applied, and read it again from the committed position
        with the current masking rules (after a reload); tables follow the new rules first."""
        destination.masking = self._masking
        destination.pending.clear()
        destination.tokens = VaultEntries()
        destination.tailer = None
        destination.snapshot = None

    def _route(self, destination: _Destination, mutation: Mutation, stats: PollStats) -> None:
        _advance(destination, mutation.position)
        if destination.position is not None and mutation.position <= destination.position:
            return
        tables = destination.tables
        own = [u for u in mutation.updates if f"{u.keyspace}.{u.table}" in tables]
        if not own:
            return  # another CDC table's mutation: not mapped at all
        if destination.snapshot is not self.registry.snapshot:
            self._ensure_tables(destination)  # a refresh while decoding: ALTER TABLE seen
        if len(own) < len(mutation.updates):
            # A batch across tables: this destination maps and masks only its tables' part
            # (another table's rules are not its to fail on).
            events = self._events_of(destination, mutation, mutation._replace(updates=tuple(own)))
        else:
            events = self._events_of(destination, mutation, mutation)
        seen = stats.newest_seen
        for event in events:
            if event.timestamp_us > seen.get(event.qualified_table, 0):
                seen[event.qualified_table] = event.timestamp_us
        stats.events += len(events)
        destination.pending.extend(events)
        if len(destination.pending) >= self.config.batch.max_events:
            self._flush(destination, stats)

    def _events_of(
        self, destination: _Destination, mutation: Mutation, own: Mutation
    ) -> list[ChangeEvent]:
        """The events of `own` (the mutation's updates of the destination's tables), masked,
        mapped by the first destination that reads the mutation (the same record object: the
        registry shares decoded entries) and shared with the others that replicate the same
        tables with the same rules; their tokens go with them."""
        masking = destination.masking
        if not self._mapped.keeps:  # one destination: nothing to share, nothing to size
            return self._map(destination, own, destination.tokens)
        shared = self._mapped.get(mutation.position)
        if (
            shared is not None
            and shared.mutation is mutation
            and shared.masking is masking
            and shared.tables is destination.tables
        ):
            if shared.tokens:
                for entry in shared.tokens:
                    destination.tokens.add(entry)
            return shared.events
        masker = _masker_of(destination)
        tokens = VaultEntries() if masker is not None and masker.tokenizes else None
        events = self._map(destination, own, tokens)
        if tokens:
            for entry in tokens:
                destination.tokens.add(entry)
        # About what the events and the mutation they keep alive hold: twice their values'
        # bytes, and some for each event and cell.
        size = 2 * sum(256 + sum(64 + len(c.raw) for c in e.cells) for e in events)
        mapped = _Mapped(mutation, masking, destination.tables, events, tokens)
        self._mapped.put(mutation.position, mapped, size)
        return events

    def _map(
        self, destination: _Destination, mutation: Mutation, tokens: VaultEntries | None
    ) -> list[ChangeEvent]:
        """The mutation's events, built masked with the destination's rules.

        Raises:
            PermanentSinkError: an event cannot be masked (never dead-lettered: it would
                leave the node unmasked); the destination stops at it, nothing is lost.
        """
        masker = _masker_of(destination)
        if masker is None:
            return mutation_to_events(mutation)
        try:
            return masker.events_of(mutation, self.registry.snapshot, vault_entries=tokens)
        except MaskingError as exc:
            raise PermanentSinkError(
                destination.name, f"masking {exc.where}: {exc.problem}"
            ) from exc
        except ConfigError as exc:  # the rules no longer fit (a column changed)
            raise PermanentSinkError(destination.name, f"masking rules: {exc}") from exc

    def _flush(self, destination: _Destination, stats: PollStats) -> bool:
        """Apply what was read and commit the position after it.

        Returns:
            Whether everything read is committed now; not when it was read under rules
            reloaded since (the pass rewinds at its next check and reads it again).
        """
        last = destination.last
        if last is None or (destination.position is not None and destination.position >= last):
            return True
        if destination.masking is not self._masking:
            return False
        node_id = self.config.source.node_id
        telemetry = _telemetry(destination)
        with telemetry.batch():
            began = time.perf_counter()
            self._store_tokens(destination)
            try:
                with self.telemetry.span("apply", events=len(destination.pending)):
                    destination.sink.apply(destination.pending, node_id=node_id, position=last)
            except PermanentSinkError:
                if self.config.dead_letters.on_poison == "stop":
                    raise
                self._dead_letter_poison(destination, stats)
                destination.sink.apply([], node_id=node_id, position=last)
            telemetry.applied(destination.pending, duration_s=time.perf_counter() - began,
                              position=last)  # fmt: skip
        stats.applied[destination.name] = stats.applied.get(destination.name, 0) + len(
            destination.pending
        )
        masker = _masker_of(destination)
        log.info("batch_applied", destination=destination.name, events=len(destination.pending),
                 position=str(last),
                 rules_version=None if masker is None else masker.rules_version)  # fmt: skip
        destination.pending.clear()
        destination.position = last
        return True

    def _dead_letter_poison(self, destination: _Destination, stats: PollStats) -> None:
        """Apply a failed batch event by event; keep the events that fail as dead letters.

        The position is not moved here: the caller records it once every event is applied or
        kept, so a crash in between re-reads the batch (applied events change nothing again,
        dead letters get one more attempt on the same line id).
        """
        node_id = self.config.source.node_id
        for event in destination.pending:
            try:
                destination.sink.apply([event], node_id=node_id, position=None)
            except PermanentSinkError as exc:
                letter = self.dead_letters.add(destination.name, event, exc.problem)
                _telemetry(destination).dead_letter()
                stats.dead_letters[destination.name] = (
                    stats.dead_letters.get(destination.name, 0) + 1
                )
                # Where and why, never the values (the id finds the event in the store).
                log.error("dead_letter", destination=destination.name,  # noqa: TRY400
                          table=event.qualified_table, event_id=letter.id,
                          attempts=letter.attempts, error=exc.problem)  # fmt: skip

    def _clean_up(self) -> int:
        """Remove the segments every destination is done with; measure cdc_raw."""
        return self._cleanup.run(self._destinations)

    def reload_masking(self, masker: Masker | None, vault: TokenVault | None) -> None:
        """Mask with new rules from now on (no restart, nothing rewritten).

        Each destination notices between two entries: what it had read and not applied is
        dropped and read again, from its committed position, under the new rules; rows
        already in destinations stay as they are. Destination tables are brought to the new
        masked schema first (a column whose type masking changes, e.g. an int now hashed to
        text, is recreated: its old values are dropped, never rewritten). A batch already
        being applied when the reload comes finishes under the rules it was read with.

        Raises:
            ConfigError: the new rules tokenize and no vault was given.
        """
        if masker is not None and masker.tokenizes and vault is None:
            raise ConfigError("masking.vault", "a rule tokenizes but no token vault was given")
        old = self._masking
        with self._vault_lock:  # not while a destination stores tokens in the old vault
            self._masking = Masking(masker, vault)
            if old.vault is not None and old.vault is not vault:
                old.vault.close()
        log.info("masking_rules_reloaded",
                 old_rules_version=None if old.masker is None else old.masker.rules_version,
                 rules_version=None if masker is None else masker.rules_version)  # fmt: skip

    @property
    def masker(self) -> Masker | None:
        """The masking rules in force (the last reload's)."""
        return self._masking.masker

    @property
    def vault(self) -> TokenVault | None:
        """The token vault of the rules in force."""
        return self._masking.vault

    def run(
        self,
        *,
        should_stop: Callable[[], bool],
        sleep: Callable[[float], object],
        between_polls: Callable[[], object] | None = None,
    ) -> None:
        """Poll until `should_stop()`; sleep the configured interval when idle; call
        `between_polls` before each pass (the CLI reloads the masking rules there)."""
        interval = self.config.source.poll_interval_ms / 1000
        failure: list[BaseException] = []
        stopped = threading.Event()

        def done() -> bool:
            return stopped.is_set() or should_stop()

        workers = [
            threading.Thread(target=self._destination_loop, args=(d, done, sleep, failure),
                             name=f"casscade-{d.name}", daemon=True)
            for d in self._destinations
        ]  # fmt: skip
        for worker in workers:
            worker.start()
        try:
            while not done():
                if between_polls is not None:
                    between_polls()
                self._refresh_schema()
                self._clean_up()
                self.telemetry.heartbeat()
                if failure:
                    raise failure[0]
                sleep(interval)
        finally:
            stopped.set()
            for worker in workers:
                worker.join()

    def _destination_loop(
        self,
        destination: _Destination,
        done: Callable[[], bool],
        sleep: Callable[[float], object],
        failure: list[BaseException],
    ) -> None:
        """One destination's own loop (a thread): a slow or failing destination never holds
        the others back. A corrupt segment or an unexpected error stops the agent (through
        `failure`)."""
        interval = self.config.source.poll_interval_ms / 1000
        while not done():
            stats = PollStats()
            try:
                self._poll_one(destination, stats)
            except Exception as exc:  # noqa: BLE001 - a corrupt segment or a bug: stop the agent
                # Handed to the main loop, which stops every thread and raises it: never a
                # destination thread that died while the others go on.
                problem = (str(exc).splitlines() or [type(exc).__name__])[0][:300]
                log.error("destination_loop_stopped", destination=destination.name,  # noqa: TRY400
                          error=problem)  # fmt: skip
                failure.append(exc)
                return
            waiting = destination.retry_at - self._clock()
            if destination.failed is not None or waiting > 0:
                sleep(min(max(waiting, interval), 1.0))
            elif stats.mutations == 0:
                sleep(interval)


def _masker_of(destination: _Destination) -> Masker | None:
    return destination.masking.masker


def _telemetry(destination: _Destination) -> DestinationTelemetry:
    telemetry = destination.telemetry
    if telemetry is None:  # set in Agent.__init__ for every destination
        raise RuntimeError(f"destination {destination.name} has no telemetry")
    return telemetry


def _advance(destination: _Destination, position: Position) -> None:
    if destination.last is None or position > destination.last:
        destination.last = position
