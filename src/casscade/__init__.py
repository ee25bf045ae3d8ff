"""casscade: change data capture from Apache Cassandra's CDC commit log.

The package replicates Cassandra tables into PostgreSQL, ClickHouse and TimescaleDB. This
module holds only the version and the check that a source checkout's compiled modules are
current (`casscade._native`); everything else lives in the sub-packages (see docs/design.md
for the layering).
"""

from casscade._native import PACKAGE, stale_builds

__version__ = "0.1.0"

_CHECKOUT = PACKAGE.parent.name == "src" and (PACKAGE.parent.parent / "pyproject.toml").is_file()
if _CHECKOUT and (_stale := stale_builds()):
    # In a checkout, a build older than an edited source would run the old code.
    raise ImportError(
        f"casscade: {_stale[0].relative_to(PACKAGE.parent.parent)} is older than its source "
        "or no longer compiled; rebuild with `bash scripts/bootstrap`"
    )
