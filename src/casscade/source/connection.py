"""Connecting the agent to its Cassandra node: credentials, client encryption, one-line errors.

I/O at the edge only: it reads the PEM files the configuration names and opens a
cassandra-driver session. It never reads the environment (the password arrives resolved) and
never puts a credential into a message: a node that refuses us becomes a SourceRefusedError
saying what to check, one that cannot be reached a SourceUnavailableError.
"""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from casscade.errors import ConfigError, SourceRefusedError, SourceUnavailableError

if TYPE_CHECKING:
    from cassandra.cluster import Cluster, Session


@dataclass(frozen=True, slots=True)
class NodeLogin:
    """How to reach and log into one node.

    Attributes:
        host: the node's address (its native transport, rpc_address).
        port: the native transport port.
        username: for PasswordAuthenticator; None when the node needs no login.
        password: the password of `username`; kept out of repr().
        ssl_context: client encryption (`tls_context`), None for plain connections.
    """

    host: str
    port: int
    username: str | None = None
    password: str = field(default="", repr=False)
    ssl_context: ssl.SSLContext | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def tls_context(
    ca_file: Path | None,
    cert_file: Path | None,
    key_file: Path | None,
    *,
    verify: bool = True,
    where: str = "source.cassandra.tls",
) -> ssl.SSLContext:
    """The SSLContext of client encryption: TLS 1.2 or newer, the node's certificate checked
    against `ca_file` (the system's CAs when None) and the host it is reached at.

    Args:
        ca_file: PEM CA certificate(s) that signed the node's certificate.
        cert_file: PEM client certificate (nodes with require_client_auth), or None.
        key_file: its key when cert_file does not hold it; must not be encrypted.
        verify: False skips every check of the node's certificate (tests only).
        where: the settings' place in the configuration, for errors.

    Raises:
        ConfigError: a file cannot be read or holds no usable certificate or key.
    """
    try:
        context = ssl.create_default_context(cafile=None if ca_file is None else str(ca_file))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"{where}.ca_file", _unreadable(ca_file, exc)) from exc
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if cert_file is not None:
        try:
            # A password callback that gives none: an encrypted key fails here instead of
            # OpenSSL prompting on the terminal of an agent that runs unattended.
            context.load_cert_chain(str(cert_file), None if key_file is None else str(key_file),
                                    password=_no_password)  # fmt: skip
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"{where}.cert_file", _unreadable(cert_file, exc)) from exc
    return context


def _no_password() -> bytes:
    return b""


def _unreadable(path: Path | None, exc: OSError | ssl.SSLError) -> str:
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    if isinstance(exc, ssl.SSLError):
        reason = exc.reason or str(exc)
    return f"cannot use {path}: {reason}"


def connect_node(login: NodeLogin) -> tuple[Cluster, Session]:
    """A cassandra-driver cluster and a session connected to the node (protocol v5).

    Raises:
        SourceRefusedError: the node answered and refused us (credentials, TLS).
        SourceUnavailableError: the node cannot be reached.
    """
    from cassandra import DriverException  # noqa: PLC0415 - heavy import
    from cassandra.auth import PlainTextAuthProvider  # noqa: PLC0415
    from cassandra.cluster import Cluster, NoHostAvailable  # noqa: PLC0415

    auth = None
    if login.username is not None:
        auth = PlainTextAuthProvider(username=login.username, password=login.password)
    cluster = Cluster([login.host], port=login.port, auth_provider=auth, protocol_version=5,
                      ssl_context=login.ssl_context)  # fmt: skip
    try:
        return cluster, cluster.connect()
    except (NoHostAvailable, DriverException, OSError) as exc:
        cluster.shutdown()
        causes = list(exc.errors.values()) if isinstance(exc, NoHostAvailable) else [exc]
        refused = refusal(causes, login)
        if refused is not None:
            raise SourceRefusedError(login.address, refused) from exc
        raise SourceUnavailableError(login.address, str(exc).splitlines()[0][:300]) from exc


def refusal(causes: list[object], login: NodeLogin) -> str | None:
    """What to check when the node refused us, from the driver's errors per host; None when
    it did not refuse (unreachable, timed out). Never quotes the password."""
    from cassandra import AuthenticationFailed  # noqa: PLC0415 - heavy import

    for cause in causes:
        text = str(cause)
        if isinstance(cause, AuthenticationFailed) or "Bad credentials" in text:
            if login.username is None:
                return "the node requires a login: set source.cassandra.username and a password"
            return (f"authentication failed for user {login.username}: wrong username or "
                    "password")  # fmt: skip
        # The driver reports a failed handshake as an OSError whose text ends with the ssl
        # module's message ("Tried connecting to [...]. Last error: [SSL: ...] ...").
        verify = _VERIFY_FAILED.search(text)
        if verify is not None:
            reason = verify.group(1).strip()
            if "mismatch" in reason:
                return f"the node's TLS certificate does not name {login.host} ({reason})"
            return (f"the node's TLS certificate could not be verified with the CA file "
                    f"(source.cassandra.tls.ca_file): {reason}")  # fmt: skip
        handshake = _SSL_ERROR.search(text)
        if handshake is not None:
            return f"TLS could not be set up: {handshake.group(0).strip()}"
    return None


_VERIFY_FAILED = re.compile(r"certificate verify failed: ([^(]+)")
_SSL_ERROR = re.compile(r"\[SSL: [A-Z_]+\][^(]*")
