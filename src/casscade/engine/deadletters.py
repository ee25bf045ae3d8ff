"""Dead letters: events a destination can never apply, kept to be looked at and replayed.

One JSON-lines file per destination in the configured directory. Each line is one failure of
one event: the event in typed JSON (`casscade.events.serde.event_to_typed`, so a replay
applies exactly what failed), the error, the attempt count and times. An event that fails
again (a replay, or the agent re-reading a batch after a restart) adds a line with the same
id; reading takes the newest line per id, so an event is listed once. `resolve` rewrites the
file without the given ids (write to a temporary file, fsync, rename: a crash leaves the old or
the new file, never half of one). A line is written and fsynced before the destination's
position moves past its event, so a crash can duplicate a line, never lose an event.

Events reach this store after masking (ARCHITECTURE.md): it holds what the destination would
have held, nothing more sensitive.
"""

from __future__ import annotations

import datetime
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import structlog

from casscade.events.model import ChangeEvent
from casscade.events.serde import event_from_typed, event_id, event_to_typed

log = structlog.get_logger(__name__)
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One event a destination could not apply.

    Attributes:
        id: the event's content id (`event_id`).
        destination: the destination's name.
        table: keyspace.table.
        error: the destination's error, one line.
        attempts: how many times applying it failed.
        first_failed: when it first failed (UTC, ISO 8601).
        last_failed: when it last failed.
        event: the event itself.
    """

    id: str
    destination: str
    table: str
    error: str
    attempts: int
    first_failed: str
    last_failed: str
    event: ChangeEvent


class DeadLetterStore:
    """The dead letters of one agent, a file per destination in `directory`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, destination: str) -> Path:
        return self.directory / f"{_SAFE_NAME.sub('_', destination)}.jsonl"

    def add(self, destination: str, event: ChangeEvent, error: str) -> DeadLetter:
        """Record a failure of `event` (durably, before the caller moves its position on)."""
        ident = event_id(event)
        now = datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")
        previous = self._read(destination).get(ident)
        letter = DeadLetter(
            id=ident,
            destination=destination,
            table=event.qualified_table,
            error=error,
            attempts=1 if previous is None else previous.attempts + 1,
            first_failed=now if previous is None else previous.first_failed,
            last_failed=now,
            event=event,
        )
        self.directory.mkdir(parents=True, exist_ok=True)
        with self._path(destination).open("a", encoding="utf-8") as out:
            out.write(json.dumps(letter_to_json(letter), separators=(",", ":")) + "\n")
            out.flush()
            os.fsync(out.fileno())
        return letter

    def list(self, destination: str | None = None) -> list[DeadLetter]:
        """The dead letters of one destination, or of all, oldest first."""
        if destination is not None:
            names = [destination]
        elif self.directory.is_dir():
            names = [self._destination_of(p) for p in sorted(self.directory.glob("*.jsonl"))]
        else:
            names = []
        letters = [letter for name in names for letter in self._read(name).values()]
        return sorted(letters, key=lambda d: (d.first_failed, d.id))

    def count(self, destination: str) -> int:
        return len(self._read(destination))

    def resolve(self, destination: str, ids: Iterable[str]) -> int:
        """Remove the dead letters `ids` of a destination (they applied); how many were."""
        gone = set(ids)
        letters = self._read(destination)
        kept = [letter for ident, letter in letters.items() if ident not in gone]
        if len(kept) == len(letters):
            return 0
        path = self._path(destination)
        temporary = path.with_suffix(".jsonl.tmp")
        with temporary.open("w", encoding="utf-8") as out:
            for letter in kept:
                out.write(json.dumps(letter_to_json(letter), separators=(",", ":")) + "\n")
            out.flush()
            os.fsync(out.fileno())
        temporary.replace(path)
        return len(letters) - len(kept)

    def _destination_of(self, path: Path) -> str:
        """A destination's name from its file (the name is kept in every line too)."""
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                try:
                    return str(json.loads(line)["destination"])
                except (ValueError, KeyError, TypeError):
                    continue
        return path.stem

    def _read(self, destination: str) -> dict[str, DeadLetter]:
        path = self._path(destination)
        if not path.exists():
            return {}
        letters: dict[str, DeadLetter] = {}
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                try:
                    letter = _from_json(json.loads(line))
                except (ValueError, KeyError, TypeError) as exc:
                    # A line torn by a crash: its event was not committed past, so the agent
                    # reads it again and records it again.
                    log.warning("dead_letter_line_unreadable", file=str(path), line=number,
                                error=type(exc).__name__)  # fmt: skip
                    continue
                letters[letter.id] = letter
        return letters


def letter_to_json(letter: DeadLetter) -> dict[str, object]:
    """The stored form of a dead letter (also what `casscade dlq list --json` prints)."""
    return {
        "id": letter.id,
        "destination": letter.destination,
        "table": letter.table,
        "error": letter.error,
        "attempts": letter.attempts,
        "first_failed": letter.first_failed,
        "last_failed": letter.last_failed,
        "event": event_to_typed(letter.event),
    }


def _from_json(data: dict[str, object]) -> DeadLetter:
    event = data["event"]
    if not isinstance(event, dict):
        raise TypeError("event must be an object")
    return DeadLetter(
        id=str(data["id"]),
        destination=str(data["destination"]),
        table=str(data["table"]),
        error=str(data["error"]),
        attempts=int(str(data["attempts"])),
        first_failed=str(data["first_failed"]),
        last_failed=str(data["last_failed"]),
        event=event_from_typed(event),
    )
