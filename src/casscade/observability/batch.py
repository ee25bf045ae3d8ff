"""What the operations surface needs to know about a batch of change events.

`BatchSummary.of(events)` walks a batch once and keeps counts per table and write times, so
that metrics and the status board never hold events (or their values). Pure: no clock, no
I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from casscade.events.model import ChangeEvent


@dataclass(frozen=True, slots=True)
class BatchSummary:
    """Counts and write times of one batch.

    Attributes:
        table_counts: keyspace.table -> events of that table in the batch.
        newest_by_table: keyspace.table -> newest write time (microseconds since the epoch).
        write_times_us: each event's write time, for the end-to-end latency histogram.
    """

    table_counts: Mapping[str, int]
    newest_by_table: Mapping[str, int]
    write_times_us: tuple[int, ...]

    @classmethod
    def of(cls, events: Iterable[ChangeEvent]) -> BatchSummary:
        """Summarize a batch (one pass; events without a write time count but have no age)."""
        counts: dict[str, int] = {}
        newest: dict[str, int] = {}
        times: list[int] = []
        for event in events:
            table = event.qualified_table
            counts[table] = counts.get(table, 0) + 1
            written = event.timestamp_us
            if written > 0:
                times.append(written)
                if written > newest.get(table, 0):
                    newest[table] = written
        return cls(MappingProxyType(counts), MappingProxyType(newest), tuple(times))

    @property
    def events(self) -> int:
        """How many events the batch holds."""
        return sum(self.table_counts.values())

    @property
    def newest_write_us(self) -> int | None:
        """The newest write time in the batch, None when no event carried one."""
        return max(self.newest_by_table.values(), default=None)
