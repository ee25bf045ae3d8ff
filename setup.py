"""Compiles casscade's hot-path modules with mypyc, and its C extensions (OpenSSL's libcrypto
and headers needed); everything else is in pyproject.toml.

CASSCADE_PURE_PYTHON=1 installs the same code uncompiled (no C compiler needed, slower).
The module lists and why: src/casscade/_native.py.
"""

import os
import runpy
from pathlib import Path

from setuptools import Extension, setup

SRC = Path(__file__).resolve().parent / "src"

if os.environ.get("CASSCADE_PURE_PYTHON") == "1":
    setup()
else:
    from mypyc.build import mypycify

    native = runpy.run_path(str(SRC / "casscade" / "_native.py"))
    extensions = [
        Extension(native["extension_module"](relative), [f"src/casscade/{relative}"],
                  libraries=list(libraries))
        for relative, libraries in native["C_EXTENSIONS"].items()
    ]  # fmt: skip
    setup(
        ext_modules=[
            *mypycify(
                [f"src/casscade/{relative}" for relative in native["COMPILED"]], opt_level="3"
            ),
            *extensions,
        ]
    )
