"""Metrics, health, status and the status page of the real agent under a real workload.

The agent replicates a live Cassandra workload into PostgreSQL and ClickHouse while a third
destination is down (a PostgreSQL address nothing listens on). Over HTTP: the down
destination's error counter grows and readiness names it, the other two stay up and their
applied counters keep growing; /healthz stays alive; `casscade status` lists the three. In a
real headless Chromium the status page shows the three destinations and its numbers move
while the workload runs (screenshot in /tmp/status-page-live.png).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import expect, sync_playwright
from prometheus_client.parser import text_string_to_metric_families

from casscade.config.load import load_config
from casscade.engine.agent import Agent
from casscade.observability import StatusServer, Telemetry
from casscade.observability.board import BoardTiming, StatusBoard
from casscade.observability.metrics import Metrics
from casscade.source.registry import SchemaRegistry
from casscade.source.schema import read_schema_rows
from casscade.stack.manager import Stack
from tests.integration.test_status_page import cell, chromium_path, wait_until_changed
from tests.integration.workloads import create_keyspace

KEYSPACE = "it_operations"
SCREENSHOT = Path("/tmp/status-page-live.png")  # noqa: S108 - a fixed place to look at it
DEADLINE_S = 60.0


def _free_port() -> int:
    """A local port nothing listens on (bound and released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _config(stack: Stack, tmp_path: Path, table: str) -> Path:
    pg = stack.settings.postgres
    path = tmp_path / "casscade.yaml"
    path.write_text(
        f"""
source:
  node_id: ops-node
  cdc_raw_dir: {stack.cassandra.layout.cdc_raw_dir}
  cassandra: {{host: 127.0.0.1, port: {stack.settings.cassandra.native_port}}}
  cleanup: keep
  poll_interval_ms: 100
tables: [{KEYSPACE}.{table}]
destinations:
  - {{type: postgres, name: pg, host: {pg.host}, port: {pg.port}, database: {pg.database},
      user: {pg.user}, password_env: TEST_PG_PASSWORD, schema_prefix: ops_}}
  - {{type: clickhouse, name: ch, dsn: "chdb://{tmp_path}/ch", database_prefix: ops_}}
  - {{type: postgres, name: pg-down, host: 127.0.0.1, port: {_free_port()},
      database: {pg.database}, user: {pg.user}, password_env: TEST_PG_PASSWORD}}
batch: {{max_events: 200}}
dead_letters: {{directory: {tmp_path}/dlq}}
""",
        encoding="utf-8",
    )
    return path


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - our server
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _metric(url: str, name: str, destination: str) -> float:
    """A sample of the agent's /metrics for one destination (0 when absent)."""
    _, text = _get(url + "/metrics")
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels.get("destination") == destination:
                return float(sample.value)
    return 0.0


def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {DEADLINE_S} s: {what}")


class Workload:
    """Writes rows into the table from a thread until stopped."""

    def __init__(self, session: Any, table: str) -> None:
        self.session = session
        self.table = table
        self.stop = threading.Event()
        self.written = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        insert = self.session.prepare(f"INSERT INTO {KEYSPACE}.{self.table} (id, v) VALUES (?, ?)")
        while not self.stop.is_set():
            for _ in range(50):
                self.session.execute(insert, (self.written, f"value {self.written}"))
                self.written += 1
            time.sleep(0.05)

    def __enter__(self) -> Workload:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=10)


def test_metrics_health_status_and_page_with_one_destination_down(
    stack: Stack, tmp_path: Path
) -> None:
    """The down destination is visible everywhere; the others keep replicating."""
    table = f"o_{uuid.uuid4().hex[:10]}"
    env = dict(os.environ, TEST_PG_PASSWORD=stack.settings.postgres.password)
    config = load_config(_config(stack, tmp_path, table), environ=env)
    timing = BoardTiming(window_s=5, history_s=120, sample_every_s=0.5)
    telemetry = Telemetry(Metrics("ops-node"), StatusBoard("ops-node", timing=timing))
    with stack.cassandra.cluster() as cluster:
        session = cluster.connect()
        create_keyspace(session, KEYSPACE)
        session.execute(
            f"CREATE TABLE {KEYSPACE}.{table} (id int PRIMARY KEY, v text) WITH cdc = true"
        )
        agent = Agent(config, SchemaRegistry(lambda: read_schema_rows(session)),
                      telemetry=telemetry)  # fmt: skip
        stop = threading.Event()
        loop = threading.Thread(
            target=agent.run, kwargs={"should_stop": stop.is_set, "sleep": stop.wait}, daemon=True
        )
        loop.start()
        try:
            http = config.http.model_copy(update={"port": 0})
            with StatusServer(telemetry.board, telemetry.metrics.registry, http) as server, \
                    Workload(session, table) as workload:  # fmt: skip
                url = server.url
                _until(lambda: _metric(url, "casscade_destination_events_applied_total", "pg") > 0,
                       "pg applies events")  # fmt: skip
                errors_before = _metric(url, "casscade_destination_errors_total", "pg-down")
                applied = {d: _metric(url, "casscade_destination_events_applied_total", d)
                           for d in ("pg", "ch")}  # fmt: skip
                _until(lambda: _metric(url, "casscade_destination_errors_total", "pg-down")
                       > errors_before, "pg-down's error counter grows")  # fmt: skip
                for name, before in applied.items():
                    _until(lambda n=name, b=before: _metric(  # type: ignore[misc]
                        url, "casscade_destination_events_applied_total", n) > b,
                        f"{name} keeps applying")  # fmt: skip
                assert _metric(url, "casscade_destination_up", "pg") == 1.0
                assert _metric(url, "casscade_destination_up", "pg-down") == 0.0

                ready_code, ready_body = _get(url + "/readyz")
                assert ready_code == 503
                readiness = json.loads(ready_body)
                assert "pg-down" in json.dumps(readiness)
                health_code, _ = _get(url + "/healthz")
                assert health_code == 200
                status_code, status_body = _get(url + "/status")
                assert status_code == 200
                status = {d["name"]: d for d in json.loads(status_body)["destinations"]}
                assert sorted(status) == ["ch", "pg", "pg-down"]
                assert status["pg"]["position"] is not None
                assert status["pg-down"]["last_error"]["kind"] == "transient"
                assert "password" not in status_body  # never a credential on /status

                cli = subprocess.run(
                    [sys.executable, "-c", "from casscade.cli.main import main; main()",
                     "status", "--url", url, "--json"],
                    capture_output=True, text=True, timeout=120, check=False,
                )  # fmt: skip
                assert cli.returncode == 0, cli.stderr
                listed = [d["name"] for d in json.loads(cli.stdout)["destinations"]]
                assert listed == ["pg", "ch", "pg-down"]

                _page(url)
                assert workload.written > 0
        finally:
            stop.set()
            loop.join(timeout=30)
            agent.close()


def _page(url: str) -> None:
    """The page in Chromium: three destinations, pg's numbers moving, pg-down retrying."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(url + "/?refresh=1")
        rows = page.locator("#destinations tbody tr[data-destination]")
        expect(rows).to_have_count(3, timeout=DEADLINE_S * 1000)
        assert [rows.nth(i).get_attribute("data-destination") for i in range(3)] == [
            "pg", "ch", "pg-down"
        ]  # fmt: skip
        first = cell(page, "pg", "applied_events")
        second = wait_until_changed(page, "pg", "applied_events", first)
        assert int(second.replace(",", "")) > int(first.replace(",", ""))
        wait_until_changed(page, "ch", "applied_events", cell(page, "ch", "applied_events"))
        expect(page.locator('tr[data-destination="pg-down"] td[data-field="state"]')).to_have_text(
            "retrying", timeout=DEADLINE_S * 1000
        )
        page.wait_for_timeout(3000)  # a few chart samples for the screenshot
        page.screenshot(path=str(SCREENSHOT), full_page=True)
        browser.close()
        assert errors == []
