"""Transport security settings of `casscade.yaml`: TLS for the source and the destinations.

Pure: the models name files, they never open them (the connecting code does, and reports a
file it cannot read with the setting's place). Secrets are not here: passwords are resolved by
config/load.py into the models' `password` fields.

Each kind keeps its driver's words, so its documentation applies as it is: libpq's `sslmode`,
`sslrootcert`, `sslcert`, `sslkey` for PostgreSQL and TimescaleDB; clickhouse-connect's
`ca_cert`, `client_cert`, `client_key` (its `client_cert_key`) and `verify` for ClickHouse;
`source.cassandra.tls` for the Cassandra node (an `ssl.SSLContext` for cassandra-driver).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from casscade.config.problems import FieldError

# libpq's sslmode values, weakest first. `prefer` is libpq's own default: TLS when the server
# offers it, without checking its certificate.
SslMode = Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]
# The modes in which libpq checks the server's certificate against sslrootcert (`require`
# does too when sslrootcert is given, as libpq documents for backward compatibility).
VERIFYING_SSLMODES = frozenset({"require", "verify-ca", "verify-full"})


class CassandraTls(BaseModel):
    """Client encryption to the Cassandra node (its `client_encryption_options`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ca_file: Path | None = Field(
        default=None,
        description="PEM file of the CA(s) that signed the node's certificate; the system's "
        "trusted CAs when unset.",
    )
    cert_file: Path | None = Field(
        default=None,
        description="PEM client certificate, for nodes with require_client_auth.",
    )
    key_file: Path | None = Field(
        default=None,
        description="PEM key of cert_file, unless cert_file holds it too (unencrypted).",
    )
    verify: bool = Field(
        default=True,
        description="Check the node's certificate and that it names the configured host. "
        "false encrypts without knowing who answers: for tests only.",
    )

    @model_validator(mode="after")
    def _key_needs_cert(self) -> Self:
        if self.key_file is not None and self.cert_file is None:
            raise FieldError(("cert_file",), "required with key_file")
        return self


def check_libpq_tls(
    sslmode: str, sslrootcert: Path | None, sslcert: Path | None, sslkey: Path | None
) -> None:
    """Refuse PostgreSQL TLS settings that do not do what they seem to.

    Raises:
        FieldError: a CA file with a mode that never reads it (the server would not be
            verified although a CA is configured), or a client key without its certificate.
    """
    if sslrootcert is not None and sslmode not in VERIFYING_SSLMODES:
        raise FieldError(
            ("sslmode",),
            f"sslmode {sslmode} does not verify the server, so sslrootcert would be ignored: "
            "use verify-full (or verify-ca)",
        )
    if sslkey is not None and sslcert is None:
        raise FieldError(("sslcert",), "required with sslkey")


def libpq_value(value: str) -> str:
    """`value` as a single-quoted libpq conninfo value (backslash and quote escaped)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def check_clickhouse_tls(dsn: str, settings: Mapping[str, object]) -> None:
    """Refuse server settings on an embedded chDB, and a password written into the DSN.

    Args:
        dsn: the destination's DSN.
        settings: the destination's credential and TLS settings by name, None when unset.

    Raises:
        FieldError: at the first setting at fault.
    """
    if dsn.startswith("chdb:"):
        given = [name for name, value in settings.items() if value not in (None, True)]
        if given:
            raise FieldError(
                (given[0],), "only for a ClickHouse server (an http(s):// dsn), not chDB"
            )
        return
    scheme, _, rest = dsn.partition("://")
    authority = rest.split("/", 1)[0]
    if "@" in authority and ":" in authority.rsplit("@", 1)[0]:
        raise FieldError(
            ("dsn",),
            "a password in the dsn is a secret in the file: use username and "
            "password_env or password_file",
        )
    tls_files = [n for n in ("ca_cert", "client_cert", "client_key") if settings.get(n)]
    if tls_files and scheme != "https":
        raise FieldError((tls_files[0],), "needs an https:// dsn (TLS)")
    if settings.get("client_key") is not None and settings.get("client_cert") is None:
        raise FieldError(("client_cert",), "required with client_key")
