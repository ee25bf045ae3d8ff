"""Expected facts: what one CQL statement must leave in the commit log of a CDC table.

One fact is one line of a fixture's `expected.jsonl`; the JSON keys are fixed (tools/README.md
"Facts format"). A timestamp or TTL of None means "any": the server chose it (LWT ballots,
counter updates). Facts carry canonical JSON values (cqltypes.canonical), never decoder
output. No I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from .cqltypes import JsonValue

# Path of a non-frozen list cell: the server picks a timeuuid, so it cannot be predicted.
ANY_LIST_PATH = "*"


@dataclass(frozen=True, slots=True)
class Liveness:
    """The primary-key liveness (row marker) an INSERT writes."""

    table: str
    key: tuple[JsonValue, ...]
    clustering: tuple[JsonValue, ...]
    timestamp: int | None
    ttl: int | None

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "fact": "liveness",
            "table": self.table,
            "key": list(self.key),
            "clustering": list(self.clustering),
            "timestamp": self.timestamp,
            "ttl": self.ttl,
        }


@dataclass(frozen=True, slots=True)
class Cell:
    """One cell: a simple column's value, or one element / field of a multi-cell column.

    `path` is None for simple columns, the element for sets (value None), the key for maps,
    the field name for UDTs and ANY_LIST_PATH for lists. A tombstone has value None and ttl
    None. `dropped` marks a cell of a column dropped later in the scenario: the decoder must
    ignore it (its timestamp is before the drop).
    """

    table: str
    key: tuple[JsonValue, ...]
    clustering: tuple[JsonValue, ...]
    column: str
    path: JsonValue
    value: JsonValue
    timestamp: int | None
    ttl: int | None
    tombstone: bool
    static: bool
    dropped: bool = False

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "fact": "cell",
            "table": self.table,
            "key": list(self.key),
            "clustering": list(self.clustering),
            "column": self.column,
            "path": self.path,
            "value": self.value,
            "timestamp": self.timestamp,
            "ttl": self.ttl,
            "tombstone": self.tombstone,
            "static": self.static,
            "dropped": self.dropped,
        }


@dataclass(frozen=True, slots=True)
class RowDeletion:
    """A deleted row (DELETE with the full primary key of a table with clustering)."""

    table: str
    key: tuple[JsonValue, ...]
    clustering: tuple[JsonValue, ...]
    timestamp: int | None

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "fact": "row_deletion",
            "table": self.table,
            "key": list(self.key),
            "clustering": list(self.clustering),
            "timestamp": self.timestamp,
        }


@dataclass(frozen=True, slots=True)
class PartitionDeletion:
    """A deleted partition (also a row delete in a table without clustering columns)."""

    table: str
    key: tuple[JsonValue, ...]
    timestamp: int | None

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "fact": "partition_deletion",
            "table": self.table,
            "key": list(self.key),
            "timestamp": self.timestamp,
        }


@dataclass(frozen=True, slots=True)
class RangeDeletion:
    """A range tombstone, bounds in clustering (storage) order; an empty bound is open."""

    table: str
    key: tuple[JsonValue, ...]
    start: tuple[JsonValue, ...]
    start_inclusive: bool
    end: tuple[JsonValue, ...]
    end_inclusive: bool
    timestamp: int | None

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "fact": "range_deletion",
            "table": self.table,
            "key": list(self.key),
            "start": list(self.start),
            "start_inclusive": self.start_inclusive,
            "end": list(self.end),
            "end_inclusive": self.end_inclusive,
            "timestamp": self.timestamp,
        }


@dataclass(frozen=True, slots=True)
class ComplexDeletion:
    """All cells of a multi-cell column deleted (DELETE c, or at ts-1 before an overwrite)."""

    table: str
    key: tuple[JsonValue, ...]
    clustering: tuple[JsonValue, ...]
    column: str
    timestamp: int | None
    static: bool

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "fact": "complex_deletion",
            "table": self.table,
            "key": list(self.key),
            "clustering": list(self.clustering),
            "column": self.column,
            "timestamp": self.timestamp,
            "static": self.static,
        }


Fact: TypeAlias = (
    Liveness | Cell | RowDeletion | PartitionDeletion | RangeDeletion | ComplexDeletion
)
