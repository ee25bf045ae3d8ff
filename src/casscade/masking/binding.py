"""Binding masking rules to a table's schema: what fits which CQL type, and the output types.

Binding is where a rule meets a column's CQL type, so this is where every rule that cannot
apply is refused, as a `ConfigError` naming the place in `masking:` (the agent binds at
start-up and whenever the schema changes; `check-config` can bind every table). Decisions:

* `hash`, `tokenize`, `redact`, `passthrough` apply to values of every type; `partial` to
  text, ascii and integer types (an integer is masked in its decimal text); `email` to text
  and ascii. Anything else is refused rather than given an invented meaning.
* Counters take `passthrough` only: destinations merge counter shards, which masked text
  cannot be.
* A non-frozen collection or UDT arrives one element or field at a time, so it has no whole
  value to hash: mask its parts (`elements`, `keys`, `values`, `fields`) or pass it through.
* Identity positions (primary-key columns and everything inside them, set elements, map
  keys) take one-to-one strategies only (`hash`, `tokenize`, `passthrough`): `redact`,
  `partial` and `email` would make different rows, elements or keys collide and merge.
* Masking changes types: `hash`, `tokenize`, `partial` and `email` give text, `redact` gives
  text with a replacement and the original type with null, and collections keep their shape
  with masked parts (`set<int>` with hashed elements is `set<text>`). `masked_table_schema`
  gives sinks the table as it looks after masking, for their DDL.

Pure: rules and schema in, checked rules out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import Enum

from casscade.commitlog.codecs import (
    complex_cell_decoder_for,
    decoder_for,
    partition_key_decoder_for,
)
from casscade.commitlog.schema import ColumnKind, ColumnSchema, TableSchema
from casscade.commitlog.types import (
    CqlType,
    ListType,
    MapType,
    NativeName,
    NativeType,
    SetType,
    TupleType,
    UdtType,
    VectorType,
    fixed_length,
    format_cql_type,
    is_multi_cell,
)
from casscade.errors import ConfigError
from casscade.masking.rules import (
    DataClass,
    MaskingConfig,
    NestedRule,
    RedactRule,
    ValueRule,
)

__all__ = [
    "BoundColumn",
    "BoundRule",
    "BoundTable",
    "Strategy",
    "bind_table",
    "masked_column_type",
    "masked_table_schema",
]

_TEXT = frozenset({NativeName.TEXT, NativeName.ASCII})
_INTEGER = frozenset(
    {NativeName.TINYINT, NativeName.SMALLINT, NativeName.INT, NativeName.BIGINT, NativeName.VARINT}
)
_TEXT_TYPE = NativeType(NativeName.TEXT)


class Strategy(Enum):
    """What a bound rule does to its value."""

    HASH = "hash"
    TOKENIZE = "tokenize"
    REDACT = "redact"
    PARTIAL = "partial"
    EMAIL = "email"
    PASSTHROUGH = "passthrough"
    NESTED = "nested"  # masks parts of the value, per the child rules


_ONE_TO_ONE = frozenset({Strategy.HASH, Strategy.TOKENIZE, Strategy.PASSTHROUGH, Strategy.NESTED})


@dataclass(frozen=True, slots=True)
class BoundRule:
    """A rule checked against the type of the values it masks.

    Attributes:
        rule: the rule as configured.
        strategy: what it does.
        cql_type: the type of the values it receives.
        output_type: the type of the values it gives.
        elements: NESTED on a list, set or vector: the rule of each element.
        keys: NESTED on a map: the rule of each key.
        values: NESTED on a map: the rule of each value.
        fields: NESTED on a UDT or tuple: (field or item index, name, rule) per masked part.
    """

    rule: ValueRule = field(compare=False, repr=False)
    strategy: Strategy
    cql_type: CqlType
    output_type: CqlType
    elements: BoundRule | None = None
    keys: BoundRule | None = None
    values: BoundRule | None = None
    fields: tuple[tuple[int, str, BoundRule], ...] = ()

    @property
    def changes_values(self) -> bool:
        """False for passthrough (and nested rules of passthroughs only)."""
        if self.strategy is Strategy.PASSTHROUGH:
            return False
        if self.strategy is not Strategy.NESTED:
            return True
        parts = [self.elements, self.keys, self.values, *(f[2] for f in self.fields)]
        return any(p is not None and p.changes_values for p in parts)


@dataclass(frozen=True, slots=True)
class BoundColumn:
    """A classified column with its checked rule."""

    column: ColumnSchema
    data_class: DataClass
    rule: BoundRule


@dataclass(frozen=True, slots=True)
class BoundTable:
    """Every classified column of one table, checked against its schema."""

    table: TableSchema = field(compare=False, repr=False)
    columns: Mapping[str, BoundColumn]

    def output_type(self, column: str) -> CqlType:
        """The column's type after masking (its own type when it is not classified).

        Raises:
            KeyError: the table has no such column.
        """
        bound = self.columns.get(column)
        return bound.rule.output_type if bound is not None else self.table.columns[column].cql_type


def bind_table(config: MaskingConfig, table: TableSchema) -> BoundTable | None:
    """Check a table's rules against its schema.

    Returns:
        The bound rules, or None when the table has no rules.

    Raises:
        ConfigError: a rule names a column the table lacks, or does not fit its type; the
            error names the place (`masking.tables.ks.t.columns.c.elements`) and why.
    """
    rules = config.rules_for(table.keyspace, table.name)
    if rules is None:
        return None
    base = f"masking.tables.{table.qualified_name}.columns"
    columns: dict[str, BoundColumn] = {}
    for name, rule in rules.columns.items():
        column = table.columns.get(name)
        if column is None:
            raise ConfigError(f"{base}.{name}", f"table {table.qualified_name} has no such column")
        identity = column.kind in (ColumnKind.PARTITION_KEY, ColumnKind.CLUSTERING)
        bound = _bind(rule, column.cql_type, f"{base}.{name}", identity=identity, top=True)
        columns[name] = BoundColumn(column, rule.data_class or "pii", bound)
    return BoundTable(table, columns)


def masked_column_type(config: MaskingConfig, table: TableSchema, column: str) -> CqlType:
    """The CQL type a destination column must have to hold the masked values.

    Raises:
        ConfigError: the table's rules do not fit its schema.
        KeyError: the table has no such column.
    """
    bound = bind_table(config, table)
    return table.columns[column].cql_type if bound is None else bound.output_type(column)


def masked_table_schema(config: MaskingConfig, table: TableSchema) -> TableSchema:
    """The table as it looks after masking: sinks create destination tables from this.

    Columns whose type masking changes get the output type (with its type text, length and
    decoders); all else is the table itself. Without rules, the same object is returned.

    Raises:
        ConfigError: the table's rules do not fit its schema.
    """
    bound = bind_table(config, table)
    if bound is None:
        return table
    changed = {
        name: _retyped(b.column, b.rule.output_type)
        for name, b in bound.columns.items()
        if b.rule.output_type != b.column.cql_type
    }
    if not changed:
        return table
    columns = {name: changed.get(name, column) for name, column in table.columns.items()}
    partition_key = tuple(columns[c.name] for c in table.partition_key)
    return replace(
        table,
        partition_key=partition_key,
        clustering=tuple(columns[c.name] for c in table.clustering),
        columns=columns,
        decode_key=(
            partition_key_decoder_for(tuple(c.cql_type for c in partition_key))
            if partition_key
            else table.decode_key
        ),
        header_columns={**table.header_columns, **{n.encode(): c for n, c in changed.items()}},
        recent_headers=[],
    )


def _retyped(column: ColumnSchema, cql_type: CqlType) -> ColumnSchema:
    multi_cell = is_multi_cell(cql_type)
    return replace(
        column,
        type_text=format_cql_type(cql_type),
        cql_type=cql_type,
        is_multi_cell=multi_cell,
        fixed_length=fixed_length(cql_type),
        decode=decoder_for(cql_type),
        decode_cell=complex_cell_decoder_for(cql_type) if multi_cell else None,
    )


def _bind(rule: ValueRule, t: CqlType, where: str, *, identity: bool, top: bool) -> BoundRule:
    if isinstance(rule, NestedRule):
        return _bind_nested(rule, t, where, identity=identity)
    strategy = Strategy(rule.strategy)
    if strategy is not Strategy.PASSTHROUGH:
        _check_strategy(strategy, t, where, identity=identity, top=top)
    return BoundRule(rule, strategy, t, _output_type(rule, strategy, t))


def _check_strategy(
    strategy: Strategy, t: CqlType, where: str, *, identity: bool, top: bool
) -> None:
    text = format_cql_type(t)
    native = t.name if isinstance(t, NativeType) else None
    if native is NativeName.COUNTER:
        problem = "counters cannot be masked (destinations add up their shards); use passthrough"
        raise ConfigError(where, problem)
    if top and is_multi_cell(t):
        raise ConfigError(
            where,
            f"{text} is not frozen: its elements arrive one at a time, so there is no whole "
            f"value to {strategy.value}; mask its parts (elements, keys, values or fields)",
        )
    if identity and strategy not in _ONE_TO_ONE:
        raise ConfigError(
            where,
            f"{strategy.value} is not one-to-one: different primary keys, set elements or map "
            "keys would collide and merge; use hash or tokenize",
        )
    if strategy is Strategy.PARTIAL and native not in _TEXT | _INTEGER:
        raise ConfigError(where, f"partial applies to text, ascii and integer types, not {text}")
    if strategy is Strategy.EMAIL and native not in _TEXT:
        raise ConfigError(where, f"email applies to text and ascii, not {text}")


def _output_type(rule: ValueRule, strategy: Strategy, t: CqlType) -> CqlType:
    if strategy is Strategy.PASSTHROUGH:
        return t
    if isinstance(rule, RedactRule) and rule.replacement is None:
        return t  # null fits every type
    return _TEXT_TYPE


def _bind_nested(rule: NestedRule, t: CqlType, where: str, *, identity: bool) -> BoundRule:
    if isinstance(t, ListType | SetType | VectorType):
        _only(rule, ("elements",), t, where)
        element_rule = rule.elements
        if element_rule is None:  # unreachable: _only requires it; narrows the type
            raise ConfigError(where, "give a rule for elements")
        inner_identity = identity or isinstance(t, SetType)
        elements = _bind(
            element_rule, t.element, f"{where}.elements", identity=inner_identity, top=False
        )
        out: CqlType
        if isinstance(t, VectorType):
            out = VectorType(elements.output_type, t.dimension)
        else:
            out = type(t)(elements.output_type, t.frozen)
        return BoundRule(rule, Strategy.NESTED, t, out, elements=elements)
    if isinstance(t, MapType):
        return _bind_map(rule, t, where, identity=identity)
    if isinstance(t, UdtType | TupleType):
        return _bind_fields(rule, t, where, identity=identity)
    raise ConfigError(
        where, f"{format_cql_type(t)} has no elements, keys, values or fields: give a strategy"
    )


def _only(rule: NestedRule, allowed: tuple[str, ...], t: CqlType, where: str) -> None:
    given = {
        "elements": rule.elements is not None,
        "keys": rule.keys is not None,
        "values": rule.values is not None,
        "fields": bool(rule.fields),
    }
    wrong = sorted(part for part, is_set in given.items() if is_set and part not in allowed)
    if wrong or not any(given[part] for part in allowed):
        raise ConfigError(
            where, f"{format_cql_type(t)} has {' and '.join(allowed)}, not {', '.join(wrong)}"
        )


def _bind_map(rule: NestedRule, t: MapType, where: str, *, identity: bool) -> BoundRule:
    _only(rule, ("keys", "values"), t, where)
    keys = values = None
    if rule.keys is not None:
        keys = _bind(rule.keys, t.key, f"{where}.keys", identity=True, top=False)
    if rule.values is not None:
        values = _bind(rule.values, t.value, f"{where}.values", identity=identity, top=False)
    out = MapType(
        t.key if keys is None else keys.output_type,
        t.value if values is None else values.output_type,
        t.frozen,
    )
    return BoundRule(rule, Strategy.NESTED, t, out, keys=keys, values=values)


def _bind_fields(
    rule: NestedRule, t: UdtType | TupleType, where: str, *, identity: bool
) -> BoundRule:
    _only(rule, ("fields",), t, where)
    if isinstance(t, UdtType):
        names, types = t.field_names, t.field_types
    else:
        names, types = tuple(str(i) for i in range(len(t.elements))), t.elements
    bound: list[tuple[int, str, BoundRule]] = []
    for name, part in (rule.fields or {}).items():
        if name not in names:
            raise ConfigError(f"{where}.fields.{name}", f"{format_cql_type(t)} has no field {name}")
        index = names.index(name)
        part_where = f"{where}.fields.{name}"
        bound.append(
            (index, name, _bind(part, types[index], part_where, identity=identity, top=False))
        )
    outputs = list(types)
    for index, _name, part_rule in bound:
        outputs[index] = part_rule.output_type
    out: CqlType
    if isinstance(t, UdtType):
        out = UdtType(t.keyspace, t.name, t.field_names, tuple(outputs), t.frozen)
    else:
        out = TupleType(tuple(outputs))
    return BoundRule(
        rule, Strategy.NESTED, t, out, fields=tuple(sorted(bound, key=lambda part: part[0]))
    )
