"""`casscade check-config` on malformed configuration files, through the real CLI.

Each file is checked by a `casscade` subprocess, as a user would run it. Every one must exit
with code 2 and print exactly its problems on stderr, one `error: FILE: PATH: what` line
each, naming the setting's path in the file (`destinations.0.port`), and no traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

BASE = """\
source:
  node_id: node1
  cdc_raw_dir: /var/lib/cassandra/cdc_raw
tables: [ks.users, ks.orders]
destinations:
  - type: postgres
    name: warehouse
    database: app
    user: casscade
    password_env: CASSCADE_TEST_PG_PASSWORD
"""
SOURCE = "  node_id: node1\n"
DESTINATION = "    user: casscade\n"
UNSET = "CASSCADE_TEST_SURELY_UNSET_VARIABLE"
MASKING = """\
masking:
  tables:
    ks.users:
      columns:
        email: {RULE}
"""


def _change(old: str, new: str) -> str:
    assert old in BASE, old
    return BASE.replace(old, new)


@dataclass(frozen=True)
class Case:
    """A malformed file and the problems check-config must print for it, in order.

    Attributes:
        name: the test id.
        text: the file's content (bytes for a file that is not text).
        problems: (path in the file, a fragment of the message) per expected line; the path
            is "" for a problem of the whole file.
    """

    name: str
    text: str | bytes
    problems: tuple[tuple[str, str], ...]


CASES = (
    Case("yaml_syntax_error", "source:\n  node_id: node1\n   cdc_raw_dir: /x\n",
         (("", "not valid YAML at line 3, column 15: mapping values are not allowed here"),)),
    Case("not_a_mapping", "- source\n- tables\n",
         (("", "expected a mapping at the top level"),)),
    Case("missing_source", "tables:" + BASE.split("tables:", 1)[1],
         (("source", "Field required"),)),
    Case("unknown_top_level_key", BASE + "colour: blue\n",
         (("colour", "Extra inputs are not permitted"),)),
    Case("port_wrong_type", _change(DESTINATION, DESTINATION + "    port: five\n"),
         (("destinations.0.port", "Input should be a valid integer"),)),
    Case("port_out_of_range", _change(DESTINATION, DESTINATION + "    port: 70000\n"),
         (("destinations.0.port", "Input should be less than or equal to 65535"),)),
    Case("table_without_keyspace", _change("[ks.users, ks.orders]", "[ks.users, orders]"),
         (("tables", "expected keyspace.table, got orders"),)),
    Case("empty_tables", _change("[ks.users, ks.orders]", "[]"),
         (("tables", "at least 1 item"),)),
    Case("unknown_destination_type", _change("type: postgres", "type: oracle"),
         (("destinations.0.type",
           "expected one of 'postgres', 'timescaledb', 'clickhouse', got 'oracle'"),)),
    Case("destination_without_type", _change("  - type: postgres\n    name", "  - name"),
         (("destinations.0.type", "Field required"),)),
    Case("duplicate_destination_names",
         BASE + ("  - {type: clickhouse, name: warehouse, dsn: 'chdb:///tmp/ch'}\n"),
         (("destinations.1.name",
           "warehouse is already the name of destinations.0 (names must be unique)"),)),
    Case("literal_password", _change("password_env: CASSCADE_TEST_PG_PASSWORD", "password: x"),
         (("destinations.0.password", "secrets do not go in the file: use password_env or "
           "password_file"),)),
    Case("password_env_unset", _change("CASSCADE_TEST_PG_PASSWORD", UNSET),
         (("destinations.0.password_env", f"environment variable {UNSET} is not set"),)),
    Case("password_file_missing",
         _change("password_env: CASSCADE_TEST_PG_PASSWORD", "password_file: /no/such/pw"),
         (("destinations.0.password_file", "cannot read /no/such/pw: No such file"),)),
    Case("password_env_and_file",
         _change(DESTINATION, DESTINATION + "    password_file: /no/such/pw\n"),
         (("destinations.0.password_file", "give password_env or password_file, not both"),)),
    Case("chdb_relative_path",
         BASE + ("  - {type: clickhouse, name: olap, dsn: 'chdb://data/ch'}\n"),
         (("destinations.1.dsn", "chDB needs an absolute path"),)),
    Case("negative_batch_size", BASE + "batch: {max_events: -5}\n",
         (("batch.max_events", "Input should be greater than or equal to 1"),)),
    Case("poll_interval_too_small", _change(SOURCE, SOURCE + "  poll_interval_ms: 1\n"),
         (("source.poll_interval_ms", "Input should be greater than or equal to 10"),)),
    Case("archive_without_archive_dir", _change(SOURCE, SOURCE + "  cleanup: archive\n"),
         (("source.archive_dir", "required with cleanup: archive"),)),
    Case("destination_tables_not_configured",
         _change(DESTINATION, DESTINATION + "    tables: [ks.users, ks.payments]\n"),
         (("destinations.0.tables", "not in the top-level tables: ks.payments"),)),
    Case("http_any_address_without_token", BASE + "http: {host: 0.0.0.0}\n",
         (("http", "binding to 0.0.0.0 needs a bearer token: set token_env or token_file"),)),
    Case("unknown_key_in_destination", _change(DESTINATION, DESTINATION + "    colour: blue\n"),
         (("destinations.0.colour", "Extra inputs are not permitted"),)),
    Case("on_poison_invalid", BASE + "dead_letters: {on_poison: ignore}\n",
         (("dead_letters.on_poison", "Input should be 'dead_letter' or 'stop'"),)),
    Case("not_utf8", b"source:\n  node_id: \xff\xfe\n", (("", "not UTF-8 text"),)),
    Case("masking_unknown_strategy",
         BASE + MASKING.replace("{RULE}", "{class: pii, strategy: scramble}"),
         (("masking.tables.ks.users.columns.email", "strategy must be one of hash"),)),
    Case("masking_option_out_of_range",
         BASE + MASKING.replace("{RULE}", "{class: pii, strategy: partial, keep_last: 999}"),
         (("masking.tables.ks.users.columns.email.keep_last",
           "Input should be less than or equal to 64"),)),
    Case("several_problems_at_once",
         _change("password_env: CASSCADE_TEST_PG_PASSWORD", "password: x\n    port: 0")
         .replace("[ks.users, ks.orders]", "[users]") + "colour: blue\n",
         (("destinations.0.password", "secrets do not go in the file"),
          ("tables", "expected keyspace.table, got users"),
          ("destinations.0.port", "Input should be greater than or equal to 1"),
          ("colour", "Extra inputs are not permitted"))),
)  # fmt: skip

Result = subprocess.CompletedProcess[str]


def _check_config(path: Path) -> Result:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASSCADE_")}
    env["CASSCADE_TEST_PG_PASSWORD"] = "x"  # noqa: S105 - a dummy: check-config connects nowhere
    return subprocess.run(
        [sys.executable, "-c", "from casscade.cli.main import main; main()",
         "check-config", "--config", str(path)],
        capture_output=True, text=True, env=env, check=False, timeout=120,
    )  # fmt: skip


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Result]]:
    """Every case's file, checked by its own `casscade` process, a few at a time."""
    folder = tmp_path_factory.mktemp("malformed")
    paths = {"valid": folder / "valid.yaml"}
    paths["valid"].write_text(BASE, encoding="utf-8")
    for case in CASES:
        paths[case.name] = folder / f"{case.name}.yaml"
        if isinstance(case.text, bytes):
            paths[case.name].write_bytes(case.text)
        else:
            paths[case.name].write_text(case.text, encoding="utf-8")
    # Each process spends its time importing casscade; running a few at once keeps the
    # unit suite fast.
    with ThreadPoolExecutor(max_workers=4) as pool:
        done = dict(zip(paths, pool.map(_check_config, paths.values()), strict=True))
    return {name: (paths[name], result) for name, result in done.items()}


def test_malformed_configs_cover_at_least_twenty_cases() -> None:
    """The table of malformed files has at least twenty distinct cases."""
    assert len({case.name for case in CASES}) == len(CASES) >= 20


def test_check_config_base_file_is_valid(results: dict[str, tuple[Path, Result]]) -> None:
    """The file every case breaks is valid, so each failure comes from the case's change."""
    _, result = results["valid"]
    assert result.returncode == 0, result.stderr
    assert "valid: 2 tables" in result.stdout


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_check_config_malformed_file_exits_2_with_exactly_its_problems(
    case: Case, results: dict[str, tuple[Path, Result]]
) -> None:
    """Exit code 2, nothing on stdout, and on stderr exactly one line per problem naming its
    place in the file; never a traceback."""
    path, result = results[case.name]
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == len(case.problems), result.stderr
    for line, (where, fragment) in zip(lines, case.problems, strict=True):
        prefix = f"error: {path}: {where}: " if where else f"error: {path}: "
        assert line.startswith(prefix), (line, prefix)
        assert fragment in line.removeprefix(prefix), (line, fragment)
