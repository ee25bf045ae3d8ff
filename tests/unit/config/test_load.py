"""Tests of loading the agent's configuration: valid files, secrets, one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from casscade.config.load import check_config, load_config
from casscade.config.models import PostgresDestination
from casscade.errors import ConfigError

VALID = """
source:
  node_id: node1
  cdc_raw_dir: /var/lib/cassandra/cdc_raw
tables: [ks.users]
destinations:
  - type: postgres
    name: warehouse
    database: app
    user: casscade
    password_env: PG_PASSWORD
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "casscade.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_load_config_valid_file_resolves_secret_from_environment(tmp_path: Path) -> None:
    """password_env is read from the environment into a SecretStr that does not print."""
    config = load_config(_write(tmp_path, VALID), environ={"PG_PASSWORD": "s3cret"})
    (destination,) = config.destinations
    assert isinstance(destination, PostgresDestination)
    assert destination.password is not None
    assert destination.password.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(config)
    assert "password='s3cret'" in destination.conninfo()
    assert config.tables_for(destination) == ("ks.users",)


def test_load_config_password_file_is_read(tmp_path: Path) -> None:
    """password_file reads the secret from a file (as Docker and Kubernetes mount them)."""
    secret = tmp_path / "pw"
    secret.write_text("from-file\n", encoding="utf-8")
    text = VALID.replace("password_env: PG_PASSWORD", f"password_file: {secret}")
    (destination,) = load_config(_write(tmp_path, text), environ={}).destinations
    assert isinstance(destination, PostgresDestination)
    assert destination.password is not None
    assert destination.password.get_secret_value() == "from-file"


@pytest.mark.parametrize(
    ("change", "where", "what"),
    [
        (("password_env: PG_PASSWORD", "password: plain"), "destinations.0.password",
         "secrets do not go in the file"),
        (("password_env: PG_PASSWORD", "password_env: MISSING"), "password_env", "MISSING"),
        (("tables: [ks.users]", "tables: [users]"), "tables", "keyspace.table"),
        (("  node_id: node1\n", ""), "source.node_id", "Field required"),
        (("type: postgres", "type: oracle"), "destinations.0", "postgres"),
        (("    user: casscade\n", "    user: casscade\n    colour: blue\n"), "colour",
         "Extra inputs"),
        (("tables: [ks.users]", "tables: ["), "casscade.yaml", "not valid YAML"),
        (("  - type: postgres\n    name: warehouse\n    database: app\n    user: casscade\n"
          "    password_env: PG_PASSWORD\n",
          "  - type: clickhouse\n    name: olap\n    dsn: chdb://relative/dir\n"),
         "destinations.0.dsn", "absolute path"),
    ],
)  # fmt: skip
def test_load_config_bad_setting_one_line_error_naming_it(
    tmp_path: Path, change: tuple[str, str], where: str, what: str
) -> None:
    """Each mistake gives one ConfigError naming where in the file and what is wrong."""
    path = _write(tmp_path, VALID.replace(*change))
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={"PG_PASSWORD": "x"})
    message = str(caught.value)
    assert where in message
    assert what in message
    assert "\n" not in message


def test_check_config_reports_every_problem_at_once(tmp_path: Path) -> None:
    """All mistakes of a file are listed together, each naming its place."""
    text = (
        VALID.replace("password_env: PG_PASSWORD", "password: plain")
        .replace("tables: [ks.users]", "tables: [users]")
        .replace("  node_id: node1\n", "")
    )
    config, problems = check_config(_write(tmp_path, text), environ={})
    assert config is None
    places = " ".join(str(p) for p in problems)
    assert "destinations.0.password" in places
    assert "tables" in places
    assert "source.node_id" in places
    with pytest.raises(ConfigError, match=r"\(and \d+ more\)"):
        load_config(_write(tmp_path, text), environ={})


def test_cli_check_config_exit_codes(tmp_path: Path) -> None:
    """check-config exits 0 on a valid file and 2, one line per problem, on a bad one."""
    good = _write(tmp_path, VALID)
    run = [sys.executable, "-c", "from casscade.cli.main import main; main()", "check-config"]
    ok = subprocess.run([*run, "--config", str(good)], capture_output=True, text=True,
                        env={"PG_PASSWORD": "x", "PATH": "/usr/bin"}, check=False)  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert "valid: 1 tables" in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(VALID.replace("tables: [ks.users]", "tables: [users]"), encoding="utf-8")
    failed = subprocess.run([*run, "--config", str(bad)], capture_output=True, text=True,
                            env={"PATH": "/usr/bin"}, check=False)  # fmt: skip
    assert failed.returncode == 2
    lines = failed.stderr.strip().splitlines()
    assert len(lines) == 2  # the bad table name and the unset PG_PASSWORD
    assert all(line.startswith("error: ") for line in lines)


def test_example_configuration_is_valid() -> None:
    """The example file in examples/ validates (with its documented environment variable)."""
    example = Path(__file__).resolve().parents[3] / "examples" / "casscade-local.yaml"
    config, problems = check_config(example, environ={"CASSCADE_PG_PASSWORD": "casscade"})
    assert problems == []
    assert config is not None
    assert [d.type for d in config.destinations] == ["postgres", "timescaledb", "clickhouse"]
