"""Removing the segments every destination is done with, and measuring cdc_raw.

A COMPLETED segment is deleted (or moved to `source.archive_dir`) once every destination of
the configuration has committed past it. When the destinations are split between processes
(`casscade run --destination`), the others' progress comes from their files in
`source.state_dir` (`shared_positions.py`): every destination named in the configuration, and
every destination that has a file there (a process whose configuration names a destination
this one's does not still holds segments back for it), must be done with the segment.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Collection, Iterable
from pathlib import Path
from typing import Protocol

import structlog

from casscade.commitlog.position import Position
from casscade.config.models import AgentConfig
from casscade.engine.shared_positions import Progress, SharedPositions
from casscade.errors import CasscadeError, ConfigError
from casscade.observability import Telemetry
from casscade.source.cdc_raw import bytes_used, list_segments, read_segment

log = structlog.get_logger(__name__)

# How often cdc_raw's size is summed for the usage gauge (a stat per segment) when nothing
# was removed: the clean-up runs at every poll interval, the gauge needs no more than this.
USAGE_EVERY_S = 1.0
# How often progress is written for other processes (at most), and a failure to write it or
# a destination whose progress is missing is logged again (at most).
SHARE_EVERY_S = 1.0
WARN_EVERY_S = 300.0


class Progressing(Protocol):
    """What the clean-up reads of a destination this process runs."""

    @property
    def name(self) -> str: ...

    position: Position | None
    finished: set[int]


def run_elsewhere(config: AgentConfig, only: Collection[str] | None) -> list[str]:
    """The configured destinations not in `only` (run by other processes; none when `only`
    is None: this process runs them all).

    Raises:
        ConfigError: `only` names a destination that is not configured, or is empty.
    """
    names = [d.name for d in config.destinations]
    if only is None:
        return []
    unknown = sorted(set(only) - set(names))
    if unknown or not only:
        raise ConfigError(
            "--destination",
            f"no destination named {', '.join(unknown) or '(none given)'} "
            f"(configured: {', '.join(names)})",
        )
    return [name for name in names if name not in only]


def done_with(destination: Progressing, segment_id: int) -> bool:
    """Whether the destination has committed every entry of the segment."""
    if segment_id in destination.finished:
        return True
    # Committed beyond it before this process started (the reader never visits it again).
    position = destination.position
    return position is not None and position.segment_id > segment_id


class Cleanup:
    """The clean-up of one node's cdc_raw for the destinations this process runs."""

    def __init__(
        self,
        config: AgentConfig,
        telemetry: Telemetry,
        clock: Callable[[], float] = time.monotonic,
        only: Collection[str] | None = None,
    ) -> None:
        """Args:
        config: the configuration.
        telemetry: where cdc_raw usage goes.
        clock: monotonic seconds.
        only: the destinations this process runs, when it does not run them all: their
            locks are taken and their progress is shared (`release` lets go of the locks).

        Raises:
            ConfigError: `only` names no configured destination, or `source.state_dir`
                cannot be used.
            DestinationClaimedError: another process runs one of `only` already.
        """
        self._source = config.source
        self._telemetry = telemetry
        self._clock = clock
        self._elsewhere = run_elsewhere(config, only)
        self._own = frozenset(only or ())
        self._shared = None if only is None else SharedPositions(
            config.source.state_dir, config.source.node_id
        )  # fmt: skip
        self._usage_read_at = float("-inf")
        self._shared_at = float("-inf")
        self._warned: dict[str, float] = {}
        if self._shared is not None:
            try:
                for name in sorted(self._own):
                    self._shared.claim(name)
            except OSError as exc:
                self._shared.release()
                raise ConfigError("source.state_dir", f"cannot lock in it: {exc}") from exc
            except CasscadeError:
                self._shared.release()
                raise

    def release(self) -> None:
        """Let go of the destinations' locks (when `only` was given)."""
        if self._shared is not None:
            self._shared.release()

    def run(self, destinations: Iterable[Progressing]) -> int:
        """Remove COMPLETED segments that every destination has committed past; report how
        full cdc_raw is (after a removal, else at most every `USAGE_EVERY_S`). Returns how
        many segments were removed."""
        own = list(destinations)
        mode = self._source.cleanup
        cdc_raw = self._source.cdc_raw_dir
        removed = 0
        others = self._others(own) if mode != "keep" else {}
        for listed in list_segments(cdc_raw) if mode != "keep" else ():
            # Which segments every destination is done with is known here; only those
            # indexes are read (a backlog holds hundreds of segments).
            if not all(done_with(d, listed.segment_id) for d in own):
                continue
            segment_id = listed.segment_id
            waiting = [n for n, p in others.items() if p is None or not p.done_with(segment_id)]
            if waiting:
                self._note_waiting(others, waiting)
                continue
            segment = read_segment(listed)
            if segment is None or segment.index is None or not segment.index.completed:
                continue
            taken = self._dispose(segment.path, mode)
            self._dispose(segment.index_path, mode)  # also when the log went first
            if not taken:
                continue  # another process of this node removed it first
            removed += 1
            log.info("segment_removed", segment=segment.segment_id, mode=mode)
        now = self._clock()
        if removed or now - self._usage_read_at >= USAGE_EVERY_S:
            self._usage_read_at = now
            used = bytes_used(cdc_raw)
            self._telemetry.cdc_raw_usage(used, self._source.cdc_total_space_mb << 20)
        return removed

    def _others(self, own: list[Progressing]) -> dict[str, Progress | None]:
        """The progress of every destination other processes run (None: nothing to trust),
        after recording this process's for them; empty when this process runs them all."""
        shared = self._shared
        if shared is None:
            return {}
        now = self._clock()
        if now - self._shared_at >= SHARE_EVERY_S:
            self._shared_at = now
            for d in own:
                try:
                    shared.write(d.name, d.position, frozenset(d.finished))
                except OSError as exc:  # the others keep segments longer, nothing is lost
                    self._warn(f"write {d.name}", "progress_not_shared", destination=d.name,
                               file=str(shared.path(d.name)), error=str(exc))  # fmt: skip
        others: dict[str, Progress | None] = dict.fromkeys(self._elsewhere)
        own_files = {shared.path(name) for name in self._own}
        for path, found in shared.read_all().items():
            if path in own_files:
                continue
            if found is None:
                others[f"({path.name})"] = None  # unreadable: holds segments back all the same
            elif found[0] not in self._own:
                others[found[0]] = found[1]
        return others

    def _note_waiting(self, others: dict[str, Progress | None], waiting: list[str]) -> None:
        """Log, now and then, the destinations without progress that hold segments back."""
        shared = self._shared
        for name in waiting:
            if others[name] is None and shared is not None:
                self._warn(f"missing {name}", "destination_progress_missing", destination=name,
                           directory=str(shared.directory),
                           detail="no readable progress file: segments stay in cdc_raw "
                           "until its process writes one")  # fmt: skip

    def _warn(self, key: str, event: str, **fields: str) -> None:
        now = self._clock()
        if now - self._warned.get(key, float("-inf")) >= WARN_EVERY_S:
            self._warned[key] = now
            log.warning(event, **fields)

    def _dispose(self, path: Path, mode: str) -> bool:
        """Delete or archive one file; False when it is gone already (another process of
        this node removed it first)."""
        archive = self._source.archive_dir
        try:
            if mode == "archive" and archive is not None:
                shutil.move(str(path), archive / path.name)
            else:
                path.unlink()
        except FileNotFoundError:
            return False
        return True
