"""The project's exception hierarchy (STYLE.md section 5).

Every error keeps its context in attributes and builds its message from them, so it pickles
and prints as one line that says what went wrong and where. Nothing here does I/O.
"""

from __future__ import annotations


class CasscadeError(Exception):
    """Base class of every error casscade raises on purpose."""


class ConfigError(CasscadeError):
    """A configuration value is missing or invalid.

    Attributes:
        where: the setting (or file) at fault.
        problem: what is wrong with it.
    """

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(where, problem)

    def __str__(self) -> str:
        return f"{self.where}: {self.problem}"


class StackError(CasscadeError):
    """A service of the local development stack could not be set up, started or stopped.

    Attributes:
        service: which service (cassandra, postgres, timescaledb, clickhouse).
        problem: what failed, in one line.
        hint: where to look next (a log file, a command), or an empty string.
    """

    def __init__(self, service: str, problem: str, hint: str = "") -> None:
        self.service = service
        self.problem = problem
        self.hint = hint
        super().__init__(service, problem, hint)

    def __str__(self) -> str:
        text = f"{self.service}: {self.problem}"
        return f"{text} ({self.hint})" if self.hint else text


class SourceUnavailableError(CasscadeError):
    """The source Cassandra node cannot be reached.

    Attributes:
        address: host:port that was tried.
        problem: what the driver said.
    """

    def __init__(self, address: str, problem: str) -> None:
        self.address = address
        self.problem = problem
        super().__init__(address, problem)

    def __str__(self) -> str:
        return f"cassandra at {self.address} is unreachable: {self.problem}"


class SourceRefusedError(SourceUnavailableError):
    """The source node answered but refused the connection: credentials or TLS.

    Retrying cannot help until the configuration changes. Attributes as in the parent class.
    """

    def __str__(self) -> str:
        return f"cassandra at {self.address} refused the connection: {self.problem}"


class SinkError(CasscadeError):
    """A destination could not apply a batch.

    Attributes:
        destination: the destination's name.
        problem: what went wrong, in one line.
    """

    def __init__(self, destination: str, problem: str) -> None:
        self.destination = destination
        self.problem = problem
        super().__init__(destination, problem)

    def __str__(self) -> str:
        return f"destination {self.destination}: {self.problem}"


class TransientSinkError(SinkError):
    """Worth retrying: the destination is unreachable, busy, or the transaction conflicted."""


class PermanentSinkError(SinkError):
    """Retrying cannot help: a value or a table the destination cannot hold."""
