"""PostgreSQL over TLS: verify-full with the right CA works; a wrong CA or password is refused
in one line that names the destination, never shows a secret, and never a traceback.

The tests start their own throwaway cluster with ssl=on (the stack's code, Debian's binaries,
a free port, a certificate for 127.0.0.1 and localhost from tests/tlsfiles.py) and stop it by
pid at the end. The CLI tests also use the stack's Cassandra (`run` and `check-config
--connect` connect to it first).
"""

from __future__ import annotations

import functools
import os
import secrets
import shutil
import signal
import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from pydantic import SecretStr

from casscade.commitlog.position import Position
from casscade.commitlog.schema import SchemaRows, TableSchema, build_snapshot
from casscade.config.models import PostgresDestination
from casscade.errors import PermanentSinkError
from casscade.events.model import CellChange, ChangeEvent, Op
from casscade.masking import TokenVault
from casscade.masking.keys import KeyRing
from casscade.sinks.postgres.sink import PostgresSink
from casscade.stack import process
from casscade.stack.config import PostgresSettings
from casscade.stack.manager import Stack
from casscade.stack.postgres import PostgresCluster
from tests.integration.workloads import create_keyspace, run_casscade
from tests.tlsfiles import TlsFiles, make_tls_files

PASSWORD = f"pw-{secrets.token_hex(8)}"
WRONG_PASSWORD = f"wrong-{secrets.token_hex(8)}"
KEYSPACE = "it_security"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("pg-tls-files"))


@pytest.fixture(scope="module")
def tls_postgres(
    tls: TlsFiles, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PostgresCluster]:
    """A throwaway cluster with ssl=on, stopped by pid (fast shutdown) and removed after."""
    settings = PostgresSettings(
        port=_free_port(),
        password=PASSWORD,
        ssl_cert_file=tls.server_cert,
        ssl_key_file=tls.server_key,
    )
    home = tmp_path_factory.mktemp("pg-tls")
    cluster = PostgresCluster(settings, home)
    try:
        cluster.up()
        yield cluster
    finally:
        pid = cluster.pid()
        if pid is not None:
            os.kill(pid, signal.SIGINT)  # the postmaster's fast shutdown
            if not process.wait_until(lambda: not process.is_alive(pid), timeout_s=60):
                process.stop_daemon(pid, timeout_s=10)
        if not cluster.data_dir.is_relative_to(home):  # as root: under /var/lib/casscade
            shutil.rmtree(cluster.data_dir.parent, ignore_errors=True)


def _destination(
    cluster: PostgresCluster, ca: Path, password: str = PASSWORD
) -> PostgresDestination:
    s = cluster.settings
    return PostgresDestination(type="postgres", name="pg-tls", host=s.host, port=s.port,
                               database=s.database, user=s.user, password=SecretStr(password),
                               sslmode="verify-full", sslrootcert=ca)  # fmt: skip


def _table() -> TableSchema:
    table_id = uuid.uuid4()
    columns = {"k": ("partition_key", 0, "int"), "v": ("regular", -1, "text")}
    snapshot = build_snapshot(
        SchemaRows(
            tables=({"keyspace_name": "tls_ks", "table_name": "t", "id": table_id, "cdc": True},),
            columns=tuple(
                {"keyspace_name": "tls_ks", "table_name": "t", "column_name": name, "kind": kind,
                 "position": pos, "clustering_order": "none", "type": text}
                for name, (kind, pos, text) in columns.items()
            ),
        )
    )  # fmt: skip
    return snapshot.tables[table_id]


def test_postgres_sink_verify_full_right_ca_applies_batch_and_position(
    tls_postgres: PostgresCluster, tls: TlsFiles
) -> None:
    """With sslmode verify-full and the CA that signed the server's certificate, a batch and
    its position commit over TLS and read back."""
    destination = _destination(tls_postgres, tls.ca_cert)
    sink = PostgresSink(destination.conninfo(), name=destination.name)
    try:
        sink.ensure_table(_table())
        cell = CellChange("v", "over tls", 10)
        event = ChangeEvent("tls_ks", "t", Op.UPSERT, (1,), timestamp_us=10, cells=(cell,),
                            row_timestamp_us=10)  # fmt: skip
        sink.apply([event], node_id="node1", position=Position(7, 4096))
        assert sink.position("node1") == Position(7, 4096)
    finally:
        sink.close()
    with psycopg.connect(destination.conninfo()) as conn:
        assert conn.execute('SELECT k, v FROM "tls_ks"."t"').fetchall() == [(1, "over tls")]
        ssl_row = conn.execute(
            "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
        ).fetchone()
    assert ssl_row is not None
    assert ssl_row[0] is True
    assert str(ssl_row[1]).startswith("TLSv1.")


@pytest.mark.parametrize(
    ("wrong", "expected"),
    [
        ("ca", "the server's TLS certificate could not be verified"),
        ("password", "authentication failed: wrong user or password"),
    ],
)
def test_postgres_sink_wrong_ca_or_password_refused_in_one_line(
    tls_postgres: PostgresCluster, tls: TlsFiles, wrong: str, expected: str
) -> None:
    """A CA that did not sign the server's certificate, or a wrong password, is a permanent
    error of one line naming the destination, without the password."""
    ca = tls.other_ca_cert if wrong == "ca" else tls.ca_cert
    password = WRONG_PASSWORD if wrong == "password" else PASSWORD
    sink = PostgresSink(_destination(tls_postgres, ca, password).conninfo(), name="pg-tls")
    with pytest.raises(PermanentSinkError) as caught:
        sink.position("node1")
    message = str(caught.value)
    assert message.startswith(f"destination pg-tls: {expected}")
    assert "\n" not in message
    assert PASSWORD not in message
    assert WRONG_PASSWORD not in message


def _sink_and_vault(
    destination: PostgresDestination, *, key: int, value: str, position: Position
) -> None:
    """As the destination's role: create the table, apply one row, record and read the
    position back, create the token vault."""
    sink = PostgresSink(destination.conninfo(), name=destination.name)
    try:
        sink.ensure_table(_table())
        cell = CellChange("v", value, 20)
        event = ChangeEvent("tls_ks", "t", Op.UPSERT, (key,), timestamp_us=20, cells=(cell,),
                            row_timestamp_us=20)  # fmt: skip
        sink.apply([event], node_id="node1", position=position)
        assert sink.position("node1") == position
    finally:
        sink.close()
    vault = TokenVault(destination.conninfo(), KeyRing(secrets={}))
    try:
        vault.ensure_tables()
    finally:
        vault.close()


def test_least_privileged_role_runs_sink_and_vault_over_tls(
    tls_postgres: PostgresCluster, tls: TlsFiles
) -> None:
    """A role with only the grants docs/security.md lists (CONNECT, CREATE and TEMPORARY on
    a database it does not own, no superuser) creates its schemas and tables, applies a
    batch, records its position and creates the token vault, over verify-full TLS."""
    tls_postgres.psql(
        f"CREATE ROLE casscade_min LOGIN PASSWORD '{PASSWORD}';\n"
        "CREATE DATABASE least_priv OWNER postgres;\n"
        "REVOKE ALL ON DATABASE least_priv FROM PUBLIC;\n"
        "GRANT CONNECT, CREATE, TEMPORARY ON DATABASE least_priv TO casscade_min;\n"
    )
    s = tls_postgres.settings
    destination = PostgresDestination(type="postgres", name="pg-min", host=s.host, port=s.port,
                                      database="least_priv", user="casscade_min",
                                      password=SecretStr(PASSWORD), sslmode="verify-full",
                                      sslrootcert=tls.ca_cert)  # fmt: skip
    _sink_and_vault(destination, key=2, value="least", position=Position(8, 1))
    owners = tls_postgres.psql(
        "SELECT nspname || ':' || nspowner::regrole FROM pg_namespace "
        "WHERE nspname IN ('casscade', 'tls_ks', 'casscade_masking') ORDER BY 1;\n"
        "SELECT 'super:' || rolsuper FROM pg_roles WHERE rolname = 'casscade_min';",
        database="least_priv",
    )
    assert owners.split() == [
        "casscade:casscade_min",
        "casscade_masking:casscade_min",
        "tls_ks:casscade_min",
        "super:false",
    ]


def test_role_with_only_schema_grants_runs_sink_and_vault(
    tls_postgres: PostgresCluster, tls: TlsFiles
) -> None:
    """Schemas an administrator created, and a role with USAGE and CREATE on them and no
    CREATE on the database: the sink and the vault skip creating existing schemas."""
    tls_postgres.psql(
        f"CREATE ROLE casscade_schemas LOGIN PASSWORD '{PASSWORD}';\n"
        "CREATE DATABASE schema_grants OWNER postgres;\n"
        "REVOKE ALL ON DATABASE schema_grants FROM PUBLIC;\n"
        "GRANT CONNECT, TEMPORARY ON DATABASE schema_grants TO casscade_schemas;\n"
    )
    tls_postgres.psql(
        "CREATE SCHEMA casscade; CREATE SCHEMA tls_ks; CREATE SCHEMA casscade_masking;\n"
        "GRANT USAGE, CREATE ON SCHEMA casscade, tls_ks, casscade_masking TO casscade_schemas;",
        database="schema_grants",
    )
    s = tls_postgres.settings
    destination = PostgresDestination(type="postgres", name="pg-schemas", host=s.host,
                                      port=s.port, database="schema_grants",
                                      user="casscade_schemas", password=SecretStr(PASSWORD),
                                      sslmode="verify-full", sslrootcert=tls.ca_cert)  # fmt: skip
    _sink_and_vault(destination, key=3, value="granted", position=Position(9, 1))
    rows = tls_postgres.psql('SELECT v FROM tls_ks."t";', database="schema_grants")
    assert rows.split() == ["granted"]


@pytest.fixture(scope="module")
def replicated_table(stack: Stack) -> str:
    """A CDC table in the stack's Cassandra (run --once checks the configured tables exist)."""
    with stack.cassandra.cluster() as cluster:
        session = cluster.connect()
        create_keyspace(session, KEYSPACE)
        session.execute(
            f"CREATE TABLE IF NOT EXISTS {KEYSPACE}.tls_t (k int PRIMARY KEY, v text) "
            "WITH cdc = true"
        )
    return f"{KEYSPACE}.tls_t"


ConfigFor = Callable[[Path], Path]


@pytest.fixture
def config_for(
    stack: Stack, replicated_table: str, tls_postgres: PostgresCluster, tmp_path: Path
) -> ConfigFor:
    """Writes the agent's configuration for the TLS destination with a given CA file."""
    return functools.partial(_config, tmp_path, stack, tls_postgres, replicated_table)


def _config(tmp_path: Path, stack: Stack, cluster: PostgresCluster, table: str, ca: Path) -> Path:
    cdc_raw = tmp_path / "cdc_raw"  # empty: only the connection is under test
    cdc_raw.mkdir(exist_ok=True)
    s = cluster.settings
    path = tmp_path / "casscade.yaml"
    path.write_text(
        f"""
source:
  node_id: node1
  cdc_raw_dir: {cdc_raw}
  cassandra: {{host: 127.0.0.1, port: {stack.settings.cassandra.native_port}}}
  cleanup: keep
tables: [{table}]
dead_letters: {{directory: {tmp_path / "dead"}}}
destinations:
  - type: postgres
    name: pg-tls
    host: {s.host}
    port: {s.port}
    database: {s.database}
    user: {s.user}
    password_env: TEST_TLS_PG_PASSWORD
    sslmode: verify-full
    sslrootcert: {ca}
""",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("wrong", ["ca", "password"])
@pytest.mark.parametrize("command", ["check-config", "run"])
def test_cli_wrong_ca_or_password_one_line_exit_1(
    config_for: ConfigFor, tls: TlsFiles, command: str, wrong: str
) -> None:
    """`check-config --connect` and `run --once` print the refusal in one line naming the
    destination and exit 1, with no traceback and no password anywhere in their output."""
    ca = tls.other_ca_cert if wrong == "ca" else tls.ca_cert
    config = config_for(ca)
    password = WRONG_PASSWORD if wrong == "password" else PASSWORD
    env = dict(os.environ, TEST_TLS_PG_PASSWORD=password)
    args = ("--connect",) if command == "check-config" else ("--once",)
    result = run_casscade(command, "--config", str(config), *args, env=env)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-2000:]
    assert "Traceback" not in output
    assert PASSWORD not in output
    assert WRONG_PASSWORD not in output
    expected = ("the server's TLS certificate could not be verified" if wrong == "ca"
                else "authentication failed: wrong user or password")  # fmt: skip
    prefix = "error: destination pg-tls: " if command == "check-config" else (
        "destination pg-tls not updated: ")  # fmt: skip
    lines = [line for line in output.splitlines() if line.startswith(prefix)]
    assert len(lines) == 1, output[-2000:]
    assert lines[0].startswith(prefix + expected)


def test_cli_check_config_connect_right_ca_succeeds(config_for: ConfigFor, tls: TlsFiles) -> None:
    """`check-config --connect` with the right CA and password connects to the node and the
    destination and exits 0."""
    config = config_for(tls.ca_cert)
    env = dict(os.environ, TEST_TLS_PG_PASSWORD=PASSWORD)
    result = run_casscade("check-config", "--config", str(config), "--connect", env=env)
    assert result.returncode == 0, (result.stdout + result.stderr)[-2000:]
    assert "destination pg-tls: connected" in result.stdout
    assert PASSWORD not in result.stdout + result.stderr
