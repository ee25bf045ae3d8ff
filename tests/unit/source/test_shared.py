"""Tests of the bounded store of recent results shared between destination threads."""

from __future__ import annotations

import threading

from casscade.source.shared import Recent


def test_recent_keeps_the_last_keys_put() -> None:
    """Beyond its size the oldest key goes; putting a key again makes it the newest."""
    recent: Recent[int, str] = Recent(3)
    for key in range(4):
        recent.put(key, f"v{key}")
    assert recent.get(0) is None
    assert [recent.get(k) for k in (1, 2, 3)] == ["v1", "v2", "v3"]
    recent.put(1, "again")
    recent.put(4, "v4")  # evicts 2, now the oldest
    assert recent.get(2) is None
    assert (recent.get(1), recent.get(3), recent.get(4), len(recent)) == ("again", "v3", "v4", 3)


def test_recent_of_size_zero_keeps_nothing() -> None:
    recent: Recent[int, int] = Recent(0)
    recent.put(1, 1)
    assert recent.get(1) is None
    assert len(recent) == 0


def test_recent_stays_bounded_under_threads() -> None:
    """Four threads putting 5,000 keys each leave exactly `size` keys, the values intact."""
    recent: Recent[tuple[int, int], int] = Recent(100)

    def fill(thread: int) -> None:
        for i in range(5_000):
            recent.put((thread, i), i)

    threads = [threading.Thread(target=fill, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(recent) == 100
    assert all(recent.get((t, i)) in (None, i) for t in range(4) for i in range(4_900, 5_000))
