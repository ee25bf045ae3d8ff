"""Tests of mutations -> change events, on the recorded golden fixtures."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from casscade.commitlog.mutation import Mutation
from casscade.commitlog.schema import SchemaSnapshot, build_snapshot, rows_from_json
from casscade.events.mapping import mutation_to_events
from casscade.events.model import ChangeEvent, Op
from casscade.events.serde import event_id, event_to_json
from casscade.source.segments import read_segment, segment_source

FIXTURE_ROOT = Path(__file__).resolve().parents[2] / "fixtures" / "commitlog"
FIXTURES = sorted(p.parent for p in FIXTURE_ROOT.glob("*/*/expected.jsonl"))
# Scenarios whose events carry values the server chooses (LWT ballot timestamps, counter
# shard ids, list cell timeuuids): two recordings cannot agree on those.
SERVER_CHOSEN = {"lwt", "counters", "collections", "frozen_types"}


def _events(fixture: Path) -> list[ChangeEvent]:
    manifest = json.loads((fixture / "MANIFEST").read_text("utf-8"))
    tables = set(manifest["cdc_tables"])
    snapshot: SchemaSnapshot = build_snapshot(
        rows_from_json((fixture / "schema.json").read_text("utf-8"))
    )
    events: list[ChangeEvent] = []
    for log in sorted(fixture.glob("*.log")):
        for record in read_segment(segment_source(log), snapshot):
            if isinstance(record, Mutation):
                events.extend(
                    e for e in mutation_to_events(record) if e.qualified_table in tables
                )  # fmt: skip
    return events


def _facts(fixture: Path) -> Counter[str]:
    lines = (fixture / "expected.jsonl").read_text("utf-8").splitlines()
    facts = [json.loads(line) for line in lines]
    # Facts of a column dropped later are not decoded (Cassandra ignores them too).
    return Counter(f["fact"] for f in facts if not f.get("dropped", False))


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_mutation_to_events_counts_match_scenario_facts(fixture: Path) -> None:
    """Each deletion fact becomes one event of its kind; every cell fact one cell change."""
    events = _events(fixture)
    facts = _facts(fixture)
    ops = Counter(e.op for e in events)
    assert ops[Op.DELETE_PARTITION] == facts["partition_deletion"]
    assert ops[Op.DELETE_RANGE] == facts["range_deletion"]
    assert ops[Op.DELETE_ROW] == facts["row_deletion"]
    assert sum(len(e.cells) for e in events) == facts["cell"]
    assert sum(e.row_timestamp_us is not None for e in events) == facts["liveness"]
    assert sum(len(e.collection_deletions) for e in events) == facts["complex_deletion"]


def test_mutation_to_events_every_event_has_position_and_newest_timestamp() -> None:
    """Events carry where they were read and the newest timestamp of their content."""
    events = _events(FIXTURE_ROOT / "5.0.9-v7" / "rows")
    assert events
    for event in events:
        assert event.position is not None
        stamps = [c.timestamp_us for c in event.cells]
        if event.deletion_us is not None:
            stamps.append(event.deletion_us)
        if event.row_timestamp_us is not None:
            stamps.append(event.row_timestamp_us)
        assert event.timestamp_us == max(stamps)


@pytest.mark.parametrize(
    "scenario",
    sorted({p.name for p in FIXTURES if p.parent.name == "5.0.9-v7"} - SERVER_CHOSEN),
)
def test_event_id_same_write_recorded_twice_same_ids(scenario: str) -> None:
    """The same scenario recorded by two nodes (v7 and v8) gives the same event ids for every
    event whose content the client fixed: ids depend on content, not on where it was read."""

    def ids(version: str) -> Counter[str]:
        events = _events(FIXTURE_ROOT / version / scenario)
        # Tombstone and TTL cells carry the coordinator's clock (Cassandra's ldt).
        fixed = [
            e for e in events
            if e.row_expires_at_s is None and all(c.expires_at_s is None for c in e.cells)
        ]  # fmt: skip
        return Counter(event_id(e) for e in fixed)

    v7, v8 = ids("5.0.9-v7"), ids("5.0.9-v8")
    assert sum(v7.values()) > 0
    assert v7 == v8


def test_event_to_json_has_id_content_and_position() -> None:
    """The JSON form holds the id, the operation, the cells and the position as text."""
    event = _events(FIXTURE_ROOT / "5.0.9-v7" / "rows")[0]
    doc = event_to_json(event)
    assert doc["event_id"] == event_id(event)
    assert doc["op"] == event.op.value
    assert doc["position"] == str(event.position)
    assert json.loads(json.dumps(doc)) == doc
