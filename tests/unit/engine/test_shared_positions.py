"""Destinations split between agent processes (`casscade run --destination`): each process
shares its destinations' progress, and a segment leaves cdc_raw only when every configured
destination, in whichever process, is done with it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from casscade.commitlog.position import Position
from casscade.commitlog.schema import SchemaRows
from casscade.config.models import AgentConfig
from casscade.engine.agent import Agent
from casscade.engine.shared_positions import DestinationClaimedError, SharedPositions
from casscade.errors import ConfigError
from casscade.source.registry import SchemaRegistry

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "commitlog" / "5.0.9-v7" / "rows"
SEGMENT_ID = 1795632936760  # recorded from our Cassandra; its index says COMPLETED


def test_progress_is_read_back_as_written(tmp_path: Path) -> None:
    shared = SharedPositions(tmp_path, "node-1")
    assert shared.read("pg") is None
    shared.write("pg", Position(7, 120), [5, 7, 8])
    progress = shared.read("pg")
    assert progress is not None
    assert progress.position == Position(7, 120)
    assert progress.finished == {7, 8}  # 5 is done by the position already
    assert progress.done_with(6)
    assert progress.done_with(8)
    assert not progress.done_with(9)
    assert [p.name for p in shared.directory.iterdir()] == ["pg.json"]  # no temporary left


@pytest.mark.parametrize(
    "body",
    ["", "{", "[]", '{"node_id": "node-2", "position": [9, 0], "finished": []}',
     '{"node_id": "node-1", "position": ["x"], "finished": []}',
     '{"node_id": "node-1", "finished": []}'],
)  # fmt: skip
def test_a_file_that_cannot_be_trusted_means_not_done(tmp_path: Path, body: str) -> None:
    shared = SharedPositions(tmp_path, "node-1")
    shared.path("pg").parent.mkdir(parents=True)
    shared.path("pg").write_text(body, encoding="utf-8")
    assert shared.read("pg") is None


def test_names_stay_one_file_name_each(tmp_path: Path) -> None:
    shared = SharedPositions(tmp_path, "../up")
    shared.write("a/b", None, [])
    assert shared.directory.parent == tmp_path
    assert shared.path("a/b").parent == shared.directory
    assert shared.read("a/b") is not None


def _config(tmp_path: Path, cdc_raw: Path) -> AgentConfig:
    return AgentConfig.model_validate({
        "source": {"node_id": "n1", "cdc_raw_dir": str(cdc_raw), "cleanup": "delete",
                   "state_dir": str(tmp_path / "state")},
        "tables": ["ks.t"],
        "destinations": [
            {"type": "clickhouse", "name": "a", "dsn": f"chdb://{tmp_path}/a"},
            {"type": "clickhouse", "name": "b", "dsn": f"chdb://{tmp_path}/b"},
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


def test_a_segment_stays_until_every_process_is_done_with_it(tmp_path: Path) -> None:
    cdc_raw = tmp_path / "cdc_raw"
    cdc_raw.mkdir()
    for name in (f"CommitLog-7-{SEGMENT_ID}.log", f"CommitLog-7-{SEGMENT_ID}_cdc.idx"):
        shutil.copy(FIXTURE / name, cdc_raw / name)
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
    first.close()
    second.close()


def test_one_process_running_every_destination_shares_nothing(tmp_path: Path) -> None:
    cdc_raw = tmp_path / "cdc_raw"
    cdc_raw.mkdir()
    for name in (f"CommitLog-7-{SEGMENT_ID}.log", f"CommitLog-7-{SEGMENT_ID}_cdc.idx"):
        shutil.copy(FIXTURE / name, cdc_raw / name)
    agent = _agent(_config(tmp_path, cdc_raw), None)
    _done_with_the_segment(agent)
    assert agent._clean_up() == 1
    assert not (tmp_path / "state").exists()
    agent.close()


@pytest.mark.parametrize("only", [["c"], []])
def test_an_unknown_destination_is_refused_with_the_known_ones(
    tmp_path: Path, only: list[str]
) -> None:
    with pytest.raises(
        ConfigError, match=r"^--destination: no destination named .*configured: a, b"
    ):
        _agent(_config(tmp_path, tmp_path), only)


def test_a_destination_runs_in_one_process_at_a_time(tmp_path: Path) -> None:
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
