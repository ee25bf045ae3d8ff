"""The compiled hot path: what runs is compiled, and a stale build is refused, not run.

`casscade._native` lists the modules mypyc compiles (setup.py). In a checkout their builds
sit beside the sources; one older than its source would silently run old code.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

from casscade._native import (
    C_EXTENSIONS,
    COMPILED,
    PACKAGE,
    extension_module,
    missing_builds,
    stale_builds,
)
from casscade.masking.strategies import new_hmac

BUILD_SUFFIX = importlib.machinery.EXTENSION_SUFFIXES[0]  # .cpython-311-x86_64-linux-gnu.so


def _module(relative: str) -> str:
    return "casscade." + relative.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def test_the_listed_modules_run_compiled_unless_installed_pure() -> None:
    """The suite exercises what ships: every listed module is imported from its build, and
    every C extension is built (a pure install has none, and uses their fallbacks)."""
    compiled = os.environ.get("CASSCADE_PURE_PYTHON") != "1"
    files = {
        relative: importlib.import_module(_module(relative)).__file__ or "" for relative in COMPILED
    }
    assert {relative: path.endswith(".so") for relative, path in files.items()} == dict.fromkeys(
        COMPILED, compiled
    )
    built = {relative: importlib.util.find_spec(extension_module(relative)) is not None
             for relative in C_EXTENSIONS}  # fmt: skip
    assert built == dict.fromkeys(C_EXTENSIONS, compiled)
    hasher = type(new_hmac(b"key")).__module__  # the extension loads and is used
    assert hasher == ("casscade.masking._hmac" if compiled else "casscade.masking.strategies")
    every = [PACKAGE / relative for relative in (*COMPILED, *C_EXTENSIONS)]
    assert missing_builds() == ([] if compiled else every)


def _package(root: Path, relative: str = COMPILED[0]) -> tuple[Path, Path]:
    """A package folder holding one listed module (the first compiled one unless said), its
    source older than its build."""
    source = root / relative
    source.parent.mkdir(parents=True)
    source.write_text("x = 1\n")
    build = source.with_name(source.stem + BUILD_SUFFIX)
    build.write_bytes(b"")
    os.utime(source, (1_000, 1_000))
    os.utime(build, (2_000, 2_000))
    return source, build


def test_a_build_newer_than_its_source_is_current(tmp_path: Path) -> None:
    _package(tmp_path)
    assert stale_builds(tmp_path) == []
    assert missing_builds(tmp_path) == [
        tmp_path / relative for relative in (*COMPILED[1:], *C_EXTENSIONS)
    ]


def test_a_source_edited_after_its_build_makes_the_build_stale(tmp_path: Path) -> None:
    source, build = _package(tmp_path)
    os.utime(source, (3_000, 3_000))
    assert stale_builds(tmp_path) == [build]


def test_a_c_extension_build_is_stale_when_its_c_source_is_newer(tmp_path: Path) -> None:
    """A C extension's build is judged by its `.c` as a compiled module's by its `.py`."""
    source, build = _package(tmp_path, next(iter(C_EXTENSIONS)))
    assert stale_builds(tmp_path) == []
    assert source not in missing_builds(tmp_path)
    os.utime(source, (3_000, 3_000))
    assert stale_builds(tmp_path) == [build]


def test_a_build_of_a_module_no_longer_compiled_is_stale(tmp_path: Path) -> None:
    """It would still shadow the source, so it must go."""
    _package(tmp_path)
    leftover = tmp_path / "sinks" / ("layout" + BUILD_SUFFIX)
    leftover.parent.mkdir()
    (tmp_path / "sinks" / "layout.py").write_text("x = 1\n")
    leftover.write_bytes(b"")
    assert stale_builds(tmp_path) == [leftover]


def test_importing_a_checkout_with_a_stale_build_fails_with_one_line(tmp_path: Path) -> None:
    """A copy of this checkout's package (sources and builds) with one source edited."""
    src = tmp_path / "src"
    shutil.copytree(PACKAGE, src / "casscade", ignore=shutil.ignore_patterns("__pycache__"))
    for group in PACKAGE.parent.glob("*__mypyc*.so"):  # the compiled modules' shared library
        shutil.copy2(group, src)
    (tmp_path / "pyproject.toml").write_text("")
    edited = src / "casscade" / "events" / "mapping.py"
    edited.write_text(edited.read_text() + "\n")
    run = subprocess.run(
        [sys.executable, "-c", "import casscade"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(src)},
        check=False,
    )
    stale = bool(list((src / "casscade" / "events").glob("mapping.*.so")))
    assert run.returncode == (1 if stale else 0)
    if stale:
        assert run.stderr.strip().splitlines()[-1] == (
            "ImportError: casscade: src/casscade/events/mapping"
            f"{BUILD_SUFFIX} is older than its source or no longer compiled; "
            "rebuild with `bash scripts/bootstrap`"
        )


def test_compiled_classes_are_at_least_as_large_as_their_bases() -> None:
    """mypyc lays a native class's attributes out after the base it knows of; a C base it
    does not (threading.local was one) ends up overlapped by them, and its instances are
    smaller than the base writes to."""
    small = [
        f"{cls.__module__}.{cls.__qualname__} < {base.__qualname__}"
        for relative in COMPILED
        for cls in vars(importlib.import_module(_module(relative))).values()
        if isinstance(cls, type) and cls.__module__ == _module(relative)
        for base in cls.__mro__[1:]
        if cls.__basicsize__ < base.__basicsize__
    ]
    assert small == []
