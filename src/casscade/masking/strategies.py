"""The masking strategies on single values, and the canonical form hashing and tokens read.

Pure and deterministic: the same value and key give the same output, always. No I/O, no
clocks, no randomness (the vault's nonces are drawn in `vault.py`, not here).

Canonical form (what is hashed, tokenized and stored in the vault): text is its UTF-8
bytes, a blob its own bytes, every other value its text form (`text_form`): integers in
decimal, booleans `true`/`false`, floats as Python's shortest repr, decimals with their
scale (`1.50`), UUIDs lowercase, dates and timestamps in ISO 8601, inet addresses
compressed, collections, tuples and UDTs as compact JSON of their parts' text forms (maps
and UDTs as lists of [key, value] pairs). So int 42 and text '42' hash alike, which keeps
joins working across columns of different integer or text types.

Errors never quote a value, only its Python type.
"""

from __future__ import annotations

import datetime
import decimal
import hashlib
import hmac
import ipaddress
import json
import operator
import re
import uuid
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Literal, Protocol, SupportsIndex, cast

from casscade.commitlog.codecs import CqlDate, CqlTime, CqlTimestamp, Duration
from casscade.masking.errors import MaskingError

try:
    # Not `from casscade.masking import _hmac`: its absence would then be a plain ImportError.
    import casscade.masking._hmac as _hmac  # noqa: PLR0402
except ModuleNotFoundError as missing:  # an install without C builds (CASSCADE_PURE_PYTHON=1)
    if missing.name != "casscade.masking._hmac":
        raise
    _hmac = None  # type: ignore[assignment]
# A build that is there but does not load (libcrypto missing on the node) raises: it is not
# quietly replaced by the slower fallback.

__all__ = [
    "HASH_FORM",
    "TOKEN_FORM",
    "Hmac",
    "KeyedHasher",
    "PythonHmac",
    "Tokenizer",
    "canonical_bytes",
    "derive_key",
    "email_masker",
    "new_hmac",
    "partial_masker",
    "text_form",
]

# Masked forms, for `audit`: `<key id>:<HMAC-SHA-256 hex>` and `tok:<key id>:<128-bit hex>`.
HASH_FORM = re.compile(r"^([A-Za-z0-9_-]{1,32}):([0-9a-f]{64})$")
TOKEN_FORM = re.compile(r"^tok:([A-Za-z0-9_-]{1,32}):([0-9a-f]{32})$")

# int -> str is refused beyond 4300 digits (CPython's int_max_str_digits); such varints
# (over ~1.8 KB) are written in hex instead, which stays exact and deterministic.
_MAX_DECIMAL_BITS = 14_000


def _int_text(value: object) -> str:
    number = cast(int, value)
    return str(number) if number.bit_length() <= _MAX_DECIMAL_BITS else hex(number)


def _bool_text(value: object) -> str:
    return "true" if value else "false"


def _iso_text(value: object) -> str:
    return cast(datetime.date, value).isoformat()


def _bytes_text(value: object) -> str:
    return "0x" + cast(bytes, value).hex()


# Exact type -> text form; the order matters for the isinstance fallback (bool before
# int, datetime before date), which only subclasses of these types reach.
_TEXT_FORMS: Mapping[type, Callable[[object], str]] = MappingProxyType(
    {
        str: str,
        bool: _bool_text,
        int: _int_text,
        float: repr,
        decimal.Decimal: str,
        uuid.UUID: str,
        datetime.datetime: _iso_text,
        datetime.date: _iso_text,
        ipaddress.IPv4Address: str,
        ipaddress.IPv6Address: str,
        bytes: _bytes_text,
        CqlDate: repr,
        CqlTime: repr,
        CqlTimestamp: repr,
        Duration: repr,
    }
)
_COMPOSITES = (list, tuple, dict, set, frozenset)


def text_form(value: object) -> str:
    """The value's canonical text (see the module docstring).

    Raises:
        MaskingError: a Python type no CQL value decodes to (the type is named, not the
            value).
    """
    form = _TEXT_FORMS.get(type(value))
    if form is not None:
        return form(value)
    if isinstance(value, _COMPOSITES):
        return json.dumps(_json_parts(value), ensure_ascii=False, separators=(",", ":"))
    for kind, fallback in _TEXT_FORMS.items():
        if isinstance(value, kind):
            return fallback(value)
    raise MaskingError(f"cannot mask a value of Python type {type(value).__name__}")


def _json_parts(value: object) -> object:
    if value is None:
        return None
    if isinstance(value, dict):
        return [[_json_parts(k), _json_parts(v)] for k, v in value.items()]
    if isinstance(value, set | frozenset):
        # Decoders never give sets (they keep Cassandra's order); sort to stay deterministic.
        return sorted((_json_parts(v) for v in value), key=json.dumps)
    if isinstance(value, list | tuple):
        return [_json_parts(v) for v in value]
    return text_form(value)


def canonical_bytes(value: object) -> bytes:
    """What is hashed, tokenized and encrypted: blob bytes, else the UTF-8 text form."""
    if type(value) is str:  # the common case first
        return value.encode("utf-8", "surrogatepass")
    if isinstance(value, bytes):
        return value
    # surrogatepass: a str that is not valid Unicode still has one exact encoding.
    return text_form(value).encode("utf-8", "surrogatepass")


def derive_key(material: bytes, purpose: str) -> bytes:
    """A 32-byte key for one purpose, so one secret never keys two different things."""
    return hmac.new(material, f"casscade/{purpose}/v1".encode(), hashlib.sha256).digest()


class KeyedHasher:
    """HMAC-SHA-256 of the canonical form with a key: `<key id>:<64 lowercase hex digits>`.

    The key is the secret itself (not a derived key), so the same hash can be computed
    elsewhere, e.g. in PostgreSQL with pgcrypto: `'<id>:' || encode(hmac(convert_to(value,
    'UTF8'), key, 'sha256'), 'hex')` (docs/masking.md; checked by an integration test).
    The HMAC is `new_hmac`'s: C over OpenSSL's SHA-256 when built, else hashlib's.
    """

    __slots__ = ("_hex_and_head", "_key_id", "_prefix")

    _hex_and_head: Callable[[bytes | str, str, int], tuple[str, bytes]]

    def __init__(self, key_id: str, key: bytes) -> None:
        self._key_id = key_id
        self._prefix = key_id + ":"
        self._hex_and_head = new_hmac(key).hex_and_head  # bound once: no lookup per value

    def __repr__(self) -> str:
        return f"KeyedHasher(key_id={self._key_id})"

    def hash(self, value: object) -> str:
        """The keyed hash of a non-null value."""
        return self.hash_and_head(value, 0)[0]

    def hash_and_head(self, value: object, head: int) -> tuple[str, bytes]:
        """The keyed hash of a non-null value (`hash`) and the first `head` bytes (0 to 32)
        of its HMAC, from one HMAC (a hashed cell's value and tie bytes)."""
        if type(value) is str:  # most values: hashed as their UTF-8, as canonical_bytes does
            return self._hex_and_head(value, self._prefix, head)
        return self._hex_and_head(canonical_bytes(value), self._prefix, head)


class Hmac(Protocol):
    """HMAC-SHA-256 under one key (`new_hmac`)."""

    def hex_and_head(self, data: bytes | str, prefix: str, head: int, /) -> tuple[str, bytes]:
        """`prefix` followed by the 64 lowercase hex digits of the HMAC of `data` (a str as
        its UTF-8 bytes, lone surrogates kept), and the HMAC's first `head` bytes (0 to 32),
        in one call."""
        ...


def new_hmac(key: bytes) -> Hmac:
    """HMAC-SHA-256 under `key`, equal to `hmac.digest(key, data, "sha256")` for every key
    and data: `casscade.masking._hmac.OpenSslHmac` (C over OpenSSL 3's SHA-256, about 0.19 µs
    a value) when it was built, else `PythonHmac` (about 0.6 µs; a CASSCADE_PURE_PYTHON=1
    install)."""
    if _hmac is None:
        return PythonHmac(key)
    return _hmac.OpenSslHmac(key)


class PythonHmac:
    """RFC 2104 over hashlib's SHA-256, the key's inner and outer blocks hashed once, here,
    and the states copied per value (`hmac.digest` keys OpenSSL's HMAC anew per call: 1.3
    µs a value)."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        if len(key) > _SHA256_BLOCK:
            key = hashlib.sha256(key).digest()
        key = key.ljust(_SHA256_BLOCK, b"\0")
        self._inner = hashlib.sha256(key.translate(_IPAD))
        self._outer = hashlib.sha256(key.translate(_OPAD))

    def __repr__(self) -> str:
        return "PythonHmac(sha256)"

    def hex_and_head(self, data: bytes | str, prefix: object, head: object, /) -> tuple[str, bytes]:
        """`prefix` followed by the HMAC's 64 lowercase hex digits, and the HMAC's first
        `head` bytes (0 to 32), as `OpenSslHmac.hex_and_head`, which refuses what this
        refuses with the same reasons (hence `object`: compiled, a typed argument would be
        refused with mypyc's words)."""
        if not isinstance(prefix, str):
            raise TypeError(f"hex_and_head() prefix must be str, not {type(prefix).__name__}")
        length = operator.index(cast("SupportsIndex", head))  # any integer, as slices take
        if not 0 <= length <= _SHA256_DIGEST:
            raise ValueError(f"hex_and_head() head must be 0 to {_SHA256_DIGEST}, not {length}")
        inner = self._inner.copy()
        inner.update(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
        outer = self._outer.copy()
        outer.update(inner.digest())
        digest = outer.digest()
        return prefix + digest.hex(), digest[:length]


_SHA256_BLOCK = 64
_SHA256_DIGEST = 32
_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


class Tokenizer:
    """Deterministic tokens `tok:<key id>:<32 hex digits>` from a key derived for tokens.

    Tokens and hashes of the same value differ (different derived key), and a blob and a
    text with the same bytes get different tokens (their kind is part of the input), so
    detokenize gives each its own kind back.
    """

    __slots__ = ("_key", "_key_id")

    def __init__(self, key_id: str, key: bytes) -> None:
        self._key_id = key_id
        self._key = derive_key(key, "token")

    def __repr__(self) -> str:
        return f"Tokenizer(key_id={self._key_id})"

    def token(self, value: object) -> tuple[str, Literal["text", "bytes"], bytes]:
        """The token of a non-null value, with what the vault stores for it.

        Returns:
            (token, kind, plaintext): kind is `bytes` for blobs (plaintext: the bytes) and
            `text` for everything else (plaintext: the UTF-8 text form).
        """
        kind: Literal["text", "bytes"] = "bytes" if isinstance(value, bytes) else "text"
        plaintext = canonical_bytes(value)
        digest = hmac.digest(self._key, kind.encode() + b"\x00" + plaintext, "sha256")
        return f"tok:{self._key_id}:{digest.hex()[:32]}", kind, plaintext


def partial_masker(keep_last: int, mask_char: str) -> Callable[[object], str]:
    """The `partial` strategy: mask all but the last `keep_last` characters, keeping never
    more than half of them. Takes text, or an integer as its decimal text.

    `4111111111111111` with 4 gives `************1111`; a value of 6 characters keeps 3.
    The length stays visible. One call per value (it runs for every masked cell).

    The function raises MaskingError for other values (naming the type, never the value).
    """

    def partial(value: object) -> str:
        text = value if type(value) is str else _text_or_integer(value)
        kept = len(text) // 2
        if kept > keep_last:  # noqa: PLR1730 - min() costs a call per masked value
            kept = keep_last
        cut = len(text) - kept
        return mask_char * cut + text[cut:]

    return partial


def email_masker(*, keep_domain: bool, mask: str) -> Callable[[object], str]:
    """The `email` strategy: `alice@example.com` -> `***@example.com` (or `***@***` without
    the domain); a text that is not an address -> `***`. Takes text only.

    The function raises MaskingError for other values (naming the type, never the value).
    """

    before_domain = mask + "@"
    masked_both = before_domain + mask

    def email(value: object) -> str:
        if type(value) is not str:
            value = _text(value)
        at = value.rfind("@")  # the domain follows the last @; no split, no tuple
        if at <= 0 or at == len(value) - 1:  # no @, or nothing before or after it
            return mask
        return before_domain + value[at + 1 :] if keep_domain else masked_both

    return email


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    raise MaskingError(f"expected text, got a value of Python type {type(value).__name__}")


def _text_or_integer(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return text_form(value)
    raise MaskingError(f"expected text or an integer, got Python type {type(value).__name__}")
