"""Which modules are compiled to C with mypyc, which C extensions are built, and whether a
checkout's builds are current.

The agent's hot path (decoding segments, building and masking change events, staging a batch)
is compiled: it decodes about 1.5 times as fast, and replicates 8-19% more changes per second
into one destination and about 40% more into PostgreSQL and ClickHouse at once
(docs/benchmarks.md, "Compiled hot path"). `setup.py`
compiles the modules named here when casscade is installed, and builds the C extensions,
unless CASSCADE_PURE_PYTHON=1; the same sources run unchanged as plain Python, and each C
extension has a Python fallback.

In a source checkout (`pip install -e .`) each compiled module's `.so` sits beside its `.py`
and Python imports the `.so`. An edit to the `.py` then does nothing until the module is
built again, so `casscade/__init__.py` refuses to import when a build is stale
(`stale_builds`), and `scripts/bootstrap` rebuilds. This module must stay plain Python
and import nothing of casscade: `setup.py` runs it before the package exists.
"""

from __future__ import annotations

import importlib.machinery
import os
from pathlib import Path

# Paths under src/casscade: computation on the hot path (a lock or a thread-local is fine).
# Modules that drive threads, signals, subprocesses or database clients, that tests
# monkeypatch, or whose classes interpreted code subclasses (sinks/layout.py) stay
# interpreted.
COMPILED: tuple[str, ...] = (
    "commitlog/_fastpath.py",
    "commitlog/cdc_index.py",
    "commitlog/descriptor.py",
    "commitlog/errors.py",
    "commitlog/facts.py",
    "commitlog/mutation.py",
    "commitlog/position.py",
    "commitlog/reader.py",
    "commitlog/records.py",
    "commitlog/render.py",
    "commitlog/schema.py",
    "commitlog/sections.py",
    "commitlog/types.py",
    "commitlog/codecs/__init__.py",
    "commitlog/codecs/_wire.py",
    "commitlog/codecs/cells.py",
    "commitlog/codecs/counter.py",
    "commitlog/codecs/frozen.py",
    "commitlog/codecs/identifiers.py",
    "commitlog/codecs/keys.py",
    "commitlog/codecs/numeric.py",
    "commitlog/codecs/registry.py",
    "commitlog/codecs/temporal.py",
    "commitlog/codecs/text.py",
    "commitlog/codecs/vector.py",
    "events/mapping.py",
    "events/model.py",
    "masking/_cells.py",
    "masking/_compile.py",
    "masking/keys.py",
    "masking/masker.py",
    "masking/strategies.py",
    "sinks/ranges.py",
    "sinks/staging.py",
    "sinks/values.py",
    "source/shared.py",
)

# C extensions (paths under src/casscade) and the libraries they link, built beside their
# source like the modules above: masking/_hmac.c hashes masked values (its header says why).
C_EXTENSIONS: dict[str, tuple[str, ...]] = {"masking/_hmac.c": ("crypto",)}

PACKAGE = Path(__file__).resolve().parent


def extension_module(relative: str) -> str:
    """The import name of a C extension's source path: `casscade.masking._hmac`."""
    return "casscade." + relative.removesuffix(".c").replace("/", ".")


def stale_builds(package: Path = PACKAGE) -> list[Path]:
    """Builds in a checkout that would run other code than its sources.

    A build is stale when its source (`.py` of COMPILED, `.c` of C_EXTENSIONS) changed after
    it (Python would import the old code) or when it is in neither list any more (same).
    Empty for a pure install and for a current build.
    """
    sources = _sources(package)
    stale: list[Path] = []
    for folder, _, names in os.walk(package):
        for name in names:
            if not name.endswith(".so"):
                continue
            build = Path(folder) / name
            stem = name.split(".", 1)[0]
            source = next(
                (s for s in (build.with_name(stem + ".py"), build.with_name(stem + ".c"))
                 if s in sources),
                None,
            )  # fmt: skip
            if source is None or (
                source.is_file() and source.stat().st_mtime > build.stat().st_mtime
            ):
                stale.append(build)
    return stale


def _sources(package: Path) -> list[Path]:
    """What is built: the compiled modules' sources, then the C extensions'."""
    return [package / relative for relative in (*COMPILED, *C_EXTENSIONS)]


def missing_builds(package: Path = PACKAGE) -> list[Path]:
    """Modules of COMPILED and C_EXTENSIONS with no build this Python would import beside
    them: they run as Python (correct, slower)."""
    return [
        source
        for source in _sources(package)
        if not any(
            source.with_name(source.stem + suffix).is_file()
            for suffix in importlib.machinery.EXTENSION_SUFFIXES
        )
    ]


def is_compiled(package: Path = PACKAGE) -> bool:
    """Whether every module of COMPILED and C_EXTENSIONS has its build (False for a pure
    install): benchmarks record it beside their figures."""
    return not missing_builds(package)
