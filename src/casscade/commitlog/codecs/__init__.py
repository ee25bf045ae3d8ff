"""Decoding of CQL values as Cassandra serializes them, into Python values.

One module per type family (`numeric`, `text`, `identifiers`, `temporal`, `counter`,
`frozen`, `vector`), a registry composing them per `CqlType` (`registry`), cells of
multi-cell columns (`cells`) and partition keys (`keys`). Pure, standard library only: bytes
in, values out, and every failure is a `ValueDecodeError` (never IndexError, struct.error,
UnicodeDecodeError, ValueError or OverflowError).

Python representation of each CQL type:

    ascii, text / varchar     str
    blob                      bytes
    tinyint, smallint, int,
    bigint, varint            int
    boolean                   bool
    float, double             float
    decimal                   decimal.Decimal (exact; the scale is the exponent)
    uuid, timeuuid            uuid.UUID
    inet                      ipaddress.IPv4Address / IPv6Address
    date                      datetime.date, or CqlDate(days) outside years 1-9999
    time                      CqlTime(nanoseconds) (nanosecond precision; .to_time())
    timestamp                 datetime.datetime in UTC, or CqlTimestamp(milliseconds)
                              outside years 1-9999
    duration                  Duration(months, days, nanoseconds)
    counter                   CounterContext(shards), .total sums the shard counts
    list, set (frozen)        list, in serialized order (Cassandra's set order)
    map (frozen)              dict (keys in their hashable form, see below)
    tuple                     tuple; null and missing trailing fields are None
    UDT (frozen)              dict of field name to value; null and missing fields None
    vector                    list
    custom ('Java class')     bytes
    empty                     None

An empty value (0 bytes) is None for every type except ascii, text and blob, which give
`''` and `b''` (format reference section 12.1). A null element or field is None.

Hashable form (map keys, and paths of set and map cells): lists, sets and vectors become
tuples; maps become tuples of (key, value) pairs and UDTs tuples of (field name, value)
pairs, recursively; everything else is unchanged.

For speed, look a decoder up once per column (`decoder_for`, `complex_cell_decoder_for`,
`partition_key_decoder_for`) and call it per value; the `decode_*` functions do the lookup
on every call.
"""

from __future__ import annotations

from casscade.commitlog.codecs._wire import Buffer, Decoder
from casscade.commitlog.codecs.cells import (
    ComplexCellDecoder,
    cell_path_decoder_for,
    complex_cell_decoder_for,
    decode_cell_path,
    decode_complex_cell,
)
from casscade.commitlog.codecs.counter import CounterContext, CounterShard, CounterShardKind
from casscade.commitlog.codecs.keys import (
    PartitionKeyDecoder,
    decode_partition_key,
    partition_key_decoder_for,
)
from casscade.commitlog.codecs.registry import decode_value, decoder_for, key_decoder_for
from casscade.commitlog.codecs.temporal import CqlDate, CqlTime, CqlTimestamp, Duration

__all__ = [
    "Buffer",
    "ComplexCellDecoder",
    "CounterContext",
    "CounterShard",
    "CounterShardKind",
    "CqlDate",
    "CqlTime",
    "CqlTimestamp",
    "Decoder",
    "Duration",
    "PartitionKeyDecoder",
    "cell_path_decoder_for",
    "complex_cell_decoder_for",
    "decode_cell_path",
    "decode_complex_cell",
    "decode_partition_key",
    "decode_value",
    "decoder_for",
    "key_decoder_for",
    "partition_key_decoder_for",
]
