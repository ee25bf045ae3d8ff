"""Decoded records as JSON-ready dicts, for `casscade decode` and for people reading them.

Pure. Values keep as much as JSON allows: UUIDs, addresses, decimals and dates become
strings, bytes become "0x..." hex, maps with non-string keys become lists of [key, value].
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import ipaddress
import uuid

from casscade.commitlog.mutation import Mutation, SkippedMutation, UnknownSchema
from casscade.commitlog.position import Position

# Types whose str() is their JSON form.
_AS_STRING = (
    uuid.UUID,
    decimal.Decimal,
    ipaddress.IPv4Address,
    ipaddress.IPv6Address,
    Position,
)


def to_json_value(value: object) -> object:
    """A JSON-serialisable form of a decoded value or record."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "0x" + bytes(value).hex()
    if isinstance(value, _AS_STRING):
        return str(value)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json_value(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return _container_to_json(value)


def _container_to_json(value: object) -> object:
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a NamedTuple record
        return {name: to_json_value(getattr(value, name)) for name in value._fields}
    if isinstance(value, dict):
        return _dict_to_json(value)
    if isinstance(value, (list, tuple)):
        return [to_json_value(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((to_json_value(v) for v in value), key=repr)
    if isinstance(value, enum.Enum):
        return value.name
    return repr(value)


def _dict_to_json(value: dict[object, object]) -> object:
    if all(isinstance(k, str) for k in value):
        return {str(k): to_json_value(v) for k, v in value.items()}
    return [[to_json_value(k), to_json_value(v)] for k, v in value.items()]


def record_to_dict(record: Mutation | UnknownSchema | SkippedMutation) -> dict[str, object]:
    """One decoded entry as a dict with a `record` kind field first."""
    kind = {Mutation: "mutation", UnknownSchema: "unknown_schema", SkippedMutation: "skipped"}[
        type(record)
    ]
    body = to_json_value(record)
    if not isinstance(body, dict):
        raise TypeError(f"{type(record).__name__} is not a record")
    return {"record": kind, **body}
