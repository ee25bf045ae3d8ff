"""A snapshot of the schema the decoder needs, built from `system_schema` rows.

The commit log names tables by id and columns by name but carries no types, so decoding
needs, per table id: keyspace, table, CDC flag, partition key and clustering columns in
order, every column's CQL type, and the columns dropped since (format reference 11.14).

Pure: plain rows in (whatever read `system_schema`), a frozen snapshot out. It also reads
and writes the JSON form saved beside fixtures and used by `casscade decode --schema`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from casscade.commitlog.codecs import (
    Buffer,
    ComplexCellDecoder,
    Decoder,
    PartitionKeyDecoder,
    complex_cell_decoder_for,
    decoder_for,
    partition_key_decoder_for,
)
from casscade.commitlog.types import (
    CqlType,
    UdtDefinitions,
    ValueDecodeError,
    fixed_length,
    is_multi_cell,
    parse_cql_type,
)

SCHEMA_FORMAT_VERSION = 1


class ColumnKind(Enum):
    """`system_schema.columns.kind`."""

    PARTITION_KEY = "partition_key"
    CLUSTERING = "clustering"
    REGULAR = "regular"
    STATIC = "static"


@dataclass(frozen=True, slots=True)
class ColumnSchema:
    """One column of a table.

    Attributes:
        name: the exact, case-sensitive name (as in the commit log's column lists).
        kind: partition key, clustering, regular or static.
        position: index within the partition key or clustering, -1 otherwise.
        type_text: the CQL type as `system_schema` writes it.
        cql_type: the parsed type.
        is_multi_cell: non-frozen collection or UDT (one cell per element).
        fixed_length: bytes of a fixed-length value (no length prefix), None if variable.
        decode: its value decoder, built once (the decoder's hot path).
        decode_cell: the (path, value) decoder of a multi-cell column, else None.
        descending: clustering order DESC (the encoding is the same, the order is not).
    """

    name: str
    kind: ColumnKind
    position: int
    type_text: str
    cql_type: CqlType = field(compare=False)
    is_multi_cell: bool
    fixed_length: int | None
    decode: Decoder = field(compare=False, repr=False)
    decode_cell: ComplexCellDecoder | None = field(compare=False, repr=False)
    descending: bool = False


@dataclass(frozen=True, slots=True)
class DroppedColumn:
    """A column dropped from a table (`system_schema.dropped_columns`).

    Cells of it written at or before `dropped_time_us` are ignored, as Cassandra does.
    """

    name: str
    dropped_time_us: int
    type_text: str
    cql_type: CqlType = field(compare=False)
    is_multi_cell: bool
    fixed_length: int | None
    decode: Decoder = field(compare=False, repr=False)
    decode_cell: ComplexCellDecoder | None = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class TableSchema:
    """One table: identity, key layout and columns."""

    id: uuid.UUID
    keyspace: str
    name: str
    is_cdc: bool
    partition_key: tuple[ColumnSchema, ...]
    clustering: tuple[ColumnSchema, ...]
    columns: Mapping[str, ColumnSchema]
    dropped: Mapping[str, DroppedColumn]
    decode_key: PartitionKeyDecoder = field(compare=False, repr=False)
    # Every column (current or dropped) by the UTF-8 bytes of its name: serialization headers
    # name columns explicitly, so this lookup runs for each column of each mutation.
    header_columns: Mapping[bytes, ColumnSchema | DroppedColumn] = field(
        compare=False, repr=False, default_factory=dict
    )
    # The serialized column lists seen last for this table and what they resolved to. Most
    # mutations of a table repeat one of a few lists, and comparing bytes is far cheaper than
    # parsing names. A memo only: it never changes what is decoded. Bounded by the decoder.
    recent_headers: list[tuple[bytes, ResolvedHeader]] = field(
        compare=False, repr=False, default_factory=list
    )
    # What the specialised decoder needs of each clustering column (fixed length, decoder), in
    # order; derived from `clustering`.
    clustering_specs: tuple[tuple[int | None, Decoder], ...] = field(
        init=False, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        specs = tuple((c.fixed_length, c.decode) for c in self.clustering)
        object.__setattr__(self, "clustering_specs", specs)  # frozen: set once, here

    @property
    def qualified_name(self) -> str:
        return f"{self.keyspace}.{self.name}"


HeaderColumn = ColumnSchema | DroppedColumn

# One column of a serialization header as the decoder's cell loop reads it: the column name,
# its fixed value length (None if length-prefixed), its value decoder, and for a multi-cell
# column its (path, value) decoder (None for a simple column).
CellSpec = tuple[str, int | None, Decoder, ComplexCellDecoder | None]


@dataclass(slots=True, eq=False)
class ResolvedHeader:
    """One serialized column list of a table, resolved once and reused while it repeats.

    Built by the decoder the first time it meets the list and remembered in
    `TableSchema.recent_headers`; the specialised decoder reads `specs` instead of the
    columns' attributes in its cell loop.

    Attributes:
        columns: the header's columns, in header order.
        specs: the same columns as `CellSpec` tuples.
        subsets: memo of the specs of rows carrying only some of the columns, by the bitmap of
            missing columns the row writes (headers of fewer than 64 columns only).
    """

    columns: list[HeaderColumn]
    specs: tuple[CellSpec, ...]
    subsets: dict[int, tuple[CellSpec, ...]] = field(default_factory=dict)


def resolve_header(columns: list[HeaderColumn]) -> ResolvedHeader:
    """Precompute the `CellSpec` of each column of a serialization header."""
    specs = tuple(
        (c.name, c.fixed_length, c.decode, c.decode_cell if c.is_multi_cell else None)
        for c in columns
    )
    return ResolvedHeader(columns, specs)


@dataclass(frozen=True, slots=True)
class SchemaSnapshot:
    """Tables by id, plus which keyspaces hold CDC tables."""

    tables: Mapping[uuid.UUID, TableSchema]
    cdc_keyspaces: frozenset[str]
    # The same tables by the 16 bytes of their id, as the commit log writes them.
    tables_by_id_bytes: Mapping[bytes, TableSchema] = field(
        compare=False, repr=False, default_factory=dict
    )

    def table(self, table_id: uuid.UUID) -> TableSchema | None:
        """The table with this id, or None if the snapshot does not know it."""
        return self.tables.get(table_id)

    def by_name(self, keyspace: str, table: str) -> TableSchema | None:
        """The table with this name, or None."""
        for candidate in self.tables.values():
            if candidate.keyspace == keyspace and candidate.name == table:
                return candidate
        return None


@dataclass(frozen=True, slots=True)
class SchemaRows:
    """`system_schema` rows as plain dicts (column name -> value), as read by the caller.

    tables: keyspace_name, table_name, id, cdc (cdc may be None).
    columns: keyspace_name, table_name, column_name, kind, position, clustering_order, type.
    types: keyspace_name, type_name, field_names, field_types.
    dropped_columns: keyspace_name, table_name, column_name, dropped_time (ms or datetime
        already converted to µs by the caller as `dropped_time_us`), type.
    """

    tables: tuple[Mapping[str, Any], ...]
    columns: tuple[Mapping[str, Any], ...]
    types: tuple[Mapping[str, Any], ...] = ()
    dropped_columns: tuple[Mapping[str, Any], ...] = ()


def build_snapshot(rows: SchemaRows) -> SchemaSnapshot:
    """Build a snapshot from `system_schema` rows.

    Raises:
        ValueDecodeError: a column's type text cannot be parsed.
    """
    udts: UdtDefinitions = {
        (str(r["keyspace_name"]), str(r["type_name"])): (
            tuple(r["field_names"]),
            tuple(r["field_types"]),
        )
        for r in rows.types
    }
    columns = _columns(rows, udts)
    dropped = _dropped_columns(rows, udts)
    tables: dict[uuid.UUID, TableSchema] = {}
    for r in rows.tables:
        key = (str(r["keyspace_name"]), str(r["table_name"]))
        cols = columns.get(key, [])
        table_id = r["id"] if isinstance(r["id"], uuid.UUID) else uuid.UUID(str(r["id"]))
        partition_key = _ordered(cols, ColumnKind.PARTITION_KEY)
        tables[table_id] = TableSchema(
            id=table_id,
            keyspace=key[0],
            name=key[1],
            is_cdc=bool(r.get("cdc")),
            partition_key=partition_key,
            clustering=_ordered(cols, ColumnKind.CLUSTERING),
            columns={c.name: c for c in cols},
            dropped=dropped.get(key, {}),
            decode_key=_key_decoder(tuple(c.cql_type for c in partition_key)),
            header_columns={
                **{n.encode(): c for n, c in dropped.get(key, {}).items()},
                **{c.name.encode(): c for c in cols},
            },
        )
    cdc_keyspaces = frozenset(t.keyspace for t in tables.values() if t.is_cdc)
    return SchemaSnapshot(
        tables=tables,
        cdc_keyspaces=cdc_keyspaces,
        tables_by_id_bytes={table_id.bytes: t for table_id, t in tables.items()},
    )


def _columns(rows: SchemaRows, udts: UdtDefinitions) -> dict[tuple[str, str], list[ColumnSchema]]:
    out: dict[tuple[str, str], list[ColumnSchema]] = {}
    for r in rows.columns:
        keyspace = str(r["keyspace_name"])
        parsed = parse_cql_type(str(r["type"]), keyspace=keyspace, udts=udts)
        out.setdefault((keyspace, str(r["table_name"])), []).append(
            ColumnSchema(
                name=str(r["column_name"]),
                kind=ColumnKind(str(r["kind"])),
                position=int(r["position"]),
                type_text=str(r["type"]),
                cql_type=parsed,
                is_multi_cell=is_multi_cell(parsed),
                fixed_length=fixed_length(parsed),
                descending=str(r.get("clustering_order", "none")).lower() == "desc",
                decode=decoder_for(parsed),
                decode_cell=_cell_decoder(parsed),
            )
        )
    return out


def _dropped_columns(
    rows: SchemaRows, udts: UdtDefinitions
) -> dict[tuple[str, str], dict[str, DroppedColumn]]:
    out: dict[tuple[str, str], dict[str, DroppedColumn]] = {}
    for r in rows.dropped_columns:
        keyspace = str(r["keyspace_name"])
        parsed = parse_cql_type(str(r["type"]), keyspace=keyspace, udts=udts)
        out.setdefault((keyspace, str(r["table_name"])), {})[str(r["column_name"])] = DroppedColumn(
            name=str(r["column_name"]),
            dropped_time_us=int(r["dropped_time_us"]),
            type_text=str(r["type"]),
            cql_type=parsed,
            is_multi_cell=is_multi_cell(parsed),
            fixed_length=fixed_length(parsed),
            decode=decoder_for(parsed),
            decode_cell=_cell_decoder(parsed),
        )
    return out


def _cell_decoder(cql_type: CqlType) -> ComplexCellDecoder | None:
    return complex_cell_decoder_for(cql_type) if is_multi_cell(cql_type) else None


def _key_decoder(types: tuple[CqlType, ...]) -> PartitionKeyDecoder:
    if not types:
        # A table listed without its key columns (a partial schema): fail when used.
        def missing(_raw: Buffer) -> tuple[object, ...]:
            raise ValueDecodeError("the schema has no partition key columns for this table")

        return missing
    return partition_key_decoder_for(types)


def _ordered(columns: Iterable[ColumnSchema], kind: ColumnKind) -> tuple[ColumnSchema, ...]:
    return tuple(sorted((c for c in columns if c.kind is kind), key=lambda c: c.position))


def rows_to_json(rows: SchemaRows) -> str:
    """Serialise schema rows (the saved-schema file format, versioned)."""

    def plain(items: tuple[Mapping[str, Any], ...]) -> list[dict[str, Any]]:
        return [{k: _jsonable(v) for k, v in sorted(item.items())} for item in items]

    return json.dumps(
        {
            "format": SCHEMA_FORMAT_VERSION,
            "tables": plain(rows.tables),
            "columns": plain(rows.columns),
            "types": plain(rows.types),
            "dropped_columns": plain(rows.dropped_columns),
        },
        indent=1,
        sort_keys=True,
    )


def rows_from_json(text: str) -> SchemaRows:
    """Read schema rows saved by `rows_to_json`.

    Raises:
        ValueError: not a saved schema of a known format version.
    """
    doc = json.loads(text)
    if not isinstance(doc, dict) or doc.get("format") != SCHEMA_FORMAT_VERSION:
        raise ValueError(f"not a casscade schema file of format {SCHEMA_FORMAT_VERSION}")
    return SchemaRows(
        tables=tuple(doc["tables"]),
        columns=tuple(doc["columns"]),
        types=tuple(doc.get("types", ())),
        dropped_columns=tuple(doc.get("dropped_columns", ())),
    )


def _jsonable(value: object) -> object:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value
