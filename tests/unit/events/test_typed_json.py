"""Events survive typed JSON exactly (dead letters are applied again later)."""

from __future__ import annotations

import datetime
import decimal
import ipaddress
import json
import math
import uuid

import pytest

from casscade.commitlog.codecs.temporal import CqlDate, CqlTimestamp, Duration
from casscade.events.serde import event_from_typed, event_to_typed, from_typed, to_typed
from tests.unit.events.test_mapping import FIXTURES, _events


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_recorded_event_round_trips_through_typed_json(fixture: object) -> None:
    """Each event of every golden fixture reads back equal, position included."""
    events = _events(fixture)  # type: ignore[arg-type]
    assert events
    for event in events:
        text = json.dumps(event_to_typed(event))
        back = event_from_typed(json.loads(text))
        assert back == event
        assert back.position == event.position


def test_values_keep_their_types() -> None:
    """Types JSON lacks come back as themselves, not as their text."""
    values: list[object] = [
        b"\x00\xff", uuid.UUID(int=7), decimal.Decimal("1.50"), ipaddress.ip_address("::1"),
        datetime.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=datetime.UTC), datetime.date(2026, 1, 2),
        CqlDate(-10**9), CqlTimestamp(10**15), Duration(1, 2, 3), (1, "a"), {1, 2},
        frozenset({"x"}), {1: "one"}, {"$odd": 1}, {"k": [1.5, None]}, float("inf"),
    ]  # fmt: skip
    for value in values:
        back = from_typed(json.loads(json.dumps(to_typed(value))))
        assert back == value
        assert type(back) is type(value)
    assert math.isnan(from_typed(to_typed(float("nan"))))  # type: ignore[arg-type]


def test_unknown_types_and_tags_are_refused() -> None:
    """Writing an unexpected type or reading an unknown tag raises, never guesses."""
    with pytest.raises(TypeError, match="object"):
        to_typed(object())
    with pytest.raises(ValueError, match="unknown typed JSON tag"):
        from_typed({"$": "pickle", "v": ""})
