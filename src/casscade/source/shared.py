"""Work that threads do one after another, kept for a while so that it is done once.

The agent gives every destination its own reader of cdc_raw (own position, own pace). When
destinations are in step they decode, and map, the same entries a moment apart; `Latest`
keeps the results of the newest log positions so that the second and third reader take them
instead of doing the work again. A reader far behind (catching up after an outage, or a new
destination reading cdc_raw from its start) puts nothing older than what is kept: it does
its own work until it reaches the kept positions, which stay there for it, rather than push
them out one by one on its way (a plain most-recently-used store would keep nothing useful
for two readers scanning the log apart).

Bounded by a number of keys and by bytes (each value put with its approximate size: entries
of a commit log can be megabytes); thread-safe (lookups are single dict reads, insertions and
evictions take a lock). Values must be immutable: they are shared.
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
    """The values of up to `size` keys and `max_bytes` bytes: the greatest keys put, when
    keys come mostly in order."""

    __slots__ = ("_bytes", "_lock", "_max_bytes", "_size", "_values", "hits")

    def __init__(self, size: int, max_bytes: int = 64 << 20) -> None:
        self._size = size
        self._max_bytes = max_bytes
        # key -> (value, its size), in the order put: for keys put in ascending order the
        # first is the least, and dropping it is O(1).
        self._values: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0

    def get(self, key: K) -> V | None:
        kept = self._values.get(key)
        if kept is None:
            return None
        self.hits += 1  # approximate under threads: for metrics and tests only
        return kept[0]

    def put(self, key: K, value: V, nbytes: int) -> None:
        """Keep `value` (about `nbytes` big) for `key`, unless the store is full and `key` is
        older than all it holds, or the value alone is larger than the store; drop the
        oldest beyond the bounds."""
        if self._size <= 0 or nbytes > self._max_bytes:
            return
        with self._lock:
            values = self._values
            full = len(values) >= self._size or self._bytes + nbytes > self._max_bytes
            if full and key not in values and key < next(iter(values)):
                return
            old = values.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            values[key] = (value, nbytes)
            self._bytes += nbytes
            while len(values) > self._size or self._bytes > self._max_bytes:
                self._bytes -= values.popitem(last=False)[1][1]

    @property
    def keeps(self) -> bool:
        """Whether anything is ever kept (a size above 0)."""
        return self._size > 0

    @property
    def nbytes(self) -> int:
        """The sizes of the values kept, as given to `put`."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._values)
