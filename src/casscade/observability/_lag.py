"""Replication lag bookkeeping shared by the metrics and the status board.

Two figures per destination, both in seconds:

* lag: now minus the write time of the newest change the destination committed. It is what
  a reader of the destination experiences, but it also grows while the source is quiet.
* lag behind the source: for each table the destination receives, the newest write time the
  agent has seen in cdc_raw minus the newest one the destination committed; the maximum
  over its tables. It is 0 when the destination has everything that was read, whatever the
  source's write rate. A table the destination has not committed since the agent started is
  measured from the destination's newest commit of any table.

Not thread-safe on its own: its owners hold their lock around every call.
"""

from __future__ import annotations

from collections.abc import Mapping

US_PER_S = 1_000_000


class LagTracker:
    """Newest write times seen at the source and committed per destination."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}
        self._applied: dict[str, dict[str, int]] = {}
        self._tables: dict[str, frozenset[str] | None] = {}

    def add_destination(self, destination: str, tables: frozenset[str] | None) -> None:
        """Register a destination and the tables it receives (None: every table)."""
        self._applied.setdefault(destination, {})
        self._tables[destination] = tables

    def seen(self, newest_by_table: Mapping[str, int]) -> None:
        """Record the newest write time per table that the source has shown."""
        for table, written in newest_by_table.items():
            if written > self._seen.get(table, 0):
                self._seen[table] = written

    def applied(self, destination: str, newest_by_table: Mapping[str, int]) -> None:
        """Record what a destination committed (newest write time per table)."""
        mine = self._applied.setdefault(destination, {})
        for table, written in newest_by_table.items():
            if written > mine.get(table, 0):
                mine[table] = written
            if written > self._seen.get(table, 0):
                self._seen[table] = written  # committed implies seen

    def newest_applied_us(self, destination: str) -> int | None:
        """The newest write time the destination committed, None before its first commit."""
        return max(self._applied.get(destination, {}).values(), default=None)

    def lag_s(self, destination: str, now_s: float) -> float | None:
        """Now minus the newest committed write time (never negative)."""
        newest = self.newest_applied_us(destination)
        return None if newest is None else max(0.0, now_s - newest / US_PER_S)

    def behind_source_s(self, destination: str) -> float | None:
        """The largest gap over the destination's tables between seen and committed."""
        mine = self._applied.get(destination, {})
        fallback = max(mine.values(), default=None)
        if fallback is None:
            return None
        tables = self._tables.get(destination)
        gap = 0
        for table, seen in self._seen.items():
            if tables is not None and table not in tables:
                continue
            gap = max(gap, seen - mine.get(table, fallback))
        return gap / US_PER_S
