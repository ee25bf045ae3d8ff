"""Destinations split between agent processes (`casscade run --destination`): each process
shares its destinations' progress, and a segment leaves cdc_raw only when every destination,
in whichever process, is done with it."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import pytest

import casscade.engine.agent as agent_module
from casscade.commitlog.position import Position
from casscade.commitlog.schema import SchemaRows
from casscade.config.models import AgentConfig, Destination
from casscade.engine.agent import Agent
from casscade.engine.shared_positions import (
    DestinationClaimedError,
    Progress,
    SharedPositions,
)
from casscade.errors import ConfigError
from casscade.sinks.base import Sink
from casscade.source.registry import SchemaRegistry


def _read(shared: SharedPositions, destination: str) -> Progress | None:
    """The progress the file of `destination` holds, as the clean-up reads it."""
    found = shared.read_all().get(shared.path(destination))
    return None if found is None or found[0] != destination else found[1]


FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "commitlog" / "5.0.9-v7" / "rows"
SEGMENT_ID = 1795632936760  # recorded from our Cassandra; its index says COMPLETED


def test_shared_positions_written_progress_reads_back_without_what_the_position_covers(
    tmp_path: Path,
) -> None:
    """What is written is read back; finished segments before the position's are left out
    (the position covers them), and no temporary file stays behind."""
    shared = SharedPositions(tmp_path, "node-1")
    assert _read(shared, "pg") is None
    shared.write("pg", Position(7, 120), [5, 7, 8])
    progress = _read(shared, "pg")
    assert progress is not None
    assert progress.position == Position(7, 120)
    assert progress.finished == {7, 8}
    assert progress.done_with(6)
    assert progress.done_with(8)
    assert not progress.done_with(9)
    assert [p.name for p in shared.directory.iterdir()] == ["pg.json"]
    assert shared.forget("pg")
    assert _read(shared, "pg") is None
    assert not shared.forget("pg")


@pytest.mark.parametrize(
    "body",
    ["", "{", "[]",
     '{"version": 1, "node_id": "node-2", "destination": "pg", "position": [9, 0], "finished": []}',
     '{"version": 2, "node_id": "node-1", "destination": "pg", "position": [9, 0], "finished": []}',
     '{"version": 1, "node_id": "node-1", "destination": "pg", "position": ["x"], "finished": []}',
     '{"version": 1, "node_id": "node-1", "destination": "pg", "finished": []}',
     '{"version": 1, "node_id": "node-1", "destination": "ch", "position": null, "finished": []}'],
)  # fmt: skip
def test_shared_positions_untrusted_file_reads_as_nothing(tmp_path: Path, body: str) -> None:
    """A file that does not parse, or is of another node, format or destination, is not
    trusted (it then holds every segment back)."""
    shared = SharedPositions(tmp_path, "node-1")
    shared.path("pg").parent.mkdir(parents=True)
    shared.path("pg").write_text(body, encoding="utf-8")
    assert _read(shared, "pg") is None
    if '"ch"' not in body:  # a file naming another destination counts as that one's
        assert shared.read_all() == {shared.path("pg"): None}


def test_shared_positions_odd_names_stay_one_file_name_each(tmp_path: Path) -> None:
    """Node and destination names cannot reach outside the state directory."""
    shared = SharedPositions(tmp_path, "../up")
    shared.write("a/b", None, [])
    assert shared.directory.parent == tmp_path
    assert shared.path("a/b").parent == shared.directory
    assert _read(shared, "a/b") is not None


def test_destination_claimed_error_pickles_with_its_message(tmp_path: Path) -> None:
    """The error keeps its context through pickling (STYLE: errors pickle)."""
    error = DestinationClaimedError("pg", tmp_path / "pg.lock")
    again = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object
    assert str(again) == str(error)
    assert again.lock == tmp_path / "pg.lock"


def _cdc_raw(tmp_path: Path) -> Path:
    cdc_raw = tmp_path / "cdc_raw"
    cdc_raw.mkdir()
    for name in (f"CommitLog-7-{SEGMENT_ID}.log", f"CommitLog-7-{SEGMENT_ID}_cdc.idx"):
        shutil.copy(FIXTURE / name, cdc_raw / name)
    return cdc_raw


def _config(
    tmp_path: Path, cdc_raw: Path, names: tuple[str, ...] = ("a", "b"), **source: str
) -> AgentConfig:
    return AgentConfig.model_validate({
        "source": {"node_id": "n1", "cdc_raw_dir": str(cdc_raw), "cleanup": "delete",
                   "state_dir": str(tmp_path / "state"), **source},
        "tables": ["ks.t"],
        "destinations": [
            {"type": "clickhouse", "name": name, "dsn": f"chdb://{tmp_path}/{name}"}
            for name in names
        ],
        "http": {"enabled": False},
        "dead_letters": {"directory": str(tmp_path / "dlq")},
    })  # fmt: skip


def _agent(config: AgentConfig, only: list[str] | None) -> Agent:
    return Agent(config, SchemaRegistry(lambda: SchemaRows(tables=(), columns=())), only=only)


def _done_with_the_segment(agent: Agent) -> None:
    """As after a pass that committed past the segment (the destinations are never
    reached: no entry is read here)."""
    for destination in agent._destinations:  # the state a pass leaves
        destination.position = Position(SEGMENT_ID + 1, 0)


def test_cleanup_split_segment_stays_until_every_process_is_done(tmp_path: Path) -> None:
    """A process removes a segment its destination is done with only once the other
    process has shared that its destination is done with it too."""
    cdc_raw = _cdc_raw(tmp_path)
    config = _config(tmp_path, cdc_raw)
    first, second = _agent(config, ["a"]), _agent(config, ["b"])
    _done_with_the_segment(first)
    assert first._clean_up() == 0  # b has shared nothing yet
    assert len(list(cdc_raw.iterdir())) == 2
    written = json.loads((tmp_path / "state" / "n1" / "a.json").read_text("utf-8"))
    assert written["position"] == [SEGMENT_ID + 1, 0]
    assert second._clean_up() == 0  # b itself is not done yet
    _done_with_the_segment(second)
    assert second._clean_up() == 1  # a said it is done: removed
    assert list(cdc_raw.iterdir()) == []
    assert first._clean_up() == 0  # gone already: nothing to do, no error
    first.close()
    second.close()


def test_cleanup_split_destination_missing_from_this_config_still_holds_segments(
    tmp_path: Path,
) -> None:
    """A process whose configuration lacks a destination another process runs (it has a
    progress file) does not remove what that destination still needs."""
    cdc_raw = _cdc_raw(tmp_path)
    other = _agent(_config(tmp_path, cdc_raw, ("a", "x")), ["x"])
    other._clean_up()  # x shares its progress: nothing committed yet
    agent = _agent(_config(tmp_path, cdc_raw, ("a",)), ["a"])
    _done_with_the_segment(agent)
    assert agent._clean_up() == 0
    assert len(list(cdc_raw.iterdir())) == 2
    _done_with_the_segment(other)
    other._cleanup._shared_at = float("-inf")  # share again now
    assert other._clean_up() + agent._clean_up() == 1  # whichever comes first removes it
    assert list(cdc_raw.iterdir()) == []
    agent.close()
    other.close()


def test_cleanup_archive_segment_taken_by_another_process_is_skipped(tmp_path: Path) -> None:
    """In archive mode, a segment another process moved first is not an error."""
    cdc_raw = _cdc_raw(tmp_path)
    archive = tmp_path / "archive"
    archive.mkdir()
    config = _config(tmp_path, cdc_raw, cleanup="archive", archive_dir=str(archive))
    agent = _agent(config, None)
    assert agent._cleanup._dispose(cdc_raw / "CommitLog-7-1.log", "archive") is False
    _done_with_the_segment(agent)
    assert agent._clean_up() == 1
    assert sorted(p.name for p in archive.iterdir()) == [
        f"CommitLog-7-{SEGMENT_ID}.log",
        f"CommitLog-7-{SEGMENT_ID}_cdc.idx",
    ]
    agent.close()


def test_cleanup_one_process_running_every_destination_shares_nothing(tmp_path: Path) -> None:
    """Without --destination nothing is written to or read from the state directory."""
    cdc_raw = _cdc_raw(tmp_path)
    agent = _agent(_config(tmp_path, cdc_raw), None)
    _done_with_the_segment(agent)
    assert agent._clean_up() == 1
    assert not (tmp_path / "state").exists()
    agent.close()


@pytest.mark.parametrize("only", [["c"], []])
def test_agent_unknown_destination_is_refused_naming_the_configured_ones(
    tmp_path: Path, only: list[str]
) -> None:
    """--destination with a name that is not configured (or none) is a config error."""
    with pytest.raises(
        ConfigError, match=r"^--destination: no destination named .*\(configured: a, b\)"
    ):
        _agent(_config(tmp_path, tmp_path), only)


def test_agent_destination_run_by_another_process_is_refused(tmp_path: Path) -> None:
    """A second agent for a destination another one runs stops at once, naming the lock,
    and lets go of what it had claimed; once the first is closed, it can start."""
    config = _config(tmp_path, tmp_path)
    first = _agent(config, ["b"])
    with pytest.raises(DestinationClaimedError, match=r"^destination b is run by another"):
        _agent(config, ["a", "b"])
    other = _agent(config, ["a"])  # the failed attempt let go of a
    with pytest.raises(DestinationClaimedError):
        _agent(config, ["b"])
    first.close()
    again = _agent(config, ["b"])
    again.close()
    other.close()


def test_agent_failing_to_start_lets_go_of_its_locks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An agent whose construction fails after taking its locks releases them."""
    config = _config(tmp_path, tmp_path)

    def broken(destination: Destination) -> Sink:
        raise RuntimeError(f"no sink for {destination.name}")

    monkeypatch.setattr(agent_module, "sink_for", broken)
    with pytest.raises(RuntimeError, match="no sink for a"):
        _agent(config, ["a"])
    monkeypatch.undo()
    _agent(config, ["a"]).close()
