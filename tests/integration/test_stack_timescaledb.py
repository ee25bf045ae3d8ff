"""The local TimescaleDB (PGlite + TimescaleDB behind our wire front end) is real TimescaleDB."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from casscade.stack.manager import Stack

REPO = Path(__file__).resolve().parents[2]


def _connect(stack: Stack) -> psycopg.Connection[tuple[object, ...]]:
    # prepare_threshold=None: one shared PGlite session, so prepared names would collide.
    return psycopg.connect(stack.settings.timescaledb.dsn(), prepare_threshold=None)


def test_timescaledb_extension_is_loaded(stack: Stack) -> None:
    """The server has the timescaledb extension, version 2.x."""
    version = stack.timescaledb.extension_version()
    assert version is not None
    assert version.startswith("2.")


def test_timescaledb_hypertable_copy_merge_and_compression(stack: Stack) -> None:
    """COPY into staging, a guarded merge into a hypertable, then a compression job run."""
    table = f"readings_{uuid.uuid4().hex[:10]}"
    base = datetime(2026, 1, 1, tzinfo=UTC)
    with _connect(stack) as conn:
        conn.execute(
            f"CREATE TABLE {table} (sensor int, ts timestamptz, value double precision, "
            "written bigint, PRIMARY KEY (sensor, ts))"
        )
        conn.execute(f"SELECT create_hypertable('{table}', 'ts', chunk_time_interval => "
                     "interval '1 day')")  # fmt: skip
        conn.execute(f"CREATE TEMP TABLE stage_{table} (LIKE {table})")
        with conn.cursor().copy(f"COPY stage_{table} FROM STDIN") as copy:
            for n in range(5000):
                copy.write_row((n % 10, base + timedelta(minutes=n), float(n), 2))
        merge = (
            f"INSERT INTO {table} SELECT * FROM stage_{table} ON CONFLICT (sensor, ts) "
            f"DO UPDATE SET value = EXCLUDED.value, written = EXCLUDED.written "
            f"WHERE {table}.written < EXCLUDED.written"
        )
        conn.execute(merge)
        # An older write for row (0, base) must not win over the newer one.
        conn.execute(f"TRUNCATE stage_{table}")
        conn.execute(f"INSERT INTO stage_{table} VALUES (0, %s, -1.0, 1)", (base,))
        conn.execute(merge)
        conn.commit()
        count, total = conn.execute(f"SELECT count(*), sum(value) FROM {table}").fetchone() or (
            0,
            0,
        )
        first = conn.execute(f"SELECT value FROM {table} WHERE sensor = 0 AND ts = %s", (base,))
        assert first.fetchone() == (0.0,)
        assert count == 5000
        assert total == sum(float(n) for n in range(5000))
        conn.execute(f"ALTER TABLE {table} SET (timescaledb.compress, "
                     "timescaledb.compress_segmentby = 'sensor')")  # fmt: skip
        job = conn.execute(
            f"SELECT add_compression_policy('{table}', compress_after => interval '1 day')"
        ).fetchone()
        assert job is not None
        conn.commit()
        conn.autocommit = True  # a job procedure commits itself: no transaction around it
        conn.execute(f"CALL run_job({int(str(job[0]))})")
        compressed = conn.execute(
            "SELECT count(*) FROM timescaledb_information.chunks "
            "WHERE hypertable_name = %s AND is_compressed",
            (table,),
        ).fetchone()
        after = conn.execute(f"SELECT count(*), sum(value) FROM {table}").fetchone()
    assert compressed is not None
    assert int(str(compressed[0])) >= 1
    assert after == (5000, sum(float(n) for n in range(5000)))


def test_timescaledb_front_end_selftest_passes(stack: Stack) -> None:
    """The front end's own self-test (COPY, concurrency, restart, SIGTERM) passes end to end."""
    env = dict(os.environ, CASSCADE_TSDB_SERVER=str(stack.timescaledb.app_dir / "server.mjs"))
    result = subprocess.run(
        [sys.executable, str(REPO / "tools" / "timescaledb_selftest.py")],
        capture_output=True, text=True, env=env, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert "COPY" in result.stdout
