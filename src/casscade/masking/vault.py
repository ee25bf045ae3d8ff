"""The token vault: tokens and their AES-256-GCM-encrypted values in PostgreSQL.

Tables (in `vault.schema`, created if missing):

* `token_vault`: token (primary key), value kind (`text`/`bytes`), the id of the vault key
  that encrypted it, a 96-bit random nonce, and the ciphertext with its 128-bit tag. The
  token, kind and a format tag are the AEAD's associated data, so a ciphertext moved to
  another token's row no longer decrypts.
* `detokenize_audit`: one row per detokenize request: when, the actor the caller names,
  the database user, the token, the reason, and whether the token was found. It is written
  in the same statement that reads the ciphertext, so no value is ever read unaudited.

`store` writes a batch in one statement (one round trip) and only rewrites an existing row
when it was encrypted with another vault key (rotation re-encrypts values as they recur).
Tokens are deterministic, so concurrent agents storing the same token write equal rows.

I/O at the edge: psycopg errors become `VaultError`s without the driver's message (it can
quote data); `VaultUnavailableError` is the retryable kind.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal

import psycopg
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from psycopg import sql

from casscade.masking.entries import VaultEntry
from casscade.masking.errors import TokenNotFoundError, VaultError, VaultUnavailableError
from casscade.masking.keys import KeyRing
from casscade.masking.rules import VaultSettings
from casscade.masking.strategies import TOKEN_FORM, derive_key

__all__ = ["Detokenized", "SealedEntry", "TokenVault", "open_sealed", "seal"]

NONCE_BYTES = 12  # the 96-bit nonce GCM is specified for (NIST SP 800-38D, 8.2)
# Tokens known to be stored with the current vault key; bounded so a long run with many
# distinct values does not grow without limit (clearing only costs idempotent rewrites).
_STORED_CACHE_MAX = 200_000
# SQLSTATE classes worth retrying: connection exceptions, transaction rollbacks
# (serialization failures, deadlocks), insufficient resources, operator intervention.
_RETRYABLE_CLASSES = ("08", "40", "53", "57")


@dataclass(frozen=True, slots=True)
class SealedEntry:
    """A vault entry encrypted for storage."""

    token: str
    kind: Literal["text", "bytes"]
    vault_key_id: str
    nonce: bytes = field(repr=False)
    ciphertext: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class Detokenized:
    """The value a token stands for (repr hides it; print it on purpose only).

    Attributes:
        token: the token.
        value: the original value: text, or bytes for a blob.
    """

    token: str
    value: str | bytes = field(repr=False)


def _associated_data(token: str, kind: str) -> bytes:
    return f"casscade-vault-v1|{token}|{kind}".encode()


def seal(entry: VaultEntry, vault_key_id: str, key: bytes, nonce: bytes) -> SealedEntry:
    """Encrypt one entry with a vault key (pure: the nonce is given).

    Args:
        entry: the token, kind and plaintext.
        vault_key_id: the id of `key`, stored beside the ciphertext.
        key: the vault key's material (the AES key is derived from it).
        nonce: 12 random bytes, never reused with the same key.
    """
    aead = AESGCM(derive_key(key, "vault-aes-256-gcm"))
    ciphertext = aead.encrypt(nonce, entry.plaintext, _associated_data(entry.token, entry.kind))
    return SealedEntry(entry.token, entry.kind, vault_key_id, nonce, ciphertext)


def open_sealed(sealed: SealedEntry, key: bytes) -> bytes:
    """Decrypt one stored entry.

    Raises:
        VaultError: the key is wrong, or the row was altered (the tag does not verify).
    """
    aead = AESGCM(derive_key(key, "vault-aes-256-gcm"))
    try:
        return aead.decrypt(
            sealed.nonce, sealed.ciphertext, _associated_data(sealed.token, sealed.kind)
        )
    except InvalidTag:
        raise VaultError(
            f"the value of {sealed.token} does not decrypt with vault key {sealed.vault_key_id} "
            "(a different key with that id, or an altered row)"
        ) from None


class TokenVault:
    """Stores vault entries and detokenizes, over one autocommit connection."""

    def __init__(self, conninfo: str, keys: KeyRing, settings: VaultSettings | None = None) -> None:
        """Prepare a vault (connecting happens on first use).

        Args:
            conninfo: a libpq connection string of the vault's database.
            keys: the key ring; storing needs its vault key, detokenizing the key each row
                names.
            settings: schema and table names.
        """
        self._conninfo = conninfo
        self._keys = keys
        self._settings = settings or VaultSettings()
        self._conn: psycopg.Connection[tuple[Any, ...]] | None = None
        self._stored: set[str] = set()
        self.statements = 0  # statements sent, for metrics and tests

    def __repr__(self) -> str:
        s = self._settings
        return f"TokenVault({s.schema_name}.{s.table}, vault_key={self._keys.vault_key})"

    def __enter__(self) -> TokenVault:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (a later call reconnects)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def ensure_tables(self) -> None:
        """Create the schema, the vault table and the audit table if missing.

        Raises:
            VaultError: the database refused (VaultUnavailableError: retry).
        """
        s = self._settings
        names = {
            "schema": sql.Identifier(s.schema_name),
            "schema_name": sql.Literal(s.schema_name),
            "vault": sql.Identifier(s.schema_name, s.table),
            "audit": sql.Identifier(s.schema_name, s.audit_table),
        }
        statements = [sql.SQL(text).format(**names) for text in _DDL]
        with self._translated():
            conn = self._connection()
            with conn.transaction():
                # Agents start together; CREATE ... IF NOT EXISTS races on the catalog.
                conn.execute("SELECT pg_advisory_xact_lock(hashtext('casscade masking vault'))")
                for statement in statements:
                    conn.execute(statement)
            self.statements += 1 + len(statements)

    def store(self, entries: Iterable[VaultEntry]) -> int:
        """Encrypt and upsert a batch's entries in one statement.

        Returns:
            How many entries were sent (those stored earlier by this vault are skipped).

        Raises:
            VaultError: no vault key is configured, or the database refused
                (VaultUnavailableError: retry the batch).
        """
        vault_key_id = self._keys.vault_key
        if vault_key_id is None:
            raise VaultError("no vault_key is configured, so tokens cannot be stored")
        fresh = {e.token: e for e in entries if e.token not in self._stored}
        if not fresh:
            return 0
        key = self._keys.material(vault_key_id)
        # Sorted: concurrent agents then lock rows in one order and cannot deadlock.
        sealed = [seal(fresh[t], vault_key_id, key, os.urandom(NONCE_BYTES)) for t in sorted(fresh)]
        columns = (
            [e.token for e in sealed],
            [e.kind for e in sealed],
            [e.vault_key_id for e in sealed],
            [e.nonce for e in sealed],
            [e.ciphertext for e in sealed],
        )
        with self._translated():
            self._connection().execute(self._sql(_UPSERT), columns)
            self.statements += 1
        if len(self._stored) + len(fresh) > _STORED_CACHE_MAX:
            self._stored.clear()
        self._stored.update(fresh)
        return len(sealed)

    def detokenize(self, token: str, *, actor: str, reason: str = "") -> Detokenized:
        """The value behind a token; the request is audited first, found or not.

        Args:
            token: `tok:<key id>:<32 hex digits>`.
            actor: who asks (the CLI passes the operator's name); stored in the audit row.
            reason: why (a ticket, a request id); stored in the audit row.

        Raises:
            ValueError: `token` is not a token, or `actor` is empty (nothing is audited or
                read: the input could be a raw value typed by mistake).
            TokenNotFoundError: no row holds the token.
            VaultError: the row's vault key is not loaded, or decryption fails.
        """
        if not TOKEN_FORM.match(token):
            raise ValueError("not a token: expected tok:<key id>:<32 hex digits>")
        if not actor.strip():
            raise ValueError("detokenize needs an actor for the audit row")
        params = {"token": token, "actor": actor, "reason": reason}
        with self._translated():
            row = self._connection().execute(self._sql(_DETOKENIZE), params).fetchone()
            self.statements += 1
        if row is None:
            raise TokenNotFoundError(token)
        kind, vault_key_id, nonce, ciphertext = row
        if vault_key_id not in self._keys.secrets:
            problem = f"the value of {token} is encrypted with vault key {vault_key_id}"
            raise VaultError(f"{problem}, which is not loaded")
        sealed = SealedEntry(token, kind, vault_key_id, bytes(nonce), bytes(ciphertext))
        plaintext = open_sealed(sealed, self._keys.material(vault_key_id))
        if kind == "text":
            return Detokenized(token, plaintext.decode("utf-8", "surrogatepass"))
        return Detokenized(token, plaintext)

    def _sql(self, template: str) -> sql.Composed:
        s = self._settings
        return sql.SQL(template).format(
            vault=sql.Identifier(s.schema_name, s.table),
            audit=sql.Identifier(s.schema_name, s.audit_table),
        )

    def _connection(self) -> psycopg.Connection[tuple[Any, ...]]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self._conninfo, autocommit=True)
        return self._conn

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """Turn psycopg errors into VaultErrors without their messages (they can quote
        data), and drop a connection that broke."""
        try:
            yield
        except psycopg.Error as exc:
            state = exc.sqlstate or ""
            problem = type(exc).__name__ + (f" (SQLSTATE {state})" if state else "")
            if isinstance(exc, psycopg.OperationalError) or state.startswith(_RETRYABLE_CLASSES):
                self.close()
                raise VaultUnavailableError(problem) from None
            raise VaultError(problem) from None


_DDL = (
    # Only when missing: CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even then.
    "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_namespace WHERE nspname = {schema_name}) "
    "THEN CREATE SCHEMA {schema}; END IF; END $$",
    """CREATE TABLE IF NOT EXISTS {vault} (
        token text PRIMARY KEY,
        value_kind text NOT NULL CHECK (value_kind IN ('text', 'bytes')),
        vault_key_id text NOT NULL,
        nonce bytea NOT NULL,
        ciphertext bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
    )""",
    """CREATE TABLE IF NOT EXISTS {audit} (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        requested_at timestamptz NOT NULL DEFAULT now(),
        actor text NOT NULL,
        database_user text NOT NULL DEFAULT session_user,
        token text NOT NULL,
        reason text NOT NULL DEFAULT '',
        found boolean NOT NULL
    )""",
)

# Rewrites a row only when another vault key encrypted it (key rotation).
_UPSERT = """
INSERT INTO {vault} AS v (token, value_kind, vault_key_id, nonce, ciphertext)
SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::bytea[], %s::bytea[])
ON CONFLICT (token) DO UPDATE SET
    value_kind = EXCLUDED.value_kind, vault_key_id = EXCLUDED.vault_key_id,
    nonce = EXCLUDED.nonce, ciphertext = EXCLUDED.ciphertext, updated_at = now()
WHERE v.vault_key_id <> EXCLUDED.vault_key_id
"""

# The audit row and the read are one statement: the read never happens unaudited.
_DETOKENIZE = """
WITH audit AS (
    INSERT INTO {audit} (actor, token, reason, found)
    SELECT %(actor)s, %(token)s, %(reason)s,
           EXISTS (SELECT 1 FROM {vault} WHERE token = %(token)s)
)
SELECT value_kind, vault_key_id, nonce, ciphertext FROM {vault} WHERE token = %(token)s
"""
