"""Tests of the demo's deterministic workload generator."""

from __future__ import annotations

import uuid

from casscade.demo.workload import KEYSPACE, Op, generate


def test_generate_same_seed_same_stream() -> None:
    """The stream is a pure function of seed, count and base timestamp."""
    first = [(s.cql, s.params) for s in generate(300, seed=3)]
    second = [(s.cql, s.params) for s in generate(300, seed=3)]
    other = [(s.cql, s.params) for s in generate(300, seed=4)]
    assert first == second
    assert first != other


def test_generate_mixes_ops_and_timestamps_increase() -> None:
    """Inserts, updates and deletes all occur, each with a later USING TIMESTAMP."""
    stream = list(generate(500, base_timestamp_us=1000))
    assert {s.op for s in stream} == {Op.INSERT, Op.UPDATE, Op.DELETE}
    stamps = [int(s.cql.split("USING TIMESTAMP ")[1].split()[0]) for s in stream]
    assert stamps == list(range(1000, 1500))
    assert all(s.cql.count(KEYSPACE) == 1 for s in stream)


def test_generate_updates_and_deletes_target_inserted_customers() -> None:
    """No update or delete names a customer that was never inserted or already deleted."""
    live: set[uuid.UUID] = set()
    for s in generate(1000, seed=11):
        if s.table != "customers":
            continue
        key = s.params[0] if s.op is Op.INSERT else s.params[-1]
        assert isinstance(key, uuid.UUID)
        if s.op is Op.INSERT:
            live.add(key)
        else:
            assert key in live
            if s.op is Op.DELETE:
                live.remove(key)
