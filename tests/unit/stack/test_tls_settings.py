"""Tests of the local stack's TLS options: Cassandra's client_encryption_options and
PostgreSQL's ssl settings (no service started; the integration tests start them)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from casscade.stack.cassandra import CassandraLayout, render_yaml
from casscade.stack.config import CassandraClientTls, CassandraSettings, PostgresSettings
from casscade.stack.postgres import PostgresCluster

LAYOUT = CassandraLayout(home=Path("/srv/c"), lib_dir=Path("/cache/lib"))
STORE_PW = "store-pw"


def test_render_yaml_client_encryption_from_pkcs12_keystore() -> None:
    """client_tls turns on client encryption with the PKCS12 keystore, optional as asked."""
    tls = CassandraClientTls(keystore=Path("/srv/tls/node.p12"), keystore_password=STORE_PW,
                             optional=True)  # fmt: skip
    doc = yaml.safe_load(render_yaml(CassandraSettings(client_tls=tls), LAYOUT))
    assert doc["client_encryption_options"] == {
        "enabled": True,
        "optional": True,
        "keystore": "/srv/tls/node.p12",
        "keystore_password": STORE_PW,
        "store_type": "PKCS12",
        "require_client_auth": False,
    }


def test_render_yaml_no_client_encryption_by_default() -> None:
    """Without client_tls the node speaks plain CQL as before."""
    doc = yaml.safe_load(render_yaml(CassandraSettings(), LAYOUT))
    assert "client_encryption_options" not in doc


def test_client_tls_keystore_password_restricted_to_safe_text() -> None:
    """The keystore password is written into cassandra.yaml, so YAML syntax is refused."""
    with pytest.raises(ValidationError):
        CassandraClientTls(keystore=Path("/k.p12"), keystore_password="a: b")  # noqa: S106


def test_postgres_ssl_options_only_with_certificate(tmp_path: Path) -> None:
    """The server starts with ssl=on and the copied certificate and key only when both are
    set; the pair is required together."""
    plain = PostgresCluster(PostgresSettings(), tmp_path / "plain")
    assert "ssl=on" not in plain._server_options()
    settings = PostgresSettings(ssl_cert_file=tmp_path / "s.crt", ssl_key_file=tmp_path / "s.key")
    options = PostgresCluster(settings, tmp_path / "tls")._server_options()
    assert "-c ssl=on" in options
    assert "ssl_cert_file=casscade-server.crt" in options
    assert "ssl_key_file=casscade-server.key" in options
    with pytest.raises(ValidationError, match="go together"):
        PostgresSettings(ssl_cert_file=tmp_path / "s.crt")
