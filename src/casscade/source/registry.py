"""The schema registry: the decoder's SchemaSnapshot, kept current from `system_schema`.

The decoder needs the schema the data was written with, but the commit log carries no types.
The registry holds the latest snapshot and refreshes it when the decoder meets a table id or a
column it does not know (a table created or altered after the last read), at most once per
`min_refresh_interval_s` so a stream of entries of a dropped table cannot hammer the node.
`decode` turns an entry into a record and retries once after a refresh when the schema was
stale, which is the whole protocol the engine needs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from casscade.commitlog.mutation import MutationRecord, UnknownSchema, decode_mutation
from casscade.commitlog.position import Position
from casscade.commitlog.schema import SchemaRows, SchemaSnapshot, build_snapshot

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
    """

    read: SchemaReader
    min_refresh_interval_s: float = 1.0
    clock: Callable[[], float] = time.monotonic
    refreshes: int = 0
    _snapshot: SchemaSnapshot | None = None
    _last_refresh: float = field(default=float("-inf"))

    @property
    def snapshot(self) -> SchemaSnapshot:
        """The current snapshot (read on first use)."""
        snapshot = self._snapshot
        if snapshot is None:
            snapshot = self.refresh()
        return snapshot

    def refresh(self) -> SchemaSnapshot:
        """Read the schema now and make it current."""
        self._snapshot = build_snapshot(self.read())
        self._last_refresh = self.clock()
        self.refreshes += 1
        return self._snapshot

    def decode(
        self, payload: bytes | memoryview, *, position: Position, payload_offset: int = 0
    ) -> MutationRecord:
        """Decode an entry; on an unknown table or column refresh once and decode again.

        Returns:
            The record; still UnknownSchema when the refreshed schema does not know the table
            either (a table dropped since the write) or the refresh was too recent.
        """
        record = decode_mutation(
            payload, self.snapshot, position=position, payload_offset=payload_offset
        )
        if not isinstance(record, UnknownSchema):
            return record
        if self.clock() - self._last_refresh < self.min_refresh_interval_s:
            return record
        return decode_mutation(
            payload, self.refresh(), position=position, payload_offset=payload_offset
        )
