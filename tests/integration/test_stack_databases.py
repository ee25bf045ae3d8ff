"""The local PostgreSQL and embedded ClickHouse are real and keep what they are given."""

from __future__ import annotations

import subprocess
import sys
import uuid

import psycopg
import pytest

from casscade.stack.manager import Stack


def test_postgres_commits_and_rolls_back(stack: Stack) -> None:
    """The pipeline's role commits a transaction, and a rolled-back one leaves no trace."""
    table = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(stack.settings.postgres.dsn()) as conn:
        conn.execute(f"CREATE TABLE {table} (k int PRIMARY KEY, v text)")
        with conn.transaction():
            conn.execute(f"INSERT INTO {table} VALUES (1, 'kept')")
        with pytest.raises(psycopg.errors.UniqueViolation):
            _insert_two_in_one_transaction(conn, table)
        rows = conn.execute(f"SELECT k, v FROM {table} ORDER BY k").fetchall()
        conn.execute(f"DROP TABLE {table}")
    assert rows == [(1, "kept")]


def _insert_two_in_one_transaction(
    conn: psycopg.Connection[tuple[object, ...]], table: str
) -> None:
    with conn.transaction():
        conn.execute(f"INSERT INTO {table} VALUES (2, 'lost')")
        conn.execute(f"INSERT INTO {table} VALUES (1, 'duplicate')")


def test_postgres_is_the_stacks_own_cluster(stack: Stack) -> None:
    """The server on the stack's port keeps its data in the stack's own cluster folder."""
    with psycopg.connect(stack.settings.postgres.dsn()) as conn:
        port = conn.execute("SHOW port").fetchone()
    data_dir = stack.postgres.psql("SHOW data_directory;").strip()
    assert port == (str(stack.settings.postgres.port),)
    assert data_dir == str(stack.postgres.data_dir)


def _chdb(script: str, dsn: str) -> str:
    code = (
        "import sys, clickhouse_connect\n"
        "client = clickhouse_connect.get_client(dsn=sys.argv[1])\n" + script
    )
    result = subprocess.run(
        [sys.executable, "-c", code, dsn], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip()


def test_chdb_replacing_merge_tree_persists_across_processes(stack: Stack) -> None:
    """Rows written by one process are read by the next, with ReplacingMergeTree semantics."""
    table = f"t_{uuid.uuid4().hex[:12]}"
    _chdb(
        f"client.command('CREATE TABLE default.{table} (k UInt64, v String, ver UInt64, "
        "is_deleted UInt8) ENGINE = ReplacingMergeTree(ver, is_deleted) ORDER BY k')\n"
        f"client.insert('default.{table}', [[1, 'old', 1, 0], [1, 'new', 2, 0], [2, 'x', 1, 0],"
        " [2, 'x', 3, 1], [3, 'late', 5, 0], [3, 'stale', 4, 0]],"
        " column_names=['k', 'v', 'ver', 'is_deleted'])\n",
        stack.clickhouse.dsn,
    )
    out = _chdb(
        f"rows = client.query('SELECT k, v FROM default.{table} FINAL ORDER BY k').result_rows\n"
        "print(rows)\n"
        f"client.command('DROP TABLE default.{table}')\n",
        stack.clickhouse.dsn,
    )
    assert out == "[(1, 'new'), (3, 'late')]"
