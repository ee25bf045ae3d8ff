"""The project's own PostgreSQL cluster, from Debian's server binaries.

`initdb` in a folder of the stack, its own port on loopback and no Unix socket, so it never
touches a system cluster. PostgreSQL refuses to run as root, so when we are root the cluster
runs as the `postgres` OS user that Debian's package creates. This module never touches
another service.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from casscade.errors import StackError
from casscade.stack import process
from casscade.stack.config import PostgresSettings

SERVICE = "postgres"
OS_USER = "postgres"
_BIN_ROOT = Path("/usr/lib/postgresql")
# Where the cluster lives when the postgres OS user cannot reach the stack folder.
FALLBACK_ROOT = Path("/var/lib/casscade")
# The TLS certificate and key (PostgresSettings.ssl_*), as copied into the data folder.
_TLS_CERT = "casscade-server.crt"
_TLS_KEY = "casscade-server.key"


def find_bin_dir() -> Path:
    """Return the newest installed PostgreSQL server's bin folder."""
    candidates = sorted(
        (p for p in _BIN_ROOT.glob("*/bin") if (p / "initdb").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if candidates:
        return candidates[-1]
    on_path = shutil.which("initdb")
    if on_path is not None:
        return Path(on_path).resolve().parent
    raise StackError(SERVICE, "PostgreSQL server not found", "apt-get install postgresql")


class PostgresCluster:
    """One PostgreSQL cluster of the stack."""

    def __init__(self, settings: PostgresSettings, home: Path) -> None:
        self.settings = settings
        self.home = home
        self._as_root = os.geteuid() == 0

    @functools.cached_property
    def data_dir(self) -> Path:
        """The cluster's data folder.

        Normally `<home>/data`. As root the server runs as the `postgres` OS user; when that
        user cannot reach `home` (a private 0700 parent such as a mktemp folder or /root), the
        cluster lives under /var/lib/casscade instead, keyed by `home`, and the file
        `home/DATA_LOCATION` says where.
        """
        self.home.mkdir(parents=True, exist_ok=True)
        if not self._as_root:
            return self.home / "data"
        shutil.chown(self.home, user=OS_USER, group=OS_USER)
        if self._os_user_can_write(self.home):
            return self.home / "data"
        key = hashlib.sha256(str(self.home.resolve()).encode()).hexdigest()[:12]
        outside = FALLBACK_ROOT / f"postgres-{key}"
        outside.mkdir(parents=True, exist_ok=True)
        FALLBACK_ROOT.chmod(0o755)
        shutil.chown(outside, user=OS_USER, group=OS_USER)
        (self.home / "DATA_LOCATION").write_text(f"{outside / 'data'}\n", encoding="utf-8")
        return outside / "data"

    @property
    def log_path(self) -> Path:
        # Beside the data: the server, running as the postgres OS user, writes it.
        return self.data_dir.parent / "postgres.log"

    def _os_user_can_write(self, folder: Path) -> bool:
        probe = subprocess.run(
            ["runuser", "-u", OS_USER, "--", "test", "-w", str(folder)],
            capture_output=True, check=False,
        )  # fmt: skip
        return probe.returncode == 0

    def _run(self, argv: list[str], *, input_text: str | None = None) -> str:
        program = Path(argv[0]).name
        if self._as_root:
            argv = ["runuser", "-u", OS_USER, "--", *argv]
        result = subprocess.run(
            argv, input=input_text, capture_output=True, text=True, check=False, cwd="/"
        )
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().replace("\n", " | ")
            raise StackError(SERVICE, f"{program} failed: {detail}", str(self.log_path))
        return result.stdout

    def pid(self) -> int | None:
        """The postmaster's pid if it is running."""
        return process.find_daemon(self.data_dir / "postmaster.pid", "postgres")

    def up(self) -> bool:
        """Create the cluster once, start it unless running, and ensure role and database.

        Returns:
            True if the server was started, False if it was already running.
        """
        bin_dir = find_bin_dir()
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb(bin_dir)
        started = False
        if self.pid() is None:
            process.require_free_port(SERVICE, self.settings.host, self.settings.port)
            self._install_tls_files()
            self._run(
                [
                    str(bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log_path),
                    "-w", "-t", str(int(self.settings.startup_timeout_s)),
                    "-o", self._server_options(), "start",
                ]
            )  # fmt: skip
            started = True
        self._ensure_role_and_database(bin_dir)
        return started

    def _server_options(self) -> str:
        s = self.settings
        # No Unix socket: the cluster is reached over loopback TCP only, and never collides
        # with a system cluster's /var/run/postgresql socket.
        options = f"-c listen_addresses={s.host} -c port={s.port} -c unix_socket_directories=''"
        if s.ssl_cert_file is not None:
            # Relative to the data folder, where _install_tls_files put them.
            options += f" -c ssl=on -c ssl_cert_file={_TLS_CERT} -c ssl_key_file={_TLS_KEY}"
        return options

    def _install_tls_files(self) -> None:
        """Copy the TLS certificate and key into the data folder, owned by the server's user.

        The server refuses a key that others can read, and as root the server's OS user may
        not reach the files where they are (a private temporary folder).
        """
        s = self.settings
        if s.ssl_cert_file is None or s.ssl_key_file is None:
            return
        for source, name in ((s.ssl_cert_file, _TLS_CERT), (s.ssl_key_file, _TLS_KEY)):
            target = self.data_dir / name
            shutil.copyfile(source, target)
            target.chmod(0o600)
            if self._as_root:
                shutil.chown(target, user=OS_USER, group=OS_USER)

    def _initdb(self, bin_dir: Path) -> None:
        self._run(
            [
                str(bin_dir / "initdb"), "-D", str(self.data_dir), "-U", "postgres",
                "--auth-local=peer", "--auth-host=scram-sha-256", "-E", "UTF8",
                "--locale=C.UTF-8", "--no-instructions",
            ]
        )  # fmt: skip
        # The superuser logs in from loopback without a password (it is the stack's own
        # cluster, on loopback only); every other role needs its password.
        hba = self.data_dir / "pg_hba.conf"
        hba.write_text(
            "host all postgres 127.0.0.1/32 trust\n"
            "host all all 127.0.0.1/32 scram-sha-256\n"
            "host all all ::1/128 scram-sha-256\n",
            encoding="utf-8",
        )
        if self._as_root:
            shutil.chown(hba, user=OS_USER, group=OS_USER)

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run `sql` as the superuser with psql; return its unaligned output."""
        s = self.settings
        return self._run(
            [
                str(find_bin_dir() / "psql"), "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1",
                "-h", s.host, "-p", str(s.port), "-U", "postgres", "-d", database, "-f", "-",
            ],
            input_text=sql,
        )  # fmt: skip

    def _ensure_role_and_database(self, bin_dir: Path) -> None:
        s = self.settings
        # Safe to splice: PostgresSettings restricts names and password to [A-Za-z0-9_.-].
        exists = self.psql(f"SELECT 1 FROM pg_roles WHERE rolname = '{s.user}';")  # noqa: S608
        verb = "ALTER" if exists.strip() else "CREATE"
        self.psql(f"{verb} ROLE \"{s.user}\" LOGIN PASSWORD '{s.password}';")
        has_db = self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{s.database}';")  # noqa: S608
        if not has_db.strip():
            self.psql(f'CREATE DATABASE "{s.database}" OWNER "{s.user}";')

    def is_ready(self) -> bool:
        """Tell whether the pipeline's role can run a query."""
        import psycopg  # noqa: PLC0415 - only needed here

        try:
            with psycopg.connect(self.settings.dsn(), connect_timeout=3) as conn:
                return conn.execute("SELECT 1").fetchone() == (1,)
        except psycopg.Error:
            return False

    def down(self) -> bool:
        """Stop the server (fast shutdown). Returns True if it was running."""
        if self.pid() is None:
            return False
        self._run(
            [str(find_bin_dir() / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"]
        )
        return True
