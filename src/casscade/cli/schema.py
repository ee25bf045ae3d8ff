"""`casscade config-schema`: the JSON Schema of the configuration file, for editors and CI."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console

from casscade.config.schema import render_schema
from casscade.errors import ConfigError

console = Console(highlight=False)


def config_schema(
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write the schema to this file instead of stdout."
    ),
) -> None:
    """Print the JSON Schema (draft 2020-12) of casscade.yaml, generated from the models.

    Secrets appear as the keys a file uses (`password_env`, `password_file`, `token_env`,
    `token_file`), never as a literal `password`. The repository keeps a copy in
    docs/casscade.schema.json; regenerate it after changing the configuration models.

    Examples:

        casscade config-schema > casscade.schema.json

        casscade config-schema --output docs/casscade.schema.json
    """
    text = render_schema()
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError("--output", f"cannot write {output}: {exc.strerror}") from exc
    console.print(f"wrote {output}", markup=False)
