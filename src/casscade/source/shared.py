"""Work that threads do one after another, kept for a while so that it is done once.

The agent gives every destination its own reader of cdc_raw (own position, own pace). When
destinations are in step they decode, and map, the same entries a moment apart; `Recent`
keeps the latest results by key so the second and third reader take them instead of doing
the work again. Bounded: the oldest go first. Thread-safe: lookups are single dict reads,
insertions and evictions take a lock. Values must be immutable (they are shared).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Recent(Generic[K, V]):
    """The values of the last `size` keys put."""

    __slots__ = ("_lock", "_size", "_values", "hits")

    def __init__(self, size: int) -> None:
        self._size = size
        # OrderedDict: dropping the oldest is O(1) (a dict's first key is found by skipping
        # the slots of every key deleted before it).
        self._values: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0

    def get(self, key: K) -> V | None:
        value = self._values.get(key)
        if value is not None:
            self.hits += 1  # approximate under threads: for metrics and tests only
        return value

    def put(self, key: K, value: V) -> None:
        if self._size <= 0:
            return
        with self._lock:
            values = self._values
            values[key] = value
            values.move_to_end(key)
            while len(values) > self._size:
                values.popitem(last=False)

    def __len__(self) -> int:
        return len(self._values)
