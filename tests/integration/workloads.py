"""A seeded mixed workload for mirror tests, and value normalisation for comparisons.

Inserts with and without TTL, partial updates, cell, row, range and partition deletes over a
table of native types, one write in ten older than what it overwrites.
"""

from __future__ import annotations

import datetime
import decimal
import ipaddress
import random
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from casscade.commitlog.mutation import Mutation
from casscade.commitlog.position import Position
from casscade.commitlog.schema import TableSchema
from casscade.config.models import (
    AgentConfig,
    ClickHouseDestination,
    Destination,
    PostgresDestination,
)
from casscade.engine.agent import Agent, sink_for
from casscade.engine.verify import TableReport, verify_destination
from casscade.events.mapping import mutation_to_events
from casscade.events.model import ChangeEvent
from casscade.source.registry import SchemaRegistry
from casscade.source.schema import read_schema_rows
from casscade.source.tailer import CdcTailer
from casscade.stack.manager import Stack

KEYSPACE = "it_mirror"
TABLE_COLUMNS = (
    "pk int, ck int, a text, b bigint, c double, d boolean, e uuid, f timestamp, g decimal, "
    "h inet, i blob, PRIMARY KEY (pk, ck)"
)
COLUMNS = ("a", "b", "c", "d", "e", "f", "g", "h", "i")


def run_casscade(
    *args: str, env: dict[str, str], stdin: str = "", timeout_s: float = 600
) -> subprocess.CompletedProcess[str]:
    """The `casscade` command as a user runs it, in a process of its own (exit code, output)."""
    return subprocess.run(
        [sys.executable, "-c", "from casscade.cli.main import main; main()", *args],
        input=stdin, capture_output=True, text=True, timeout=timeout_s, check=False, env=env,
    )  # fmt: skip


def value_for(rng: random.Random, column: str) -> object:
    makers: dict[str, Callable[[], object]] = {
        "a": lambda: f"text-{rng.randrange(1000)}",
        "b": lambda: rng.randrange(-(2**63), 2**63),
        "c": lambda: rng.randrange(-(10**6), 10**6) / 4,
        "d": lambda: rng.random() < 0.5,
        "e": lambda: uuid.UUID(int=rng.getrandbits(128), version=4),
        "f": lambda: (
            datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
            + datetime.timedelta(milliseconds=rng.randrange(10**11))
        ),
        "g": lambda: decimal.Decimal(rng.randrange(-(10**9), 10**9)).scaleb(-rng.randrange(5)),
        "h": lambda: f"192.168.{rng.randrange(256)}.{rng.randrange(256)}",
        "i": lambda: rng.randbytes(rng.randrange(0, 12)),
    }
    return makers[column]()


def workload(session: Any, table: str, operations: int) -> None:
    rng = random.Random(7)
    prepared: dict[str, Any] = {}

    def run(cql: str, params: list[object]) -> None:
        if cql not in prepared:
            prepared[cql] = session.prepare(cql)
        session.execute(prepared[cql], params)

    ts = 1_700_000_000_000_000
    for _ in range(operations):
        ts += rng.randrange(1, 50)
        # One write in ten is older than recent ones: last-write-wins, not last-arrived.
        stamp = ts - rng.randrange(0, 2000) if rng.random() < 0.1 else ts
        pk, ck = rng.randrange(6), rng.randrange(10)
        roll = rng.random()
        if roll < 0.35:
            cols = rng.sample(COLUMNS, rng.randrange(1, len(COLUMNS) + 1))
            ttl = " AND TTL 86400" if rng.random() < 0.2 else ""
            run(f"INSERT INTO {KEYSPACE}.{table} (pk, ck, {', '.join(cols)}) VALUES "
                f"(?, ?, {', '.join('?' * len(cols))}) USING TIMESTAMP {stamp}{ttl}",
                [pk, ck, *(value_for(rng, c) for c in cols)])  # fmt: skip
        elif roll < 0.7:
            cols = rng.sample(COLUMNS, rng.randrange(1, 4))
            run(f"UPDATE {KEYSPACE}.{table} USING TIMESTAMP {stamp} SET "
                + ", ".join(f"{c} = ?" for c in cols) + " WHERE pk = ? AND ck = ?",
                [*(value_for(rng, c) for c in cols), pk, ck])  # fmt: skip
        elif roll < 0.82:
            run(f"DELETE {rng.choice(COLUMNS)} FROM {KEYSPACE}.{table} USING TIMESTAMP {stamp} "
                "WHERE pk = ? AND ck = ?", [pk, ck])  # fmt: skip
        elif roll < 0.92:
            run(f"DELETE FROM {KEYSPACE}.{table} USING TIMESTAMP {stamp} "
                "WHERE pk = ? AND ck = ?", [pk, ck])  # fmt: skip
        elif roll < 0.96:
            low = rng.randrange(10)
            run(f"DELETE FROM {KEYSPACE}.{table} USING TIMESTAMP {stamp} "
                "WHERE pk = ? AND ck >= ? AND ck < ?",
                [pk, low, low + rng.randrange(1, 4)])  # fmt: skip
        else:
            run(f"DELETE FROM {KEYSPACE}.{table} USING TIMESTAMP {stamp} WHERE pk = ?", [pk])


def normal(value: object) -> object:
    """One form for values from both drivers (the driver gives naive UTC datetimes)."""
    if isinstance(value, datetime.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
        return round(aware.timestamp() * 1000)
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return str(value)
    if isinstance(value, (bytes, memoryview)):
        return bytes(value) or None  # an empty blob reads back as null from Cassandra's view
    return value


def rows(pairs: Any) -> dict[tuple[object, object], tuple[object, ...]]:
    return {(r[0], r[1]): tuple(normal(v) for v in r[2:]) for r in pairs}


def create_keyspace(session: Any, keyspace: str) -> None:
    """Create a single-replica keyspace for a test, if it does not exist."""
    session.execute(
        f"CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = "
        "{'class': 'SimpleStrategy', 'replication_factor': 1}"
    )


def recorded_events(
    stack: Stack, session: Any, table: str, operations: int
) -> tuple[TableSchema, list[ChangeEvent]]:
    """Create `table` with TABLE_COLUMNS, run the workload, decode its change events."""
    create_keyspace(session, KEYSPACE)
    session.execute(f"CREATE TABLE {KEYSPACE}.{table} ({TABLE_COLUMNS}) WITH cdc = true")
    registry = SchemaRegistry(lambda: read_schema_rows(session))
    workload(session, table, operations)
    events: list[ChangeEvent] = []
    for record in CdcTailer(stack.cassandra.layout.cdc_raw_dir, registry).poll():
        if isinstance(record, Mutation):
            events.extend(e for e in mutation_to_events(record) if e.table == table)
    schema = registry.snapshot.by_name(KEYSPACE, table)
    assert schema is not None
    assert len(events) == operations
    return schema, events


def mirrored_everywhere(
    stack: Stack,
    session: Any,
    tmp_path: Path,
    schemas: list[TableSchema],
    events: list[ChangeEvent],
    *,
    tag: str,
) -> list[TableReport]:
    """Apply `events` to PostgreSQL, TimescaleDB and ClickHouse twice over (in log order, and
    shuffled with every event twice) and compare every table with Cassandra (the oracle)."""
    shuffled = events * 2
    random.Random(5).shuffle(shuffled)
    pg, ts = stack.settings.postgres, stack.settings.timescaledb
    reports: list[TableReport] = []
    names = {t.name for t in schemas}
    for order, batch in ((f"{tag}log", events), (f"{tag}shuf", shuffled)):
        configs: list[Destination] = [
            PostgresDestination(type="postgres", name=f"pg-{order}", host=pg.host, port=pg.port,
                                database=pg.database, user=pg.user,
                                password=SecretStr(pg.password), schema_prefix=f"{order}_"),
            PostgresDestination(type="postgres", name=f"ts-{order}", host=ts.host, port=ts.port,
                                database=ts.database, user=ts.user, schema_prefix=f"{order}_",
                                prepared_statements=False),
            ClickHouseDestination(type="clickhouse", name=f"ch-{order}",
                                  dsn=f"chdb://{tmp_path}/ch", database_prefix=f"{order}_"),
        ]  # fmt: skip
        for config in configs:
            sink = sink_for(config)
            for schema in schemas:
                sink.ensure_table(schema)
            sink.apply([e for e in batch if e.table in names], node_id="n1",
                       position=Position(1, 1))  # fmt: skip
            sink.close()
            reports += verify_destination(session, config, schemas)
    return reports


def replicate_and_verify(
    config: AgentConfig, session: Any, keyspace: str, table: str, passes: int = 200
) -> tuple[Agent, list[TableReport]]:
    """Let an agent over `config` apply what cdc_raw holds (polling until a pass reads
    nothing, every destination reachable throughout), then compare `keyspace.table` in each
    destination with Cassandra. Returns the closed agent and one report per destination."""
    agent = Agent(config, SchemaRegistry(lambda: read_schema_rows(session)))
    try:
        catch_up(agent, passes)
    finally:
        agent.close()
    return agent, verify_everywhere(agent, session, keyspace, table)


def catch_up(agent: Agent, passes: int = 200) -> None:
    """Poll until a pass reads nothing; every destination must stay reachable."""
    for _ in range(passes):
        stats = agent.poll()
        assert not stats.unavailable, stats.unavailable
        if stats.mutations == 0:
            return


def verify_everywhere(agent: Agent, session: Any, keyspace: str, table: str) -> list[TableReport]:
    """`keyspace.table` in each of the agent's destinations against Cassandra's rows, masked
    with the agent's rules in force. One report per destination."""
    schema = agent.registry.snapshot.by_name(keyspace, table)
    assert schema is not None
    return [
        report
        for destination in agent.config.destinations
        for report in verify_destination(session, destination, [schema], agent.masker)
    ]
