"""Change events as JSON, and their content identity.

`event_to_json` is the form dead letters, `casscade` tooling and the changelog tables use.
`event_id` digests everything but the position, so replica copies and replays of one write
share an id. `event_to_typed`/`event_from_typed` keep every value's exact type (dead letters
are applied again later). Pure.
"""

from __future__ import annotations

import datetime
import decimal
import hashlib
import ipaddress
import json
import math
import uuid
from collections.abc import Callable
from dataclasses import fields
from typing import Any

from casscade.commitlog.codecs.counter import CounterContext, CounterShard, CounterShardKind
from casscade.commitlog.codecs.temporal import CqlDate, CqlTime, CqlTimestamp, Duration
from casscade.commitlog.position import Position
from casscade.commitlog.render import to_json_value
from casscade.events.model import CellChange, ChangeEvent, ClusteringRange, Op


def _cell_json(cell: CellChange) -> dict[str, object]:
    return {
        "column": cell.column,
        "path": to_json_value(cell.path),
        "value": to_json_value(cell.value),
        "timestamp_us": cell.timestamp_us,
        "ttl_s": cell.ttl_s,
        "expires_at_s": cell.expires_at_s,
        "tombstone": cell.is_tombstone,
    }


def identity_json(event: ChangeEvent) -> dict[str, object]:
    """The event's content as JSON, without where it was read."""
    bounds = event.clustering_range
    return {
        "keyspace": event.keyspace,
        "table": event.table,
        "op": event.op.value,
        "partition_key": to_json_value(event.partition_key),
        "clustering": to_json_value(event.clustering),
        "static": event.is_static,
        "timestamp_us": event.timestamp_us,
        "deletion_us": event.deletion_us,
        "row_timestamp_us": event.row_timestamp_us,
        "row_ttl_s": event.row_ttl_s,
        "row_expires_at_s": event.row_expires_at_s,
        "cells": [_cell_json(c) for c in event.cells],
        "collection_deletions": [list(d) for d in event.collection_deletions],
        "range": None if bounds is None else to_json_value(bounds),
    }


def event_to_json(event: ChangeEvent) -> dict[str, object]:
    """The event as JSON: its content, its id and where it was read."""
    return {
        "event_id": event_id(event),
        **identity_json(event),
        "position": None if event.position is None else str(event.position),
    }


def event_id(event: ChangeEvent) -> str:
    """A 128-bit hex digest of the event's content (equal for replica copies and replays)."""
    text = json.dumps(identity_json(event), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


# Typed JSON: a value form that reads back to an equal Python value of the same type, for
# events stored to be applied later (dead letters). JSON's own types stand for themselves
# (dicts only with string keys, finite floats); everything else is {"$": tag, "v": ...}.
_DATACLASSES: dict[str, type] = {
    cls.__name__: cls
    for cls in (CqlDate, CqlTime, CqlTimestamp, Duration, CounterContext, CounterShard)
}


# Scalar types written as {"$": tag, "v": text}; the first match wins (datetime before date).
_SCALARS: tuple[tuple[type | tuple[type, ...], str, Callable[[Any], object]], ...] = (
    ((bytes, bytearray, memoryview), "bytes", lambda v: bytes(v).hex()),
    (uuid.UUID, "uuid", str),
    (decimal.Decimal, "decimal", str),
    ((ipaddress.IPv4Address, ipaddress.IPv6Address), "inet", str),
    (datetime.datetime, "datetime", datetime.datetime.isoformat),
    (datetime.date, "date", datetime.date.isoformat),
    (datetime.time, "time", datetime.time.isoformat),
    (CounterShardKind, "shard_kind", lambda v: v.value),
    (float, "float", repr),  # only the non-finite ones get here
)


def to_typed(value: object) -> object:
    """The typed JSON form of a decoded value (`from_typed` reads it back).

    Raises:
        TypeError: a value of a type decoding never gives.
    """
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    for types, tag, write in _SCALARS:
        if isinstance(value, types):
            return {"$": tag, "v": write(value)}
    return _container_to_typed(value)


def _container_to_typed(value: object) -> object:
    if type(value).__name__ in _DATACLASSES:
        return {"$": type(value).__name__,
                "v": {f.name: to_typed(getattr(value, f.name)) for f in fields(value)}}  # type: ignore[arg-type]  # fmt: skip
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("$") for k in value):
            return {k: to_typed(v) for k, v in value.items()}
        return {"$": "map", "v": [[to_typed(k), to_typed(v)] for k, v in value.items()]}
    if isinstance(value, list):
        return [to_typed(v) for v in value]
    if isinstance(value, tuple):
        return {"$": "tuple", "v": [to_typed(v) for v in value]}
    if isinstance(value, (set, frozenset)):
        kind = "set" if isinstance(value, set) else "frozenset"
        return {"$": kind, "v": [to_typed(v) for v in value]}
    raise TypeError(f"no typed JSON form for {type(value).__name__}")


_READERS: dict[str, Callable[[Any], object]] = {
    "float": float,
    "bytes": bytes.fromhex,
    "uuid": uuid.UUID,
    "decimal": decimal.Decimal,
    "inet": ipaddress.ip_address,
    "datetime": datetime.datetime.fromisoformat,
    "date": datetime.date.fromisoformat,
    "time": datetime.time.fromisoformat,
    "shard_kind": CounterShardKind,
    "map": lambda v: {from_typed(k): from_typed(x) for k, x in v},
    "tuple": lambda v: tuple(from_typed(x) for x in v),
    "set": lambda v: {from_typed(x) for x in v},
    "frozenset": lambda v: frozenset(from_typed(x) for x in v),
}


def from_typed(data: object) -> object:
    """A value from its typed JSON form.

    Raises:
        ValueError: the data is not a typed JSON form.
    """
    if isinstance(data, list):
        return [from_typed(v) for v in data]
    if not isinstance(data, dict):
        return data
    tag = data.get("$")
    if tag is None:
        return {k: from_typed(v) for k, v in data.items()}
    if tag in _DATACLASSES:
        return _DATACLASSES[tag](**{k: from_typed(v) for k, v in data["v"].items()})
    reader = _READERS.get(str(tag))
    if reader is None:
        raise ValueError(f"unknown typed JSON tag {tag!r}")
    return reader(data["v"])


def event_to_typed(event: ChangeEvent) -> dict[str, object]:
    """The whole event, position included, in typed JSON (`event_from_typed` reads it)."""
    return {f.name: to_typed(_plain(getattr(event, f.name))) for f in fields(event)}


def event_from_typed(data: dict[str, Any]) -> ChangeEvent:
    """An event from `event_to_typed`'s form.

    Raises:
        ValueError, KeyError, TypeError: the data is not such a form.
    """
    values: dict[str, Any] = {k: from_typed(v) for k, v in data.items()}
    cells = tuple(CellChange(**c) for c in values.pop("cells"))
    bounds = values.pop("clustering_range")
    position = values.pop("position")
    return ChangeEvent(
        op=Op(values.pop("op")),
        cells=cells,
        collection_deletions=tuple(tuple(d) for d in values.pop("collection_deletions")),
        clustering_range=None if bounds is None else ClusteringRange(**bounds),
        position=None if position is None else Position(*position),
        **values,
    )


def _plain(value: object) -> object:
    """Event parts as plain values: dataclasses as dicts, enums by value, positions as lists."""
    if isinstance(value, Op):
        return value.value
    if isinstance(value, Position):
        return list(value)
    if isinstance(value, (CellChange, ClusteringRange)):
        names = value._fields if isinstance(value, CellChange) else [f.name for f in fields(value)]
        return {name: getattr(value, name) for name in names}
    if isinstance(value, tuple) and value and isinstance(value[0], CellChange):
        return [_plain(v) for v in value]
    if isinstance(value, tuple) and value and isinstance(value[0], tuple):
        return [list(v) for v in value]  # collection deletions
    return value
