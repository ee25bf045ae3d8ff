"""Tests of the TLS and credential settings of `casscade.yaml` (PostgreSQL, ClickHouse,
Cassandra): what reaches the drivers, what is refused and where, and that secrets never print."""

from __future__ import annotations

from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict

from casscade.config.load import check_config, load_config
from casscade.config.models import ClickHouseDestination, PostgresDestination
from casscade.sinks.clickhouse.client import ClientOptions

HEAD = """
source:
  node_id: node1
  cdc_raw_dir: /var/lib/cassandra/cdc_raw
tables: [ks.users]
"""
POSTGRES = (
    HEAD
    + """destinations:
  - type: postgres
    name: warehouse
    database: app
    user: casscade
    password_env: PG_PASSWORD
"""
)
CLICKHOUSE = (
    HEAD
    + """destinations:
  - type: clickhouse
    name: olap
    dsn: https://ch.internal:8443
"""
)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "casscade.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _problems(tmp_path: Path, text: str, environ: dict[str, str]) -> dict[str, str]:
    config, problems = check_config(_write(tmp_path, text), environ=environ)
    assert config is None
    return {p.where.split(": ", 1)[1]: p.problem for p in problems}


def test_postgres_conninfo_default_sslmode_is_prefer(tmp_path: Path) -> None:
    """Without TLS settings libpq gets sslmode prefer, its own default (today's behaviour)."""
    (destination,) = load_config(
        _write(tmp_path, POSTGRES), environ={"PG_PASSWORD": "x"}
    ).destinations
    assert isinstance(destination, PostgresDestination)
    parsed = conninfo_to_dict(destination.conninfo())
    assert parsed["sslmode"] == "prefer"
    assert "sslrootcert" not in parsed


def test_postgres_conninfo_verify_full_passes_every_file(tmp_path: Path) -> None:
    """sslmode, the CA and the client certificate and key reach libpq as written."""
    text = POSTGRES + (
        "    sslmode: verify-full\n    sslrootcert: /etc/casscade/ca.pem\n"
        "    sslcert: /etc/casscade/client.pem\n    sslkey: /etc/casscade/client.key\n"
    )
    (destination,) = load_config(_write(tmp_path, text), environ={"PG_PASSWORD": "x"}).destinations
    assert isinstance(destination, PostgresDestination)
    parsed = conninfo_to_dict(destination.conninfo())
    assert parsed["sslmode"] == "verify-full"
    assert parsed["sslrootcert"] == "/etc/casscade/ca.pem"
    assert parsed["sslcert"] == "/etc/casscade/client.pem"
    assert parsed["sslkey"] == "/etc/casscade/client.key"


def test_postgres_conninfo_password_with_quote_and_backslash_round_trips(tmp_path: Path) -> None:
    """A password with quotes, backslashes and spaces reaches libpq intact, and cannot add
    settings of its own to the connection string."""
    secret = "it's a \\ pass' sslmode='disable"  # noqa: S105 - a test value
    (destination,) = load_config(
        _write(tmp_path, POSTGRES), environ={"PG_PASSWORD": secret}
    ).destinations
    assert isinstance(destination, PostgresDestination)
    parsed = conninfo_to_dict(destination.conninfo())
    assert parsed["password"] == secret
    assert parsed["sslmode"] == "prefer"
    assert secret not in repr(destination)


@pytest.mark.parametrize(
    ("settings", "where", "what"),
    [
        ("    sslrootcert: /ca.pem\n", "destinations.0.sslmode", "does not verify the server"),
        ("    sslmode: allow\n    sslrootcert: /ca.pem\n", "destinations.0.sslmode", "ignored"),
        ("    sslmode: verify-full\n    sslkey: /k\n", "destinations.0.sslcert", "with sslkey"),
        ("    sslmode: verify-everything\n", "destinations.0.sslmode", "Input should be"),
    ],
)
def test_postgres_tls_settings_refused_at_their_place(
    tmp_path: Path, settings: str, where: str, what: str
) -> None:
    """A CA with a mode that never reads it, a key without a certificate and an unknown mode
    are refused, each at the setting at fault."""
    problems = _problems(tmp_path, POSTGRES + settings, {"PG_PASSWORD": "x"})
    assert where in problems, problems
    assert what in problems[where]


def test_clickhouse_https_credentials_and_ca_reach_client_options(tmp_path: Path) -> None:
    """username, the password from password_file and the TLS files become the options
    handed to clickhouse-connect; the password never prints."""
    secret = tmp_path / "ch-password"
    secret.write_text("ch-s3cret\n", encoding="utf-8")
    text = CLICKHOUSE + (
        f"    username: casscade\n    password_file: {secret}\n    ca_cert: /etc/ca.pem\n"
        "    client_cert: /etc/client.pem\n    client_key: /etc/client.key\n"
    )
    config = load_config(_write(tmp_path, text), environ={})
    (destination,) = config.destinations
    assert isinstance(destination, ClickHouseDestination)
    options = destination.client_options()
    assert options == ClientOptions(
        username="casscade",
        password="ch-s3cret",  # noqa: S106 - a test value
        ca_cert=Path("/etc/ca.pem"),
        client_cert=Path("/etc/client.pem"),
        client_key=Path("/etc/client.key"),
        verify=True,
    )
    assert "ch-s3cret" not in repr(config)
    assert "ch-s3cret" not in repr(options)


@pytest.mark.parametrize(
    ("dsn", "settings", "where", "what"),
    [
        ("chdb:///var/lib/ch", "    ca_cert: /ca.pem\n", "destinations.0.ca_cert", "not chDB"),
        ("chdb:///var/lib/ch", "    username: u\n", "destinations.0.username", "not chDB"),
        ("chdb:///var/lib/ch", "    verify: false\n", "destinations.0.verify", "not chDB"),
        ("https://u:hunter2@ch:8443", "", "destinations.0.dsn", "password in the dsn"),
        ("http://ch:8123", "    ca_cert: /ca.pem\n", "destinations.0.ca_cert", "https://"),
        ("https://ch:8443", "    client_key: /k\n", "destinations.0.client_cert", "client_key"),
        ("https://ch:8443", "    password: x\n", "destinations.0.password", "password_env"),
    ],
)
def test_clickhouse_settings_refused_at_their_place(
    tmp_path: Path, dsn: str, settings: str, where: str, what: str
) -> None:
    """Server settings on chDB, a password inside the dsn, TLS files without https and a
    literal password are refused at the setting at fault; the password is not repeated."""
    text = CLICKHOUSE.replace("https://ch.internal:8443", dsn) + settings
    problems = _problems(tmp_path, text, {})
    assert where in problems, problems
    assert what in problems[where]
    assert all("hunter2" not in problem for problem in problems.values())


def test_cassandra_tls_settings_load(tmp_path: Path) -> None:
    """source.cassandra.tls names the CA, the client certificate and key; verify defaults
    to true, and the Cassandra password comes from the environment."""
    text = POSTGRES.replace(
        "  cdc_raw_dir: /var/lib/cassandra/cdc_raw\n",
        "  cdc_raw_dir: /var/lib/cassandra/cdc_raw\n  cassandra:\n    username: casscade\n"
        "    password_env: CASSANDRA_PASSWORD\n    tls:\n      ca_file: /etc/ca.pem\n"
        "      cert_file: /etc/client.pem\n      key_file: /etc/client.key\n",
    )
    environ = {"PG_PASSWORD": "x", "CASSANDRA_PASSWORD": "c-s3cret"}
    config = load_config(_write(tmp_path, text), environ=environ)
    source = config.source.cassandra
    assert source.tls is not None
    assert source.tls.ca_file == Path("/etc/ca.pem")
    assert source.tls.cert_file == Path("/etc/client.pem")
    assert source.tls.key_file == Path("/etc/client.key")
    assert source.tls.verify is True
    assert source.password is not None
    assert source.password.get_secret_value() == "c-s3cret"
    assert "c-s3cret" not in repr(config)


def test_cassandra_tls_key_without_certificate_refused(tmp_path: Path) -> None:
    """A client key without its certificate is refused at tls.cert_file."""
    text = POSTGRES.replace(
        "  cdc_raw_dir: /var/lib/cassandra/cdc_raw\n",
        "  cdc_raw_dir: /var/lib/cassandra/cdc_raw\n  cassandra:\n    tls:\n"
        "      key_file: /etc/client.key\n",
    )
    problems = _problems(tmp_path, text, {"PG_PASSWORD": "x"})
    assert "source.cassandra.tls.cert_file" in problems, problems
