"""Property tests of masking over arbitrary CQL types and values.

Every strategy is total (any value of any CQL type is masked, or the rule is refused with a
ConfigError when it is bound to the schema: never another exception at run time), is
deterministic, and never hands back its input for hash, tokenize and redact. What the masker
outputs is what audit accepts as masked, and partial/email/redact are idempotent.
"""

from __future__ import annotations

import datetime
import hmac
import ipaddress
import uuid
from collections.abc import Iterable
from typing import Any, cast

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from casscade.commitlog.codecs import (
    CounterContext,
    CounterShard,
    CounterShardKind,
    CqlDate,
    CqlTime,
    CqlTimestamp,
    Duration,
    complex_cell_decoder_for,
    decoder_for,
    partition_key_decoder_for,
)
from casscade.commitlog.schema import ColumnKind, ColumnSchema, TableSchema
from casscade.commitlog.types import (
    CqlType,
    CustomType,
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
from casscade.events.model import CellChange, ChangeEvent, Op
from casscade.masking.audit import AuditScanner, FindingKind, shape
from casscade.masking.entries import VaultEntries
from casscade.masking.keys import KeyRing
from casscade.masking.masker import Masker
from casscade.masking.rules import MaskingConfig
from casscade.masking.strategies import (
    HASH_FORM,
    TOKEN_FORM,
    KeyedHasher,
    PythonHmac,
    new_hmac,
    partial_masker,
)

KEYS = KeyRing.from_material(
    {"k1": bytes(range(32)), "v1": bytes(range(1, 33))}, active_key="k1", vault_key="v1"
)
STRATEGIES = ("hash", "tokenize", "redact", "partial", "email", "passthrough")
REPLACEMENT = "\x00redacted\x00"  # no generated value equals it (asserted where it matters)

# -- CQL types and values as the decoders give them ----------------------------------------

_INT_RANGES = {
    NativeName.TINYINT: 8,
    NativeName.SMALLINT: 16,
    NativeName.INT: 32,
    NativeName.BIGINT: 64,
}
_UTC = datetime.UTC


def _native_values(name: NativeName) -> st.SearchStrategy[Any]:
    if name in _INT_RANGES:
        bits = _INT_RANGES[name]
        return st.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    table: dict[NativeName, st.SearchStrategy[Any]] = {
        NativeName.ASCII: st.text(st.characters(max_codepoint=127)),
        NativeName.TEXT: st.text(),
        NativeName.BLOB: st.binary(max_size=40),
        NativeName.BOOLEAN: st.booleans(),
        NativeName.VARINT: st.integers(),
        NativeName.FLOAT: st.floats(width=32),
        NativeName.DOUBLE: st.floats(),
        NativeName.DECIMAL: st.decimals(allow_nan=False, allow_infinity=False),
        NativeName.UUID: st.uuids(),
        NativeName.TIMEUUID: st.uuids(version=1),
        NativeName.INET: st.ip_addresses().map(lambda a: ipaddress.ip_address(str(a))),
        NativeName.DATE: st.dates() | st.builds(CqlDate, st.integers(-(2**31), 2**31 - 1)),
        NativeName.TIME: st.builds(CqlTime, st.integers(0, 86_399_999_999_999)),
        NativeName.TIMESTAMP: st.datetimes(timezones=st.just(_UTC))
        | st.builds(CqlTimestamp, st.integers(-(2**63), 2**63 - 1)),
        NativeName.DURATION: st.builds(
            Duration,
            st.integers(-(2**31), 2**31 - 1),
            st.integers(-(2**31), 2**31 - 1),
            st.integers(),
        ),
        NativeName.EMPTY: st.none(),
        NativeName.COUNTER: st.builds(
            CounterContext,
            st.tuples(
                st.builds(
                    CounterShard,
                    st.uuids(),
                    st.integers(0, 2**63),
                    st.integers(),
                    st.sampled_from(CounterShardKind),
                )
            ),
        ),
    }
    return table[name]


_INNER_NATIVES = [n for n in NativeName if n is not NativeName.COUNTER]
_KEY_NATIVES = [
    NativeName.TEXT,
    NativeName.INT,
    NativeName.UUID,
    NativeName.BIGINT,
    NativeName.ASCII,
    NativeName.BLOB,
    NativeName.DATE,
]


def _composite(inner: st.SearchStrategy[CqlType]) -> st.SearchStrategy[CqlType]:
    keys = st.sampled_from(_KEY_NATIVES).map(NativeType)
    parts = st.lists(inner, min_size=1, max_size=3).map(tuple)
    return st.one_of(
        inner.map(lambda t: ListType(t, True)),
        inner.map(lambda t: SetType(t, True)),
        st.builds(lambda k, v: MapType(k, v, True), keys, inner),
        parts.map(TupleType),
        parts.map(lambda ts: UdtType("ks", "u", tuple(f"f{i}" for i in range(len(ts))), ts, True)),
        st.builds(VectorType, inner, st.integers(1, 3)),
    )


INNER_NATIVE_TYPES: st.SearchStrategy[CqlType] = st.sampled_from(_INNER_NATIVES).map(NativeType)
INNER_TYPES: st.SearchStrategy[CqlType] = st.recursive(INNER_NATIVE_TYPES, _composite, max_leaves=4)


def _unfreeze(t: CqlType) -> CqlType:
    if isinstance(t, ListType | SetType):
        return type(t)(t.element, False)
    if isinstance(t, MapType):
        return MapType(t.key, t.value, False)
    if isinstance(t, UdtType):
        return UdtType(t.keyspace, t.name, t.field_names, t.field_types, False)
    return t


# Column types: anything inside (natives and frozen containers twice as often as the
# rest), plus counters, custom types and multi-cell collections.
COLUMN_TYPES: st.SearchStrategy[CqlType] = st.one_of(
    INNER_NATIVE_TYPES,
    INNER_NATIVE_TYPES,
    INNER_TYPES,
    INNER_TYPES,
    st.just(NativeType(NativeName.COUNTER)),
    st.just(CustomType("org.apache.cassandra.db.marshal.LexicalUUIDType")),
    INNER_TYPES.filter(lambda t: isinstance(t, ListType | SetType | MapType | UdtType)).map(
        _unfreeze
    ),
)


def values_of(t: CqlType) -> st.SearchStrategy[Any]:
    """Values of a type in the decoders' plain form (None allowed for nested nulls)."""
    if isinstance(t, NativeType):
        return _native_values(t.name)
    if isinstance(t, CustomType):
        return st.binary(max_size=16)
    return _container_values(t)


def _container_values(t: CqlType) -> st.SearchStrategy[Any]:
    if isinstance(t, ListType | SetType):
        return st.lists(st.none() | values_of(t.element), max_size=3)
    if isinstance(t, VectorType):
        return st.lists(values_of(t.element), min_size=t.dimension, max_size=t.dimension)
    if isinstance(t, MapType):
        return st.dictionaries(values_of(t.key), st.none() | values_of(t.value), max_size=3)
    if isinstance(t, TupleType):
        return st.tuples(*(st.none() | values_of(e) for e in t.elements))
    assert isinstance(t, UdtType)
    return st.fixed_dictionaries(
        {n: st.none() | values_of(f) for n, f in zip(t.field_names, t.field_types, strict=True)}
    )


@st.composite
def typed_values(draw: st.DrawFn, types: st.SearchStrategy[CqlType] = COLUMN_TYPES) -> Any:
    t = draw(types)
    return t, draw(values_of(t))


# -- a one-column table and event ------------------------------------------------------------


def _column(name: str, kind: ColumnKind, position: int, t: CqlType) -> ColumnSchema:
    multi = is_multi_cell(t)
    return ColumnSchema(
        name=name,
        kind=kind,
        position=position,
        type_text=format_cql_type(t),
        cql_type=t,
        is_multi_cell=multi,
        fixed_length=fixed_length(t),
        decode=decoder_for(t),
        decode_cell=complex_cell_decoder_for(t) if multi else None,
    )


def table_with(t: CqlType, *, as_key: bool = False) -> TableSchema:
    """ks.t with column `c` of type t: the partition key, or a regular column beside `pk`."""
    if as_key:
        key = _column("c", ColumnKind.PARTITION_KEY, 0, t)
        columns = {"c": key}
    else:
        key = _column("pk", ColumnKind.PARTITION_KEY, 0, NativeType(NativeName.INT))
        columns = {"pk": key, "c": _column("c", ColumnKind.REGULAR, -1, t)}
    return TableSchema(
        id=uuid.UUID(int=1),
        keyspace="ks",
        name="t",
        is_cdc=True,
        partition_key=(key,),
        clustering=(),
        columns=columns,
        dropped={},
        decode_key=partition_key_decoder_for((key.cql_type,)),
    )


def rules(rule: dict[str, Any]) -> MaskingConfig:
    return MaskingConfig.model_validate(
        {
            "keys": [{"id": "k1", "secret_env": "K"}, {"id": "v1", "secret_env": "V"}],
            "active_key": "k1",
            "vault_key": "v1",
            "tables": {"ks.t": {"columns": {"c": {"class": "pii", **rule}}}},
        }
    )


def strategy_rule(name: str) -> dict[str, Any]:
    return (
        {"strategy": name, "replacement": REPLACEMENT} if name == "redact" else {"strategy": name}
    )


def refusal(config: MaskingConfig, schema: TableSchema) -> ConfigError | None:
    """The ConfigError binding the rules to the schema raises, or None if they fit."""
    try:
        Masker(config, KEYS).check_table(schema)
    except ConfigError as exc:
        return exc
    return None


def mask_value(masker: Masker, schema: TableSchema, value: object, *, as_key: bool) -> object:
    if as_key:
        event = ChangeEvent("ks", "t", Op.DELETE_PARTITION, (value,), deletion_us=1)
        return masker.mask_event(event, schema, vault_entries=VaultEntries()).partition_key[0]
    event = ChangeEvent("ks", "t", Op.UPSERT, (1,), cells=(CellChange("c", value, 1),))
    return masker.mask_event(event, schema, vault_entries=VaultEntries()).cells[0].value


# -- properties ---------------------------------------------------------------------------------


@settings(max_examples=500)
@given(typed=typed_values(), name=st.sampled_from(STRATEGIES), as_key=st.booleans())
def test_every_strategy_masks_any_value_or_is_refused_at_bind(
    typed: tuple[CqlType, Any], name: str, as_key: bool
) -> None:
    """Total: binding refuses with a ConfigError, or masking succeeds, deterministically,
    and hash, tokenize and redact never give the input back."""
    t, value = typed
    assume(not (as_key and is_multi_cell(t)))  # Cassandra keys are frozen
    schema = table_with(t, as_key=as_key)
    config = rules(strategy_rule(name))
    error = refusal(config, schema)
    if error is not None:
        assert error.where.startswith("masking.tables.ks.t.columns.c")
        assert error.problem
        return
    if is_multi_cell(t):
        assert name == "passthrough"  # whole-value strategies need a frozen value
        return
    first = mask_value(Masker(config, KEYS), schema, value, as_key=as_key)
    again = mask_value(Masker(config, KEYS), schema, value, as_key=as_key)
    assert first is again or first == again  # `is`: a passed-through NaN is not == itself
    if value is None:
        assert first is None
    elif name == "hash":
        assert HASH_FORM.match(str(first))
    elif name == "tokenize":
        assert TOKEN_FORM.match(str(first))
    elif name == "redact":
        assert first == REPLACEMENT != value
    elif name in ("partial", "email"):
        assert isinstance(first, str)
    if name in ("hash", "tokenize", "redact") and value is not None:
        assert first != value


@settings(max_examples=200)
@given(
    typed=typed_values(INNER_TYPES.filter(lambda t: not isinstance(t, NativeType))),
    name=st.sampled_from(("hash", "tokenize", "redact")),
)
def test_part_rules_mask_every_part_of_any_container(typed: tuple[CqlType, Any], name: str) -> None:
    """Rules for elements, keys/values or every field mask each non-null part of any frozen
    container value, and never hand a part back unchanged."""
    t, value = typed
    part = strategy_rule(name)
    if isinstance(t, ListType | SetType | VectorType):
        nested: dict[str, Any] = {"elements": part}
    elif isinstance(t, MapType):
        nested = {"values": part}
    elif isinstance(t, UdtType):
        nested = {"fields": dict.fromkeys(t.field_names, part)}
    else:
        assert isinstance(t, TupleType)
        nested = {"fields": {str(i): part for i in range(len(t.elements))}}
    schema = table_with(t)
    error = refusal(rules(nested), schema)
    if error is not None:
        assert name == "redact"  # redact cannot mask set elements: they would merge
        assert "one-to-one" in error.problem
        return
    masked = mask_value(Masker(rules(nested), KEYS), schema, value, as_key=False)
    assert masked == mask_value(Masker(rules(nested), KEYS), schema, value, as_key=False)
    raw_parts = _parts(value)
    masked_parts = _parts(masked)
    assert len(raw_parts) == len(masked_parts)
    for raw, out in zip(raw_parts, masked_parts, strict=True):
        assert (out is None) if raw is None else (out != raw and isinstance(out, str))


def _parts(value: object) -> list[object]:
    if isinstance(value, dict):
        return list(value.values())
    return list(cast(Iterable[object], value))


@given(text=st.text(), keep=st.integers(0, 64))
def test_partial_keeps_length_and_reveals_at_most_half(text: str, keep: int) -> None:
    """partial keeps the length, reveals at most keep_last and at most half the characters,
    and masking its output again changes nothing."""
    masked = partial_masker(keep, "*")(text)
    assert len(masked) == len(text)
    revealed = len(masked) - len(masked.lstrip("*"))
    assert len(text) - revealed <= min(keep, len(text) // 2)
    assert partial_masker(keep, "*")(masked) == masked


@settings(max_examples=200)
@given(text=st.text(), name=st.sampled_from(("partial", "email", "redact")))
def test_lossy_strategies_are_idempotent(text: str, name: str) -> None:
    """Masking an already masked text with partial, email or redact changes nothing."""
    schema = table_with(NativeType(NativeName.TEXT))
    masker = Masker(rules(strategy_rule(name)), KEYS)
    once = mask_value(masker, schema, text, as_key=False)
    assert mask_value(masker, schema, once, as_key=False) == once


@settings(max_examples=200)
@given(text=st.text(), name=st.sampled_from(("hash", "tokenize", "redact", "partial", "email")))
def test_audit_accepts_what_the_masker_outputs(text: str, name: str) -> None:
    """Every masked output is in the form audit expects for its strategy: no NOT_MASKED."""
    config = rules(strategy_rule(name))
    schema = table_with(NativeType(NativeName.TEXT))
    masked = mask_value(Masker(config, KEYS), schema, text, as_key=False)
    report = AuditScanner(config).scan_table("ks.t", [{"c": masked}])
    assert not [f for f in report.findings if f.kind is not FindingKind.EMAIL]


@given(a=st.text(), b=st.text())
def test_hash_and_tokens_of_distinct_texts_differ(a: str, b: str) -> None:
    """Distinct values get distinct hashes and tokens (distinct keys stay distinct rows)."""
    assume(a != b)
    schema = table_with(NativeType(NativeName.TEXT), as_key=True)
    for name in ("hash", "tokenize"):
        masker = Masker(rules(strategy_rule(name)), KEYS)
        assert mask_value(masker, schema, a, as_key=True) != mask_value(
            masker, schema, b, as_key=True
        )


@given(text=st.text())
def test_audit_excerpts_hold_no_letters_or_digits(text: str) -> None:
    """An excerpt's shape has no letter but x and no digit, so it cannot spell a value."""
    excerpt = shape(text)
    assert not any(c.isdigit() for c in excerpt)
    assert all(c == "x" for c in excerpt if c.isalpha())


@settings(max_examples=300, deadline=None)
@given(key=st.binary(min_size=0, max_size=200), message=st.binary(max_size=300))
def test_keyed_hash_of_bytes_is_the_standard_hmac_sha256(key: bytes, message: bytes) -> None:
    """The hasher's HMAC equals the standard library's for keys shorter than, equal to and
    longer than SHA-256's 64-byte block, and so do both of its implementations: the C
    extension (a compiled install) and the Python fallback (a pure one)."""
    expected = hmac.digest(key, message, "sha256")
    assert KeyedHasher("k", key).hash(message) == f"k:{expected.hex()}"
    assert KeyedHasher("k", key).hash_and_head(message, 32) == (f"k:{expected.hex()}", expected)
    assert PythonHmac(key).hex_and_head(message, "", 32)[1] == expected
    assert new_hmac(key).hex_and_head(message, "", 32)[1] == expected


@settings(max_examples=300, deadline=None)
@given(
    key=st.binary(min_size=0, max_size=200),
    data=st.one_of(st.binary(max_size=300), st.text(alphabet=st.characters(
        min_codepoint=0, max_codepoint=0x10FFFF, blacklist_categories=()))),
    prefix=st.text(max_size=40),
    head=st.integers(min_value=0, max_value=32),
)  # fmt: skip
def test_hex_and_head_is_the_prefixed_hex_and_first_bytes_of_the_hmac(
    key: bytes, data: bytes | str, prefix: str, head: int
) -> None:
    """`hex_and_head` gives the prefix and the HMAC's hex, and the HMAC's first `head` bytes,
    in both implementations, for any prefix (the C one copies an ASCII prefix itself and
    joins any other as Python does) and any bytes or text."""
    message = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    expected = hmac.digest(key, message, "sha256")
    wanted = (prefix + expected.hex(), expected[:head])
    assert new_hmac(key).hex_and_head(data, prefix, head) == wanted
    assert PythonHmac(key).hex_and_head(data, prefix, head) == wanted
    assert KeyedHasher("k", key).hash_and_head(data, head) == ("k:" + expected.hex(),
                                                               expected[:head])  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(key=st.binary(min_size=0, max_size=200), text=st.text(alphabet=st.characters(
    min_codepoint=0, max_codepoint=0x10FFFF, blacklist_categories=())))  # fmt: skip
def test_keyed_hash_of_text_is_the_hmac_of_its_utf8(key: bytes, text: str) -> None:
    """A text (ASCII, any other code point, lone surrogates) hashes as its UTF-8 bytes with
    surrogates kept, in both implementations and through the hasher."""
    expected = hmac.digest(key, text.encode("utf-8", "surrogatepass"), "sha256")
    assert new_hmac(key).hex_and_head(text, "", 32)[1] == expected
    assert PythonHmac(key).hex_and_head(text, "", 32)[1] == expected
    assert KeyedHasher("k", key).hash_and_head(text, 32)[1] == expected
