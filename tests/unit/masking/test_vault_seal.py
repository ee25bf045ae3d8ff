"""Tests of the vault's encryption of entries (pure: the nonce is given)."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from casscade.masking.entries import VaultEntries, VaultEntry
from casscade.masking.errors import TokenNotFoundError, VaultError
from casscade.masking.vault import Detokenized, open_sealed, seal
from tests.unit.masking.tables import OLD_KEY, VAULT_KEY

ENTRY = VaultEntry("tok:k2:" + "ab" * 16, "text", b"078-05-1120")
NONCE = bytes(range(12))


def test_seal_then_open_gives_the_plaintext_back() -> None:
    """An entry sealed with a vault key opens with the same key to its plaintext."""
    sealed = seal(ENTRY, "v1", VAULT_KEY, NONCE)
    assert (sealed.token, sealed.kind, sealed.vault_key_id) == (ENTRY.token, "text", "v1")
    assert b"078-05-1120" not in sealed.ciphertext
    assert len(sealed.ciphertext) == len(ENTRY.plaintext) + 16  # the GCM tag
    assert open_sealed(sealed, VAULT_KEY) == b"078-05-1120"


def test_open_sealed_with_another_key_fails_without_details() -> None:
    """The wrong key is a VaultError naming the token and key id, not the value or key."""
    sealed = seal(ENTRY, "v1", VAULT_KEY, NONCE)
    with pytest.raises(VaultError) as caught:
        open_sealed(sealed, OLD_KEY)
    assert "vault key v1" in str(caught.value)
    assert "078" not in str(caught.value)
    assert VAULT_KEY.hex() not in str(caught.value)


@pytest.mark.parametrize("field", ["token", "kind"])
def test_open_sealed_ciphertext_moved_to_another_row_fails(field: str) -> None:
    """Token and kind are authenticated: a ciphertext under another token does not open."""
    sealed = seal(ENTRY, "v1", VAULT_KEY, NONCE)
    if field == "token":
        moved = dataclasses.replace(sealed, token="tok:k2:" + "cd" * 16)
    else:
        moved = dataclasses.replace(sealed, kind="bytes")
    with pytest.raises(VaultError, match="altered row"):
        open_sealed(moved, VAULT_KEY)


def test_reprs_of_entries_and_results_hide_plaintext() -> None:
    """Entries, sealed entries and detokenized results never show the value in repr."""
    sealed = seal(ENTRY, "v1", VAULT_KEY, NONCE)
    entries = VaultEntries()
    entries.add(ENTRY)
    entries.add(VaultEntry(ENTRY.token, "text", b"ignored: same token"))
    for thing in (ENTRY, sealed, Detokenized(ENTRY.token, "078-05-1120"), entries):
        assert "078-05-1120" not in repr(thing)
    assert len(entries) == 1
    assert next(iter(entries)).plaintext == b"078-05-1120"


def test_token_not_found_error_names_the_token_and_pickles() -> None:
    """TokenNotFoundError keeps its token through pickling (errors cross processes)."""
    error = pickle.loads(pickle.dumps(TokenNotFoundError(ENTRY.token)))  # noqa: S301 - own bytes
    assert error.token == ENTRY.token
    assert ENTRY.token in str(error)
