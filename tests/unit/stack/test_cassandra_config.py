"""Tests of the generated cassandra.yaml and JVM command line (no Cassandra needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from casscade.stack.cassandra import MAIN_CLASS, CassandraLayout, jvm_command, render_yaml
from casscade.stack.config import CassandraSettings, StackSettings

LAYOUT = CassandraLayout(home=Path("/srv/c"), lib_dir=Path("/cache/lib"))


def _yaml(**changes: object) -> dict[str, object]:
    settings = CassandraSettings.model_validate(changes)
    loaded = yaml.safe_load(render_yaml(settings, LAYOUT))
    assert isinstance(loaded, dict)
    return loaded


def test_render_yaml_batch_mode_has_no_sync_period() -> None:
    """Batch sync must not carry a period (Cassandra 5.0 refuses to start with one)."""
    doc = _yaml(commitlog_sync="batch")
    assert doc["commitlog_sync"] == "batch"
    assert "commitlog_sync_period" not in doc
    assert "commitlog_sync_group_window" not in doc


def test_render_yaml_periodic_mode_sets_period_in_ms() -> None:
    """Periodic sync writes the 5.0-style duration key."""
    doc = _yaml(commitlog_sync="periodic", commitlog_sync_period_ms=200)
    assert doc["commitlog_sync_period"] == "200ms"


def test_render_yaml_group_mode_sets_window() -> None:
    """Group sync writes its window and no period."""
    doc = _yaml(commitlog_sync="group", commitlog_sync_group_window_ms=15)
    assert doc["commitlog_sync_group_window"] == "15ms"
    assert "commitlog_sync_period" not in doc


def test_render_yaml_cdc_settings_and_paths() -> None:
    """CDC is on, cdc_raw sits beside the commit log, and sizes carry units."""
    doc = _yaml(commitlog_segment_size_mib=2, cdc_total_space_mib=64)
    assert doc["cdc_enabled"] is True
    assert doc["cdc_block_writes"] is True
    assert doc["cdc_raw_directory"] == "/srv/c/data/cdc_raw"
    assert doc["commitlog_directory"] == "/srv/c/data/commitlog"
    assert doc["commitlog_segment_size"] == "2MiB"
    assert doc["cdc_total_space"] == "64MiB"


@pytest.mark.parametrize(("mode", "version"), [("CASSANDRA_4", 7), ("NONE", 8)])
def test_render_yaml_compatibility_mode_selects_commitlog_version(mode: str, version: int) -> None:
    """The compatibility mode is written through and decides the commit-log version."""
    settings = CassandraSettings.model_validate({"storage_compatibility_mode": mode})
    assert yaml.safe_load(render_yaml(settings, LAYOUT))["storage_compatibility_mode"] == mode
    assert settings.commitlog_version == version


def test_render_yaml_password_auth_sets_authenticator() -> None:
    """auth=password turns on PasswordAuthenticator and CassandraAuthorizer."""
    doc = _yaml(auth="password")
    assert doc["authenticator"] == "PasswordAuthenticator"
    assert doc["authorizer"] == "CassandraAuthorizer"
    assert _yaml()["authenticator"] == "AllowAllAuthenticator"


def test_render_yaml_compression_only_when_asked() -> None:
    """commitlog_compression is absent by default and names the compressor class when set."""
    assert "commitlog_compression" not in _yaml()
    doc = _yaml(commitlog_compression="ZstdCompressor")
    assert doc["commitlog_compression"] == [{"class_name": "ZstdCompressor"}]


def test_render_yaml_ports_follow_settings() -> None:
    """Native and storage ports, and the seed, follow the settings."""
    doc = _yaml(native_port=9142, storage_port=7100)
    assert doc["native_transport_port"] == 9142
    assert doc["storage_port"] == 7100
    assert "127.0.0.1:7100" in str(doc["seed_provider"])


def test_jvm_command_has_heap_config_url_and_main_class() -> None:
    """The JVM gets the heap, the yaml as a file URL, the JDK 17 opens, and the daemon class."""
    argv = jvm_command(CassandraSettings(heap_mib=768), LAYOUT, Path("/jdk/bin/java"))
    assert argv[0] == "/jdk/bin/java"
    assert "-Xmx768m" in argv
    assert "-Dcassandra.config=file:///srv/c/conf/cassandra.yaml" in argv
    assert "--add-opens=java.base/java.io=ALL-UNNAMED" in argv
    assert argv[-1] == MAIN_CLASS


def test_settings_unknown_sync_mode_rejected() -> None:
    """A sync mode Cassandra does not know is a validation error."""
    with pytest.raises(ValidationError):
        CassandraSettings.model_validate({"commitlog_sync": "sometimes"})


def test_stack_settings_duplicate_ports_rejected(tmp_path: Path) -> None:
    """Two services on one port is refused before anything starts."""
    with pytest.raises(ValidationError, match="ports must all differ"):
        StackSettings.model_validate(
            {
                "root": tmp_path / "stack",
                "cache_dir": tmp_path / "cache",
                "postgres": {"port": 9042},
            }
        )
