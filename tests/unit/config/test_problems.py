"""Tests of turning validation errors into paths of the YAML file (casscade.config.problems)."""

from __future__ import annotations

import pickle

import pytest
from pydantic import ValidationError

from casscade.config.models import AgentConfig
from casscade.config.problems import FieldError, validation_problems

SOURCE = {"node_id": "n1", "cdc_raw_dir": "/var/lib/cassandra/cdc_raw"}


def _problems(data: object) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        AgentConfig.model_validate(data)
    return validation_problems(caught.value, data)


def test_validation_problems_drop_union_tag_and_consequent_too_short() -> None:
    """A bad field of a destination is at destinations.N.field (no `postgres` tag), and the
    tuple's "too short" that follows from it is not reported."""
    data = {"source": SOURCE, "tables": ["ks.t"],
            "destinations": [{"type": "postgres", "name": "pg", "database": "d", "user": "u",
                              "port": "five"}]}  # fmt: skip
    (problem,) = _problems(data)
    assert problem[0] == "destinations.0.port"
    assert problem[1].startswith("Input should be a valid integer")


def test_validation_problems_missing_field_of_tagged_member_keeps_its_name() -> None:
    """A required key absent from a destination is named, the tag still dropped."""
    data = {"source": SOURCE, "tables": ["ks.t"],
            "destinations": [{"type": "postgres", "name": "pg", "user": "u"}]}  # fmt: skip
    assert _problems(data) == [("destinations.0.database", "Field required")]


def test_validation_problems_field_error_extends_the_path() -> None:
    """A model rule raising FieldError is reported at the field it names, without pydantic's
    "Value error, " prefix."""
    data = {"source": {**SOURCE, "cleanup": "archive"}, "tables": ["ks.t"],
            "destinations": [{"type": "clickhouse", "name": "ch", "dsn": "chdb:///x"}]}  # fmt: skip
    assert _problems(data) == [("source.archive_dir", "required with cleanup: archive")]


def test_field_error_pickles_with_its_attributes() -> None:
    """FieldError keeps its context in attributes and survives pickling (STYLE.md 5)."""
    error = pickle.loads(pickle.dumps(FieldError(("destinations", 1, "name"), "taken")))  # noqa: S301
    assert error.field == ("destinations", 1, "name")
    assert error.problem == "taken"
    assert str(error) == "destinations.1.name: taken"
