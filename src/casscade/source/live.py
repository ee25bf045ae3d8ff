"""Connecting to a live Cassandra node for its schema (cassandra-driver)."""

from __future__ import annotations

from casscade.commitlog.schema import SchemaRows
from casscade.errors import ConfigError, SourceUnavailableError
from casscade.source.schema import read_schema_rows


def read_live_schema(address: str) -> SchemaRows:
    """Read `system_schema` from the node at `host:port`.

    Raises:
        ConfigError: the address is not host:port.
        SourceUnavailableError: the node does not answer.
    """
    from cassandra import DriverException  # noqa: PLC0415 - heavy import, only when used
    from cassandra.cluster import Cluster, NoHostAvailable  # noqa: PLC0415

    host, _, port_text = address.rpartition(":")
    if not host or not port_text.isdigit():
        raise ConfigError("--cassandra", f"expected host:port, got {address!r}")
    cluster = Cluster(contact_points=[host], port=int(port_text), protocol_version=5)
    try:
        session = cluster.connect()
        return read_schema_rows(session)
    except (NoHostAvailable, DriverException, OSError) as exc:
        raise SourceUnavailableError(address, str(exc).splitlines()[0][:300]) from exc
    finally:
        cluster.shutdown()
