"""What every destination implements (PostgreSQL/TimescaleDB, ClickHouse)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from casscade.commitlog.position import Position
from casscade.commitlog.schema import TableSchema
from casscade.events.model import ChangeEvent


class Sink(Protocol):
    """A destination that applies change events with Cassandra's last-write-wins rule.

    Errors are casscade.errors.TransientSinkError (retry later) or PermanentSinkError.
    """

    name: str

    def ensure_table(self, table: TableSchema) -> object:
        """Create the destination's layout for `table` (idempotent)."""

    def position(self, node_id: str) -> Position | None:
        """The position committed for `node_id`, if any."""

    def forget_position(self, node_id: str) -> None:
        """Drop the position of `node_id` (the next run starts from the oldest segment)."""

    def apply(
        self, events: Sequence[ChangeEvent], *, node_id: str, position: Position | None
    ) -> None:
        """Apply a batch of events and record `position` with it (None: keep the position)."""

    def close(self) -> None:
        """Release connections."""
