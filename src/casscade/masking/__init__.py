"""PII/PHI masking of change events before they leave the agent (issue #5; docs/masking.md).

* `rules`: the `masking:` section of casscade.yaml (`MaskingConfig`) and `rules_version`.
* `keys`: `load_keys` reads the key secrets the rules name into a `KeyRing`.
* `binding`: rules checked against a table's schema; masked output types for the sinks.
* `masker`: `Masker.events_of`: a mutation's events built masked; `mask_event`: an event
  masked.
* `vault`: `TokenVault`, tokens and their encrypted values in PostgreSQL, and detokenize.
* `audit`: `AuditScanner`, raw-looking PII in destination rows.

Imports only `casscade.events` and `casscade.commitlog` of casscade (import-linter layer of
sinks and source). Nothing here logs, and no error, repr or finding ever holds a value that
is masked or any key material.
"""

from __future__ import annotations

from casscade.masking.audit import AuditReport, AuditScanner, Finding, FindingKind
from casscade.masking.binding import (
    BoundTable,
    bind_table,
    masked_column_type,
    masked_table_schema,
)
from casscade.masking.entries import VaultEntries, VaultEntry
from casscade.masking.errors import (
    MaskingError,
    TokenNotFoundError,
    VaultError,
    VaultUnavailableError,
)
from casscade.masking.keys import KeyRing, check_keys, load_keys
from casscade.masking.masker import CompiledMask, Masker
from casscade.masking.rules import MaskingConfig, rules_version
from casscade.masking.vault import Detokenized, TokenVault

__all__ = [
    "AuditReport",
    "AuditScanner",
    "BoundTable",
    "CompiledMask",
    "Detokenized",
    "Finding",
    "FindingKind",
    "KeyRing",
    "Masker",
    "MaskingConfig",
    "MaskingError",
    "TokenNotFoundError",
    "TokenVault",
    "VaultEntries",
    "VaultEntry",
    "VaultError",
    "VaultUnavailableError",
    "bind_table",
    "check_keys",
    "load_keys",
    "masked_column_type",
    "masked_table_schema",
    "rules_version",
]
