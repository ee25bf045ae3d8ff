"""Tests of the per-batch tombstone index (loads once per partition, sees new deletions)."""

from __future__ import annotations

from casscade.events.model import ClusteringRange
from casscade.sinks.ranges import TombstoneIndex


def test_tombstone_index_loads_once_per_partition_and_sees_added_deletions() -> None:
    """Shadows come from stored and newly added deletions; each partition loads once."""
    loads: list[tuple[object, ...]] = []
    stored: dict[tuple[object, ...], list[tuple[ClusteringRange | None, int]]] = {
        (1,): [(None, 50), (ClusteringRange((3,), True, (5,), False), 80)]
    }

    def load(key: tuple[object, ...]) -> list[tuple[ClusteringRange | None, int]]:
        loads.append(key)
        return list(stored.get(key, []))

    index = TombstoneIndex(load, [False])
    assert index.shadow((1,), (4,)) == 80  # inside the range deleted at 80
    assert index.shadow((1,), (9,)) == 50  # only the partition deletion covers it
    assert index.shadow((2,), (4,)) == -(1 << 63)  # nothing deleted there
    index.add((2,), None, 70)
    assert index.shadow((2,), (4,)) == 70
    assert loads == [(1,), (2,)]
