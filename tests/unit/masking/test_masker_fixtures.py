"""The Masker on change events decoded from commit-log segments a real Cassandra wrote."""

from __future__ import annotations

from typing import Any, NamedTuple, cast

import pytest

from casscade.events.mapping import mutation_to_events
from casscade.events.model import ChangeEvent, Op
from casscade.masking.entries import VaultEntries
from casscade.masking.errors import MaskingError
from casscade.masking.masker import Masker
from casscade.masking.strategies import HASH_FORM, TOKEN_FORM, KeyedHasher, Tokenizer
from tests.unit.masking.tables import HASH_KEY, config, fixture_events, fixture_mutations, ring

HASH = KeyedHasher("k2", HASH_KEY)
TOKEN = Tokenizer("k2", HASH_KEY)


class _Masked(NamedTuple):
    events: list[ChangeEvent]
    vault_entries: VaultEntries


def _mask_all(
    scenario: str, table: str, columns: dict[str, Any]
) -> tuple[list[ChangeEvent], _Masked]:
    """The table's events of a fixture as they are, and as the masker builds them from the
    same mutations; masking each existing event (`mask_event`) must give the same."""
    snapshot, mutations = fixture_mutations(scenario)
    masker = Masker(config({f"fx.{table}": {"columns": columns}}), ring())
    events = [e for m in mutations for e in mutation_to_events(m) if e.table == table]
    assert events, "the fixture has events for this table"
    entries = VaultEntries()
    masked = [
        e
        for m in mutations
        for e in masker.events_of(m, snapshot, vault_entries=entries)
        if e.table == table
    ]
    schema = snapshot.by_name("fx", table)
    assert schema is not None
    again = [masker.mask_event(e, schema, vault_entries=VaultEntries()) for e in events]
    assert again == masked
    return events, _Masked(masked, entries)


def _unchanged_metadata(raw: ChangeEvent, masked: ChangeEvent) -> bool:
    return (
        raw.op,
        raw.timestamp_us,
        raw.deletion_us,
        raw.row_timestamp_us,
        raw.row_ttl_s,
        raw.collection_deletions,
        raw.position,
        len(raw.cells),
    ) == (
        masked.op,
        masked.timestamp_us,
        masked.deletion_us,
        masked.row_timestamp_us,
        masked.row_ttl_s,
        masked.collection_deletions,
        masked.position,
        len(masked.cells),
    )


def test_collections_fixture_masks_every_element_operation() -> None:
    """List values, set elements, map keys and values and UDT fields are masked in every
    element write and deletion Cassandra logged; tombstones and timestamps are kept."""
    events, batch = _mask_all(
        "collections",
        "coll",
        {
            "k": {"class": "pii", "strategy": "hash"},
            "l": {"class": "pii", "elements": {"strategy": "hash"}},
            "s": {"class": "pii", "elements": {"strategy": "tokenize"}},
            "m": {"class": "phi", "keys": {"strategy": "hash"}, "values": {"strategy": "redact"}},
            "u": {
                "class": "pii",
                "fields": {
                    "street": {"strategy": "redact", "replacement": "-"},
                    "tags": {"elements": {"strategy": "hash"}},
                },
            },
        },
    )
    assert all(_unchanged_metadata(r, m) for r, m in zip(events, batch.events, strict=True))
    cells = [
        (raw, masked)
        for r, m in zip(events, batch.events, strict=True)
        for raw, masked in zip(r.cells, m.cells, strict=True)
    ]
    by_column = {name: [(r, m) for r, m in cells if r.column == name] for name in "lsmu"}
    assert all(len(pairs) > 2 for pairs in by_column.values())
    for raw, masked in cells:
        assert masked.is_tombstone == raw.is_tombstone
        if raw.column == "l":
            assert masked.path == raw.path
            assert masked.value == (None if raw.value is None else HASH.hash(raw.value))
        elif raw.column == "s":
            assert masked.path == TOKEN.token(raw.path)[0]
        elif raw.column == "m":
            assert (masked.path, masked.value) == (HASH.hash(raw.path), None)
        elif raw.path == "street":
            assert masked.value == (None if raw.value is None else "-")
        elif raw.path == "tags" and raw.value is not None:
            assert masked.value == [HASH.hash(v) for v in cast(list[object], raw.value)]
        else:
            assert masked == raw  # zip is not classified
    stored = {e.token for e in batch.vault_entries}
    assert stored == {TOKEN.token(r.path)[0] for r, _ in by_column["s"]}


def test_frozen_keys_fixture_row_deletion_meets_its_masked_row() -> None:
    """Frozen map, set and UDT key values hash deterministically: the row deletion and the
    range deletion address the masked row the upsert created."""
    events, batch = _mask_all(
        "frozen_types",
        "frozen_keys",
        {
            "k": {"class": "pii", "strategy": "hash"},
            "c": {"class": "pii", "elements": {"strategy": "tokenize"}},
            "p": {"class": "pii", "strategy": "hash"},
        },
    )
    upsert, _, delete_row, delete_range = batch.events
    assert upsert.partition_key == (HASH.hash({"a": 1, "b": 2}),)
    assert delete_row.op is Op.DELETE_ROW
    assert delete_row.partition_key == upsert.partition_key
    assert delete_row.clustering == upsert.clustering
    tokens = [TOKEN.token(1)[0], TOKEN.token(3)[0]]
    assert upsert.clustering[0] == tokens
    assert upsert.clustering[1] == events[0].clustering[1]  # t is not classified
    assert HASH_FORM.match(str(upsert.clustering[2]))
    assert delete_range.clustering_range is not None
    assert delete_range.clustering_range.end == (tokens,)


def test_frozen_keys_fixture_range_ordering_a_masked_tuple_is_refused() -> None:
    """The logged `t <= (2, 'a')` deletion cannot be masked once t is hashed."""
    snapshot, mutations = fixture_mutations("frozen_types")
    rules = config({"fx.frozen_keys": {"columns": {"t": {"class": "pii", "strategy": "hash"}}}})
    masker = Masker(rules, ring())
    with pytest.raises(MaskingError) as caught:
        [masker.events_of(mutation, snapshot) for mutation in mutations]
    assert caught.value.where == "fx.frozen_keys.t"


@pytest.mark.parametrize(
    "table",
    [
        "pk_ascii",
        "pk_bigint",
        "pk_blob",
        "pk_boolean",
        "pk_date",
        "pk_decimal",
        "pk_double",
        "pk_float",
        "pk_inet",
        "pk_int",
        "pk_smallint",
        "pk_text",
        "pk_time",
        "pk_timestamp",
        "pk_timeuuid",
        "pk_tinyint",
        "pk_uuid",
        "pk_varint",
    ],
)
def test_key_types_fixture_every_native_key_type_hashes(table: str) -> None:
    """Every key-capable native type hashes to `<key id>:<hex>`, deterministically."""
    events, batch = _mask_all(
        table=table, scenario="key_types", columns={"k": {"class": "pii", "strategy": "hash"}}
    )
    for raw, masked in zip(events, batch.events, strict=True):
        assert masked.partition_key == (HASH.hash(raw.partition_key[0]),)
        assert HASH_FORM.match(str(masked.partition_key[0]))
    raw_keys = [e.partition_key for e in events]
    masked_keys = [e.partition_key for e in batch.events]
    assert len(set(raw_keys)) == len(set(masked_keys))  # distinct keys stay distinct


def test_native_types_fixture_every_regular_type_tokenizes() -> None:
    """Every native type's real values tokenize; nulls stay null; entries hold each value."""
    snapshot, _ = fixture_events("native_types", "all_types")
    schema = snapshot.by_name("fx", "all_types")
    assert schema is not None
    columns = {n: {"class": "pii", "strategy": "tokenize"} for n in schema.columns if n[:2] == "v_"}
    events, batch = _mask_all("native_types", "all_types", columns)
    pairs = [
        (r, m)
        for re, me in zip(events, batch.events, strict=True)
        for r, m in zip(re.cells, me.cells, strict=True)
    ]
    assert {r.column for r, _ in pairs} == set(columns)
    for raw, masked in pairs:
        if raw.value is None:
            assert masked.value is None
        else:
            assert TOKEN_FORM.match(str(masked.value))
    plaintexts = {e.plaintext for e in batch.vault_entries}
    assert b"plain ascii" in plaintexts
    assert b"\xca\xfe\xba\xbe" in plaintexts


def test_lwt_fixture_emails_keep_their_domain() -> None:
    """LWT writes of e-mail addresses are masked to `***@domain`."""
    _, batch = _mask_all(
        "lwt",
        "users",
        {
            "email": {"class": "pii", "strategy": "email"},
            "username": {"class": "pii", "strategy": "hash"},
        },
    )
    emails = [c.value for e in batch.events for c in e.cells if c.column == "email"]
    assert emails == ["***@example.com", "***@corp.example", "***@example.com"]
    assert HASH.hash("bob") in {e.partition_key[0] for e in batch.events}


def test_rows_fixture_range_deletions_over_unmasked_clustering_pass() -> None:
    """Masking the partition key and a value leaves every range deletion replicable."""
    events, batch = _mask_all(
        "rows",
        "events",
        {"k": {"class": "pii", "strategy": "hash"}, "b": {"class": "pii", "strategy": "redact"}},
    )
    ranges = [(r, m) for r, m in zip(events, batch.events, strict=True) if r.op is Op.DELETE_RANGE]
    assert len(ranges) >= 4
    for raw, masked in ranges:
        assert masked.clustering_range == raw.clustering_range
        assert masked.partition_key == (HASH.hash(raw.partition_key[0]),)
    assert all(c.value is None for e in batch.events for c in e.cells if c.column == "b")
