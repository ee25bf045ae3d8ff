"""Turning pydantic's validation errors into problems that name a place in the YAML file.

pydantic reports where an error is as a `loc` tuple, which is close to, but not exactly, the
path a user sees in `casscade.yaml`:

- a tagged union (the destinations, the masking rules) adds the tag to the path:
  `destinations.0.postgres.port` for what the file has at `destinations.0.port`;
- a rule that spans several fields (a model validator) is reported at the model, although
  the rule knows which field is at fault: it raises `FieldError` to say so;
- a tuple with `min_length` whose only item is invalid also reports itself "too short"
  after validation, a consequence of the item's own error rather than a second problem.

Pure: no file or environment access, no printing.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError
from pydantic_core import ErrorDetails

__all__ = ["FieldError", "validation_problems"]

Loc = tuple[str | int, ...]


class FieldError(ValueError):
    """A rule spanning several settings failed because of one of them (model validators).

    Attributes:
        field: the path of the setting at fault, relative to the model that raised it.
        problem: what is wrong, without the path.
    """

    def __init__(self, field: Sequence[str | int], problem: str) -> None:
        self.field: Loc = tuple(field)
        self.problem = problem
        super().__init__(self.field, problem)

    def __str__(self) -> str:
        return f"{'.'.join(str(part) for part in self.field)}: {self.problem}"


def validation_problems(exc: ValidationError, data: object) -> list[tuple[str, str]]:
    """Every problem of a failed validation as (path in the file, message).

    Args:
        exc: what `model_validate` raised.
        data: the input that was validated (to tell union tags from keys of the file).

    Returns:
        One (path, message) per problem, in pydantic's order; the path is dotted
        (`destinations.0.port`) or `config` for the whole file.
    """
    errors = exc.errors()
    locs = [tuple(error["loc"]) for error in errors]
    problems = []
    for error, loc in zip(errors, locs, strict=True):
        if error["type"] == "too_short" and any(
            len(other) > len(loc) and other[: len(loc)] == loc for other in locs
        ):
            continue  # an item of this tuple is invalid: that item's error says it all
        where, message = _located(error, data)
        problems.append((".".join(str(part) for part in where) or "config", message))
    return problems


def _located(error: ErrorDetails, data: object) -> tuple[Loc, str]:
    """The path in the file and the message of one error."""
    where, ctx = _file_path(error, data), error.get("ctx", {})
    cause = ctx.get("error")
    if isinstance(cause, FieldError):
        return where + cause.field, cause.problem
    if error["type"] == "value_error" and cause is not None:
        return where, str(cause)  # without pydantic's "Value error, " prefix
    if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        # Reported at the union; the fault is in its discriminator field (`type`).
        field = str(ctx.get("discriminator", "")).strip("'")
        if error["type"] == "union_tag_not_found":
            return (*where, field), "Field required"
        expected, tag = ctx.get("expected_tags"), ctx.get("tag")
        return (*where, field), f"expected one of {expected}, got {tag!r}"
    return where, error["msg"]


def _file_path(error: ErrorDetails, data: object) -> Loc:
    """The error's `loc` without the union tags pydantic inserts.

    Walking the input along `loc`: an item that is not a key of the mapping it indexes is a
    tag (the file has no such key), except the last item of a "missing" error, which names
    the required key that is absent.
    """
    path: list[str | int] = []
    node = data
    last = len(error["loc"]) - 1
    for i, item in enumerate(error["loc"]):
        if isinstance(node, dict) and item not in node:
            if i == last and error["type"] == "missing":
                path.append(item)
            continue  # a tag: pydantic's name of the union member, not a key of the file
        path.append(item)
        node = _child(node, item)
    return tuple(path)


def _child(node: object, item: str | int) -> object:
    """The value at `item` of the input `node`, None when there is none."""
    if isinstance(node, dict):
        return node.get(item)
    if isinstance(node, list) and isinstance(item, int) and 0 <= item < len(node):
        return node[item]
    return None
