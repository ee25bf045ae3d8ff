"""The ClickHouse destination (clickhouse-connect: chDB by default, a server URL the same)."""
