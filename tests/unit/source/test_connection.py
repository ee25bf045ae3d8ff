"""Tests of the agent's Cassandra connection settings: the SSLContext built from
`source.cassandra.tls`, and the one-line reasons for a node that refuses us.

The context is checked by its settings and by a TLS handshake over a socket pair in this
process (no network); tests/integration/test_cassandra_security.py uses it against a real
node with client encryption.
"""

from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path

import pytest
from cassandra import AuthenticationFailed
from cryptography.hazmat.primitives import serialization

from casscade.errors import ConfigError
from casscade.source.connection import NodeLogin, refusal, tls_context
from tests.tlsfiles import TlsFiles, make_tls_files

SECRET = "c-s3cret"  # noqa: S105 - a test value


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


def _handshake(client: ssl.SSLContext, tls: TlsFiles, server_hostname: str) -> str:
    """Run a TLS handshake between `client` and a server with the test certificate over a
    socket pair; return the TLS version, or raise what the client raised."""
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(tls.server_cert, tls.server_key)
    left, right = socket.socketpair()

    def serve() -> None:
        try:
            with server.wrap_socket(right, server_side=True):
                pass
        except (ssl.SSLError, OSError):
            right.close()  # the client refused the certificate

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        with client.wrap_socket(left, server_hostname=server_hostname) as wrapped:
            return str(wrapped.version())
    finally:
        left.close()
        thread.join()


def test_tls_context_verifies_node_with_configured_ca(tls: TlsFiles) -> None:
    """The context requires TLS 1.2+, checks the certificate and host name, and trusts the
    configured CA alone: a handshake with the node's certificate succeeds."""
    context = tls_context(tls.ca_cert, None, None)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    (trusted,) = context.get_ca_certs()
    assert "casscade test CA" in str(trusted["subject"])
    assert _handshake(context, tls, "127.0.0.1").startswith("TLSv1.")


def test_tls_context_wrong_ca_fails_handshake(tls: TlsFiles) -> None:
    """With a CA that did not sign the node's certificate the handshake fails verification."""
    context = tls_context(tls.other_ca_cert, None, None)
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(context, tls, "127.0.0.1")


def test_tls_context_other_host_name_fails_handshake(tls: TlsFiles) -> None:
    """A certificate that does not name the host connected to is refused."""
    context = tls_context(tls.ca_cert, None, None)
    with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
        _handshake(context, tls, "cassandra.example")


def test_tls_context_verify_false_skips_checks(tls: TlsFiles) -> None:
    """verify: false encrypts without checking the certificate (the documented test mode)."""
    context = tls_context(tls.other_ca_cert, None, None, verify=False)
    assert context.verify_mode == ssl.CERT_NONE
    assert context.check_hostname is False
    assert _handshake(context, tls, "cassandra.example").startswith("TLSv1.")


def test_tls_context_loads_client_certificate(tls: TlsFiles) -> None:
    """A client certificate and key load (for nodes with require_client_auth)."""
    context = tls_context(tls.ca_cert, tls.client_cert, tls.client_key)
    assert context.verify_mode == ssl.CERT_REQUIRED


def test_tls_context_missing_ca_file_is_config_error(tmp_path: Path) -> None:
    """A CA file that does not exist is a ConfigError at tls.ca_file naming the file."""
    missing = tmp_path / "nope.pem"
    with pytest.raises(ConfigError) as caught:
        tls_context(missing, None, None)
    assert caught.value.where == "source.cassandra.tls.ca_file"
    assert str(missing) in caught.value.problem


def test_tls_context_not_a_certificate_is_config_error(tmp_path: Path) -> None:
    """A CA file without a certificate in it is a ConfigError, not an ssl traceback."""
    bogus = tmp_path / "bogus.pem"
    bogus.write_text("not a certificate\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        tls_context(bogus, None, None)
    assert caught.value.where == "source.cassandra.tls.ca_file"


def test_tls_context_encrypted_key_is_config_error_without_prompt(
    tls: TlsFiles, tmp_path: Path
) -> None:
    """An encrypted client key is refused with a ConfigError at tls.cert_file instead of
    OpenSSL asking for its passphrase on the terminal."""
    key = serialization.load_pem_private_key(tls.client_key.read_bytes(), password=None)
    encrypted = tmp_path / "encrypted.key"
    encrypted.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"passphrase"),
        )
    )
    with pytest.raises(ConfigError) as caught:
        tls_context(tls.ca_cert, tls.client_cert, encrypted)
    assert caught.value.where == "source.cassandra.tls.cert_file"


_LOGIN = NodeLogin("127.0.0.1", 9042, "casscade", SECRET)


@pytest.mark.parametrize(
    ("cause", "expected"),
    [
        (AuthenticationFailed("Failed to authenticate to 127.0.0.1:9042: Error from server: "
                              "code=0100 [Bad credentials] message=\"Provided username "
                              "casscade and/or password are incorrect\""),
         "authentication failed for user casscade: wrong username or password"),
        # How cassandra-driver 3.30 reports a failed handshake (captured from a real node).
        (PermissionError(1, "Tried connecting to [('127.0.0.1', 9042)]. Last error: [SSL: "
                            "CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed "
                            "certificate in certificate chain (_ssl.c:1006)"),
         "the node's TLS certificate could not be verified with the CA file "
         "(source.cassandra.tls.ca_file): self-signed certificate in certificate chain"),
        (OSError(1, "Last error: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
                    "IP address mismatch, certificate is not valid for '127.0.0.1'. (_ssl.c:1006)"),
         "the node's TLS certificate does not name 127.0.0.1"),
        (OSError(1, "Last error: [SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)"),
         "TLS could not be set up: [SSL: WRONG_VERSION_NUMBER] wrong version number"),
        (ConnectionRefusedError(111, "Connection refused"), None),
    ],
)  # fmt: skip
def test_refusal_reason_per_driver_error(cause: Exception, expected: str | None) -> None:
    """Wrong credentials and TLS failures say what to check (never the password); a node
    that is down is no refusal."""
    reason = refusal([cause], _LOGIN)
    if expected is None:
        assert reason is None
        return
    assert reason is not None
    assert reason.startswith(expected)
    assert SECRET not in reason


def test_refusal_without_username_asks_for_login() -> None:
    """A node that requires a login when none is configured says which settings to add."""
    reason = refusal([AuthenticationFailed("Remote end requires authentication")],
                     NodeLogin("127.0.0.1", 9042))  # fmt: skip
    assert reason is not None
    assert "source.cassandra.username" in reason


def test_node_login_repr_hides_password() -> None:
    """The password is not in the login's repr."""
    assert SECRET not in repr(_LOGIN)
