"""The threaded agent loop: a destination thread that fails stops the agent, not just itself."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from casscade.commitlog.schema import SchemaRows
from casscade.config.models import AgentConfig
from casscade.engine.agent import Agent, PollStats
from casscade.source.registry import SchemaRegistry


def test_a_failing_destination_thread_stops_the_whole_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unexpected error in one destination's thread comes out of `run`, and every
    destination thread has ended by then (none goes on alone)."""
    config = AgentConfig.model_validate({
        "source": {"node_id": "n1", "cdc_raw_dir": str(tmp_path), "poll_interval_ms": 10},
        "tables": ["ks.t"],
        "destinations": [
            {"type": "clickhouse", "name": "a", "dsn": f"chdb://{tmp_path}/a"},
            {"type": "clickhouse", "name": "b", "dsn": f"chdb://{tmp_path}/b"},
        ],
        "http": {"enabled": False},
        "dead_letters": {"directory": str(tmp_path / "dlq")},
    })  # fmt: skip
    agent = Agent(config, SchemaRegistry(lambda: SchemaRows(tables=(), columns=())))
    polled: dict[str, int] = {"a": 0, "b": 0}

    def poll(destination: object, stats: PollStats) -> None:
        name = destination.name  # type: ignore[attr-defined]
        polled[name] += 1
        if name == "a" and polled[name] == 3:
            raise RuntimeError("boom in a")

    monkeypatch.setattr(agent, "_poll_destination", poll)
    stop = threading.Event()
    with pytest.raises(RuntimeError, match="boom in a"):
        agent.run(should_stop=stop.is_set, sleep=lambda s: stop.wait(min(s, 0.01)))
    assert polled["a"] == 3
    assert polled["b"] >= 1
    assert not any(t.name.startswith("casscade-") for t in threading.enumerate())
