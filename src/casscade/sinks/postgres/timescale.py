"""TimescaleDB options of a destination: hypertables and their compression and retention.

Mirror mode makes a table's state table a hypertable on a configured primary-key time column
(TimescaleDB needs the time column in every unique index). Changelog mode makes every
changelog table a hypertable on `written_at`. Either may get a compression policy
(`compress_after`); only changelog tables may get a retention policy (`drop_after`): dropping
old chunks of a mirror would delete rows Cassandra still has.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import psycopg


@dataclass(frozen=True, slots=True)
class Timescale:
    """TimescaleDB settings of one destination.

    Attributes:
        hypertables: mirror mode: keyspace.table -> its time column.
        compress_after: compress chunks older than this interval (e.g. "7 days"), or None.
        drop_after: changelog mode: drop chunks older than this interval, or None.
    """

    hypertables: Mapping[str, str] = field(default_factory=dict)
    compress_after: str | None = None
    drop_after: str | None = None

    def make_hypertable(
        self, conn: psycopg.Connection[tuple[object, ...]], table: str, column: str
    ) -> None:
        """Turn `table` (quoted, qualified) into a hypertable on `column` with the policies
        (idempotent)."""
        conn.execute(
            "SELECT create_hypertable(%s, by_range(%s), if_not_exists => TRUE)", (table, column)
        )
        if self.compress_after is not None:
            enabled = conn.execute(
                "SELECT compression_enabled FROM timescaledb_information.hypertables "
                "WHERE format('%%I.%%I', hypertable_schema, hypertable_name)::regclass "
                "= %s::regclass",
                (table,),
            ).fetchone()
            if enabled is None or not enabled[0]:
                conn.execute(f"ALTER TABLE {table} SET (timescaledb.compress)")
            conn.execute(
                "SELECT add_compression_policy(%s, %s::interval, if_not_exists => TRUE)",
                (table, self.compress_after),
            )
        if self.drop_after is not None:
            conn.execute(
                "SELECT add_retention_policy(%s, %s::interval, if_not_exists => TRUE)",
                (table, self.drop_after),
            )
