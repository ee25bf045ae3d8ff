"""Opening a clickhouse-connect client: the DSN plus credentials and TLS settings.

The one place that calls `clickhouse_connect.get_client`, so the sinks, verify and audit
connect alike. It runs no query and reads no file itself (clickhouse-connect opens the CA and
client certificate files); the password is passed through and never logged or shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from casscade.errors import PermanentSinkError
from casscade.sinks.refusals import (
    AUTHENTICATION_FAILED,
    CERTIFICATE_UNVERIFIED,
    CERTIFICATE_WRONG_HOST,
    Refusal,
    refusal,
)

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client


@dataclass(frozen=True, slots=True)
class ClientOptions:
    """Credentials and TLS of a ClickHouse server (all unset for chDB).

    Attributes:
        username: the ClickHouse user (clickhouse-connect's default user when None).
        password: its password; kept out of repr().
        ca_cert: PEM file of the CA that signed the server's certificate (https); the
            system's trusted CAs when None.
        client_cert: PEM client certificate, for servers that require one.
        client_key: the client certificate's key, unless client_cert holds it.
        verify: check the server's certificate and host name (https).
    """

    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_cert: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    verify: bool = True


def client_arguments(dsn: str, options: ClientOptions) -> dict[str, Any]:
    """The keyword arguments of `clickhouse_connect.get_client` for `dsn` and `options`.

    Only what is set is passed, and nothing but the DSN for chDB (clickhouse-connect ignores
    server settings there, with a warning). `verify` and the CA go only with https, where
    clickhouse-connect uses them.
    """
    # Any: keyword arguments of a driver call of several types (the driver's edge).
    arguments: dict[str, Any] = {"dsn": dsn}
    if dsn.startswith("chdb:"):
        return arguments
    if options.username is not None:
        arguments["username"] = options.username
    if options.password is not None:
        arguments["password"] = options.password
    if dsn.startswith("https:"):
        # clickhouse-connect takes TLS from the port (443, 8443) or `secure`, not from the
        # DSN's scheme: without this, https://host:8123 would be plain HTTP.
        arguments["secure"] = True
        arguments["verify"] = options.verify
        files = {"ca_cert": options.ca_cert, "client_cert": options.client_cert,
                 "client_cert_key": options.client_key}  # fmt: skip
        arguments.update({name: str(path) for name, path in files.items() if path is not None})
    return arguments


def open_client(dsn: str, options: ClientOptions | None = None) -> Client:
    """A clickhouse-connect client (it connects, and runs its first query, at once).

    Raises:
        Whatever clickhouse-connect or chDB raise; callers translate (sink.classify).
    """
    import clickhouse_connect  # noqa: PLC0415 - loads the embedded engine when chDB

    arguments = client_arguments(dsn, options or ClientOptions())
    return clickhouse_connect.get_client(**arguments)


# Words of clickhouse-connect (urllib3 and Python's ssl underneath) and of the server for a
# connection that is refused; the first match wins, so the more specific come first.
_REFUSALS: tuple[Refusal, ...] = (
    ("mismatch, certificate is not valid", f"{CERTIFICATE_WRONG_HOST} (the dsn's host)"),
    ("certificate verify failed", f"{CERTIFICATE_UNVERIFIED} with the CA file (ca_cert)"),
    ("alert unknown ca", "the server refused the client certificate (client_cert)"),
    ("certificate required", "the server requires a client certificate (client_cert)"),
    ("AUTHENTICATION_FAILED", AUTHENTICATION_FAILED),
    ("REQUIRED_PASSWORD", AUTHENTICATION_FAILED),
)
_REASON = re.compile(r"certificate verify failed: ([^'()\]]+)|(DB::Exception: [^(]+)")
_URL = re.compile(r"https?://[^\s/)]+")


def refused_connection(destination: str, exc: Exception) -> PermanentSinkError | None:
    """A refused connection (TLS, credentials) as a one-line permanent error, else None.

    The line says what to check, then the driver's reason and the server's address; never
    the request, whose headers hold the credentials.
    """
    text = str(exc)
    sentence = refusal(text, _REFUSALS)
    if sentence is None:
        return None
    details = []
    reason = _REASON.search(text)
    if reason is not None:
        details.append((reason.group(1) or reason.group(2)).strip())
    url = _URL.search(text)
    if url is not None:
        details.append(url.group(0))
    suffix = f" ({', '.join(details)})" if details else ""
    return PermanentSinkError(destination, sentence + suffix)
