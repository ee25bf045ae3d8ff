"""The token vault on the stack's real PostgreSQL: store, detokenize, audit, rotation.

Each test works in its own schema (dropped afterwards). Entries come from the Masker, as
the agent will produce them, so tokens and plaintexts are the real thing.
"""

from __future__ import annotations

import base64
import threading
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from casscade.events.model import CellChange, ChangeEvent, Op
from casscade.masking.entries import VaultEntries, VaultEntry
from casscade.masking.errors import TokenNotFoundError, VaultError, VaultUnavailableError
from casscade.masking.keys import KeyRing
from casscade.masking.masker import Masker
from casscade.masking.rules import MaskingConfig, VaultSettings
from casscade.masking.strategies import KeyedHasher
from casscade.masking.vault import TokenVault
from casscade.stack.manager import Stack
from tests.unit.masking.tables import HASH_KEY, OLD_KEY, VAULT_KEY, table

KEYS = KeyRing.from_material({"k2": HASH_KEY, "v1": VAULT_KEY}, active_key="k2", vault_key="v1")
RULES = MaskingConfig.model_validate(
    {
        "keys": [{"id": "k2", "secret_env": "K2"}, {"id": "v1", "secret_env": "V1"}],
        "active_key": "k2",
        "vault_key": "v1",
        "tables": {
            "ks.t": {
                "columns": {
                    "id": {"class": "pii", "strategy": "tokenize"},
                    "ssn": {"class": "pii", "strategy": "tokenize"},
                    "photo": {"class": "phi", "strategy": "tokenize"},
                }
            }
        },
    }
)
SCHEMA = table(
    {
        "id": ("partition_key", 0, "text"),
        "ssn": ("regular", -1, "text"),
        "photo": ("regular", -1, "blob"),
    }
)


def _entries(count: int) -> tuple[VaultEntry, ...]:
    """The vault entries of `count` masked rows (id, SSN-like text and a small blob each)."""
    events = [
        ChangeEvent(
            "ks",
            "t",
            Op.UPSERT,
            (f"customer-{i} ✓",),
            cells=(
                CellChange("ssn", f"{i:03d}-45-6789", 1),
                CellChange("photo", i.to_bytes(4, "big") + b"\xff\x00", 1),
            ),
        )
        for i in range(count)
    ]
    masker, entries = Masker(RULES, KEYS), VaultEntries()
    for event in events:
        masker.mask_event(event, SCHEMA, vault_entries=entries)
    return tuple(entries)


@pytest.fixture
def settings(stack: Stack) -> Iterator[VaultSettings]:
    """Vault settings in a fresh schema, dropped after the test."""
    schema = f"vault_{uuid.uuid4().hex[:10]}"
    yield VaultSettings.model_validate({"schema": schema})
    with psycopg.connect(stack.settings.postgres.dsn(), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _rows(dsn: str, settings: VaultSettings, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql.format(schema=settings.schema_name)).fetchall()


def test_vault_stores_encrypted_and_detokenizes_with_an_audit_row(
    stack: Stack, settings: VaultSettings
) -> None:
    """Stored values are ciphertext only; detokenize gives text and blobs back and audits
    every request with actor, reason, database user and whether the token was found."""
    dsn = stack.settings.postgres.dsn()
    entries = _entries(3)
    with TokenVault(dsn, KEYS, settings) as vault:
        vault.ensure_tables()
        vault.ensure_tables()  # idempotent
        assert vault.store(entries) == 9
        stored = _rows(
            dsn,
            settings,
            "SELECT token, value_kind, vault_key_id, ciphertext FROM {schema}.token_vault",
        )
        assert {row[0] for row in stored} == {e.token for e in entries}
        assert {row[2] for row in stored} == {"v1"}
        for _token, _kind, _key_id, ciphertext in stored:
            assert b"45-6789" not in bytes(ciphertext)  # type: ignore[call-overload]
            assert b"customer" not in bytes(ciphertext)  # type: ignore[call-overload]
        for entry in entries:
            result = vault.detokenize(entry.token, actor="alice", reason="TICKET-1")
            expected = entry.plaintext.decode() if entry.kind == "text" else entry.plaintext
            assert result.value == expected
            assert isinstance(result.value, str if entry.kind == "text" else bytes)
    audit = _rows(
        dsn,
        settings,
        "SELECT actor, reason, token, found, database_user, "
        "requested_at FROM {schema}.detokenize_audit ORDER BY id",
    )
    assert [(a, r, t, f) for a, r, t, f, _, _ in audit] == [
        ("alice", "TICKET-1", e.token, True) for e in entries
    ]
    assert all(user and when for _, _, _, _, user, when in audit)


def test_vault_detokenize_unknown_token_is_audited_and_malformed_input_is_not(
    stack: Stack, settings: VaultSettings
) -> None:
    """An unknown token raises after its audit row (found false); a non-token is refused
    before anything is read or written (it could be a raw value typed by mistake)."""
    dsn = stack.settings.postgres.dsn()
    unknown = "tok:k2:" + "0" * 32
    with TokenVault(dsn, KEYS, settings) as vault:
        vault.ensure_tables()
        with pytest.raises(TokenNotFoundError) as caught:
            vault.detokenize(unknown, actor="bob")
        assert caught.value.token == unknown
        with pytest.raises(ValueError, match="not a token"):
            vault.detokenize("078-05-1120", actor="bob")
        with pytest.raises(ValueError, match="needs an actor"):
            vault.detokenize(unknown, actor="  ")
    audit = _rows(dsn, settings, "SELECT actor, token, found FROM {schema}.detokenize_audit")
    assert audit == [("bob", unknown, False)]


def test_vault_store_is_one_statement_per_batch_and_idempotent(
    stack: Stack, settings: VaultSettings
) -> None:
    """A batch of 600 entries is one statement; storing it again (new vault, no cache)
    rewrites nothing, so repeated batches and replays are harmless."""
    dsn = stack.settings.postgres.dsn()
    entries = _entries(200)
    with TokenVault(dsn, KEYS, settings) as vault:
        vault.ensure_tables()
        before = vault.statements
        assert vault.store(entries) == 600
        assert vault.statements == before + 1
        assert vault.store(entries) == 0  # known to this vault: not even sent
        assert vault.statements == before + 1
    first = _rows(dsn, settings, "SELECT token, nonce, updated_at FROM {schema}.token_vault")
    with TokenVault(dsn, KEYS, settings) as fresh:
        assert fresh.store(entries) == 600
    second = _rows(dsn, settings, "SELECT token, nonce, updated_at FROM {schema}.token_vault")
    assert sorted(first) == sorted(second)  # same nonces: no row was rewritten


def test_vault_key_rotation_reencrypts_rows_as_they_are_stored_again(
    stack: Stack, settings: VaultSettings
) -> None:
    """With a new vault key, storing re-encrypts existing rows under it; detokenize then
    needs the new key, and says which key is missing rather than failing obscurely."""
    dsn = stack.settings.postgres.dsn()
    entries = _entries(2)
    with TokenVault(dsn, KEYS, settings) as vault:
        vault.ensure_tables()
        vault.store(entries)
    rotated = KeyRing.from_material(
        {"k2": HASH_KEY, "v1": VAULT_KEY, "v2": OLD_KEY}, active_key="k2", vault_key="v2"
    )
    with TokenVault(dsn, rotated, settings) as vault:
        assert vault.store(entries) == len(entries)
    key_ids = _rows(dsn, settings, "SELECT DISTINCT vault_key_id FROM {schema}.token_vault")
    assert key_ids == [("v2",)]
    only_new = KeyRing.from_material({"v2": OLD_KEY}, vault_key="v2")
    only_old = KeyRing.from_material({"v1": VAULT_KEY}, vault_key="v1")
    with TokenVault(dsn, only_new, settings) as vault:
        assert (
            vault.detokenize(entries[0].token, actor="ops").value == entries[0].plaintext.decode()
        )
    with TokenVault(dsn, only_old, settings) as vault, pytest.raises(VaultError) as caught:
        vault.detokenize(entries[0].token, actor="ops")
    assert "vault key v2, which is not loaded" in str(caught.value)


def test_vault_wrong_key_under_a_known_id_fails_without_leaking(
    stack: Stack, settings: VaultSettings
) -> None:
    """A different secret under the same key id fails authentication; nothing leaks."""
    dsn = stack.settings.postgres.dsn()
    entries = _entries(1)
    with TokenVault(dsn, KEYS, settings) as vault:
        vault.ensure_tables()
        vault.store(entries)
    impostor = KeyRing.from_material({"v1": OLD_KEY}, vault_key="v1")
    with TokenVault(dsn, impostor, settings) as vault, pytest.raises(VaultError) as caught:
        vault.detokenize(entries[0].token, actor="mallory")
    message = str(caught.value)
    assert "does not decrypt with vault key v1" in message
    assert "customer" not in message
    assert OLD_KEY.hex() not in message


def test_vault_concurrent_agents_store_the_same_tokens(
    stack: Stack, settings: VaultSettings
) -> None:
    """Agents on several nodes store the same tokens at once without errors or duplicates."""
    dsn = stack.settings.postgres.dsn()
    entries = _entries(150)
    with TokenVault(dsn, KEYS, settings) as vault:
        vault.ensure_tables()
    errors: list[BaseException] = []

    def store() -> None:
        try:
            with TokenVault(dsn, KEYS, settings) as agent:
                agent.store(entries)
        except VaultError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=store) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    count = _rows(dsn, settings, "SELECT count(*) FROM {schema}.token_vault")
    assert count == [(len(entries),)]


def test_vault_unreachable_database_is_retryable(settings: VaultSettings) -> None:
    """A database that cannot be reached is a VaultUnavailableError (retry), not a crash."""
    vault = TokenVault("host=127.0.0.1 port=1 dbname=x user=x connect_timeout=2", KEYS, settings)
    with pytest.raises(VaultUnavailableError) as caught:
        vault.store(_entries(1))
    assert "OperationalError" in str(caught.value)
    assert "127.0.0.1" not in str(caught.value)  # the driver's message stays out


def test_hash_equals_pgcrypto_hmac_as_docs_masking_md_shows(stack: Stack) -> None:
    """The documented SQL (pgcrypto) computes the same hash as the agent, so a masked
    column can be searched by value. The extension lives only in a rolled-back transaction."""
    text_key = base64.b64encode(HASH_KEY).decode()
    with psycopg.connect(stack.settings.postgres.dsn()) as conn:
        conn.execute("CREATE SCHEMA masking_pgcrypto_check")
        conn.execute("CREATE EXTENSION pgcrypto SCHEMA masking_pgcrypto_check")
        conn.execute("SET LOCAL search_path = masking_pgcrypto_check")
        row = conn.execute(
            "SELECT 'k2:' || encode(hmac(convert_to(%s, 'UTF8'), decode(%s, 'base64'), "
            "'sha256'), 'hex')",
            ("alice@example.com", text_key),
        ).fetchone()
        conn.rollback()
    assert row is not None
    assert row[0] == KeyedHasher("k2", HASH_KEY).hash("alice@example.com")
