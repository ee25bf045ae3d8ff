"""Settings of the local development stack (Cassandra, PostgreSQL, TimescaleDB, chDB).

Pure models: no I/O, no environment access. The CLI builds them from its options and passes
them down; tests build them directly. Every field documents its unit in its name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Newest Cassandra 5.0 release Maven Central served on 2026-11-25.
CASSANDRA_VERSION = "5.0.9"

CommitlogSync = Literal["batch", "periodic", "group"]
CompatibilityMode = Literal["CASSANDRA_4", "NONE"]
CassandraAuth = Literal["none", "password"]
# Compressors Cassandra offers for the commit log (commitlog_compression.class_name).
CommitlogCompression = Literal[
    "none", "LZ4Compressor", "SnappyCompressor", "DeflateCompressor", "ZstdCompressor"
]


class CassandraClientTls(BaseModel):
    """Client encryption of a node (its client_encryption_options), for the TLS tests."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # PKCS12 keystore with the node's key, its certificate and the certificate's chain.
    keystore: Path
    # A development stack on loopback, like PostgresSettings.password: not a secret. It is
    # written into cassandra.yaml, so it is restricted to safe text.
    keystore_password: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    # True: plain connections are accepted too, on the same port (Cassandra tells them apart).
    optional: bool = False


class CassandraSettings(BaseModel):
    """One Cassandra 5.0 node with CDC on, started from Maven jars."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = CASSANDRA_VERSION
    host: str = "127.0.0.1"
    native_port: int = Field(default=9042, ge=1, le=65535)
    storage_port: int = Field(default=7000, ge=1, le=65535)
    jmx_port: int = Field(default=7199, ge=1, le=65535)
    heap_mib: int = Field(default=1024, ge=256)
    # batch: every write is fsynced (so covered by _cdc.idx) before it is acknowledged, which
    # makes tests deterministic. periodic: realistic, the idx advances every period.
    commitlog_sync: CommitlogSync = "batch"
    commitlog_sync_period_ms: int = Field(default=250, ge=1)
    commitlog_sync_group_window_ms: int = Field(default=10, ge=1)
    # Small segments reach COMPLETED quickly; max_mutation_size is half of this.
    commitlog_segment_size_mib: int = Field(default=1, ge=1, le=256)
    cdc_total_space_mib: int = Field(default=1024, ge=1)
    # CASSANDRA_4 writes commit-log version 7, NONE writes version 8.
    storage_compatibility_mode: CompatibilityMode = "CASSANDRA_4"
    auth: CassandraAuth = "none"
    client_tls: CassandraClientTls | None = None
    commitlog_compression: CommitlogCompression = "none"
    startup_timeout_s: float = Field(default=180.0, gt=0)
    stop_timeout_s: float = Field(default=90.0, gt=0)

    @property
    def commitlog_version(self) -> int:
        """The commit-log descriptor version this node writes."""
        return 7 if self.storage_compatibility_mode == "CASSANDRA_4" else 8


class PostgresSettings(BaseModel):
    """The project's own PostgreSQL cluster (Debian's server binaries, its own data dir)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=55432, ge=1, le=65535)
    # Names and password are spliced into the setup SQL, so they are restricted to safe text.
    database: str = Field(default="casscade", pattern=r"^[a-z_][a-z0-9_]*$")
    user: str = Field(default="casscade", pattern=r"^[a-z_][a-z0-9_]*$")
    # A development stack on loopback: the password is not a secret and is documented.
    password: str = Field(default="casscade", pattern=r"^[A-Za-z0-9_.-]+$")
    startup_timeout_s: float = Field(default=60.0, gt=0)
    # TLS: the server's certificate (PEM, with any intermediates) and its key. The cluster
    # copies both into its data folder and starts with ssl=on; None: no TLS (the default).
    ssl_cert_file: Path | None = None
    ssl_key_file: Path | None = None

    @model_validator(mode="after")
    def _ssl_pair(self) -> PostgresSettings:
        if (self.ssl_cert_file is None) != (self.ssl_key_file is None):
            raise ValueError("ssl_cert_file and ssl_key_file go together")
        return self

    def dsn(self) -> str:
        """A libpq connection string for the pipeline's role."""
        return (
            f"host={self.host} port={self.port} dbname={self.database} "
            f"user={self.user} password={self.password}"
        )


class TimescaleSettings(BaseModel):
    """TimescaleDB served by PGlite behind the project's wire-protocol front end."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=55433, ge=1, le=65535)
    database: str = "postgres"
    user: str = "postgres"
    startup_timeout_s: float = Field(default=120.0, gt=0)

    def dsn(self) -> str:
        """A libpq connection string; the front end accepts any user (trust, loopback)."""
        return f"host={self.host} port={self.port} dbname={self.database} user={self.user}"


class StackSettings(BaseModel):
    """The whole stack and where it lives.

    Attributes:
        root: folder holding every service's configuration, data, logs and pid files.
        cache_dir: folder shared between checkouts for downloads (Cassandra's jars).
        services: which services `up` starts.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    root: Path
    cache_dir: Path
    services: tuple[Literal["cassandra", "postgres", "timescaledb", "clickhouse"], ...] = (
        "cassandra",
        "postgres",
        "timescaledb",
        "clickhouse",
    )
    cassandra: CassandraSettings = CassandraSettings()
    postgres: PostgresSettings = PostgresSettings()
    timescaledb: TimescaleSettings = TimescaleSettings()

    @model_validator(mode="after")
    def _ports_distinct(self) -> StackSettings:
        ports = [
            self.cassandra.native_port,
            self.cassandra.storage_port,
            self.cassandra.jmx_port,
            self.postgres.port,
            self.timescaledb.port,
        ]
        if len(set(ports)) != len(ports):
            raise ValueError(f"the stack's ports must all differ, got {sorted(ports)}")
        return self

    @property
    def clickhouse_dir(self) -> Path:
        """The chDB data directory (embedded ClickHouse)."""
        return self.root / "clickhouse"

    def clickhouse_dsn(self) -> str:
        """The clickhouse-connect DSN of the embedded ClickHouse."""
        return f"chdb://{self.clickhouse_dir}"
