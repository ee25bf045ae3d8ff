"""A scenario: keyspace, types, tables and steps; rendered into a CQL script plus facts.

`render` walks the steps in order, keeping the current schema (ALTER steps change it), and
produces the exact CQL the capture tool runs and the facts `expected.jsonl` holds. Facts of
tables without CDC are left out; cells of a column dropped later are marked `dropped`.
No I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeAlias

from .cqltypes import ScenarioError, UserType, check_name
from .facts import Cell, Fact
from .operations import FactState
from .statements import Batch, Context, Lwt, Statement, Update
from .tables import Column, Table

KEYSPACE = "fx"


@dataclass(frozen=True, slots=True)
class CreateTable:
    """`CREATE TABLE` in the middle of a scenario."""

    table: Table


@dataclass(frozen=True, slots=True)
class AddColumn:
    """`ALTER TABLE t ADD column type`."""

    table: str
    column: Column


@dataclass(frozen=True, slots=True)
class DropColumn:
    """`ALTER TABLE t DROP column`: earlier cells of the column become `dropped` facts.

    Only simple columns: a dropped multi-cell column would also need its complex deletions
    marked, which the facts format has no flag for.
    """

    table: str
    column: str


Ddl: TypeAlias = CreateTable | AddColumn | DropColumn
Step: TypeAlias = Statement | Ddl


@dataclass(frozen=True, slots=True)
class Scenario:
    """A scripted CQL scenario, recorded into one fixture directory.

    Attributes:
        name: directory name of the fixture.
        summary: one line for tools/README.md and the MANIFEST.
        covers: what the scenario exercises, one item per line in the README.
        tables: tables created before the steps.
        steps: statements and DDL, in order.
        types: user-defined types created before the tables.
        keyspace: the keyspace (SimpleStrategy, replication factor 1).
    """

    name: str
    summary: str
    covers: tuple[str, ...]
    tables: tuple[Table, ...]
    steps: tuple[Step, ...]
    types: tuple[UserType, ...] = ()
    keyspace: str = KEYSPACE


@dataclass(frozen=True, slots=True)
class ScriptStep:
    """One CQL statement to run.

    Attributes:
        cql: the exact text.
        is_ddl: a schema change (the driver waits for schema agreement).
        expect_applied: for an LWT, the `[applied]` value it must return; else None.
    """

    cql: str
    is_ddl: bool = False
    expect_applied: bool | None = None


@dataclass(frozen=True, slots=True)
class RenderedScenario:
    """A scenario's CQL script and expected facts, in statement order."""

    scenario: Scenario
    script: tuple[ScriptStep, ...]
    facts: tuple[Fact, ...]
    cdc_tables: tuple[str, ...]
    other_tables: tuple[str, ...]


def render(scenario: Scenario) -> RenderedScenario:
    """Render `scenario` into its CQL script and expected facts.

    Raises:
        ScenarioError: the scenario is inconsistent (unknown column, bad value, missing or
            forbidden timestamp, ...).
    """
    ks = check_name(scenario.keyspace)
    replication = "{'class': 'SimpleStrategy', 'replication_factor': 1}"
    script = [ScriptStep(f"CREATE KEYSPACE {ks} WITH replication = {replication}", True)]
    script += [ScriptStep(udt.create_cql(ks), True) for udt in scenario.types]
    tables: dict[str, Table] = {}
    created: dict[str, bool] = {}
    facts: list[Fact] = []
    state = FactState()
    for step in (*(CreateTable(t) for t in scenario.tables), *scenario.steps):
        if isinstance(step, CreateTable | AddColumn | DropColumn):
            script.append(ScriptStep(_apply_ddl(step, ks, tables), is_ddl=True))
            if isinstance(step, CreateTable):
                created[f"{ks}.{step.table.name}"] = step.table.cdc
            if isinstance(step, DropColumn):
                facts = _mark_dropped(facts, f"{ks}.{step.table}", step.column)
            continue
        _check_timestamps(step)
        ctx = Context(ks, dict(tables))
        applied = step.applied if isinstance(step, Lwt) else None
        script.append(ScriptStep(step.cql(ctx), expect_applied=applied))
        facts += [f for f in step.facts(ctx, state) if created[f.table]]
    return RenderedScenario(
        scenario=scenario,
        script=tuple(script),
        facts=tuple(facts),
        cdc_tables=tuple(name for name, cdc in created.items() if cdc),
        other_tables=tuple(name for name, cdc in created.items() if not cdc),
    )


def _apply_ddl(step: Ddl, ks: str, tables: dict[str, Table]) -> str:
    if isinstance(step, CreateTable):
        if step.table.name in tables:
            raise ScenarioError(f"table {step.table.name} created twice")
        tables[step.table.name] = step.table
        return step.table.create_cql(ks)
    current = tables.get(step.table)
    if current is None:
        raise ScenarioError(f"ALTER of unknown table {step.table}")
    if isinstance(step, AddColumn):
        check_name(step.column.name)
        tables[step.table] = current.with_column(step.column)
        static = " static" if step.column.static else ""
        column = f"{step.column.name} {step.column.type.cql()}{static}"
        return f"ALTER TABLE {ks}.{step.table} ADD {column}"
    if current.column(step.column).type.is_multi_cell:
        raise ScenarioError(f"dropping multi-cell column {step.column} is not modelled")
    tables[step.table] = current.without_column(step.column)
    return f"ALTER TABLE {ks}.{step.table} DROP {step.column}"


def _mark_dropped(facts: Iterable[Fact], table: str, column: str) -> list[Fact]:
    return [
        dataclasses.replace(f, dropped=True)
        if isinstance(f, Cell) and f.table == table and f.column == column
        else f
        for f in facts
    ]


def _check_timestamps(step: Statement) -> None:
    """Every write carries an explicit timestamp, except LWTs and counter updates."""
    if isinstance(step, Lwt):
        if step.statement.ts is not None:
            raise ScenarioError("an LWT cannot take USING TIMESTAMP (its ballot is the time)")
        return
    for statement in step.statements if isinstance(step, Batch) else (step,):
        counter = isinstance(statement, Update) and statement.is_counter_update
        if counter and statement.ts is not None:
            raise ScenarioError("counter updates cannot take USING TIMESTAMP")
        if not counter and statement.ts is None:
            raise ScenarioError(f"missing USING TIMESTAMP in {statement}")
        if counter and isinstance(step, Batch):
            raise ScenarioError("counter batches are not modelled")
