"""Vault entries: what tokenizing a value leaves to be stored in the token vault.

The masker is pure, so it cannot write to the vault itself: each tokenized value becomes a
`VaultEntry` (token, kind, plaintext) collected per batch in `VaultEntries`, and the agent
stores them (`TokenVault.store`, one round trip) before the masked batch reaches any
destination, so no destination ever holds a token the vault cannot resolve.

Entries hold plaintext: their reprs never show it. They live as long as their batch, and
those of a mutation's shared events as long as the agent keeps them for other destinations
(`casscade.source.shared`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["VaultEntries", "VaultEntry"]


@dataclass(frozen=True, slots=True)
class VaultEntry:
    """One token and the value it stands for.

    Attributes:
        token: `tok:<key id>:<32 hex digits>`.
        kind: `text` (plaintext is UTF-8 text) or `bytes` (a blob's bytes).
        plaintext: the value's canonical form (never shown by repr).
    """

    token: str
    kind: Literal["text", "bytes"]
    plaintext: bytes = field(repr=False)


class VaultEntries:
    """The vault entries of one batch, one per token (a repeated value is kept once)."""

    __slots__ = ("_entries",)

    def __init__(self) -> None:
        self._entries: dict[str, VaultEntry] = {}

    def __repr__(self) -> str:
        return f"VaultEntries({len(self._entries)} tokens)"

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[VaultEntry]:
        return iter(self._entries.values())

    def add(self, entry: VaultEntry) -> None:
        """Keep an entry (the first one of a token: equal tokens stand for equal values)."""
        self._entries.setdefault(entry.token, entry)
