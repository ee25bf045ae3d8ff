"""Codecs of the identifier CQL types: uuid, timeuuid and inet.

Mirrors `UUIDSerializer`, `TimeUUIDSerializer` and `InetAddressSerializer` (Cassandra 5.0):
16 raw UUID bytes (most significant first), and 4 (IPv4) or 16 (IPv6) address bytes. An
empty value decodes to None. Pure; errors are `ValueDecodeError`.
"""

from __future__ import annotations

import ipaddress
import uuid

from casscade.commitlog.codecs._wire import Buffer, bad_length
from casscade.commitlog.types import ValueDecodeError

_UUID = uuid.UUID
_IPV4 = ipaddress.IPv4Address
_IPV6 = ipaddress.IPv6Address

# uuid.UUID.__init__ is pure Python with many argument checks and costs about half the time of
# decoding a uuid cell. The 128-bit int needs none of them, so the object is built the way
# UUID's own pickling support does, when the class has the slots this relies on (CPython 3.8+).
_FAST_UUID = {"int", "is_safe"} <= set(getattr(_UUID, "__slots__", ()))
_new_object = object.__new__
_set_attribute = object.__setattr__
_UNKNOWN_SAFETY = uuid.SafeUUID.unknown


def uuid_from_int(value: int) -> uuid.UUID:
    """A `uuid.UUID` from its 128-bit value, equal to `uuid.UUID(int=value)`."""
    if not _FAST_UUID:
        return _UUID(int=value)
    made = _new_object(_UUID)
    _set_attribute(made, "int", value)
    _set_attribute(made, "is_safe", _UNKNOWN_SAFETY)
    return made


def decode_uuid(data: Buffer) -> uuid.UUID | None:
    """uuid / timeuuid: 16 bytes. The version is not checked (Cassandra checks on write)."""
    if len(data) == 16:
        return uuid_from_int(int.from_bytes(data, "big"))
    if data:
        raise bad_length("uuid", 16, data)
    return None


def decode_inet(data: Buffer) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """inet (`InetAddressType`): 4 bytes for IPv4, 16 for IPv6."""
    size = len(data)
    if size == 4:
        return _IPV4(int.from_bytes(data, "big"))
    if size == 16:
        return _IPV6(int.from_bytes(data, "big"))
    if size == 0:
        return None
    raise ValueDecodeError(f"inet value needs 4 or 16 bytes, got {size}")
