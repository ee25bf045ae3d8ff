"""Tests of the fixture scenario model (tools/scenarios): CQL text and expected facts."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Sequence
from decimal import Decimal

import pytest
from tools.scenarios import SCENARIOS, RenderedScenario, Scenario, ScenarioError, render
from tools.scenarios.cqltypes import (
    BIGINT,
    COUNTER,
    FLOAT,
    INT,
    KEY_TYPES,
    NATIVE_TYPES,
    TEXT,
    CqlType,
    Duration,
    ListOf,
    MapOf,
    Native,
    SetOf,
    TupleOf,
    UserType,
    VectorOf,
    canonical,
    frozen,
    literal,
)
from tools.scenarios.facts import Cell, ComplexDeletion, Liveness, PartitionDeletion
from tools.scenarios.operations import Append, Assign, Increment, PutEntry, SetField
from tools.scenarios.scenario import AddColumn, DropColumn, Step
from tools.scenarios.statements import (
    Batch,
    Bound,
    DeleteRange,
    DeleteRow,
    Insert,
    Lwt,
    Update,
)
from tools.scenarios.tables import Column, Table, table

TS = 1_700_000_000_000_000
ROWS = table("t", pk={"k": INT}, ck={"c": INT}, cols={"a": INT, "b": TEXT})
DESC = table("d", pk={"k": INT}, ck={"c": INT}, desc=["c"], cols={"v": TEXT})
ADDR = UserType("addr", (("street", TEXT), ("zip", INT)))
COLL = table(
    "coll",
    pk={"k": INT},
    cols={"l": ListOf(TEXT), "s": SetOf(TEXT), "m": MapOf(TEXT, INT), "u": ADDR},
)

FACT_KEYS = {
    "liveness": {"fact", "table", "key", "clustering", "timestamp", "ttl"},
    "cell": {"fact", "table", "key", "clustering", "column", "path", "value", "timestamp",
             "ttl", "tombstone", "static", "dropped"},
    "row_deletion": {"fact", "table", "key", "clustering", "timestamp"},
    "partition_deletion": {"fact", "table", "key", "timestamp"},
    "range_deletion": {"fact", "table", "key", "start", "start_inclusive", "end",
                       "end_inclusive", "timestamp"},
    "complex_deletion": {"fact", "table", "key", "clustering", "column", "timestamp", "static"},
}  # fmt: skip


def run(
    steps: Sequence[Step], tables: Sequence[Table] = (ROWS,), types: Sequence[UserType] = ()
) -> RenderedScenario:
    """Render a one-off scenario."""
    return render(Scenario("test", "test", (), tuple(tables), tuple(steps), tuple(types)))


def last_cql(rendered: RenderedScenario) -> str:
    """The CQL of the scenario's last step."""
    return rendered.script[-1].cql


def test_insert_with_ttl_renders_values_and_using_clause() -> None:
    """An INSERT renders its literals, then USING TIMESTAMP and TTL."""
    rendered = run([Insert("t", {"k": 1, "c": 2, "a": 3, "b": "it's"}, TS, ttl=60)])
    assert last_cql(rendered) == (
        f"INSERT INTO fx.t (k, c, a, b) VALUES (1, 2, 3, 'it''s') USING TIMESTAMP {TS} AND TTL 60"
    )


def test_insert_facts_give_liveness_and_one_cell_per_column() -> None:
    """An INSERT gives a liveness fact plus a cell per listed column, all at its ts and ttl."""
    facts = run([Insert("t", {"k": 1, "c": 2, "a": 3}, TS, ttl=60)]).facts
    assert facts == (
        Liveness("fx.t", (1,), (2,), TS, 60),
        Cell("fx.t", (1,), (2,), "a", None, 3, TS, 60, tombstone=False, static=False),
    )


def test_insert_null_column_gives_tombstone_without_ttl() -> None:
    """An explicit null in an INSERT is a tombstone cell, which carries no TTL."""
    facts = run([Insert("t", {"k": 1, "c": 2, "b": None}, TS, ttl=60)]).facts
    assert facts[1] == Cell("fx.t", (1,), (2,), "b", None, None, TS, None, True, False)


def test_update_facts_have_no_liveness() -> None:
    """An UPDATE writes cells only, with its own timestamp."""
    rendered = run([Update("t", {"k": 1, "c": 2}, (Assign("a", 5),), TS)])
    assert last_cql(rendered) == f"UPDATE fx.t USING TIMESTAMP {TS} SET a = 5 WHERE k = 1 AND c = 2"
    assert rendered.facts == (Cell("fx.t", (1,), (2,), "a", None, 5, TS, None, False, False),)


def test_collection_overwrite_gives_complex_deletion_at_ts_minus_one() -> None:
    """Assigning a whole non-frozen map deletes the old one at ts-1, then writes entries."""
    rendered = run([Update("coll", {"k": 1}, (Assign("m", {"b": 2, "a": 1}),), TS)], [COLL])
    assert "SET m = {'a': 1, 'b': 2}" in last_cql(rendered)
    assert rendered.facts == (
        ComplexDeletion("fx.coll", (1,), (), "m", TS - 1, static=False),
        Cell("fx.coll", (1,), (), "m", "a", 1, TS, None, False, False),
        Cell("fx.coll", (1,), (), "m", "b", 2, TS, None, False, False),
    )


def test_list_append_uses_wildcard_path() -> None:
    """List cells get the '*' path: the server chooses their timeuuid."""
    rendered = run([Update("coll", {"k": 1}, (Append("l", ("x",)),), TS)], [COLL])
    assert "SET l = l + ['x']" in last_cql(rendered)
    assert rendered.facts[0].to_json()["path"] == "*"


def test_udt_whole_value_writes_only_set_fields() -> None:
    """A whole non-frozen UDT value writes one cell per non-null field."""
    step = Insert("coll", {"k": 1, "u": {"street": "Main"}}, TS)
    facts = run([step], [COLL], [ADDR]).facts
    assert [f.to_json()["path"] for f in facts if isinstance(f, Cell)] == ["street"]


def test_udt_field_null_is_a_field_tombstone() -> None:
    """Setting one UDT field to null is a tombstone whose path is the field name."""
    step = Update("coll", {"k": 1}, (SetField("u", "zip", None),), TS)
    rendered = run([step], [COLL], [ADDR])
    assert "SET u.zip = null" in last_cql(rendered)
    assert rendered.facts == (Cell("fx.coll", (1,), (), "u", "zip", None, TS, None, True, False),)


def test_map_put_by_key_renders_subscript() -> None:
    """`m[k] = v` is rendered with a subscript and gives one cell keyed by k."""
    rendered = run([Update("coll", {"k": 1}, (PutEntry("m", "z", 26),), TS)], [COLL])
    assert "SET m['z'] = 26" in last_cql(rendered)
    assert rendered.facts[0].to_json()["path"] == "z"


@pytest.mark.parametrize(
    ("cql_type", "value", "expected_literal", "expected_canonical"),
    [
        (SetOf(TEXT), {"\u00e9", "b", "a"}, "{'a', 'b', '\u00e9'}", ["a", "b", "\u00e9"]),
        (SetOf(INT), {10, -2, 3}, "{-2, 3, 10}", [-2, 3, 10]),
        (MapOf(INT, TEXT), {2: "x", -1: "y"}, "{-1: 'y', 2: 'x'}", [[-1, "y"], [2, "x"]]),
        (Native("time"), 3_600 * 10**9 + 5, "'01:00:00.000000005'", 3_600 * 10**9 + 5),
        (Native("duration"), Duration(-1, 0, -3), "-1mo3ns", [-1, 0, -3]),
        (Native("blob"), b"\x00\xff", "0x00ff", "0x00ff"),
        (Native("inet"), "2001:0db8::0001", "'2001:db8::1'", "2001:db8::1"),
        (Native("decimal"), Decimal("-1.50"), "-1.50", "-1.50"),
        (Native("date"), datetime.date(1969, 12, 31), "'1969-12-31'", "1969-12-31"),
        (Native("timestamp"), -1000, "-1000", -1000),
        (Native("varint"), -(2**70), str(-(2**70)), -(2**70)),
        (
            Native("timeuuid"),
            uuid.UUID("e7c5c1e0-8f3a-11ee-b9d1-0242ac120002"),
            "e7c5c1e0-8f3a-11ee-b9d1-0242ac120002",
            "e7c5c1e0-8f3a-11ee-b9d1-0242ac120002",
        ),
        (TupleOf((INT, TEXT)), (1, None), "(1, null)", [1, None]),
        (frozen(ADDR), {"zip": 1}, "{zip: 1}", {"street": None, "zip": 1}),
        (VectorOf(FLOAT, 3), [1.5, -0.25, 3.0], "[1.5, -0.25, 3.0]", [1.5, -0.25, 3.0]),
    ],
)
def test_value_renders_literal_and_canonical_form(
    cql_type: CqlType, value: object, expected_literal: str, expected_canonical: object
) -> None:
    """Each value renders its CQL literal and its canonical JSON (sets and maps sorted)."""
    assert literal(cql_type, value) == expected_literal
    assert canonical(cql_type, value) == expected_canonical


@pytest.mark.parametrize(
    ("cql_type", "value"),
    [
        (FLOAT, 0.1),
        (INT, 2**31),
        (Native("tinyint"), True),
        (Native("timeuuid"), uuid.UUID("123e4567-e89b-42d3-a456-556642440000")),
        (Native("ascii"), "\u00e9"),
        (Native("duration"), Duration(1, -1, 0)),
        (VectorOf(FLOAT, 3), [1.0]),
    ],
)
def test_invalid_value_raises(cql_type: CqlType, value: object) -> None:
    """Values that Cassandra would not store exactly (or at all) are refused."""
    with pytest.raises(ScenarioError):
        canonical(cql_type, value)


def test_range_delete_on_asc_column_keeps_bounds() -> None:
    """`c >= 2 AND c < 4` on an ASC column: start [2] inclusive, end [4] exclusive."""
    step = DeleteRange("t", {"k": 1}, TS, lower=Bound(2, True), upper=Bound(4, False))
    rendered = run([step])
    assert last_cql(rendered).endswith("WHERE k = 1 AND c >= 2 AND c < 4")
    fact = rendered.facts[0].to_json()
    assert (fact["start"], fact["start_inclusive"], fact["end"], fact["end_inclusive"]) == (
        [2], True, [4], False,
    )  # fmt: skip


def test_range_delete_on_desc_column_swaps_bounds() -> None:
    """On a DESC column the CQL upper bound is the start in clustering order."""
    step = DeleteRange("d", {"k": 1}, TS, lower=Bound(5, False))
    fact = run([step], [DESC]).facts[0].to_json()
    assert (fact["start"], fact["start_inclusive"], fact["end"], fact["end_inclusive"]) == (
        [], True, [5], False,
    )  # fmt: skip


def test_prefix_delete_has_prefix_on_both_ends() -> None:
    """A clustering-prefix delete is a range from the prefix to the prefix, inclusive."""
    two = table("two", pk={"k": INT}, ck={"c1": INT, "c2": INT})
    fact = run([DeleteRange("two", {"k": 1, "c1": 3}, TS)], [two]).facts[0].to_json()
    assert (fact["start"], fact["end"], fact["start_inclusive"], fact["end_inclusive"]) == (
        [3], [3], True, True,
    )  # fmt: skip


def test_row_delete_without_clustering_is_partition_deletion() -> None:
    """Deleting the only row of a table without clustering is a partition deletion."""
    simple = table("s", pk={"k": INT}, cols={"v": INT})
    facts = run([DeleteRow("s", {"k": 7}, TS)], [simple]).facts
    assert facts == (PartitionDeletion("fx.s", (7,), TS),)


def test_static_only_insert_has_no_liveness() -> None:
    """An INSERT of the partition key and static columns writes only the static row."""
    st = table("st", pk={"k": INT}, ck={"c": INT}, cols={"s": INT, "v": INT}, static=["s"])
    facts = run([Insert("st", {"k": 1, "s": 5}, TS)], [st]).facts
    assert facts == (Cell("fx.st", (1,), (), "s", None, 5, TS, None, False, True),)


def test_static_update_with_clustering_raises() -> None:
    """Cassandra refuses clustering restrictions on a static-only write; so does the model."""
    st = table("st", pk={"k": INT}, ck={"c": INT}, cols={"s": INT}, static=["s"])
    with pytest.raises(ScenarioError):
        run([Update("st", {"k": 1, "c": 1}, (Assign("s", 1),), TS)], [st])


def test_lwt_insert_renders_condition_before_using_and_null_timestamps() -> None:
    """An LWT INSERT puts IF NOT EXISTS before USING TTL and expects any timestamp."""
    rendered = run([Lwt(Insert("t", {"k": 1, "c": 1, "a": 2}, None, ttl=5), "NOT EXISTS")])
    assert last_cql(rendered) == (
        "INSERT INTO fx.t (k, c, a) VALUES (1, 1, 2) IF NOT EXISTS USING TTL 5"
    )
    assert rendered.script[-1].expect_applied is True
    assert all(f.to_json()["timestamp"] is None for f in rendered.facts)


def test_lwt_condition_on_columns_renders_literals() -> None:
    """An LWT condition on columns is rendered after WHERE with typed literals."""
    step = Lwt(Update("t", {"k": 1, "c": 1}, (Assign("a", 2),), None), {"b": "x"})
    assert last_cql(run([step])).endswith("WHERE k = 1 AND c = 1 IF b = 'x'")


def test_failed_lwt_has_no_facts() -> None:
    """An LWT whose condition fails writes nothing to the table."""
    step = Lwt(Insert("t", {"k": 1, "c": 1}, None), "NOT EXISTS", applied=False)
    rendered = run([step])
    assert rendered.facts == ()
    assert rendered.script[-1].expect_applied is False


def test_lwt_with_timestamp_raises() -> None:
    """An LWT cannot take USING TIMESTAMP."""
    with pytest.raises(ScenarioError):
        run([Lwt(Insert("t", {"k": 1, "c": 1}, TS), "NOT EXISTS")])


def test_statement_without_timestamp_raises() -> None:
    """Ordinary writes must carry an explicit timestamp."""
    with pytest.raises(ScenarioError):
        run([Insert("t", {"k": 1, "c": 1}, None)])


def test_counter_updates_expect_running_total_and_any_timestamp() -> None:
    """Counter facts hold the running count per cell and timestamp null."""
    counters = table("n", pk={"k": INT}, cols={"hits": COUNTER})
    inc = [Update("n", {"k": 1}, (Increment("hits", d),), None) for d in (5, -2, 10)]
    rendered = run(inc, [counters])
    assert last_cql(rendered) == "UPDATE fx.n SET hits = hits + 10 WHERE k = 1"
    assert [f.to_json()["value"] for f in rendered.facts] == [5, 3, 13]
    assert {f.to_json()["timestamp"] for f in rendered.facts} == {None}


def test_counter_update_with_timestamp_raises() -> None:
    """Counters refuse USING TIMESTAMP."""
    counters = table("n", pk={"k": INT}, cols={"hits": COUNTER})
    with pytest.raises(ScenarioError):
        run([Update("n", {"k": 1}, (Increment("hits", 1),), TS)], [counters])


def test_drop_column_marks_only_earlier_cells_of_that_column() -> None:
    """After ALTER DROP b, earlier b cells are `dropped`; other cells are not."""
    steps: list[Step] = [
        Insert("t", {"k": 1, "c": 1, "a": 1, "b": "x"}, TS),
        DropColumn("t", "b"),
        AddColumn("t", Column("e", BIGINT)),
        Insert("t", {"k": 1, "c": 2, "a": 2, "e": 3}, TS + 1),
    ]
    rendered = run(steps)
    assert [s.cql for s in rendered.script if s.is_ddl][-2:] == [
        "ALTER TABLE fx.t DROP b",
        "ALTER TABLE fx.t ADD e bigint",
    ]
    dropped = {(f.column, f.dropped) for f in rendered.facts if isinstance(f, Cell)}
    assert dropped == {("a", False), ("b", True), ("e", False)}


def test_write_to_dropped_column_raises() -> None:
    """A statement naming a column dropped earlier is refused."""
    with pytest.raises(ScenarioError):
        run([DropColumn("t", "b"), Insert("t", {"k": 1, "c": 1, "b": "x"}, TS)])


def test_non_cdc_table_gives_no_facts_but_is_listed() -> None:
    """Writes to a table without CDC are run but produce no facts."""
    quiet = table("q", pk={"k": INT}, cols={"v": INT}, cdc=False)
    rendered = run([Insert("q", {"k": 1, "v": 1}, TS)], [ROWS, quiet])
    assert rendered.facts == ()
    assert rendered.other_tables == ("fx.q",)
    assert "WITH cdc = false" in rendered.script[2].cql


def test_batch_renders_each_statement_and_unions_facts() -> None:
    """A batch keeps per-statement timestamps and yields every statement's facts."""
    batch = Batch(
        (
            Insert("t", {"k": 1, "c": 1, "a": 1}, TS),
            Update("t", {"k": 1, "c": 2}, (Assign("a", 2),), TS + 1),
        ),
        logged=False,
    )
    rendered = run([batch])
    assert last_cql(rendered) == (
        "BEGIN UNLOGGED BATCH\n"
        f"  INSERT INTO fx.t (k, c, a) VALUES (1, 1, 1) USING TIMESTAMP {TS};\n"
        f"  UPDATE fx.t USING TIMESTAMP {TS + 1} SET a = 2 WHERE k = 1 AND c = 2;\n"
        "APPLY BATCH"
    )
    assert len(rendered.facts) == 3


def test_create_table_renders_keys_order_and_cdc() -> None:
    """CREATE TABLE lists a composite key, static columns and DESC order."""
    t = table(
        "x",
        pk={"a": INT, "b": TEXT},
        ck={"c": INT},
        desc=["c"],
        cols={"s": INT},
        static=["s"],
    )
    assert t.create_cql("fx") == (
        "CREATE TABLE fx.x (a int, b text, c int, s int STATIC, PRIMARY KEY ((a, b), c)) "
        "WITH CLUSTERING ORDER BY (c DESC) AND cdc = true"
    )


def test_catalog_scenarios_render_with_explicit_timestamps() -> None:
    """Every catalog scenario renders; every write but LWTs and counters has a timestamp."""
    names = [s.name for s in SCENARIOS]
    assert len(names) == len(set(names))
    for scenario in SCENARIOS:
        rendered = render(scenario)
        assert rendered.facts, scenario.name
        for step in rendered.script:
            is_write = not step.is_ddl and step.expect_applied is None
            if is_write and scenario.name != "counters":
                assert "USING TIMESTAMP" in step.cql, step.cql


def test_catalog_facts_have_exactly_the_documented_keys() -> None:
    """Every fact of every scenario serialises to exactly the keys of its kind."""
    for scenario in SCENARIOS:
        for fact in render(scenario).facts:
            doc = fact.to_json()
            assert set(doc) == FACT_KEYS[str(doc["fact"])]


def _types_in(t: CqlType) -> set[str]:
    if isinstance(t, Native):
        return {t.name}
    if isinstance(t, ListOf | SetOf | VectorOf):
        return _types_in(t.element)
    if isinstance(t, MapOf):
        return _types_in(t.key) | _types_in(t.value)
    if isinstance(t, TupleOf):
        return set().union(*(_types_in(e) for e in t.elements))
    return set().union(*(_types_in(f) for _, f in t.fields))


def test_catalog_covers_every_native_type_in_columns_and_keys() -> None:
    """All native types appear as regular columns; key types as single pk and clustering."""
    tables = [t for s in SCENARIOS for t in s.tables]
    regular = set().union(*(_types_in(c.type) for t in tables for c in t.columns))
    single_pk = {t.partition_key[0].type.cql() for t in tables if len(t.partition_key) == 1}
    clustering = {c.type.cql() for t in tables for c in t.clustering}
    assert set(NATIVE_TYPES) <= regular
    assert set(KEY_TYPES) <= single_pk
    assert set(KEY_TYPES) <= clustering
    assert any(c.descending for t in tables for c in t.clustering)
