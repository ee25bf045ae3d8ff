"""Masking rules (the `masking:` section of casscade.yaml) as pydantic models, and their version.

Pure models: no environment or file access here. Key secrets are named, never written:
each key says `secret_env: VAR` or `secret_file: /path`, and `casscade.masking.keys` reads
them into SecretStr values. A literal secret in the file is refused, and validation errors
never echo their input (`hide_input_in_errors`).

A column rule is either a strategy (`strategy: hash`, with that strategy's options, and
nothing else) or, for collections, tuples and UDTs, rules for their parts (`elements`,
`keys`, `values`, `fields`). Whether a rule fits a column's CQL type is checked when the
rules are bound to the table's schema (`casscade.masking.binding`).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Annotated, Literal, TypeAlias

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

__all__ = [
    "AuditSettings",
    "DataClass",
    "EmailRule",
    "HashRule",
    "KeySource",
    "MaskingConfig",
    "NestedRule",
    "PartialRule",
    "PassthroughRule",
    "RedactRule",
    "StrategyRule",
    "TableRules",
    "TokenizeRule",
    "ValueRule",
    "VaultSettings",
    "iter_rules",
    "rules_version",
]

DataClass: TypeAlias = Literal["pii", "phi"]
BuiltinDetector: TypeAlias = Literal["email", "ssn", "phone", "card"]

_KEY_ID = r"^[A-Za-z0-9_-]{1,32}$"  # no ':' (it separates the key id in masked values)
_TABLE_NAME = re.compile(r"^[A-Za-z0-9_]+\.[A-Za-z0-9_]+$")
_SQL_NAME = r"^[a-z_][a-z0-9_]{0,62}$"  # unquoted-style PostgreSQL identifiers only
_SECRET_WORDS = frozenset({"secret", "key", "value", "password"})

# One config for every model: immutable, unknown keys are errors, inputs never echoed
# (a mistyped key entry could hold a secret).
_MODEL = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, hide_input_in_errors=True)


class _Rule(BaseModel):
    model_config = _MODEL

    data_class: DataClass | None = Field(
        default=None,
        alias="class",
        description="pii or phi; required on a column, optional on its parts (overrides).",
    )


class HashRule(_Rule):
    """Keyed HMAC-SHA-256 with the active key: `<key id>:<64 hex digits>`, deterministic."""

    strategy: Literal["hash"]


class TokenizeRule(_Rule):
    """A deterministic token `tok:<key id>:<32 hex digits>`; the value is kept encrypted in
    the vault, where `detokenize` (with the vault key) finds it again."""

    strategy: Literal["tokenize"]


class RedactRule(_Rule):
    """Every non-null value becomes `replacement` (null by default)."""

    strategy: Literal["redact"]
    replacement: str | None = None


class PartialRule(_Rule):
    """Keep the last `keep_last` characters (never more than half), mask the rest."""

    strategy: Literal["partial"]
    keep_last: int = Field(default=4, ge=0, le=64)
    mask_char: str = Field(default="*", min_length=1, max_length=1)


class EmailRule(_Rule):
    """Replace the local part with `mask`; keep the domain if `keep_domain`."""

    strategy: Literal["email"]
    keep_domain: bool = True
    mask: str = Field(default="***", min_length=1, max_length=32, pattern=r"^[^@\s]+$")


class PassthroughRule(_Rule):
    """Leave the value as it is (it was encrypted at the source); classified for audit."""

    strategy: Literal["passthrough"]


class NestedRule(_Rule):
    """Rules for the parts of a collection, tuple or UDT value (no strategy of its own).

    Attributes:
        elements: each element of a list, set or vector.
        keys: each key of a map.
        values: each value of a map.
        fields: UDT fields by name, tuple items by position ("0", "1", ...).
    """

    elements: ValueRule | None = None
    keys: ValueRule | None = None
    values: ValueRule | None = None
    fields: dict[str, ValueRule] | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> NestedRule:
        if self.elements is None and self.keys is None and self.values is None and not self.fields:
            raise ValueError(
                "give a strategy (hash, tokenize, redact, partial, email, passthrough), "
                "or rules for elements, keys, values or fields"
            )
        return self


StrategyRule: TypeAlias = (
    HashRule | TokenizeRule | RedactRule | PartialRule | EmailRule | PassthroughRule
)


def _rule_kind(data: object) -> str:
    """The union member a rule is: its strategy, or `nested` when it has none."""
    if isinstance(data, dict):
        strategy = data.get("strategy")
        return "nested" if strategy is None else str(strategy)
    return str(getattr(data, "strategy", "nested"))


ValueRule: TypeAlias = Annotated[
    Annotated[HashRule, Tag("hash")]
    | Annotated[TokenizeRule, Tag("tokenize")]
    | Annotated[RedactRule, Tag("redact")]
    | Annotated[PartialRule, Tag("partial")]
    | Annotated[EmailRule, Tag("email")]
    | Annotated[PassthroughRule, Tag("passthrough")]
    | Annotated[NestedRule, Tag("nested")],
    Discriminator(
        _rule_kind,
        custom_error_type="unknown_strategy",
        custom_error_message=(
            "strategy must be one of hash, tokenize, redact, partial, email, passthrough"
        ),
    ),
]

NestedRule.model_rebuild()


def iter_rules(rule: ValueRule) -> list[ValueRule]:
    """The rule and every rule nested in it, depth first."""
    found: list[ValueRule] = [rule]
    if isinstance(rule, NestedRule):
        parts = [rule.elements, rule.keys, rule.values, *(rule.fields or {}).values()]
        for part in parts:
            if part is not None:
                found.extend(iter_rules(part))
    return found


class TableRules(BaseModel):
    """The classified columns of one table."""

    model_config = _MODEL

    columns: dict[str, ValueRule] = Field(min_length=1)

    @model_validator(mode="after")
    def _columns_are_classified(self) -> TableRules:
        missing = [name for name, rule in self.columns.items() if rule.data_class is None]
        if missing:
            raise ValueError(f"give each column a class (pii or phi): {', '.join(missing)}")
        return self

    def strategies(self) -> set[str]:
        """Every strategy used in these rules, nested ones included."""
        return {
            str(r.strategy)
            for rule in self.columns.values()
            for r in iter_rules(rule)
            if not isinstance(r, NestedRule)
        }


class KeySource(BaseModel):
    """A key, by id, whose base64 secret comes from an environment variable or a file."""

    model_config = _MODEL

    id: str = Field(pattern=_KEY_ID)
    secret_env: str | None = Field(default=None, min_length=1)
    secret_file: Path | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_literal_secret(cls, data: object) -> object:
        if isinstance(data, dict) and _SECRET_WORDS & set(data):
            raise ValueError("secrets do not go in the file: use secret_env or secret_file")
        return data

    @model_validator(mode="after")
    def _one_source(self) -> KeySource:
        if (self.secret_env is None) == (self.secret_file is None):
            raise ValueError("give exactly one of secret_env and secret_file")
        return self


class VaultSettings(BaseModel):
    """Where the token vault keeps tokens and the detokenize audit (PostgreSQL)."""

    model_config = _MODEL

    destination: str | None = Field(
        default=None,
        description="The postgres or timescaledb destination whose database holds the vault "
        "(required when a rule tokenizes).",
    )
    schema_name: str = Field(default="casscade_masking", alias="schema", pattern=_SQL_NAME)
    table: str = Field(default="token_vault", pattern=_SQL_NAME)
    audit_table: str = Field(default="detokenize_audit", pattern=_SQL_NAME)


class AuditSettings(BaseModel):
    """What `audit` looks for in destination rows besides the classified columns."""

    model_config = _MODEL

    detect: tuple[BuiltinDetector, ...] = ("email", "ssn", "phone", "card")
    patterns: dict[str, str] = Field(
        default_factory=dict, description="name -> regular expression of extra raw values"
    )

    @field_validator("patterns")
    @classmethod
    def _patterns_compile(cls, patterns: dict[str, str]) -> dict[str, str]:
        for name, pattern in patterns.items():
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"pattern {name} is not a regular expression: {exc.msg}") from None
        return patterns


class MaskingConfig(BaseModel):
    """The whole `masking:` section."""

    model_config = _MODEL

    keys: tuple[KeySource, ...] = ()
    active_key: str | None = Field(default=None, description="key id that hashes and tokenizes")
    vault_key: str | None = Field(default=None, description="key id that encrypts the vault")
    vault: VaultSettings = VaultSettings()
    audit: AuditSettings = AuditSettings()
    tables: dict[str, TableRules] = Field(default_factory=dict)

    @field_validator("tables")
    @classmethod
    def _table_names(cls, tables: dict[str, TableRules]) -> dict[str, TableRules]:
        bad = [name for name in tables if not _TABLE_NAME.match(name)]
        if bad:
            raise ValueError(f"expected keyspace.table, got {', '.join(bad)}")
        return tables

    @model_validator(mode="after")
    def _keys_fit_the_rules(self) -> MaskingConfig:
        ids = [k.id for k in self.keys]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"key ids must be unique: {', '.join(duplicates)}")
        used = set().union(*(t.strategies() for t in self.tables.values()))
        for role, key_id, needed_by in (
            ("active_key", self.active_key, {"hash", "tokenize"} & used),
            ("vault_key", self.vault_key, {"tokenize"} & used),
        ):
            if key_id is None and needed_by:
                raise ValueError(f"{role} is required by strategy {', '.join(sorted(needed_by))}")
            if key_id is not None and key_id not in ids:
                raise ValueError(f"{role} {key_id} is not one of keys")
        if self.active_key is not None and self.active_key == self.vault_key:
            raise ValueError("active_key and vault_key must be different keys")
        return self

    @property
    def tokenizes(self) -> bool:
        """Whether any rule tokenizes (the vault is needed)."""
        return any("tokenize" in t.strategies() for t in self.tables.values())

    def rules_for(self, keyspace: str, table: str) -> TableRules | None:
        """The rules of one table, or None when none of its columns is classified."""
        return self.tables.get(f"{keyspace}.{table}")


def rules_version(config: MaskingConfig) -> str:
    """A short, stable digest of what decides masked output: the rules and the active key id.

    Equal rules give equal versions whatever their order or spelling in the file (defaults
    are written out before digesting); key secrets, audit and vault settings do not count.
    The agent logs it per batch so any masked row can be traced to the rule set that made it.

    Returns:
        12 lowercase hex digits.
    """
    normalized = {
        "active_key": config.active_key,
        "tables": {
            name: rules.model_dump(mode="json", by_alias=True)
            for name, rules in config.tables.items()
        },
    }
    text = json.dumps(normalized, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]
