"""Tests of clustering-range coverage in Cassandra's clustering order."""

from __future__ import annotations

import json

import pytest

from casscade.events.model import ClusteringRange
from casscade.sinks.ranges import bounds_from_json, bounds_to_json, covers


def _range(
    start: tuple[object, ...], si: bool, end: tuple[object, ...], ei: bool
) -> ClusteringRange:
    return ClusteringRange(start=start, start_inclusive=si, end=end, end_inclusive=ei)


@pytest.mark.parametrize(
    ("bounds", "row", "inside"),
    [
        (_range((3,), True, (5,), False), (3,), True),  # ck >= 3 AND ck < 5
        (_range((3,), True, (5,), False), (5,), False),
        (_range((3,), True, (5,), False), (2,), False),
        (_range((3,), False, (), True), (3,), False),  # ck > 3
        (_range((3,), False, (), True), (99,), True),
        (_range((), True, (4,), True), (4,), True),  # ck <= 4
        (_range((), True, (4,), True), (5,), False),
        (_range((1,), True, (1,), True), (1, "x"), True),  # prefix: c1 = 1
        (_range((1,), True, (1,), True), (2, "a"), False),
        (_range((1, "b"), True, (1,), True), (1, "a"), False),  # c1 = 1 AND c2 >= 'b'
        (_range((1, "b"), True, (1,), True), (1, "c"), True),
    ],
)
def test_covers_ascending_bounds(
    bounds: ClusteringRange, row: tuple[object, ...], inside: bool
) -> None:
    """Inclusive and exclusive, open and prefix bounds cover exactly the rows they should."""
    assert covers(bounds, row, [False, False]) is inside


def test_covers_descending_column_reverses_order() -> None:
    """On a DESC column the start bound is the larger value: ck <= 10 AND ck > 4 in order."""
    bounds = _range((10,), True, (4,), False)  # clustering order: 10 first, then down to 4
    assert covers(bounds, (10,), [True])
    assert covers(bounds, (5,), [True])
    assert not covers(bounds, (4,), [True])
    assert not covers(bounds, (11,), [True])


def test_bounds_json_round_trip_and_decoded_jsonb() -> None:
    """Stored bounds read back equal, from text (ClickHouse) or a decoded dict (jsonb)."""
    bounds = _range((1, "b"), True, (3,), False)
    text = bounds_to_json(bounds)
    assert bounds_from_json(text) == bounds
    assert bounds_from_json(json.loads(text)) == bounds
    with pytest.raises(TypeError):
        bounds_from_json("[1, 2]")
