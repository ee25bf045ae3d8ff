"""Tests of folding a batch into one staged row per key (the PostgreSQL merge's input)."""

from __future__ import annotations

import itertools

from casscade.events.model import CellChange, ChangeEvent, ClusteringRange, Op
from casscade.sinks.ranges import TombstoneIndex
from casscade.sinks.staging import StagedCell, cell_wins, stage, tie_key


def _index(
    stored: dict[tuple[object, ...], list[tuple[ClusteringRange | None, int]]],
) -> TombstoneIndex:
    return TombstoneIndex(lambda key: list(stored.get(key, [])), [False])


def _upsert(
    ck: int, ts: int, value: object = "v", *, tomb: bool = False, row: bool = False
) -> ChangeEvent:
    cell = CellChange("v", None if tomb else value, ts, is_tombstone=tomb)
    return ChangeEvent("ks", "t", Op.UPSERT, (1,), (ck,), timestamp_us=ts, cells=(cell,),
                       row_timestamp_us=ts if row else None)  # fmt: skip


def _delete(
    op: Op, ts: int, ck: tuple[object, ...] = (), bounds: ClusteringRange | None = None
) -> ChangeEvent:
    return ChangeEvent("ks", "t", op, (1,), ck, deletion_us=ts, clustering_range=bounds)


def test_newest_cell_wins_whatever_the_order() -> None:
    """Every order of the same writes stages the newest value."""
    events = [_upsert(1, 10, "a"), _upsert(1, 30, "c"), _upsert(1, 20, "b")]
    for order in itertools.permutations(events):
        staged = stage(order, 2, _index({}), [False])
        cell = staged.rows[(1, 1)].cells["v"]
        assert (cell.value, cell.timestamp_us, cell.is_tombstone) == ("c", 30, False)


def _cell(value: object, ts: int, raw: bytes, expires: int | None = None) -> StagedCell:
    tomb = value is None
    return StagedCell(value, ts, None if tomb else expires, tomb, tie_key(tomb, expires, raw))


def test_equal_timestamps_resolve_as_cassandra_does() -> None:
    """At equal timestamps: a tombstone beats everything, an expiring cell a non-expiring one,
    the later expiry the earlier, and else the greater serialized value as unsigned bytes
    (so -5, 0xFFFFFFFB, beats 5); a newer timestamp beats all of it."""
    five, minus_five = _cell(5, 5, (5).to_bytes(4, "big", signed=True)), _cell(
        -5, 5, (-5).to_bytes(4, "big", signed=True))  # fmt: skip
    expiring, later = _cell("a", 5, b"a", expires=100), _cell("a", 5, b"a", expires=200)
    tomb = _cell(None, 5, b"", expires=50)
    order = [five, minus_five, expiring, later, tomb]  # each beats the ones before it
    for i, weaker in enumerate(order):
        for stronger in order[i + 1 :]:
            assert cell_wins(stronger, weaker), (stronger, weaker)
            assert not cell_wins(weaker, stronger), (weaker, stronger)
    assert cell_wins(_cell("a", 6, b"a"), tomb)
    assert not cell_wins(_cell("z", 4, b"z"), five)


def test_equal_timestamps_in_a_batch_give_the_same_winner_in_any_order() -> None:
    """Folding two writes of one timestamp keeps the one Cassandra keeps, whichever is first."""

    def write(value: int, ttl_expiry: int | None = None) -> ChangeEvent:
        cell = CellChange("v", value, 7, expires_at_s=ttl_expiry,
                          raw=value.to_bytes(4, "big", signed=True))  # fmt: skip
        return ChangeEvent("ks", "t", Op.UPSERT, (1,), (1,), timestamp_us=7, cells=(cell,))

    for pair, winner in (((5, -5), -5), ((1, 2), 2)):
        for order in itertools.permutations([write(v) for v in pair]):
            assert stage(order, 2, _index({}), [False]).rows[(1, 1)].cells["v"].value == winner
    for order in itertools.permutations([write(9), write(1, ttl_expiry=10**9)]):
        assert stage(order, 2, _index({}), [False]).rows[(1, 1)].cells["v"].value == 1


def test_deletions_in_the_batch_and_stored_shadow_older_writes() -> None:
    """A write no newer than a covering deletion is dropped; newer ones stay."""
    stored: dict[tuple[object, ...], list[tuple[ClusteringRange | None, int]]] = {
        (1,): [(ClusteringRange((5,), True, (9,), True), 40)]
    }
    events = [
        _upsert(6, 30, "inside stored range, older"),
        _upsert(6, 50, "inside stored range, newer"),
        _delete(Op.DELETE_ROW, 60, (2,)),
        _upsert(2, 55, "older than the row deletion"),
        _delete(Op.DELETE_PARTITION, 70),
        _upsert(3, 65, "older than the partition deletion"),
        _upsert(3, 80, "newer", row=True),
    ]
    staged = stage(events, 2, _index(stored), [False])
    assert staged.rows[(1, 6)].cells["v"].value == "inside stored range, newer"
    assert staged.rows[(1, 6)].deletion_us == 70  # the later partition deletion covers it
    assert "v" not in staged.rows[(1, 2)].cells
    assert staged.rows[(1, 2)].deletion_us == 70
    assert staged.rows[(1, 3)].cells["v"].value == "newer"
    assert staged.rows[(1, 3)].row_timestamp_us == 80
    assert staged.partition_deletions == {(1,): 70}
    assert staged.tombstones == [((1,), None, 70)]


def test_range_deletion_marks_only_covered_staged_rows() -> None:
    """A range deletion raises the deletion time of the staged rows inside its bounds."""
    bounds = ClusteringRange((2,), True, (4,), False)
    events = [_upsert(ck, 10) for ck in range(1, 6)] + [_delete(Op.DELETE_RANGE, 20, (), bounds)]
    staged = stage(events, 2, _index({}), [False])
    marked = {key[1] for key, row in staged.rows.items() if row.deletion_us == 20}
    assert marked == {2, 3}
    assert staged.range_deletions == [((1,), bounds, 20)]
    assert staged.rows[(1, 1)].deletion_us is None


def test_row_liveness_keeps_the_newest_insert_and_tombstones_drop_values() -> None:
    """Liveness wins when at least as new; a cell tombstone stages no value and no expiry."""
    events = [_upsert(1, 30, row=True), _upsert(1, 20, row=True), _upsert(1, 40, tomb=True)]
    row = stage(events, 2, _index({}), [False]).rows[(1, 1)]
    assert row.row_timestamp_us == 30
    assert row.cells["v"] == StagedCell(None, 40, None, True, tie_key(True, None, b""))
    assert row.deletion_us is None


def test_row_liveness_at_equal_timestamps_prefers_the_expiring_then_the_later() -> None:
    """Two INSERTs of one row at one timestamp: the one with TTL wins over the one without,
    the later expiry over the earlier, whichever comes first (LivenessInfo.supersedes)."""

    def insert(expires: int | None) -> ChangeEvent:
        return ChangeEvent("ks", "t", Op.UPSERT, (1,), (1,), timestamp_us=9,
                           row_timestamp_us=9, row_expires_at_s=expires)  # fmt: skip

    for pair, expected in (((None, 100), 100), ((100, 200), 200), ((None, None), None)):
        for order in itertools.permutations([insert(e) for e in pair]):
            row = stage(order, 2, _index({}), [False]).rows[(1, 1)]
            assert (row.row_timestamp_us, row.row_expires_at_s) == (9, expected)
    newer = [insert(100), ChangeEvent("ks", "t", Op.UPSERT, (1,), (1,), timestamp_us=10,
                                      row_timestamp_us=10)]  # fmt: skip
    for order in itertools.permutations(newer):
        row = stage(order, 2, _index({}), [False]).rows[(1, 1)]
        assert (row.row_timestamp_us, row.row_expires_at_s) == (10, None)
