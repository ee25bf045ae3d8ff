"""Change events: what one mutation did to one row, partition or clustering range.

An event keeps Cassandra's semantics (ARCHITECTURE.md, "the one rule"): only the columns the
mutation wrote, each with its own write timestamp and TTL; tombstones with their deletion
timestamps; whole-collection deletions and element-level writes of non-frozen collections.
Sinks apply events with per-column last-write-wins, so duplicates and reordering converge.

Identity: `casscade.events.serde.event_id` digests the event's content (table, keys,
operation, cells and their timestamps), not where it was read. The same write seen by several
replicas (RF copies) or replayed after a restart has the same id, which lets `changelog`
tables keep each change exactly once. `position` says where this copy was read.

Pure values, no I/O.
"""

from __future__ import annotations

import builtins  # fields say builtins.object: mypyc fails at import on a bare `object`
from dataclasses import dataclass
from enum import Enum
from typing import Final, NamedTuple

from casscade.commitlog.position import Position


class Op(Enum):
    """What an event does."""

    UPSERT = "upsert"  # writes cells (and maybe row liveness) of one row
    DELETE_ROW = "delete_row"  # a row tombstone
    DELETE_PARTITION = "delete_partition"  # a partition tombstone
    DELETE_RANGE = "delete_range"  # a clustering-range tombstone


class CellChange(NamedTuple):
    """A new state for one column, or one element of a non-frozen collection or UDT.

    Attributes:
        column: the column's name.
        value: the decoded value (None for a tombstone; None for a set element).
        timestamp_us: the write (or deletion) timestamp.
        ttl_s: the TTL when the cell expires.
        expires_at_s: when it expires (for a tombstone: when it was deleted, Cassandra's ldt).
        is_tombstone: the column (or element) was deleted or set to null.
        path: the element for collection cells: list -> timeuuid, set -> element,
            map -> key, UDT -> field name. None for whole-column cells.
        raw: the value as Cassandra serialized it, which decides between two live cells
            with equal timestamps (the greater as unsigned bytes wins); after masking, bytes
            of the masked value, never of the original: a hash's first 8 bytes of HMAC,
            another text as UTF-8, a blob as it is, nothing for null.

    A NamedTuple, where the other values are frozen dataclasses: one is built per cell (eight
    per row of a ten-column table, again for each masked one), and a frozen dataclass costs
    0.88 µs to build against 0.27 µs for this (0.11 µs with `tuple.__new__`). Immutable all
    the same.
    """

    column: str
    value: builtins.object
    timestamp_us: int
    ttl_s: int | None = None
    expires_at_s: int | None = None
    is_tombstone: bool = False
    path: builtins.object = None
    raw: bytes = b""


@dataclass(frozen=True, slots=True)
class ClusteringRange:
    """The clustering bounds of a range deletion; an empty tuple is an open end."""

    start: tuple[object, ...]
    start_inclusive: bool
    end: tuple[object, ...]
    end_inclusive: bool


@dataclass(init=False, eq=False)
class ChangeEvent:
    """One change to one table.

    Attributes:
        keyspace: the keyspace.
        table: the table.
        op: what the event does.
        partition_key: the partition key values, in key column order.
        clustering: the clustering values of the row (empty for partition-level events and
            for static rows and tables without clustering columns).
        is_static: the event writes the partition's static columns.
        timestamp_us: the newest timestamp in the event (its write time for lag metrics).
        deletion_us: for DELETE_*: the deletion timestamp; it shadows data with a timestamp
            not newer than it.
        row_timestamp_us: an INSERT's primary-key liveness timestamp (a row exists while its
            liveness or one of its cells is live), None for UPDATE-only writes.
        row_ttl_s: the liveness TTL, when the INSERT had one.
        row_expires_at_s: when that liveness expires (the coordinator's clock + TTL).
        cells: the columns and elements written, in column order.
        collection_deletions: (column, timestamp) pairs: the whole non-frozen collection was
            cleared at that timestamp (an overwrite clears at the write timestamp - 1).
        clustering_range: the bounds of a DELETE_RANGE.
        position: where this copy of the event was read (segment id, offset); not part of
            the event's equality or hash.

    Immutable: every field is Final, which mypy enforces, and which the compiled class
    (`casscade._native`) enforces at run time too. Not a frozen dataclass, because one is
    built per row: its own `__init__`, compiled by mypyc, takes 0.2 µs where a frozen
    dataclass's takes 2 µs. `dataclasses.replace` works as before.
    """

    keyspace: Final[str]
    table: Final[str]
    op: Final[Op]
    partition_key: Final[tuple[object, ...]]
    clustering: Final[tuple[object, ...]]
    is_static: Final[bool]
    timestamp_us: Final[int]
    deletion_us: Final[int | None]
    row_timestamp_us: Final[int | None]
    row_ttl_s: Final[int | None]
    row_expires_at_s: Final[int | None]
    cells: Final[tuple[CellChange, ...]]
    collection_deletions: Final[tuple[tuple[str, int], ...]]
    clustering_range: Final[ClusteringRange | None]
    position: Final[Position | None]

    def __init__(  # noqa: PLR0917 - the fields' order, as the dataclass's own __init__ had it
        self,
        keyspace: str,
        table: str,
        op: Op,
        partition_key: tuple[object, ...],
        clustering: tuple[object, ...] = (),
        is_static: bool = False,
        timestamp_us: int = 0,
        deletion_us: int | None = None,
        row_timestamp_us: int | None = None,
        row_ttl_s: int | None = None,
        row_expires_at_s: int | None = None,
        cells: tuple[CellChange, ...] = (),
        collection_deletions: tuple[tuple[str, int], ...] = (),
        clustering_range: ClusteringRange | None = None,
        position: Position | None = None,
    ) -> None:
        self.keyspace = keyspace
        self.table = table
        self.op = op
        self.partition_key = partition_key
        self.clustering = clustering
        self.is_static = is_static
        self.timestamp_us = timestamp_us
        self.deletion_us = deletion_us
        self.row_timestamp_us = row_timestamp_us
        self.row_ttl_s = row_ttl_s
        self.row_expires_at_s = row_expires_at_s
        self.cells = cells
        self.collection_deletions = collection_deletions
        self.clustering_range = clustering_range
        self.position = position

    def _identity(self) -> tuple[object, ...]:
        """Every field but `position`: what equality and the hash compare."""
        return (
            self.keyspace,
            self.table,
            self.op,
            self.partition_key,
            self.clustering,
            self.is_static,
            self.timestamp_us,
            self.deletion_us,
            self.row_timestamp_us,
            self.row_ttl_s,
            self.row_expires_at_s,
            self.cells,
            self.collection_deletions,
            self.clustering_range,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ChangeEvent):
            return NotImplemented
        return self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash(self._identity())

    @property
    def qualified_table(self) -> str:
        return f"{self.keyspace}.{self.table}"
