"""Tests of the schema registry's refresh-on-unknown protocol (a fake reader, real bytes)."""

from __future__ import annotations

from pathlib import Path

from casscade.commitlog.descriptor import decode_descriptor
from casscade.commitlog.mutation import Mutation, UnknownSchema
from casscade.commitlog.position import Position
from casscade.commitlog.schema import SchemaRows, rows_from_json
from casscade.commitlog.sections import LogEntry, iter_entries
from casscade.source.registry import SchemaRegistry

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "commitlog" / "5.0.9-v7" / "rows"
SEGMENT = next(iter(sorted(FIXTURE.glob("*.log")))).read_bytes()
FULL = rows_from_json((FIXTURE / "schema.json").read_text("utf-8"))
EMPTY = SchemaRows(tables=(), columns=())


def _cdc_entry() -> LogEntry:
    """The first entry of the fixture that belongs to one of its CDC tables."""
    descriptor = decode_descriptor(SEGMENT)
    registry = SchemaRegistry(lambda: FULL)
    for record in iter_entries(SEGMENT, descriptor, completed=True):
        if isinstance(record, LogEntry):
            decoded = registry.decode(record.payload, position=Position(1, record.end))
            if isinstance(decoded, Mutation) and decoded.keyspace == "fx":
                return record
    raise AssertionError("no fx entry in the fixture")


class _Reader:
    """Serves the given schema versions in turn and counts reads."""

    def __init__(self, *versions: SchemaRows) -> None:
        self.versions = list(versions)
        self.reads = 0

    def __call__(self) -> SchemaRows:
        self.reads += 1
        return self.versions[min(self.reads, len(self.versions)) - 1]


def test_registry_unknown_table_refreshes_once_and_decodes() -> None:
    """An entry of a table the first snapshot lacks triggers one refresh, then decodes."""
    entry = _cdc_entry()
    reader = _Reader(EMPTY, FULL)
    registry = SchemaRegistry(
        reader, min_refresh_interval_s=1.0, clock=iter([0.0, 5.0, 5.0]).__next__
    )
    record = registry.decode(entry.payload, position=Position(1, entry.end))
    assert isinstance(record, Mutation)
    assert reader.reads == 2
    assert registry.refreshes == 2


def test_registry_waits_out_the_interval_rather_than_give_up_on_a_new_table() -> None:
    """Within the minimum interval decode waits for it, then reads and decodes the entry."""
    entry = _cdc_entry()
    reader = _Reader(EMPTY, FULL)
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    registry = SchemaRegistry(
        reader, min_refresh_interval_s=10.0, clock=lambda: now[0], sleep=sleep
    )
    registry.refresh()
    now[0] += 4.0
    record = registry.decode(entry.payload, position=Position(1, entry.end))
    assert isinstance(record, Mutation)
    assert slept == [6.0]
    assert reader.reads == 2


def test_registry_confirmed_unknown_table_costs_one_read() -> None:
    """A table unknown after a fresh read stays unknown without more reads until the next one."""
    entry = _cdc_entry()
    reader = _Reader(EMPTY)
    now = [0.0]
    registry = SchemaRegistry(reader, min_refresh_interval_s=1.0, clock=lambda: now[0],
                              sleep=lambda s: now.__setitem__(0, now[0] + s))  # fmt: skip
    records = [registry.decode(entry.payload, position=Position(1, entry.end)) for _ in range(5)]
    assert all(isinstance(r, UnknownSchema) for r in records)
    assert reader.reads == 2  # the first snapshot, and one read confirming the table unknown


def test_registry_shares_a_decoded_entry_until_the_schema_is_read_again() -> None:
    """Readers in step get the first reader's record for an entry; after a schema read, and
    for another position, the entry is decoded again."""
    entry = _cdc_entry()
    registry = SchemaRegistry(lambda: FULL)
    at = Position(1, entry.end)
    first = registry.decode(entry.payload, position=at)
    assert isinstance(first, Mutation)
    assert registry.decode(entry.payload, position=at) is first
    assert registry.shared_hits == 1
    elsewhere = registry.decode(entry.payload, position=Position(2, entry.end))
    assert elsewhere is not first
    assert elsewhere.position == Position(2, entry.end)
    registry.refresh()
    again = registry.decode(entry.payload, position=at)
    assert again is not first
    assert again == first


def test_registry_without_shared_entries_decodes_every_time() -> None:
    """`shared_entries=0` keeps nothing."""
    entry = _cdc_entry()
    registry = SchemaRegistry(lambda: FULL, shared_entries=0)
    at = Position(1, entry.end)
    first = registry.decode(entry.payload, position=at)
    assert registry.decode(entry.payload, position=at) is not first
    assert registry.shared_hits == 0
    sharing = SchemaRegistry(lambda: FULL)
    sharing.keep_decoded(0)  # what the agent does with a single destination
    first = sharing.decode(entry.payload, position=at)
    assert sharing.decode(entry.payload, position=at) is not first
