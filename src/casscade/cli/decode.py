"""`casscade decode`: print the mutations of a segment (or a whole cdc_raw) as JSON lines.

The schema comes from a live Cassandra (`--cassandra host:port`, the default is the local
stack's node) or from a saved schema file (`--schema`, as written beside fixtures and by
`--save-schema`). A summary goes to stderr; corrupt sections are reported there with their
position and decoding goes on at the next section (exit code 1 at the end).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from casscade.commitlog.mutation import (
    Mutation,
    RangeTombstoneMarker,
    Row,
    SkippedMutation,
    UnknownSchema,
)
from casscade.commitlog.render import record_to_dict, to_json_value
from casscade.commitlog.schema import (
    SchemaRows,
    SchemaSnapshot,
    build_snapshot,
    rows_from_json,
    rows_to_json,
)
from casscade.commitlog.sections import CorruptSection, SegmentEnd
from casscade.errors import ConfigError
from casscade.source.segments import SegmentSource, read_segment, sources_in

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def decode(
    path: Path = typer.Argument(..., help="A CommitLog-*.log segment or a cdc_raw directory."),
    schema_file: Path | None = typer.Option(
        None, "--schema", help="Saved schema JSON (instead of asking a live Cassandra)."
    ),
    cassandra: str = typer.Option(
        "127.0.0.1:9042", help="host:port of a Cassandra node to read system_schema from."
    ),
    save_schema: Path | None = typer.Option(
        None, help="Also write the schema used to this file (to decode offline later)."
    ),
    pretty: bool = typer.Option(False, help="A readable table instead of JSON lines."),
    all_keyspaces: bool = typer.Option(
        False, help="Also decode keyspaces without CDC tables (system tables)."
    ),
) -> None:
    """Decode commit-log segments into mutations.

    Examples:

        casscade decode .stack/cassandra/data/cdc_raw

        casscade decode CommitLog-7-1795630990327.log --schema schema.json --pretty
    """
    if not path.exists():
        raise ConfigError(str(path), "no such file or directory")
    rows = _schema_rows(schema_file, cassandra)
    if save_schema is not None:
        save_schema.write_text(rows_to_json(rows), encoding="utf-8")
    snapshot = build_snapshot(rows)
    counts: Counter[str] = Counter()
    table = _pretty_table() if pretty else None
    for source in sources_in(path):
        _decode_one(source, snapshot, counts, table, include_non_cdc=all_keyspaces)
    if table is not None:
        out.print(table)
    err.print(
        f"decoded {counts['mutation']} mutations ({counts['update']} partition updates, "
        f"{counts['row']} rows, {counts['cell']} cells) from {counts['segment']} segments; "
        f"skipped {counts['skipped']} non-CDC, {counts['unknown_schema']} unknown schema, "
        f"{counts['corrupt']} corrupt sections",
        markup=False,
    )
    if counts["corrupt"]:
        raise typer.Exit(1)


def _schema_rows(schema_file: Path | None, cassandra: str) -> SchemaRows:
    if schema_file is not None:
        try:
            return rows_from_json(schema_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(str(schema_file), f"cannot read schema: {exc}") from exc
    from casscade.source.live import read_live_schema  # noqa: PLC0415 - loads the driver

    return read_live_schema(cassandra)


def _decode_one(
    source: SegmentSource,
    snapshot: SchemaSnapshot,
    counts: Counter[str],
    table: Table | None,
    *,
    include_non_cdc: bool,
) -> None:
    counts["segment"] += 1
    for record in read_segment(source, snapshot, include_non_cdc=include_non_cdc):
        if isinstance(record, SegmentEnd):
            continue
        if isinstance(record, CorruptSection):
            counts["corrupt"] += 1
            err.print(f"corrupt section in {source.path.name}: {record.error}", markup=False)
            continue
        if isinstance(record, SkippedMutation):
            counts["skipped"] += 1
            continue
        if isinstance(record, UnknownSchema):
            counts["unknown_schema"] += 1
        else:
            _count(record, counts)
        if table is not None and isinstance(record, Mutation):
            _add_rows(table, record)
        elif table is None:
            out.print(json.dumps(record_to_dict(record)), markup=False)


def _count(mutation: Mutation, counts: Counter[str]) -> None:
    counts["mutation"] += 1
    for update in mutation.updates:
        counts["update"] += 1
        counts["row"] += len(update.unfiltereds) + (update.static_row is not None)
        counts["cell"] += sum(len(getattr(u, "cells", ())) for u in update.unfiltereds)


def _pretty_table() -> Table:
    table = Table(show_lines=False)
    for column in ("position", "table", "key", "clustering", "what"):
        table.add_column(column)
    return table


def _add_rows(table: Table, mutation: Mutation) -> None:
    for update in mutation.updates:
        name = f"{update.keyspace}.{update.table}"
        key = json.dumps(to_json_value(update.partition_key))
        if update.partition_deletion is not None:
            table.add_row(str(mutation.position), name, key, "", "partition deleted")
        for item in ((update.static_row,) if update.static_row else ()) + update.unfiltereds:
            clustering = json.dumps(to_json_value(item.clustering))
            table.add_row(str(mutation.position), name, key, clustering, _describe(item))


def _describe(item: object) -> str:
    if isinstance(item, RangeTombstoneMarker):
        return f"range tombstone {item.kind.name}"
    if not isinstance(item, Row):
        return repr(item)
    parts = []
    if item.deletion is not None:
        parts.append("row deleted")
    for cell in item.cells:
        shown = "<tombstone>" if cell.is_tombstone else json.dumps(to_json_value(cell.value))
        path = "" if cell.path is None else f"[{json.dumps(to_json_value(cell.path))}]"
        parts.append(f"{cell.column}{path}={shown}")
    return " ".join(parts)[:200]
