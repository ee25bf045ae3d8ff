"""`casscade offsets show|reset`: the positions destinations committed for this node.

Each destination keeps its own position (segment id, offset) in the node's commit log,
committed with its rows (docs/sinks.md). `show` reads them through the sinks; `reset` makes
a destination forget its position, so the agent's next run re-reads cdc_raw from the oldest
segment still there. Last-write-wins makes that replay harmless to rows already applied.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from casscade.cli.run import ConfigOption
from casscade.commitlog.position import Position
from casscade.config.load import load_config
from casscade.config.models import Destination
from casscade.engine.agent import sink_for
from casscade.engine.shared_positions import SharedPositions
from casscade.errors import ConfigError, SinkError

app = typer.Typer(
    help="Positions the destinations committed in this node's commit log.",
    no_args_is_help=True,
)
console = Console(highlight=False)


def _read_position(destination: Destination, node_id: str) -> Position | None:
    """The destination's committed position for the node.

    Raises:
        SinkError: the destination is unreachable or refused the query.
    """
    sink = sink_for(destination)
    try:
        with console.status(f"connecting to {destination.name} ({destination.type})"):
            return sink.position(node_id)
    finally:
        sink.close()


@app.command("show")
def show(config_path: Path = ConfigOption) -> None:
    """Print each destination's committed position for the configured node.

    A position is `segment id:offset` in the node's commit log, or `none` when the
    destination has not committed anything yet. Exit code 1 when a destination cannot be
    reached (its row shows the error; the others are still shown).

    Examples:

        casscade offsets show --config casscade.yaml
    """
    config = load_config(config_path)
    node_id = config.source.node_id
    table = Table(title=f"casscade positions of node {node_id}")
    for column in ("destination", "type", "position"):
        table.add_column(column, overflow="fold")
    failed = 0
    for destination in config.destinations:
        try:
            position = _read_position(destination, node_id)
        except SinkError as exc:
            failed += 1
            text = f"error: {exc.problem}"
        else:
            text = "none" if position is None else str(position)
        table.add_row(destination.name, destination.type, text)
    console.print(table)
    if failed:
        raise typer.Exit(1)


@app.command("reset")
def reset(
    config_path: Path = ConfigOption,
    name: str = typer.Option(..., "--destination", "-d", help="The destination to reset."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Make one destination forget its position for the configured node.

    The agent's next run then re-reads cdc_raw, for that destination, from the oldest
    segment still there (segments already deleted are not read again); the progress it
    shared with other processes of the node (source.state_dir) is deleted too. Stop the agent
    first: a running agent would commit the position it holds in memory again. Asks for
    confirmation unless --yes; exit code 1 when declined (nothing is changed) or when the
    destination cannot be reached, 2 for a name that is not a configured destination.

    Examples:

        casscade offsets reset --config casscade.yaml --destination warehouse

        casscade offsets reset --config casscade.yaml --destination warehouse --yes
    """
    config = load_config(config_path)
    by_name = {d.name: d for d in config.destinations}
    if name not in by_name:
        known = ", ".join(by_name)
        raise ConfigError("--destination", f"no destination named {name} (configured: {known})")
    destination, node_id = by_name[name], config.source.node_id
    question = (
        f"Forget the position of destination {name} for node {node_id}? {name} will re-read "
        "cdc_raw from the oldest segment still there."
    )
    if not yes and not typer.confirm(question, default=False):
        console.print(f"nothing changed: {name} keeps its position", markup=False)
        raise typer.Exit(1)
    sink = sink_for(destination)
    try:
        with console.status(f"connecting to {name} ({destination.type})"):
            previous = sink.position(node_id)
            sink.forget_position(node_id)
    finally:
        sink.close()
    # Processes that run other destinations (`run --destination`) must not go on trusting
    # the progress it shared: it is behind that now.
    SharedPositions(config.source.state_dir, node_id).forget(name)
    was = "none" if previous is None else str(previous)
    console.print(f"{name}: position for node {node_id} forgotten (was {was})", markup=False)
