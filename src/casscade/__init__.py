"""casscade: change data capture from Apache Cassandra's CDC commit log.

The package replicates Cassandra tables into PostgreSQL, ClickHouse and TimescaleDB. This
module holds only the version; everything else lives in the sub-packages (see
docs/design.md for the layering).
"""

__version__ = "0.1.0"
