"""Tests of the specialised decoding path: exactly the generic result, or None.

`decode_common` must return, for every entry it accepts, a record equal to what
`decode_mutation_generic` returns, value by value and type by type (compared by `==` and by
`repr`, which tells `Decimal('1.10')` from `Decimal('1.1')`, -0.0 from 0.0 and `True` from
`1`), and None for everything else. Checked on every entry of every golden fixture, on
hand-written entries for the shapes the fixtures lack, and on every truncation of them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from casscade.commitlog._fastpath import decode_common
from casscade.commitlog.descriptor import decode_descriptor
from casscade.commitlog.mutation import (
    Cell,
    ComplexDeletion,
    DeletionTime,
    Liveness,
    Mutation,
    MutationRecord,
    Row,
    decode_mutation,
    decode_mutation_generic,
)
from casscade.commitlog.position import Position
from casscade.commitlog.schema import SchemaRows, SchemaSnapshot, build_snapshot, rows_from_json
from casscade.commitlog.sections import LogEntry, iter_entries
from casscade.source.segments import DECOMPRESSORS

FIXTURE_ROOT = Path(__file__).resolve().parents[2] / "fixtures" / "commitlog"
FIXTURES = sorted(p.parent for p in FIXTURE_ROOT.glob("*/*/expected.jsonl"))
POSITION = Position(7, 1234)


def _snapshot(fixture: Path) -> SchemaSnapshot:
    return build_snapshot(rows_from_json((fixture / "schema.json").read_text("utf-8")))


def _entries(fixture: Path) -> Iterator[LogEntry]:
    for log in sorted(fixture.glob("*.log")):
        data = log.read_bytes()
        descriptor = decode_descriptor(data)
        codec = DECOMPRESSORS.get(descriptor.compression_class or "")
        for record in iter_entries(data, descriptor, completed=True, decompress=codec):
            if isinstance(record, LogEntry):
                yield record


def _generic(payload: bytes, schema: SchemaSnapshot, *, include_non_cdc: bool) -> MutationRecord:
    return decode_mutation_generic(
        payload, schema, position=POSITION, include_non_cdc=include_non_cdc
    )


def _assert_same(fast: object, generic: object) -> None:
    assert fast == generic
    assert repr(fast) == repr(generic)


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
@pytest.mark.parametrize("include_non_cdc", [False, True])
def test_decode_common_golden_fixture_entries_equal_generic(
    fixture: Path, *, include_non_cdc: bool
) -> None:
    """Every fixture entry the specialised path accepts decodes exactly as the generic one."""
    schema = _snapshot(fixture)
    accepted = 0
    for entry in _entries(fixture):
        # The generic path first: it resolves and remembers each column list, as in use.
        generic = _generic(entry.payload, schema, include_non_cdc=include_non_cdc)
        fast = decode_common(entry.payload, schema, POSITION, include_non_cdc=include_non_cdc)
        if fast is not None:
            accepted += 1
            _assert_same(fast, generic)
    manifest = json.loads((fixture / "MANIFEST").read_text("utf-8"))
    if manifest["scenario"] not in {"counters", "lwt", "static_columns"}:
        # Counter and LWT entries carry their own shapes; static rows are generic-only.
        assert accepted, "the specialised path decoded nothing of this fixture"


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_decode_mutation_golden_fixture_equals_generic_in_order(fixture: Path) -> None:
    """Decoding a fixture front to back (both paths mixed, as in use) gives the generic records."""
    fast_schema, generic_schema = _snapshot(fixture), _snapshot(fixture)
    for entry in _entries(fixture):
        position = Position(1, entry.end)
        record = decode_mutation(entry.payload, fast_schema, position=position)
        reference = decode_mutation_generic(entry.payload, generic_schema, position=position)
        _assert_same(record, reference)


TABLE_ID = uuid.UUID("657e5210-7cbb-11ee-9858-c9aa1eb53e69")


def _schema(*, dropped_b_us: int | None = None) -> SchemaSnapshot:
    columns = [
        ("k", "partition_key", 0, "int"),
        ("c", "clustering", 0, "int"),
        ("a", "regular", -1, "int"),
        ("b", "regular", -1, "text"),
        ("s", "regular", -1, "set<int>"),
    ]
    dropped: tuple[dict[str, object], ...] = ()
    if dropped_b_us is not None:
        dropped = ({"keyspace_name": "ks", "table_name": "t", "column_name": "b",
                    "dropped_time_us": dropped_b_us, "type": "text"},)  # fmt: skip
    return build_snapshot(
        SchemaRows(
            tables=({"keyspace_name": "ks", "table_name": "t", "id": TABLE_ID, "cdc": True},),
            columns=tuple(
                {"keyspace_name": "ks", "table_name": "t", "column_name": name, "kind": kind,
                 "position": pos, "clustering_order": "asc", "type": text}
                for name, kind, pos, text in columns
            ),
            dropped_columns=dropped,
        )
    )  # fmt: skip


HEAD = (
    "01"  # one partition update
    "657e52107cbb11ee9858c9aa1eb53e69"  # table id
    "04" "0000002a"  # partition key: int 42
    "10"  # flags: HAS_ROW_ESTIMATE
    "fd40d3b4f09b95"  # min_timestamp delta
    "05"  # min_ldt delta 5
    "07"  # min_ttl 7
    "03" "0161" "0162" "0173"  # regular columns: a, b, s
    "01"  # row estimate
)  # fmt: skip
# 1442880000000000 (EncodingStats.TIMESTAMP_EPOCH) + the min_timestamp delta of HEAD.
MIN_TS = 1442880000000000 + 0x140D3B4F09B95
MIN_LDT = 1442880000 + 5
# Hand-written rows for shapes the fixtures do not all have, one field per line.
ROWS = {
    "ttl_row_and_cells": (
        "2c"  # row flags: HAS_TIMESTAMP | HAS_TTL | HAS_ALL_COLUMNS
        "00" "0000000b"  # clustering: header 0, int 11
        "03"  # row timestamp delta 3
        "64"  # row TTL delta 100
        "09"  # row ldt delta 9
        "18" "00000001"  # a: USE_ROW_TIMESTAMP | USE_ROW_TTL; int 1
        "0a" "10" "01" "02" + b"hi".hex() +  # b: USE_ROW_TIMESTAMP | IS_EXPIRING; ldt, TTL
        "01"  # s: 1 cell
        "1c" "04" "00000005"  # USE_ROW_TTL | USE_ROW_TIMESTAMP | HAS_EMPTY_VALUE; element 5
        "01"  # end of partition
    ),
    "deletion_subset_tombstone": (
        "54"  # row flags: HAS_TIMESTAMP | HAS_DELETION | HAS_COMPLEX_DELETION; a subset
        "00" "0000000c"  # clustering: header 0, int 12
        "02"  # row timestamp delta 2
        "06" "03"  # row deletion: timestamp delta 6, ldt delta 3
        "02"  # subset: bitmap of missing columns, b (index 1)
        "05" "20" "00"  # a: IS_DELETED | HAS_EMPTY_VALUE; own timestamp delta 32, ldt 0
        "01" "02"  # s: complex deletion, timestamp delta 1, ldt delta 2
        "01"  # s: 1 cell
        "0c" "04" "00000009"  # USE_ROW_TIMESTAMP | HAS_EMPTY_VALUE; element 9
        "01"  # end of partition
    ),
    "long_value": (
        "64"  # row flags: HAS_TIMESTAMP | HAS_ALL_COLUMNS | HAS_COMPLEX_DELETION
        "00" "0000000d"  # clustering: header 0, int 13
        "00"  # row timestamp delta 0
        "08" "00000002"  # a: USE_ROW_TIMESTAMP; int 2
        "08" "8096" + "61" * 150 +  # b: USE_ROW_TIMESTAMP; 150-byte text (two-byte length)
        "00" "00"  # s: complex deletion, timestamp delta 0, ldt delta 0
        "02"  # s: 2 cells
        "04" "01" "04" "00000007"  # HAS_EMPTY_VALUE; own timestamp delta 1; element 7
        "04" "02" "04" "00000008"  # HAS_EMPTY_VALUE; own timestamp delta 2; element 8
        "01"  # end of partition
    ),
    "multi_byte_deltas": (
        "24"  # row flags: HAS_TIMESTAMP | HAS_ALL_COLUMNS
        "00" "0000000e"  # clustering: header 0, int 14
        "8123"  # row timestamp delta 0x123 (two-byte vint)
        "00" "c01234" "00000003"  # a: flags 0, own timestamp delta 0x1234 (3 bytes); int 3
        "08" "02" + b"hi".hex() +  # b: USE_ROW_TIMESTAMP; text "hi"
        "01"  # s: 1 cell
        "00" "8200" "04" "0000000a" "00"  # flags 0, timestamp delta 0x200; element 10, empty
        "01"  # end of partition
    ),
}  # fmt: skip


@pytest.mark.parametrize("shape", sorted(ROWS))
@pytest.mark.parametrize("dropped_b_us", [None, 10**15, 1 << 62])
def test_decode_common_hand_written_rows_equal_generic(
    shape: str, dropped_b_us: int | None
) -> None:
    """TTL rows and cells, deletions, subsets, long values and dropped columns match generic."""
    payload = bytes.fromhex(HEAD + ROWS[shape])
    schema = _schema(dropped_b_us=dropped_b_us)
    generic = _generic(payload, schema, include_non_cdc=False)
    assert isinstance(generic, Mutation), generic
    fast = decode_common(payload, schema, POSITION, include_non_cdc=False)
    assert fast is not None
    _assert_same(fast, generic)


def test_decode_common_ttl_row_gives_liveness_and_expiring_cells() -> None:
    """A row written with a TTL carries it in its liveness and in the cells that use it."""
    payload = bytes.fromhex(HEAD + ROWS["ttl_row_and_cells"])
    schema = _schema()
    _generic(payload, schema, include_non_cdc=False)  # remembers the column list
    record = decode_common(payload, schema, POSITION, include_non_cdc=False)
    assert record is not None
    (row,) = record.updates[0].unfiltereds
    assert isinstance(row, Row)
    assert row.liveness == Liveness(MIN_TS + 3, 7 + 100, MIN_LDT + 9)
    assert row.cells == (
        Cell("a", MIN_TS + 3, 1, False, None, MIN_LDT + 9, None, raw=b"\0\0\0\1"),
        Cell("b", MIN_TS + 3, "hi", False, 7 + 1, MIN_LDT + 16, None, raw=b"hi"),
        Cell("s", MIN_TS + 3, None, False, None, MIN_LDT + 9, 5),
    )


def test_decode_common_row_deletion_is_decoded() -> None:
    """A row deletion is read against the header's minima, as the generic path reads it."""
    payload = bytes.fromhex(HEAD + ROWS["deletion_subset_tombstone"])
    schema = _schema()
    _generic(payload, schema, include_non_cdc=False)
    record = decode_common(payload, schema, POSITION, include_non_cdc=False)
    assert record is not None
    (row,) = record.updates[0].unfiltereds
    assert isinstance(row, Row)
    assert row.deletion == DeletionTime(MIN_TS + 6, MIN_LDT + 3)
    assert row.cells == (
        Cell("a", MIN_TS + 32, None, True, None, MIN_LDT, None),
        Cell("s", MIN_TS + 2, None, False, None, None, 9),
    )
    assert row.complex_deletions == (ComplexDeletion("s", DeletionTime(MIN_TS + 1, MIN_LDT + 2)),)


def test_decode_common_unseen_column_list_gives_none() -> None:
    """A column list the generic path has not resolved yet is left to it."""
    payload = bytes.fromhex(HEAD + ROWS["long_value"])
    schema = _schema()
    assert decode_common(payload, schema, POSITION, include_non_cdc=False) is None
    _generic(payload, schema, include_non_cdc=False)
    assert decode_common(payload, schema, POSITION, include_non_cdc=False) is not None


@pytest.mark.parametrize("shape", sorted(ROWS))
def test_decode_common_truncated_or_extended_entry_gives_none(shape: str) -> None:
    """Every truncation, and a trailing byte, is handed to the generic path (which raises)."""
    payload = bytes.fromhex(HEAD + ROWS[shape])
    schema = _schema()
    _generic(payload, schema, include_non_cdc=False)
    for cut in range(len(payload)):
        assert decode_common(payload[:cut], schema, POSITION, include_non_cdc=False) is None
    assert decode_common(payload + b"\x00", schema, POSITION, include_non_cdc=False) is None


def test_decode_common_memoryview_payload_equals_bytes_payload() -> None:
    """A memoryview payload decodes to the same record as the bytes it views."""
    payload = bytes.fromhex(HEAD + ROWS["ttl_row_and_cells"])
    schema = _schema()
    generic = _generic(payload, schema, include_non_cdc=False)
    fast = decode_common(memoryview(payload), schema, POSITION, include_non_cdc=False)
    _assert_same(fast, generic)
