"""Codecs of the temporal CQL types: date, time, timestamp and duration, and their values.

Mirrors `SimpleDateSerializer`, `TimeSerializer`, `TimestampSerializer` and
`DurationSerializer` (Cassandra 5.0):

    date        4 bytes  u32  days since 1970-01-01, plus 2^31 (2024-01-01 -> 80 00 4d 0b)
    time        8 bytes  i64  nanoseconds since midnight
    timestamp   8 bytes  i64  milliseconds since the Unix epoch (may be negative)
    duration    3 zig-zag vints: months (i32), days (i32), nanoseconds (i64)

Representations: a date is a `datetime.date` when Python can hold it (years 1 to 9999), else
a `CqlDate` with the day number. A time is always a `CqlTime`, because `datetime.time` stops
at microseconds and Cassandra keeps nanoseconds; `CqlTime.to_time()` converts. A timestamp is
an aware `datetime` in UTC when it falls in years 1 to 9999, else a `CqlTimestamp` with the
milliseconds. An empty value (0 bytes) decodes to None.

Pure: bytes in, values out; errors are `ValueDecodeError`.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from casscade.commitlog.codecs._wire import (
    I64,
    U32,
    Buffer,
    bad_length,
    read_signed_vint,
    to_i32,
)
from casscade.commitlog.types import ValueDecodeError

_unpack_u32 = U32.unpack
_unpack_i64 = I64.unpack

_UTC = datetime.UTC
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=_UTC)
_EPOCH_ORDINAL = datetime.date(1970, 1, 1).toordinal()
_MAX_ORDINAL = datetime.date.max.toordinal()
_DATE_BIAS = 1 << 31  # SimpleDateSerializer stores days + 2^31 as an unsigned int
_fromordinal = datetime.date.fromordinal
_timedelta = datetime.timedelta
# Milliseconds of datetime.min and datetime.max (UTC) relative to the epoch.
_MIN_MILLIS = (datetime.datetime.min.replace(tzinfo=_UTC) - _EPOCH) // _timedelta(milliseconds=1)
_MAX_MILLIS = (datetime.datetime.max.replace(tzinfo=_UTC) - _EPOCH) // _timedelta(milliseconds=1)
_NANOS_PER_DAY = 86_400_000_000_000


@dataclass(frozen=True, slots=True)
class CqlDate:
    """A CQL date outside Python's `datetime.date` range (before year 1 or after 9999).

    Attributes:
        days: days since 1970-01-01, negative before it.
    """

    days: int


@dataclass(frozen=True, slots=True)
class CqlTime:
    """A CQL time of day with nanosecond precision.

    Attributes:
        nanoseconds: nanoseconds since midnight. Cassandra only checks the size of a bound
            value, so a value outside [0, 86_399_999_999_999] can occur.
    """

    nanoseconds: int

    def to_time(self) -> datetime.time:
        """The time as a `datetime.time`, truncated to microseconds.

        Raises:
            ValueError: `nanoseconds` is not within one day.
        """
        if not 0 <= self.nanoseconds < _NANOS_PER_DAY:
            raise ValueError(f"{self.nanoseconds} ns is not a time of day")
        micros = self.nanoseconds // 1000
        seconds, micro = divmod(micros, 1_000_000)
        minutes, second = divmod(seconds, 60)
        hour, minute = divmod(minutes, 60)
        return datetime.time(hour, minute, second, micro)


@dataclass(frozen=True, slots=True)
class CqlTimestamp:
    """A CQL timestamp outside Python's `datetime` range (before year 1 or after 9999).

    Attributes:
        milliseconds: milliseconds since the Unix epoch, negative before it.
    """

    milliseconds: int


@dataclass(frozen=True, slots=True)
class Duration:
    """A CQL duration; the three parts are independent (a month is not a number of days).

    Attributes:
        months: whole months.
        days: whole days.
        nanoseconds: the rest, in nanoseconds.
    """

    months: int
    days: int
    nanoseconds: int


def decode_date(data: Buffer) -> datetime.date | CqlDate | None:
    """date (`SimpleDateType`): a `datetime.date`, or a `CqlDate` outside years 1-9999."""
    if len(data) == 4:
        days = _unpack_u32(data)[0] - _DATE_BIAS
        ordinal = _EPOCH_ORDINAL + days
        if 1 <= ordinal <= _MAX_ORDINAL:
            return _fromordinal(ordinal)
        return CqlDate(days)
    if data:
        raise bad_length("date", 4, data)
    return None


def decode_time(data: Buffer) -> CqlTime | None:
    """time (`TimeType`): a `CqlTime` with the nanoseconds since midnight."""
    if len(data) == 8:
        return CqlTime(_unpack_i64(data)[0])
    if data:
        raise bad_length("time", 8, data)
    return None


def decode_timestamp(data: Buffer) -> datetime.datetime | CqlTimestamp | None:
    """timestamp (`TimestampType`): an aware UTC `datetime`, or a `CqlTimestamp` out of range."""
    if len(data) == 8:
        millis: int = _unpack_i64(data)[0]
        if _MIN_MILLIS <= millis <= _MAX_MILLIS:
            return _EPOCH + _timedelta(0, 0, 0, millis)  # positional: (days, s, us, ms)
        return CqlTimestamp(millis)
    if data:
        raise bad_length("timestamp", 8, data)
    return None


def decode_duration(data: Buffer) -> Duration | None:
    """duration (`DurationType`): three zig-zag vints, months, days and nanoseconds."""
    if not data:
        return None
    months, pos = read_signed_vint(data, 0)
    days, pos = read_signed_vint(data, pos)
    nanoseconds, pos = read_signed_vint(data, pos)
    if pos != len(data):
        raise ValueDecodeError(f"duration value has {len(data) - pos} extra bytes")
    return Duration(to_i32(months, "duration months"), to_i32(days, "duration days"), nanoseconds)
