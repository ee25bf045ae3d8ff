"""Entry point of the `casscade` command: the typer app and the error boundary.

Exit codes (documented in docs/cli.md): 0 success, 1 a failure (a service would not start,
a check found a problem), 2 a usage or configuration error. A user mistake prints one line
on stderr, never a traceback.
"""

from __future__ import annotations

import sys

import typer
from pydantic import ValidationError
from rich.console import Console

from casscade import __version__
from casscade.cli import decode, demo, dlq, offsets, protect, run, schema, stack, status
from casscade.errors import CasscadeError, ConfigError

EXIT_FAILURE = 1
EXIT_USAGE = 2

app = typer.Typer(
    name="casscade",
    help="Replicate Apache Cassandra tables, through the CDC commit log, into PostgreSQL, "
    "ClickHouse and TimescaleDB.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(stack.app, name="stack")
app.command("demo")(demo.demo)
app.command("decode")(decode.decode)
app.command("run")(run.run)
app.command("verify")(run.verify)
app.command("check-config")(run.check_config)
app.add_typer(dlq.app, name="dlq")
app.command("audit")(protect.audit)
app.command("detokenize")(protect.detokenize)
app.command("status")(status.status)
app.add_typer(offsets.app, name="offsets")
app.command("config-schema")(schema.config_schema)


def _version(value: bool) -> None:
    if value:
        print(f"casscade {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """casscade: Cassandra CDC into PostgreSQL, ClickHouse and TimescaleDB."""


def _one_line(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(item) for item in error["loc"]) or "config"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def main() -> None:
    """Run the CLI, turning our own errors into one line on stderr and an exit code.

    Click (inside typer) handles usage errors itself in standalone mode: one message and
    exit code 2. Everything else a user can cause arrives here as a CasscadeError or a
    pydantic ValidationError.
    """
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        app()
    except ConfigError as exc:
        err.print(f"error: {exc}", markup=False)
        sys.exit(EXIT_USAGE)
    except ValidationError as exc:
        err.print(f"error: {_one_line(exc)}", markup=False)
        sys.exit(EXIT_USAGE)
    except CasscadeError as exc:
        err.print(f"error: {exc}", markup=False)
        sys.exit(EXIT_FAILURE)
