"""The local development stack: Cassandra 5.0 with CDC, PostgreSQL, TimescaleDB, ClickHouse.

No Docker: Cassandra runs from Maven Central's jars on OpenJDK 17, PostgreSQL from Debian's
server binaries as the project's own cluster, TimescaleDB as PGlite behind a wire-protocol
front end, ClickHouse as chDB. One module per service; manager.py ties them together.
"""
