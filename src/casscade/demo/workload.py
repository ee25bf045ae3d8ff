"""The demo's schema and a deterministic stream of inserts, updates and deletes.

Pure: a seed and a count in, CQL statements out (no driver, no clock). Every statement
carries `USING TIMESTAMP`, so the write times the stream produces are known in advance; the
timestamps start at `base_timestamp_us` and grow by one microsecond per statement.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum

KEYSPACE = "casscade_demo"
TABLES = ("customers", "readings")

SCHEMA = (
    f"CREATE KEYSPACE IF NOT EXISTS {KEYSPACE} "
    "WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
    f"CREATE TABLE IF NOT EXISTS {KEYSPACE}.customers ("
    " id uuid PRIMARY KEY, email text, name text, city text, ssn text, tier int"
    ") WITH cdc = true",
    f"CREATE TABLE IF NOT EXISTS {KEYSPACE}.readings ("
    " sensor_id int, ts timestamp, value double, unit text,"
    " PRIMARY KEY (sensor_id, ts)) WITH cdc = true",
)

_CITIES = ("Lisbon", "Oslo", "Austin", "Osaka", "Nairobi", "Lima")
_NAMES = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Margaret", "Donald")


class Op(Enum):
    """The kind of change a statement makes."""

    INSERT = "insert"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class Statement:
    """One CQL statement of the stream with its bound values."""

    table: str
    op: Op
    cql: str
    params: tuple[object, ...]


def generate(
    count: int, *, seed: int = 7, base_timestamp_us: int = 1_700_000_000_000_000
) -> Iterator[Statement]:
    """Yield `count` statements: mostly inserts, then updates and deletes of earlier rows."""
    rng = random.Random(seed)
    customers: list[uuid.UUID] = []
    for n in range(count):
        ts = base_timestamp_us + n
        roll = rng.random()
        if not customers or roll < 0.45:
            key = uuid.UUID(int=rng.getrandbits(128), version=4)
            customers.append(key)
            name = rng.choice(_NAMES)
            yield Statement(
                "customers", Op.INSERT,
                f"INSERT INTO {KEYSPACE}.customers (id, email, name, city, ssn, tier) "
                f"VALUES (%s, %s, %s, %s, %s, %s) USING TIMESTAMP {ts}",
                (key, f"{name.lower()}{n}@example.com", name, rng.choice(_CITIES),
                 f"{rng.randrange(100, 999)}-{rng.randrange(10, 99)}-{rng.randrange(1000, 9999)}",
                 rng.randrange(1, 4)),
            )  # fmt: skip
        elif roll < 0.70:
            yield Statement(
                "customers", Op.UPDATE,
                f"UPDATE {KEYSPACE}.customers USING TIMESTAMP {ts} SET city = %s, tier = %s "
                "WHERE id = %s",
                (rng.choice(_CITIES), rng.randrange(1, 4), rng.choice(customers)),
            )  # fmt: skip
        elif roll < 0.78:
            victim = customers.pop(rng.randrange(len(customers)))
            yield Statement(
                "customers",
                Op.DELETE,
                f"DELETE FROM {KEYSPACE}.customers USING TIMESTAMP {ts} WHERE id = %s",
                (victim,),
            )
        else:
            sensor = rng.randrange(1, 9)
            yield Statement(
                "readings", Op.INSERT,
                f"INSERT INTO {KEYSPACE}.readings (sensor_id, ts, value, unit) "
                f"VALUES (%s, %s, %s, %s) USING TIMESTAMP {ts}",
                (sensor, base_timestamp_us // 1000 + n, round(rng.uniform(-20, 40), 3), "celsius"),
            )  # fmt: skip
