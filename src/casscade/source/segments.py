"""Reading a whole segment file (or every segment of a cdc_raw directory) into decoded records.

Thin I/O around the pure decoder: reads the file and its `_cdc.idx`, picks the decompressor,
and hands bytes to casscade.commitlog. Compression codecs that are not in the standard
library (LZ4, Snappy, Zstd) come from the `cramjam` package, imported only when a segment
needs one.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from casscade.commitlog.cdc_index import parse_cdc_index
from casscade.commitlog.descriptor import decode_descriptor, parse_segment_name
from casscade.commitlog.errors import UnsupportedVersionError
from casscade.commitlog.mutation import MutationRecord, decode_mutation
from casscade.commitlog.position import Position
from casscade.commitlog.schema import SchemaSnapshot
from casscade.commitlog.sections import (
    CorruptSection,
    Decompressor,
    LogEntry,
    SegmentEnd,
    iter_entries,
)
from casscade.source.cdc_raw import scan_cdc_raw

SegmentRecord = MutationRecord | CorruptSection | SegmentEnd


def _lz4(data: bytes, length: int) -> bytes:
    # Cassandra's LZ4Compressor prefixes the raw block with the length, 4 bytes little-endian.
    cramjam = importlib.import_module("cramjam")
    return bytes(cramjam.lz4.decompress_block(data[4:], output_len=length))


def _snappy(data: bytes, length: int) -> bytes:
    cramjam = importlib.import_module("cramjam")
    return bytes(cramjam.snappy.decompress_raw(data))


def _zstd(data: bytes, length: int) -> bytes:
    cramjam = importlib.import_module("cramjam")
    return bytes(cramjam.zstd.decompress(data, output_len=length))


DECOMPRESSORS: dict[str, Decompressor] = {
    "LZ4Compressor": _lz4,
    "SnappyCompressor": _snappy,
    "ZstdCompressor": _zstd,
}


@dataclass(frozen=True, slots=True)
class SegmentSource:
    """A segment file to read and how far.

    Attributes:
        path: the `.log` file.
        limit: durable offset from its `_cdc.idx`, None to read everything.
        completed: the idx says COMPLETED (or there is no idx: a copied, finished file).
    """

    path: Path
    limit: int | None
    completed: bool


def segment_source(path: Path) -> SegmentSource:
    """Describe a segment file using the `_cdc.idx` beside it, if any."""
    index_path = path.with_name(f"{path.stem}_cdc.idx")
    if not index_path.exists():
        return SegmentSource(path, None, completed=True)
    index = parse_cdc_index(index_path.read_text(encoding="ascii", errors="replace"))
    if index is None:
        return SegmentSource(path, None, completed=False)
    # A completed segment is read to the end of its marker chain: after a restart Cassandra
    # rewrites the idx with the file length, which lies past the data (reference 10.2).
    limit = None if index.completed else index.durable_offset
    return SegmentSource(path, limit, completed=index.completed)


def sources_in(path: Path) -> list[SegmentSource]:
    """The segments of a cdc_raw directory that have an idx (oldest first), or one file.

    An idx that Cassandra is rewriting (it does not parse) counts: its segment holds CDC data.
    """
    if path.is_dir():
        return [
            segment_source(s.path)
            for s in scan_cdc_raw(path)
            if s.index is not None or s.index_unreadable
        ]
    return [segment_source(path)]


def read_segment(
    source: SegmentSource, schema: SchemaSnapshot, *, include_non_cdc: bool = False
) -> Iterator[SegmentRecord]:
    """Decode one segment: its mutations, corrupt sections, and a final SegmentEnd.

    Raises:
        DecodeError: unreadable header, broken marker chain, or a missing codec.
    """
    name = parse_segment_name(source.path.name)
    data = source.path.read_bytes()
    descriptor = decode_descriptor(data, segment_id=None if name is None else name.segment_id)
    codec = None
    if descriptor.compression_class is not None and descriptor.compression_class in DECOMPRESSORS:
        codec = DECOMPRESSORS[descriptor.compression_class]
    elif descriptor.compression_class not in (None, "DeflateCompressor"):
        raise UnsupportedVersionError(
            descriptor.segment_id, 0, f"unknown compressor {descriptor.compression_class}"
        )
    for record in iter_entries(
        data, descriptor, completed=source.completed, limit=source.limit, decompress=codec
    ):
        if isinstance(record, LogEntry):
            yield decode_mutation(
                record.payload,
                schema,
                position=Position(record.segment_id, record.end),
                payload_offset=record.position + 8,
                include_non_cdc=include_non_cdc,
            )
        else:
            yield record
