"""The JSON Schema of `casscade.yaml`, generated from the configuration models.

`AgentConfig.model_json_schema()` describes what the models accept after loading, not what
the file says: a secret is a `password` (or `token`) there, while the file names it with
`password_env` or `password_file` and a literal `password:` is refused (config/load.py).
This module rewrites those properties into the keys a user writes. The result is committed
as docs/casscade.schema.json (`casscade config-schema --output docs/casscade.schema.json`;
a unit test fails when the committed file is out of date) for editors and CI to check files.

Pure: builds values, reads and writes nothing.
"""

from __future__ import annotations

import json
from typing import Any

from casscade.config.load import SECRET_KEYS
from casscade.config.models import AgentConfig

__all__ = ["SCHEMA_PATH", "config_schema", "render_schema"]

# Where the generated schema is committed, relative to the repository root.
SCHEMA_PATH = "docs/casscade.schema.json"
_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def config_schema() -> dict[str, Any]:
    """The JSON Schema of the configuration file, with the keys a file really uses.

    Returns:
        A JSON-ready schema (draft 2020-12) whose secret settings are `<name>_env` and
        `<name>_file`, never the literal `<name>`.
    """
    schema = AgentConfig.model_json_schema()
    for definition in schema.get("$defs", {}).values():
        _secret_sources(definition)
    _scrub_defaults(schema)
    return {
        "$schema": _DIALECT,
        "title": "casscade.yaml",
        "description": "Configuration of the casscade agent (docs/configuration.md). Secrets "
        "are named with <name>_env or <name>_file, never written in the file.",
        **{k: v for k, v in schema.items() if k not in ("title", "description")},
    }


def render_schema() -> str:
    """The schema as committed: two-space indented JSON ending with a newline."""
    return json.dumps(config_schema(), indent=2, ensure_ascii=False) + "\n"


def _secret_sources(definition: dict[str, Any]) -> None:
    """Replace each secret property of an object schema by its `_env` / `_file` keys."""
    properties = definition.get("properties")
    if not isinstance(properties, dict) or not properties.keys() & set(SECRET_KEYS):
        return
    rewritten: dict[str, Any] = {}
    exclusive: list[list[str]] = []
    for name, prop in properties.items():
        if name not in SECRET_KEYS:
            rewritten[name] = prop
            continue
        env, file = f"{name}_env", f"{name}_file"
        rewritten.setdefault(env, properties.get(env, _env_property(name)))
        rewritten.setdefault(file, properties.get(file, _file_property(name)))
        exclusive.append([env, file])
    definition["properties"] = rewritten
    if "required" in definition:
        definition["required"] = [r for r in definition["required"] if r not in SECRET_KEYS]
    # The loader refuses a file that gives both sources of one secret.
    rules = [{"not": {"required": pair}} for pair in exclusive]
    definition["allOf"] = [*definition.get("allOf", []), *rules]


def _env_property(name: str) -> dict[str, Any]:
    return {
        "type": "string",
        "minLength": 1,
        "title": f"{name.capitalize()} Env",
        "description": f"Name of the environment variable that holds the {name}; a literal "
        f"{name} in the file is refused.",
    }


def _file_property(name: str) -> dict[str, Any]:
    return {
        "type": "string",
        "format": "path",
        "title": f"{name.capitalize()} File",
        "description": f"A file whose content (surrounding whitespace trimmed) is the {name}, "
        "such as a mounted Docker or Kubernetes secret.",
    }


def _scrub_defaults(node: object) -> None:
    """Drop the resolved secret keys (null anyway) from every default object in `node`."""
    if isinstance(node, list):
        for item in node:
            _scrub_defaults(item)
    elif isinstance(node, dict):
        default = node.get("default")
        if isinstance(default, dict):
            node["default"] = {k: v for k, v in default.items() if k not in SECRET_KEYS}
        for key, value in node.items():
            if key != "default":
                _scrub_defaults(value)
