"""Tests of mutation decoding on the real bytes of the format reference's worked example."""

from __future__ import annotations

import uuid

import pytest

from casscade.commitlog.errors import DecodeError
from casscade.commitlog.mutation import (
    Cell,
    Liveness,
    Mutation,
    Row,
    SkippedMutation,
    UnknownSchema,
    decode_mutation,
)
from casscade.commitlog.position import Position
from casscade.commitlog.schema import SchemaRows, SchemaSnapshot, build_snapshot

TABLE_ID = uuid.UUID("657e5210-7cbb-11ee-9858-c9aa1eb53e69")

# Entry payload at offset 19646 of CommitLog-7-1699285478684.log (format reference 11.12).
PAYLOAD = bytes.fromhex(
    "01"  # one partition update
    "657e52107cbb11ee9858c9aa1eb53e69"  # table id
    "10" + b"old-style mapred".hex() +  # partition key: vint 16 + ASCII
    "10"  # flags: HAS_ROW_ESTIMATE
    "fce9330d8ecbd0"  # min_timestamp delta 256405480066000
    "00"  # min_ldt delta
    "00"  # min_ttl
    "01" "03" + b"val".hex() +  # regular columns: 1, "val"
    "01"  # row estimate
    "24"  # row flags: HAS_TIMESTAMP | HAS_ALL_COLUMNS
    "00" "05" + b"name0".hex() +  # clustering: batch header 0, ascii "name0"
    "00"  # row timestamp delta 0
    "08"  # cell flags: USE_ROW_TIMESTAMP
    "023637"  # value: blob "67"
    "01"  # end of partition
)  # fmt: skip


def _schema(*, cdc: bool = True) -> SchemaSnapshot:
    columns = [
        ("key", "partition_key", 0, "ascii"),
        ("col", "clustering", 0, "ascii"),
        ("val", "regular", -1, "blob"),
        ("val0", "regular", -1, "blob"),
    ]
    return build_snapshot(
        SchemaRows(
            tables=(
                {"keyspace_name": "Keyspace1", "table_name": "Standard1", "id": TABLE_ID,
                 "cdc": cdc},
            ),
            columns=tuple(
                {"keyspace_name": "Keyspace1", "table_name": "Standard1", "column_name": name,
                 "kind": kind, "position": pos, "clustering_order": "asc", "type": text}
                for name, kind, pos, text in columns
            ),
        )
    )  # fmt: skip


def test_decode_mutation_worked_example_gives_row_and_cell() -> None:
    """The reference's real entry decodes to one row with the row timestamp and blob "67"."""
    record = decode_mutation(PAYLOAD, _schema(), position=Position(1699285478684, 19722))
    assert isinstance(record, Mutation)
    assert record.keyspace == "Keyspace1"
    (update,) = record.updates
    assert update.table == "Standard1"
    assert update.partition_key == ("old-style mapred",)
    assert update.partition_deletion is None
    (row,) = update.unfiltereds
    assert isinstance(row, Row)
    assert row.clustering == ("name0",)
    assert row.liveness == Liveness(1699285480066000, None, None)
    assert row.cells == (Cell(column="val", timestamp_us=1699285480066000, value=b"67", raw=b"67"),)


def test_decode_mutation_unknown_table_gives_unknown_schema() -> None:
    """An unknown table id is a typed record asking for a schema refresh, not a crash."""
    empty = build_snapshot(SchemaRows(tables=(), columns=()))
    record = decode_mutation(PAYLOAD, empty, position=Position(1, 2))
    assert record == UnknownSchema(Position(1, 2), TABLE_ID, None)


def test_decode_mutation_non_cdc_keyspace_skipped() -> None:
    """A keyspace without CDC tables is skipped unless asked for."""
    record = decode_mutation(PAYLOAD, _schema(cdc=False), position=Position(1, 2))
    assert isinstance(record, SkippedMutation)
    decoded = decode_mutation(
        PAYLOAD, _schema(cdc=False), position=Position(1, 2), include_non_cdc=True
    )
    assert isinstance(decoded, Mutation)


@pytest.mark.parametrize("cut", range(1, len(PAYLOAD)))
def test_decode_mutation_truncated_payload_raises_decode_error(cut: int) -> None:
    """Every truncation of the entry raises DecodeError, never IndexError or struct.error."""
    with pytest.raises(DecodeError):
        decode_mutation(PAYLOAD[:cut], _schema(), position=Position(1, 2))


def test_decode_mutation_trailing_bytes_are_corrupt() -> None:
    """Bytes after the last partition update are reported as corruption."""
    with pytest.raises(DecodeError, match="bytes left"):
        decode_mutation(PAYLOAD + b"\x00", _schema(), position=Position(1, 2))
