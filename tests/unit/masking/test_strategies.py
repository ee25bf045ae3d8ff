"""Tests of the single-value strategies and the canonical form they read."""

from __future__ import annotations

import datetime
import decimal
import hashlib
import hmac
import ipaddress
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from casscade.commitlog.codecs import CqlDate, CqlTime, Duration
from casscade.masking.errors import MaskingError
from casscade.masking.strategies import (
    HASH_FORM,
    TOKEN_FORM,
    KeyedHasher,
    PythonHmac,
    Tokenizer,
    canonical_bytes,
    derive_key,
    email_masker,
    new_hmac,
    partial_masker,
    text_form,
)
from tests.unit.masking.tables import HASH_KEY, OLD_KEY


def test_keyed_hasher_is_hmac_sha256_of_the_utf8_text_with_key_id_prefix() -> None:
    """A text hashes to `<key id>:` and the HMAC-SHA-256 hex of its UTF-8 bytes."""
    expected = hmac.new(HASH_KEY, b"alice@example.com", hashlib.sha256).hexdigest()
    assert KeyedHasher("k2", HASH_KEY).hash("alice@example.com") == f"k2:{expected}"


def test_keyed_hasher_is_deterministic_and_depends_on_the_key() -> None:
    """The same value and key hash alike; another key (rotation) hashes differently."""
    new, old = KeyedHasher("k2", HASH_KEY), KeyedHasher("k1", OLD_KEY)
    assert new.hash("123-45-6789") == new.hash("123-45-6789")
    assert new.hash("123-45-6789").split(":")[1] != old.hash("123-45-6789").split(":")[1]
    assert HASH_FORM.match(new.hash("x"))


def test_keyed_hasher_integers_and_their_text_hash_alike_for_joins() -> None:
    """int 42, bigint 42 and text '42' share a canonical form, so joins across them work."""
    hasher = KeyedHasher("k2", HASH_KEY)
    assert hasher.hash(42) == hasher.hash("42")
    assert hasher.hash(True) != hasher.hash(1)


def test_keyed_hasher_repr_shows_only_the_key_id() -> None:
    """Neither the hasher's nor the tokenizer's repr shows key material."""
    for thing in (KeyedHasher("k2", HASH_KEY), Tokenizer("k2", HASH_KEY)):
        assert "k2" in repr(thing)
        assert HASH_KEY.hex() not in repr(thing)
        assert str(HASH_KEY) not in repr(thing)


def test_tokenizer_tokens_are_deterministic_and_not_the_hash() -> None:
    """A value's token repeats, matches the token form, and differs from its hash."""
    tokenizer = Tokenizer("k2", HASH_KEY)
    token, kind, plaintext = tokenizer.token("078-05-1120")
    assert tokenizer.token("078-05-1120") == (token, kind, plaintext)
    assert TOKEN_FORM.match(token)
    assert token.startswith("tok:k2:")
    assert (kind, plaintext) == ("text", b"078-05-1120")
    assert token[len("tok:k2:") :] not in KeyedHasher("k2", HASH_KEY).hash("078-05-1120")


def test_tokenizer_blob_and_text_with_equal_bytes_get_different_tokens() -> None:
    """A blob and a text of the same bytes differ in kind, so their tokens differ."""
    tokenizer = Tokenizer("k2", HASH_KEY)
    text_token, text_kind, _ = tokenizer.token("abc")
    blob_token, blob_kind, blob_plain = tokenizer.token(b"abc")
    assert (text_kind, blob_kind, blob_plain) == ("text", "bytes", b"abc")
    assert text_token != blob_token


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("é", "é"),
        (True, "true"),
        (-17, "-17"),
        (1.5, "1.5"),
        (float("nan"), "nan"),
        (decimal.Decimal("1.50"), "1.50"),
        (uuid.UUID(int=255), "00000000-0000-0000-0000-0000000000ff"),
        (datetime.date(2024, 2, 29), "2024-02-29"),
        (datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC), "2024-01-02T03:04:05+00:00"),
        (ipaddress.ip_address("2001:db8::1"), "2001:db8::1"),
        (b"\x01\xff", "0x01ff"),
        (CqlDate(-(10**9)), "CqlDate(days=-1000000000)"),
        (CqlTime(5), "CqlTime(nanoseconds=5)"),
        (Duration(1, 2, 3), "Duration(months=1, days=2, nanoseconds=3)"),
        (["a", None, 1], '["a",null,"1"]'),
        ({"k": [1, 2]}, '[["k",["1","2"]]]'),
        ((("k", (1, 2)),), '[["k",["1","2"]]]'),
    ],
)
def test_text_form_of_each_decoded_type(value: object, text: str) -> None:
    """Each Python type a CQL value decodes to has one documented text form."""
    assert text_form(value) == text


def test_text_form_of_a_map_and_its_hashable_pairs_agree() -> None:
    """A frozen map as a dict and as (key, value) pairs (inside a set) canonicalize alike."""
    assert canonical_bytes({"a": 1, "b": 2}) == canonical_bytes((("a", 1), ("b", 2)))


def test_text_form_huge_varint_is_hex_not_an_error() -> None:
    """An integer beyond CPython's decimal conversion limit still has an exact text form."""
    assert text_form(10**5000).startswith("0x")


def test_text_form_unknown_type_names_the_type_not_the_value() -> None:
    """A value of a type no codec produces is refused by type name only."""

    class Secretive:
        def __repr__(self) -> str:
            return "raw-ssn-078-05-1120"

    with pytest.raises(MaskingError) as caught:
        text_form(Secretive())
    assert "Secretive" in str(caught.value)
    assert "078-05-1120" not in str(caught.value)


def test_canonical_bytes_blob_is_its_own_bytes() -> None:
    """A blob is hashed as its bytes, text as UTF-8, even text that is not valid Unicode."""
    assert canonical_bytes(b"\x00\x01") == b"\x00\x01"
    assert canonical_bytes("\ud800") == b"\xed\xa0\x80"


def test_derive_key_differs_per_purpose() -> None:
    """One secret yields unrelated keys for tokens and for the vault."""
    token_key, vault_key = derive_key(HASH_KEY, "token"), derive_key(HASH_KEY, "vault-aes-256-gcm")
    assert len(token_key) == len(vault_key) == 32
    assert len({token_key, vault_key, HASH_KEY}) == 3


@pytest.mark.parametrize(
    ("text", "keep", "masked"),
    [
        ("4111111111111111", 4, "************1111"),
        ("4111-1111-1111-1111", 4, "***************1111"),
        ("123456", 4, "***456"),  # never more than half
        ("1234", 4, "**34"),
        ("7", 4, "*"),
        ("", 4, ""),
        ("secret", 0, "******"),
    ],
)
def test_mask_partial_keeps_at_most_the_last_n_and_half(text: str, keep: int, masked: str) -> None:
    """partial keeps the last N characters, but never more than half of the value."""
    assert partial_masker(keep, "*")(text) == masked


@pytest.mark.parametrize(
    ("text", "keep_domain", "masked"),
    [
        ("alice@example.com", True, "***@example.com"),
        ("alice@example.com", False, "***@***"),
        ('"odd@local"@example.org', True, "***@example.org"),
        ("not an address", True, "***"),
        ("@example.com", True, "***"),
        ("alice@", True, "***"),
    ],
)
def test_mask_email_masks_the_local_part(text: str, keep_domain: bool, masked: str) -> None:
    """email replaces the local part; without an address the whole value is masked."""
    assert email_masker(keep_domain=keep_domain, mask="***")(text) == masked


@pytest.mark.parametrize("text", ["ascii", "naïve ☃ 𝄞", "lone \ud800 surrogate", ""])
def test_hmac_hashes_text_as_its_utf8_with_lone_surrogates_kept(text: str) -> None:
    """Both HMACs take a str as its UTF-8 bytes, also a str no codec but surrogatepass
    encodes (the C one reads an ASCII str's characters in place)."""
    expected = hmac.digest(HASH_KEY, text.encode("utf-8", "surrogatepass"), "sha256")
    assert new_hmac(HASH_KEY).hex_and_head(text, "", 32)[1] == expected
    assert PythonHmac(HASH_KEY).hex_and_head(text, "", 32)[1] == expected


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (("v", "k:", -1), ValueError, "head must be 0 to 32, not -1"),
        (("v", "k:", 33), ValueError, "head must be 0 to 32, not 33"),
        (("v", "k:", 2**70), ValueError, f"head must be 0 to 32, not {2**70}"),
        (("v", "k:", 8.0), TypeError, "integer"),
        (("v", b"k:", 8), TypeError, "prefix must be str, not bytes"),
        (("v", 7, 8), TypeError, "prefix must be str, not int"),
        (("v", "k:"), TypeError, "argument"),
        ((5, "k:", 8), TypeError, "bytes|buffer"),
    ],
)
def test_hex_and_head_refuses_a_head_out_of_range_or_arguments_of_the_wrong_type(
    args: tuple[object, ...], error: type[Exception], message: str
) -> None:
    """Both HMACs' `hex_and_head` refuse a head outside 0-32 (however large), a head or a
    prefix of the wrong type, a wrong number of arguments and data neither text nor bytes,
    with the same reason."""
    for implementation in (new_hmac(HASH_KEY), PythonHmac(HASH_KEY)):
        with pytest.raises(error, match=message):
            implementation.hex_and_head(*args)  # type: ignore[arg-type]


def test_hex_and_head_takes_any_integer_as_head() -> None:
    """A head may be any integer, an object with `__index__` included, as slices take."""

    class Eight:
        def __index__(self) -> int:
            return 8

    for implementation in (new_hmac(HASH_KEY), PythonHmac(HASH_KEY)):
        text, head = implementation.hex_and_head("v", "k:", Eight())  # type: ignore[arg-type]
        assert (text, head) == ("k:" + hmac.digest(HASH_KEY, b"v", "sha256").hex(),
                                hmac.digest(HASH_KEY, b"v", "sha256")[:8])  # fmt: skip


def test_hmac_repr_names_the_hash_and_never_the_key() -> None:
    """Neither HMAC's repr shows key material."""
    for implementation in (new_hmac(HASH_KEY), PythonHmac(HASH_KEY)):
        assert HASH_KEY.hex() not in repr(implementation)
        assert str(HASH_KEY) not in repr(implementation)
        assert "sha256" in repr(implementation)


def test_hmac_without_openssls_sha256_fails_with_one_line(tmp_path: Path) -> None:
    """An OpenSSL that offers no SHA-256 (only its null provider loaded) makes the C HMAC
    fail when keyed, naming what failed and OpenSSL's reason, not crash."""
    config = tmp_path / "openssl.cnf"
    config.write_text(
        "openssl_conf = init\n[init]\nproviders = providers\n"
        "[providers]\nnull = null\n[null]\nactivate = 1\n"
    )
    probe = (
        "from casscade.masking._hmac import OpenSslHmac\n"
        "try:\n    OpenSslHmac(b'k')\nexcept RuntimeError as exc:\n    print(exc)\n"
    )
    if os.environ.get("CASSCADE_PURE_PYTHON") == "1":  # no C HMAC to fail (test_native)
        assert type(new_hmac(b"k")) is PythonHmac
        return
    run = subprocess.run(
        [sys.executable, "-c", probe],
        env={**os.environ, "OPENSSL_CONF": str(config)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().startswith("OpenSSL's SHA-256 failed while preparing the key: ")


_WITHOUT_C_HMAC = """
import importlib.abc, sys

class NoCHmac(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "casscade.masking._hmac":
            raise {error}("the C HMAC is {how}", name=name)
        return None

sys.meta_path.insert(0, NoCHmac())
try:
    from casscade.masking.strategies import PythonHmac, new_hmac
except ImportError as exc:
    print("refused:", exc)
else:
    print(type(new_hmac(b"k")).__name__)
"""


@pytest.mark.parametrize(
    ("error", "how", "expected"),
    [
        ("ModuleNotFoundError", "not built", "PythonHmac"),
        ("ImportError", "built but not loadable", "refused: the C HMAC is built but not loadable"),
    ],
)
def test_the_python_hmac_stands_in_only_where_no_c_hmac_was_built(
    error: str, how: str, expected: str
) -> None:
    """An install without C builds hashes with PythonHmac; a C build that is there but does
    not load (libcrypto missing) fails the import rather than quietly run 3 times slower."""
    run = subprocess.run(
        [sys.executable, "-c", _WITHOUT_C_HMAC.format(error=error, how=how)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == expected
