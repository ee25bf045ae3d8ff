"""The schema registry: the decoder's SchemaSnapshot, kept current from `system_schema`.

The decoder needs the schema the data was written with, but the commit log carries no types.
The registry holds the latest snapshot and refreshes it when the decoder meets a table id or a
column it does not know (a table created or altered after the last read). `decode` turns an
entry into a record and retries once after a refresh when the schema was stale, which is the
whole protocol the engine needs. An UnknownSchema record therefore always means "unknown to a
schema read after the entry was met" (a table dropped since, whose data Cassandra no longer
has): when the last read is more recent than `min_refresh_interval_s`, decode waits for the
interval rather than give up on an entry of a column added a moment ago. An id confirmed
unknown is remembered until the next read, so a stream of entries of a dropped table costs
one read, not one per entry.

Decoded entries are kept for a while (`shared_entries` of the newest positions, 64 MiB of
payload at most, with the snapshot that decoded them): destinations in step read the same
entries a moment apart, and only the first decodes each. A schema read makes a new snapshot,
so entries are decoded again after one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from casscade.commitlog.mutation import MutationRecord, UnknownSchema, decode_mutation
from casscade.commitlog.position import Position
from casscade.commitlog.schema import SchemaRows, SchemaSnapshot, build_snapshot
from casscade.source.shared import Latest

# Reads `system_schema` (casscade.source.schema.read_schema_rows bound to a session).
SchemaReader = Callable[[], SchemaRows]


@dataclass(slots=True)
class SchemaRegistry:
    """The current schema snapshot and how to refresh it.

    Attributes:
        read: reads the schema rows from the node.
        min_refresh_interval_s: the least time between two refreshes caused by unknown ids.
        clock: monotonic seconds (injected so tests need not sleep).
        refreshes: how many times the snapshot was read (for metrics).
        shared_entries: how many decoded entries are kept for the other destinations'
            readers (0: none).
    """

    read: SchemaReader
    min_refresh_interval_s: float = 1.0
    clock: Callable[[], float] = time.monotonic
    refreshes: int = 0
    sleep: Callable[[float], object] = time.sleep
    _snapshot: SchemaSnapshot | None = None
    _last_refresh: float = field(default=float("-inf"))
    # (table id, column) pairs the current snapshot was read for and still does not know.
    _confirmed_unknown: set[tuple[object, str | None]] = field(default_factory=set)
    # Decoding runs in one thread per destination: one schema read at a time.
    _lock: threading.RLock = field(default_factory=threading.RLock)
    shared_entries: int = 8192
    # position -> (the snapshot that decoded it, the record): see the module docstring.
    _decoded: Latest[Position, tuple[SchemaSnapshot, MutationRecord]] | None = None

    def __post_init__(self) -> None:
        self._decoded = Latest(self.shared_entries)

    def keep_decoded(self, entries: int) -> None:
        """Keep the decoded entries of the newest `entries` positions from now on (0: keep
        none, e.g. for a single reader, where they would only stay alive for nothing)."""
        self.shared_entries = entries
        self._decoded = Latest(entries)

    @property
    def shared_hits(self) -> int:
        """How many decodes were served from the entries kept (approximate; for tests)."""
        return 0 if self._decoded is None else self._decoded.hits

    @property
    def snapshot(self) -> SchemaSnapshot:
        """The current snapshot (read on first use)."""
        snapshot = self._snapshot
        if snapshot is None:
            snapshot = self.refresh()
        return snapshot

    def refresh(self) -> SchemaSnapshot:
        """Read the schema now and make it current."""
        with self._lock:
            self._snapshot = build_snapshot(self.read())
            self._last_refresh = self.clock()
            self._confirmed_unknown.clear()
        self.refreshes += 1
        return self._snapshot

    def decode(
        self, payload: bytes | memoryview, *, position: Position, payload_offset: int = 0
    ) -> MutationRecord:
        """Decode an entry; on an unknown table or column refresh once and decode again.

        Returns:
            The record; still UnknownSchema when a schema read after the entry was met does
            not know the table or column either (dropped since the write).
        """
        snapshot = self.snapshot
        decoded = self._decoded
        if decoded is not None:
            shared = decoded.get(position)
            if shared is not None and shared[0] is snapshot:
                return shared[1]
        record = decode_mutation(
            payload, snapshot, position=position, payload_offset=payload_offset
        )
        if not isinstance(record, UnknownSchema):
            if decoded is not None:
                decoded.put(position, (snapshot, record), len(payload))
            return record
        with self._lock:
            # Another thread may have read the schema meanwhile.
            record = decode_mutation(
                payload, self.snapshot, position=position, payload_offset=payload_offset
            )
            if not isinstance(record, UnknownSchema):
                return record
            if (record.table_id, record.column) in self._confirmed_unknown:
                return record
            wait = self.min_refresh_interval_s - (self.clock() - self._last_refresh)
            if wait > 0:
                self.sleep(wait)
            record = decode_mutation(
                payload, self.refresh(), position=position, payload_offset=payload_offset
            )
            if isinstance(record, UnknownSchema):
                self._confirmed_unknown.add((record.table_id, record.column))
            return record
