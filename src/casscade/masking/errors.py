"""Errors of the masking package: masking at run time, and the token vault.

Rule problems found when rules are checked or bound to a table are `ConfigError`s (they
name the place in `masking:`). Nothing here ever holds a value that was (or was to be)
masked, nor key material: messages name tables, columns, key ids, tokens and Python type
names only, so they are safe to log, print and dead-letter.
"""

from __future__ import annotations

from casscade.errors import CasscadeError


class MaskingError(CasscadeError):
    """A value or an event could not be masked; the event must not leave unmasked.

    Attributes:
        problem: what is wrong, without the value.
        where: `keyspace.table.column` (and a path inside it), or "" when not yet known.
    """

    def __init__(self, problem: str, where: str = "") -> None:
        self.problem = problem
        self.where = where
        super().__init__(problem, where)

    def __str__(self) -> str:
        return f"{self.where}: {self.problem}" if self.where else self.problem

    def located(self, where: str) -> MaskingError:
        """This error with its place filled in (kept if it already has one)."""
        return self if self.where else type(self)(self.problem, where)


class VaultError(CasscadeError):
    """The token vault failed; nothing is known about the stored values.

    Attributes:
        problem: what went wrong, in one line (never a value, a key or a driver message,
            which can quote data).
    """

    def __init__(self, problem: str) -> None:
        self.problem = problem
        super().__init__(problem)

    def __str__(self) -> str:
        return f"token vault: {self.problem}"


class VaultUnavailableError(VaultError):
    """The vault's database could not be reached or the transaction conflicted: retry."""


class TokenNotFoundError(VaultError):
    """No vault row holds this token (a token is not secret, so it is named).

    Attributes:
        token: the token that was looked up.
    """

    def __init__(self, token: str) -> None:
        self.token = token
        super().__init__(f"no value is stored for token {token}")

    def __reduce__(self) -> tuple[type[TokenNotFoundError], tuple[str]]:
        return (type(self), (self.token,))
