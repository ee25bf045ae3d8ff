"""Types of the C extension `_hmac.c` (HMAC-SHA-256 under one key over OpenSSL 3's SHA-256)."""

class OpenSslHmac:
    """HMAC-SHA-256 under one key, for many short values."""

    def __init__(self, key: bytes) -> None: ...
    def hex_and_head(self, data: bytes | str, prefix: str, head: int, /) -> tuple[str, bytes]:
        """`prefix` and the HMAC's 64 lowercase hex digits, and its first `head` bytes (0-32)."""
