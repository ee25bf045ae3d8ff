"""Scripted CQL scenarios for commit-log fixtures: CQL text and expected facts, one source.

Each scenario is a small declarative description (tables, then statements and DDL steps
with explicit timestamps and literal values). `render` derives from it both the CQL script
that tools/capture_fixture.py runs against a real Cassandra and the facts the decoder must
find in the recorded segments (`expected.jsonl`). Nothing here talks to Cassandra or reads
decoder output. See tools/README.md.
"""

from __future__ import annotations

from .catalog_flow import (
    BATCHES_SCENARIO,
    LWT_SCENARIO,
    MIXED_SCENARIO,
    NON_CDC_SCENARIO,
    SCHEMA_CHANGE_SCENARIO,
)
from .catalog_types import FROZEN_TYPES_SCENARIO, KEY_TYPES_SCENARIO, NATIVE_TYPES_SCENARIO
from .catalog_writes import (
    COLLECTIONS_SCENARIO,
    COUNTERS_SCENARIO,
    ROWS_SCENARIO,
    STATIC_SCENARIO,
)
from .cqltypes import ScenarioError
from .facts import Fact
from .scenario import RenderedScenario, Scenario, ScriptStep, render

SCENARIOS: tuple[Scenario, ...] = (
    NATIVE_TYPES_SCENARIO,
    KEY_TYPES_SCENARIO,
    FROZEN_TYPES_SCENARIO,
    ROWS_SCENARIO,
    STATIC_SCENARIO,
    COLLECTIONS_SCENARIO,
    COUNTERS_SCENARIO,
    BATCHES_SCENARIO,
    LWT_SCENARIO,
    SCHEMA_CHANGE_SCENARIO,
    NON_CDC_SCENARIO,
    MIXED_SCENARIO,
)


def scenario_by_name(name: str) -> Scenario:
    """The scenario called `name`.

    Raises:
        ScenarioError: no such scenario.
    """
    for scenario in SCENARIOS:
        if scenario.name == name:
            return scenario
    known = ", ".join(s.name for s in SCENARIOS)
    raise ScenarioError(f"unknown scenario {name!r} (known: {known})")


__all__ = [
    "SCENARIOS",
    "Fact",
    "RenderedScenario",
    "Scenario",
    "ScenarioError",
    "ScriptStep",
    "render",
    "scenario_by_name",
]
