"""Tests of the bounded store of the newest results shared between destination threads."""

from __future__ import annotations

import threading

from casscade.source.shared import Latest


def test_latest_keeps_the_greatest_keys_put_in_order() -> None:
    """Beyond its size the oldest key goes; putting a kept key again replaces its value."""
    latest: Latest[int, str] = Latest(3)
    for key in range(4):
        latest.put(key, f"v{key}", 1)
    assert latest.get(0) is None
    assert [latest.get(k) for k in (1, 2, 3)] == ["v1", "v2", "v3"]
    latest.put(2, "again", 1)
    assert (latest.get(2), len(latest)) == ("again", 3)
    latest.put(4, "v4", 1)
    assert latest.get(1) is None
    assert [latest.get(k) for k in (2, 3, 4)] == ["again", "v3", "v4"]


def test_a_reader_far_behind_does_not_push_out_what_the_leader_left() -> None:
    """A second scan of the same keys from the start finds the leader's last keys kept when
    it reaches them, although it put every older key on its way."""
    latest: Latest[int, int] = Latest(100)
    for key in range(1_000):  # the leading reader
        latest.put(key, key, 1)
    hits = 0
    for key in range(1_000):  # the one behind: misses, does the work, puts, and goes on
        if latest.get(key) is None:
            latest.put(key, key, 1)
        else:
            hits += 1
    assert hits == 100
    assert latest.get(999) == 999


def test_latest_of_size_zero_keeps_nothing() -> None:
    latest: Latest[int, int] = Latest(0)
    latest.put(1, 1, 1)
    assert latest.get(1) is None
    assert len(latest) == 0
    assert not latest.keeps
    assert Latest(1).keeps


def test_latest_stays_bounded_under_threads() -> None:
    """Four threads putting 5,000 keys each leave exactly `size` keys, values intact."""
    latest: Latest[tuple[int, int], int] = Latest(100)

    def fill(thread: int) -> None:
        for i in range(5_000):
            latest.put((i, thread), i, 1)

    threads = [threading.Thread(target=fill, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(latest) == 100
    assert all(latest.get((i, t)) in (None, i) for t in range(4) for i in range(4_900, 5_000))


def test_latest_is_bounded_by_bytes_too() -> None:
    """Values go oldest first once their sizes pass `max_bytes`; one larger than the store
    is not kept at all."""
    latest: Latest[int, str] = Latest(100, max_bytes=1_000)
    for key in range(5):
        latest.put(key, f"v{key}", 300)
    assert [latest.get(k) for k in range(5)] == [None, None, "v2", "v3", "v4"]
    assert latest.nbytes == 900
    latest.put(4, "smaller", 100)
    assert (latest.get(4), latest.nbytes) == ("smaller", 700)
    latest.put(9, "huge", 1_001)
    assert latest.get(9) is None
    assert len(latest) == 3
