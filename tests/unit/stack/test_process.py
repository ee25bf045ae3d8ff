"""Tests of background process handling with a real harmless process (sleep)."""

from __future__ import annotations

import sys
from pathlib import Path

from casscade.stack import process


def _spec(tmp_path: Path, marker: str = "casscade-test-sleeper") -> process.DaemonSpec:
    return process.DaemonSpec(
        service="sleeper",
        argv=(sys.executable, "-c", "import time; time.sleep(60)", marker),
        log_path=tmp_path / "sleeper.log",
        pid_path=tmp_path / "sleeper.pid",
        marker=marker,
    )


def test_start_find_stop_daemon_roundtrip(tmp_path: Path) -> None:
    """A started daemon is found by its pid file and marker, and SIGTERM stops it."""
    spec = _spec(tmp_path)
    pid = process.start_daemon(spec)
    assert process.find_daemon(spec.pid_path, spec.marker) == pid
    assert process.stop_daemon(pid, timeout_s=10) is True
    assert not process.is_alive(pid)
    assert process.find_daemon(spec.pid_path, spec.marker) is None


def test_find_daemon_other_marker_gives_none(tmp_path: Path) -> None:
    """A live pid whose command line lacks the marker is not taken for our service."""
    spec = _spec(tmp_path)
    pid = process.start_daemon(spec)
    try:
        assert process.find_daemon(spec.pid_path, "some-other-service") is None
    finally:
        process.stop_daemon(pid, timeout_s=10)


def test_find_daemon_missing_or_garbage_pid_file_gives_none(tmp_path: Path) -> None:
    """No pid file, or one that holds no number, means not running."""
    pid_path = tmp_path / "x.pid"
    assert process.find_daemon(pid_path, "x") is None
    pid_path.write_text("not a pid\n", encoding="ascii")
    assert process.find_daemon(pid_path, "x") is None


def test_log_tail_joins_last_lines(tmp_path: Path) -> None:
    """The tail of a log becomes one line for an error message."""
    log = tmp_path / "a.log"
    log.write_text("one\n\ntwo\nthree\nfour\n", encoding="utf-8")
    assert process.log_tail(log, lines=2) == "three | four"
    assert process.log_tail(tmp_path / "missing.log") == ""
