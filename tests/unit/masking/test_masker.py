"""Tests of the Masker on change events: keys, cells, collections, ranges and tombstones."""

from __future__ import annotations

import dataclasses
import hmac
import threading
import uuid

import pytest

from casscade.commitlog.position import Position
from casscade.commitlog.schema import SchemaRows, build_snapshot
from casscade.errors import ConfigError
from casscade.events.model import CellChange, ChangeEvent, ClusteringRange, Op
from casscade.masking._compile import TokenContext
from casscade.masking.entries import VaultEntries
from casscade.masking.errors import MaskingError
from casscade.masking.keys import KeyRing
from casscade.masking.masker import Masker
from casscade.masking.strategies import HASH_FORM, TOKEN_FORM, KeyedHasher, Tokenizer
from tests.unit.masking.tables import HASH_KEY, config, fixture_mutations, ring, table

COLUMNS = {
    "customer": ("partition_key", 0, "text"),
    "region": ("clustering", 0, "text"),
    "seq": ("clustering", 1, "int"),
    "email": ("regular", -1, "text"),
    "ssn": ("regular", -1, "text"),
    "card": ("regular", -1, "bigint"),
    "notes": ("regular", -1, "text"),
    "plain": ("regular", -1, "text"),
    "tags": ("regular", -1, "set<text>"),
    "phones": ("regular", -1, "map<text, text>"),
    "history": ("regular", -1, "list<text>"),
    "addr": ("regular", -1, "addr"),
}
UDTS = {"addr": (("street", "zip"), ("text", "int"))}
RULES = {
    "ks.t": {
        "columns": {
            "customer": {"class": "pii", "strategy": "hash"},
            "region": {"class": "pii", "strategy": "tokenize"},
            "email": {"class": "pii", "strategy": "email"},
            "ssn": {"class": "pii", "strategy": "tokenize"},
            "card": {"class": "pii", "strategy": "partial", "keep_last": 4},
            "notes": {"class": "phi", "strategy": "redact", "replacement": "[redacted]"},
            "tags": {"class": "pii", "elements": {"strategy": "hash"}},
            "phones": {
                "class": "pii",
                "keys": {"strategy": "hash"},
                "values": {"strategy": "partial", "keep_last": 2},
            },
            "history": {"class": "phi", "elements": {"strategy": "redact"}},
            "addr": {
                "class": "pii",
                "fields": {"street": {"strategy": "redact", "replacement": "x"}},
            },
        }
    }
}
SCHEMA = table(COLUMNS, types=UDTS)
HASH = KeyedHasher("k2", HASH_KEY)
TOKEN = Tokenizer("k2", HASH_KEY)
TS = 1_700_000_000_000_000


def _masker() -> Masker:
    return Masker(config(RULES), ring())


def _upsert(*cells: CellChange, clustering: tuple[object, ...] = ("eu", 1)) -> ChangeEvent:
    return ChangeEvent(
        keyspace="ks",
        table="t",
        op=Op.UPSERT,
        partition_key=("alice",),
        clustering=clustering,
        timestamp_us=TS,
        row_timestamp_us=TS,
        row_ttl_s=60,
        cells=cells,
        position=Position(7, 99),
    )


def _cell(column: str, value: object, **extra: object) -> CellChange:
    return CellChange(column, value, TS, **extra)  # type: ignore[arg-type]


def test_mask_event_masks_keys_and_cells_and_keeps_the_rest() -> None:
    """Keys are hashed/tokenized, each cell gets its strategy, and metadata is unchanged."""
    event = _upsert(
        _cell("email", "alice@example.com", ttl_s=60),
        _cell("ssn", "078-05-1120"),
        _cell("card", 4111111111111111),
        _cell("notes", "diabetic"),
        _cell("plain", "untouched"),
    )
    entries = VaultEntries()
    masked = _masker().mask_event(event, SCHEMA, vault_entries=entries)
    assert masked.partition_key == (HASH.hash("alice"),)
    assert masked.clustering == (TOKEN.token("eu")[0], 1)
    values = {c.column: c.value for c in masked.cells}
    assert values == {
        "email": "***@example.com",
        "ssn": TOKEN.token("078-05-1120")[0],
        "card": "************1111",
        "notes": "[redacted]",
        "plain": "untouched",
    }
    assert masked.cells[0].ttl_s == 60
    assert (masked.op, masked.timestamp_us, masked.row_ttl_s) == (Op.UPSERT, TS, 60)
    assert masked.position == Position(7, 99)
    assert sorted(e.token for e in entries) == sorted(
        {TOKEN.token("eu")[0], TOKEN.token("078-05-1120")[0]}
    )
    assert event.partition_key == ("alice",)  # the input is not modified


def test_mask_event_is_deterministic_so_upserts_meet_the_same_row() -> None:
    """Masking the same event twice gives equal events (the same destination row)."""
    event = _upsert(_cell("email", "a@b.example"), _cell("tags", None, path="vip"))
    masker = _masker()
    first = masker.mask_event(event, SCHEMA, vault_entries=VaultEntries())
    second = Masker(config(RULES), ring()).mask_event(event, SCHEMA, vault_entries=VaultEntries())
    assert first == second


def test_mask_event_table_without_rules_returns_the_same_object() -> None:
    """Events of tables without rules pass through without being copied."""
    other = dataclasses.replace(_upsert(_cell("email", "a@b.example")), table="other")
    assert _masker().mask_event(other, table(COLUMNS, types=UDTS, name="other")) is other


def test_mask_event_tombstones_stay_tombstones_with_masked_paths() -> None:
    """Deleted cells stay deleted; a deleted set element's and map key's paths are masked."""
    event = _upsert(
        _cell("email", None, is_tombstone=True),
        _cell("tags", None, path="vip", is_tombstone=True),
        _cell("phones", None, path="home", is_tombstone=True),
    )
    masked = _masker().mask_event(event, SCHEMA, vault_entries=VaultEntries())
    assert [c.is_tombstone for c in masked.cells] == [True, True, True]
    assert [c.value for c in masked.cells] == [None, None, None]
    assert [c.path for c in masked.cells] == [None, HASH.hash("vip"), HASH.hash("home")]


def test_mask_event_collection_cells_mask_elements_keys_values_and_fields() -> None:
    """Set paths, map keys and values, list values and UDT fields are masked per rule."""
    cell_id = uuid.uuid1()
    event = _upsert(
        _cell("tags", None, path="vip"),
        _cell("phones", "+1 555 123 4567", path="home"),
        _cell("history", "admitted", path=cell_id),
        _cell("addr", "1 Main St", path="street"),
        _cell("addr", 12345, path="zip"),
    )
    masked = _masker().mask_event(event, SCHEMA, vault_entries=VaultEntries())
    assert [(c.path, c.value) for c in masked.cells] == [
        (HASH.hash("vip"), None),
        (HASH.hash("home"), "*************67"),
        (cell_id, None),
        ("street", "x"),
        ("zip", 12345),
    ]


def test_mask_event_row_deletion_masks_the_clustering() -> None:
    """A row tombstone keeps its deletion time and gets masked clustering values."""
    event = ChangeEvent("ks", "t", Op.DELETE_ROW, ("alice",), ("eu", 3), deletion_us=TS)
    masked = _masker().mask_event(event, SCHEMA, vault_entries=VaultEntries())
    assert masked.op is Op.DELETE_ROW
    assert masked.deletion_us == TS
    assert masked.clustering == (TOKEN.token("eu")[0], 3)


def test_mask_event_range_with_equal_masked_prefix_is_masked() -> None:
    """`region = x AND seq > 5` deletes the same rows after masking: bounds are masked."""
    bounds = ClusteringRange(("eu", 5), False, ("eu",), True)
    event = ChangeEvent(
        "ks", "t", Op.DELETE_RANGE, ("alice",), deletion_us=TS, clustering_range=bounds
    )
    masked = _masker().mask_event(event, SCHEMA, vault_entries=VaultEntries())
    token = TOKEN.token("eu")[0]
    assert masked.clustering_range == ClusteringRange((token, 5), False, (token,), True)


def test_mask_event_range_ordering_a_masked_column_is_refused() -> None:
    """`region > x` cannot be replicated over tokens (no order): MaskingError, no value."""
    bounds = ClusteringRange(("eu",), False, (), True)
    event = ChangeEvent(
        "ks", "t", Op.DELETE_RANGE, ("alice",), deletion_us=TS, clustering_range=bounds
    )
    with pytest.raises(MaskingError) as caught:
        _masker().mask_event(event, SCHEMA, vault_entries=VaultEntries())
    assert caught.value.where == "ks.t.region"
    assert "by order" in caught.value.problem
    assert "eu" not in str(caught.value)


def test_mask_event_tokenize_without_vault_entries_is_refused() -> None:
    """Tokenizing needs somewhere to put vault entries; without it the event does not pass."""
    with pytest.raises(MaskingError, match="vault_entries") as caught:
        _masker().mask_event(_upsert(_cell("ssn", "078-05-1120")), SCHEMA)
    assert "078-05-1120" not in str(caught.value)


def test_mask_event_wrong_value_type_names_type_and_place_not_value() -> None:
    """A value of an unexpected type fails with its place and Python type, never the value."""
    event = _upsert(_cell("email", 5551234567))
    with pytest.raises(MaskingError) as caught:
        _masker().mask_event(event, SCHEMA, vault_entries=VaultEntries())
    assert caught.value.where == "ks.t.email"
    assert "int" in caught.value.problem
    assert "5551234567" not in str(caught.value)
    assert "5551234567" not in repr(caught.value)


def test_mask_event_schema_of_another_table_is_refused() -> None:
    """Masking an event with another table's schema is an error, not a silent misfit."""
    with pytest.raises(MaskingError, match=r"schema given is of ks\.other"):
        _masker().mask_event(_upsert(), table(COLUMNS, types=UDTS, name="other"))


def test_mask_event_rebinds_when_the_schema_changes() -> None:
    """A new schema object is bound again: a rule that no longer fits fails then."""
    masker = _masker()
    masker.mask_event(_upsert(_cell("plain", "x")), SCHEMA, vault_entries=VaultEntries())
    altered = table({**COLUMNS, "card": ("regular", -1, "uuid")}, types=UDTS)
    with pytest.raises(ConfigError, match="partial applies to text"):
        masker.mask_event(_upsert(_cell("plain", "x")), altered, vault_entries=VaultEntries())


def test_vault_entries_are_kept_once_per_token_and_show_no_plaintext() -> None:
    """Events masked into one VaultEntries leave one entry per token; events of tables
    without rules are returned as they are and leave none."""
    other = dataclasses.replace(_upsert(), table="other")
    masker = _masker()
    entries = VaultEntries()
    for event in (_upsert(_cell("ssn", "078-05-1120")), _upsert(_cell("ssn", "078-05-1120"))):
        masker.mask_event(event, SCHEMA, vault_entries=entries)
    assert masker.mask_event(other, SCHEMA, vault_entries=entries) is other
    assert sorted(e.token for e in entries) == sorted(
        {TOKEN.token("eu")[0], TOKEN.token("078-05-1120")[0]}
    )
    assert "078-05-1120" not in repr(entries)
    assert all(b"078-05-1120" not in repr(e).encode() for e in entries)


def test_events_of_ruled_table_without_schema_is_refused() -> None:
    """A mutation of a table with rules whose schema is unknown cannot be masked, though the
    same masker masked it with a snapshot that had the table (masks are per snapshot)."""
    snapshot, mutations = fixture_mutations("collections")
    rules = config({"fx.coll": {"columns": {"k": {"class": "pii", "strategy": "hash"}}}})
    empty = build_snapshot(SchemaRows(tables=(), columns=()))
    masker = Masker(rules, ring())
    masked = [e for m in mutations for e in masker.events_of(m, snapshot) if e.table == "coll"]
    assert masked
    assert all(HASH_FORM.match(str(e.partition_key[0])) for e in masked)
    with pytest.raises(MaskingError, match="no schema is known") as caught:
        [masker.events_of(mutation, empty) for mutation in mutations]
    assert caught.value.where == "fx.coll"


def test_masker_needs_the_active_key_material() -> None:
    """A key ring without the active key cannot build a masker that hashes."""
    without = KeyRing.from_material({"v1": bytes(32)}, vault_key="v1")
    with pytest.raises(ConfigError) as caught:
        Masker(config(RULES), without)
    assert caught.value.where == "masking.active_key"


def test_masker_repr_and_check_table_show_no_key_material() -> None:
    """The masker's repr shows the rules version and key id; check_table binds early."""
    masker = _masker()
    masker.check_table(SCHEMA)
    text = repr(masker)
    assert masker.rules_version in text
    assert "k2" in text
    assert HASH_KEY.hex() not in text
    assert masker.has_rules("ks", "t")
    assert not masker.has_rules("ks", "other")


def test_masked_values_match_the_masked_forms() -> None:
    """Hashes and tokens produced by the masker are in the forms audit recognizes."""
    masked = _masker().mask_event(_upsert(_cell("ssn", "1")), SCHEMA, vault_entries=VaultEntries())
    assert HASH_FORM.match(str(masked.partition_key[0]))
    assert TOKEN_FORM.match(str(masked.cells[0].value))


def test_masked_event_and_cells_keep_every_field_of_their_classes() -> None:
    """The cell functions build CellChange tuples field by field, in order: a field added to
    CellChange (or ChangeEvent) must be carried over too, which this test notices."""
    assert [f.name for f in dataclasses.fields(ChangeEvent)] == [
        "keyspace", "table", "op", "partition_key", "clustering", "is_static", "timestamp_us",
        "deletion_us", "row_timestamp_us", "row_ttl_s", "row_expires_at_s", "cells",
        "collection_deletions", "clustering_range", "position",
    ]  # fmt: skip
    assert list(CellChange._fields) == [
        "column", "value", "timestamp_us", "ttl_s", "expires_at_s", "is_tombstone", "path",
        "raw",
    ]  # fmt: skip
    event = ChangeEvent(
        "ks", "t", Op.UPSERT, ("alice",), ("eu", 1), is_static=True, timestamp_us=1,
        deletion_us=2, row_timestamp_us=3, row_ttl_s=4, row_expires_at_s=5,
        cells=(CellChange("notes", "x", 6, ttl_s=7, expires_at_s=8, is_tombstone=False,
                          raw=b"x"),),
        collection_deletions=(("tags", 9),), position=Position(1, 2),
    )  # fmt: skip
    masked = _masker().mask_event(event, SCHEMA, vault_entries=VaultEntries())
    for name in ("keyspace", "table", "op", "is_static", "timestamp_us", "deletion_us",
                 "row_timestamp_us", "row_ttl_s", "row_expires_at_s", "collection_deletions",
                 "position"):  # fmt: skip
        assert getattr(masked, name) == getattr(event, name), name
    cell, original = masked.cells[0], event.cells[0]
    assert (cell.column, cell.timestamp_us, cell.ttl_s, cell.expires_at_s, cell.is_tombstone) == (
        original.column, original.timestamp_us, original.ttl_s, original.expires_at_s, False,
    )  # fmt: skip
    assert cell.value == "[redacted]"
    # Ties are broken by the masked value's bytes, never the original's.
    assert cell.raw == b"[redacted]"


FROZEN_COLUMNS = {
    "id": ("partition_key", 0, "int"),
    "lists": ("regular", -1, "set<frozen<list<text>>>"),
    "fset": ("regular", -1, "frozen<set<text>>"),
    "fmap": ("regular", -1, "frozen<map<text, int>>"),
    "pair": ("regular", -1, "frozen<tuple<text, int>>"),
}
FROZEN_RULES = {
    "ks.f": {
        "columns": {
            "lists": {"class": "pii", "elements": {"elements": {"strategy": "hash"}}},
            "fset": {"class": "pii", "elements": {"strategy": "hash"}},
            "fmap": {"class": "pii", "keys": {"strategy": "hash"}},
            "pair": {"class": "pii", "fields": {"0": {"strategy": "hash"}}},
        }
    }
}


@pytest.mark.parametrize(
    ("column", "path", "value", "expected_path", "expected_value"),
    [
        # A set element is the cell's path; a frozen list there is a tuple (hashable).
        ("lists", ("a", "b"), None, (HASH.hash("a"), HASH.hash("b")), None),
        # The decoder gives frozen sets as tuples; `casscade verify` gives the driver's as set.
        ("fset", None, ("x", "y"), None, (HASH.hash("x"), HASH.hash("y"))),
        ("fset", None, {"x"}, None, [HASH.hash("x")]),
        # Frozen maps as pairs, of any length.
        ("fmap", None, (), None, ()),
        ("fmap", None, (("a", 1), ("b", 2)), None, ((HASH.hash("a"), 1), (HASH.hash("b"), 2))),
        ("pair", None, ("a", 1), None, (HASH.hash("a"), 1)),
    ],
)
def test_mask_event_frozen_values_of_every_shape(
    column: str, path: object, value: object, expected_path: object, expected_value: object
) -> None:
    """Tuples, sets and pairs inside frozen values mask alike, compiled or not (mypyc checks
    the types that `cast` names at run time)."""
    schema = table(FROZEN_COLUMNS, name="f")
    event = ChangeEvent("ks", "f", Op.UPSERT, (1,), timestamp_us=TS, cells=(
        _cell(column, value, path=path),))  # fmt: skip
    masker = Masker(config(FROZEN_RULES), ring())
    masked = masker.mask_event(event, schema, vault_entries=VaultEntries())
    assert [(c.path, c.value) for c in masked.cells] == [(expected_path, expected_value)]


def test_token_context_set_in_one_thread_is_unseen_in_another() -> None:
    """What one thread sets is not what another sees (a compiled subclass of threading.local
    shared one slot between threads, and corrupted memory when it was made)."""
    context = TokenContext()
    mine = VaultEntries()
    context.entries = mine
    seen: list[VaultEntries | None] = []

    def other() -> None:
        seen.append(context.entries)
        context.entries = VaultEntries()
        seen.append(context.entries)

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert seen[0] is None
    assert seen[1] is not None
    assert seen[1] is not mine
    assert context.entries is mine


def test_one_masker_in_two_threads_keeps_each_threads_tokens_apart() -> None:
    """Destination threads share a masker: each call's tokens go to that call's entries."""
    masker = _masker()
    start = threading.Barrier(2)
    kept: dict[str, list[set[str]]] = {}

    def mask(ssn: str) -> None:
        kept[ssn] = []
        start.wait()
        for _ in range(300):
            entries = VaultEntries()
            masker.mask_event(_upsert(_cell("ssn", ssn)), SCHEMA, vault_entries=entries)
            kept[ssn].append({e.token for e in entries})

    threads = [threading.Thread(target=mask, args=(ssn,)) for ssn in ("111-11-1111", "222-22-2222")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for ssn, calls in kept.items():
        assert calls == [{TOKEN.token("eu")[0], TOKEN.token(ssn)[0]}] * 300


def test_hashed_cells_break_ties_by_the_hmacs_first_bytes_in_the_order_of_their_text() -> None:
    """Every hashed cell's tie bytes are its HMAC's first 8 bytes, not its 67 characters of
    text (fewer bytes to send and store): simple columns, list elements, map values (with the
    keys kept or masked too) and UDT fields. Under one key they order as the text."""
    schema = table(
        {"id": ("partition_key", 0, "int"), "phone": ("regular", -1, "text"),
         "seen": ("regular", -1, "list<text>"), "by_day": ("regular", -1, "map<text, text>"),
         "by_key": ("regular", -1, "map<text, text>"), "home": ("regular", -1, "addr")},
        types={"addr": (("street", "zip"), ("text", "text"))},
    )  # fmt: skip
    hashed = {"strategy": "hash"}
    rules = {"ks.t": {"columns": {
        "phone": {"class": "pii", **hashed},
        "seen": {"class": "pii", "elements": hashed},
        "by_day": {"class": "pii", "values": hashed},
        "by_key": {"class": "pii", "keys": hashed, "values": hashed},
        "home": {"class": "pii", "fields": {"street": hashed}},
    }}}  # fmt: skip
    masker = Masker(config(rules), ring())
    values = [f"+1 415 555 {n:04d}" for n in range(40)]
    cells = [
        *(_cell("phone", v) for v in values),
        *(_cell("seen", v, path=uuid.uuid1()) for v in values),
        *(_cell("by_day", v, path=f"day {n}") for n, v in enumerate(values)),
        *(_cell("by_key", v, path=f"key {n}") for n, v in enumerate(values)),
        *(_cell("home", v, path="street") for v in values),
    ]
    event = dataclasses.replace(_upsert(*cells, clustering=()), partition_key=(1,))
    masked = masker.mask_event(event, schema).cells
    for cell, value in zip(masked, values * 5, strict=True):
        assert cell.value == HASH.hash(value)
        assert cell.raw == hmac.digest(HASH_KEY, value.encode(), "sha256")[:8]
    assert sorted(masked, key=lambda c: c.raw) == sorted(masked, key=lambda c: str(c.value))
    assert {c.path for c in masked if c.column == "by_key"} == {
        HASH.hash(f"key {n}") for n in range(40)
    }
    nulls = tuple(_cell(column, None, path=path) for column, path in
                  (("phone", None), ("by_key", "k"), ("home", "street")))  # fmt: skip
    nulled = masker.mask_event(dataclasses.replace(event, cells=nulls), schema).cells
    assert [(c.value, c.raw) for c in nulled] == [(None, b"")] * 3
