"""Cell functions: a decoded cell to its masked cell change, one per masked column.

`Masker` builds them from a table's bound rules (`_compile.Compiler` gives the value
functions); `CompiledMask.cells` applies them as a row's events are built. A cell is (column,
timestamp, value, tombstone, TTL, ldt, path, raw) and becomes a `CellChange` (column, value,
timestamp, TTL, expiry, tombstone, path, raw) with its value, path or both masked and tie
bytes (`raw`) of the masked value, never of the original.

Classes with an `apply` method, not closures and not a Protocol: compiled
(casscade._native), `CompiledMask.cells` then calls `apply` directly rather than through
Python's call protocol, once per masked cell (docs/design.md, "What compiling changes").
"""

from __future__ import annotations

from typing import Final

from casscade.commitlog.records import Cell
from casscade.events.mapping import cell_change
from casscade.events.model import CellChange
from casscade.masking._compile import ValueFn
from casscade.masking.errors import MaskingError
from casscade.masking.strategies import KeyedHasher

__all__ = ["HASH_TIE_BYTES", "CellMask", "FieldCell", "HashCell", "ValueCell", "path_cell"]

# The tie bytes of a hashed value: the first 8 bytes of its HMAC. Under one key they order
# as the hash's text (its first 16 hex digits), and two different values share them with a
# chance of 2**-64 (PostgreSQL and TimescaleDB then keep the cell stored first, ClickHouse
# either). Fewer bytes to store than the text (67 characters) or the whole HMAC (32 bytes):
# a PostgreSQL sink copies them as hex text, and with 32 bytes that was most of what masking
# added to PostgreSQL's time (docs/benchmarks.md).
HASH_TIE_BYTES: Final = 8

# A CellChange from its fields in order, with `tuple.__new__` (0.11 µs, where the
# NamedTuple's own constructor takes 0.27).
_new = tuple.__new__


class CellMask:
    """A column's cell function: a decoded cell to its masked cell change (the module
    docstring says why a base class)."""

    __slots__ = ()

    def apply(self, cell: Cell) -> CellChange:
        """The cell, masked."""
        raise NotImplementedError


class ValueCell(CellMask):
    """Cells whose value is masked: simple columns, list elements, map values. The value
    function is bare (`Compiler.bare`): nulls and the place of errors are handled here."""

    __slots__ = ("_fn", "_where")

    def __init__(self, fn: ValueFn, where: str) -> None:
        self._fn = fn
        self._where = where

    def apply(self, cell: Cell) -> CellChange:
        column, timestamp, value, tombstone, ttl, ldt, path, _ = cell
        if value is None:
            raw = b""
        else:
            try:
                value = self._fn(value)
            except MaskingError as exc:
                raise exc.located(self._where) from None
            raw = (
                value.encode("utf-8", "surrogatepass") if type(value) is str else _masked_raw(value)
            )
        return _new(CellChange, (column, value, timestamp, ttl, ldt, tombstone, path, raw))


class HashCell(CellMask):
    """Cells whose value is hashed: the hash's text is the value and the HMAC's first
    `HASH_TIE_BYTES` bytes its tie bytes."""

    __slots__ = ("_hasher", "_where")

    def __init__(self, hasher: KeyedHasher, where: str) -> None:
        self._hasher = hasher
        self._where = where

    def apply(self, cell: Cell) -> CellChange:
        column, timestamp, value, tombstone, ttl, ldt, path, _ = cell
        if value is None:
            raw = b""
        else:
            try:
                value, raw = self._hasher.hash_and_head(value, HASH_TIE_BYTES)
            except MaskingError as exc:
                raise exc.located(self._where) from None
        return _new(CellChange, (column, value, timestamp, ttl, ldt, tombstone, path, raw))


class _PathCell(CellMask):
    """Cells whose path is masked (set elements, map keys), and maybe their value: with
    `value_fn`, or hashed by `hashing` (the hasher and the value's place)."""

    __slots__ = ("_hashing", "_path_fn", "_value_fn")

    def __init__(
        self,
        path_fn: ValueFn,
        value_fn: ValueFn | None,
        hashing: tuple[KeyedHasher, str] | None,
    ) -> None:
        self._value_fn = value_fn
        self._path_fn = path_fn
        self._hashing = hashing

    def apply(self, cell: Cell) -> CellChange:
        column, timestamp, value, tombstone, ttl, ldt, path, raw = cell
        if self._hashing is not None:
            value, raw = _hash_value(self._hashing, value)
        elif self._value_fn is not None:
            value = self._value_fn(value)
            raw = _masked_raw(value)
        if path is not None:
            path = self._path_fn(path)
        return _new(CellChange, (column, value, timestamp, ttl, ldt, tombstone, path, raw))


class FieldCell(CellMask):
    """Cells of a non-frozen UDT: the path is the field's name. Fields in `hashed` (the
    hasher and the field's place) are hashed with the HMAC's first bytes as tie bytes, the
    others masked by their function in `by_field`."""

    __slots__ = ("_by_field", "_hashed")

    def __init__(
        self, by_field: dict[str, ValueFn], hashed: dict[str, tuple[KeyedHasher, str]]
    ) -> None:
        self._by_field = by_field
        self._hashed = hashed

    def apply(self, cell: Cell) -> CellChange:
        name = str(cell.path)
        fn = self._by_field.get(name)
        if fn is None:
            return cell_change(cell)
        column, timestamp, value, tombstone, ttl, ldt, path, _ = cell
        hashing = self._hashed.get(name)
        if hashing is not None:
            value, raw = _hash_value(hashing, value)
        else:
            value = fn(value)
            raw = _masked_raw(value)
        return _new(CellChange, (column, value, timestamp, ttl, ldt, tombstone, path, raw))


def path_cell(
    path_fn: ValueFn | None,
    value_fn: ValueFn | None = None,
    *,
    hashing: tuple[KeyedHasher, str] | None = None,
) -> CellMask | None:
    """The cell function of a column whose paths are masked (set elements, map keys), and
    maybe their values (`value_fn`, or hashed by `hashing`: the hasher and the value's
    place); None when the paths are not masked."""
    return None if path_fn is None else _PathCell(path_fn, value_fn, hashing)


def _hash_value(hashing: tuple[KeyedHasher, str], value: object) -> tuple[object, bytes]:
    """A value hashed, and its tie bytes, the HMAC's first `HASH_TIE_BYTES` bytes (as
    `HashCell`, which inlines this for simple columns); a null stays null. `hashing`: the
    hasher and the value's place (for errors)."""
    if value is None:
        return None, b""
    hasher, where = hashing
    try:
        return hasher.hash_and_head(value, HASH_TIE_BYTES)
    except MaskingError as exc:
        raise exc.located(where) from None


def _masked_raw(value: object) -> bytes:
    """The bytes that break ties of a masked value: its own, never the original's (which would
    carry what masking hides). Ties of equal timestamps in a masked column therefore go to
    the greater masked value, where Cassandra compares the originals. Hashed values are not
    given here: their tie bytes are the first bytes of their HMAC (`HASH_TIE_BYTES`)."""
    if type(value) is str:  # what every strategy but redact gives
        return value.encode("utf-8", "surrogatepass")
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8", "surrogatepass")
