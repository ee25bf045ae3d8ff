"""How the ClickHouse sink hands decoded values to clickhouse-connect, per column type."""

from __future__ import annotations

import datetime
import decimal
import ipaddress
import uuid

import pytest

from casscade.commitlog.codecs.temporal import CqlTime, CqlTimestamp
from casscade.sinks.clickhouse.sink import _as_decoded, converter
from tests.unit.masking.tables import table

SCHEMA = table({
    "k": ("partition_key", 0, "int"),
    "a": ("regular", -1, "text"),
    "b": ("regular", -1, "varint"),
    "c": ("regular", -1, "uuid"),
    "d": ("regular", -1, "blob"),
    "e": ("regular", -1, "decimal"),
    "f": ("regular", -1, "inet"),
    "g": ("regular", -1, "time"),
    "h": ("regular", -1, "timestamp"),
})  # fmt: skip


@pytest.mark.parametrize(
    ("column", "value"),
    [("k", 7), ("a", "text"), ("b", 2**100), ("c", uuid.uuid4()), ("d", b"\x00\xff"),
     ("a", None)],
)  # fmt: skip
def test_values_of_plain_types_go_as_decoded(column: str, value: object) -> None:
    """Text, integers, UUIDs and blobs (and nulls) are inserted as the decoder gave them,
    without the per-value checks other types need."""
    convert = converter(SCHEMA.columns[column])
    assert convert is _as_decoded
    assert convert(value) is value


def test_values_clickhouse_cannot_take_as_decoded_are_converted() -> None:
    """Decimals and addresses as text, times as nanoseconds, timestamps as naive UTC."""
    assert converter(SCHEMA.columns["e"])(decimal.Decimal("1.50")) == "1.50"
    assert converter(SCHEMA.columns["f"])(ipaddress.ip_address("::1")) == "::1"
    assert converter(SCHEMA.columns["g"])(CqlTime(5)) == 5
    aware = datetime.datetime(2026, 1, 1, 12, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))
    assert converter(SCHEMA.columns["h"])(aware) == datetime.datetime(2026, 1, 1, 10)


def test_a_timestamp_beyond_year_9999_is_refused() -> None:
    """A timestamp ClickHouse cannot hold fails (the event becomes a dead letter)."""
    with pytest.raises(ValueError, match="timestamp outside years 1 to 9999"):
        converter(SCHEMA.columns["h"])(CqlTimestamp(1 << 60))
