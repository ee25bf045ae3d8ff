"""Errors the decoder raises. Each says which segment and which byte offset is at fault."""

from __future__ import annotations

from casscade.errors import CasscadeError


class DecodeError(CasscadeError):
    """Bytes of a segment could not be decoded.

    Attributes:
        segment_id: the segment's id (from its name or header), or None if unknown.
        offset: byte offset in the segment where the problem was found.
        problem: what is wrong, in a few words.
    """

    def __init__(self, segment_id: int | None, offset: int, problem: str) -> None:
        self.segment_id = segment_id
        self.offset = offset
        self.problem = problem
        super().__init__(segment_id, offset, problem)

    def __str__(self) -> str:
        return f"segment {self.segment_id} offset {self.offset}: {self.problem}"


class CorruptSegmentError(DecodeError):
    """A checksum does not match or a field holds an impossible value."""


class TruncatedSegmentError(DecodeError):
    """The bytes end before the structure being read does."""


class UnsupportedVersionError(DecodeError):
    """The segment was written in a commit-log version this decoder does not read."""
