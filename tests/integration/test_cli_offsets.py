"""`casscade offsets show|reset` against the stack's PostgreSQL, through the real CLI."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from casscade.commitlog.position import Position
from casscade.config.load import load_config
from casscade.engine.agent import sink_for
from casscade.engine.shared_positions import SharedPositions
from casscade.sinks.base import Sink
from casscade.stack.manager import Stack
from tests.integration.workloads import run_casscade

PG_ENV_VAR = "CASSCADE_TEST_OFFSETS_PG_PASSWORD"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(tmp_path: Path, stack: Stack, node_id: str, *destinations: str) -> Path:
    pg = stack.settings.postgres
    lines = [f"source: {{node_id: {node_id}, cdc_raw_dir: {tmp_path}, "
             f"state_dir: {tmp_path / 'state'}}}", "tables: [ks.t]", "destinations:"]  # fmt: skip
    for entry in destinations:
        name, _, port = entry.partition(":")
        lines.append(f"  - {{type: postgres, name: {name}, host: {pg.host}, "
                     f"port: {port or pg.port}, database: {pg.database}, user: {pg.user}, "
                     f"password_env: {PG_ENV_VAR}}}")  # fmt: skip
    path = tmp_path / f"{node_id}-{len(destinations)}.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def env(stack: Stack) -> dict[str, str]:
    """The CLI's environment: the stack's PostgreSQL password, wide tables."""
    return dict(os.environ, COLUMNS="200", **{PG_ENV_VAR: stack.settings.postgres.password})


@pytest.fixture
def sink(stack: Stack, tmp_path: Path, env: dict[str, str]) -> Iterator[Sink]:
    """The sink of a fresh destination (its own name) of the stack's PostgreSQL."""
    name = f"offsets-{uuid.uuid4().hex[:8]}"
    config = load_config(_config(tmp_path, stack, "unused", name), environ=env)
    opened = sink_for(config.destinations[0])
    yield opened
    for node in ("node-a", "node-b"):
        opened.forget_position(node)
    opened.close()


def test_offsets_show_then_reset_forgets_only_that_node(
    stack: Stack, tmp_path: Path, env: dict[str, str], sink: Sink
) -> None:
    """show prints the committed position; reset asks first, naming the destination and the
    re-read of cdc_raw, forgets this node's position only, and show then says none."""
    sink.apply([], node_id="node-a", position=Position(41, 1234))
    sink.apply([], node_id="node-b", position=Position(7, 70))
    config = _config(tmp_path, stack, "node-a", sink.name)
    shown = run_casscade("offsets", "show", "--config", str(config), env=env)
    assert shown.returncode == 0, shown.stderr
    row = next(line for line in shown.stdout.splitlines() if sink.name in line)
    assert "postgres" in row
    assert "41:1234" in row
    declined = run_casscade("offsets", "reset", "--config", str(config), "--destination",
                         sink.name, env=env, stdin="n\n")  # fmt: skip
    assert declined.returncode == 1
    assert f"Forget the position of destination {sink.name} for node node-a?" in declined.stdout
    assert "re-read cdc_raw from the oldest segment still there" in declined.stdout
    assert "nothing changed" in declined.stdout
    assert sink.position("node-a") == Position(41, 1234)
    confirmed = run_casscade("offsets", "reset", "--config", str(config), "--destination",
                          sink.name, env=env, stdin="y\n")  # fmt: skip
    assert confirmed.returncode == 0, confirmed.stderr
    assert f"{sink.name}: position for node node-a forgotten (was 41:1234)" in confirmed.stdout
    assert sink.position("node-a") is None
    assert sink.position("node-b") == Position(7, 70)
    again = run_casscade("offsets", "show", "--config", str(config), env=env)
    assert again.returncode == 0, again.stderr
    row = next(line for line in again.stdout.splitlines() if sink.name in line)
    assert "none" in row


def test_offsets_reset_yes_skips_the_question(
    stack: Stack, tmp_path: Path, env: dict[str, str], sink: Sink
) -> None:
    """--yes forgets the position without asking (nothing is read from stdin), and the
    progress the destination shared with other agent processes of the node is deleted."""
    sink.apply([], node_id="node-a", position=Position(3, 30))
    config = _config(tmp_path, stack, "node-a", sink.name)
    shared = SharedPositions(tmp_path / "state", "node-a")
    shared.write(sink.name, Position(3, 30), [])
    result = run_casscade("offsets", "reset", "--config", str(config), "--destination", sink.name,
                       "--yes", env=env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Forget the position" not in result.stdout
    assert "forgotten (was 3:30)" in result.stdout
    assert sink.position("node-a") is None
    assert not shared.path(sink.name).exists()


def test_offsets_reset_unknown_destination_exits_2(
    stack: Stack, tmp_path: Path, env: dict[str, str], sink: Sink
) -> None:
    """A name that is not a configured destination is a usage error listing the names."""
    sink.apply([], node_id="node-a", position=Position(5, 50))
    config = _config(tmp_path, stack, "node-a", sink.name)
    result = run_casscade("offsets", "reset", "--config", str(config), "--destination", "nope",
                       "--yes", env=env)  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: --destination: no destination named nope (configured: {sink.name})"
    )
    assert sink.position("node-a") == Position(5, 50)


def test_offsets_show_unreachable_destination_exits_1_and_shows_the_others(
    stack: Stack, tmp_path: Path, env: dict[str, str], sink: Sink
) -> None:
    """A destination that cannot be reached shows its error in its row, the reachable one
    its position, and the exit code is 1."""
    sink.apply([], node_id="node-a", position=Position(9, 99))
    config = _config(tmp_path, stack, "node-a", sink.name, f"down:{_free_port()}")
    result = run_casscade("offsets", "show", "--config", str(config), env=env)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    assert "9:99" in next(line for line in lines if sink.name in line)
    down = next(line for line in lines if "│ down" in line)
    assert "error:" in down
    assert "9:99" not in down


def test_offsets_reset_unreachable_destination_exits_1_with_one_line(
    stack: Stack, tmp_path: Path, env: dict[str, str]
) -> None:
    """Resetting a destination that cannot be reached is one line naming it, exit code 1."""
    config = _config(tmp_path, stack, "node-a", f"down:{_free_port()}")
    result = run_casscade("offsets", "reset", "--config", str(config), "--destination", "down",
                       "--yes", env=env)  # fmt: skip
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: destination down: ")
