"""A destination's server stopped for 60 seconds mid-workload: the others never wait for it.

`casscade run` replicates a live random workload (three table shapes, tests/integration/
shapes.py) into PostgreSQL, TimescaleDB and ClickHouse. The stack's PostgreSQL server is
stopped with the stack's own code for 60 seconds while the workload keeps writing: over
those 60 seconds the TimescaleDB and ClickHouse destinations keep applying (the agent's own
applied counters, read from its /metrics, grow in every third of the outage) and
PostgreSQL's does not move. PostgreSQL is started again (in a `finally`, so later tests have
it), catches up from its own position, and `casscade verify` finds all three equal to
Cassandra.

ClickHouse is chDB here, embedded in the agent's own process: there is no server to stop,
and closing the agent's own chDB client is not an outage the agent could see or survive the
way a remote server's is, so the test stops the PostgreSQL server (the TimescaleDB server is
stopped in test_agent_outage.py).
"""

from __future__ import annotations

import itertools
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from casscade.stack.manager import Stack
from tests.integration import shapes
from tests.integration.workloads import create_keyspace

KEYSPACE = "it_outage60"
OUTAGE_S = 60.0
# After 60 s down, the agent's next attempt comes at most 30 s (+25% jitter) later.
CATCH_UP_S = 150.0
APPLIED = "casscade_destination_events_applied_total"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _config(stack: Stack, tmp_path: Path, names: dict[str, str], run: str, port: int) -> Path:
    pg, ts = stack.settings.postgres, stack.settings.timescaledb
    tables = ", ".join(f"{KEYSPACE}.{name}" for name in names.values())
    path = tmp_path / "casscade.yaml"
    path.write_text(
        f"""
source:
  node_id: outage60-node
  cdc_raw_dir: {stack.cassandra.layout.cdc_raw_dir}
  cassandra: {{host: 127.0.0.1, port: {stack.settings.cassandra.native_port}}}
  cleanup: keep
  poll_interval_ms: 100
tables: [{tables}]
destinations:
  - {{type: postgres, name: pg-{run}, host: {pg.host}, port: {pg.port},
      database: {pg.database}, user: {pg.user}, password_env: TEST_PG_PASSWORD,
      schema_prefix: o{run}_}}
  - {{type: timescaledb, name: ts-{run}, host: {ts.host}, port: {ts.port},
      database: {ts.database}, user: {ts.user}, prepared_statements: false,
      schema_prefix: o{run}_}}
  - {{type: clickhouse, name: ch-{run}, dsn: "chdb://{tmp_path}/ch", database_prefix: o{run}_}}
batch: {{max_events: 200}}
http: {{port: {port}}}
dead_letters: {{directory: {tmp_path}/dlq}}
""",
        encoding="utf-8",
    )
    return path


def _applied(url: str, run: str) -> dict[str, int]:
    """Events each destination (pg, ts, ch) applied in this agent process, from /metrics;
    an empty dict while the agent does not answer yet."""
    try:
        with urllib.request.urlopen(url + "/metrics", timeout=10) as response:  # noqa: S310
            text = response.read().decode()
    except OSError:
        return {}
    out = {"pg": 0, "ts": 0, "ch": 0}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == APPLIED:
                kind, _, suffix = sample.labels.get("destination", "").partition("-")
                if suffix == run:
                    out[kind] += int(sample.value)
    return out


def _wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout_s} s waiting for {what}"
        time.sleep(0.5)


class _Writer:
    """Runs random operations over the tables from a thread until stopped (about 200/s)."""

    def __init__(self, session: Any, tables: list[shapes.Table]) -> None:
        rng = random.Random(60)
        stamps = shapes.Stamps(rng, int(time.time() * 1_000_000))
        self._operations = shapes.operations(rng, tables, 10**9, stamps)
        self._session = session
        self._prepared: dict[str, Any] = {}
        self.written = 0
        self.error: BaseException | None = None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            while not self.stop.is_set():
                for op in (next(self._operations) for _ in range(20)):
                    if op.cql not in self._prepared:
                        self._prepared[op.cql] = self._session.prepare(op.cql)
                    self._session.execute(self._prepared[op.cql], op.values)
                    self.written += 1
                time.sleep(0.1)
        except BaseException as exc:  # the test reports it
            self.error = exc
            raise

    def finish(self) -> None:
        """Stop writing; fail if a write failed."""
        self.stop.set()
        self.thread.join(timeout=60)
        assert not self.thread.is_alive()
        assert self.error is None, repr(self.error)


def _outage(stack: Stack, url: str, run: str, writer: _Writer) -> list[dict[str, int]]:
    """Stop PostgreSQL for OUTAGE_S; the applied counts (and the writes so far) at its start
    and after each third."""
    stack.postgres.down()
    samples = [{**_applied(url, run), "written": writer.written}]
    began = time.monotonic()
    for third in (1, 2, 3):
        time.sleep(max(0.0, began + OUTAGE_S * third / 3 - time.monotonic()))
        samples.append({**_applied(url, run), "written": writer.written})
        # The stack is shared: another session's `stack up` would end the outage early.
        assert stack.postgres.pid() is None, "PostgreSQL was started by someone else"
    return samples


def _caught_up(url: str, run: str) -> bool:
    """Every destination applied as many events, and none applied more within a second."""
    first = _applied(url, run)
    time.sleep(1)
    return len(set(first.values())) == 1 and _applied(url, run) == first


def test_postgres_down_60s_others_continue_and_it_catches_up(stack: Stack, tmp_path: Path) -> None:
    """TimescaleDB and ClickHouse apply throughout PostgreSQL's 60 s outage; afterwards
    PostgreSQL catches up and all three equal Cassandra."""
    run = uuid.uuid4().hex[:8]
    names = {shape: f"{shape}_{run}" for shape in ("series", "rich", "frozen")}
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    config = _config(stack, tmp_path, names, run, port)
    env = dict(os.environ, TEST_PG_PASSWORD=stack.settings.postgres.password, COLUMNS="240")
    main = "from casscade.cli.main import main; main()"
    with stack.cassandra.cluster() as cluster:
        session = cluster.connect()
        create_keyspace(session, KEYSPACE)
        shapes.create_tables(session, KEYSPACE, names)
        writer = _Writer(session, list(shapes.tables(KEYSPACE, names).values()))
        log = (tmp_path / "agent.log").open("wb")
        agent = subprocess.Popen([sys.executable, "-c", main, "run", "--config", str(config)],
                                 stdout=log, stderr=log, env=env)  # fmt: skip
        writer.thread.start()
        try:
            _wait_for(lambda: min(_applied(url, run).values(), default=0) > 0, 120,
                      "every destination to apply events")  # fmt: skip
            try:
                samples = _outage(stack, url, run, writer)
            finally:
                stack.postgres.up()
            time.sleep(5)  # the workload goes on across PostgreSQL's return
            writer.finish()
            _wait_for(lambda: _caught_up(url, run), CATCH_UP_S, "PostgreSQL to catch up")
        finally:
            writer.stop.set()
            agent.send_signal(signal.SIGTERM)
            agent.wait(timeout=60)
            log.close()
            stack.postgres.up()
        verify = subprocess.run([sys.executable, "-c", main, "verify", "--config", str(config)],
                                capture_output=True, text=True, env=env, timeout=300,
                                check=False)  # fmt: skip
    text = (tmp_path / "agent.log").read_text(encoding="utf-8", errors="replace")
    assert agent.returncode == 0, text[-2000:]
    assert "destination_unavailable" in text
    for before, after in itertools.pairwise(samples):
        assert after["ts"] > before["ts"], samples  # TimescaleDB kept replicating
        assert after["ch"] > before["ch"], samples  # and ClickHouse
        assert after["pg"] == before["pg"], samples  # PostgreSQL was down throughout
    assert samples[-1]["written"] - samples[0]["written"] > 3000, samples  # writes went on
    assert verify.returncode == 0, verify.stdout[-3000:] + verify.stderr[-2000:]
    assert verify.stdout.count("│ equal") == 9, verify.stdout
