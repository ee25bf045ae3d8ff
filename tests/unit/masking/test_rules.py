"""Tests of the masking rule models: parsing, validation messages, and the rule-set version."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from casscade.masking.rules import (
    EmailRule,
    HashRule,
    KeySource,
    MaskingConfig,
    NestedRule,
    PartialRule,
    RedactRule,
    rules_version,
)
from tests.unit.masking.tables import config

EXAMPLE = """
keys:
  - {id: k2023, secret_env: CASSCADE_MASK_K2023}
  - {id: k2024, secret_file: /run/secrets/mask-k2024}
  - {id: vault1, secret_env: CASSCADE_VAULT_KEY}
active_key: k2024
vault_key: vault1
tables:
  shop.customers:
    columns:
      customer_id: {class: pii, strategy: hash}
      email: {class: pii, strategy: email, keep_domain: true}
      ssn: {class: pii, strategy: tokenize}
      card_number: {class: pii, strategy: partial, keep_last: 4}
      notes: {class: phi, strategy: redact, replacement: "[redacted]"}
      phones: {class: pii, keys: {strategy: passthrough}, values: {strategy: hash}}
      address:
        class: pii
        fields:
          street: {strategy: redact}
          zip: {strategy: partial, keep_last: 2}
"""


def _errors(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        MaskingConfig.model_validate(data)
    return [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in caught.value.errors()]


def test_masking_config_documented_example_parses_every_strategy() -> None:
    """The example of docs/masking.md parses into the strategy models with their options."""
    parsed = MaskingConfig.model_validate(yaml.safe_load(EXAMPLE))
    columns = parsed.tables["shop.customers"].columns
    assert isinstance(columns["customer_id"], HashRule)
    assert isinstance(columns["email"], EmailRule)
    assert columns["email"].keep_domain is True
    card = columns["card_number"]
    assert isinstance(card, PartialRule)
    assert (card.keep_last, card.mask_char) == (4, "*")
    assert columns["notes"].data_class == "phi"
    address = columns["address"]
    assert isinstance(address, NestedRule)
    assert address.fields is not None
    assert isinstance(address.fields["street"], RedactRule)
    assert parsed.rules_for("shop", "customers") is parsed.tables["shop.customers"]
    assert parsed.rules_for("shop", "orders") is None


def test_masking_config_unknown_strategy_lists_the_strategies() -> None:
    """A misspelt strategy is refused with the list of strategies, at the column's place."""
    errors = _errors({"tables": {"a.b": {"columns": {"x": {"class": "pii", "strategy": "hsh"}}}}})
    assert errors == [
        "tables.a.b.columns.x: strategy must be one of hash, tokenize, redact, partial, "
        "email, passthrough"
    ]


def test_masking_config_option_of_another_strategy_is_refused() -> None:
    """An option that belongs to another strategy (keep_last on hash) is an error."""
    errors = _errors(
        {
            "keys": [{"id": "k", "secret_env": "K"}],
            "active_key": "k",
            "tables": {
                "a.b": {"columns": {"x": {"class": "pii", "strategy": "hash", "keep_last": 2}}}
            },
        }
    )
    assert len(errors) == 1
    assert "keep_last: Extra inputs are not permitted" in errors[0]


def test_masking_config_column_without_class_is_refused() -> None:
    """Every column needs a class (pii or phi); parts may leave it out."""
    errors = _errors({"tables": {"a.b": {"columns": {"x": {"strategy": "redact"}}}}})
    assert errors == ["tables.a.b: Value error, give each column a class (pii or phi): x"]


def test_masking_config_empty_nested_rule_asks_for_a_strategy() -> None:
    """A column with a class but neither strategy nor parts says what to give."""
    errors = _errors({"tables": {"a.b": {"columns": {"x": {"class": "phi"}}}}})
    assert "give a strategy" in errors[0]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"tables": {"nodot": {"columns": {"x": {"class": "pii", "strategy": "redact"}}}}},
            "expected keyspace.table, got nodot",
        ),
        (
            {"tables": {"a.b": {"columns": {"x": {"class": "pii", "strategy": "hash"}}}}},
            "active_key is required by strategy hash",
        ),
        (
            {
                "keys": [{"id": "k", "secret_env": "K"}],
                "active_key": "k",
                "tables": {"a.b": {"columns": {"x": {"class": "pii", "strategy": "tokenize"}}}},
            },
            "vault_key is required by strategy tokenize",
        ),
        (
            {"keys": [{"id": "k", "secret_env": "K"}], "active_key": "other"},
            "active_key other is not one of keys",
        ),
        (
            {"keys": [{"id": "k", "secret_env": "K"}, {"id": "k", "secret_env": "J"}]},
            "key ids must be unique: k",
        ),
        (
            {"keys": [{"id": "k", "secret_env": "K"}], "active_key": "k", "vault_key": "k"},
            "active_key and vault_key must be different keys",
        ),
        ({"keys": [{"id": "a:b", "secret_env": "K"}]}, "String should match pattern"),
        ({"audit": {"patterns": {"emp": "EMP-[0-9"}}}, "pattern emp is not a regular expression"),
    ],
)
def test_masking_config_invalid_settings_are_refused(data: dict[str, Any], message: str) -> None:
    """Each invalid setting is refused with a message saying what is wrong."""
    errors = _errors(data)
    assert any(message in error for error in errors), errors


def test_key_source_literal_secret_is_refused_without_echoing_it() -> None:
    """A secret written in the file is refused, and the error text never contains it."""
    with pytest.raises(ValidationError) as caught:
        KeySource.model_validate({"id": "k", "secret": "hunter2-very-secret"})
    assert "secrets do not go in the file" in str(caught.value)
    assert "hunter2" not in str(caught.value)
    assert "hunter2" not in repr(caught.value)


def test_key_source_needs_exactly_one_secret_source() -> None:
    """A key names its secret by secret_env or secret_file, not both and not neither."""
    for data in ({"id": "k"}, {"id": "k", "secret_env": "A", "secret_file": "/b"}):
        with pytest.raises(ValidationError, match="exactly one of secret_env and secret_file"):
            KeySource.model_validate(data)


def test_rules_version_ignores_spelling_and_order_but_not_rules() -> None:
    """Equal rules give one version; a changed option, class or active key another."""
    a = config(
        {
            "a.b": {
                "columns": {
                    "x": {"class": "pii", "strategy": "partial"},
                    "y": {"class": "pii", "strategy": "hash"},
                }
            }
        }
    )
    same = config(
        {
            "a.b": {
                "columns": {
                    "y": {"strategy": "hash", "class": "pii"},
                    "x": {"class": "pii", "strategy": "partial", "keep_last": 4, "mask_char": "*"},
                }
            }
        }
    )
    changed_option = config(
        {
            "a.b": {
                "columns": {
                    "x": {"class": "pii", "strategy": "partial", "keep_last": 3},
                    "y": {"class": "pii", "strategy": "hash"},
                }
            }
        }
    )
    changed_class = config(
        {
            "a.b": {
                "columns": {
                    "x": {"class": "phi", "strategy": "partial"},
                    "y": {"class": "pii", "strategy": "hash"},
                }
            }
        }
    )
    other_key = a.model_copy(update={"active_key": "k1"})
    version = rules_version(a)
    assert len(version) == 12
    assert int(version, 16) >= 0
    assert rules_version(same) == version
    assert rules_version(changed_option) != version
    assert rules_version(changed_class) != version
    assert rules_version(other_key) != version


def test_rules_version_ignores_key_sources_and_audit_settings() -> None:
    """Where secrets come from and what audit looks for do not change what masking outputs."""
    base = config({"a.b": {"columns": {"x": {"class": "pii", "strategy": "hash"}}}})
    moved = base.model_copy(
        update={"keys": tuple(k.model_copy(update={"secret_env": "ELSEWHERE"}) for k in base.keys)}
    )
    audited = config(
        {"a.b": {"columns": {"x": {"class": "pii", "strategy": "hash"}}}},
        audit={"patterns": {"emp": "EMP-[0-9]+"}},
    )
    assert rules_version(moved) == rules_version(base) == rules_version(audited)
