"""The local stack as one unit: bring services up, report their status, take them down.

`up` is idempotent: a service that already runs with the wanted settings is kept (a warm
`up` takes about a second), one that runs with other settings is restarted. The settings of
the last `up` are saved in `<root>/stack.json` so `status` and `down` act on the same ports,
and so tests and the demo find the services.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from casscade.errors import StackError
from casscade.stack.cassandra import CassandraNode
from casscade.stack.clickhouse import EmbeddedClickHouse
from casscade.stack.config import StackSettings
from casscade.stack.postgres import PostgresCluster
from casscade.stack.timescale import TimescaleServer

SETTINGS_FILE = "stack.json"


@dataclass(frozen=True, slots=True)
class ServiceStatus:
    """What one service is doing.

    Attributes:
        service: its name.
        running: a process (or, for chDB, the folder) exists.
        ready: it answers a query.
        endpoint: where clients reach it.
        detail: version or problem, one line.
    """

    service: str
    running: bool
    ready: bool
    endpoint: str
    detail: str


@dataclass(frozen=True, slots=True)
class UpReport:
    """The outcome of bringing one service up."""

    service: str
    started: bool
    seconds: float


Progress = Callable[[str], None]


class Stack:
    """Every service of the local stack, for one settings object."""

    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings
        root = settings.root
        self.cassandra = CassandraNode(settings.cassandra, root / "cassandra", settings.cache_dir)
        self.postgres = PostgresCluster(settings.postgres, root / "postgres")
        self.timescaledb = TimescaleServer(settings.timescaledb, root / "timescaledb")
        self.clickhouse = EmbeddedClickHouse(settings.clickhouse_dir)

    @classmethod
    def load(cls, root: Path) -> Stack | None:
        """The stack as the last `up` in `root` left it, or None if none ran there."""
        try:
            raw = json.loads((root / SETTINGS_FILE).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except ValueError as exc:
            raise StackError("stack", f"{root / SETTINGS_FILE} is not valid JSON: {exc}") from exc
        return cls(StackSettings.model_validate(raw))

    def up(self, progress: Progress | None = None) -> list[UpReport]:
        """Bring every configured service up, in dependency-free order, and save settings."""
        say = progress or (lambda _message: None)
        self.settings.root.mkdir(parents=True, exist_ok=True)
        (self.settings.root / SETTINGS_FILE).write_text(
            self.settings.model_dump_json(indent=2), encoding="utf-8"
        )
        steps: dict[str, Callable[[], bool]] = {
            "postgres": self.postgres.up,
            "timescaledb": self.timescaledb.up,
            "clickhouse": self.clickhouse.up,
            "cassandra": self.cassandra.up,
        }
        reports = []
        for service, step in steps.items():
            if service not in self.settings.services:
                continue
            say(f"{service}: starting")
            began = time.monotonic()
            started = step()
            seconds = time.monotonic() - began
            say(f"{service}: {'started' if started else 'already running'} in {seconds:.1f} s")
            reports.append(UpReport(service, started, seconds))
        return reports

    def down(self) -> list[str]:
        """Stop every running service; return the names of those that were stopped."""
        stopped = []
        for service, stop in (
            ("cassandra", self.cassandra.down),
            ("timescaledb", self.timescaledb.down),
            ("postgres", self.postgres.down),
        ):
            if stop():
                stopped.append(service)
        return stopped

    def purge(self) -> None:
        """Stop everything and delete the stack folder (data included)."""
        self.down()
        shutil.rmtree(self.postgres.data_dir.parent, ignore_errors=True)
        shutil.rmtree(self.settings.root, ignore_errors=True)

    def status(self) -> list[ServiceStatus]:
        """Each configured service's status (queries the services that run)."""
        s = self.settings
        out = []
        if "cassandra" in s.services:
            running = self.cassandra.pid() is not None
            version = self.cassandra.release_version() if running else None
            out.append(
                ServiceStatus(
                    "cassandra", running, version is not None,
                    f"{s.cassandra.host}:{s.cassandra.native_port}",
                    f"{version} commitlog v{s.cassandra.commitlog_version} "
                    f"sync={s.cassandra.commitlog_sync} cdc_raw={self.cassandra.layout.cdc_raw_dir}"
                    if version else "not answering",
                )
            )  # fmt: skip
        if "postgres" in s.services:
            running = self.postgres.pid() is not None
            ready = running and self.postgres.is_ready()
            out.append(
                ServiceStatus(
                    "postgres", running, ready, f"{s.postgres.host}:{s.postgres.port}",
                    f"database={s.postgres.database} user={s.postgres.user}",
                )
            )  # fmt: skip
        if "timescaledb" in s.services:
            running = self.timescaledb.pid() is not None
            ext = self.timescaledb.extension_version() if running else None
            out.append(
                ServiceStatus(
                    "timescaledb", running, ext is not None,
                    f"{s.timescaledb.host}:{s.timescaledb.port}",
                    f"PGlite with timescaledb {ext}" if ext else "not answering",
                )
            )  # fmt: skip
        if "clickhouse" in s.services:
            exists = self.clickhouse.data_dir.exists()
            out.append(
                ServiceStatus(
                    "clickhouse", exists, exists, self.clickhouse.dsn, "chDB, embedded in-process"
                )
            )
        return out
