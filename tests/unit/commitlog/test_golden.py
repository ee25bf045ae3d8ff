"""Golden tests: every recorded fixture decodes to exactly the facts its scenario implies.

Fixtures are segments our real Cassandra 5.0.9 wrote, recorded by tools/capture_fixture.py
with `expected.jsonl` derived from the scenario's own values and timestamps (tools/README.md).
Wildcards in expected facts: `"timestamp": null` (LWT and counter writes, whose timestamps the
server chooses) and `"path": "*"` (list cells, whose timeuuid paths the server chooses).
Facts marked `"dropped": true` were written to a column dropped later and must not be decoded.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from casscade.commitlog.facts import mutation_facts
from casscade.commitlog.mutation import Mutation, UnknownSchema
from casscade.commitlog.schema import build_snapshot, rows_from_json
from casscade.commitlog.sections import CorruptSection
from casscade.source.segments import read_segment, segment_source

FIXTURE_ROOT = Path(__file__).resolve().parents[2] / "fixtures" / "commitlog"
FIXTURES = sorted(p.parent for p in FIXTURE_ROOT.glob("*/*/expected.jsonl"))
WILDCARDS = {"timestamp": None, "path": "*"}


def _key(fact: dict[str, Any]) -> str:
    return json.dumps(fact, sort_keys=True)


def _segment_id(path: Path) -> int:
    return int(path.stem.rsplit("-", 1)[1])


def _decode_fixture(fixture: Path, tables: set[str]) -> list[dict[str, Any]]:
    snapshot = build_snapshot(rows_from_json((fixture / "schema.json").read_text("utf-8")))
    facts: list[dict[str, Any]] = []
    for log in sorted(fixture.glob("*.log"), key=_segment_id):
        for record in read_segment(segment_source(log), snapshot):
            assert not isinstance(record, (CorruptSection, UnknownSchema)), record
            if isinstance(record, Mutation):
                facts.extend(f for f in mutation_facts(record, snapshot) if f["table"] in tables)
    return facts


def _is_wild(fact: dict[str, Any]) -> bool:
    return any(fact.get(field) == wild for field, wild in WILDCARDS.items() if field in fact)


def _matches(expected: dict[str, Any], got: dict[str, Any]) -> bool:
    if expected.keys() != got.keys():
        return False
    return all(
        value == got[field] or (field in WILDCARDS and value == WILDCARDS[field])
        for field, value in expected.items()
    )


def _compare(
    expected: list[dict[str, Any]], decoded: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Match exact facts as a multiset, then wildcard facts one by one; return leftovers."""
    exact = Counter(_key(f) for f in expected if not _is_wild(f))
    remaining: list[dict[str, Any]] = []
    for fact in decoded:
        key = _key(fact)
        if exact[key] > 0:
            exact[key] -= 1
        else:
            remaining.append(fact)
    missing = [json.loads(k) for k, n in exact.items() for _ in range(n)]
    for wild in (f for f in expected if _is_wild(f)):
        found = next((i for i, got in enumerate(remaining) if _matches(wild, got)), None)
        if found is None:
            missing.append(wild)
        else:
            remaining.pop(found)
    return missing, remaining


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_golden_fixture_decodes_to_expected_facts(fixture: Path) -> None:
    """The decoded facts of a recorded fixture equal the facts its scenario wrote."""
    manifest = json.loads((fixture / "MANIFEST").read_text("utf-8"))
    expected = [
        json.loads(line) for line in (fixture / "expected.jsonl").read_text("utf-8").splitlines()
    ]
    decoded = _decode_fixture(fixture, set(manifest["cdc_tables"]))
    live = [f for f in expected if not f.get("dropped")]
    assert live, "a fixture without expected facts proves nothing"
    missing, unexpected = _compare(live, decoded)
    assert not missing, f"{len(missing)} expected facts not decoded, first: {missing[0]}"
    assert not unexpected, f"{len(unexpected)} facts not expected, first: {unexpected[0]}"


def test_golden_fixtures_cover_both_versions() -> None:
    """Fixtures exist for commit-log versions 7 and 8 (CASSANDRA_4 and NONE modes)."""
    versions = {json.loads((f / "MANIFEST").read_text("utf-8"))["commitlog_version"]
                for f in FIXTURES}  # fmt: skip
    assert versions >= {7}
