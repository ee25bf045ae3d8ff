"""How far each destination has got, shared between the agent processes of one node.

`casscade run --destination NAME` runs part of the configured destinations, so that each
process has an interpreter of its own (docs/operations.md, "One process per destination").
A segment may be removed from cdc_raw only once every destination is done with it, and a
process knows only its own: at each clean-up it writes, for every destination it runs, a
small JSON file (`<state_dir>/<node_id>/<destination>.json`) with what that destination has
committed, and it reads every other file there before removing anything. A destination whose
file is missing, unreadable or of another node or format counts as "not done with anything":
the segment stays, and cdc_raw usage shows it.

Every outcome of a crash is on the safe side: a file is written to a temporary file, fsynced
and renamed over the old one (then the directory is fsynced), so a reader finds the old file,
the new one or none. A file lags behind its destination's real position, which keeps segments
longer, never shorter, except after the destination was moved back (`casscade offsets reset`,
which deletes its file, or a restored database: delete the file then, docs/operations.md).

Each process also holds a lock (`<destination>.lock`, flock) on every destination it runs, so
that a second process started for the same destination stops at once.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from casscade.commitlog.position import Position
from casscade.errors import CasscadeError

FORMAT_VERSION = 1
# Destination and node names become file names: anything but these characters is escaped.
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


class DestinationClaimedError(CasscadeError):
    """Another process of this node runs the destination already.

    Attributes:
        destination: the destination.
        lock: the lock file the other process holds.
    """

    def __init__(self, destination: str, lock: Path) -> None:
        self.destination = destination
        self.lock = lock
        super().__init__(destination, lock)

    def __str__(self) -> str:
        return (
            f"destination {self.destination} is run by another casscade process of this node "
            f"already (it holds {self.lock})"
        )


@dataclass(frozen=True, slots=True)
class Progress:
    """What a destination has committed.

    Attributes:
        position: its committed position (None: nothing committed yet).
        finished: segments at or after the position's segment that it is done with
            (every entry handed out and committed; those before are done by the position).
    """

    position: Position | None
    finished: frozenset[int]

    def done_with(self, segment_id: int) -> bool:
        """Whether the destination has committed every entry of the segment."""
        if segment_id in self.finished:
            return True
        return self.position is not None and self.position.segment_id > segment_id


class SharedPositions:
    """The progress and lock files of one node's destinations, in `directory/<node_id>/`."""

    def __init__(self, directory: Path, node_id: str) -> None:
        self.node_id = node_id
        self.directory = directory / _file_name(node_id)
        self._written: dict[str, Progress] = {}
        self._locks: list[IO[str]] = []

    def path(self, destination: str) -> Path:
        """The progress file of `destination`."""
        return self.directory / f"{_file_name(destination)}.json"

    def claim(self, destination: str) -> None:
        """Hold the destination's lock until `release` (or this process ends).

        Raises:
            DestinationClaimedError: another process holds it.
            OSError: the directory cannot be made or the lock file opened.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{_file_name(destination)}.lock"
        handle = path.open("a", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise DestinationClaimedError(destination, path) from None
        self._locks.append(handle)

    def release(self) -> None:
        """Let go of every lock `claim` took."""
        for handle in self._locks:
            handle.close()  # closing the file releases its flock
        self._locks.clear()

    def write(self, destination: str, position: Position | None, finished: Iterable[int]) -> None:
        """Record the destination's progress (nothing is written when it did not change).

        Raises:
            OSError: the directory cannot be made or written.
        """
        kept = frozenset(s for s in finished if position is None or s >= position.segment_id)
        progress = Progress(position, kept)
        if self._written.get(destination) == progress:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        body = {
            "version": FORMAT_VERSION,
            "node_id": self.node_id,
            "destination": destination,
            "position": None if position is None else [position.segment_id, position.offset],
            "finished": sorted(kept),
        }
        target = self.path(destination)
        fresh = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        with fresh.open("w", encoding="utf-8") as out:
            out.write(json.dumps(body))
            out.flush()
            os.fsync(out.fileno())
        fresh.replace(target)
        directory = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        self._written[destination] = progress

    def forget(self, destination: str) -> bool:
        """Delete the destination's progress file (its position was moved back); whether
        there was one."""
        self._written.pop(destination, None)
        try:
            self.path(destination).unlink()
        except FileNotFoundError:
            return False
        return True

    def read_all(self) -> dict[Path, tuple[str, Progress] | None]:
        """Every progress file here: its destination and progress, or None when it cannot
        be trusted (which still holds segments back)."""
        try:
            paths = sorted(self.directory.glob("*.json"))
        except OSError:
            return {}
        return {path: _parse(path, self.node_id) for path in paths}


def _parse(path: Path, node_id: str) -> tuple[str, Progress] | None:
    """A progress file's destination and progress; None when missing or not trusted."""
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(body, dict):
        return None
    if body.get("version") != FORMAT_VERSION or body.get("node_id") != node_id:
        return None
    try:
        raw = body["position"]
        position = None if raw is None else Position(int(raw[0]), int(raw[1]))
        finished = frozenset(int(s) for s in body["finished"])
        destination = str(body["destination"])
    except (KeyError, TypeError, ValueError, IndexError):
        return None
    return destination, Progress(position, finished)


def _file_name(name: str) -> str:
    """`name` as one safe file-name component (other characters as `%XX`)."""
    return _UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), name)
