"""Positions in a node's commit log: (segment id, logical offset), totally ordered.

An entry's position is the logical offset just after it (Cassandra's CommitLogPosition), so
"everything up to and including this entry" is `entry_position <= checkpoint`. Segment ids
grow on a node across restarts, so ordering by (segment id, offset) is log order.
"""

from __future__ import annotations

from typing import NamedTuple


class Position(NamedTuple):
    """A point in one node's commit log (a NamedTuple: one is built per entry; tuple order
    is log order).

    Attributes:
        segment_id: the segment.
        offset: logical byte offset within the segment.
    """

    segment_id: int
    offset: int

    def __str__(self) -> str:
        return f"{self.segment_id}:{self.offset}"
