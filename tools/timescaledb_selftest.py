#!/usr/bin/env python3
r"""Self-test of the TimescaleDB front end (server.mjs), using psycopg 3 as casscade does.

Starts the server on a temporary data dir and a free port, checks the behaviour listed in
src/casscade/stack/assets/timescaledb/README.md and prints timings. Exits non-zero on the
first failure. The server must sit beside its installed node_modules, as in the stack's
app folder (`casscade stack up` makes it):

    CASSCADE_TSDB_SERVER=.stack/timescaledb/app/server.mjs \
        .venv/bin/python tools/timescaledb_selftest.py

tests/integration/test_stack_timescaledb.py runs it in the test suite.
"""

from __future__ import annotations

import os
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import psycopg
from psycopg import errors
from psycopg.pq import TransactionStatus
from psycopg.rows import TupleRow

HERE = Path(__file__).resolve().parent
SERVER = Path(os.environ.get("CASSCADE_TSDB_SERVER", str(HERE / "server.mjs")))
READY = re.compile(r"^casscade-timescaledb ready host=(\S+) port=(\d+) pg=(\S+) timescaledb=(\S+)$")
TIMINGS: dict[str, float] = {}

R = TypeVar("R")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def fetch_one(cur: psycopg.Cursor[TupleRow]) -> TupleRow:
    """The next row of cur's result; a query that returns no row fails the check."""
    row = cur.fetchone()
    if row is None:
        raise AssertionError("the query returned no row")
    return row


def tx_status(conn: psycopg.Connection[TupleRow]) -> TransactionStatus:
    """conn's transaction status, read afresh (it changes under commit and rollback)."""
    return conn.info.transaction_status


class Server:
    def __init__(self, data_dir: str, port: int, log: Path) -> None:
        self.data_dir, self.port, self.log = data_dir, port, log
        self.proc: subprocess.Popen[str] | None = None
        self.elapsed = 0.0

    def start(self, timeout: float = 120.0) -> str:
        t0 = time.monotonic()
        # The child gets its own copy of the log's descriptor, so ours can close at once.
        with self.log.open("a") as stderr:
            self.proc = subprocess.Popen(
                [
                    "node",
                    str(SERVER),
                    "--data-dir",
                    self.data_dir,
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ],
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )
        stdout = self.proc.stdout
        if stdout is None:
            raise RuntimeError("the server's stdout is not a pipe")
        ready, _, _ = select.select([stdout], [], [], timeout)
        assert ready, f"server printed nothing within {timeout}s"
        line = stdout.readline().rstrip("\n")
        m = READY.match(line)
        assert m, f"unexpected ready line: {line!r}"
        assert m.group(1) == "127.0.0.1" and int(m.group(2)) == self.port, line
        self.elapsed = time.monotonic() - t0
        return line

    def stop(self, timeout: float = 10.0) -> tuple[int, float]:
        if self.proc is None:
            raise RuntimeError("the server was never started")
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=timeout)
        return rc, time.monotonic() - t0

    def connect(
        self, autocommit: bool = False, prepare_threshold: int | None = None
    ) -> psycopg.Connection[TupleRow]:
        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user="casscade",
            dbname="casscade",
            autocommit=autocommit,
            prepare_threshold=prepare_threshold,
            connect_timeout=10,
        )


def in_thread(fn: Callable[[], R]) -> tuple[threading.Thread, Future[R]]:
    """Runs fn in a thread; returns (thread, box) where box gets fn's result or error."""
    box: Future[R] = Future()

    def target() -> None:
        try:
            box.set_result(fn())
        except BaseException as e:  # noqa: BLE001 -- not swallowed: finish() raises it
            box.set_exception(e)

    t = threading.Thread(target=target, daemon=True)
    t.start()
    return t, box


def finish(t: threading.Thread, box: Future[R], timeout: float = 15.0) -> R:
    t.join(timeout)
    assert not t.is_alive(), f"still blocked after {timeout}s"
    return box.result(timeout=0)  # fn's result, or the exception fn raised


@contextmanager
def timed(name: str) -> Iterator[None]:
    t0 = time.monotonic()
    try:
        yield
    finally:
        TIMINGS[name] = time.monotonic() - t0


def test_connect(srv: Server) -> None:
    with srv.connect(autocommit=True) as ac:
        version = fetch_one(ac.execute("SELECT version()"))[0]
        assert version.startswith("PostgreSQL 17."), version
        ext = ac.execute(
            "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
        ).fetchone()
        assert ext and ext[0].startswith("2.23"), ext
        assert ac.info.server_version >= 170000
        assert ac.info.parameter_status("TimeZone") == "UTC"
        assert ac.info.parameter_status("integer_datetimes") == "on"
        assert ac.info.encoding in ("utf-8", "utf8"), ac.info.encoding
    with srv.connect() as tx:
        assert tx.execute("SELECT 1 + 1").fetchone() == (2,)
        assert tx_status(tx) == TransactionStatus.INTRANS
        tx.commit()
        assert tx_status(tx) == TransactionStatus.IDLE


def test_hypertable(srv: Server) -> None:
    with srv.connect(autocommit=True) as c:
        c.execute("""CREATE TABLE events (
            id bigint NOT NULL, ts timestamptz NOT NULL, version int NOT NULL,
            payload text, PRIMARY KEY (id, ts))""")
        c.execute("SELECT create_hypertable('events', by_range('ts', INTERVAL '1 day'))")
        n = fetch_one(
            c.execute(
                "SELECT count(*) FROM timescaledb_information.hypertables "
                "WHERE hypertable_name = 'events'"
            )
        )[0]
        assert n == 1

        upsert = """INSERT INTO events (id, ts, version, payload) VALUES (%s, %s, %s, %s)
                    ON CONFLICT (id, ts) DO UPDATE
                    SET version = EXCLUDED.version, payload = EXCLUDED.payload
                    WHERE events.version < EXCLUDED.version"""
        ts = datetime(2024, 1, 1, 12, tzinfo=UTC)
        c.execute(upsert, (1, ts, 2, "v2"))
        assert c.execute(upsert, (1, ts, 1, "stale")).rowcount == 0  # guard holds
        assert c.execute(upsert, (1, ts, 3, "v3")).rowcount == 1
        row = c.execute("SELECT version, payload, ts FROM events WHERE id = %s", (1,)).fetchone()
        assert row == (3, "v3", ts), row

        # Binary parameters and results through the extended protocol.
        with c.cursor(binary=True) as cur:
            got = cur.execute(
                "SELECT %s::int8 * 2, %s::text || 'x', %s::timestamptz", (21, "ab", ts)
            ).fetchone()
            assert got == (42, "abx", ts), got

        rows = [(100 + i, ts + timedelta(hours=i), 1, f"m{i}") for i in range(2000)]
        with c.cursor() as cur, timed("executemany 2000 upserts"):
            cur.executemany(upsert, rows)
        n = fetch_one(c.execute("SELECT count(*) FROM events WHERE id BETWEEN 100 AND 2099"))[0]
        assert n == 2000, n
        chunks = fetch_one(
            c.execute(
                "SELECT count(*) FROM timescaledb_information.chunks "
                "WHERE hypertable_name = 'events'"
            )
        )[0]
        assert chunks > 50, chunks


def test_copy_and_merge(srv: Server) -> None:
    base = datetime(2024, 3, 1, tzinfo=UTC)
    with srv.connect(autocommit=True) as c:
        c.execute("CREATE TABLE events_stage (LIKE events)")
        with (
            timed("COPY 100000 rows"),
            c.cursor().copy("COPY events_stage (id, ts, version, payload) FROM STDIN") as cp,
        ):
            for i in range(100_000):
                cp.write_row((1_000_000 + i, base + timedelta(seconds=30 * i), 1, f"p{i}"))
        assert fetch_one(c.execute("SELECT count(*) FROM events_stage"))[0] == 100_000
        merge = """INSERT INTO events SELECT id, ts, version, payload FROM events_stage
                   ON CONFLICT (id, ts) DO UPDATE
                   SET version = EXCLUDED.version, payload = EXCLUDED.payload
                   WHERE events.version < EXCLUDED.version"""
        with timed("merge 100000 rows (insert)"):
            assert c.execute(merge).rowcount == 100_000
        with timed("merge 100000 rows (all skipped by guard)"):
            assert c.execute(merge).rowcount == 0
        c.execute("UPDATE events_stage SET version = 2, payload = 'new' WHERE id % 10 = 0")
        with timed("merge 100000 rows (10000 updated)"):
            assert c.execute(merge).rowcount == 10_000
        got = c.execute(
            "SELECT count(*), count(*) FILTER (WHERE version = 2) FROM events WHERE id >= 1000000"
        ).fetchone()
        assert got == (100_000, 10_000), got


def abandon_copy(c: psycopg.Connection[TupleRow]) -> None:
    """Starts a COPY into copy_tx, then fails on the client side in the middle of it."""
    with c.cursor().copy("COPY copy_tx FROM STDIN") as cp:
        cp.write_row((3, "never"))
        raise KeyError("client gives up")


def test_copy_inside_transaction_and_errors(srv: Server) -> None:
    with srv.connect() as c:
        c.execute("CREATE TABLE copy_tx (a int, b text)")
        c.commit()
        with c.cursor().copy("COPY copy_tx FROM STDIN") as cp:
            cp.write_row((1, "kept"))
        with c.cursor().copy("COPY copy_tx FROM STDIN") as cp:  # same transaction
            cp.write_row((2, "kept too"))
        c.commit()
        # A COPY the client aborts (psycopg sends CopyFail) writes nothing.
        try:
            abandon_copy(c)
        except KeyError:
            pass
        else:
            raise AssertionError("the client-side exception was swallowed")
        c.rollback()
        # Bad data and a missing table are reported as the right SQLSTATE.
        try:
            with c.cursor().copy("COPY copy_tx FROM STDIN") as cp:
                cp.write(b"not-a-number\tx\n")
        except errors.InvalidTextRepresentation:
            c.rollback()
        else:
            raise AssertionError("bad COPY data was accepted")
        try:
            with c.cursor().copy("COPY no_such_table FROM STDIN") as cp:
                cp.write_row((1,))
        except errors.UndefinedTable:
            c.rollback()
        else:
            raise AssertionError("COPY into a missing table succeeded")
        # COPY TO STDOUT passes straight through.
        with c.cursor().copy("COPY (SELECT a, b FROM copy_tx ORDER BY a) TO STDOUT") as cp:
            out = b"".join(bytes(b) for b in cp)
        assert out == b"1\tkept\n2\tkept too\n", out
        c.rollback()


def test_transaction_blocks_others(srv: Server) -> None:
    ts = datetime(2024, 6, 1, tzinfo=UTC)
    with srv.connect() as a, srv.connect(autocommit=True) as b:
        a.execute("INSERT INTO events VALUES (-1, %s, 1, 'from A')", (ts,))
        t0 = time.monotonic()
        t, box = in_thread(
            lambda: fetch_one(b.execute("SELECT count(*) FROM events WHERE id = -1"))[0]
        )
        time.sleep(1.0)
        assert t.is_alive(), "B ran while A's transaction was open"
        a.commit()
        assert finish(t, box) == 1, "B did not see A's committed row"
        TIMINGS["B waited for A's commit"] = time.monotonic() - t0

        a.execute("INSERT INTO events VALUES (-2, %s, 1, 'rolled back')", (ts,))
        t, box = in_thread(
            lambda: fetch_one(b.execute("SELECT count(*) FROM events WHERE id = -2"))[0]
        )
        time.sleep(0.3)
        a.rollback()
        assert finish(t, box) == 0, "A's rolled-back row is visible"


def test_concurrent_transactions(srv: Server) -> None:
    with srv.connect(autocommit=True) as c:
        c.execute("CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL)")
        c.execute("INSERT INTO counter VALUES (1, 0)")

    def worker() -> None:
        with srv.connect() as w:
            for _ in range(50):
                n = fetch_one(w.execute("SELECT n FROM counter WHERE id = 1 FOR UPDATE"))[0]
                w.execute("UPDATE counter SET n = %s WHERE id = 1", (n + 1,))
                w.commit()

    with timed("4 threads x 50 read-modify-write transactions"):
        threads = [in_thread(worker) for _ in range(4)]
        for t, box in threads:
            finish(t, box, timeout=60)
    with srv.connect(autocommit=True) as c:
        assert fetch_one(c.execute("SELECT n FROM counter"))[0] == 200


def test_compression_and_jobs(srv: Server) -> None:
    with srv.connect(autocommit=True) as c:
        c.execute("CREATE TABLE metrics (ts timestamptz NOT NULL, dev int NOT NULL, v float8)")
        c.execute("SELECT create_hypertable('metrics', by_range('ts', INTERVAL '1 day'))")
        c.execute("""INSERT INTO metrics
                     SELECT now() - make_interval(hours => h), h % 4, h
                     FROM generate_series(0, 40 * 24 - 1) AS h""")
        total = fetch_one(c.execute("SELECT count(*) FROM metrics"))[0]
        assert total == 960
        c.execute("""ALTER TABLE metrics SET (timescaledb.compress,
                     timescaledb.compress_segmentby = 'dev',
                     timescaledb.compress_orderby = 'ts DESC')""")
        comp_job = fetch_one(
            c.execute("SELECT add_compression_policy('metrics', INTERVAL '7 days')")
        )[0]
        ret_job = fetch_one(
            c.execute("SELECT add_retention_policy('metrics', INTERVAL '30 days')")
        )[0]
        jobs: dict[int, str] = dict(
            c.execute(
                "SELECT job_id, proc_name FROM timescaledb_information.jobs "
                "WHERE hypertable_name = 'metrics'"
            ).fetchall()
        )
        assert jobs == {comp_job: "policy_compression", ret_job: "policy_retention"}, jobs

        def chunk_state() -> TupleRow:
            return fetch_one(
                c.execute("""SELECT count(*) FILTER (WHERE is_compressed), count(*)
                                FROM timescaledb_information.chunks
                                WHERE hypertable_name = 'metrics'""")
            )

        compressed, chunks = chunk_state()
        assert compressed == 0 and chunks >= 40, (compressed, chunks)
        time.sleep(1.0)  # no scheduler: nothing may have changed by itself
        assert chunk_state() == (0, chunks)

        with timed("CALL run_job(compression)"):
            c.execute(f"CALL run_job({comp_job})")
        compressed, chunks2 = chunk_state()
        assert chunks2 == chunks and 30 <= compressed < chunks, (compressed, chunks2)
        assert c.execute("SELECT count(*), sum(v) FROM metrics").fetchone() == (
            960,
            sum(range(960)),
        )  # compressed data still reads back exactly
        stats = c.execute(
            "SELECT total_chunks, number_compressed_chunks "
            "FROM hypertable_compression_stats('metrics')"
        ).fetchone()
        assert stats == (chunks, compressed), stats

        with timed("CALL run_job(retention)"):
            c.execute(f"CALL run_job({ret_job})")
        compressed3, chunks3 = chunk_state()
        assert chunks3 < chunks and compressed3 < compressed, (compressed3, chunks3)
        oldest = fetch_one(c.execute("SELECT min(ts) > now() - INTERVAL '31 days' FROM metrics"))[0]
        assert oldest is True


def test_error_in_transaction(srv: Server) -> None:
    with srv.connect() as c:
        c.execute("INSERT INTO events VALUES (-3, now(), 1, 'doomed')")
        try:
            c.execute("SELECT 1 / 0")
        except errors.DivisionByZero:
            pass
        else:
            raise AssertionError("division by zero did not raise")
        assert tx_status(c) == TransactionStatus.INERROR
        try:
            c.execute("SELECT 1")
        except errors.InFailedSqlTransaction:
            pass
        else:
            raise AssertionError("aborted transaction accepted a query")
        c.rollback()
        assert fetch_one(c.execute("SELECT count(*) FROM events WHERE id = -3"))[0] == 0
        c.commit()
    with srv.connect(autocommit=True) as c:  # an error outside a transaction
        try:
            c.execute("SELECT * FROM no_such_table")
        except errors.UndefinedTable:
            pass
        else:
            raise AssertionError("missing table did not raise")
        assert c.execute("SELECT 7").fetchone() == (7,)


CHILD = textwrap.dedent("""
    import os, sys, psycopg
    c = psycopg.connect(host="127.0.0.1", port=int(sys.argv[1]), prepare_threshold=0)
    c.execute("INSERT INTO events VALUES (%s, now(), 1, 'orphan')", (-4,))
    c.execute("SELECT count(*) FROM events WHERE id = %s", (-4,))  # named statements
    print("in transaction", flush=True)
    sys.stdin.readline()
    os._exit(0)  # no Terminate message, no ROLLBACK: the socket just goes away
""")


def test_disconnect_mid_transaction(srv: Server) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(srv.port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    if child.stdin is None or child.stdout is None:
        raise RuntimeError("the child's stdin and stdout are not pipes")
    assert child.stdout.readline().strip() == "in transaction"
    with srv.connect(autocommit=True) as c:
        t, box = in_thread(
            lambda: fetch_one(
                c.execute("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE '_pg3_%'")
            )[0]
        )
        time.sleep(0.5)
        assert t.is_alive(), "query ran inside the other client's transaction"
        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.wait(10) == 0
        t0 = time.monotonic()
        assert finish(t, box) == 0, "the dead client's prepared statements are still there"
        TIMINGS["unblocked after client died"] = time.monotonic() - t0
        assert fetch_one(c.execute("SELECT count(*) FROM events WHERE id = -4"))[0] == 0

    # A raw client that vanishes in the middle of a COPY inside a transaction.
    raw = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    body = struct.pack("!i", 196608) + b"user\0raw\0\0"
    raw.sendall(struct.pack("!i", len(body) + 4) + body)
    for sql in (
        b"BEGIN",
        b"INSERT INTO events VALUES (-8, now(), 1, 'orphan')",
        b"COPY events_stage FROM STDIN",
    ):
        raw.sendall(b"Q" + struct.pack("!i", len(sql) + 5) + sql + b"\0")
    seen = b""
    while b"G" not in seen[-64:]:  # CopyInResponse is the last thing sent
        chunk = raw.recv(65536)
        assert chunk, "server closed the raw connection"
        seen += chunk
    raw.sendall(b"d" + struct.pack("!i", 4 + 6) + b"1\tx\tx\n")  # half a COPY
    raw.close()
    with srv.connect(autocommit=True) as c:
        t, box = in_thread(
            lambda: fetch_one(c.execute("SELECT count(*) FROM events WHERE id = -8"))[0]
        )
        assert finish(t, box, timeout=5) == 0

    # Same with a clean close (Terminate) while a transaction is open.
    a = srv.connect()
    a.execute("INSERT INTO events VALUES (-5, now(), 1, 'orphan')")
    a.close()
    with srv.connect(autocommit=True) as c:
        assert fetch_one(c.execute("SELECT count(*) FROM events WHERE id = -5"))[0] == 0


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="casscade-tsdb-") as tmp:
        log = Path(tmp) / "server.stderr"
        srv = Server(str(Path(tmp) / "data"), free_port(), log)
        try:
            print(srv.start())
            TIMINGS["first start (initdb + CREATE EXTENSION)"] = srv.elapsed
            for test in (
                test_connect,
                test_hypertable,
                test_copy_and_merge,
                test_copy_inside_transaction_and_errors,
                test_transaction_blocks_others,
                test_concurrent_transactions,
                test_compression_and_jobs,
                test_error_in_transaction,
                test_disconnect_mid_transaction,
            ):
                t0 = time.monotonic()
                test(srv)
                print(f"ok   {test.__name__} ({time.monotonic() - t0:.2f}s)")

            # Restart: committed data survives, a transaction open at SIGTERM does not.
            with srv.connect(autocommit=True) as c:
                before = c.execute(
                    "SELECT (SELECT count(*) FROM events), "
                    "(SELECT count(*) FROM metrics), "
                    "(SELECT n FROM counter)"
                ).fetchone()
            open_tx = srv.connect()
            open_tx.execute("INSERT INTO events VALUES (-6, now(), 1, 'uncommitted')")
            rc, took = srv.stop()
            assert rc == 0, f"exit code {rc} after SIGTERM"
            assert took < 10
            TIMINGS["SIGTERM with a transaction open"] = took
            open_tx.close()
            srv.start()
            TIMINGS["restart on existing data dir"] = srv.elapsed
            with srv.connect(autocommit=True) as c:
                after = c.execute(
                    "SELECT (SELECT count(*) FROM events), "
                    "(SELECT count(*) FROM metrics), "
                    "(SELECT n FROM counter)"
                ).fetchone()
                assert after == before, (before, after)
                assert fetch_one(c.execute("SELECT count(*) FROM events WHERE id = -6"))[0] == 0
                # TimescaleDB is active at once: new rows go to chunks, not the root table.
                c.execute("INSERT INTO events VALUES (-7, now(), 1, 'after restart')")
                assert fetch_one(c.execute("SELECT count(*) FROM ONLY events"))[0] == 0
                assert fetch_one(c.execute("SELECT count(*) FROM events WHERE id = -7"))[0] == 1
                compressed_chunks = fetch_one(
                    c.execute(
                        "SELECT count(*) FROM timescaledb_information.chunks "
                        "WHERE hypertable_name = 'metrics' AND is_compressed"
                    )
                )[0]
                assert compressed_chunks > 0
            print("ok   restart keeps data")

            rc, took = srv.stop()
            assert rc == 0, f"exit code {rc} after SIGTERM"
            assert took < 5, took
            TIMINGS["SIGTERM idle"] = took
            print("ok   SIGTERM exits 0")
        except BaseException:
            if srv.proc is not None and srv.proc.poll() is None:
                srv.proc.kill()
            print("server stderr:\n" + (log.read_text() if log.exists() else ""), file=sys.stderr)
            raise
        print("\ntimings:")
        for name, secs in TIMINGS.items():
            print(f"  {name:45s} {secs:7.3f}s")
        stderr = log.read_text().strip()
        if stderr:
            print("\nserver stderr:\n" + stderr)
    print("\nselftest: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
