"""StatusServer over real HTTP on an ephemeral loopback port: endpoints, codes, tokens."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr, ValidationError

from casscade.commitlog.position import Position
from casscade.errors import ConfigError, TransientSinkError
from casscade.observability.config import HttpConfig, resolve_token
from casscade.observability.server import StatusServer
from casscade.observability.telemetry import Telemetry
from tests.unit.observability._support import T0, event

TOKEN = "s3cret-token"  # noqa: S105 - a test token


def get(
    url: str, *, headers: dict[str, str] | None = None, method: str = "GET"
) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of a request; HTTP errors are answers, not exceptions."""
    request = urllib.request.Request(url, headers=headers or {}, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, dict(exc.headers), exc.read()


def get_json(url: str, **kwargs: Any) -> tuple[int, Any]:
    status, _, body = get(url, **kwargs)
    return status, json.loads(body)


@pytest.fixture
def telemetry() -> Telemetry:
    t = Telemetry.create("node1")
    pg = t.destination("pg", "postgres", ["ks.t"])
    t.destination("ch", "clickhouse")
    t.source_reached()
    t.heartbeat()
    pg.reached(Position(4, 0))
    pg.applied([event(written_s=T0)], duration_s=0.01, position=Position(4, 120))
    return t


@pytest.fixture
def server(telemetry: Telemetry) -> Iterator[StatusServer]:
    with StatusServer(telemetry.board, telemetry.metrics.registry, HttpConfig(port=0)) as s:
        yield s


@pytest.fixture
def secured(telemetry: Telemetry) -> Iterator[StatusServer]:
    config = HttpConfig(port=0, token=SecretStr(TOKEN))
    with StatusServer(telemetry.board, telemetry.metrics.registry, config,
                      token=resolve_token(config, {})) as s:  # fmt: skip
        yield s


def test_server_binds_loopback_on_an_ephemeral_port(server: StatusServer) -> None:
    """Port 0 gives a real port on 127.0.0.1."""
    host, port = server.address
    assert host == "127.0.0.1"
    assert port > 0
    assert server.url == f"http://127.0.0.1:{port}"


def test_server_healthz_is_200_while_alive_and_503_after_stop(
    server: StatusServer, telemetry: Telemetry
) -> None:
    """/healthz follows the agent loop's liveness."""
    status, body = get_json(server.url + "/healthz")
    assert status == 200
    assert body["alive"] is True
    telemetry.stopped()
    status, body = get_json(server.url + "/healthz")
    assert status == 503
    assert body["alive"] is False


def test_server_readyz_lists_every_dependency(server: StatusServer, telemetry: Telemetry) -> None:
    """/readyz is 503 with the unreached destination failing, 200 once everything runs."""
    status, body = get_json(server.url + "/readyz")
    assert status == 503
    assert body["ready"] is False
    checks = {c["name"]: c for c in body["checks"]}
    assert set(checks) == {"agent", "source", "pg", "ch"}
    assert checks["pg"]["ok"] is True
    assert checks["ch"] == {"name": "ch", "ok": False, "detail": "starting", "last_error": None}
    ch = telemetry.destination("ch", "clickhouse")
    ch.reached(None)
    status, body = get_json(server.url + "/readyz")
    assert (status, body["ready"]) == (200, True)
    ch.error(TransientSinkError("ch", "connection refused"), retry_in_s=1.5)
    status, body = get_json(server.url + "/readyz")
    assert status == 503
    failing = [c for c in body["checks"] if not c["ok"]]
    assert failing[0]["name"] == "ch"
    assert failing[0]["last_error"]["kind"] == "transient"
    assert failing[0]["last_error"]["message"] == "connection refused"


def test_server_status_has_destinations_and_agent_fields(server: StatusServer) -> None:
    """/status is the AgentStatus as JSON: destinations, positions, counts, history."""
    status, body = get_json(server.url + "/status")
    assert status == 200
    assert body["node_id"] == "node1"
    assert {"alive", "ready", "now", "started_at", "window_s", "source"} <= set(body)
    assert set(body["source"]) >= {"cdc_raw_used_bytes", "cdc_raw_total_bytes",
                                   "cdc_raw_used_ratio", "segments_decoded"}  # fmt: skip
    pg, ch = body["destinations"]
    assert (pg["name"], pg["type"], pg["state"]) == ("pg", "postgres", "running")
    assert pg["position"] == "4:120"
    assert pg["applied_events"] == 1
    assert pg["errors"] == {"transient": 0, "permanent": 0, "internal": 0, "total": 0}
    assert isinstance(pg["history"], list)
    assert pg["history"][0].keys() == {"at", "lag_s", "events_per_s", "backlog_events"}
    assert (ch["state"], ch["position"], ch["lag_s"]) == ("starting", None, None)


def test_server_metrics_parse_as_prometheus_text(server: StatusServer) -> None:
    """/metrics is Prometheus text that the official parser reads, with our series."""
    status, headers, body = get(server.url + "/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    applied = families["casscade_destination_events_applied"]
    samples = {(s.labels["destination"], s.labels["table"]): s.value
               for s in applied.samples if s.name.endswith("_total")}  # fmt: skip
    assert samples == {("pg", "ks.t"): 1.0}
    assert "casscade_destination_lag_seconds" in families


def test_server_page_is_html_with_a_strict_policy(server: StatusServer) -> None:
    """/ serves the status page, with a content security policy allowing only itself."""
    status, headers, body = get(server.url + "/")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert "connect-src 'self'" in headers["Content-Security-Policy"]
    assert b"<title>casscade status</title>" in body
    assert b"http://" not in body.replace(b"http://www.w3.org/2000/svg", b"")  # no CDN


def test_server_unknown_path_and_method(server: StatusServer) -> None:
    """An unknown path is 404 and a write method 405, both as JSON."""
    status, body = get_json(server.url + "/nope")
    assert (status, body["error"]) == (404, "not found")
    status, body = get_json(server.url + "/status", method="POST")
    assert (status, body["error"]) == (405, "method not allowed")


def test_server_head_has_no_body(server: StatusServer) -> None:
    """HEAD answers with the headers only."""
    status, headers, body = get(server.url + "/status", method="HEAD")
    assert status == 200
    assert int(headers["Content-Length"]) > 0
    assert body == b""


@pytest.mark.parametrize("path", ["/", "/status", "/readyz", "/metrics"])
def test_server_with_token_refuses_missing_or_wrong_token(secured: StatusServer, path: str) -> None:
    """Every path but /healthz needs the token: none or a wrong one is 401 with a challenge."""
    status, headers, _ = get(secured.url + path)
    assert status == 401
    assert "Basic" in headers["WWW-Authenticate"] or "Bearer" in headers["WWW-Authenticate"]
    status, _, _ = get(secured.url + path, headers={"Authorization": "Bearer wrong"})
    assert status == 401
    status, _, _ = get(secured.url + path, headers={"Authorization": f"Token {TOKEN}"})
    assert status == 401


@pytest.mark.parametrize("path", ["/", "/status", "/metrics"])
def test_server_with_token_accepts_bearer_and_basic(secured: StatusServer, path: str) -> None:
    """The token works as a bearer token and as a Basic password (any user name)."""
    status, _, _ = get(secured.url + path, headers={"Authorization": f"Bearer {TOKEN}"})
    assert status == 200
    basic = base64.b64encode(f"ops:{TOKEN}".encode()).decode()
    status, _, _ = get(secured.url + path, headers={"Authorization": f"Basic {basic}"})
    assert status == 200


def test_server_with_token_rejects_malformed_basic(secured: StatusServer) -> None:
    """Garbage in a Basic header is a 401, not an error."""
    status, _, _ = get(secured.url + "/status", headers={"Authorization": "Basic %%%"})
    assert status == 401


def test_server_with_token_leaves_healthz_open(secured: StatusServer) -> None:
    """/healthz answers without a token (for a liveness probe)."""
    status, body = get_json(secured.url + "/healthz")
    assert (status, body["alive"]) == (200, True)


def test_server_on_all_addresses_needs_the_token(telemetry: Telemetry) -> None:
    """Bound to 0.0.0.0 with a token, a request without it is refused (sent to loopback)."""
    config = HttpConfig(host="0.0.0.0", port=0, token=SecretStr(TOKEN))  # noqa: S104
    with StatusServer(telemetry.board, telemetry.metrics.registry, config,
                      token=SecretStr(TOKEN)) as server:  # fmt: skip
        port = server.address[1]
        assert get(f"http://127.0.0.1:{port}/status")[0] == 401
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        assert get(f"http://127.0.0.1:{port}/status", headers=bearer)[0] == 200


def test_server_non_loopback_without_token_is_refused(telemetry: Telemetry) -> None:
    """The server will not start on a public address without a resolved token."""
    config = HttpConfig(host="0.0.0.0", port=0, token_env="CASSCADE_HTTP_TOKEN")  # noqa: S104, S106
    with pytest.raises(ConfigError, match="needs a token"):
        StatusServer(telemetry.board, telemetry.metrics.registry, config, token=None)


def test_server_port_in_use_is_a_config_error(server: StatusServer, telemetry: Telemetry) -> None:
    """A port another server holds gives a ConfigError naming the address."""
    taken = HttpConfig(port=server.address[1])
    second = StatusServer(telemetry.board, telemetry.metrics.registry, taken)
    with pytest.raises(ConfigError, match=r"cannot listen on 127\.0\.0\.1"):
        second.start()


def test_http_config_defaults_and_token_rules() -> None:
    """Defaults to 127.0.0.1:9470; a public host without a token, or two tokens, is invalid."""
    config = HttpConfig()
    assert (config.host, config.port, config.token) == ("127.0.0.1", 9470, None)
    with pytest.raises(ValidationError, match="needs a bearer token"):
        HttpConfig(host="0.0.0.0")  # noqa: S104
    with pytest.raises(ValidationError, match="one way"):
        HttpConfig(token_env="A", token_file=Path("/t"))  # noqa: S106 - a variable name
    assert HttpConfig(host="::1").host == "::1"
    assert HttpConfig(host="localhost").token is None
    assert "s3cret" not in repr(HttpConfig(token=SecretStr(TOKEN)))


def test_resolve_token_from_env_and_file(tmp_path: Path) -> None:
    """The token comes from the named variable or file, stripped; problems are ConfigErrors."""
    by_env = HttpConfig(host="0.0.0.0", token_env="TOK")  # noqa: S104, S106
    resolved = resolve_token(by_env, {"TOK": " abc \n"})
    assert resolved is not None
    assert resolved.get_secret_value() == "abc"
    with pytest.raises(ConfigError, match="TOK is not set"):
        resolve_token(by_env, {})
    path = tmp_path / "token"
    path.write_text("from-file\n", encoding="utf-8")
    resolved = resolve_token(HttpConfig(token_file=path), {})
    assert resolved is not None
    assert resolved.get_secret_value() == "from-file"
    path.write_text("  \n", encoding="utf-8")
    with pytest.raises(ConfigError, match="empty"):
        resolve_token(HttpConfig(token_file=path), {})
    with pytest.raises(ConfigError, match="cannot read"):
        resolve_token(HttpConfig(token_file=tmp_path / "missing"), {})
    assert resolve_token(HttpConfig(), {}) is None
