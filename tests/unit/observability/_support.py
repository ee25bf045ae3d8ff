"""Helpers of the observability tests: a settable wall clock and change events."""

from __future__ import annotations

from casscade.events.model import ChangeEvent, Op

T0 = 1_800_000_000.0  # a fixed wall-clock time (2027-01-15), in seconds


class FakeClock:
    """A wall clock the test moves by hand."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def event(table: str = "ks.t", *, written_s: float, key: int = 1) -> ChangeEvent:
    """An upsert of `table` written at `written_s` (seconds since the epoch)."""
    keyspace, name = table.split(".")
    return ChangeEvent(keyspace, name, Op.UPSERT, (key,), timestamp_us=int(written_s * 1e6))
