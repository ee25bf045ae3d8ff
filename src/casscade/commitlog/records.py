"""The records the mutation decoder produces, and the wire flags they are read from.

Mirrors the structures of `PartitionUpdate`, `Row`, `Cell`, `RangeTombstoneMarker`,
`DeletionTime` and `LivenessInfo` (Cassandra 5.0) as plain immutable values. `Cell` is a
NamedTuple rather than a frozen dataclass: millions are built per minute of decoding and a
tuple is four times cheaper to construct. The records built once per entry, row or cell are
NamedTuples for the same reason; the rare ones (UnknownSchema, SkippedMutation) are frozen
dataclasses.
"""

from __future__ import annotations

import builtins  # fields say builtins.object: mypyc fails at import on a bare `object`
import uuid
from dataclasses import dataclass
from enum import IntEnum, IntFlag
from typing import NamedTuple

from casscade.commitlog.position import Position

# EncodingStats.TIMESTAMP_EPOCH / DELETION_TIME_EPOCH: 2015-09-22T00:00:00Z in µs and s.
TIMESTAMP_EPOCH_US = 1442880000000000
DELETION_TIME_EPOCH_S = 1442880000
# DeletionTime.LIVE.markedForDeleteAt: "no deletion" where the format needs a deletion time.
NO_TIMESTAMP = -(1 << 63)


class PartitionFlag(IntFlag):
    """PartitionUpdate flags byte (UnfilteredRowIteratorSerializer, 5.0)."""

    IS_EMPTY = 0x01
    IS_REVERSED = 0x02
    HAS_PARTITION_DELETION = 0x04
    HAS_STATIC_ROW = 0x08
    HAS_ROW_ESTIMATE = 0x10


class RowFlag(IntFlag):
    """Unfiltered flags byte (UnfilteredSerializer, 5.0)."""

    END_OF_PARTITION = 0x01
    IS_MARKER = 0x02
    HAS_TIMESTAMP = 0x04
    HAS_TTL = 0x08
    HAS_DELETION = 0x10
    HAS_ALL_COLUMNS = 0x20
    HAS_COMPLEX_DELETION = 0x40
    EXTENSION_FLAG = 0x80


class ExtendedRowFlag(IntFlag):
    """Extended flags byte (UnfilteredSerializer, 5.0)."""

    IS_STATIC = 0x01
    HAS_SHADOWABLE_DELETION = 0x02


class CellFlag(IntFlag):
    """Cell flags byte (Cell.Serializer, 5.0)."""

    IS_DELETED = 0x01
    IS_EXPIRING = 0x02
    HAS_EMPTY_VALUE = 0x04
    USE_ROW_TIMESTAMP = 0x08
    USE_ROW_TTL = 0x10


class BoundKind(IntEnum):
    """ClusteringPrefix.Kind ordinals as written in range tombstone markers."""

    EXCL_END_BOUND = 0
    INCL_START_BOUND = 1
    EXCL_END_INCL_START_BOUNDARY = 2
    STATIC_CLUSTERING = 3
    CLUSTERING = 4
    INCL_END_EXCL_START_BOUNDARY = 5
    INCL_END_BOUND = 6
    EXCL_START_BOUND = 7

    @property
    def is_boundary(self) -> bool:
        return self in (
            BoundKind.EXCL_END_INCL_START_BOUNDARY,
            BoundKind.INCL_END_EXCL_START_BOUNDARY,
        )


class DeletionTime(NamedTuple):
    """A deletion: shadows data with timestamp <= marked_for_delete_at_us."""

    marked_for_delete_at_us: int
    local_deletion_time_s: int


class Liveness(NamedTuple):
    """A row's primary-key liveness (INSERT writes it; UPDATE does not)."""

    timestamp_us: int
    ttl_s: int | None
    expires_at_s: int | None


class Cell(NamedTuple):
    """One cell.

    Attributes:
        column: the column's name.
        timestamp_us: write (or deletion) timestamp.
        value: the decoded value; None for a tombstone and for set elements.
        is_tombstone: a deletion of this cell.
        ttl_s: the TTL if the cell expires.
        local_deletion_time_s: expiry time for an expiring cell, deletion time for a tombstone.
        path: for a cell of a non-frozen collection or UDT: list -> timeuuid, set -> the
            element, map -> the key, UDT -> the field name. None for simple columns.
        raw: the value's bytes as serialized: what Cassandra compares when two cells of one
            column have equal timestamps (empty for set elements; a tombstone's as written).
    """

    column: str
    timestamp_us: int
    value: builtins.object
    is_tombstone: bool = False
    ttl_s: int | None = None
    local_deletion_time_s: int | None = None
    path: builtins.object = None
    raw: bytes = b""


class ComplexDeletion(NamedTuple):
    """A whole non-frozen collection or UDT column deleted (or overwritten: at ts - 1)."""

    column: str
    deletion: DeletionTime


class Row(NamedTuple):
    """A row (or the static row) of a partition update."""

    clustering: tuple[object, ...]
    is_static: bool
    liveness: Liveness | None
    deletion: DeletionTime | None
    cells: tuple[Cell, ...]
    complex_deletions: tuple[ComplexDeletion, ...] = ()


class RangeTombstoneMarker(NamedTuple):
    """An open or close bound (one deletion) or a boundary (close then open deletion)."""

    kind: BoundKind
    clustering: tuple[object, ...]
    deletions: tuple[DeletionTime, ...]


Unfiltered = Row | RangeTombstoneMarker


class PartitionUpdate(NamedTuple):
    """Everything one mutation did to one table's partition."""

    table_id: uuid.UUID
    keyspace: str
    table: str
    partition_key: tuple[object, ...]
    partition_deletion: DeletionTime | None
    static_row: Row | None
    unfiltereds: tuple[Unfiltered, ...]


class Mutation(NamedTuple):
    """A decoded commit-log entry.

    Attributes:
        position: Cassandra's position of the entry (the offset just after it).
        keyspace: the keyspace every partition update belongs to.
        updates: one partition update per table the mutation touched.
    """

    position: Position
    keyspace: str
    updates: tuple[PartitionUpdate, ...]


@dataclass(frozen=True, slots=True)
class UnknownSchema:
    """An entry the snapshot cannot decode: refresh the schema and decode it again.

    Attributes:
        position: the entry's position.
        table_id: the table id that is unknown, or whose column is unknown.
        column: the unknown column's name, None when the table itself is unknown.
    """

    position: Position
    table_id: uuid.UUID
    column: str | None


@dataclass(frozen=True, slots=True)
class SkippedMutation:
    """An entry of a keyspace without CDC tables (system tables and the like)."""

    position: Position
    table_id: uuid.UUID


MutationRecord = Mutation | UnknownSchema | SkippedMutation
