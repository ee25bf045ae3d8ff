"""Schemas, key rings and rule sets shared by the masking unit tests (plain functions)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from casscade.commitlog.mutation import Mutation
from casscade.commitlog.schema import (
    SchemaRows,
    SchemaSnapshot,
    TableSchema,
    build_snapshot,
    rows_from_json,
)
from casscade.events.mapping import mutation_to_events
from casscade.events.model import ChangeEvent
from casscade.masking.keys import KeyRing
from casscade.masking.rules import MaskingConfig
from casscade.source.segments import read_segment, segment_source

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "commitlog" / "5.0.9-v7"

HASH_KEY = bytes(range(32))
VAULT_KEY = bytes(range(100, 132))
OLD_KEY = bytes(range(50, 82))


def ring() -> KeyRing:
    """Three keys: k2 hashes and tokenizes, v1 encrypts the vault, k1 is an older key."""
    return KeyRing.from_material(
        {"k1": OLD_KEY, "k2": HASH_KEY, "v1": VAULT_KEY}, active_key="k2", vault_key="v1"
    )


def config(tables: dict[str, Any], **extra: Any) -> MaskingConfig:
    """A rule set over `tables` with the keys of `ring()`."""
    return MaskingConfig.model_validate(
        {
            "keys": [
                {"id": "k1", "secret_env": "K1"},
                {"id": "k2", "secret_env": "K2"},
                {"id": "v1", "secret_env": "V1"},
            ],
            "active_key": "k2",
            "vault_key": "v1",
            "tables": tables,
            **extra,
        }
    )


def table(
    columns: dict[str, tuple[str, int, str]],
    *,
    types: Mapping[str, tuple[Sequence[str], Sequence[str]]] | None = None,
    keyspace: str = "ks",
    name: str = "t",
) -> TableSchema:
    """A table from name -> (kind, position, CQL type text), plus UDTs name -> (fields, types)."""
    table_id = uuid.uuid4()
    snapshot = build_snapshot(
        SchemaRows(
            tables=({"keyspace_name": keyspace, "table_name": name, "id": table_id, "cdc": True},),
            columns=tuple(
                {
                    "keyspace_name": keyspace,
                    "table_name": name,
                    "column_name": column,
                    "kind": kind,
                    "position": position,
                    "clustering_order": "asc",
                    "type": text,
                }
                for column, (kind, position, text) in columns.items()
            ),
            types=tuple(
                {
                    "keyspace_name": keyspace,
                    "type_name": type_name,
                    "field_names": list(fields),
                    "field_types": list(field_types),
                }
                for type_name, (fields, field_types) in (types or {}).items()
            ),
        )
    )
    return snapshot.tables[table_id]


def fixture_mutations(scenario: str) -> tuple[SchemaSnapshot, list[Mutation]]:
    """The schema and the decoded mutations of a recorded commit-log fixture."""
    fixture = FIXTURES / scenario
    snapshot = build_snapshot(rows_from_json((fixture / "schema.json").read_text("utf-8")))
    mutations = [
        record
        for log in sorted(fixture.glob("*.log"))
        for record in read_segment(segment_source(log), snapshot)
        if isinstance(record, Mutation)
    ]
    return snapshot, mutations


def fixture_events(scenario: str, table_name: str) -> tuple[SchemaSnapshot, list[ChangeEvent]]:
    """The schema and the change events of one table of a recorded commit-log fixture."""
    snapshot, mutations = fixture_mutations(scenario)
    events = [e for m in mutations for e in mutation_to_events(m) if e.table == table_name]
    return snapshot, events
