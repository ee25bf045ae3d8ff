"""The audit scanner: destination rows in, findings of raw-looking PII out.

Two checks over the rows of one table (each row a mapping column -> value, as read from
a destination):

* Every text value (also inside lists, tuples and maps) is searched for what raw PII looks
  like: e-mail addresses, US social security numbers (`123-45-6789`), phone numbers
  (North American and `+`-prefixed international), payment card numbers (13-19 digits
  passing the Luhn check), and the extra named patterns of `masking.audit.patterns`.
  Values in hash or token form are skipped (hex digests are not card numbers).
* Every value of a classified column must be in its strategy's masked form: `hash`
  `<key id>:<64 hex>` and `tokenize` `tok:<key id>:<32 hex>` with a key id the rules know,
  `redact` null or the replacement, `partial` mask characters then at most `keep_last`
  characters (never more than half), `email` the mask then `@` and a domain. `passthrough`
  columns cannot be checked (the source encrypted them) and are only pattern-scanned.

Findings are aggregated per (column, kind, detail) with a count and a few excerpts. An
excerpt is the shape of the match, never its content: letters become `x`, digits `#`, a
few separators stay (`xxxxx@xxxxxxx.xxx`, `###-##-####`). Pure: no I/O; text only, since
numbers in numeric columns (timestamps) would drown the report in Luhn false positives.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum

from casscade.masking.rules import (
    DataClass,
    EmailRule,
    HashRule,
    MaskingConfig,
    NestedRule,
    PartialRule,
    RedactRule,
    TokenizeRule,
    ValueRule,
)
from casscade.masking.strategies import HASH_FORM, TOKEN_FORM

__all__ = ["AuditReport", "AuditScanner", "Finding", "FindingKind", "is_luhn_valid"]

_EXCERPT_CHARS = 40
_KEEP_IN_SHAPE = frozenset(" .-_@:/()+,*")

_EMAIL = re.compile(
    r"(?<![\w.+%-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w-])"
)
_SSN = re.compile(r"(?<![\w-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w-])")
_PHONE = re.compile(
    r"(?<![\w+-])(?:\+?1[ .-]?)?(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\w-])"
    r"|(?<![\w+])\+[1-9]\d{0,2}(?:[ .-]?\d{1,4}){2,5}(?![\w-])"
)
_CARD = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])")
_PHONE_DIGITS = range(8, 16)  # E.164 numbers have at most 15 digits; fewer than 8 is noise


class FindingKind(Enum):
    """What a finding is."""

    EMAIL = "email"
    SSN = "ssn"
    PHONE = "phone"
    CARD = "card"
    PATTERN = "pattern"  # detail: the pattern's name
    NOT_MASKED = "not_masked"  # a classified column's value is not in masked form
    UNKNOWN_KEY = "unknown_key"  # masked form, but with a key id the rules do not list


@dataclass(frozen=True, slots=True)
class Finding:
    """Values of one column that look unmasked, for one reason.

    Attributes:
        table: keyspace.table.
        column: the column.
        kind: what was found.
        detail: the pattern name (PATTERN) or the strategy expected (NOT_MASKED,
            UNKNOWN_KEY); empty otherwise.
        data_class: the column's class when it is classified, else None.
        count: how many values.
        excerpts: the shapes of the first few (never their content).
    """

    table: str
    column: str
    kind: FindingKind
    detail: str
    data_class: DataClass | None
    count: int
    excerpts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AuditReport:
    """The findings of one table.

    Attributes:
        table: keyspace.table.
        rows: rows scanned.
        values: non-null values scanned.
        findings: sorted by column, kind, detail.
    """

    table: str
    rows: int
    values: int
    findings: tuple[Finding, ...]

    @property
    def is_clean(self) -> bool:
        return not self.findings


def is_luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check of a string of decimal digits."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def shape(text: str) -> str:
    """The shape of a text: letters `x`, digits `#`, a few separators kept, others `?`."""
    out = "".join(
        "#" if c.isdigit() else "x" if c.isalpha() else c if c in _KEEP_IN_SHAPE else "?"
        for c in text[:_EXCERPT_CHARS]
    )
    return out + "..." if len(text) > _EXCERPT_CHARS else out


class AuditScanner:
    """Scans rows for raw PII with one rule set's classifications and audit settings."""

    def __init__(self, config: MaskingConfig, *, max_excerpts: int = 3) -> None:
        self._config = config
        self._key_ids = frozenset(k.id for k in config.keys)
        self._max_excerpts = max_excerpts
        builtin = {"email": _EMAIL, "ssn": _SSN, "phone": _PHONE, "card": _CARD}
        self._detectors = [(FindingKind(name), "", builtin[name]) for name in config.audit.detect]
        self._detectors += [
            (FindingKind.PATTERN, name, re.compile(pattern))
            for name, pattern in config.audit.patterns.items()
        ]

    def __repr__(self) -> str:
        return f"AuditScanner(tables={len(self._config.tables)}, detectors={len(self._detectors)})"

    def scan_table(self, table: str, rows: Iterable[Mapping[str, object]]) -> AuditReport:
        """Scan the rows of one table.

        Args:
            table: keyspace.table (its rules, if any, say which columns are classified).
            rows: column -> value mappings, as read from a destination.
        """
        rules = self._config.tables.get(table)
        columns = {} if rules is None else rules.columns
        tally = _Tally(table, self._max_excerpts)
        row_count = value_count = 0
        for row in rows:
            row_count += 1
            for column, value in row.items():
                if value is None:
                    continue
                value_count += 1
                rule = columns.get(column)
                data_class = None if rule is None else rule.data_class
                for text in _texts(value):
                    self._scan_text(tally, column, data_class, text)
                if rule is not None:
                    for kind, detail, excerpt in self._form_problems(rule, value):
                        tally.add(column, kind, detail, data_class, excerpt)
        return AuditReport(table, row_count, value_count, tally.findings())

    def _scan_text(
        self, tally: _Tally, column: str, data_class: DataClass | None, text: str
    ) -> None:
        if HASH_FORM.match(text) or TOKEN_FORM.match(text):
            return
        for kind, detail, pattern in self._detectors:
            for match in pattern.finditer(text):
                if _confirms(kind, match.group()):
                    tally.add(column, kind, detail, data_class, shape(match.group()))
                    break  # one finding per value and detector

    def _form_problems(self, rule: ValueRule, value: object) -> list[tuple[FindingKind, str, str]]:
        if value is None:
            return []
        if isinstance(rule, NestedRule):
            return [p for part, v in _parts(rule, value) for p in self._form_problems(part, v)]
        if isinstance(rule, HashRule | TokenizeRule):
            return self._keyed_form_problems(rule, value)
        if _is_masked(rule, value):
            return []
        return [(FindingKind.NOT_MASKED, str(rule.strategy), shape(str(value)))]

    def _keyed_form_problems(
        self, rule: HashRule | TokenizeRule, value: object
    ) -> list[tuple[FindingKind, str, str]]:
        form = HASH_FORM if isinstance(rule, HashRule) else TOKEN_FORM
        match = form.match(value) if isinstance(value, str) else None
        if match is None:
            return [(FindingKind.NOT_MASKED, rule.strategy, shape(str(value)))]
        if match.group(1) not in self._key_ids:
            # A key id is not secret: it is the excerpt, so the operator sees which one.
            return [(FindingKind.UNKNOWN_KEY, rule.strategy, match.group(1))]
        return []


def _is_masked(rule: ValueRule, value: object) -> bool:
    if isinstance(rule, RedactRule):
        return rule.replacement is not None and value == rule.replacement
    if not isinstance(value, str):
        return not isinstance(rule, PartialRule | EmailRule)  # passthrough: unknowable
    if isinstance(rule, PartialRule):
        rest = value.lstrip(rule.mask_char)
        return value == "" or (rest != value and len(rest) <= min(rule.keep_last, len(value) // 2))
    if isinstance(rule, EmailRule):
        if not rule.keep_domain:
            return value in (rule.mask, f"{rule.mask}@{rule.mask}")
        return value == rule.mask or value.startswith(f"{rule.mask}@")
    return True


def _parts(rule: NestedRule, value: object) -> list[tuple[ValueRule, object]]:
    """(rule, value) for each part of a container value that a part rule covers."""
    if isinstance(value, dict):
        if rule.fields:
            return [(rule.fields[k], v) for k, v in value.items() if k in rule.fields]
        pairs = list(value.items())
        keys = [] if rule.keys is None else [(rule.keys, k) for k, _ in pairs]
        return keys + ([] if rule.values is None else [(rule.values, v) for _, v in pairs])
    if isinstance(value, list | tuple):
        if rule.elements is not None:
            return [(rule.elements, v) for v in value]
        if rule.fields:
            return [(rule.fields[str(i)], v) for i, v in enumerate(value) if str(i) in rule.fields]
    return []  # a container stored as text (JSON): its parts cannot be told apart


def _texts(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for pair in value.items() for part in pair for t in _texts(part)]
    if isinstance(value, list | tuple | set | frozenset):
        return [t for part in value for t in _texts(part)]
    return []


def _confirms(kind: FindingKind, text: str) -> bool:
    if kind is FindingKind.CARD:
        digits = re.sub(r"[ -]", "", text)
        return 13 <= len(digits) <= 19 and is_luhn_valid(digits)
    if kind is FindingKind.PHONE:
        return sum(c.isdigit() for c in text) in _PHONE_DIGITS
    return True


class _Tally:
    """Counts and excerpts per (column, kind, detail)."""

    def __init__(self, table: str, max_excerpts: int) -> None:
        self._table = table
        self._max = max_excerpts
        self._found: dict[
            tuple[str, FindingKind, str], tuple[DataClass | None, int, list[str]]
        ] = {}

    def add(
        self,
        column: str,
        kind: FindingKind,
        detail: str,
        data_class: DataClass | None,
        excerpt: str,
    ) -> None:
        key = (column, kind, detail)
        _, count, excerpts = self._found.get(key, (data_class, 0, []))
        if len(excerpts) < self._max:
            excerpts.append(excerpt)
        self._found[key] = (data_class, count + 1, excerpts)

    def findings(self) -> tuple[Finding, ...]:
        return tuple(
            Finding(self._table, column, kind, detail, data_class, count, tuple(excerpts))
            for (column, kind, detail), (data_class, count, excerpts) in sorted(
                self._found.items(), key=lambda item: (item[0][0], item[0][1].value, item[0][2])
            )
        )
