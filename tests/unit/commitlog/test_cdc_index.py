"""Tests of the `_cdc.idx` parser."""

from __future__ import annotations

import pytest

from casscade.commitlog.cdc_index import CdcIndex, parse_cdc_index


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("78707", CdcIndex(78707, completed=False)),
        ("78715\nCOMPLETED", CdcIndex(78715, completed=True)),
        ("78715\nCOMPLETED\n", CdcIndex(78715, completed=True)),
        ("0", CdcIndex(0, completed=False)),
    ],
)
def test_parse_cdc_index_valid_text_gives_offset(text: str, expected: CdcIndex) -> None:
    """The offset and the COMPLETED flag are read from both index shapes."""
    assert parse_cdc_index(text) == expected


@pytest.mark.parametrize("text", ["", "\n", "787 07", "-5", "78715\nCOMPLE", "x\nCOMPLETED"])
def test_parse_cdc_index_half_written_gives_none(text: str) -> None:
    """An empty or partly rewritten index means 'read again later', not an error."""
    assert parse_cdc_index(text) is None
