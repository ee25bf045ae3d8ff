"""Decoded mutations to change events (format reference section 13, "mapping").

One partition update gives, in order: a DELETE_PARTITION for a partition deletion; a
DELETE_RANGE for each pair of range tombstone markers (a boundary closes one range and opens
the next); for the static row and each row: a DELETE_ROW for a row deletion, then an UPSERT
when the row also wrote cells or liveness. Values, timestamps and TTLs pass through unchanged;
nothing is compared or merged here (that is the sinks' last-write-wins).

A `TableMask` (casscade.masking builds them) masks a table's keys, range bounds and cells as
its events are built, so masked events are made once, never built plain and copied. Pure,
apart from what a mask does (tokenizing records vault entries).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from casscade.commitlog.position import Position
from casscade.commitlog.records import (
    BoundKind,
    Cell,
    Mutation,
    PartitionUpdate,
    RangeTombstoneMarker,
    Row,
)
from casscade.events.model import CellChange, ChangeEvent, ClusteringRange, Op

_OPENS = frozenset(
    {
        BoundKind.INCL_START_BOUND,
        BoundKind.EXCL_START_BOUND,
        BoundKind.EXCL_END_INCL_START_BOUNDARY,
        BoundKind.INCL_END_EXCL_START_BOUNDARY,
    }
)
_CLOSES = frozenset(
    {
        BoundKind.EXCL_END_BOUND,
        BoundKind.INCL_END_BOUND,
        BoundKind.EXCL_END_INCL_START_BOUNDARY,
        BoundKind.INCL_END_EXCL_START_BOUNDARY,
    }
)
_INCLUSIVE_START = frozenset({BoundKind.INCL_START_BOUND, BoundKind.EXCL_END_INCL_START_BOUNDARY})
_INCLUSIVE_END = frozenset({BoundKind.INCL_END_BOUND, BoundKind.INCL_END_EXCL_START_BOUNDARY})


class TableMask:
    """How one table's values are masked while its events are built (casscade.masking's
    `CompiledMask`). A base class, not a Protocol: compiled (casscade._native), the mapping
    calls its methods directly rather than look them up by name, several times an update."""

    __slots__ = ()

    def partition_key(self, values: tuple[object, ...]) -> tuple[object, ...]:
        """The partition key as destinations see it."""
        raise NotImplementedError

    def clustering(self, values: tuple[object, ...]) -> tuple[object, ...]:
        """A row's clustering (or a prefix of it) as destinations see it."""
        raise NotImplementedError

    def bounds(self, bounds: ClusteringRange) -> ClusteringRange:
        """A range deletion's bounds (may refuse a range it cannot mask)."""
        raise NotImplementedError

    def cells(self, cells: tuple[Cell, ...]) -> tuple[CellChange, ...]:
        """A row's decoded cells as cell changes, the masked ones masked."""
        raise NotImplementedError


class MaskLookup:
    """The mask of each partition update's table, for `mutation_to_events` (a base class for
    the reason `TableMask` is one)."""

    __slots__ = ()

    def mask_of(self, update: PartitionUpdate) -> TableMask | None:
        """The mask of the update's table; None when its table is not masked."""
        raise NotImplementedError


def mutation_to_events(mutation: Mutation, masks: MaskLookup | None = None) -> list[ChangeEvent]:
    """Every change event of a decoded mutation, in log order.

    Args:
        mutation: a decoded commit-log entry.
        masks: the mask of each partition update's table; None: nothing is masked.
    """
    events: list[ChangeEvent] = []
    for update in mutation.updates:
        mask = None if masks is None else masks.mask_of(update)
        events.extend(_update_events(update, mutation, mask))
    return events


class _Where(NamedTuple):
    """What every event of one partition update shares."""

    keyspace: str
    table: str
    partition_key: tuple[object, ...]
    position: Position
    mask: TableMask | None


def _deletion(
    where: _Where,
    op: Op,
    ts: int,
    *,
    clustering: tuple[object, ...] = (),
    is_static: bool = False,
    bounds: ClusteringRange | None = None,
) -> ChangeEvent:
    return ChangeEvent(
        keyspace=where.keyspace,
        table=where.table,
        op=op,
        partition_key=where.partition_key,
        clustering=clustering,
        is_static=is_static,
        timestamp_us=ts,
        deletion_us=ts,
        clustering_range=bounds,
        position=where.position,
    )


def _update_events(
    update: PartitionUpdate, mutation: Mutation, mask: TableMask | None
) -> Iterator[ChangeEvent]:
    key = update.partition_key if mask is None else mask.partition_key(update.partition_key)
    base = _Where(update.keyspace, update.table, key, mutation.position, mask)
    if update.partition_deletion is not None:
        ts = update.partition_deletion.marked_for_delete_at_us
        yield _deletion(base, Op.DELETE_PARTITION, ts)
    opened: RangeTombstoneMarker | None = None
    rows = ((update.static_row,) if update.static_row is not None else ()) + update.unfiltereds
    for item in rows:
        if isinstance(item, RangeTombstoneMarker):
            if opened is not None and item.kind in _CLOSES:
                yield _range_event(opened, item, base)
            opened = item if item.kind in _OPENS else None
        else:
            yield from _row_events(item, base)


def _range_event(
    opened: RangeTombstoneMarker, closing: RangeTombstoneMarker, base: _Where
) -> ChangeEvent:
    # The deletion that applies between the two markers is the opening one's (the last
    # deletion time of a boundary opens the next range).
    ts = opened.deletions[-1].marked_for_delete_at_us
    bounds = ClusteringRange(
        start=opened.clustering,
        start_inclusive=opened.kind in _INCLUSIVE_START,
        end=closing.clustering,
        end_inclusive=closing.kind in _INCLUSIVE_END,
    )
    if base.mask is not None:
        bounds = base.mask.bounds(bounds)
    return _deletion(base, Op.DELETE_RANGE, ts, bounds=bounds)


def _row_events(row: Row, base: _Where) -> Iterator[ChangeEvent]:
    mask = base.mask
    clustering = row.clustering
    if mask is not None and clustering:
        clustering = mask.clustering(clustering)
    if row.deletion is not None:
        yield _deletion(base, Op.DELETE_ROW, row.deletion.marked_for_delete_at_us,
                        clustering=clustering, is_static=row.is_static)  # fmt: skip
    cells = tuple([cell_change(c) for c in row.cells]) if mask is None else mask.cells(row.cells)
    deletions = tuple((d.column, d.deletion.marked_for_delete_at_us) for d in row.complex_deletions)
    if not cells and not deletions and row.liveness is None:
        return
    stamps = [c.timestamp_us for c in cells] + [ts for _, ts in deletions]
    if row.liveness is not None:
        stamps.append(row.liveness.timestamp_us)
    yield ChangeEvent(
        keyspace=base.keyspace,
        table=base.table,
        op=Op.UPSERT,
        partition_key=base.partition_key,
        clustering=clustering,
        is_static=row.is_static,
        timestamp_us=max(stamps),
        row_timestamp_us=None if row.liveness is None else row.liveness.timestamp_us,
        row_ttl_s=None if row.liveness is None else row.liveness.ttl_s,
        row_expires_at_s=None if row.liveness is None else row.liveness.expires_at_s,
        cells=cells,
        collection_deletions=deletions,
        position=base.position,
    )


_new = tuple.__new__  # a NamedTuple from its fields in order, without the keyword parsing


def cell_change(cell: Cell) -> CellChange:
    """A decoded cell as a cell change, as it is."""
    # The decoder's Cell: column, timestamp, value, tombstone, TTL, ldt, path, raw.
    column, timestamp, value, tombstone, ttl, ldt, path, raw = cell
    return _new(CellChange, (column, value, timestamp, ttl, ldt, tombstone, path, raw))
