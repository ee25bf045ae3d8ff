"""A sliding-window rate: events per second over the last `window_s` seconds.

Not thread-safe on its own: the status board holds its lock around every call. Times are
whatever clock the caller uses, in seconds.
"""

from __future__ import annotations

from collections import deque


class RateWindow:
    """Counts added at points in time, summed over a trailing window."""

    def __init__(self, window_s: float, *, started_at: float) -> None:
        if window_s <= 0:
            raise ValueError("window_s must be positive")
        self.window_s = window_s
        self._started_at = started_at
        self._counts: deque[tuple[float, int]] = deque()
        self._sum = 0

    def add(self, at: float, count: int) -> None:
        """Record `count` events at time `at` (times must not go backwards by much)."""
        self._counts.append((at, count))
        self._sum += count
        self._expire(at)

    def rate(self, now: float) -> float:
        """Events per second over the window ending at `now`.

        Right after start the window is shorter than `window_s`; the rate is taken over the
        time elapsed (at least one second, so that a first batch does not read as a spike).
        """
        self._expire(now)
        span = min(self.window_s, max(1.0, now - self._started_at))
        return self._sum / span

    def _expire(self, now: float) -> None:
        horizon = now - self.window_s
        while self._counts and self._counts[0][0] <= horizon:
            self._sum -= self._counts.popleft()[1]
