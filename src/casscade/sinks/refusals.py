"""Connection refusals: the destination answered but will not let us in (TLS, credentials).

Retrying cannot fix these until the configuration changes (a CA file, a password), so the
sinks raise them as PermanentSinkError, in one line that says what to fix: a driver's own
message is accurate but rarely says which setting is at fault. Pure: text in, text out.
"""

from __future__ import annotations

from collections.abc import Sequence

# What the problem line of each refusal starts with (the driver's words follow).
CERTIFICATE_UNVERIFIED = "the server's TLS certificate could not be verified"
CERTIFICATE_WRONG_HOST = "the server's TLS certificate does not name the configured host"
AUTHENTICATION_FAILED = "authentication failed: wrong user or password"

Refusal = tuple[str, str]  # (text the driver's message contains, our sentence)


def refusal(message: str, table: Sequence[Refusal]) -> str | None:
    """Our sentence for the first entry of `table` whose text `message` contains (case
    ignored), or None when the message is no refusal."""
    lowered = message.lower()
    for needle, sentence in table:
        if needle.lower() in lowered:
            return sentence
    return None
