"""Property tests: damaged real segments give records or a DecodeError, nothing else.

The seed is a real segment our Cassandra wrote (a golden fixture). Hypothesis flips bits,
truncates, zeroes tails and overwrites bytes anywhere in it; walking the sections and
decoding every entry must then yield records (a damaged section becomes a CorruptSection
record and reading goes on) or raise the project's DecodeError, never IndexError,
struct.error, UnicodeDecodeError, ValueError or a hang.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casscade.commitlog.descriptor import decode_descriptor
from casscade.commitlog.errors import DecodeError
from casscade.commitlog.mutation import decode_mutation
from casscade.commitlog.position import Position
from casscade.commitlog.schema import build_snapshot, rows_from_json
from casscade.commitlog.sections import CorruptSection, LogEntry, SegmentEnd, iter_entries

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "commitlog" / "5.0.9-v7" / "rows"
SEGMENT = next(iter(sorted(FIXTURE.glob("*.log")))).read_bytes()
SNAPSHOT = build_snapshot(rows_from_json((FIXTURE / "schema.json").read_text("utf-8")))


def _decode_all(data: bytes, *, completed: bool) -> list[DecodeError]:
    """Walk and decode everything; return the DecodeErrors met (others propagate)."""
    errors: list[DecodeError] = []
    try:
        descriptor = decode_descriptor(data)
        for record in iter_entries(data, descriptor, completed=completed):
            if isinstance(record, LogEntry):
                try:
                    decode_mutation(
                        record.payload, SNAPSHOT, position=Position(1, record.end),
                        include_non_cdc=True,
                    )  # fmt: skip
                except DecodeError as exc:
                    errors.append(exc)
            else:
                assert isinstance(record, (CorruptSection, SegmentEnd))
    except DecodeError as exc:
        errors.append(exc)
    assert all(error.offset >= 0 for error in errors)
    return errors


def test_segment_fixture_undamaged_decodes_cleanly() -> None:
    """The seed segment itself decodes with entries and no corrupt section."""
    descriptor = decode_descriptor(SEGMENT)
    records = list(iter_entries(SEGMENT, descriptor, completed=True))
    assert any(isinstance(r, LogEntry) for r in records)
    assert not any(isinstance(r, CorruptSection) for r in records)


FUZZ = settings(max_examples=40, deadline=2000, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.integers(0, len(SEGMENT) * 8 - 1), st.booleans())
def test_segment_bit_flip_gives_records_or_decode_error(bit: int, completed: bool) -> None:
    """A single flipped bit anywhere is detected or harmless, never an untyped failure."""
    data = bytearray(SEGMENT)
    data[bit // 8] ^= 1 << (bit % 8)
    _decode_all(bytes(data), completed=completed)


@FUZZ
@given(st.integers(0, len(SEGMENT)), st.booleans())
def test_segment_truncation_gives_records_or_decode_error(cut: int, completed: bool) -> None:
    """A segment cut at any byte decodes what is whole and stops cleanly."""
    _decode_all(SEGMENT[:cut], completed=completed)


@FUZZ
@given(st.integers(0, len(SEGMENT)))
def test_segment_zeroed_tail_gives_records_or_decode_error(start: int) -> None:
    """Zeroing everything after any offset (a torn preallocated file) never crashes."""
    _decode_all(SEGMENT[:start] + bytes(len(SEGMENT) - start), completed=False)


@FUZZ
@given(st.integers(20, len(SEGMENT) - 1), st.binary(min_size=1, max_size=64))
def test_segment_overwritten_bytes_give_records_or_decode_error(at: int, junk: bytes) -> None:
    """Arbitrary bytes written over a section (wrong CRCs, sizes, flags) are contained."""
    data = bytearray(SEGMENT)
    data[at : at + len(junk)] = junk
    _decode_all(bytes(data[: len(SEGMENT)]), completed=True)
