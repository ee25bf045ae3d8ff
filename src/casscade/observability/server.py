"""The agent's HTTP server: /metrics, /healthz, /readyz, /status and the status page at /.

A stdlib ThreadingHTTPServer in a daemon thread; handlers only read the status board and
the metrics registry (both thread-safe), so a slow client never holds up the agent. Bound to
127.0.0.1 by default. With a token, every path except /healthz needs it, as
`Authorization: Bearer <token>` (scripts, Prometheus) or as the password of HTTP Basic
authentication (any user name; a browser's own login prompt for the page).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

import structlog
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from pydantic import SecretStr

from casscade.errors import ConfigError
from casscade.observability.board import StatusBoard
from casscade.observability.config import HttpConfig, is_loopback
from casscade.observability.status import to_json

log = structlog.get_logger(__name__)
PAGE_CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
            "connect-src 'self'; img-src data:")  # fmt: skip
# A client that sends nothing for this long is dropped, so it cannot hold a thread.
REQUEST_TIMEOUT_S = 10.0
# How often the serving thread checks for shutdown (close() waits up to this long).
SHUTDOWN_POLL_S = 0.1


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: StatusServer) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.app = app
        super().__init__(address, _Handler)


class StatusServer:
    """Serves one agent's board and metrics until `close()`.

    Args:
        board: the status board.
        registry: the Prometheus registry (`Metrics.registry`).
        config: host, port (0 picks a free one).
        token: the resolved bearer token (`resolve_token`); None allowed on loopback only.

    Raises:
        ConfigError: a non-loopback host without a token.
    """

    def __init__(
        self,
        board: StatusBoard,
        registry: CollectorRegistry,
        config: HttpConfig,
        *,
        token: SecretStr | None = None,
    ) -> None:
        if token is None and not is_loopback(config.host):
            raise ConfigError("http.host", f"binding to {config.host} needs a token")
        self.board = board
        self.registry = registry
        self.config = config
        self._token = None if token is None else token.get_secret_value().encode()
        self.page = resources.files(__package__).joinpath("page.html").read_bytes()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        """The bound host and port (the real port when 0 was configured)."""
        if self._httpd is None:
            raise RuntimeError("the server is not started")
        host, port = self._httpd.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        """http://host:port of the running server."""
        host, port = self.address
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def start(self) -> Self:
        """Bind and serve in a daemon thread.

        Raises:
            ConfigError: the address cannot be bound (in use, not an address of this host).
        """
        try:
            self._httpd = _Server((self.config.host, self.config.port), self)
        except OSError as exc:
            where = f"{self.config.host}:{self.config.port}"
            raise ConfigError("http", f"cannot listen on {where}: {exc.strerror}") from exc
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": SHUTDOWN_POLL_S},
            name="casscade-http",
            daemon=True,
        )
        self._thread.start()
        log.info("http_server_started", url=self.url, auth=self._token is not None)
        return self

    def close(self) -> None:
        """Stop serving and release the port."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=REQUEST_TIMEOUT_S)
        self._httpd = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, _type: type[BaseException] | None, _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:  # fmt: skip
        self.close()

    def is_authorized(self, header: str | None) -> bool:
        """Whether an Authorization header carries the token (always, without a token)."""
        if self._token is None:
            return True
        scheme, _, credential = (header or "").partition(" ")
        supplied = credential.strip()
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(supplied, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return False
            supplied = decoded.partition(":")[2]
        elif scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(supplied.encode(), self._token)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = REQUEST_TIMEOUT_S
    server_version = "casscade"
    sys_version = ""

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        app = self.server.app
        path = urlsplit(self.path).path
        if path == "/healthz":
            alive, age = app.board.liveness()
            body = {"alive": alive, "seconds_since_heartbeat": round(age, 3)}
            self._json(HTTPStatus.OK if alive else HTTPStatus.SERVICE_UNAVAILABLE, body)
        elif path == "/favicon.ico":
            self._send(HTTPStatus.NO_CONTENT, b"", "image/x-icon")
        elif not app.is_authorized(self.headers.get("Authorization")):
            self._unauthorized()
        elif path in {"/", "/index.html"}:
            self._send(HTTPStatus.OK, app.page, "text/html; charset=utf-8",
                       {"Content-Security-Policy": PAGE_CSP})  # fmt: skip
        elif path == "/status":
            self._json(HTTPStatus.OK, to_json(app.board.snapshot()))
        elif path == "/readyz":
            readiness = app.board.readiness()
            status = HTTPStatus.OK if readiness.ready else HTTPStatus.SERVICE_UNAVAILABLE
            self._json(status, to_json(readiness))
        elif path == "/metrics":
            encoder, content_type = choose_encoder(self.headers.get("Accept", ""))
            self._send(HTTPStatus.OK, encoder(app.registry), content_type)
        else:
            self._json(HTTPStatus.NOT_FOUND, {"error": "not found", "path": path})

    def do_POST(self) -> None:
        self._json(HTTPStatus.METHOD_NOT_ALLOWED, {"error": "method not allowed"})

    do_PUT = do_DELETE = do_PATCH = do_POST  # noqa: N815 - http.server dispatches on these names

    def _unauthorized(self) -> None:
        headers = {"WWW-Authenticate": 'Basic realm="casscade", charset="UTF-8"'}
        self._json(HTTPStatus.UNAUTHORIZED, {"error": "unauthorized"}, headers)

    def _json(
        self, status: HTTPStatus, body: object, headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(body, separators=(",", ":")).encode()
        self._send(status, data, "application/json", headers)

    def _send(
        self, status: HTTPStatus, data: bytes, content_type: str,
        headers: dict[str, str] | None = None,
    ) -> None:  # fmt: skip
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        if status is HTTPStatus.UNAUTHORIZED:
            self.send_header("WWW-Authenticate", 'Bearer realm="casscade"')
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002, ANN401 - stdlib's signature
        log.debug("http_request", client=self.client_address[0], request=format % args)
