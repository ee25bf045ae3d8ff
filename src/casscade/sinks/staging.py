"""Reduce a batch of change events to one staged row per primary key, before a set-based merge.

A destination that merges with one statement per table (PostgreSQL's INSERT ... SELECT ...
ON CONFLICT) can touch each row once per statement, so the batch is first folded here with
the same last-write-wins rule the merge applies against stored rows:

* a cell wins over another of the same column when its timestamp is newer; at equal
  timestamps the greater tie key (`tie_key`, Cassandra's Cells.resolveRegular): a tombstone,
  then an expiring cell (the later expiry first), then the greater serialized value as
  unsigned bytes, so -5 beats 5;
* a cell no newer than a covering deletion (row, range or partition, stored or in this batch)
  is dropped;
* a row's liveness (an INSERT's primary key) wins when newer, and at equal timestamps when it
  expires and the other does not, or later;
* row deletions keep the newest timestamp.

Partition and range deletions are collected for the destination to store and to apply to rows
it already holds. Pure: events and a TombstoneIndex in, staged rows out.
"""

from __future__ import annotations

import builtins  # fields say builtins.object: mypyc fails at import on a bare `object`
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from casscade.commitlog.codecs.counter import CounterContext
from casscade.events.model import CellChange, ChangeEvent, ClusteringRange, Op
from casscade.sinks.ranges import TombstoneIndex, covers

MIN_TS = -(1 << 63)


_LIVE, _EXPIRING, _TOMBSTONE = b"\x00", b"\x01", b"\x02"
_U32 = 0xFFFFFFFF


def tie_key(is_tombstone: bool, expires_at_s: int | None, raw: bytes) -> bytes:
    """What breaks a tie between two cells of one column with equal timestamps: the greater
    key wins, comparing bytes unsigned (Python, PostgreSQL bytea and ClickHouse String all
    compare so).

    Cassandra's order (Cells.resolveRegular): a tombstone beats any live cell, an expiring
    cell a non-expiring one, the later of two expiries wins, and else the greater value as
    unsigned bytes. Tombstones differ only by deletion time (their values are empty).
    """
    if is_tombstone:
        return _TOMBSTONE + (max(0, min(expires_at_s or 0, _U32))).to_bytes(4, "big")
    if expires_at_s is None:
        return _LIVE + raw
    return _EXPIRING + max(0, min(expires_at_s, _U32)).to_bytes(4, "big") + raw


# StagedCell and StagedRow are built per cell and per row, so they write their own __init__:
# compiled by mypyc (casscade._native) it takes 0.07 µs, where the one dataclass generates
# runs as Python, 0.2-0.5 µs. The dataclass still gives them equality and repr.


@dataclass(init=False)
class StagedCell:
    """The winning state of one column of one row in the batch (`tie`: `tie_key`)."""

    value: builtins.object
    timestamp_us: int
    expires_at_s: int | None
    is_tombstone: bool
    tie: bytes

    def __init__(
        self,
        value: object,
        timestamp_us: int,
        expires_at_s: int | None,
        is_tombstone: bool,
        tie: bytes = _LIVE,
    ) -> None:
        self.value = value
        self.timestamp_us = timestamp_us
        self.expires_at_s = expires_at_s
        self.is_tombstone = is_tombstone
        self.tie = tie


@dataclass(init=False)
class StagedRow:
    """Everything the batch does to one row; a new one is empty.

    Attributes:
        collection_deletions: column -> the newest deletion of the whole collection.
        elements: (column, path) -> the winning state of that element or UDT field.
    """

    cells: dict[str, StagedCell]
    row_timestamp_us: int | None
    row_expires_at_s: int | None
    deletion_us: int | None
    collection_deletions: dict[str, int]
    elements: dict[tuple[str, object], StagedCell]

    def __init__(self) -> None:
        self.cells = {}
        self.row_timestamp_us = None
        self.row_expires_at_s = None
        self.deletion_us = None
        self.collection_deletions = {}
        self.elements = {}

    def cell_values(
        self, columns: Sequence[tuple[str, Callable[[object], object]]]
    ) -> list[object]:
        """Value, timestamp, expiry and tie key of each (column, value converter), in order
        (four nulls for a column the batch did not write): the rows the destinations insert
        (`casscade.sinks.layout.cell_columns`)."""
        out: list[object] = []
        cells = self.cells
        for name, convert in columns:
            cell = cells.get(name)
            if cell is None:
                out.extend((None, None, None, None))
            else:
                out.append(convert(cell.value))
                out.append(cell.timestamp_us)
                out.append(cell.expires_at_s)
                out.append(cell.tie)
        return out


@dataclass(slots=True)
class Staged:
    """A batch folded for one table.

    Attributes:
        rows: (partition key + clustering) -> what the batch does to that row.
        tombstones: partition (bounds None) and range deletions to store, in batch order.
        partition_deletions: partition key -> the newest partition deletion in the batch.
        range_deletions: (partition key, bounds, deleted_at) to apply to stored rows.
    """

    rows: dict[tuple[object, ...], StagedRow] = field(default_factory=dict)
    tombstones: list[tuple[tuple[object, ...], ClusteringRange | None, int]] = field(
        default_factory=list
    )
    partition_deletions: dict[tuple[object, ...], int] = field(default_factory=dict)
    range_deletions: list[tuple[tuple[object, ...], ClusteringRange, int]] = field(
        default_factory=list
    )
    # partition key -> what the batch does to its static row (static columns)
    statics: dict[tuple[object, ...], StagedRow] = field(default_factory=dict)
    # partition key -> the keys of its staged rows (deletions in the batch visit only these)
    partitions: dict[tuple[object, ...], list[tuple[object, ...]]] = field(default_factory=dict)

    def row(self, key: tuple[object, ...], partition_width: int) -> StagedRow:
        """The staged row of `key`, created empty when the batch first touches it."""
        row = self.rows.get(key)
        if row is None:
            row = self.rows[key] = StagedRow()
            self.partitions.setdefault(key[:partition_width], []).append(key)
        return row


def cell_wins(new: StagedCell, old: StagedCell) -> bool:
    """Cassandra's reconciliation of two cells of one column: the newer, and at equal
    timestamps the greater tie key."""
    if new.timestamp_us != old.timestamp_us:
        return new.timestamp_us > old.timestamp_us
    return new.tie > old.tie


def stage(
    events: Iterable[ChangeEvent],
    key_width: int,
    tombstones: TombstoneIndex,
    descending: list[bool],
    counters: frozenset[str] = frozenset(),
) -> Staged:
    """Fold the events of one table (in any order) into staged rows and deletions.

    Args:
        events: the batch's events of one table.
        key_width: the number of primary key columns (partition key + clustering).
        tombstones: the table's stored partition and range deletions for the batch's
            partitions; the batch's own are added to it.
        descending: per clustering column, whether it is declared DESC.
        counters: the counter columns: each node's shard becomes an element (path: the
            node's counter id, value: its running count), and a deleted counter a deletion
            of the whole column; the destination sums the live shards.
    """
    staged = Staged()
    for event in events:
        if event.is_static:
            if event.op is Op.UPSERT:
                _stage_static(staged, event, tombstones)
        elif event.op is Op.UPSERT:
            _stage_upsert(staged, _as_shards(event, counters), key_width, tombstones)
        elif event.op is Op.DELETE_ROW:
            key = (*event.partition_key, *event.clustering)
            row = staged.row(key, len(event.partition_key))
            row.deletion_us = max(row.deletion_us or MIN_TS, event.deletion_us or MIN_TS)
        else:
            _stage_deletion(staged, event, tombstones, descending)
    return staged


def _stage_upsert(
    staged: Staged, event: ChangeEvent, key_width: int, tombstones: TombstoneIndex
) -> None:
    shadow = tombstones.shadow(event.partition_key, event.clustering)
    key = (*event.partition_key, *event.clustering)
    if len(key) != key_width:
        raise ValueError(f"expected {key_width} key values, got {len(key)}")
    row = staged.row(key, len(event.partition_key))
    shadow = max(shadow, row.deletion_us or MIN_TS)
    for column, deleted_at in event.collection_deletions:
        if deleted_at > shadow and deleted_at > row.collection_deletions.get(column, MIN_TS):
            row.collection_deletions[column] = deleted_at
    for cell in event.cells:
        if cell.timestamp_us <= shadow:
            continue
        state = _state_of(cell)
        if cell.path is None:
            old = row.cells.get(cell.column)
            if old is None or cell_wins(state, old):
                row.cells[cell.column] = state
            continue
        if cell.timestamp_us <= row.collection_deletions.get(cell.column, MIN_TS):
            continue
        at = (cell.column, cell.path)
        old = row.elements.get(at)
        if old is None or cell_wins(state, old):
            row.elements[at] = state
    ts = event.row_timestamp_us
    if ts is not None and ts > shadow and _liveness_wins(event, row):
        row.row_timestamp_us = ts
        row.row_expires_at_s = event.row_expires_at_s


def _as_shards(event: ChangeEvent, counters: frozenset[str]) -> ChangeEvent:
    """Counter cells as shard elements; a deleted counter as a whole-column deletion."""
    if not counters or not any(c.column in counters for c in event.cells):
        return event
    cells: list[CellChange] = []
    deletions = list(event.collection_deletions)
    for cell in event.cells:
        if cell.column not in counters:
            cells.append(cell)
        elif cell.is_tombstone or not isinstance(cell.value, CounterContext):
            deletions.append((cell.column, cell.timestamp_us))
        else:
            # At equal timestamps the higher clock wins between two versions of one shard.
            cells += [CellChange(cell.column, shard.count, cell.timestamp_us,
                                 path=shard.counter_id, raw=_clock(shard.clock))
                      for shard in cell.value.shards]  # fmt: skip
    return replace(event, cells=tuple(cells), collection_deletions=tuple(deletions))


def _liveness_wins(event: ChangeEvent, row: StagedRow) -> bool:
    """Whether the event's row liveness (an INSERT's) supersedes the staged one: the newer,
    and at equal timestamps an expiring one over one without TTL, the later expiry over the
    earlier (Cassandra's LivenessInfo.supersedes)."""
    old = row.row_timestamp_us
    if old is None or event.row_timestamp_us != old:
        return old is None or (event.row_timestamp_us or MIN_TS) > old
    new_exp, old_exp = event.row_expires_at_s, row.row_expires_at_s
    return new_exp is not None and (old_exp is None or new_exp > old_exp)


def _clock(clock: int) -> bytes:
    """A counter shard's clock as bytes that order as the clocks do."""
    return (clock + (1 << 63)).to_bytes(8, "big")


def _state_of(cell: CellChange) -> StagedCell:
    tombstone = cell.is_tombstone
    return StagedCell(
        None if tombstone else cell.value,
        cell.timestamp_us,
        None if tombstone else cell.expires_at_s,
        tombstone,
        tie_key(tombstone, cell.expires_at_s, cell.raw),
    )


def _stage_static(staged: Staged, event: ChangeEvent, tombstones: TombstoneIndex) -> None:
    """Static columns belong to the partition: only partition deletions shadow them."""
    pk = event.partition_key
    row = staged.statics.get(pk)
    if row is None:
        row = staged.statics[pk] = StagedRow()
    shadow = max(tombstones.partition_shadow(pk), row.deletion_us or MIN_TS)
    for cell in event.cells:
        if cell.timestamp_us <= shadow or cell.path is not None:
            continue
        state = _state_of(cell)
        old = row.cells.get(cell.column)
        if old is None or cell_wins(state, old):
            row.cells[cell.column] = state
    ts = event.row_timestamp_us
    if ts is not None and ts > shadow and _liveness_wins(event, row):
        row.row_timestamp_us = ts
        row.row_expires_at_s = event.row_expires_at_s


def _stage_deletion(
    staged: Staged, event: ChangeEvent, tombstones: TombstoneIndex, descending: list[bool]
) -> None:
    deleted_at = event.deletion_us if event.deletion_us is not None else MIN_TS
    bounds = event.clustering_range
    pk = event.partition_key
    tombstones.add(pk, bounds, deleted_at)
    staged.tombstones.append((pk, bounds, deleted_at))
    if bounds is None:
        staged.partition_deletions[pk] = max(staged.partition_deletions.get(pk, MIN_TS), deleted_at)
        static = staged.statics.get(pk)
        if static is not None:
            static.deletion_us = max(static.deletion_us or MIN_TS, deleted_at)
    else:
        staged.range_deletions.append((pk, bounds, deleted_at))
    width = len(pk)
    for key in staged.partitions.get(pk, ()):
        if bounds is None or covers(bounds, key[width:], descending):
            row = staged.rows[key]
            row.deletion_us = max(row.deletion_us or MIN_TS, deleted_at)
