"""Tests of the configuration's JSON Schema: up to date, and written in the file's own keys."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from casscade.config.models import AgentConfig
from casscade.config.schema import SCHEMA_PATH, config_schema, render_schema

REPO = Path(__file__).resolve().parents[3]
REGENERATE = f".venv/bin/casscade config-schema --output {SCHEMA_PATH}"


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str):
        resolved: dict[str, Any] = schema["$defs"][ref.removeprefix("#/$defs/")]
        return resolved
    return node


def _unknown_keys(
    schema: dict[str, Any], node: dict[str, Any], value: object, path: str
) -> list[str]:
    """The keys of `value` that the schema `node` does not list (objects and arrays only)."""
    node = _resolve(schema, node)
    if "anyOf" in node:  # `X | None`: the non-null branch
        node = _resolve(schema, next(b for b in node["anyOf"] if b.get("type") != "null"))
    if "oneOf" in node and isinstance(value, dict):  # tagged union: the member of its tag
        node = next(
            member for member in (_resolve(schema, b) for b in node["oneOf"])
            if member["properties"].get("type", {}).get("const") == value.get("type")
        )  # fmt: skip
    unknown = []
    if isinstance(value, dict) and "properties" in node:
        for key, item in value.items():
            if key not in node["properties"]:
                unknown.append(f"{path}{key}")
            else:
                unknown += _unknown_keys(schema, node["properties"][key], item, f"{path}{key}.")
    elif isinstance(value, list) and "items" in node:
        for i, item in enumerate(value):
            unknown += _unknown_keys(schema, node["items"], item, f"{path}{i}.")
    return unknown


def _property_names(node: object) -> set[str]:
    """Every property name anywhere in a schema."""
    if isinstance(node, list):
        return set().union(*(_property_names(item) for item in node))
    if not isinstance(node, dict):
        return set()
    names = set(node["properties"]) if isinstance(node.get("properties"), dict) else set()
    return names.union(*(_property_names(value) for value in node.values()))


def test_config_schema_committed_file_is_up_to_date() -> None:
    """docs/casscade.schema.json is exactly what the models generate now."""
    committed = (REPO / SCHEMA_PATH).read_text(encoding="utf-8")
    assert committed == render_schema(), (
        f"{SCHEMA_PATH} is out of date with the configuration models; regenerate it with "
        f"`{REGENERATE}` and commit it"
    )


def test_config_schema_names_secrets_by_env_and_file_keys() -> None:
    """No literal password or token property remains; each secret has its _env and _file
    keys, described, and the two exclude each other."""
    schema = config_schema()
    names = _property_names(schema)
    assert not {"password", "token"} & names
    definitions = schema["$defs"]
    for model in ("PostgresDestination", "TimescaleDestination", "CassandraSource"):
        properties = definitions[model]["properties"]
        assert "environment variable" in properties["password_env"]["description"]
        assert properties["password_file"]["format"] == "path"
        assert {"not": {"required": ["password_env", "password_file"]}} in definitions[model][
            "allOf"
        ]
    assert {"token_env", "token_file"} <= definitions["HttpConfig"]["properties"].keys()
    assert "token" not in schema["properties"]["http"]["default"]


def test_config_schema_top_level_is_the_agent_config() -> None:
    """The schema declares its dialect and lists every top-level section of the file."""
    schema = config_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert list(schema["properties"]) == list(AgentConfig.model_fields)
    assert schema["required"] == ["source", "tables", "destinations"]
    assert schema["additionalProperties"] is False


def test_config_schema_knows_every_key_of_the_example_file() -> None:
    """Every key of examples/casscade-local.yaml (password_env included) is in the schema."""
    example = yaml.safe_load((REPO / "examples" / "casscade-local.yaml").read_text("utf-8"))
    schema = config_schema()
    assert _unknown_keys(schema, schema, example, "") == []
    literal = {"source": {"cassandra": {"password": "x"}}}
    assert _unknown_keys(schema, schema, literal, "") == ["source.cassandra.password"]


def test_cli_config_schema_output_writes_the_schema(tmp_path: Path) -> None:
    """`casscade config-schema --output FILE` writes the schema and says so; without
    --output the same JSON goes to stdout."""
    target = tmp_path / "schema.json"
    run = [sys.executable, "-c", "from casscade.cli.main import main; main()", "config-schema"]
    written = subprocess.run([*run, "--output", str(target)], capture_output=True, text=True,
                             check=False, timeout=60)  # fmt: skip
    assert written.returncode == 0, written.stderr
    assert written.stdout.strip() == f"wrote {target}"
    assert target.read_text(encoding="utf-8") == render_schema()
    printed = subprocess.run(run, capture_output=True, text=True, check=False, timeout=60)
    assert printed.returncode == 0, printed.stderr
    assert json.loads(printed.stdout) == config_schema()
