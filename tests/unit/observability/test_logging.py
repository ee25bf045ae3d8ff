"""configure_logging, bind_batch and the redaction processor."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog
from pydantic import SecretStr

from casscade.observability.logging import (
    REDACTED,
    bind_batch,
    configure_logging,
    hash_key,
    redact_values,
)


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Put structlog and the root logger back as they were."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()
    root.handlers, root.level = handlers, level


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_configure_logging_writes_json_lines_with_level_and_time() -> None:
    """Each event is one JSON object with the event, the level, a UTC timestamp and context."""
    out = io.StringIO()
    configure_logging(json=True, level="info", stream=out)
    structlog.get_logger("t").info("segment_opened", segment=12)
    structlog.get_logger("t").debug("hidden_below_level")
    (line,) = lines(out)
    assert line["event"] == "segment_opened"
    assert line["level"] == "info"
    assert line["segment"] == 12
    assert str(line["timestamp"]).endswith("Z")


def test_configure_logging_pretty_is_not_json() -> None:
    """The console renderer writes a readable line, not JSON."""
    out = io.StringIO()
    configure_logging(json=False, level="debug", stream=out)
    structlog.get_logger("t").debug("segment_opened", segment=12)
    text = out.getvalue()
    assert "segment_opened" in text
    assert "segment=12" in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)


def test_configure_logging_routes_standard_logging_through_the_same_renderer() -> None:
    """A driver's stdlib log record comes out as a JSON line with its logger name."""
    out = io.StringIO()
    configure_logging(stream=out, level="warning")
    logging.getLogger("cassandra.cluster").warning("host %s is down", "10.0.0.1")
    logging.getLogger("cassandra.cluster").info("not shown")
    (line,) = lines(out)
    assert line["event"] == "host 10.0.0.1 is down"
    assert line["logger"] == "cassandra.cluster"
    assert line["level"] == "warning"


def test_bind_batch_adds_a_correlation_id_destination_and_table() -> None:
    """Lines inside bind_batch carry its id, destination and table; lines after do not."""
    out = io.StringIO()
    configure_logging(stream=out)
    log = structlog.get_logger("t")
    with bind_batch("pg", "ks.t") as batch_id:
        log.info("batch_applied", events=3)
    log.info("after")
    inside, after = lines(out)
    assert len(batch_id) == 16
    assert (inside["batch_id"], inside["destination"], inside["table"]) == (batch_id, "pg", "ks.t")
    assert "batch_id" not in after


def test_bind_batch_ids_differ() -> None:
    """Two batches get two ids."""
    with bind_batch("pg") as first, bind_batch("pg") as second:
        assert first != second


def test_redaction_blanks_values_secrets_and_bytes() -> None:
    """Row data under value-like keys, SecretStr and bytes never reach the output."""
    out = io.StringIO()
    configure_logging(stream=out)
    structlog.get_logger("t").info(
        "row_rejected", values=(1, "alice@example.com"), partition_key=(42,),
        password=SecretStr("hunter2"), credential=SecretStr("x"), blob=b"\x00\x01\x02",
        table="ks.users",
    )  # fmt: skip
    (line,) = lines(out)
    raw = out.getvalue()
    assert "alice" not in raw
    assert "hunter2" not in raw
    assert line["values"] == REDACTED
    assert line["partition_key"] == REDACTED
    assert line["credential"] == REDACTED
    assert line["blob"] == "<3 bytes>"
    assert line["table"] == "ks.users"


def test_redact_values_keeps_the_event_message() -> None:
    """The event name itself is never redacted."""
    event = redact_values(None, "info", {"event": "value_written", "value": 1})
    assert event == {"event": "value_written", "value": REDACTED}


def test_hash_key_is_stable_short_and_hides_the_key() -> None:
    """The same key hashes the same; the hash does not contain the key."""
    assert hash_key((42, "alice")) == hash_key((42, "alice"))
    assert hash_key((42, "alice")) != hash_key((43, "alice"))
    assert len(hash_key((42, "alice"))) == 16
    assert "alice" not in hash_key((42, "alice"))
