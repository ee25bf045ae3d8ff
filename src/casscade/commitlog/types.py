"""CQL column types: the model, and a parser for the type text stored in `system_schema`.

The text is what `system_schema.columns.type` and `system_schema.types.field_types` hold
(Cassandra writes it with `CQL3Type.toSchemaString`, which repeats `frozen<...>` at every
level): `int`, `frozen<list<frozen<set<int>>>>`, `map<text, int>`, `frozen<tuple<int, text>>`,
`vector<float, 3>`, a UDT name (`address`, `"MyType"`), or a quoted Java class name for a
custom type (`'org.apache.cassandra.db.marshal.LexicalUUIDType'`).

Everything nested inside a collection, tuple, UDT or vector is stored with `frozen=True`:
only the top level of a column can be multi-cell (format reference section 11.14), and
normalising the inner levels makes equal types compare equal whatever the text said.

Pure, standard library only: no I/O, no logging. Errors are `ValueDecodeError`, which the
mutation decoder re-raises with the segment position.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import TypeAlias

from casscade.errors import CasscadeError

__all__ = [
    "CqlType",
    "CustomType",
    "ListType",
    "MapType",
    "NativeName",
    "NativeType",
    "SetType",
    "TupleType",
    "UdtDefinitions",
    "UdtType",
    "ValueDecodeError",
    "VectorType",
    "fixed_length",
    "format_cql_type",
    "is_multi_cell",
    "parse_cql_type",
]


class ValueDecodeError(CasscadeError):
    """A value, or a type text, could not be decoded.

    Codecs do not know where in a segment their bytes came from; the mutation decoder
    catches this and raises `CorruptSegmentError` with the segment id and offset.

    Attributes:
        problem: what is wrong, in a few words.
    """

    def __init__(self, problem: str) -> None:
        self.problem = problem
        super().__init__(problem)

    def __str__(self) -> str:
        return self.problem


class NativeName(StrEnum):
    """The CQL native types (`CQL3Type.Native`, Cassandra 5.0); `varchar` parses as TEXT."""

    ASCII = "ascii"
    BIGINT = "bigint"
    BLOB = "blob"
    BOOLEAN = "boolean"
    COUNTER = "counter"
    DATE = "date"
    DECIMAL = "decimal"
    DOUBLE = "double"
    DURATION = "duration"
    EMPTY = "empty"
    FLOAT = "float"
    INET = "inet"
    INT = "int"
    SMALLINT = "smallint"
    TEXT = "text"
    TIME = "time"
    TIMESTAMP = "timestamp"
    TIMEUUID = "timeuuid"
    TINYINT = "tinyint"
    UUID = "uuid"
    VARINT = "varint"


@dataclass(frozen=True, slots=True)
class NativeType:
    """A native type such as `int` or `text`."""

    name: NativeName


@dataclass(frozen=True, slots=True)
class ListType:
    """`list<element>`; `frozen` is False only for a multi-cell column."""

    element: CqlType
    frozen: bool


@dataclass(frozen=True, slots=True)
class SetType:
    """`set<element>`; `frozen` is False only for a multi-cell column."""

    element: CqlType
    frozen: bool


@dataclass(frozen=True, slots=True)
class MapType:
    """`map<key, value>`; `frozen` is False only for a multi-cell column."""

    key: CqlType
    value: CqlType
    frozen: bool


@dataclass(frozen=True, slots=True)
class TupleType:
    """`tuple<...>`: always a single cell."""

    elements: tuple[CqlType, ...]


@dataclass(frozen=True, slots=True)
class UdtType:
    """A user-defined type, resolved to its fields; `frozen` False only for a multi-cell column.

    Attributes:
        keyspace: the keyspace the type is defined in.
        name: the type's name as stored in `system_schema.types.type_name`.
        field_names: field names in declaration order.
        field_types: field types, same order and length as `field_names`.
        frozen: whether the value is one cell (True) or one cell per field (False).
    """

    keyspace: str
    name: str
    field_names: tuple[str, ...]
    field_types: tuple[CqlType, ...]
    frozen: bool


@dataclass(frozen=True, slots=True)
class VectorType:
    """`vector<element, dimension>` (Cassandra 5.0): always a single cell."""

    element: CqlType
    dimension: int


@dataclass(frozen=True, slots=True)
class CustomType:
    """A custom type given by its Java class name; its values decode to raw bytes."""

    class_name: str


CqlType: TypeAlias = (
    NativeType | ListType | SetType | MapType | TupleType | UdtType | VectorType | CustomType
)

# (keyspace, type name) -> (field names, field type texts), as in system_schema.types.
UdtDefinitions: TypeAlias = Mapping[tuple[str, str], tuple[tuple[str, ...], tuple[str, ...]]]

_NO_UDTS: UdtDefinitions = MappingProxyType({})

_NATIVE_BY_NAME: Mapping[str, NativeType] = MappingProxyType(
    {name.value: NativeType(name) for name in NativeName} | {"varchar": NativeType(NativeName.TEXT)}
)

# Value lengths of the types Cassandra writes without a length (`valueLengthIfFixed`,
# format reference section 12.1). date, time, smallint and tinyint have a constant size but
# are variable-length there, so they are absent on purpose.
_NATIVE_FIXED: Mapping[NativeName, int] = MappingProxyType(
    {
        NativeName.BIGINT: 8,
        NativeName.BOOLEAN: 1,
        NativeName.DOUBLE: 8,
        NativeName.EMPTY: 0,
        NativeName.FLOAT: 4,
        NativeName.INT: 4,
        NativeName.TIMESTAMP: 8,
        NativeName.TIMEUUID: 16,
        NativeName.UUID: 16,
    }
)

# Fixed lengths of marshal classes that can only reach the schema as custom types, plus the
# native classes in case a class name is given for them (by simple class name).
_CUSTOM_FIXED: Mapping[str, int] = MappingProxyType(
    {
        "EmptyType": 0,
        "LexicalUUIDType": 16,
        "DateType": 8,
        "LongType": 8,
        "BooleanType": 1,
        "DoubleType": 8,
        "FloatType": 4,
        "Int32Type": 4,
        "TimestampType": 8,
        "TimeUUIDType": 16,
        "UUIDType": 16,
    }
)
_MARSHAL_PACKAGE = "org.apache.cassandra.db.marshal."

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
      | "(?P<quoted>(?:[^"]|"")*)"
      | '(?P<custom>(?:[^']|'')*)'
      | (?P<number>[0-9]+)
      | (?P<punct>[<>,.])
    )""",
    re.VERBOSE,
)

# Deeper nesting than this is surely not a real schema; stopping early avoids RecursionError.
_MAX_DEPTH = 64

# Token kinds, in the order of the regular expression's groups.
_IDENT, _QUOTED, _CUSTOM, _NUMBER, _PUNCT = "ident", "quoted", "custom", "number", "punct"


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    end = len(text)
    while pos < end:
        match = _TOKEN.match(text, pos)
        if match is None:
            if text[pos:].isspace():
                break
            bad = text[pos:].lstrip()[0]
            raise ValueDecodeError(f"unexpected character {bad!r} in type {text!r}")
        kind = str(match.lastgroup)  # every alternative of _TOKEN is a named group
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


class _Parser:
    """Recursive descent over the tokens of one type text."""

    def __init__(
        self, text: str, keyspace: str, udts: UdtDefinitions, resolving: frozenset[str]
    ) -> None:
        self._text = text
        self._tokens = _tokenize(text)
        self._pos = 0
        self._keyspace = keyspace
        self._udts = udts
        self._resolving = resolving
        self._depth = 0

    def parse(self, *, frozen: bool) -> CqlType:
        parsed = self._type(frozen=frozen)
        if self._pos != len(self._tokens):
            raise self._error(f"unexpected {self._tokens[self._pos][1]!r}")
        return parsed

    def _error(self, problem: str) -> ValueDecodeError:
        return ValueDecodeError(f"{problem} in type {self._text!r}")

    def _next(self) -> tuple[str, str]:
        if self._pos >= len(self._tokens):
            raise self._error("unexpected end")
        token = self._tokens[self._pos]
        self._pos += 1
        return token

    def _peek_is(self, punct: str) -> bool:
        return self._pos < len(self._tokens) and self._tokens[self._pos] == (_PUNCT, punct)

    def _expect(self, punct: str) -> None:
        if self._next() != (_PUNCT, punct):
            raise self._error(f"expected {punct!r}")

    def _type(self, *, frozen: bool) -> CqlType:
        self._depth += 1
        if self._depth > _MAX_DEPTH:
            raise self._error("types nested too deeply")
        try:
            return self._one_type(frozen=frozen)
        finally:
            self._depth -= 1

    def _one_type(self, *, frozen: bool) -> CqlType:
        kind, value = self._next()
        if kind == _CUSTOM:
            return CustomType(value.replace("''", "'"))
        if kind == _QUOTED:
            return self._udt(value.replace('""', '"'), frozen=frozen)
        if kind != _IDENT:
            raise self._error(f"unexpected {value!r}")
        word = value.lower()
        # A UDT may be called `list`, `map` or `frozen`: only a following '<' makes a keyword.
        if self._peek_is("<"):
            return self._parameterized(word, frozen=frozen)
        native = _NATIVE_BY_NAME.get(word)
        if native is not None and not self._peek_is("."):
            return native
        return self._udt(word, frozen=frozen)

    def _parameterized(self, word: str, *, frozen: bool) -> CqlType:
        self._expect("<")
        parsed: CqlType
        if word == "frozen":
            parsed = self._type(frozen=True)
        elif word == "list":
            parsed = ListType(self._type(frozen=True), frozen)
        elif word == "set":
            parsed = SetType(self._type(frozen=True), frozen)
        elif word == "map":
            key = self._type(frozen=True)
            self._expect(",")
            parsed = MapType(key, self._type(frozen=True), frozen)
        elif word == "tuple":
            elements = [self._type(frozen=True)]
            while self._peek_is(","):
                self._expect(",")
                elements.append(self._type(frozen=True))
            parsed = TupleType(tuple(elements))
        elif word == "vector":
            parsed = self._vector()
        else:
            raise self._error(f"unknown parameterized type {word!r}")
        self._expect(">")
        return parsed

    def _vector(self) -> VectorType:
        element = self._type(frozen=True)
        self._expect(",")
        kind, value = self._next()
        if kind != _NUMBER or int(value) <= 0:
            raise self._error("vector dimension must be a positive integer")
        return VectorType(element, int(value))

    def _udt(self, name: str, *, frozen: bool) -> UdtType:
        keyspace = self._keyspace
        if self._peek_is("."):
            self._expect(".")
            kind, value = self._next()
            if kind not in {_IDENT, _QUOTED}:
                raise self._error("expected a type name after '.'")
            keyspace, name = name, value.lower() if kind == _IDENT else value.replace('""', '"')
        definition = self._udts.get((keyspace, name))
        if definition is None:
            raise self._error(f"unknown type {keyspace}.{name}")
        qualified = f"{keyspace}.{name}"
        if qualified in self._resolving:
            raise self._error(f"user type {qualified} contains itself")
        field_names, field_texts = definition
        if len(field_names) != len(field_texts):
            raise self._error(f"user type {qualified} has unequal field name and type counts")
        inner = self._resolving | {qualified}
        field_types = tuple(
            _Parser(text, keyspace, self._udts, inner).parse(frozen=True) for text in field_texts
        )
        return UdtType(keyspace, name, tuple(field_names), field_types, frozen)


def parse_cql_type(text: str, *, keyspace: str, udts: UdtDefinitions = _NO_UDTS) -> CqlType:
    """Parse a CQL type text as stored in `system_schema`.

    Args:
        text: the type text, e.g. `frozen<map<text, int>>`; whitespace is ignored.
        keyspace: the keyspace of the table (or UDT) the text belongs to; UDT names
            without a keyspace resolve in it.
        udts: UDT definitions, `(keyspace, type name) -> (field names, field type texts)`;
            nested UDTs resolve through it recursively.

    Returns:
        The type. A top-level collection or UDT without `frozen<...>` has `frozen=False`.

    Raises:
        ValueDecodeError: the text is malformed or names an unknown type.
    """
    return _Parser(text, keyspace, udts, frozenset()).parse(frozen=False)


def is_multi_cell(t: CqlType) -> bool:
    """Whether a column of this type is stored as one cell per element (section 11.14)."""
    return isinstance(t, ListType | SetType | MapType | UdtType) and not t.frozen


def fixed_length(t: CqlType) -> int | None:
    """The value length Cassandra writes without a length prefix, or None if variable.

    Applies to cells of simple columns and to clustering values (section 12.1). Note that
    `date`, `time`, `smallint` and `tinyint` are variable here although their size is constant,
    and that a vector of a fixed-length element type is fixed (dimension x element length).
    """
    if isinstance(t, NativeType):
        return _NATIVE_FIXED.get(t.name)
    if isinstance(t, VectorType):
        element = fixed_length(t.element)
        return None if element is None else element * t.dimension
    if isinstance(t, CustomType):
        return _custom_fixed_length(t.class_name)
    return None


def _custom_fixed_length(class_name: str) -> int | None:
    name = class_name.strip().removeprefix(_MARSHAL_PACKAGE)
    # ReversedType(T) is encoded exactly as T.
    if name.startswith("ReversedType(") and name.endswith(")"):
        return _custom_fixed_length(name[len("ReversedType(") : -1])
    return _CUSTOM_FIXED.get(name)


def _quote_name(name: str) -> str:
    if re.fullmatch(r"[a-z][a-z0-9_]*", name) and name not in _NATIVE_BY_NAME:
        return name
    return '"' + name.replace('"', '""') + '"'


def format_cql_type(t: CqlType) -> str:
    """Render a type as CQL text in the schema's style, for messages and logs.

    `parse_cql_type` reads the result back to an equal type (given the same UDT definitions).
    """
    if isinstance(t, NativeType):
        return t.name.value
    if isinstance(t, CustomType):
        return "'" + t.class_name.replace("'", "''") + "'"
    if isinstance(t, VectorType):
        return f"vector<{format_cql_type(t.element)}, {t.dimension}>"
    if isinstance(t, TupleType):
        return f"frozen<tuple<{', '.join(format_cql_type(e) for e in t.elements)}>>"
    text: str
    if isinstance(t, UdtType):
        text = _quote_name(t.name)
    elif isinstance(t, MapType):
        text = f"map<{format_cql_type(t.key)}, {format_cql_type(t.value)}>"
    else:
        kind = "list" if isinstance(t, ListType) else "set"
        text = f"{kind}<{format_cql_type(t.element)}>"
    return f"frozen<{text}>" if t.frozen else text
