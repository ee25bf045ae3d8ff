"""ClickHouse over https: our TLS settings reach a real TLS handshake, and a refused
connection is one line. No ClickHouse server can run here (the stack's ClickHouse is the
embedded chDB), so the peer is a stand-in: a TLS endpoint in this process with the test
certificate that answers every request like a ClickHouse server refusing the password
(HTTP 401, code 516). What this shows: clickhouse-connect uses TLS even on port 8123 style
DSNs, verifies the server with the configured CA, sends the user and password only inside
TLS, and our errors are one line without the password. What it does not show: that a real
ClickHouse server accepts these settings (docs/security.md says so too).
"""

from __future__ import annotations

import base64
import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from casscade.config.models import ClickHouseDestination
from casscade.engine.agent import sink_for
from casscade.engine.connectivity import check_destination
from casscade.errors import PermanentSinkError
from tests.tlsfiles import TlsFiles, make_tls_files

SECRET = "ch-s3cret-8d1f"  # noqa: S105 - a test value
_REFUSAL = (
    b"Code: 516. DB::Exception: casscade: Authentication failed: password is incorrect, or "
    b"there is no user with such name. (AUTHENTICATION_FAILED) (version 24.8.1.1)\n"
)


@dataclass
class StandIn:
    """A TLS endpoint that records each request's headers and refuses the login."""

    port: int
    requests: list[dict[str, str]] = field(default_factory=list)


def _serve_one(conn: socket.socket, context: ssl.SSLContext, standin: StandIn) -> None:
    with conn:
        try:
            tls = context.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            return  # the client refused our certificate: no request arrives
        with tls:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = tls.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")[1:]
            headers = {
                k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines)
            }
            length = int(headers.get("content-length", "0"))
            while len(body) < length:
                chunk = tls.recv(65536)
                if not chunk:
                    break
                body += chunk
            standin.requests.append(headers)
            tls.sendall(
                b"HTTP/1.1 401 Unauthorized\r\nX-ClickHouse-Exception-Code: 516\r\n"
                b"Content-Type: text/plain\r\nConnection: close\r\n"
                + f"Content-Length: {len(_REFUSAL)}\r\n\r\n".encode()
                + _REFUSAL
            )


@pytest.fixture
def standin(tls: TlsFiles) -> Iterator[StandIn]:
    """The stand-in endpoint on a free loopback port, stopped after the test."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls.server_cert, tls.server_key)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    endpoint = StandIn(port=int(listener.getsockname()[1]))
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            conn.settimeout(10)
            with contextlib.suppress(OSError):
                _serve_one(conn, context, endpoint)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield endpoint
    finally:
        stop.set()
        thread.join()
        listener.close()


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("ch-tls-files"))


def _destination(standin: StandIn, ca: Path) -> ClickHouseDestination:
    return ClickHouseDestination.model_validate(
        {"type": "clickhouse", "name": "olap", "dsn": f"https://127.0.0.1:{standin.port}",
         "username": "casscade", "password": SECRET, "ca_cert": ca}
    )  # fmt: skip


def test_clickhouse_https_right_ca_sends_credentials_inside_tls(
    standin: StandIn, tls: TlsFiles
) -> None:
    """With the CA that signed the endpoint's certificate the handshake succeeds, the user
    and password arrive inside TLS, and the refusal is one permanent line without them."""
    sink = sink_for(_destination(standin, tls.ca_cert))
    try:
        with pytest.raises(PermanentSinkError) as caught:
            sink.position("node1")
    finally:
        sink.close()
    assert standin.requests, "no request reached the endpoint over TLS"
    expected = base64.b64encode(f"casscade:{SECRET}".encode()).decode()
    assert standin.requests[0]["authorization"] == f"Basic {expected}"
    message = str(caught.value)
    assert message.startswith("destination olap: authentication failed: wrong user or password")
    assert "\n" not in message
    assert SECRET not in message
    assert expected not in message


def test_clickhouse_https_wrong_ca_refused_before_any_request(
    standin: StandIn, tls: TlsFiles
) -> None:
    """With a CA that did not sign the endpoint's certificate nothing is sent, and the agent
    and `check-config --connect` report one line saying the certificate is not verified."""
    destination = _destination(standin, tls.other_ca_cert)
    sink = sink_for(destination)
    try:
        with pytest.raises(PermanentSinkError) as from_sink:
            sink.position("node1")
    finally:
        sink.close()
    with pytest.raises(PermanentSinkError) as from_check:
        check_destination(destination)
    assert standin.requests == []
    for caught in (from_sink, from_check):
        message = str(caught.value)
        assert message.startswith(
            "destination olap: the server's TLS certificate could not be verified with the "
            "CA file (ca_cert)"
        )
        assert "\n" not in message
        assert SECRET not in message
