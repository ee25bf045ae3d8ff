"""Partition keys: the key bytes of a partition update split into column values.

Format reference section 11.3. A single-column key is the column's value in its native
encoding, with no framing. A composite key (`PRIMARY KEY ((a, b, c), ...)`) is
`CompositeType`-encoded, per component in partition-key position order:

    length              u16
    value               the column's native encoding
    end-of-component    u8, always 0x00 in partition keys

Values decode as with `decoder_for` (a frozen list key gives a list, as it would in any
other column). Pure; errors are `ValueDecodeError`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeAlias

from casscade.commitlog.codecs._wire import Buffer, Decoder, memoize
from casscade.commitlog.codecs.registry import decoder_for
from casscade.commitlog.types import CqlType, ValueDecodeError

# Key bytes -> one value per partition key column.
PartitionKeyDecoder: TypeAlias = Callable[[Buffer], tuple[object, ...]]


def _make_single(decoder: Decoder) -> PartitionKeyDecoder:
    return lambda key: (decoder(key),)


def _make_composite(decoders: tuple[Decoder, ...]) -> PartitionKeyDecoder:
    def decode(key: Buffer) -> tuple[object, ...]:
        # Keys are short: copying once and slicing bytes is cheaper than memoryview slices.
        raw = bytes(key)
        size = len(raw)
        values: list[object] = []
        pos = 0
        for decoder in decoders:
            if pos + 2 > size:
                raise ValueDecodeError(f"composite key ends before component {len(values)}")
            start = pos + 2
            end = start + ((raw[pos] << 8) | raw[pos + 1])
            if end >= size:
                raise ValueDecodeError(f"composite key component {len(values)} runs past the key")
            if raw[end]:
                raise ValueDecodeError(f"composite key end-of-component byte is {raw[end]:#04x}")
            values.append(decoder(raw[start:end]))
            pos = end + 1
        if pos != size:
            raise ValueDecodeError(f"composite key has {size - pos} extra bytes")
        return tuple(values)

    return decode


def partition_key_decoder_for(types: Sequence[CqlType]) -> PartitionKeyDecoder:
    """The decoder of partition keys of a table whose key columns have `types` (memoized).

    Args:
        types: the partition key column types in `position` order.

    Raises:
        ValueDecodeError: `types` is empty.
    """
    return _key_decoders(tuple(types))


def decode_partition_key(types: Sequence[CqlType], key: Buffer) -> tuple[object, ...]:
    """Split and decode the key bytes of a partition update.

    Args:
        types: the partition key column types in `position` order.
        key: the key bytes (the vbytes of section 11.2, without their length).

    Returns:
        One value per partition key column.

    Raises:
        ValueDecodeError: the key does not match the types.
    """
    return _key_decoders(tuple(types))(key)


def _build(types: tuple[CqlType, ...]) -> PartitionKeyDecoder:
    if not types:
        raise ValueDecodeError("a partition key needs at least one column")
    decoders = tuple(decoder_for(t) for t in types)
    return _make_single(decoders[0]) if len(types) == 1 else _make_composite(decoders)


_key_decoders = memoize(_build)
