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
# UUID's own pickling support does, when the class has the slots this relies on (CPython 3.8+),
# writing the two slots through their descriptors (cheaper than object.__setattr__ by name).
_FAST_UUID = {"int", "is_safe"} <= set(getattr(_UUID, "__slots__", ()))
_new_object = object.__new__
_set_int = _UUID.__dict__["int"].__set__ if _FAST_UUID else None
_set_is_safe = _UUID.__dict__["is_safe"].__set__ if _FAST_UUID else None
_UNKNOWN_SAFETY = uuid.SafeUUID.unknown


def uuid_from_int(value: int) -> uuid.UUID:
    """A `uuid.UUID` from its 128-bit value, equal to `uuid.UUID(int=value)`."""
    if _set_int is None or _set_is_safe is None:
        return _UUID(int=value)
    made: uuid.UUID = _new_object(_UUID)
    _set_int(made, value)
    _set_is_safe(made, _UNKNOWN_SAFETY)
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
