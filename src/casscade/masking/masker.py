"""The masker: change events built masked, or existing events masked.

`Masker` binds each table's rules to its schema once (again when the schema object
changes) and compiles them to a `CompiledMask` of value functions. The agent hands those masks
to the mapping (`Masker.events_of`), so a masked table's events are built masked in one
pass: nothing is built plain and copied, and every destination shares the same masked
events. `mask_event` masks an event that exists already (the verifier's rows from Cassandra).
Events of tables without rules are left as they are.

What is masked: partition key and clustering values of key columns, the bounds of
clustering-range deletions, cell values, and the paths of collection cells (set elements
and map keys are paths). Tombstones stay tombstones (a deleted map key's path is masked
too); timestamps, TTLs, operations and collection deletions are untouched. Masking is
deterministic, so upserts of a row with a hashed key land on the same destination row.

A range deletion whose bounds order a masked clustering column (`ck > x`) cannot be
masked: masked values keep equality, not order. Such an event raises `MaskingError`
rather than delete the wrong rows; equality bounds (`ck = x`, `a = x AND b > y` with only
`a` masked) are fine.

Pure, apart from tokenizing, which adds entries to the `VaultEntries` it is given. One
Masker may serve several threads (the vault entries of a call are per thread).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from casscade.commitlog.records import Cell, Mutation, PartitionUpdate
from casscade.commitlog.schema import SchemaSnapshot, TableSchema
from casscade.commitlog.types import ListType, MapType, SetType, UdtType, is_multi_cell
from casscade.errors import ConfigError
from casscade.events.mapping import MaskLookup, TableMask, cell_change, mutation_to_events
from casscade.events.model import CellChange, ChangeEvent, ClusteringRange
from casscade.masking._cells import CellMask, FieldCell, HashCell, ValueCell, path_cell
from casscade.masking._compile import Compiler, TokenContext, ValueFn
from casscade.masking.binding import BoundColumn, BoundRule, bind_table, masked_table_schema
from casscade.masking.entries import VaultEntries
from casscade.masking.errors import MaskingError
from casscade.masking.keys import KeyRing
from casscade.masking.rules import MaskingConfig, rules_version
from casscade.masking.strategies import KeyedHasher, Tokenizer

__all__ = ["CompiledMask", "Masker"]

KeyFns = tuple[ValueFn | None, ...]


class Masker:
    """Masks change events with a rule set and its keys."""

    __slots__ = (
        "_compiler",
        "_config",
        "_context",
        "_lookup",
        "_masks",
        "_ruled",
        "_tokenizes",
        "rules_version",
    )

    def __init__(self, config: MaskingConfig, keys: KeyRing) -> None:
        """Build a masker.

        Args:
            config: the rules.
            keys: the resolved keys (`load_keys`); the active key must be among them if any
                rule hashes or tokenizes.

        Raises:
            ConfigError: the active key the rules need is not in `keys`.
        """
        self._config = config
        self.rules_version = rules_version(config)
        self._ruled = frozenset(tuple(name.split(".", 1)) for name in config.tables)
        self._tokenizes = config.tokenizes  # a property that walks every rule
        self._context = TokenContext()
        hasher = tokenizer = None
        if config.active_key is not None:
            try:
                material = keys.material(config.active_key)
            except KeyError:
                raise ConfigError("masking.active_key", "this key was not loaded") from None
            hasher = KeyedHasher(config.active_key, material)
            tokenizer = Tokenizer(config.active_key, material)
        self._compiler = Compiler(hasher, tokenizer, self._context)
        # (keyspace, table) -> (the schema it was built for, its mask or None).
        self._masks: dict[tuple[str, str], tuple[TableSchema, CompiledMask | None]] = {}
        # events_of's masks by table name, for one schema snapshot (a lookup per update).
        self._lookup: _SnapshotMasks | None = None

    def __repr__(self) -> str:
        return (
            f"Masker(rules_version={self.rules_version}, tables={len(self._ruled)}, "
            f"active_key={self._config.active_key})"
        )

    @property
    def tokenizes(self) -> bool:
        """Whether a rule tokenizes (masking then yields vault entries)."""
        return self._tokenizes

    def has_rules(self, keyspace: str, table: str) -> bool:
        """Whether any column of this table is masked or classified."""
        return (keyspace, table) in self._ruled

    def check_table(self, table: TableSchema) -> None:
        """Bind and compile a table's rules now, so a misfit fails at start-up.

        Raises:
            ConfigError: a rule does not fit the table's schema.
        """
        self.table_mask(table)

    def masked_table(self, table: TableSchema) -> TableSchema:
        """The table as destinations see it after masking (for their DDL)."""
        return masked_table_schema(self._config, table)

    def table_mask(self, table: TableSchema) -> CompiledMask | None:
        """The table's compiled mask; None when its rules change no value.

        Raises:
            ConfigError: the table's rules do not fit its schema.
        """
        key = (table.keyspace, table.name)
        built = self._masks.get(key)
        if built is None or built[0] is not table:
            built = (table, self._build(table) if key in self._ruled else None)
            self._masks[key] = built
        return built[1]

    def events_of(
        self,
        mutation: Mutation,
        snapshot: SchemaSnapshot,
        *,
        vault_entries: VaultEntries | None = None,
    ) -> list[ChangeEvent]:
        """The mutation's change events, built masked (`mutation_to_events` with masks).

        Args:
            mutation: a decoded commit-log entry.
            snapshot: the schema the rules are bound to (the current one).
            vault_entries: where tokenized values go; required when a table tokenizes.

        Raises:
            MaskingError: as `mask_event`, or a table with rules has no schema.
            ConfigError: a table's rules do not fit its schema.
        """
        lookup = self._lookup  # read once: another thread may put another snapshot's
        if lookup is None or lookup.snapshot is not snapshot:
            lookup = self._lookup = _SnapshotMasks(self, snapshot)
        if not self._tokenizes:  # no value function reads the context
            return mutation_to_events(mutation, lookup)
        self._context.entries = vault_entries
        try:
            return mutation_to_events(mutation, lookup)
        finally:
            self._context.entries = None

    def mask_in(self, snapshot: SchemaSnapshot, key: tuple[str, str]) -> CompiledMask | None:
        """The mask of a table (keyspace, name) in this snapshot; None when it has no rules.

        Raises:
            MaskingError: the table has rules and no schema in the snapshot.
            ConfigError: the table's rules do not fit its schema.
        """
        if key not in self._ruled:
            return None
        table = snapshot.by_name(*key)
        if table is None:
            raise MaskingError("no schema is known for this table", f"{key[0]}.{key[1]}")
        return self.table_mask(table)

    def mask_event(
        self, event: ChangeEvent, table: TableSchema, *, vault_entries: VaultEntries | None = None
    ) -> ChangeEvent:
        """The event with its classified values masked (the event itself if no rule changes
        a value of its table).

        Args:
            event: a change event.
            table: the schema of the event's table.
            vault_entries: where tokenized values go; required when the table tokenizes.

        Raises:
            MaskingError: a value cannot be masked (it is never in the message), the event
                is a range deletion ordering a masked clustering column, or the table
                tokenizes and no `vault_entries` was given.
            ConfigError: the table's rules do not fit its schema.
        """
        key = (event.keyspace, event.table)
        if key not in self._ruled:
            return event
        if (table.keyspace, table.name) != key:
            raise MaskingError(
                f"the schema given is of {table.qualified_name}", f"{key[0]}.{key[1]}"
            )
        mask = self.table_mask(table)
        if mask is None:
            return event
        self._context.entries = vault_entries
        try:
            return mask.event(event)
        finally:
            self._context.entries = None

    def _build(self, table: TableSchema) -> CompiledMask | None:
        bound = bind_table(self._config, table)
        columns = {} if bound is None else bound.columns
        where = table.qualified_name

        def key_fns(names: Iterable[str]) -> KeyFns | None:
            fns = tuple(
                self._compiler.compile(columns[n].rule, f"{where}.{n}") if n in columns else None
                for n in names
            )
            return fns if any(fn is not None for fn in fns) else None

        cells = {
            name: fn
            for name, column in columns.items()
            if (fn := self._cell_fn(column, f"{where}.{name}")) is not None
        }
        partition = key_fns(c.name for c in table.partition_key)
        clustering = key_fns(c.name for c in table.clustering)
        if partition is None and clustering is None and not cells:
            return None
        return CompiledMask(table, partition, clustering, cells)

    def _cell_fn(self, column: BoundColumn, where: str) -> CellMask | None:
        rule, t = column.rule, column.column.cql_type
        if not rule.changes_values:
            return None
        compile_ = self._compiler.compile
        if not is_multi_cell(t):
            return self._value_cell_fn(rule, where)
        # Non-frozen: each cell is one element (binding allows only part rules here).
        if isinstance(t, ListType) and rule.elements is not None:
            return self._value_cell_fn(rule.elements, f"{where}.elements")
        if isinstance(t, SetType) and rule.elements is not None:
            return path_cell(compile_(rule.elements, f"{where}.elements"))
        if isinstance(t, MapType):
            return self._map_cell_fn(column, where)
        if isinstance(t, UdtType):
            by_field = self._compiler.field_functions(rule, where)
            return FieldCell(by_field, self._field_hashers(rule, where)) if by_field else None
        raise MaskingError("no cell masking for this column type", where)

    def _value_cell_fn(self, rule: BoundRule, where: str) -> CellMask | None:
        """Cells whose value alone is masked (simple columns, list elements, map values)."""
        hasher = self._compiler.hasher_of(rule, where)
        if hasher is not None:
            return HashCell(hasher, where)
        fn = self._compiler.bare(rule, where)
        return None if fn is None else ValueCell(fn, where)

    def _field_hashers(self, rule: BoundRule, where: str) -> dict[str, tuple[KeyedHasher, str]]:
        """Per UDT field that is hashed: its hasher and its place."""
        out: dict[str, tuple[KeyedHasher, str]] = {}
        for _index, name, part in rule.fields:
            hasher = self._compiler.hasher_of(part, f"{where}.fields.{name}")
            if hasher is not None:
                out[name] = (hasher, f"{where}.fields.{name}")
        return out

    def _map_cell_fn(self, column: BoundColumn, where: str) -> CellMask | None:
        rule, compiler = column.rule, self._compiler
        if rule.keys is None:  # the path (the key) stays: only values
            if rule.values is None:
                return None
            return self._value_cell_fn(rule.values, f"{where}.values")
        keys = compiler.compile(rule.keys, f"{where}.keys")
        if rule.values is None:
            return path_cell(keys)
        where = f"{where}.values"
        hasher = compiler.hasher_of(rule.values, where)
        if hasher is not None:
            return path_cell(keys, hashing=(hasher, where))
        return path_cell(keys, compiler.compile(rule.values, where))


class _SnapshotMasks(MaskLookup):
    """`Masker.events_of`'s mask of each partition update's table, for one schema snapshot
    (called once per update)."""

    __slots__ = ("_masker", "_masks", "snapshot")

    def __init__(self, masker: Masker, snapshot: SchemaSnapshot) -> None:
        self._masker = masker
        self.snapshot = snapshot
        self._masks: dict[tuple[str, str], CompiledMask | None] = {}

    def mask_of(self, update: PartitionUpdate) -> CompiledMask | None:
        key = (update.keyspace, update.table)
        masks = self._masks
        if key in masks:
            return masks[key]
        mask = masks[key] = self._masker.mask_in(self.snapshot, key)
        return mask


class CompiledMask(TableMask):
    """One table's compiled rules."""

    __slots__ = ("_cells", "_clustering", "_partition", "_where", "schema")

    def __init__(
        self,
        schema: TableSchema,
        partition: KeyFns | None,
        clustering: KeyFns | None,
        cells: dict[str, CellMask],
    ) -> None:
        self.schema = schema
        self._where = schema.qualified_name
        self._partition = partition  # None: no partition key column is masked
        self._clustering = clustering  # None: no clustering column is masked
        self._cells = cells  # a dict, not a Mapping: compiled, .get is then a C call

    def __repr__(self) -> str:
        return f"CompiledMask({self._where}, cells={sorted(self._cells)})"

    def partition_key(self, values: tuple[object, ...]) -> tuple[object, ...]:
        if self._partition is None:
            return values
        return _mask_prefix(self._partition, values, self._where, whole=True)

    def clustering(self, values: tuple[object, ...]) -> tuple[object, ...]:
        if self._clustering is None:
            return values
        return _mask_prefix(self._clustering, values, self._where, whole=False)

    def bounds(self, bounds: ClusteringRange) -> ClusteringRange:
        fns = self._clustering
        if fns is None:
            return bounds
        start, end = bounds.start, bounds.end
        for position, fn in enumerate(fns):
            if fn is None or (position >= len(start) and position >= len(end)):
                continue
            bounded_by_equality = min(len(start), len(end)) > position and (
                start[: position + 1] == end[: position + 1]
            )
            if not bounded_by_equality:
                name = self.schema.clustering[position].name
                raise MaskingError(
                    "a clustering-range deletion bounds this masked column by order, which "
                    "masked values do not keep; only equality on masked clustering columns "
                    "can be replicated",
                    f"{self._where}.{name}",
                )
        return ClusteringRange(
            start=_mask_prefix(fns, start, self._where, whole=False),
            start_inclusive=bounds.start_inclusive,
            end=_mask_prefix(fns, end, self._where, whole=False),
            end_inclusive=bounds.end_inclusive,
        )

    def cells(self, cells: tuple[Cell, ...]) -> tuple[CellChange, ...]:
        masks = self._cells
        return tuple(
            [cell_change(c) if (m := masks.get(c[0])) is None else m.apply(c) for c in cells]
        )

    def event(self, event: ChangeEvent) -> ChangeEvent:
        """An existing event, masked (its cells go through the same cell functions)."""
        cells = event.cells
        if cells and self._cells:
            cells = self.cells(tuple([_as_cell(c) for c in cells]))
        bounds = event.clustering_range
        return replace(
            event,
            partition_key=self.partition_key(event.partition_key),
            clustering=self.clustering(event.clustering),
            cells=cells,
            clustering_range=None if bounds is None else self.bounds(bounds),
        )


def _mask_prefix(
    fns: KeyFns, values: tuple[object, ...], where: str, *, whole: bool
) -> tuple[object, ...]:
    if len(values) > len(fns) or (whole and len(values) != len(fns)):
        raise MaskingError(f"{len(values)} key values for {len(fns)} key columns", where)
    return tuple(v if fn is None else fn(v) for fn, v in zip(fns, values, strict=False))


def _as_cell(change: CellChange) -> Cell:
    column, value, timestamp, ttl, expires, tombstone, path, raw = change
    return Cell(column, timestamp, value, tombstone, ttl, expires, path, raw)
