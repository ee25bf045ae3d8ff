"""Property tests: on damaged real entries the specialised path equals the generic one or abstains.

Seeds are real entries our Cassandra wrote (golden fixtures of rows, collections, native
types and the mixed workload). Hypothesis overwrites bytes anywhere in an entry and cuts it
anywhere; `decode_common` must then return None or exactly the generic record, and None
whenever the generic path raises DecodeError: it never decodes what the generic path
rejects, and never raises.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from casscade.commitlog._fastpath import decode_common
from casscade.commitlog.descriptor import decode_descriptor
from casscade.commitlog.errors import DecodeError
from casscade.commitlog.mutation import MutationRecord, decode_mutation_generic
from casscade.commitlog.position import Position
from casscade.commitlog.schema import SchemaSnapshot, build_snapshot, rows_from_json
from casscade.commitlog.sections import LogEntry, iter_entries

ROOT = Path(__file__).resolve().parents[1] / "fixtures" / "commitlog" / "5.0.9-v7"
SCENARIOS = ("rows", "collections", "native_types", "mixed", "schema_change")
POSITION = Position(3, 99)


def _load(scenario: str) -> tuple[SchemaSnapshot, list[bytes]]:
    fixture = ROOT / scenario
    schema = build_snapshot(rows_from_json((fixture / "schema.json").read_text("utf-8")))
    payloads = []
    for log in sorted(fixture.glob("*.log")):
        data = log.read_bytes()
        for record in iter_entries(data, decode_descriptor(data), completed=True):
            if not isinstance(record, LogEntry):
                continue
            # Entries of the scenario's CDC tables (the system tables' entries are mostly
            # shapes the specialised path leaves to the generic one).
            table = schema.tables_by_id_bytes.get(record.payload[1:17])
            if table is not None and table.is_cdc:
                payloads.append(record.payload)
    return schema, payloads


SEEDS = [(schema, payload) for schema, payloads in map(_load, SCENARIOS) for payload in payloads]


def _generic(payload: bytes, schema: SchemaSnapshot) -> MutationRecord | None:
    try:
        return decode_mutation_generic(payload, schema, position=POSITION, include_non_cdc=True)
    except DecodeError:
        return None


def _check(payload: bytes, schema: SchemaSnapshot) -> None:
    generic = _generic(payload, schema)  # first: it remembers the column lists it resolves
    fast = decode_common(payload, schema, POSITION, include_non_cdc=True)
    if fast is not None:
        assert generic is not None, "the specialised path decoded an entry the generic rejects"
        # By repr, not ==: an overwritten double can become NaN, which equals nothing, and
        # repr also tells 1.10 from 1.1, -0.0 from 0.0 and True from 1.
        assert repr(fast) == repr(generic)


@settings(max_examples=300, deadline=2000)
@given(
    st.sampled_from(range(len(SEEDS))),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=3),
)
def test_decode_common_overwritten_bytes_equal_generic_or_none(
    seed: int, edits: list[tuple[int, int]]
) -> None:
    """Any byte overwritten with any value: the same record as the generic path, or None."""
    schema, payload = SEEDS[seed]
    data = bytearray(payload)
    for at, value in edits:
        data[at % len(data)] = value
    _check(bytes(data), schema)


@settings(max_examples=200, deadline=2000)
@given(st.sampled_from(range(len(SEEDS))), st.integers(0, 10_000), st.binary(max_size=3))
def test_decode_common_cut_or_extended_entry_equals_generic_or_none(
    seed: int, cut: int, tail: bytes
) -> None:
    """An entry cut anywhere, with or without bytes after the cut, is never decoded wrongly."""
    schema, payload = SEEDS[seed]
    _check(payload[: cut % (len(payload) + 1)] + tail, schema)
