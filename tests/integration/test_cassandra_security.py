"""The agent's connection to a real Cassandra node with PasswordAuthenticator and client
encryption: the right password and CA work, a wrong password or CA is refused in one line
(exit code 1 from `casscade verify` and `casscade run --once`, no traceback, no secret).

The module starts its own node (the stack's code, other ports than the stack's and the
password node of test_stack_cassandra.py) with `client_encryption_options` from a PKCS12
keystore made with tests/tlsfiles.py, `optional: true` so that one node serves both plain and
TLS clients, and stops it by pid at the end. The roles get only the grants docs/security.md
lists for the agent.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from casscade.cli.run import cassandra_session
from casscade.config.load import load_config
from casscade.errors import SourceRefusedError
from casscade.source.schema import read_schema_rows
from casscade.stack.cassandra import CassandraNode
from casscade.stack.config import CassandraClientTls, CassandraSettings
from casscade.stack.manager import Stack
from tests.integration.workloads import run_casscade
from tests.tlsfiles import TlsFiles, make_tls_files, write_pkcs12

PASSWORD = f"pw-{secrets.token_hex(8)}"
WRONG_PASSWORD = f"wrong-{secrets.token_hex(8)}"
NATIVE_PORT = 9342
KEYSPACE = "it_sec"
KEYSTORE_PASSWORD = secrets.token_hex(8)


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("cassandra-tls-files"))


@pytest.fixture(scope="module")
def secure_node(
    stack: Stack, tls: TlsFiles, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CassandraNode]:
    """A node with PasswordAuthenticator and client encryption, and two least-privileged
    login roles (`casscade_agent` for plain connections, `casscade_tls` for TLS)."""
    keystore = write_pkcs12(tls, tls.ca_cert.parent / "node.p12", KEYSTORE_PASSWORD)
    settings = CassandraSettings(
        native_port=NATIVE_PORT,
        storage_port=7300,
        jmx_port=7499,
        auth="password",
        heap_mib=768,
        client_tls=CassandraClientTls(
            keystore=keystore, keystore_password=KEYSTORE_PASSWORD, optional=True
        ),
    )
    node = CassandraNode(settings, tmp_path_factory.mktemp("node-secure"), stack.settings.cache_dir)
    try:
        node.up()
        with node.cluster() as cluster:  # the superuser a fresh node creates
            session = cluster.connect()
            session.execute(
                f"CREATE KEYSPACE {KEYSPACE} WITH replication = "
                "{'class': 'SimpleStrategy', 'replication_factor': 1}"
            )
            session.execute(
                f"CREATE TABLE {KEYSPACE}.t (k int PRIMARY KEY, v text) WITH cdc = true"
            )
            session.execute(f"INSERT INTO {KEYSPACE}.t (k, v) VALUES (1, 'one')")
            for role in ("casscade_agent", "casscade_tls"):
                # docs/security.md: a login role that may read the replicated tables.
                session.execute(f"CREATE ROLE {role} WITH LOGIN = true AND PASSWORD = %s",
                                (PASSWORD,))  # fmt: skip
                session.execute(f"GRANT SELECT ON TABLE {KEYSPACE}.t TO {role}")
        yield node
    finally:
        node.down()  # SIGTERM to the node's pid, then wait for its ports


def _config(tmp_path: Path, *, role: str, ca: Path | None = None) -> Path:
    cdc_raw = tmp_path / "cdc_raw"
    cdc_raw.mkdir(exist_ok=True)
    tls = f"\n    tls: {{ca_file: {ca}}}" if ca is not None else ""
    path = tmp_path / "casscade.yaml"
    path.write_text(
        f"""
source:
  node_id: node1
  cdc_raw_dir: {cdc_raw}
  cleanup: keep
  cassandra:
    host: 127.0.0.1
    port: {NATIVE_PORT}
    username: {role}
    password_env: TEST_CASSANDRA_PASSWORD{tls}
tables: [{KEYSPACE}.t]
dead_letters: {{directory: {tmp_path / "dead"}}}
destinations:
  - type: postgres
    name: never-reached
    database: casscade
    user: casscade
""",
        encoding="utf-8",
    )
    return path


def _casscade(*args: str, password: str) -> subprocess.CompletedProcess[str]:
    return run_casscade(*args, env=dict(os.environ, TEST_CASSANDRA_PASSWORD=password))


def _connected_with_tls(node: CassandraNode, role: str) -> list[bool]:
    """Whether each connection `role` has open is encrypted, as the node sees it (read as
    the superuser: the agent's roles may not read system_views)."""
    with node.cluster() as cluster:
        rows = cluster.connect().execute("SELECT username, ssl_enabled FROM system_views.clients")
        return [bool(row.ssl_enabled) for row in rows if row.username == role]


def test_cassandra_session_right_password_reads_schema_and_table(
    secure_node: CassandraNode, tmp_path: Path
) -> None:
    """The agent's session logs in with the password from the environment, reads the
    table's schema and the table itself with only the documented grants."""
    config = load_config(_config(tmp_path, role="casscade_agent"),
                         environ={"TEST_CASSANDRA_PASSWORD": PASSWORD})  # fmt: skip
    cluster, session = cassandra_session(config)
    try:
        rows = read_schema_rows(session)  # type: ignore[arg-type]
        names = {(t["keyspace_name"], t["table_name"]) for t in rows.tables}
        assert (KEYSPACE, "t") in names
        got = session.execute(f"SELECT k, v FROM {KEYSPACE}.t").all()  # type: ignore[attr-defined]
        assert [(r.k, r.v) for r in got] == [(1, "one")]
        plain = _connected_with_tls(secure_node, "casscade_agent")
        assert plain
        assert not any(plain)
    finally:
        cluster.shutdown()  # type: ignore[attr-defined]


@pytest.mark.parametrize("command", ["verify", "run"])
def test_cli_wrong_password_one_line_exit_1(
    secure_node: CassandraNode, tmp_path: Path, command: str
) -> None:
    """A wrong password makes `verify` and `run --once` print one line saying the login
    failed, and exit 1, without a traceback or either password."""
    config = _config(tmp_path, role="casscade_agent")
    args = ("--once",) if command == "run" else ()
    result = _casscade(command, "--config", str(config), *args, password=WRONG_PASSWORD)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-2000:]
    assert "Traceback" not in output
    assert WRONG_PASSWORD not in output
    assert PASSWORD not in output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [
        f"error: cassandra at 127.0.0.1:{NATIVE_PORT} refused the connection: authentication "
        "failed for user casscade_agent: wrong username or password"
    ]


def test_cassandra_session_tls_right_ca_is_encrypted(
    secure_node: CassandraNode, tls: TlsFiles, tmp_path: Path
) -> None:
    """With `tls.ca_file` the agent's session verifies the node and every one of its
    connections is encrypted (the node's own system_views.clients says so)."""
    config = load_config(_config(tmp_path, role="casscade_tls", ca=tls.ca_cert),
                         environ={"TEST_CASSANDRA_PASSWORD": PASSWORD})  # fmt: skip
    cluster, session = cassandra_session(config)
    try:
        encrypted = _connected_with_tls(secure_node, "casscade_tls")
        assert encrypted
        assert all(encrypted)
        got = session.execute(f"SELECT v FROM {KEYSPACE}.t WHERE k = 1").one()  # type: ignore[attr-defined]
        assert got.v == "one"
    finally:
        cluster.shutdown()  # type: ignore[attr-defined]


def test_cassandra_session_tls_wrong_ca_refused(
    secure_node: CassandraNode, tls: TlsFiles, tmp_path: Path
) -> None:
    """A CA that did not sign the node's certificate: the session is refused with one line
    saying the certificate could not be verified, and `verify` exits 1 with that line."""
    path = _config(tmp_path, role="casscade_tls", ca=tls.other_ca_cert)
    config = load_config(path, environ={"TEST_CASSANDRA_PASSWORD": PASSWORD})
    with pytest.raises(SourceRefusedError) as caught:
        cassandra_session(config)
    message = str(caught.value)
    assert "the node's TLS certificate could not be verified" in message
    assert "\n" not in message
    assert PASSWORD not in message
    result = _casscade("verify", "--config", str(path), password=PASSWORD)
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    assert result.stderr.strip() == f"error: {message}"
