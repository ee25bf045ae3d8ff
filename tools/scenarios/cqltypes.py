"""CQL types and values of the fixture scenarios: type text, CQL literals, canonical JSON.

A scenario writes Python values into typed columns. From the same value this module renders
the CQL literal that is sent to Cassandra and the canonical JSON value the decoder must give
back (tools/README.md, "Facts"). It is deliberately independent of casscade's decoder: an
expected result never comes from decoding. Values per CQL type:

    ascii, text             str
    tinyint .. bigint,      int (range-checked)
      varint, counter
    float, double           float (float values must be exact in binary32)
    boolean                 bool
    decimal                 decimal.Decimal (canonical: str() of it, as written)
    blob                    bytes
    uuid, timeuuid          uuid.UUID (timeuuid must be version 1)
    inet                    str (IPv4 or IPv6 text)
    date                    datetime.date
    time                    int, nanoseconds since midnight
    timestamp               int, milliseconds since the epoch
    duration                Duration
    list, vector, tuple     sequence; set: set or sequence; map, UDT: mapping

No I/O.
"""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
import math
import re
import struct
import uuid
from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeAlias

JsonValue: TypeAlias = "bool | int | float | str | list[JsonValue] | dict[str, JsonValue] | None"
# A sort key that orders values the way Cassandra's comparator for their type does.
SortKey: TypeAlias = tuple[int | float | bytes, ...]

NATIVE_TYPES = (
    "ascii", "bigint", "blob", "boolean", "date", "decimal", "double", "duration", "float",
    "inet", "int", "smallint", "text", "time", "timestamp", "timeuuid", "tinyint", "uuid",
    "varint",
)  # fmt: skip
# Every native type but duration may be part of a primary key (Cassandra refuses duration).
KEY_TYPES = tuple(name for name in NATIVE_TYPES if name != "duration")
_NANOS_PER_DAY = 86_400 * 10**9
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class ScenarioError(ValueError):
    """A scenario is inconsistent (unknown column, wrong value for a type, bad timestamp)."""


@dataclass(frozen=True, slots=True)
class Duration:
    """A CQL duration: months, days and nanoseconds, all of the same sign."""

    months: int
    days: int
    nanoseconds: int


@dataclass(frozen=True, slots=True)
class Native:
    """A native CQL type (or `counter`)."""

    name: str

    def __post_init__(self) -> None:
        if self.name not in (*NATIVE_TYPES, "counter"):
            raise ScenarioError(f"unknown native type {self.name!r}")

    def cql(self) -> str:
        """The type as written in DDL."""
        return self.name

    @property
    def is_multi_cell(self) -> bool:
        return False


@dataclass(frozen=True, slots=True)
class ListOf:
    """`list<T>`, non-frozen (one cell per element) unless `frozen`."""

    element: CqlType
    frozen: bool = False

    def cql(self) -> str:
        return _frozen(f"list<{self.element.cql()}>", self.frozen)

    @property
    def is_multi_cell(self) -> bool:
        return not self.frozen


@dataclass(frozen=True, slots=True)
class SetOf:
    """`set<T>`, non-frozen unless `frozen`."""

    element: CqlType
    frozen: bool = False

    def cql(self) -> str:
        return _frozen(f"set<{self.element.cql()}>", self.frozen)

    @property
    def is_multi_cell(self) -> bool:
        return not self.frozen


@dataclass(frozen=True, slots=True)
class MapOf:
    """`map<K, V>`, non-frozen unless `frozen`."""

    key: CqlType
    value: CqlType
    frozen: bool = False

    def cql(self) -> str:
        return _frozen(f"map<{self.key.cql()}, {self.value.cql()}>", self.frozen)

    @property
    def is_multi_cell(self) -> bool:
        return not self.frozen


@dataclass(frozen=True, slots=True)
class TupleOf:
    """`tuple<...>`: always frozen (one cell)."""

    elements: tuple[CqlType, ...]

    def cql(self) -> str:
        return f"tuple<{', '.join(e.cql() for e in self.elements)}>"

    @property
    def is_multi_cell(self) -> bool:
        return False


@dataclass(frozen=True, slots=True)
class UserType:
    """A user-defined type of the scenario's keyspace; non-frozen (cell per field) by default."""

    name: str
    fields: tuple[tuple[str, CqlType], ...]
    frozen: bool = False

    def cql(self) -> str:
        return _frozen(self.name, self.frozen)

    @property
    def is_multi_cell(self) -> bool:
        return not self.frozen

    def field_type(self, name: str) -> CqlType:
        """The type of field `name`."""
        for field_name, field_type in self.fields:
            if field_name == name:
                return field_type
        raise ScenarioError(f"type {self.name} has no field {name!r}")

    def create_cql(self, keyspace: str) -> str:
        """The CREATE TYPE statement."""
        body = ", ".join(f"{name} {ftype.cql()}" for name, ftype in self.fields)
        return f"CREATE TYPE {keyspace}.{self.name} ({body})"


@dataclass(frozen=True, slots=True)
class VectorOf:
    """`vector<T, n>` (Cassandra 5.0): always one cell."""

    element: CqlType
    dimension: int

    def cql(self) -> str:
        return f"vector<{self.element.cql()}, {self.dimension}>"

    @property
    def is_multi_cell(self) -> bool:
        return False


CqlType: TypeAlias = Native | ListOf | SetOf | MapOf | TupleOf | UserType | VectorOf


def _frozen(text: str, frozen: bool) -> str:
    return f"frozen<{text}>" if frozen else text


def frozen(t: CqlType) -> CqlType:
    """The frozen variant of a collection or UDT type (other types are returned as is)."""
    if isinstance(t, ListOf | SetOf | MapOf | UserType):
        return dataclasses.replace(t, frozen=True)
    return t


def check_name(name: str) -> str:
    """Return `name` if it is a plain lower-case CQL identifier (no quoting needed)."""
    if not _NAME.match(name):
        raise ScenarioError(f"{name!r} is not a plain lower-case identifier")
    return name


# ---------------------------------------------------------------------------- literals


def literal(t: CqlType, value: object) -> str:  # noqa: PLR0911 - one branch per type kind
    """The CQL literal for `value` in a column of type `t` (`null` for None)."""
    if value is None:
        return "null"
    if isinstance(t, Native):
        return _native_literal(t.name, value)
    if isinstance(t, ListOf | VectorOf):
        return "[" + ", ".join(literal(t.element, v) for v in as_sequence(value, t)) + "]"
    if isinstance(t, SetOf):
        return "{" + ", ".join(literal(t.element, v) for v in sorted_set(t, value)) + "}"
    if isinstance(t, MapOf):
        pairs = [f"{literal(t.key, k)}: {literal(t.value, v)}" for k, v in sorted_map(t, value)]
        return "{" + ", ".join(pairs) + "}"
    if isinstance(t, TupleOf):
        items = zip(t.elements, _tuple_items(t, value), strict=True)
        return "(" + ", ".join(literal(et, v) for et, v in items) + ")"
    fields = udt_fields(t, value)
    return "{" + ", ".join(f"{n}: {literal(t.field_type(n), v)}" for n, v in fields.items()) + "}"


def _native_literal(name: str, value: object) -> str:  # noqa: PLR0911 - one line per type
    check_native(name, value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        # timestamp: an integer literal is milliseconds since the epoch (exact, may be < 0).
        return _time_literal(value) if name == "time" else str(value)
    if isinstance(value, float):
        text = repr(value)
        return text if ("." in text or "e" in text) else text + ".0"
    if isinstance(value, str):
        text = str(ipaddress.ip_address(value)) if name == "inet" else value
        return "'" + text.replace("'", "''") + "'"
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, datetime.date):
        return f"'{value.isoformat()}'"
    if isinstance(value, Duration):
        return _duration_literal(value)
    raise ScenarioError(f"{value!r} has no literal")  # pragma: no cover - check_native


def _time_literal(nanos: int) -> str:
    seconds, frac = divmod(nanos, 10**9)
    hours, rest = divmod(seconds, 3600)
    return f"'{hours:02d}:{rest // 60:02d}:{rest % 60:02d}.{frac:09d}'"


def _duration_literal(value: Duration) -> str:
    parts = (value.months, value.days, value.nanoseconds)
    sign = "-" if any(p < 0 for p in parts) else ""
    units = zip(parts, ("mo", "d", "ns"), strict=True)
    return sign + ("".join(f"{abs(p)}{unit}" for p, unit in units if p) or "0ns")


# ---------------------------------------------------------------------------- canonical


def canonical(t: CqlType, value: object) -> JsonValue:  # noqa: PLR0911 - one per type kind
    """The canonical JSON form of `value` in a column of type `t` (None for None)."""
    if value is None:
        return None
    if isinstance(t, Native):
        return _native_canonical(t.name, value)
    if isinstance(t, ListOf | VectorOf):
        return [canonical(t.element, v) for v in as_sequence(value, t)]
    if isinstance(t, SetOf):
        return [canonical(t.element, v) for v in sorted_set(t, value)]
    if isinstance(t, MapOf):
        return [[canonical(t.key, k), canonical(t.value, v)] for k, v in sorted_map(t, value)]
    if isinstance(t, TupleOf):
        items = zip(t.elements, _tuple_items(t, value), strict=True)
        return [canonical(et, v) for et, v in items]
    fields = udt_fields(t, value)
    return {name: canonical(ftype, fields.get(name)) for name, ftype in t.fields}


def _native_canonical(name: str, value: object) -> JsonValue:
    check_native(name, value)
    if isinstance(value, str):
        return str(ipaddress.ip_address(value)) if name == "inet" else value
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Duration):
        return [value.months, value.days, value.nanoseconds]
    raise ScenarioError(f"{value!r} has no canonical form")  # pragma: no cover - check_native


# ---------------------------------------------------------------------------- checks


def _is_int(bits: int) -> Callable[[object], bool]:
    return lambda v: type(v) is int and -(2 ** (bits - 1)) <= v < 2 ** (bits - 1)


def _is_float32(value: object) -> bool:
    return (
        type(value) is float
        and math.isfinite(value)
        and struct.unpack(">f", struct.pack(">f", value))[0] == value
    )


def _is_inet(value: object) -> bool:
    try:
        ipaddress.ip_address(str(value))
    except ValueError:
        return False
    return isinstance(value, str)


def _is_duration(value: object) -> bool:
    if not isinstance(value, Duration):
        return False
    parts = (value.months, value.days, value.nanoseconds)
    return not (any(p < 0 for p in parts) and any(p > 0 for p in parts))


_VALID: Mapping[str, Callable[[object], bool]] = {
    "tinyint": _is_int(8),
    "smallint": _is_int(16),
    "int": _is_int(32),
    "bigint": _is_int(64),
    "counter": _is_int(64),
    "timestamp": _is_int(64),
    "varint": lambda v: type(v) is int,
    "float": _is_float32,
    "double": lambda v: type(v) is float and math.isfinite(v),
    "boolean": lambda v: type(v) is bool,
    "ascii": lambda v: isinstance(v, str) and v.isascii(),
    "text": lambda v: isinstance(v, str),
    "decimal": lambda v: isinstance(v, Decimal) and v.is_finite(),
    "blob": lambda v: isinstance(v, bytes),
    "uuid": lambda v: isinstance(v, uuid.UUID),
    "timeuuid": lambda v: isinstance(v, uuid.UUID) and v.version == 1,
    "inet": _is_inet,
    "date": lambda v: type(v) is datetime.date,
    "time": lambda v: type(v) is int and 0 <= v < _NANOS_PER_DAY,
    "duration": _is_duration,
}


def check_native(name: str, value: object) -> None:
    """Raise ScenarioError unless `value` is a valid Python value for native type `name`.

    Floats must be finite (JSON has no NaN) and float values exact in binary32, so that the
    canonical number equals what Cassandra stores.
    """
    if not _VALID[name](value):
        raise ScenarioError(f"{value!r} is not a valid {name}")


def as_sequence(value: object, t: CqlType) -> Sequence[object]:
    """`value` as the elements of a list, vector or tuple of type `t`."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise ScenarioError(f"{value!r} is not a list for {t.cql()}")
    if isinstance(t, VectorOf) and len(value) != t.dimension:
        raise ScenarioError(f"{value!r} does not have {t.dimension} elements")
    return value


def _tuple_items(t: TupleOf, value: object) -> Sequence[object]:
    items = as_sequence(value, t)
    if len(items) != len(t.elements):
        raise ScenarioError(f"{value!r} does not have {len(t.elements)} elements")
    return items


def udt_fields(t: UserType, value: object) -> Mapping[str, object]:
    """The fields set in a UDT value (a mapping of field name to value; missing = null)."""
    if not isinstance(value, Mapping):
        raise ScenarioError(f"{value!r} is not a mapping for type {t.name}")
    fields = {str(k): v for k, v in value.items()}
    for name in fields:
        t.field_type(name)
    return fields


# ---------------------------------------------------------------------------- ordering


def sorted_set(t: SetOf, value: object) -> list[object]:
    """The elements of a set value in Cassandra's order for the element type."""
    items = list(value) if isinstance(value, Set) else list(as_sequence(value, t))
    ordered = sorted(items, key=lambda v: sort_key(t.element, v))
    if len({sort_key(t.element, v) for v in ordered}) != len(ordered):
        raise ScenarioError(f"{value!r} repeats an element")
    return ordered


def sorted_map(t: MapOf, value: object) -> list[tuple[object, object]]:
    """The entries of a map value in Cassandra's order for the key type."""
    if not isinstance(value, Mapping):
        raise ScenarioError(f"{value!r} is not a mapping for {t.cql()}")
    return sorted(value.items(), key=lambda kv: sort_key(t.key, kv[0]))


def sort_key(t: CqlType, value: object) -> SortKey:
    """A key ordering values as Cassandra's comparator of `t` does (supported types only).

    Text and blobs compare as unsigned bytes (UTF8Type, BytesType), inet addresses by their
    packed bytes, integers, floats, times and timestamps numerically, dates chronologically,
    tuples field by field. Other types (UUIDs, decimals, collections) are refused as set
    elements or map keys in scenarios: their comparators are not worth modelling here.
    """
    if isinstance(t, TupleOf):
        parts: list[int | float | bytes] = []
        for et, v in zip(t.elements, _tuple_items(t, value), strict=True):
            parts.extend(sort_key(et, v))
        return tuple(parts)
    if not isinstance(t, Native) or t.name in ("uuid", "timeuuid", "decimal", "duration"):
        raise ScenarioError(f"{t.cql()} cannot be ordered in a scenario")
    check_native(t.name, value)
    if isinstance(value, str):
        return (ipaddress.ip_address(value).packed if t.name == "inet" else value.encode(),)
    if isinstance(value, bytes):
        return (value,)
    if isinstance(value, datetime.date):
        return (value.toordinal(),)
    if isinstance(value, bool | int | float):
        return (value,)
    raise ScenarioError(f"{t.name} cannot be ordered in a scenario")  # pragma: no cover


INT = Native("int")
BIGINT = Native("bigint")
TEXT = Native("text")
ASCII = Native("ascii")
BOOLEAN = Native("boolean")
FLOAT = Native("float")
DOUBLE = Native("double")
BLOB = Native("blob")
COUNTER = Native("counter")
