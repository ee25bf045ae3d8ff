"""`casscade audit` and `casscade detokenize`: prove masking works, and undo it when allowed."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from casscade.cli.run import ConfigOption
from casscade.config.load import load_config
from casscade.engine.audit import audit_destination
from casscade.engine.masking import vault_for
from casscade.errors import ConfigError, SinkError
from casscade.masking import AuditReport, TokenNotFoundError, VaultError, load_keys

console = Console(highlight=False)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def audit(config_path: Path = ConfigOption) -> None:
    """Scan every destination for values that look like raw PII (emails, SSNs, phone and card
    numbers, configured patterns) and classified columns not in masked form.

    Exit code 1 when anything is found (or a destination cannot be read). Findings name the
    destination, table, column and kind, never a value. Examples:

        casscade audit --config casscade.yaml
    """
    config = load_config(config_path)
    table = Table(title="casscade audit")
    for column in ("destination", "table", "rows", "column", "class", "finding", "count",
                   "shapes"):  # fmt: skip
        table.add_column(column)
    problems = 0
    for destination in config.destinations:
        try:
            reports = audit_destination(config, destination)
        except SinkError as exc:
            err.print(f"error: {destination.name}: cannot be read: {exc.problem}", markup=False)
            problems += 1
            continue
        problems += _add_rows(table, destination.name, reports)
    console.print(table)
    if problems:
        console.print(f"{problems} finding(s): raw PII may have reached a destination",
                      markup=False)  # fmt: skip
        raise typer.Exit(1)
    console.print("no raw PII found", markup=False)


def _add_rows(table: Table, destination: str, reports: list[AuditReport]) -> int:
    found = 0
    for report in reports:
        if report.is_clean:
            table.add_row(destination, report.table, str(report.rows), "", "", "clean", "", "")
        for finding in report.findings:
            found += 1
            kind = finding.kind.value + (f" ({finding.detail})" if finding.detail else "")
            data_class = finding.data_class or ""
            table.add_row(destination, report.table, str(report.rows), finding.column,
                          data_class, kind, str(finding.count),
                          ", ".join(finding.excerpts))  # fmt: skip
    return found


def detokenize(
    token: str = typer.Argument(..., help="The token, as a destination holds it."),
    config_path: Path = ConfigOption,
    actor: str = typer.Option(..., "--actor", help="Who asks (written to the audit table)."),
    reason: str = typer.Option("", "--reason", help="Why (written to the audit table)."),
) -> None:
    """Print the original value of a token from the token vault (needs the vault key).

    Every request is written to the vault's audit table first, found or not. Exit code 1
    when the token is not in the vault. Examples:

        casscade detokenize --config casscade.yaml --actor alice --reason "ticket 42" tok:k1:...
    """
    config = load_config(config_path)
    if not config.masking.tokenizes:
        raise ConfigError("masking", "no rule tokenizes: there is no token vault to read")
    keys = load_keys(config.masking, environ=os.environ)
    with vault_for(config, keys) as vault:
        try:
            found = vault.detokenize(token, actor=actor, reason=reason)
        except TokenNotFoundError as exc:
            err.print(f"error: {exc}", markup=False)
            raise typer.Exit(1) from exc
        except VaultError as exc:
            err.print(f"error: token vault: {exc}", markup=False)
            raise typer.Exit(1) from exc
    value = found.value
    print(value.hex() if isinstance(value, bytes) else value)
