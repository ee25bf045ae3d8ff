"""Tests of the dead-letter store (a JSON-lines file per destination)."""

from __future__ import annotations

import uuid
from pathlib import Path

from casscade.commitlog.position import Position
from casscade.engine.deadletters import DeadLetterStore
from casscade.events.model import CellChange, ChangeEvent, Op


def _event(k: int) -> ChangeEvent:
    cell = CellChange("v", uuid.UUID(int=k), 10 + k)
    return ChangeEvent("ks", "t", Op.UPSERT, (k,), cells=(cell,), position=Position(3, 40 + k))


def test_add_counts_attempts_per_event_and_lists_each_event_once(tmp_path: Path) -> None:
    """A second failure of the same event is one letter with two attempts, same first time."""
    store = DeadLetterStore(tmp_path / "dlq")
    first = store.add("pg/1", _event(1), "boom")
    store.add("pg/1", _event(2), "boom")
    again = store.add("pg/1", _event(1), "boom again")
    store.add("ch", _event(1), "other")
    letters = store.list("pg/1")
    assert [letter.event for letter in letters] == [_event(1), _event(2)]
    assert letters[0].attempts == again.attempts == 2
    assert letters[0].first_failed == first.first_failed
    assert letters[0].error == "boom again"
    assert letters[0].event.position == Position(3, 41)
    assert {letter.destination for letter in store.list()} == {"pg/1", "ch"}
    assert store.count("ch") == 1


def test_resolve_removes_only_the_given_ids(tmp_path: Path) -> None:
    """Resolved letters are gone after the rewrite; the others stay with their attempts."""
    store = DeadLetterStore(tmp_path)
    one, two = store.add("pg", _event(1), "x"), store.add("pg", _event(2), "x")
    store.add("pg", _event(2), "x")
    assert store.resolve("pg", [one.id, "no-such-id"]) == 1
    assert [(d.id, d.attempts) for d in store.list("pg")] == [(two.id, 2)]
    assert store.resolve("pg", ["no-such-id"]) == 0


def test_a_torn_last_line_is_skipped_not_fatal(tmp_path: Path) -> None:
    """A line cut short by a crash is ignored; the complete lines still read."""
    store = DeadLetterStore(tmp_path)
    store.add("pg", _event(1), "x")
    path = next(tmp_path.glob("*.jsonl"))
    with path.open("a", encoding="utf-8") as out:
        out.write('{"id": "half')
    assert [d.event for d in store.list("pg")] == [_event(1)]
    assert DeadLetterStore(tmp_path / "absent").list() == []
