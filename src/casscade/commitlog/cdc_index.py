"""The `<segment>_cdc.idx` file Cassandra keeps beside each CDC segment in `cdc_raw`.

Content (CommitLogSegment.writeCDCIndexFile, Cassandra 4.0+): ASCII, the durable offset in
decimal, then on a second line `COMPLETED` once the segment is closed. Cassandra rewrites the
file in place without fsync, so a reader may see it empty or cut short: that is reported as
None ("try again shortly"), not as an error. Pure: text in, value out.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CdcIndex:
    """A parsed `_cdc.idx`.

    Attributes:
        durable_offset: bytes of the segment that are fsynced and may be read.
        completed: Cassandra closed the segment and will not write it again.
    """

    durable_offset: int
    completed: bool


def parse_cdc_index(text: str) -> CdcIndex | None:
    """Parse an index file's text; None when it is empty or half-written."""
    lines = text.split("\n")
    first = lines[0].strip()
    # isascii: str.isdigit() also accepts digits such as '¹' that int() refuses.
    if not (first.isascii() and first.isdigit()):
        return None
    rest = [line.strip() for line in lines[1:] if line.strip()]
    if rest and rest != ["COMPLETED"]:
        return None
    return CdcIndex(durable_offset=int(first), completed=rest == ["COMPLETED"])
