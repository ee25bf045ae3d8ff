"""Tests of our wiring of ClickHouse credentials and TLS into clickhouse-connect.

No ClickHouse server runs here (only embedded chDB), so `clickhouse_connect.get_client` is
replaced by a fake that records its arguments: these tests show what we hand to
clickhouse-connect, not that a server accepts it (tests/integration/test_clickhouse_tls.py
checks the TLS handshake against a stand-in HTTPS endpoint).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import clickhouse_connect
import pytest
from clickhouse_connect.driver import exceptions

from casscade.config.models import ClickHouseDestination
from casscade.engine.agent import sink_for
from casscade.errors import PermanentSinkError, TransientSinkError
from casscade.sinks.clickhouse.client import ClientOptions, client_arguments, refused_connection
from casscade.sinks.clickhouse.sink import ClickHouseSink, classify

SECRET = "ch-s3cret"  # noqa: S105 - a test value


@dataclass(frozen=True, slots=True)
class _NoRows:
    result_rows: tuple[object, ...] = ()


class _FakeClient:
    """What the sink calls on a client to connect and read its position (none yet)."""

    def __init__(self) -> None:
        self.commands: list[str] = []

    def command(self, statement: str) -> None:
        self.commands.append(statement)

    def query(self, sql: str, parameters: object = None) -> _NoRows:
        return _NoRows()

    def close(self) -> None:
        pass


@pytest.fixture
def get_client_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, object]]:
    """Replace clickhouse_connect.get_client by a recorder; returns the recorded calls."""
    calls: list[dict[str, object]] = []

    def fake(**kwargs: object) -> _FakeClient:
        calls.append(kwargs)
        return _FakeClient()

    monkeypatch.setattr(clickhouse_connect, "get_client", fake)
    return calls


def test_sink_for_https_destination_passes_credentials_and_ca(
    get_client_calls: list[dict[str, object]],
) -> None:
    """A configured https destination reaches get_client with TLS on (whatever the port),
    certificate verification, the CA and client files, and the user and password."""
    destination = ClickHouseDestination.model_validate(
        {"type": "clickhouse", "name": "olap", "dsn": "https://ch.internal:8123",
         "username": "casscade", "password": SECRET, "ca_cert": "/etc/ca.pem",
         "client_cert": "/etc/client.pem", "client_key": "/etc/client.key"}
    )  # fmt: skip
    sink = sink_for(destination)
    assert isinstance(sink, ClickHouseSink)
    assert sink.position("node1") is None
    assert get_client_calls == [
        {
            "dsn": "https://ch.internal:8123",
            "username": "casscade",
            "password": SECRET,
            "secure": True,
            "verify": True,
            "ca_cert": "/etc/ca.pem",
            "client_cert": "/etc/client.pem",
            "client_cert_key": "/etc/client.key",
        }
    ]


def test_chdb_destination_passes_only_the_dsn(get_client_calls: list[dict[str, object]]) -> None:
    """An embedded chDB gets the DSN alone (clickhouse-connect warns about server settings)."""
    destination = ClickHouseDestination(type="clickhouse", name="local", dsn="chdb:///tmp/ch")
    sink = sink_for(destination)
    assert isinstance(sink, ClickHouseSink)
    assert sink.position("node1") is None
    assert get_client_calls == [{"dsn": "chdb:///tmp/ch"}]


@pytest.mark.parametrize(
    ("dsn", "options", "expected"),
    [
        ("http://ch:8123", ClientOptions(username="u", password=SECRET),
         {"dsn": "http://ch:8123", "username": "u", "password": SECRET}),
        ("https://ch:8443", ClientOptions(verify=False),
         {"dsn": "https://ch:8443", "secure": True, "verify": False}),
        ("https://ch:8443", ClientOptions(ca_cert=Path("/ca.pem")),
         {"dsn": "https://ch:8443", "secure": True, "verify": True, "ca_cert": "/ca.pem"}),
        ("chdb:///x", ClientOptions(username="u", password=SECRET), {"dsn": "chdb:///x"}),
    ],
)  # fmt: skip
def test_client_arguments_only_what_is_set(
    dsn: str, options: ClientOptions, expected: dict[str, object]
) -> None:
    """Unset options are not passed; TLS options only with https."""
    assert client_arguments(dsn, options) == expected


def test_client_options_repr_hides_password() -> None:
    """The password is not in the options' repr (they may end up in a log or traceback)."""
    assert SECRET not in repr(ClientOptions(username="u", password=SECRET))


# Messages as clickhouse-connect 1.12 raises them (captured against a local TLS endpoint).
_CERT = (
    "Error HTTPSConnectionPool(host='127.0.0.1', port=8443): Max retries exceeded with url: "
    "/?query_id=x (Caused by SSLError(SSLCertVerificationError(1, '[SSL: "
    "CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer "
    "certificate (_ssl.c:1006)'))) executing HTTP request attempt 1 (https://127.0.0.1:8443)"
)
_HOST = _CERT.replace(
    "unable to get local issuer certificate",
    "Hostname mismatch, certificate is not valid for 'ch.internal'.",
)
_AUTH = (
    "Received ClickHouse exception, code: 516, server response: Code: 516. DB::Exception: "
    "casscade: Authentication failed: password is incorrect, or there is no user with such "
    "name. (AUTHENTICATION_FAILED) (version 24.8.1.1) (for url https://127.0.0.1:8443)"
)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (exceptions.OperationalError(_CERT),
         "destination olap: the server's TLS certificate could not be verified with the CA "
         "file (ca_cert) (unable to get local issuer certificate, https://127.0.0.1:8443)"),
        (exceptions.OperationalError(_HOST),
         "destination olap: the server's TLS certificate does not name the configured host"),
        (exceptions.DatabaseError(_AUTH),
         "destination olap: authentication failed: wrong user or password (DB::Exception: "
         "casscade: Authentication failed: password is incorrect, or there is no user with "
         "such name., https://127.0.0.1:8443)"),
    ],
)  # fmt: skip
def test_refused_connection_is_permanent_one_line(error: Exception, expected: str) -> None:
    """Certificate and authentication failures are permanent, one line saying what to check;
    classify (used for every ClickHouse error) agrees."""
    refused = refused_connection("olap", error)
    assert refused is not None
    assert str(refused).startswith(expected)
    assert "\n" not in str(refused)
    classified = classify("olap", error)
    assert isinstance(classified, PermanentSinkError)
    assert str(classified) == str(refused)


def test_unreachable_server_stays_transient() -> None:
    """A refused TCP connection is no refusal of ours: still retried."""
    error = exceptions.OperationalError("Error HTTPConnectionPool: Connection refused")
    assert refused_connection("olap", error) is None
    assert isinstance(classify("olap", error), TransientSinkError)
