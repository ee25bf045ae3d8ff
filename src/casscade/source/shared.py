"""Work that threads do one after another, kept for a while so that it is done once.

The agent gives every destination its own reader of cdc_raw (own position, own pace). When
destinations are in step they decode, and map, the same entries a moment apart; `Latest`
keeps the results of the newest log positions so that the second and third reader take them
instead of doing the work again. A reader far behind (catching up after an outage, or a new
destination reading cdc_raw from its start) puts nothing older than what is kept: it does
its own work until it reaches the kept positions, which stay there for it, rather than push
them out one by one on its way (a plain most-recently-used store would keep nothing useful
for two readers scanning the log apart).

Bounded; thread-safe (lookups are single dict reads, insertions and evictions take a lock).
Values must be immutable: they are shared.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, Protocol, Self, TypeVar


class _Ordered(Protocol):
    def __lt__(self, other: Self, /) -> bool: ...


K = TypeVar("K", bound=_Ordered)
V = TypeVar("V")


class Latest(Generic[K, V]):
    """The values of up to `size` keys: the greatest put, when keys come mostly in order."""

    __slots__ = ("_lock", "_size", "_values", "hits")

    def __init__(self, size: int) -> None:
        self._size = size
        # In the order put: for keys put in ascending order the first is the least, and
        # dropping it is O(1).
        self._values: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0

    def get(self, key: K) -> V | None:
        value = self._values.get(key)
        if value is not None:
            self.hits += 1  # approximate under threads: for metrics and tests only
        return value

    def put(self, key: K, value: V) -> None:
        """Keep `value` for `key`, unless the store is full and `key` is older than all it
        holds; drop the oldest beyond `size`."""
        if self._size <= 0:
            return
        with self._lock:
            values = self._values
            if len(values) >= self._size and key not in values and key < next(iter(values)):
                return
            values[key] = value
            while len(values) > self._size:
                values.popitem(last=False)

    def __len__(self) -> int:
        return len(self._values)
