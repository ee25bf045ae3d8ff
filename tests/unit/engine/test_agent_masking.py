"""The agent's own masking logic around mapping: whose rules mask what, shared events and
their tokens, and a reload between reading and applying. Fakes stand in for the sinks and
the vault (the real ones: tests/integration/test_masking_*.py)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from casscade.commitlog.position import Position
from casscade.commitlog.records import (
    BoundKind,
    Cell,
    DeletionTime,
    Liveness,
    Mutation,
    PartitionUpdate,
    RangeTombstoneMarker,
    Row,
)
from casscade.commitlog.schema import SchemaRows
from casscade.config.models import AgentConfig
from casscade.engine.agent import Agent, PollStats
from casscade.engine.masking import Masking
from casscade.errors import ConfigError, PermanentSinkError
from casscade.events.model import ChangeEvent
from casscade.masking.entries import VaultEntry
from casscade.masking.masker import Masker
from casscade.source.registry import SchemaRegistry
from casscade.source.tailer import SegmentFinished
from tests.unit.masking.tables import config, ring

TABLE_A, TABLE_B = uuid.uuid4(), uuid.uuid4()
SSN = "078-05-1120"


def _columns(table: str, spec: dict[str, tuple[str, int, str]]) -> list[dict[str, Any]]:
    return [{"keyspace_name": "ks", "table_name": table, "column_name": name, "kind": kind,
             "position": position, "clustering_order": "asc", "type": cql}
            for name, (kind, position, cql) in spec.items()]  # fmt: skip


ROWS = SchemaRows(
    tables=({"keyspace_name": "ks", "table_name": "a", "id": TABLE_A, "cdc": True},
            {"keyspace_name": "ks", "table_name": "b", "id": TABLE_B, "cdc": True}),
    columns=tuple(_columns("a", {"k": ("partition_key", 0, "int"), "ssn": ("regular", -1, "text")})
                  + _columns("b", {"k": ("partition_key", 0, "int"),
                                   "c": ("clustering", 0, "text"), "v": ("regular", -1, "text")})),
)  # fmt: skip


class FakeVault:
    def __init__(self) -> None:
        self.stored: list[VaultEntry] = []

    def ensure_tables(self) -> None:
        pass

    def store(self, entries: Any) -> None:
        self.stored.extend(entries)

    def close(self) -> None:
        pass


class FakeSink:
    """Records what it applies, and which of its tokens the vault did not hold by then."""

    def __init__(self, vault: FakeVault) -> None:
        self.vault = vault
        self.applied: list[ChangeEvent] = []
        self.tokens_not_in_vault: list[str] = []

    def apply(
        self, events: Sequence[ChangeEvent], *, node_id: str, position: Position | None
    ) -> None:
        stored = {e.token for e in self.vault.stored}
        for event in events:
            self.tokens_not_in_vault += [str(c.value) for c in event.cells
                                         if str(c.value).startswith("tok:")
                                         and c.value not in stored]  # fmt: skip
        self.applied.extend(events)

    def close(self) -> None:
        pass


def _agent(
    tmp_path: Path, rules: dict[str, Any], destinations: dict[str, list[str]]
) -> tuple[Agent, FakeVault, dict[str, FakeSink]]:
    masking = config(rules, vault={"destination": next(iter(destinations))})
    data = {
        "source": {"node_id": "n1", "cdc_raw_dir": str(tmp_path)},
        "tables": ["ks.a", "ks.b"],
        "destinations": [{"type": "postgres", "name": name, "host": "127.0.0.1", "port": 1,
                          "database": "x", "user": "x", "tables": tables}
                         for name, tables in destinations.items()],
        "http": {"enabled": False},
        "dead_letters": {"directory": str(tmp_path / "dlq")},
        "masking": masking.model_dump(),
    }  # fmt: skip
    vault = FakeVault()
    registry = SchemaRegistry(lambda: ROWS)
    masks = Masking(Masker(masking, ring()), vault)  # type: ignore[arg-type]
    agent = Agent(AgentConfig.model_validate(data), registry, masking=masks)
    sinks: dict[str, FakeSink] = {}
    for destination in agent._destinations:
        destination.sink = sinks.setdefault(destination.name, FakeSink(vault))  # type: ignore[assignment]
        destination.snapshot = registry.snapshot  # its tables are "made"
    return agent, vault, sinks


def _write_a(offset: int) -> Mutation:
    row = Row((), False, Liveness(5, None, None), None, (Cell("ssn", 5, SSN, raw=SSN.encode()),))
    update = PartitionUpdate(TABLE_A, "ks", "a", (1,), None, None, (row,))
    return Mutation(Position(1, offset), "ks", (update,))


def _range_on_b() -> PartitionUpdate:
    deleted = DeletionTime(5, 1)
    return PartitionUpdate(TABLE_B, "ks", "b", (1,), None, None, (
        RangeTombstoneMarker(BoundKind.INCL_START_BOUND, ("a",), (deleted,)),
        RangeTombstoneMarker(BoundKind.INCL_END_BOUND, ("m",), (deleted,)),
    ))  # fmt: skip


def test_another_tables_masking_error_does_not_stop_a_destination_without_it(
    tmp_path: Path,
) -> None:
    """A batch across tables is one mutation. Its update of ks.b cannot be masked (a range
    ordering a hashed clustering column): the destination replicating ks.b stops on it, the
    one replicating only ks.a takes its ks.a change."""
    rules = {"ks.a": {"columns": {"ssn": {"class": "pii", "strategy": "hash"}}},
             "ks.b": {"columns": {"c": {"class": "pii", "strategy": "hash"}}}}  # fmt: skip
    agent, _, _ = _agent(tmp_path, rules, {"only_a": ["ks.a"], "both": ["ks.a", "ks.b"]})
    only_a, both = agent._destinations
    mutation = _write_a(10)._replace(updates=(*_write_a(10).updates, _range_on_b()))
    agent._route(only_a, mutation, PollStats())
    assert [e.table for e in only_a.pending] == ["a"]
    assert str(only_a.pending[0].cells[0].value).startswith("k2:")
    with pytest.raises(PermanentSinkError, match=r"masking ks\.b\.c"):
        agent._route(both, mutation, PollStats())


def test_shared_events_bring_their_tokens_into_the_vault_before_they_are_applied(
    tmp_path: Path,
) -> None:
    """The second destination takes the events the first one mapped (tokenized SSN) and
    stores their vault entries before its own batch is applied."""
    rules = {"ks.a": {"columns": {"ssn": {"class": "pii", "strategy": "tokenize"}}}}
    agent, vault, sinks = _agent(tmp_path, rules, {"first": ["ks.a"], "second": ["ks.a"]})
    first, second = agent._destinations
    mutation = _write_a(10)
    agent._route(first, mutation, PollStats())
    agent._route(second, mutation, PollStats())
    assert second.pending[0] is first.pending[0]  # shared, not mapped again
    assert agent.shared_mappings == 1
    agent._flush(second, PollStats())
    assert [str(e.cells[0].value)[:4] for e in sinks["second"].applied] == ["tok:"]
    assert sinks["second"].tokens_not_in_vault == []
    assert {e.plaintext for e in vault.stored} == {SSN.encode()}


def test_a_batch_read_under_rules_since_reloaded_is_not_applied(tmp_path: Path) -> None:
    """Read under tokenize rules, then the rules change to redact with no vault: the batch
    is not applied (its tokens could not be stored); the pass reads it again."""
    rules = {"ks.a": {"columns": {"ssn": {"class": "pii", "strategy": "tokenize"}}}}
    agent, vault, sinks = _agent(tmp_path, rules, {"pg": ["ks.a"]})
    (destination,) = agent._destinations
    agent._route(destination, _write_a(10), PollStats())
    redact = config({"ks.a": {"columns": {"ssn": {"class": "pii", "strategy": "redact"}}}})
    agent.reload_masking(Masker(redact, ring()), None)
    agent._flush(destination, PollStats())
    assert sinks["pg"].applied == []
    assert vault.stored == []
    assert len(destination.pending) == 1  # dropped by the pass's rewind, then read again


def test_a_reload_to_tokenizing_rules_needs_a_vault(tmp_path: Path) -> None:
    """Rules that tokenize without a vault are refused; the old rules stay in force."""
    rules = {"ks.a": {"columns": {"ssn": {"class": "pii", "strategy": "hash"}}}}
    agent, _, _ = _agent(tmp_path, rules, {"pg": ["ks.a"]})
    before = agent.masker
    tokenize = config({"ks.a": {"columns": {"ssn": {"class": "pii", "strategy": "tokenize"}}}})
    with pytest.raises(ConfigError, match="no token vault"):
        agent.reload_masking(Masker(tokenize, ring()), None)
    assert agent.masker is before


class FakeTailer:
    def __init__(self, *records: object) -> None:
        self.records = records

    def poll(self) -> Any:
        yield from self.records


def test_segments_read_under_rules_reloaded_before_the_last_flush_stay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rules change after a pass read a whole segment, just before its last flush: the
    batch is not applied, so the segment is not counted as committed (cleanup would delete
    it) and its entries stay to be read again."""
    rules = {"ks.a": {"columns": {"ssn": {"class": "pii", "strategy": "hash"}}}}
    agent, _, sinks = _agent(tmp_path, rules, {"pg": ["ks.a"]})
    (destination,) = agent._destinations
    destination.tailer = FakeTailer(  # type: ignore[assignment]
        _write_a(10), SegmentFinished(1, tmp_path / "CommitLog-7-1.log", by_link_count=False)
    )
    flush = agent._flush
    redact = Masker(
        config({"ks.a": {"columns": {"ssn": {"class": "pii", "strategy": "redact"}}}}), ring()
    )

    def reload_then_flush(d: Any, stats: PollStats) -> bool:
        agent.reload_masking(redact, None)
        return flush(d, stats)

    monkeypatch.setattr(agent, "_flush", reload_then_flush)
    agent._poll_destination(destination, PollStats())
    assert sinks["pg"].applied == []
    assert destination.finished == set()
    assert len(destination.pending) == 1
