"""`casscade dlq list|replay`: the events destinations could not apply."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from casscade.cli.run import ConfigOption, cassandra_session
from casscade.config.load import load_config
from casscade.config.models import Destination
from casscade.engine.agent import sink_for
from casscade.engine.deadletters import DeadLetter, DeadLetterStore, letter_to_json
from casscade.errors import ConfigError, SinkError
from casscade.source.registry import SchemaRegistry
from casscade.source.schema import read_schema_rows

app = typer.Typer(
    help="Dead letters: events a destination could not apply (see docs/operations.md).",
    no_args_is_help=True,
)
console = Console(highlight=False)
DestinationOption = typer.Option(None, "--destination", "-d", help="Only this destination.")


@app.command("list")
def list_letters(
    config_path: Path = ConfigOption,
    destination: str | None = DestinationOption,
    as_json: bool = typer.Option(
        False, "--json", help="One JSON object a line, with the event, instead of a table."
    ),
) -> None:
    """List dead letters: id, destination, table, attempts, last failure and error.

    Examples:

        casscade dlq list --config casscade.yaml

        casscade dlq list --config casscade.yaml --destination warehouse --json
    """
    config = load_config(config_path)
    letters = DeadLetterStore(config.dead_letters.directory).list(destination)
    if as_json:
        for letter in letters:
            print(json.dumps(letter_to_json(letter), separators=(",", ":")))
        return
    table = Table(title=f"casscade dead letters ({len(letters)})")
    for column in ("id", "destination", "table", "attempts", "last failed", "error"):
        table.add_column(column)
    for letter in letters:
        table.add_row(letter.id, letter.destination, letter.table, str(letter.attempts),
                      letter.last_failed, letter.error)  # fmt: skip
    console.print(table)


@app.command("replay")
def replay(
    config_path: Path = ConfigOption,
    destination: str | None = DestinationOption,
    ids: list[str] | None = typer.Option(None, "--id", help="Only these dead letters."),
) -> None:
    """Apply dead letters again (after fixing their cause); those that apply are removed.

    Exit code 1 when one still fails (it stays, with one more attempt). Replaying is safe at
    any time: the destination keeps the newest write of every column whatever the order.

    Examples:

        casscade dlq replay --config casscade.yaml

        casscade dlq replay --config casscade.yaml --destination warehouse --id 3f2a...
    """
    config = load_config(config_path)
    by_name = {d.name: d for d in config.destinations}
    if destination is not None and destination not in by_name:
        raise ConfigError("--destination", f"no destination named {destination}")
    store = DeadLetterStore(config.dead_letters.directory)
    letters = [
        letter
        for letter in store.list(destination)
        if (not ids or letter.id in ids) and letter.destination in by_name
    ]
    if not letters:
        console.print("no dead letters to replay", markup=False)
        return
    cluster, session = cassandra_session(config)
    registry = SchemaRegistry(lambda: read_schema_rows(session))  # type: ignore[arg-type]
    failed = 0
    try:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("replaying", total=len(letters))
            for letter in letters:
                failed += not _replay_one(store, registry, by_name[letter.destination], letter)
                progress.advance(task)
    finally:
        cluster.shutdown()  # type: ignore[attr-defined]
    console.print(f"replayed {len(letters) - failed} of {len(letters)}; {failed} still failing",
                  markup=False)  # fmt: skip
    if failed:
        raise typer.Exit(1)


def _replay_one(
    store: DeadLetterStore, registry: SchemaRegistry, config: Destination, letter: DeadLetter
) -> bool:
    """Apply one dead letter; remove it when it applied, count an attempt when not."""
    event = letter.event
    schema = registry.snapshot.by_name(event.keyspace, event.table)
    if schema is None:
        schema = registry.refresh().by_name(event.keyspace, event.table)
    problem = None
    if schema is None:
        problem = f"table {letter.table} no longer exists in Cassandra"
    else:
        sink = sink_for(config)
        try:
            sink.ensure_table(schema)
            sink.apply([event], node_id="replay", position=None)
        except SinkError as exc:
            problem = exc.problem
        finally:
            sink.close()
    if problem is not None:
        store.add(letter.destination, event, problem)
        console.print(f"{letter.id} ({letter.destination}): still failing: {problem}",
                      markup=False)  # fmt: skip
        return False
    store.resolve(letter.destination, [letter.id])
    return True
