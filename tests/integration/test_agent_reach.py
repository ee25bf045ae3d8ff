"""`Agent.reach`: destinations connected and their tables made before the first pass."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

import psycopg

from casscade.config.models import AgentConfig
from casscade.engine.agent import Agent
from casscade.source.registry import SchemaRegistry
from casscade.source.schema import read_schema_rows
from casscade.stack.manager import Stack
from tests.integration.workloads import create_keyspace

KEYSPACE = "it_reach"


def _closed_port() -> int:
    with socket.socket() as probe:  # bound, then closed: nothing listens there
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_reach_prepares_the_destinations_it_can_and_leaves_the_others_to_their_pass(
    stack: Stack, tmp_path: Path
) -> None:
    """PostgreSQL is reached (its table exists before any pass); a destination whose server
    refuses is not, and its first pass reports it unavailable."""
    table = f"r_{uuid.uuid4().hex[:10]}"
    pg = stack.settings.postgres
    config = AgentConfig.model_validate({
        "source": {"node_id": "reach", "cdc_raw_dir": stack.cassandra.layout.cdc_raw_dir,
                   "cleanup": "keep"},
        "tables": [f"{KEYSPACE}.{table}"],
        "destinations": [
            {"type": "postgres", "name": "up", "host": pg.host, "port": pg.port,
             "database": pg.database, "user": pg.user, "password": pg.password,
             "schema_prefix": "reach_"},
            {"type": "postgres", "name": "down", "host": "127.0.0.1", "port": _closed_port(),
             "database": pg.database, "user": pg.user, "password": pg.password},
        ],
        "http": {"enabled": False},
        "dead_letters": {"directory": str(tmp_path / "dlq")},
    })  # fmt: skip
    with stack.cassandra.cluster() as cluster:
        session = cluster.connect()
        create_keyspace(session, KEYSPACE)
        session.execute(
            f"CREATE TABLE {KEYSPACE}.{table} (k int PRIMARY KEY, v text) WITH cdc = true"
        )
        agent = Agent(config, SchemaRegistry(lambda: read_schema_rows(session)))
        try:
            assert agent.reach() == ["up"]
            with psycopg.connect(pg.dsn()) as conn:
                found = conn.execute(
                    "SELECT count(*) FROM information_schema.views "
                    "WHERE table_schema = %s AND table_name = %s",
                    (f"reach_{KEYSPACE}", table),
                ).fetchone()
            assert found == (1,)
            stats = agent.poll()
        finally:
            agent.close()
    assert list(stats.unavailable) == ["down"]
    assert agent.failed == {}
