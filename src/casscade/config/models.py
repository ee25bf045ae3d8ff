"""The agent's configuration file (`casscade.yaml`), as pydantic models.

Pure models: no file or environment access here (config/load.py reads the file and the
environment). Secrets are never in the YAML: the file says `password_env: VAR` or
`password_file: /path`, the loader puts the value into `password`, a SecretStr that never
prints.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from casscade.config.problems import FieldError
from casscade.config.security import (
    CassandraTls,
    SslMode,
    check_clickhouse_tls,
    check_libpq_tls,
    libpq_value,
)
from casscade.masking.rules import MaskingConfig
from casscade.observability.config import HttpConfig, TracingConfig
from casscade.sinks.clickhouse.client import ClientOptions

_TABLE_NAME = r"^[A-Za-z0-9_]+\.[A-Za-z0-9_]+$"


class CassandraSource(BaseModel):
    """Where the node's schema is read (the same node whose cdc_raw is tailed)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=9042, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    tls: CassandraTls | None = Field(
        default=None, description="Client encryption (the node's client_encryption_options)."
    )


class SourceConfig(BaseModel):
    """The node this agent reads."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    node_id: str = Field(
        min_length=1, description="Names this node in every destination's positions."
    )
    cdc_raw_dir: Path
    cassandra: CassandraSource = CassandraSource()
    cleanup: Literal["delete", "archive", "keep"] = "delete"
    archive_dir: Path | None = None
    state_dir: Path = Field(
        default=Path("casscade-state"),
        description="Where agent processes that each run part of the destinations "
        "(`casscade run --destination`) share how far each destination has got, so that a "
        "segment is removed only when every destination is done with it.",
    )
    poll_interval_ms: int = Field(default=200, ge=10)
    cdc_total_space_mb: int = Field(
        default=4096,
        ge=1,
        description="The node's cdc_total_space (MiB): what cdc_raw usage is measured against.",
    )
    schema_refresh_s: float = Field(
        default=10.0,
        ge=0,
        description="Re-read system_schema this often (0: every poll) to see columns dropped "
        "and added again; new tables and columns are seen at once anyway.",
    )

    @model_validator(mode="after")
    def _archive_needs_dir(self) -> Self:
        # Without a directory the agent would have nowhere to move segments to.
        if self.cleanup == "archive" and self.archive_dir is None:
            raise FieldError(("archive_dir",), "required with cleanup: archive")
        return self


Mode = Literal["mirror", "changelog"]
_MODE_HELP = (
    "mirror: each table holds Cassandra's current rows; changelog: every change appended once."
)


class PostgresDestination(BaseModel):
    """A PostgreSQL destination (mirror mode)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["postgres"]
    name: str = Field(min_length=1)
    host: str = "127.0.0.1"
    port: int = Field(default=5432, ge=1, le=65535)
    database: str
    user: str
    password: SecretStr | None = None
    schema_prefix: str = ""
    prepared_statements: bool = Field(
        default=True,
        description="Server-side prepared statements; off for PGlite (the local TimescaleDB).",
    )
    tables: tuple[str, ...] | None = Field(
        default=None, description="Tables this destination gets; all configured ones if unset."
    )
    mode: Mode = Field(default="mirror", description=_MODE_HELP)
    sslmode: SslMode = Field(
        default="prefer", description="libpq's sslmode; verify-full checks the certificate."
    )
    sslrootcert: Path | None = Field(
        default=None, description="PEM file of the CA that signed the server's certificate."
    )
    sslcert: Path | None = Field(default=None, description="PEM client certificate.")
    sslkey: Path | None = Field(default=None, description="The client certificate's key.")

    @model_validator(mode="after")
    def _tls_settings(self) -> Self:
        check_libpq_tls(self.sslmode, self.sslrootcert, self.sslcert, self.sslkey)
        return self

    def conninfo(self) -> str:
        """A libpq connection string (the password stays out of logs: see __repr__)."""
        parts = {"host": self.host, "port": str(self.port), "dbname": self.database,
                 "user": self.user}  # fmt: skip
        if self.password is not None:
            parts["password"] = self.password.get_secret_value()
        parts["sslmode"] = self.sslmode
        files = {"sslrootcert": self.sslrootcert, "sslcert": self.sslcert, "sslkey": self.sslkey}
        parts.update({k: str(v) for k, v in files.items() if v is not None})
        return " ".join(f"{k}={libpq_value(v)}" for k, v in parts.items())


class TimescaleDestination(PostgresDestination):
    """A TimescaleDB destination: PostgreSQL mirror tables, some of them hypertables."""

    type: Literal["timescaledb"]  # type: ignore[assignment]
    hypertables: dict[str, str] = Field(
        default_factory=dict,
        description="keyspace.table -> time column (a primary key column) of its hypertable.",
    )
    compress_after: str | None = Field(
        default=None,
        description="Compress hypertable chunks older than this PostgreSQL interval, e.g. 7 days.",
    )
    drop_after: str | None = Field(
        default=None,
        description="changelog mode: drop changelog chunks older than this interval.",
    )

    @model_validator(mode="after")
    def _retention_only_for_changelog(self) -> Self:
        if self.drop_after is not None and self.mode != "changelog":
            raise ValueError(
                "drop_after needs mode: changelog (dropping chunks of a mirror would delete "
                "rows Cassandra still has)"
            )
        return self


class ClickHouseDestination(BaseModel):
    """A ClickHouse destination: `chdb:///path` (embedded) or a server URL."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["clickhouse"]
    name: str = Field(min_length=1)
    dsn: str = Field(description="chdb:///absolute/path, or http(s)://host:8123 for a server.")
    database_prefix: str = ""
    tables: tuple[str, ...] | None = None
    mode: Mode = Field(default="mirror", description=_MODE_HELP)
    username: str | None = Field(default=None, description="Server only: the ClickHouse user.")
    password: SecretStr | None = None
    ca_cert: Path | None = Field(
        default=None, description="https: PEM file of the CA that signed the server's certificate."
    )
    client_cert: Path | None = Field(default=None, description="https: PEM client certificate.")
    client_key: Path | None = Field(default=None, description="https: the client_cert's key.")
    verify: bool = Field(default=True, description="https: check the server's certificate.")

    @model_validator(mode="after")
    def _server_settings(self) -> Self:
        check_clickhouse_tls(self.dsn, {"username": self.username, "password": self.password,
                             "ca_cert": self.ca_cert, "client_cert": self.client_cert,
                             "client_key": self.client_key, "verify": self.verify})  # fmt: skip
        return self

    def client_options(self) -> ClientOptions:
        """Credentials and TLS for clickhouse-connect (casscade.sinks.clickhouse.client)."""
        password = None if self.password is None else self.password.get_secret_value()
        return ClientOptions(self.username, password, self.ca_cert, self.client_cert,
                             self.client_key, self.verify)  # fmt: skip

    @field_validator("dsn")
    @classmethod
    def _absolute_chdb_path(cls, dsn: str) -> str:
        # clickhouse-connect reads chdb://a/b as host "a" and database "b", not as a path.
        if dsn.startswith("chdb://") and not dsn.startswith("chdb:///"):
            raise ValueError("chDB needs an absolute path: chdb:///absolute/path")
        return dsn


Destination = Annotated[
    PostgresDestination | TimescaleDestination | ClickHouseDestination,
    Field(discriminator="type"),
]


class BatchConfig(BaseModel):
    """Micro-batching per destination."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_events: int = Field(
        default=5000,
        ge=1,
        description="Events per destination transaction at most. A batch also ends with each "
        "poll, so this matters when catching up: larger batches apply more changes a second.",
    )


class DeadLetterConfig(BaseModel):
    """What happens to an event a destination can never apply (a value it cannot hold...)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    directory: Path = Field(
        default=Path("casscade-dead-letters"),
        description="Where dead letters are kept, a JSON-lines file per destination.",
    )
    on_poison: Literal["dead_letter", "stop"] = Field(
        default="dead_letter",
        description="dead_letter: keep the event and go on; stop: stop that destination.",
    )


class AgentConfig(BaseModel):
    """The whole file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: SourceConfig
    tables: tuple[str, ...] = Field(min_length=1, description="Tables to replicate, ks.table.")
    destinations: tuple[Destination, ...] = Field(min_length=1)
    batch: BatchConfig = BatchConfig()
    dead_letters: DeadLetterConfig = DeadLetterConfig()
    http: HttpConfig = HttpConfig()
    tracing: TracingConfig = TracingConfig()
    masking: MaskingConfig = MaskingConfig()

    @model_validator(mode="after")
    def _vault_destination(self) -> Self:
        vault = self.masking.vault.destination
        if vault is None and self.masking.tokenizes:
            raise ValueError("masking.vault.destination is required when a rule tokenizes")
        if vault is not None:
            kinds = {d.name: d.type for d in self.destinations}
            if kinds.get(vault) not in ("postgres", "timescaledb"):
                raise ValueError(
                    f"masking.vault.destination {vault} must name a postgres or timescaledb "
                    "destination"
                )
        return self

    @field_validator("tables")
    @classmethod
    def _table_names(cls, tables: tuple[str, ...]) -> tuple[str, ...]:
        bad = [t for t in tables if not re.match(_TABLE_NAME, t)]
        if bad:
            raise ValueError(f"expected keyspace.table, got {', '.join(bad)}")
        return tables

    @model_validator(mode="after")
    def _destination_names_unique(self) -> Self:
        # Positions are kept per destination name: two destinations sharing a name would
        # overwrite each other's position.
        seen: dict[str, int] = {}
        for i, destination in enumerate(self.destinations):
            if destination.name in seen:
                raise FieldError(
                    ("destinations", i, "name"),
                    f"{destination.name} is already the name of "
                    f"destinations.{seen[destination.name]} (names must be unique)",
                )
            seen[destination.name] = i
        return self

    @model_validator(mode="after")
    def _destination_tables_configured(self) -> Self:
        # The agent only reads the top-level tables; a destination's subset must come from them.
        for i, destination in enumerate(self.destinations):
            unknown = [t for t in destination.tables or () if t not in self.tables]
            if unknown:
                raise FieldError(
                    ("destinations", i, "tables"),
                    f"not in the top-level tables: {', '.join(unknown)}",
                )
        return self

    def tables_for(self, destination: Destination) -> tuple[str, ...]:
        """The tables a destination receives."""
        return destination.tables if destination.tables is not None else self.tables
