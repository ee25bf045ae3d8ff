"""Codec of counter cells: the counter context, and the values it decodes to.

Mirrors `org.apache.cassandra.db.context.CounterContext` (Cassandra 5.0), format reference
section 12.2:

    header count h   i16
    header entries   h x i16: the body index of a global shard as index - 32768 (negative),
                     of a local shard as the plain index; shards not listed are remote
    body             shards to the end of the value, 32 bytes each:
                       16 bytes counter id (a node's UUID), i64 logical clock, i64 count

A logged context normally holds one global shard whose count is that node's running total,
not the increment; the cluster-wide value is the sum over counter ids of each id's latest
count. Pure; errors are `ValueDecodeError`.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass
from enum import Enum

from casscade.commitlog.codecs._wire import I16, Buffer
from casscade.commitlog.codecs.identifiers import uuid_from_int
from casscade.commitlog.types import ValueDecodeError

_SHARD = struct.Struct(">QQqq")  # counter id high and low halves, clock, count
_SHARD_SIZE = _SHARD.size
_GLOBAL_OFFSET = 32768  # CounterContext stores a global shard's index as index + Short.MIN_VALUE
_unpack_i16_from = I16.unpack_from


class CounterShardKind(Enum):
    """How a shard is listed in the context header."""

    GLOBAL = "global"  # listed with a negative index: the normal case since Cassandra 2.1
    LOCAL = "local"  # listed with a plain index: legacy, pre-2.1 increments
    REMOTE = "remote"  # not listed: legacy, copied from another node


@dataclass(frozen=True, slots=True)
class CounterShard:
    """One node's part of a counter.

    Attributes:
        counter_id: the id of the node (its counter id UUID) that owns the shard.
        clock: the shard's logical clock; a higher clock wins for the same counter id.
        count: the shard's count (a running total for that node, not an increment).
        kind: how the header lists the shard.
    """

    counter_id: uuid.UUID
    clock: int
    count: int
    kind: CounterShardKind

    @property
    def is_global(self) -> bool:
        """Whether the shard is a global shard (the only kind Cassandra 2.1+ writes)."""
        return self.kind is CounterShardKind.GLOBAL


@dataclass(frozen=True, slots=True)
class CounterContext:
    """A decoded counter context.

    Attributes:
        shards: the shards in body order (sorted by counter id as Cassandra writes them).
    """

    shards: tuple[CounterShard, ...]

    @property
    def total(self) -> int:
        """The sum of the shards' counts: the counter's value as far as this context knows."""
        return sum(shard.count for shard in self.shards)


def decode_counter(data: Buffer) -> CounterContext | None:
    """counter (`CounterColumnType`): the counter context of a counter cell."""
    size = len(data)
    if size == 0:
        return None
    if size < 2:
        raise ValueDecodeError("counter context shorter than its header count")
    header_count: int = _unpack_i16_from(data, 0)[0]
    body = 2 + 2 * header_count
    if header_count < 0 or body > size or (size - body) % _SHARD_SIZE:
        raise ValueDecodeError(
            f"counter context of {size} bytes does not fit {header_count} header entries "
            f"and whole {_SHARD_SIZE}-byte shards"
        )
    shard_count = (size - body) // _SHARD_SIZE
    kinds = [CounterShardKind.REMOTE] * shard_count
    for pos in range(2, body, 2):
        entry: int = _unpack_i16_from(data, pos)[0]
        index, kind = (
            (entry + _GLOBAL_OFFSET, CounterShardKind.GLOBAL)
            if entry < 0
            else (entry, CounterShardKind.LOCAL)
        )
        if index >= shard_count:
            raise ValueDecodeError(f"counter header names shard {index} of {shard_count}")
        kinds[index] = kind
    shards = tuple(
        CounterShard(uuid_from_int((high << 64) | low), clock, count, kind)
        for (high, low, clock, count), kind in zip(
            _SHARD.iter_unpack(data[body:]), kinds, strict=True
        )
    )
    return CounterContext(shards)
