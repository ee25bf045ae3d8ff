"""ClickHouse for the local stack: chDB, the embedded ClickHouse engine, in a folder.

chDB runs inside the process that uses it, so there is nothing to start: `up` makes the folder
and checks that the engine opens it. A chDB folder can be open in one process at a time. The
sinks reach it through clickhouse-connect as `chdb://<folder>`, the same code path as a real
server URL. This module never touches another service.
"""

from __future__ import annotations

from pathlib import Path

from casscade.errors import StackError

SERVICE = "clickhouse"


class EmbeddedClickHouse:
    """The stack's chDB folder."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir

    @property
    def dsn(self) -> str:
        """The clickhouse-connect DSN of this folder."""
        return f"chdb://{self.data_dir}"

    def up(self) -> bool:
        """Create the folder if needed. Returns True if it was created."""
        created = not self.data_dir.exists()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return created

    def server_version(self) -> str:
        """Open the folder with clickhouse-connect and return the engine's version.

        Raises:
            StackError: the engine cannot open the folder (for example because another
                process holds it open).
        """
        import clickhouse_connect  # noqa: PLC0415 - loads the embedded engine, ~100 MB
        from clickhouse_connect.driver.exceptions import ClickHouseError  # noqa: PLC0415

        try:
            client = clickhouse_connect.get_client(dsn=self.dsn)
            try:
                return str(client.server_version)
            finally:
                client.close()
        except ClickHouseError as exc:
            raise StackError(SERVICE, f"chDB cannot open {self.data_dir}: {exc}") from exc
