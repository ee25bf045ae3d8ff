"""structlog setup: JSON lines (or a console view for --pretty), redaction, correlation ids.

`configure_logging` is called once by the CLI. Every log line then carries the context bound
with `bind_batch` (a batch id, the destination, the table), and the redaction processor
replaces anything under a key that could hold row data, so a value or a raw key never
reaches a log even by mistake (STYLE.md section 8). Records of the standard `logging` module
(cassandra-driver, psycopg) go through the same processors and renderer.
"""

from __future__ import annotations

import hashlib
import logging
import sys
import uuid
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any, Literal, TextIO

import structlog
from pydantic import SecretStr

Level = Literal["debug", "info", "warning", "error", "critical"]
REDACTED = "[redacted]"
# Keys under which row data could be logged. Log names, positions, counts and key hashes.
VALUE_KEYS = frozenset({
    "value", "values", "row", "rows", "cell", "cells", "key", "keys", "partition_key",
    "clustering", "old", "new", "before", "after", "data", "payload", "record",
    "password", "token", "secret",
})  # fmt: skip


def redact_values(
    _logger: object, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """A structlog processor: blank out row data and secrets, shorten binary data.

    `event` is structlog's message (a snake_case phrase) and stays; any other key in
    VALUE_KEYS is replaced, as are bytes and SecretStr values anywhere.
    """
    for name, value in event_dict.items():
        if name == "event":
            continue
        if name.lower() in VALUE_KEYS or isinstance(value, SecretStr):
            event_dict[name] = REDACTED
        elif isinstance(value, (bytes, bytearray, memoryview)):
            event_dict[name] = f"<{len(value)} bytes>"
    return event_dict


def hash_key(values: tuple[object, ...]) -> str:
    """A short stable hash of a primary key, to name a row in a log without its values."""
    return hashlib.blake2b(repr(values).encode(), digest_size=8).hexdigest()


def configure_logging(
    json: bool = True,
    level: Level = "info",
    *,
    stream: TextIO | None = None,
) -> None:
    """Send structlog and standard-library logging to one stream in one format.

    Args:
        json: JSON lines (the default, for log shippers); False: a console renderer.
        level: the lowest level written.
        stream: where to write (stdout when None).
    """
    out = sys.stdout if stream is None else stream
    number = logging.getLevelNamesMapping()[level.upper()]
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_values,
    ]
    renderer: Any
    if json:
        shared += [structlog.processors.dict_tracebacks]
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=out.isatty())
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(number),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(number)


def new_batch_id() -> str:
    """A random id naming one batch in logs and traces."""
    return uuid.uuid4().hex[:16]


@contextmanager
def bind_batch(
    destination: str, table: str | None = None, *, batch_id: str | None = None
) -> Iterator[str]:
    """Bind a correlation id, the destination and the table to every log line inside.

    Args:
        destination: the destination the batch goes to.
        table: keyspace.table when the batch is for one table.
        batch_id: an id to reuse (a new one when None).

    Yields:
        The batch id.
    """
    ident = new_batch_id() if batch_id is None else batch_id
    context = {"batch_id": ident, "destination": destination}
    if table is not None:
        context["table"] = table
    with structlog.contextvars.bound_contextvars(**context):
        yield ident
