"""`casscade demo`: start the local stack, write a CDC workload, show what reaches cdc_raw.

Until the decoder (issue #3) and the engine (issue #4) land, the demo stops at the segment
level: it decodes every segment's descriptor header and `_cdc.idx` (real segments written by
the real node) and checks every destination answers. It says so in its output.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from casscade.cli.stack import DirOption, build_settings
from casscade.commitlog.errors import DecodeError
from casscade.demo.workload import SCHEMA, generate
from casscade.source.cdc_raw import CdcSegment, read_descriptor, scan_cdc_raw
from casscade.stack.config import CassandraSettings
from casscade.stack.manager import Stack

console = Console(highlight=False)


def demo(
    root: Path = DirOption,
    events: int = typer.Option(3000, min=1, help="How many changes to write."),
    rate: int = typer.Option(500, min=1, help="Changes per second to aim for."),
) -> None:
    """Run the demo job: stack up, a stream of inserts/updates/deletes, live cdc_raw view.

    Examples:

        casscade demo

        casscade demo --events 20000 --rate 2000
    """
    settings = build_settings(
        root,
        # Periodic sync with a short period: what a production node looks like, and the
        # _cdc.idx visibly advancing a few times a second.
        cassandra=CassandraSettings(commitlog_sync="periodic", commitlog_sync_period_ms=200),
    )
    stack = Stack(settings)
    console.rule("1. local stack")
    stack.up(progress=lambda message: console.print(f"  {message}", markup=False))
    console.print(f"  ClickHouse (chDB) engine {stack.clickhouse.server_version()}")
    console.print(f"  TimescaleDB extension {stack.timescaledb.extension_version()}")
    console.rule("2. CDC workload into Cassandra")
    cdc_raw = stack.cassandra.layout.cdc_raw_dir
    written: Counter[str] = Counter()
    with stack.cassandra.cluster() as cluster:
        session = cluster.connect()
        for ddl in SCHEMA:
            session.execute(ddl)
        interval = 1.0 / rate
        began = time.monotonic()
        with Live(_view(cdc_raw, written, 0.0), console=console, refresh_per_second=4) as live:
            for n, statement in enumerate(generate(events, base_timestamp_us=_now_us())):
                session.execute(statement.cql, statement.params)
                written[f"{statement.table} {statement.op.value}"] += 1
                _pace(began, n + 1, interval)
                if n % 50 == 0:
                    live.update(_view(cdc_raw, written, time.monotonic() - began))
            time.sleep(0.5)  # one more periodic sync so the idx covers the last writes
            live.update(_view(cdc_raw, written, time.monotonic() - began))
    console.rule("3. pipeline")
    console.print(
        "  Decoding mutations into change events (issue #3) and replicating them into "
        "PostgreSQL, TimescaleDB and ClickHouse (issue #4) are not built yet; above are the "
        "real segments and indexes the node wrote for this workload.",
        markup=False,
    )
    console.print(f"  Stop the stack with: casscade stack down --dir {root}", markup=False)


def _now_us() -> int:
    return time.time_ns() // 1000


def _pace(began: float, done: int, interval: float) -> None:
    ahead = began + done * interval - time.monotonic()
    if ahead > 0:
        time.sleep(ahead)


def _view(cdc_raw: Path, written: Counter[str], elapsed_s: float) -> Table:
    total = sum(written.values())
    rate = total / elapsed_s if elapsed_s > 0 else 0.0
    table = Table(
        title=f"cdc_raw: {cdc_raw}",
        caption=f"written {total} changes ({rate:.0f}/s): "
        + ", ".join(f"{key} {value}" for key, value in sorted(written.items())),
    )
    for column in ("segment id", "version", "compression", "durable offset", "state", "links"):
        table.add_column(column)
    for segment in scan_cdc_raw(cdc_raw):
        table.add_row(*_row(segment))
    return table


def _row(segment: CdcSegment) -> tuple[str, str, str, str, str, str]:
    try:
        descriptor = read_descriptor(segment)
        version, compression = str(int(descriptor.version)), descriptor.compression_class or "-"
    except DecodeError as exc:
        version, compression = "?", f"unreadable: {exc.problem}"
    if segment.index is None:
        offset, state = "-", "no CDC data synced yet"
    else:
        offset = f"{segment.index.durable_offset:,}"
        state = "COMPLETED" if segment.index.completed else "live"
    return (str(segment.segment_id), version, compression, offset, state, str(segment.link_count))
