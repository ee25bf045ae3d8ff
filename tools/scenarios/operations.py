"""SET operations of an UPDATE, and the cell facts a column assignment produces.

Each operation renders its `SET` clause fragment and derives its facts from its own literal
values (format reference section 13):

    c = v (simple / frozen)      one cell at ts (tombstone if v is null)
    c = v (non-frozen)           complex deletion at ts-1, then one cell per element/field
    l = l + [...], [...] + l     list cells; the server picks the path (a timeuuid): "*"
    s = s + {...} / s - {...}    set cells / tombstones, path = element
    m = m + {...}, m[k] = v      map cells, path = key;  m = m - {k}: tombstones
    u.f = v                      UDT cell, path = field name (tombstone if v is null)
    c = c + n (counter)          counter cell holding the running count, server timestamp

Removing list elements by value or index is a read-before-write on the replica and writes
tombstones at paths the scenario cannot know: it is not modelled. No I/O.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TypeAlias

from .cqltypes import (
    JsonValue,
    ListOf,
    MapOf,
    Native,
    ScenarioError,
    SetOf,
    UserType,
    as_sequence,
    canonical,
    literal,
    sorted_map,
    sorted_set,
    udt_fields,
)
from .facts import ANY_LIST_PATH, Cell, ComplexDeletion, Fact
from .tables import Column


@dataclass(frozen=True, slots=True)
class RowRef:
    """Where cells go: a table's row (or its static row)."""

    table: str
    key: tuple[JsonValue, ...]
    clustering: tuple[JsonValue, ...]
    static: bool

    def cell(
        self, column: str, path: JsonValue, value: JsonValue, ts: int | None, ttl: int | None
    ) -> Cell:
        """A live cell."""
        return Cell(self.table, self.key, self.clustering, column, path, value, ts, ttl,
                    tombstone=False, static=self.static)  # fmt: skip

    def tombstone(self, column: str, path: JsonValue, ts: int | None) -> Cell:
        """A cell tombstone (no value, no TTL)."""
        return Cell(self.table, self.key, self.clustering, column, path, None, ts, None,
                    tombstone=True, static=self.static)  # fmt: skip

    def complex_deletion(self, column: str, ts: int | None) -> ComplexDeletion:
        """A deletion of every cell of a multi-cell column."""
        return ComplexDeletion(self.table, self.key, self.clustering, column, ts, self.static)


@dataclass(slots=True)
class FactState:
    """What facts depend on besides the statement itself: the running counter values."""

    counters: dict[str, int] = field(default_factory=dict)

    def add(self, row: RowRef, column: str, delta: int) -> int:
        """Add `delta` to a counter cell and return its new value."""
        # JSON text as the dict key: keys may hold lists (frozen collections), not hashable.
        name = json.dumps([row.table, list(row.key), list(row.clustering), row.static, column])
        self.counters[name] = self.counters.get(name, 0) + delta
        return self.counters[name]


def previous(ts: int | None) -> int | None:
    """The timestamp of the complex deletion that precedes an overwrite (ts - 1)."""
    return None if ts is None else ts - 1


def assign_facts(
    row: RowRef, col: Column, value: object, ts: int | None, ttl: int | None
) -> list[Fact]:
    """Facts of `col = value` in an INSERT or UPDATE."""
    if col.type == Native("counter"):
        raise ScenarioError(f"counter {col.name} can only be incremented")
    if col.type.is_multi_cell:
        facts: list[Fact] = [row.complex_deletion(col.name, previous(ts))]
        if value is not None:
            facts.extend(element_cells(row, col, value, ts, ttl))
        return facts
    if value is None:
        return [row.tombstone(col.name, None, ts)]
    return [row.cell(col.name, None, canonical(col.type, value), ts, ttl)]


def element_cells(
    row: RowRef, col: Column, value: object, ts: int | None, ttl: int | None
) -> list[Fact]:
    """One live cell per element, entry or set field of a multi-cell value."""
    t = col.type
    if isinstance(t, ListOf):
        items = as_sequence(value, t)
        return [row.cell(col.name, ANY_LIST_PATH, canonical(t.element, v), ts, ttl) for v in items]
    if isinstance(t, SetOf):
        return [row.cell(col.name, canonical(t.element, v), None, ts, ttl)
                for v in sorted_set(t, value)]  # fmt: skip
    if isinstance(t, MapOf):
        return [row.cell(col.name, canonical(t.key, k), canonical(t.value, v), ts, ttl)
                for k, v in sorted_map(t, value)]  # fmt: skip
    if isinstance(t, UserType):
        fields = udt_fields(t, value)
        return [row.cell(col.name, name, canonical(ftype, fields[name]), ts, ttl)
                for name, ftype in t.fields if fields.get(name) is not None]  # fmt: skip
    raise ScenarioError(f"{col.name} is not a multi-cell column")


def _require(col: Column, kind: type, what: str) -> None:
    if not isinstance(col.type, kind) or not col.type.is_multi_cell:
        raise ScenarioError(f"{what} needs a non-frozen {kind.__name__} column, not {col.name}")


@dataclass(frozen=True, slots=True)
class Assign:
    """`c = value` (whole-column write; null deletes)."""

    column: str
    value: object

    def render(self, col: Column) -> str:
        return f"{col.name} = {literal(col.type, self.value)}"

    def facts(
        self, row: RowRef, col: Column, ts: int | None, ttl: int | None, state: FactState
    ) -> list[Fact]:
        del state
        return assign_facts(row, col, self.value, ts, ttl)


@dataclass(frozen=True, slots=True)
class Append:
    """`l = l + [...]` (list append)."""

    column: str
    values: tuple[object, ...]

    def render(self, col: Column) -> str:
        return f"{col.name} = {col.name} + {literal(col.type, list(self.values))}"

    def facts(
        self, row: RowRef, col: Column, ts: int | None, ttl: int | None, state: FactState
    ) -> list[Fact]:
        del state
        _require(col, ListOf, "append")
        return element_cells(row, col, list(self.values), ts, ttl)


@dataclass(frozen=True, slots=True)
class Prepend:
    """`l = [...] + l` (list prepend: the server uses paths that sort first)."""

    column: str
    values: tuple[object, ...]

    def render(self, col: Column) -> str:
        return f"{col.name} = {literal(col.type, list(self.values))} + {col.name}"

    def facts(
        self, row: RowRef, col: Column, ts: int | None, ttl: int | None, state: FactState
    ) -> list[Fact]:
        del state
        _require(col, ListOf, "prepend")
        return element_cells(row, col, list(self.values), ts, ttl)


@dataclass(frozen=True, slots=True)
class AddToSet:
    """`s = s + {...}`."""

    column: str
    values: frozenset[object]

    def render(self, col: Column) -> str:
        return f"{col.name} = {col.name} + {literal(col.type, self.values)}"

    def facts(
        self, row: RowRef, col: Column, ts: int | None, ttl: int | None, state: FactState
    ) -> list[Fact]:
        del state
        _require(col, SetOf, "set add")
        return element_cells(row, col, self.values, ts, ttl)


@dataclass(frozen=True, slots=True)
class RemoveFromSet:
    """`s = s - {...}`: one tombstone per element."""

    column: str
    values: frozenset[object]

    def render(self, col: Column) -> str:
        return f"{col.name} = {col.name} - {literal(col.type, self.values)}"

    def facts(
        self, row: RowRef, col: Column, ts: int | None, ttl: int | None, state: FactState
    ) -> list[Fact]:
        del ttl, state
        _require(col, SetOf, "set remove")
        assert isinstance(col.type, SetOf)  # noqa: S101 - checked by _require
        elem = col.type.element
        return [row.tombstone(col.name, canonical(elem, v), ts)
                for v in sorted_set(col.type, self.values)]  # fmt: skip


@dataclass(frozen=True, slots=True)
class PutEntries:
    """`m = m + {k: v, ...}`."""

    column: str
    entries: tuple[tuple[object, object], ...]

    def render(self, col: Column) -> str:
        return f"{col.name} = {col.name} + {literal(col.type, dict(self.entries))}"

    def facts(
        self, row: RowRef, col: Column, ts: int | None, ttl: int | None, state: FactState
    ) -> list[Fact]:
        del state
        _require(col, MapOf, "map put")
        return element_cells(row, col, dict(self.entries), ts, ttl)


@dataclass(frozen=True, slots=True)
class PutEntry:
    """`m[k] = v` (v null deletes the key)."""

    column: str
    key: object
    value: object

    def render(self, col: Column) -> str:
        assert isinstance(col.type, MapOf)  # noqa: S101 - facts() checks first
        key = literal(col.type.key, self.key)
        return f"{col.name}[{key}] = {literal(col.type.value, self.value)}"

    def facts(
        self, row: RowRef, col: Column, ts: int | None, ttl: int | None, state: FactState
    ) -> list[Fact]:
        del state
        _require(col, MapOf, "map put by key")
        assert isinstance(col.type, MapOf)  # noqa: S101 - checked by _require
        path = canonical(col.type.key, self.key)
        if self.value is None:
            return [row.tombstone(col.name, path, ts)]
        return [row.cell(col.name, path, canonical(col.type.value, self.value), ts, ttl)]


@dataclass(frozen=True, slots=True)
class RemoveKeys:
    """`m = m - {k, ...}`: one tombstone per key."""

    column: str
    keys: frozenset[object]

    def render(self, col: Column) -> str:
        assert isinstance(col.type, MapOf)  # noqa: S101 - facts() checks first
        return f"{col.name} = {col.name} - {literal(SetOf(col.type.key), self.keys)}"

    def facts(
        self, row: RowRef, col: Column, ts: int | None, ttl: int | None, state: FactState
    ) -> list[Fact]:
        del ttl, state
        _require(col, MapOf, "map remove")
        assert isinstance(col.type, MapOf)  # noqa: S101 - checked by _require
        keys = sorted_set(SetOf(col.type.key), self.keys)
        return [row.tombstone(col.name, canonical(col.type.key, k), ts) for k in keys]


@dataclass(frozen=True, slots=True)
class SetField:
    """`u.f = v` on a non-frozen UDT (v null deletes the field)."""

    column: str
    field: str
    value: object

    def render(self, col: Column) -> str:
        assert isinstance(col.type, UserType)  # noqa: S101 - facts() checks first
        return f"{col.name}.{self.field} = {literal(col.type.field_type(self.field), self.value)}"

    def facts(
        self, row: RowRef, col: Column, ts: int | None, ttl: int | None, state: FactState
    ) -> list[Fact]:
        del state
        _require(col, UserType, "field update")
        assert isinstance(col.type, UserType)  # noqa: S101 - checked by _require
        ftype = col.type.field_type(self.field)
        if self.value is None:
            return [row.tombstone(col.name, self.field, ts)]
        return [row.cell(col.name, self.field, canonical(ftype, self.value), ts, ttl)]


@dataclass(frozen=True, slots=True)
class Increment:
    """`c = c + n` (or `- n`) on a counter; the log holds the running count, not n."""

    column: str
    delta: int

    def render(self, col: Column) -> str:
        sign = "+" if self.delta >= 0 else "-"
        return f"{col.name} = {col.name} {sign} {abs(self.delta)}"

    def facts(
        self, row: RowRef, col: Column, ts: int | None, ttl: int | None, state: FactState
    ) -> list[Fact]:
        if col.type != Native("counter"):
            raise ScenarioError(f"{col.name} is not a counter")
        if ts is not None or ttl is not None:
            raise ScenarioError("counter updates take neither USING TIMESTAMP nor TTL")
        total = state.add(row, col.name, self.delta)
        # One node: the single (global) shard's running count equals the counter's value.
        return [row.cell(col.name, None, total, None, None)]


Operation: TypeAlias = (
    Assign | Append | Prepend | AddToSet | RemoveFromSet | PutEntries | PutEntry | RemoveKeys
    | SetField | Increment
)  # fmt: skip
