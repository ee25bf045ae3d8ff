"""Tests of the CLI's error boundary: bad input gives one line and exit code 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def _casscade(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from casscade.cli.main import main; main()", *args],
        capture_output=True, text=True, cwd=cwd, check=False, timeout=60,
    )  # fmt: skip


def test_cli_stack_up_bad_compat_mode_exits_2_with_one_line(tmp_path: Path) -> None:
    """An invalid storage_compatibility_mode names the field, exits 2, no traceback."""
    result = _casscade(
        "stack", "up", "--dir", str(tmp_path), "--compat", "CASSANDRA_3", cwd=tmp_path
    )
    assert result.returncode == 2
    assert "storage_compatibility_mode" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_cli_stack_up_unknown_service_exits_2(tmp_path: Path) -> None:
    """--only with an unknown service is a usage error naming the option."""
    result = _casscade("stack", "up", "--dir", str(tmp_path), "--only", "mysql", cwd=tmp_path)
    assert result.returncode == 2
    assert "--only" in result.stderr
    assert "mysql" in result.stderr


def test_cli_unknown_option_exits_2(tmp_path: Path) -> None:
    """An option the command does not have is a usage error with exit code 2."""
    result = _casscade("stack", "up", "--no-such-option", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_cli_status_without_stack_exits_1(tmp_path: Path) -> None:
    """Asking for the status of a folder with no stack says so and exits 1."""
    result = _casscade("stack", "status", "--dir", str(tmp_path / "none"), cwd=tmp_path)
    assert result.returncode == 1
    assert "no stack" in result.stdout


def test_cli_version_prints_version(tmp_path: Path) -> None:
    """--version prints the package version."""
    result = _casscade("--version", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith("casscade ")
