"""Whether a clustering-range tombstone covers a row, in Cassandra's clustering order.

A bound holds a prefix of the clustering values (empty = open end). A row is covered when it
sorts after the start bound and before the end bound, where a row whose prefix equals the
bound is inside exactly when the bound is inclusive. Columns declared `DESC` sort in reverse.
Pure; values compare with Python's ordering, which matches Cassandra's for the types the
sinks accept as clustering columns in range deletions (integers, text, timestamps, dates,
floating point, decimals, booleans).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence

from casscade.commitlog.render import to_json_value
from casscade.events.model import ClusteringRange


def _compare(row: Sequence[object], bound: Sequence[object], descending: Sequence[bool]) -> int:
    """-1, 0 or 1: the row's prefix against the bound, in clustering order."""
    for value, limit, desc in zip(row, bound, descending, strict=False):
        if value == limit:
            continue
        less = value < limit  # type: ignore[operator]
        return (1 if less else -1) if desc else (-1 if less else 1)
    return 0


def covers(
    bounds: ClusteringRange, clustering: Sequence[object], descending: Sequence[bool]
) -> bool:
    """Tell whether the row with `clustering` lies inside `bounds`."""
    if bounds.start:
        after = _compare(clustering, bounds.start, descending)
        if after < 0 or (after == 0 and not bounds.start_inclusive):
            return False
    if bounds.end:
        before = _compare(clustering, bounds.end, descending)
        if before > 0 or (before == 0 and not bounds.end_inclusive):
            return False
    return True


def bounds_to_json(bounds: ClusteringRange) -> str:
    """The JSON form of a range's bounds, as the sinks store it beside a range tombstone."""
    return json.dumps(to_json_value(bounds))


def bounds_from_json(stored: object) -> ClusteringRange:
    """Read bounds stored by `bounds_to_json` (PostgreSQL's jsonb arrives already decoded)."""
    data = json.loads(stored) if isinstance(stored, str) else stored
    if not isinstance(data, dict):
        raise TypeError(f"range bounds must be a JSON object, got {type(data).__name__}")
    start, end = data["start"], data["end"]
    if not isinstance(start, list) or not isinstance(end, list):
        raise TypeError("range bounds must be lists")
    return ClusteringRange(
        start=tuple(start),
        start_inclusive=bool(data["start_inclusive"]),
        end=tuple(end),
        end_inclusive=bool(data["end_inclusive"]),
    )


class TombstoneIndex:
    """The partition and range deletions of one table, loaded once per partition per batch.

    `shadow` answers "the newest deletion covering this row" for late writes; `add` records a
    deletion applied in the same batch. Loading goes through `load(partition_key)`, which
    returns (bounds or None for a partition deletion, deleted_at) pairs.
    """

    def __init__(
        self,
        load: Callable[[tuple[object, ...]], list[tuple[ClusteringRange | None, int]]],
        descending: Sequence[bool],
    ) -> None:
        self._load = load
        self._descending = descending
        self._by_partition: dict[tuple[object, ...], list[tuple[ClusteringRange | None, int]]] = {}

    def _entries(self, key: tuple[object, ...]) -> list[tuple[ClusteringRange | None, int]]:
        entries = self._by_partition.get(key)
        if entries is None:
            entries = self._by_partition[key] = self._load(key)
        return entries

    def shadow(self, key: tuple[object, ...], clustering: Sequence[object]) -> int:
        """The newest deletion timestamp covering the row, or the smallest 64-bit value."""
        newest = -(1 << 63)
        for bounds, deleted_at in self._entries(key):
            if deleted_at > newest and (
                bounds is None or covers(bounds, clustering, self._descending)
            ):
                newest = deleted_at
        return newest

    def partition_shadow(self, key: tuple[object, ...]) -> int:
        """The newest partition deletion (not range) of the partition: what shadows statics."""
        return max((t for bounds, t in self._entries(key) if bounds is None), default=-(1 << 63))

    def prime(
        self,
        keys: Iterable[tuple[object, ...]],
        stored: dict[tuple[object, ...], list[tuple[ClusteringRange | None, int]]],
    ) -> None:
        """Take the deletions of many partitions read at once (`keys` without any get none)."""
        for key in keys:
            self._by_partition.setdefault(key, list(stored.get(key, ())))

    def add(self, key: tuple[object, ...], bounds: ClusteringRange | None, deleted_at: int) -> None:
        """Remember a deletion written in this batch."""
        self._entries(key).append((bounds, deleted_at))
