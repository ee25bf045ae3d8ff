"""Tests of `casscade status` against a fake agent: a local HTTP server serving /status JSON.

The JSON is what the agent's own `to_json` makes of an `AgentStatus`, so the command is
checked against the real shape; the agent side is tested in tests/unit/observability.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from casscade.cli.main import main
from casscade.cli.status import status_url
from casscade.commitlog.position import Position
from casscade.errors import ConfigError
from casscade.observability.kinds import DestinationState, ErrorKind
from casscade.observability.status import (
    AgentStatus,
    DestinationStatus,
    ErrorCounts,
    LastError,
    SourceStatus,
    to_json,
)

NOW = 1_800_000_000.0


def _destination(name: str, **changes: object) -> DestinationStatus:
    values: dict[str, object] = {
        "name": name, "type": "postgres", "state": DestinationState.RUNNING, "stalled": False,
        "position": Position(12, 3456), "lag_s": 0.8, "lag_behind_source_s": 0.2,
        "events_per_s": 1520.0, "applied_events": 90_000, "backlog_events": 40,
        "errors": ErrorCounts(), "retries": 0, "dead_letters": 0, "last_error": None,
        "last_commit_at": NOW - 1, "retry_at": None, "history": (),
    }  # fmt: skip
    values.update(changes)
    return DestinationStatus(**values)  # type: ignore[arg-type]


STATUS = AgentStatus(
    node_id="cassandra-1", version="0.1.0", started_at=NOW - 600, now=NOW, alive=True,
    ready=False, window_s=60.0,
    source=SourceStatus(reachable=True, last_error=None, segments_decoded=3,
                        decoded_bytes=1 << 20, decode_errors=0, schema_changes=0,
                        cdc_raw_used_bytes=1 << 30, cdc_raw_total_bytes=4 << 30),
    destinations=(
        _destination("warehouse"),
        _destination("olap", type="clickhouse", state=DestinationState.RETRYING,
                     position=None, lag_s=None, events_per_s=0.0, backlog_events=7000,
                     dead_letters=3, retry_at=NOW + 20,
                     last_error=LastError(ErrorKind.TRANSIENT, "connection refused", NOW - 5)),
    ),
)  # fmt: skip


@dataclass
class FakeAgent:
    """What the fake agent answers, and the Authorization headers it was sent."""

    url: str
    code: int = 200
    body: bytes = field(default_factory=lambda: json.dumps(to_json(STATUS)).encode())
    authorizations: list[str | None] = field(default_factory=list)


@pytest.fixture
def agent() -> Iterator[FakeAgent]:
    """A fake agent on 127.0.0.1, a free port, answering GET /status."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fake.authorizations.append(self.headers.get("Authorization"))
            code, body = (fake.code, fake.body) if self.path == "/status" else (404, b"{}")
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            """Quiet: the tests read what the command prints."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake = FakeAgent(url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()
    thread.join()


Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def casscade(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    """Runs the CLI in this process, as `casscade ...` would, returning (code, out, err)."""
    monkeypatch.setenv("COLUMNS", "250")  # no folded table cells

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["casscade", *args])
        with pytest.raises(SystemExit) as exited:
            main()
        captured = capsys.readouterr()
        code = exited.value.code
        return (code if isinstance(code, int) else 1), captured.out, captured.err

    return run


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_status_prints_each_destination_and_cdc_raw_usage(agent: FakeAgent, casscade: Run) -> None:
    """The table shows each destination's state, position, lag, throughput, backlog, last
    error and dead letters, with the agent's cdc_raw usage above it."""
    code, out, err = casscade("status", "--url", agent.url)
    assert code == 0, err
    assert "agent cassandra-1 (casscade 0.1.0)" in out
    assert "alive, NOT READY, up 10.0 min" in out
    assert "cdc_raw: 1.0 GiB of 4.0 GiB used (25%)" in out
    warehouse = next(line for line in out.splitlines() if "│ warehouse" in line)
    for text in ("running", "12:3456", "0.8 s", "1520.0", "│      40 │"):
        assert text in warehouse, (text, warehouse)
    olap = next(line for line in out.splitlines() if "│ olap" in line)
    for text in ("retrying (retry in 20.0 s)", "none", "│    7000 │"):
        assert text in olap, (text, olap)
    assert olap.rstrip(" │").endswith(" 3")  # dead letters, the last column
    assert "last error of olap: transient: connection refused (5.0 s ago)" in out
    assert "last error of warehouse" not in out
    assert agent.authorizations == [None]


def test_status_json_prints_the_agents_json(agent: FakeAgent, casscade: Run) -> None:
    """--json prints the agent's JSON unchanged."""
    code, out, _ = casscade("status", "--url", agent.url + "/", "--json")
    assert code == 0
    assert json.loads(out) == json.loads(agent.body)


def test_status_token_env_sends_bearer_token(
    agent: FakeAgent, casscade: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The token named by --token-env goes in an Authorization: Bearer header."""
    monkeypatch.setenv("AGENT_TOKEN", "s3cret\n")
    code, _, err = casscade("status", "--url", agent.url, "--token-env", "AGENT_TOKEN")
    assert code == 0, err
    assert agent.authorizations == ["Bearer s3cret"]


def test_status_http_401_exits_2_saying_token_missing_or_wrong(
    agent: FakeAgent, casscade: Run
) -> None:
    """An agent refusing the request (401) gives one line about the token and exit code 2."""
    agent.code, agent.body = 401, b'{"error":"unauthorized"}'
    code, out, err = casscade("status", "--url", agent.url)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert "token is missing or wrong" in err
    assert "Traceback" not in err


def test_status_unreachable_agent_exits_1_naming_the_url(casscade: Run) -> None:
    """Nothing listening on the address: one line on stderr with the URL, exit code 1."""
    url = f"http://127.0.0.1:{_free_port()}"
    code, _, err = casscade("status", "--url", url)
    assert code == 1
    assert err.strip() == f"error: agent at {url}/status: unreachable: Connection refused"


def test_status_not_http_exits_1_without_traceback(casscade: Run) -> None:
    """Something that is not an HTTP server at the address (a database port, say) is one
    line naming the URL and exit code 1, not a traceback."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)

        def answer() -> None:
            connection, _ = listener.accept()
            with connection:
                connection.recv(4096)
                connection.sendall(b"\x00\x01 binary protocol\r\n\r\n")

        thread = threading.Thread(target=answer)
        thread.start()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        code, _, err = casscade("status", "--url", url)
        thread.join()
    assert code == 1
    assert err.strip() == f"error: agent at {url}/status: not an HTTP server (BadStatusLine)"


@pytest.mark.parametrize(
    ("code", "body", "problem"),
    [
        (200, b'{"hello": "world"}', "not a casscade /status response (node_id: Field required)"),
        (200, b"<html></html>", "not a casscade /status response (not JSON)"),
        (500, b"{}", "HTTP 500"),
    ],
)
def test_status_unexpected_answer_exits_1(
    agent: FakeAgent, casscade: Run, code: int, body: bytes, problem: str
) -> None:
    """An answer that is not a casscade status is one line naming the URL, exit code 1."""
    agent.code, agent.body = code, body
    exit_code, _, err = casscade("status", "--url", agent.url)
    assert exit_code == 1
    assert err.strip().startswith(f"error: agent at {agent.url}/status: {problem}")


def test_status_config_takes_address_and_token_from_http_section(
    agent: FakeAgent, casscade: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """--config reaches the agent at http.host:http.port (0.0.0.0 via loopback) with the
    token its token_env names."""
    port = agent.url.rsplit(":", 1)[1]
    config = tmp_path / "casscade.yaml"
    config.write_text(
        "source: {node_id: n1, cdc_raw_dir: /var/lib/cassandra/cdc_raw}\n"
        "tables: [ks.t]\n"
        "destinations: [{type: postgres, name: pg, database: d, user: u}]\n"
        f"http: {{host: 0.0.0.0, port: {port}, token_env: AGENT_HTTP_TOKEN}}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("AGENT_HTTP_TOKEN", "from-config")
    code, out, err = casscade("status", "--config", str(config))
    assert code == 0, err
    assert "warehouse" in out
    assert agent.authorizations == ["Bearer from-config"]


def test_status_config_with_http_disabled_exits_2(casscade: Run, tmp_path: Path) -> None:
    """A configuration whose agent serves no HTTP is a configuration error naming the key."""
    config = tmp_path / "casscade.yaml"
    config.write_text(
        "source: {node_id: n1, cdc_raw_dir: /var/lib/cassandra/cdc_raw}\n"
        "tables: [ks.t]\n"
        "destinations: [{type: postgres, name: pg, database: d, user: u}]\n"
        "http: {enabled: false}\n",
        encoding="utf-8",
    )
    code, _, err = casscade("status", "--config", str(config))
    assert code == 2
    assert err.strip() == "error: http.enabled: false: the agent serves no /status"


def test_status_token_env_unset_exits_2(agent: FakeAgent, casscade: Run) -> None:
    """--token-env naming an unset variable is a usage error that names the variable."""
    code, _, err = casscade("status", "--url", agent.url, "--token-env", "NO_SUCH_VAR_X")
    assert code == 2
    assert "NO_SUCH_VAR_X is not set" in err
    assert agent.authorizations == []


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://10.0.0.7:9470", "http://10.0.0.7:9470/status"),
        ("http://10.0.0.7:9470/", "http://10.0.0.7:9470/status"),
        ("https://agent.example/casscade/status", "https://agent.example/casscade/status"),
        ("http://[::1]:9470", "http://[::1]:9470/status"),
    ],
)
def test_status_url_appends_status_path(given: str, expected: str) -> None:
    """An agent's address becomes its /status URL; a /status URL stays as it is."""
    assert status_url(given) == expected


@pytest.mark.parametrize("given", ["ftp://host/status", "127.0.0.1:9470", "http://"])
def test_status_url_not_http_is_config_error(given: str) -> None:
    """Only http(s) URLs with a host are accepted, with the option named."""
    with pytest.raises(ConfigError, match="--url"):
        status_url(given)
