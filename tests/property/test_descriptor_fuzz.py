"""Property tests: the descriptor decoder and index parser never fail in an untyped way."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from casscade.commitlog.cdc_index import parse_cdc_index
from casscade.commitlog.descriptor import SegmentDescriptor, decode_descriptor
from casscade.commitlog.errors import DecodeError

# The real header from tests/unit/commitlog/test_descriptor.py, as a seed for mutations.
REAL_HEADER = bytes.fromhex("000000070000018ba54ead1c00027b7d943080a5")


@given(st.binary(max_size=200))
def test_decode_descriptor_arbitrary_bytes_gives_descriptor_or_decode_error(data: bytes) -> None:
    """Any bytes give a descriptor or a DecodeError, never IndexError or struct.error."""
    try:
        result: SegmentDescriptor | DecodeError = decode_descriptor(data)
    except DecodeError as exc:
        result = exc
    if isinstance(result, DecodeError):
        assert result.offset >= 0
    else:
        assert result.header_length <= len(data)


@given(st.integers(0, len(REAL_HEADER) - 1), st.integers(1, 255), st.binary(max_size=64))
def test_decode_descriptor_mutated_real_header_is_detected(
    position: int, xor: int, tail: bytes
) -> None:
    """Any byte change in a real header is a DecodeError, whatever follows the header."""
    damaged = bytearray(REAL_HEADER)
    damaged[position] ^= xor
    try:
        decode_descriptor(bytes(damaged) + tail)
    except DecodeError:
        return
    raise AssertionError("a damaged header was accepted")


@given(st.text(max_size=40))
def test_parse_cdc_index_arbitrary_text_never_raises(text: str) -> None:
    """Half-written or garbage index text gives None or a non-negative offset."""
    parsed = parse_cdc_index(text)
    assert parsed is None or parsed.durable_offset >= 0
