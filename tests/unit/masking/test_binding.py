"""Tests of binding rules to a table schema: refusals with their place, and output types."""

from __future__ import annotations

from typing import Any

import pytest

from casscade.commitlog.schema import TableSchema
from casscade.commitlog.types import format_cql_type
from casscade.errors import ConfigError
from casscade.masking.binding import (
    Strategy,
    bind_table,
    masked_column_type,
    masked_table_schema,
)
from tests.unit.masking.tables import config, table

COLUMNS: dict[str, tuple[str, int, str]] = {
    "pk": ("partition_key", 0, "text"),
    "ck": ("clustering", 0, "int"),
    "name": ("regular", -1, "text"),
    "age": ("regular", -1, "int"),
    "ident": ("regular", -1, "uuid"),
    "hits": ("regular", -1, "counter"),
    "tags": ("regular", -1, "set<text>"),
    "history": ("regular", -1, "list<bigint>"),
    "phones": ("regular", -1, "map<text, text>"),
    "fl": ("regular", -1, "frozen<list<int>>"),
    "fm": ("regular", -1, "frozen<map<text, int>>"),
    "addr": ("regular", -1, "addr"),
    "faddr": ("regular", -1, "frozen<addr>"),
    "pair": ("regular", -1, "tuple<int, text>"),
    "vec": ("regular", -1, "vector<float, 3>"),
    "photo": ("regular", -1, "blob"),
}
UDTS = {"addr": (("street", "zip"), ("text", "int"))}


def _table() -> TableSchema:
    return table(COLUMNS, types=UDTS)


def _bind_one(column: str, rule: dict[str, Any]) -> Any:
    rules = config({"ks.t": {"columns": {column: {"class": "pii", **rule}}}})
    bound = bind_table(rules, _table())
    assert bound is not None
    return bound.columns[column].rule


def _refusal(column: str, rule: dict[str, Any]) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        _bind_one(column, rule)
    return caught.value


@pytest.mark.parametrize(
    ("column", "rule", "where", "problem"),
    [
        (
            "ident",
            {"strategy": "partial"},
            "ident",
            "partial applies to text, ascii and integer types, not uuid",
        ),
        ("age", {"strategy": "email"}, "age", "email applies to text and ascii, not int"),
        ("hits", {"strategy": "hash"}, "hits", "counters cannot be masked"),
        ("tags", {"strategy": "hash"}, "tags", "set<text> is not frozen"),
        ("pk", {"strategy": "redact"}, "pk", "redact is not one-to-one"),
        ("ck", {"strategy": "partial"}, "ck", "partial is not one-to-one"),
        ("tags", {"elements": {"strategy": "email"}}, "tags.elements", "email is not one-to-one"),
        ("phones", {"keys": {"strategy": "partial"}}, "phones.keys", "partial is not one-to-one"),
        (
            "addr",
            {"fields": {"city": {"strategy": "hash"}}},
            "addr.fields.city",
            "has no field city",
        ),
        ("pair", {"fields": {"2": {"strategy": "hash"}}}, "pair.fields.2", "has no field 2"),
        (
            "history",
            {"keys": {"strategy": "hash"}},
            "history",
            "list<bigint> has elements, not keys",
        ),
        (
            "phones",
            {"elements": {"strategy": "hash"}},
            "phones",
            "has keys and values, not elements",
        ),
        (
            "age",
            {"elements": {"strategy": "hash"}},
            "age",
            "int has no elements, keys, values or fields",
        ),
        (
            "fl",
            {"elements": {"elements": {"strategy": "hash"}}},
            "fl.elements",
            "int has no elements",
        ),
    ],
)
def test_bind_table_refuses_misfits_at_their_place(
    column: str, rule: dict[str, Any], where: str, problem: str
) -> None:
    """Each rule that cannot apply to its type is a ConfigError naming its place and why."""
    error = _refusal(column, rule)
    assert error.where == f"masking.tables.ks.t.columns.{where}"
    assert problem in error.problem


def test_bind_table_unknown_column_is_refused() -> None:
    """A rule for a column the table does not have (a typo) is an error, not ignored."""
    rules = config({"ks.t": {"columns": {"emial": {"class": "pii", "strategy": "hash"}}}})
    with pytest.raises(ConfigError, match="has no such column") as caught:
        bind_table(rules, _table())
    assert caught.value.where == "masking.tables.ks.t.columns.emial"


def test_bind_table_without_rules_is_none() -> None:
    """A table the rules do not mention binds to None."""
    assert bind_table(config({}), _table()) is None


def test_bind_table_passthrough_fits_even_counters_and_multi_cell_columns() -> None:
    """passthrough applies to every column, counters and non-frozen collections included."""
    for column in ("hits", "tags", "addr"):
        bound = _bind_one(column, {"strategy": "passthrough"})
        assert bound.strategy is Strategy.PASSTHROUGH
        assert not bound.changes_values


@pytest.mark.parametrize(
    ("column", "rule", "output"),
    [
        ("pk", {"strategy": "hash"}, "text"),
        ("ck", {"strategy": "tokenize"}, "text"),
        ("age", {"strategy": "partial", "keep_last": 2}, "text"),
        ("age", {"strategy": "redact"}, "int"),
        ("age", {"strategy": "redact", "replacement": "n/a"}, "text"),
        ("photo", {"strategy": "hash"}, "text"),
        ("ident", {"strategy": "passthrough"}, "uuid"),
        ("tags", {"elements": {"strategy": "hash"}}, "set<text>"),
        ("history", {"elements": {"strategy": "tokenize"}}, "list<text>"),
        ("phones", {"values": {"strategy": "partial"}}, "map<text, text>"),
        (
            "fm",
            {"keys": {"strategy": "hash"}, "values": {"strategy": "hash"}},
            "frozen<map<text, text>>",
        ),
        ("fl", {"strategy": "hash"}, "text"),
        ("pair", {"fields": {"0": {"strategy": "hash"}}}, "frozen<tuple<text, text>>"),
        ("vec", {"elements": {"strategy": "hash"}}, "vector<text, 3>"),
    ],
)
def test_bound_output_type_is_what_the_masked_values_are(
    column: str, rule: dict[str, Any], output: str
) -> None:
    """Masking changes types as documented: text for hashes and masks, shapes kept."""
    assert format_cql_type(_bind_one(column, rule).output_type) == output


def test_bound_udt_field_output_types_change_only_masked_fields() -> None:
    """A UDT keeps its name; a hashed int field becomes text, other fields keep their type."""
    bound = _bind_one("faddr", {"fields": {"zip": {"strategy": "hash"}}})
    assert bound.output_type.field_names == ("street", "zip")
    assert [format_cql_type(t) for t in bound.output_type.field_types] == ["text", "text"]
    assert bound.output_type.frozen is True


def test_masked_table_schema_retypes_masked_columns_for_the_sinks() -> None:
    """The masked schema gives sinks text for hashed keys and int columns, rest unchanged."""
    rules = config(
        {
            "ks.t": {
                "columns": {
                    "ck": {"class": "pii", "strategy": "hash"},
                    "age": {"class": "phi", "strategy": "partial"},
                    "name": {"class": "pii", "strategy": "redact"},
                }
            }
        }
    )
    original = _table()
    masked = masked_table_schema(rules, original)
    assert masked.columns["ck"].type_text == "text"
    assert masked.clustering[0].type_text == "text"
    assert masked.columns["age"].type_text == "text"
    assert masked.columns["age"].fixed_length is None
    assert masked.columns["age"].decode(b"12") == "12"
    assert masked.columns["name"] is original.columns["name"]
    assert masked.columns["ident"] is original.columns["ident"]
    assert original.columns["ck"].type_text == "int"
    assert masked_column_type(rules, original, "ck") == masked.columns["ck"].cql_type
    assert masked_column_type(rules, original, "ident") == original.columns["ident"].cql_type


def test_masked_table_schema_rebuilds_the_partition_key_decoder() -> None:
    """A hashed int partition key becomes text, and the key decoder decodes text."""
    schema = table({"id": ("partition_key", 0, "int"), "v": ("regular", -1, "text")})
    rules = config({"ks.t": {"columns": {"id": {"class": "pii", "strategy": "hash"}}}})
    masked = masked_table_schema(rules, schema)
    assert masked.partition_key[0].type_text == "text"
    assert masked.decode_key(b"k2:ab") == ("k2:ab",)


def test_masked_table_schema_without_changes_is_the_table_itself() -> None:
    """No rules, or only passthrough, returns the very same schema object."""
    schema = _table()
    assert masked_table_schema(config({}), schema) is schema
    passthrough = config(
        {"ks.t": {"columns": {"age": {"class": "pii", "strategy": "passthrough"}}}}
    )
    assert masked_table_schema(passthrough, schema) is schema
