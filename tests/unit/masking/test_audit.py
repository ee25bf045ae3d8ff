"""Tests of the audit scanner: raw PII detection, masked-form checks, and safe excerpts."""

from __future__ import annotations

from typing import Any

import pytest

from casscade.masking.audit import AuditScanner, FindingKind, is_luhn_valid, shape
from casscade.masking.strategies import KeyedHasher, Tokenizer
from tests.unit.masking.tables import HASH_KEY, OLD_KEY, config

RULES = {
    "shop.customers": {
        "columns": {
            "id": {"class": "pii", "strategy": "hash"},
            "ssn": {"class": "pii", "strategy": "tokenize"},
            "card": {"class": "pii", "strategy": "partial", "keep_last": 4},
            "email": {"class": "pii", "strategy": "email"},
            "notes": {"class": "phi", "strategy": "redact"},
            "label": {"class": "phi", "strategy": "redact", "replacement": "[x]"},
            "blob": {"class": "pii", "strategy": "passthrough"},
            "tags": {"class": "pii", "elements": {"strategy": "hash"}},
        }
    }
}
HASH = KeyedHasher("k2", HASH_KEY)


def _scan(rows: list[dict[str, Any]], **extra: Any) -> dict[tuple[str, FindingKind, str], Any]:
    report = AuditScanner(config(RULES, **extra)).scan_table("shop.customers", rows)
    return {(f.column, f.kind, f.detail): f for f in report.findings}


def _masked_row() -> dict[str, Any]:
    return {
        "id": HASH.hash("c-1"),
        "ssn": Tokenizer("k2", HASH_KEY).token("078-05-1120")[0],
        "card": "************1111",
        "email": "***@example.com",
        "notes": None,
        "label": "[x]",
        "blob": "gAAAAABk...ciphertext",
        "tags": [HASH.hash("vip")],
        "comment": "all fine here",
        "visits": 4111111111111111,  # numbers are not scanned: timestamps would drown it
    }


def test_scan_table_masked_rows_are_clean() -> None:
    """Rows masked as the rules say, with no raw PII in free text, give no finding."""
    report = AuditScanner(config(RULES)).scan_table("shop.customers", [_masked_row()] * 3)
    assert report.is_clean
    assert (report.rows, report.values) == (3, 27)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("write to alice.smith+x@mail.example.org please", FindingKind.EMAIL),
        ("ssn 078-05-1120 on file", FindingKind.SSN),
        ("call (555) 123-4567", FindingKind.PHONE),
        ("call +1 555-123-4567", FindingKind.PHONE),
        ("intl +44 20 7946 0958", FindingKind.PHONE),
        ("card 4111 1111 1111 1111 exp 12/29", FindingKind.CARD),
        ("card 4111-1111-1111-1111", FindingKind.CARD),
        ("card 378282246310005", FindingKind.CARD),
    ],
)
def test_scan_table_raw_pii_in_free_text_is_found(text: str, kind: FindingKind) -> None:
    """Each built-in detector finds its kind in an unclassified text column."""
    found = _scan([{"comment": text}])
    assert ("comment", kind, "") in found
    assert found["comment", kind, ""].data_class is None


@pytest.mark.parametrize(
    "text",
    [
        "card 4111 1111 1111 1112",  # fails the Luhn check
        "order 2024-01-15 at 10:30",  # a date is not an SSN or phone
        "uuid 550e8400-e29b-41d4-a716-446655440000",
        "amount 123456.1234",  # a decimal is not a phone number
        "123-45-678",  # too short for an SSN
        "000-12-3456",  # never issued
    ],
)
def test_scan_table_lookalikes_are_not_findings(text: str) -> None:
    """Luhn failures, dates, UUIDs, decimals and impossible SSNs are not reported."""
    assert _scan([{"comment": text}]) == {}


def test_scan_table_hash_and_token_values_are_not_scanned_for_patterns() -> None:
    """A hex digest that happens to hold a Luhn-valid run is not a card number."""
    fake_digest = "k2:" + "4111111111111111" + "a" * 48
    assert _scan([{"comment": fake_digest}]) == {}


def test_scan_table_extra_patterns_are_reported_by_name() -> None:
    """A configured pattern finds its matches and names itself in the finding."""
    found = _scan(
        [{"comment": "employee EMP-123456"}], audit={"patterns": {"employee": r"EMP-\d{6}"}}
    )
    finding = found["comment", FindingKind.PATTERN, "employee"]
    assert finding.excerpts == ("xxx-######",)


def test_scan_table_detectors_can_be_switched_off() -> None:
    """Only the detectors listed in audit.detect run."""
    found = _scan([{"comment": "a@b.example 078-05-1120"}], audit={"detect": ["ssn"]})
    assert set(found) == {("comment", FindingKind.SSN, "")}


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("id", "c-1"),
        ("id", "k2:abc"),
        ("ssn", "k2:" + "0" * 64),  # a hash where a token belongs
        ("card", "4111111111119999"),
        ("card", "4111111111****99"),
        ("card", "*****1111111111"),  # keeps more than keep_last
        ("email", "bob@example.com"),
        ("notes", "diabetic"),
        ("label", "something else"),
        ("tags", ["vip"]),
    ],
)
def test_scan_table_classified_value_not_in_masked_form_is_found(column: str, value: Any) -> None:
    """A classified column whose value is not its strategy's output is NOT_MASKED."""
    row = _masked_row() | {column: value}
    found = _scan([row])
    not_masked = [
        f for (c, kind, _), f in found.items() if c == column and kind is FindingKind.NOT_MASKED
    ]
    assert len(not_masked) == 1
    assert not_masked[0].data_class in ("pii", "phi")


def test_scan_table_hash_with_unlisted_key_id_is_unknown_key() -> None:
    """A value in hash form under a key id the rules do not list is reported by that id."""
    stray = KeyedHasher("k9", OLD_KEY).hash("c-1")
    found = _scan([_masked_row() | {"id": stray}])
    assert found["id", FindingKind.UNKNOWN_KEY, "hash"].excerpts == ("k9",)
    old = KeyedHasher("k1", OLD_KEY).hash("c-1")  # a listed older key: fine
    assert _scan([_masked_row() | {"id": old}]) == {}


def test_scan_table_findings_are_counted_and_excerpts_never_hold_the_value() -> None:
    """Findings aggregate per column and kind; excerpts keep only the shape."""
    rows = [{"comment": f"mail carol{i}@example.net", "ssn": "078-05-1120"} for i in range(5)]
    report = AuditScanner(config(RULES)).scan_table("shop.customers", rows)
    found = {(f.column, f.kind): f for f in report.findings}
    email = found["comment", FindingKind.EMAIL]
    assert email.count == 5
    assert email.excerpts == ("xxxxx#@xxxxxxx.xxx",) * 3
    raw_ssn = found["ssn", FindingKind.SSN]
    assert (raw_ssn.count, raw_ssn.excerpts) == (5, ("###-##-####",) * 3)
    assert found["ssn", FindingKind.NOT_MASKED].count == 5
    text = repr(report)
    assert "carol" not in text
    assert "078-05-1120" not in text
    assert "example.net" not in text


def test_shape_replaces_letters_digits_and_unusual_characters() -> None:
    """Letters become x, digits #, common separators stay, anything else is ?."""
    assert shape("Ünïcode 12 ☎ a@b.c") == "xxxxxxx ## ? x@x.x"
    assert shape("x" * 50) == "x" * 40 + "..."


@pytest.mark.parametrize(
    ("digits", "valid"),
    [("4111111111111111", True), ("79927398713", True), ("79927398710", False), ("0", True)],
)
def test_is_luhn_valid_known_numbers(digits: str, valid: bool) -> None:
    """The Luhn check accepts the classic valid examples and rejects a changed digit."""
    assert is_luhn_valid(digits) is valid
