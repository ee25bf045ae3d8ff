"""Background service processes of the local stack: start detached, find, wait for, stop.

Each service runs in its own session (process group) with its output in a log file and its
pid in a pid file, so a later `casscade stack` invocation, or a test session, finds it again.
This module knows nothing about any particular service.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from casscade.errors import StackError

# How often readiness and exit are polled. Short enough that a warm start is not slowed down,
# long enough that a 2-core machine is not busy polling while Java starts.
POLL_INTERVAL_S = 0.25

# Started through `sh` so the service is not our child: it outlives us without being left a
# zombie or making Python warn that a subprocess still runs. `$!` is the service's own pid.
_DETACH = 'log="$1"; shift; "$@" </dev/null >>"$log" 2>&1 & echo $!'


@dataclass(frozen=True, slots=True)
class DaemonSpec:
    """How to start one background process.

    Attributes:
        service: the service's name, used in errors.
        argv: the command line.
        log_path: file that receives stdout and stderr (appended).
        pid_path: file that receives the pid.
        marker: a string that must occur in the process's command line for a pid read back
            from `pid_path` to count as this service (guards against pid reuse).
        env: the complete environment, or None to inherit ours.
        cwd: working directory, or None for ours.
        user: run as this OS user (via runuser), or None for the current user.
    """

    service: str
    argv: tuple[str, ...]
    log_path: Path
    pid_path: Path
    marker: str
    env: Mapping[str, str] | None = None
    cwd: Path | None = None
    user: str | None = None


def start_daemon(spec: DaemonSpec) -> int:
    """Start `spec` detached from us (own session, reparented to init) and record its pid.

    Returns:
        The new process's pid.

    Raises:
        StackError: the shell could not start it.
    """
    spec.log_path.parent.mkdir(parents=True, exist_ok=True)
    argv: Sequence[str] = spec.argv
    if spec.user is not None:
        argv = ("runuser", "-u", spec.user, "--", *spec.argv)
    result = subprocess.run(
        ["sh", "-c", _DETACH, "casscade-detach", str(spec.log_path), *argv],
        capture_output=True,
        text=True,
        env=None if spec.env is None else dict(spec.env),
        cwd=spec.cwd,
        start_new_session=True,
        check=False,
    )
    try:
        pid = int(result.stdout.strip())
    except ValueError:
        raise StackError(spec.service, f"could not start: {result.stderr.strip()}") from None
    spec.pid_path.write_text(f"{pid}\n", encoding="ascii")
    return pid


def is_alive(pid: int) -> bool:
    """Tell whether `pid` is a live process (a finished zombie counts as dead)."""
    stat = Path(f"/proc/{pid}/stat")
    try:
        text = stat.read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    # The state letter follows the parenthesised command name, which may contain spaces.
    state = text.rsplit(")", 1)[-1].split()[0]
    if state not in {"Z", "X"}:
        return True
    # A multi-threaded process (a JVM) shows its main thread as a zombie while the other
    # threads still run their exit, holding sockets: it is dead once only one task is left.
    try:
        return sum(1 for _ in Path(f"/proc/{pid}/task").iterdir()) > 1
    except OSError:
        return False


def find_daemon(pid_path: Path, marker: str) -> int | None:
    """Return the pid on the first line of `pid_path` if that process is alive and is ours."""
    try:
        pid = int(pid_path.read_text(encoding="ascii").split("\n", 1)[0].strip())
    except (OSError, ValueError):
        return None
    if not is_alive(pid):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return None
    return pid if marker.encode() in cmdline else None


def stop_daemon(pid: int, *, timeout_s: float) -> bool:
    """Send SIGTERM, wait up to `timeout_s` for the exit, then SIGKILL.

    Returns:
        True if the process exited after SIGTERM, False if it had to be killed.
    """
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if wait_until(lambda: not is_alive(pid), timeout_s=timeout_s):
        return True
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not is_alive(pid), timeout_s=10.0)
    return False


def wait_until(predicate: Callable[[], bool], *, timeout_s: float) -> bool:
    """Poll `predicate` until it is true or `timeout_s` has passed; return its last value."""
    deadline = time.monotonic() + timeout_s
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_INTERVAL_S)


def is_port_open(host: str, port: int) -> bool:
    """Tell whether something accepts TCP connections on (host, port)."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def require_free_port(service: str, host: str, port: int) -> None:
    """Raise StackError if (host, port) is already taken by something else."""
    if is_port_open(host, port):
        raise StackError(
            service,
            f"port {host}:{port} is already in use by another process",
            "stop it, or choose other ports (casscade stack up --help)",
        )


def log_tail(path: Path, lines: int = 5) -> str:
    """Return the last `lines` lines of a log file, joined with ' | ', for one-line errors."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    tail = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
    return " | ".join(tail)
