"""Bound rules to value functions: one closure per rule, built once per table schema.

A value function takes one decoded value and gives its masked form; null stays null (there
is nothing to protect, and null keeps meaning "no value" in every destination). Containers
keep their shape: a list stays a list and a tuple a tuple, a map given as a dict stays a
dict and one given as (key, value) pairs (its hashable form, inside set elements and map
keys) stays pairs, and so for UDTs.

Pure, except that tokenizing adds a vault entry to the batch's `VaultEntries`, which the
caller hands in through a `TokenContext` for the duration of one call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from typing import TypeAlias, cast

from casscade.commitlog.types import TupleType
from casscade.masking.binding import BoundRule, Strategy
from casscade.masking.entries import VaultEntries, VaultEntry
from casscade.masking.errors import MaskingError
from casscade.masking.rules import EmailRule, PartialRule, RedactRule
from casscade.masking.strategies import (
    KeyedHasher,
    Tokenizer,
    email_masker,
    partial_masker,
)

ValueFn: TypeAlias = Callable[[object], object]


class TokenContext:
    """Where the tokens of the current call go; None outside `events_of` and `mask_event`.
    Per thread, so one masker serves the agent's destination threads.

    It holds a `threading.local` rather than subclass it: compiled by mypyc
    (casscade._native), a subclass of `threading.local` is laid out as a native class
    smaller than `_thread._local` itself, which corrupts memory when one is made and keeps
    its attribute in one slot that every thread shares.
    """

    __slots__ = ("_local",)

    def __init__(self) -> None:
        self._local = threading.local()

    @property
    def entries(self) -> VaultEntries | None:
        """This thread's entries, if a call of this thread set them."""
        return cast("VaultEntries | None", getattr(self._local, "entries", None))

    @entries.setter
    def entries(self, entries: VaultEntries | None) -> None:
        self._local.entries = entries


class Compiler:
    """Builds value functions with the masker's keys."""

    __slots__ = ("_context", "_hasher", "_tokenizer")

    def __init__(
        self, hasher: KeyedHasher | None, tokenizer: Tokenizer | None, context: TokenContext
    ) -> None:
        self._hasher = hasher
        self._tokenizer = tokenizer
        self._context = context

    def compile(self, bound: BoundRule, where: str) -> ValueFn | None:
        """The value function of a rule, or None when it leaves values as they are."""
        if not bound.changes_values:
            return None
        if bound.strategy is Strategy.NESTED:
            return self._nested(bound, where)
        leaf = self._leaf(bound, where)

        def mask(value: object) -> object:
            if value is None:
                return None
            try:
                return leaf(value)
            except MaskingError as exc:
                raise exc.located(where) from None

        return mask

    def bare(self, bound: BoundRule, where: str) -> ValueFn | None:
        """As `compile`, but a strategy's own function comes as it is: the caller never passes
        it a null and locates its MaskingErrors itself (cell functions do both, once per
        cell, which saves a call per masked value)."""
        if not bound.changes_values:
            return None
        if bound.strategy is Strategy.NESTED:
            return self._nested(bound, where)
        return self._leaf(bound, where)

    def hasher_of(self, bound: BoundRule, where: str) -> KeyedHasher | None:
        """The hasher of a rule that hashes its value whole, for cell functions to keep the
        HMAC's first bytes as the cell's tie bytes (`_cells.HASH_TIE_BYTES`); None for any
        other rule."""
        if bound.strategy is not Strategy.HASH:
            return None
        if self._hasher is None:
            raise MaskingError("hash needs the active key, which is not loaded", where)
        return self._hasher

    def field_functions(self, bound: BoundRule, where: str) -> dict[str, ValueFn]:
        """Per UDT field name: the value function of the fields that have one."""
        out: dict[str, ValueFn] = {}
        for _index, name, part in bound.fields:
            fn = self.compile(part, f"{where}.fields.{name}")
            if fn is not None:
                out[name] = fn
        return out

    def _leaf(self, bound: BoundRule, where: str) -> ValueFn:
        rule = bound.rule
        if bound.strategy is Strategy.HASH:
            if self._hasher is None:
                raise MaskingError("hash needs the active key, which is not loaded", where)
            return self._hasher.hash
        if bound.strategy is Strategy.TOKENIZE:
            return self._tokenize_fn(where)
        if isinstance(rule, RedactRule):
            replacement = rule.replacement
            return lambda _value: replacement
        if isinstance(rule, PartialRule):
            return partial_masker(rule.keep_last, rule.mask_char)
        if isinstance(rule, EmailRule):
            return email_masker(keep_domain=rule.keep_domain, mask=rule.mask)
        raise MaskingError(f"no value function for strategy {bound.strategy.value}", where)

    def _tokenize_fn(self, where: str) -> ValueFn:
        tokenizer = self._tokenizer
        if tokenizer is None:
            raise MaskingError("tokenize needs the active key, which is not loaded", where)
        context = self._context

        def tokenize(value: object) -> object:
            entries = context.entries
            if entries is None:
                raise MaskingError(
                    "tokenize needs somewhere to put vault entries: pass vault_entries to "
                    "events_of or mask_event"
                )
            token, kind, plaintext = tokenizer.token(value)
            entries.add(VaultEntry(token, kind, plaintext))
            return token

        return tokenize

    def _nested(self, bound: BoundRule, where: str) -> ValueFn | None:
        if bound.elements is not None:
            element = self.compile(bound.elements, f"{where}.elements")
            return None if element is None else _each(element)
        if bound.keys is not None or bound.values is not None:
            keys = None if bound.keys is None else self.compile(bound.keys, f"{where}.keys")
            values = None
            if bound.values is not None:
                values = self.compile(bound.values, f"{where}.values")
            return _pairs(keys or _same, values or _same)
        if isinstance(bound.cql_type, TupleType):
            by_index: dict[int, ValueFn] = {}
            for index, name, part in bound.fields:
                fn = self.compile(part, f"{where}.fields.{name}")
                if fn is not None:
                    by_index[index] = fn
            return _items(by_index)
        return _fields(self.field_functions(bound, where))


def _same(value: object) -> object:
    return value


# The casts below name Iterable, never list or tuple: compiled by mypyc (casscade._native) a
# cast is checked at run time, and containers arrive as lists, tuples or sets, and pairs of
# any length.


def _each(element: ValueFn) -> ValueFn:
    def mask(value: object) -> object:
        if value is None:
            return None
        items = [element(v) for v in cast(Iterable[object], value)]
        return tuple(items) if isinstance(value, tuple) else items

    return mask


def _pairs(key: ValueFn, value_fn: ValueFn) -> ValueFn:
    def mask(value: object) -> object:
        if value is None:
            return None
        if isinstance(value, dict):
            return {key(k): value_fn(v) for k, v in value.items()}
        return tuple((key(k), value_fn(v)) for k, v in cast(Iterable[tuple[object, object]], value))

    return mask


def _fields(by_name: Mapping[str, ValueFn]) -> ValueFn:
    def mask(value: object) -> object:
        if value is None:
            return None
        if isinstance(value, dict):
            return {n: by_name[n](v) if n in by_name else v for n, v in value.items()}
        pairs = cast(Iterable[tuple[str, object]], value)
        return tuple((n, by_name[n](v) if n in by_name else v) for n, v in pairs)

    return mask


def _items(by_index: Mapping[int, ValueFn]) -> ValueFn:
    def mask(value: object) -> object:
        if value is None:
            return None
        items = cast(Iterable[object], value)
        return tuple(by_index[i](v) if i in by_index else v for i, v in enumerate(items))

    return mask
