"""Values as destinations store them: JSON forms of composite values, element order keys.

Frozen collections, tuples, UDTs, durations and the elements of non-frozen collections are
kept as JSON (jsonb in PostgreSQL, String in ClickHouse) in one documented form:

* list, tuple, vector -> JSON array; set -> JSON array sorted by the elements' JSON text;
* map with text keys, UDT -> JSON object; map with other keys -> array of [key, value] pairs;
* uuid, inet, decimal -> string; blob -> "0x" + hex; date, timestamp -> ISO 8601 string;
* time -> nanoseconds since midnight (integer); duration -> {"months", "days", "nanoseconds"}.

Pure.
"""

from __future__ import annotations

import json
import uuid

from casscade.commitlog.codecs.temporal import CqlTime
from casscade.commitlog.render import to_json_value
from casscade.commitlog.types import CqlType, ListType, NativeName, NativeType


def json_value(value: object) -> object:
    """The JSON-ready form of a decoded value (module docstring)."""
    if isinstance(value, CqlTime):
        return value.nanoseconds
    if isinstance(value, (set, frozenset)):
        items = [json_value(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {k: json_value(v) for k, v in value.items()}
        return [[json_value(k), json_value(v)] for k, v in value.items()]
    if isinstance(value, (list, tuple)):
        # A frozen map or UDT inside a set element or map key decodes as a tuple of pairs:
        # it is kept as that array of pairs.
        return [json_value(v) for v in value]
    return to_json_value(value)


def json_text(value: object) -> str:
    """`json_value` as compact text (ClickHouse keeps JSON as String)."""
    return json.dumps(json_value(value), separators=(",", ":"), ensure_ascii=False)


def time_ns(value: object) -> object:
    """A CQL time as nanoseconds since midnight (exact; PostgreSQL's time has microseconds)."""
    return value.nanoseconds if isinstance(value, CqlTime) else value


def is_json(t: CqlType) -> bool:
    """Whether a single-cell column of type `t` is kept as JSON."""
    if isinstance(t, NativeType):
        return t.name is NativeName.DURATION
    return True


def path_text(path: object) -> str:
    """The identity of a collection element or UDT field, as JSON text."""
    return json.dumps(json_value(path), separators=(",", ":"), sort_keys=True)


def element_order(t: CqlType, path: object) -> bytes:
    """The order of an element of a non-frozen collection: a list's elements by the time of
    their timeuuid (Cassandra's list order); others sort by their path (the same bytes)."""
    if isinstance(t, ListType) and isinstance(path, uuid.UUID) and path.version == 1:
        return path.time.to_bytes(8, "big") + path.bytes
    return b""
