"""Codecs of the byte-string CQL types: ascii, text, blob, and custom types kept as bytes.

Mirrors `AsciiSerializer`, `UTF8Serializer` and `BytesSerializer` (Cassandra 5.0). These are
the types whose empty value is a real value (`''`, `b''`), not null (format reference
section 12.1). Pure: bytes in, a Python value out; errors are `ValueDecodeError`.
"""

from __future__ import annotations

from casscade.commitlog.codecs._wire import Buffer
from casscade.commitlog.types import ValueDecodeError


def decode_text(data: Buffer) -> str:
    """text / varchar (`UTF8Type`): strict UTF-8 (Cassandra validates it on write)."""
    try:
        return str(data, "utf-8")
    except UnicodeDecodeError as exc:
        raise ValueDecodeError(
            f"text value is not UTF-8 ({exc.reason} at byte {exc.start})"
        ) from None


def decode_ascii(data: Buffer) -> str:
    """ascii (`AsciiType`): bytes 0-127 only."""
    try:
        return str(data, "ascii")
    except UnicodeDecodeError as exc:
        raise ValueDecodeError(f"ascii value has a non-ASCII byte at {exc.start}") from None


def decode_blob(data: Buffer) -> bytes:
    """blob (`BytesType`): the bytes themselves."""
    return bytes(data)


def decode_custom(data: Buffer) -> bytes | None:
    """A custom (Java class) type: its bytes, uninterpreted; empty is None like other types."""
    return bytes(data) if data else None
