"""Decoded mutations to change events (format reference section 13, "mapping").

One partition update gives, in order: a DELETE_PARTITION for a partition deletion; a
DELETE_RANGE for each pair of range tombstone markers (a boundary closes one range and opens
the next); for the static row and each row: a DELETE_ROW for a row deletion, then an UPSERT
when the row also wrote cells or liveness. Values, timestamps and TTLs pass through unchanged;
nothing is compared or merged here (that is the sinks' last-write-wins). Pure.
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


def mutation_to_events(mutation: Mutation) -> list[ChangeEvent]:
    """Every change event of a decoded mutation, in log order."""
    events: list[ChangeEvent] = []
    for update in mutation.updates:
        events.extend(_update_events(update, mutation))
    return events


class _Where(NamedTuple):
    """What every event of one partition update shares."""

    keyspace: str
    table: str
    partition_key: tuple[object, ...]
    position: Position


def _deletion(
    where: _Where, op: Op, ts: int, *, row: Row | None = None, bounds: ClusteringRange | None = None
) -> ChangeEvent:
    return ChangeEvent(
        keyspace=where.keyspace,
        table=where.table,
        op=op,
        partition_key=where.partition_key,
        clustering=() if row is None else row.clustering,
        is_static=row is not None and row.is_static,
        timestamp_us=ts,
        deletion_us=ts,
        clustering_range=bounds,
        position=where.position,
    )


def _update_events(update: PartitionUpdate, mutation: Mutation) -> Iterator[ChangeEvent]:
    base = _Where(update.keyspace, update.table, update.partition_key, mutation.position)
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
    return _deletion(base, Op.DELETE_RANGE, ts, bounds=bounds)


def _row_events(row: Row, base: _Where) -> Iterator[ChangeEvent]:
    if row.deletion is not None:
        yield _deletion(base, Op.DELETE_ROW, row.deletion.marked_for_delete_at_us, row=row)
    cells = tuple(_cell(c) for c in row.cells)
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
        clustering=row.clustering,
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


def _cell(cell: Cell) -> CellChange:
    # The decoder's Cell: column, timestamp, value, tombstone, TTL, ldt, path, raw.
    column, timestamp, value, tombstone, ttl, ldt, path, raw = cell
    return _new(CellChange, (column, value, timestamp, ttl, ldt, tombstone, path, raw))
