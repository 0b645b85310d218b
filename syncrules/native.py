"""Which code runs: the modules compiled by mypyc (see hatch_build.py), or their sources.

The compiled extensions sit next to the sources they were built from, and Python imports an
extension before a source of the same name. So an extension that no longer matches its source
(the source was edited after an editable install) would silently run the old code. Importing
the package puts a finder first on ``sys.meta_path`` (:func:`install`); when one of the compiled
modules is first imported, it compares the SHA-256 of each source with the stamp written when
the extensions were built (:func:`choose`: commands that never load the engine, such as
``syncrules check``, pay nothing). On any difference, on a missing extension or stamp, or with
``SYNCRULES_PURE=1``, it loads the sources instead, all of them (the compiled modules call each
other directly, so they are used together or not at all).

The helper process (:mod:`syncrules.engine.helper`) imports the package the same way and makes
the same choice.
"""

from __future__ import annotations

import importlib.machinery
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent  # the package
# The compiled modules, as paths in the package without ".py" (hatch_build.MODULES).
MODULES = ("engine/engine", "engine/spaces", "engine/plans", "engine/scope", "engine/model", "engine/compiled", "evaluate/context")
STAMP = "native.json"

# Why the sources run (None: the compiled modules do); set by choose() when a compiled module
# is first imported.
reason: str | None = "not chosen yet"


def digest(name: str, root: Path = HERE) -> str:
    """The SHA-256 of a compiled module's source (``name`` as in MODULES): what the stamp holds
    (hatch_build.py writes it with this function)."""
    import hashlib

    return hashlib.sha256((root / f"{name}.py").read_bytes()).hexdigest()


def _why_not() -> str | None:
    import json

    if os.environ.get("SYNCRULES_PURE"):
        return "SYNCRULES_PURE is set"
    try:
        stamp: dict[str, str] = json.loads((HERE / STAMP).read_text())
    except (OSError, ValueError):
        return "not compiled"
    suffixes = importlib.machinery.EXTENSION_SUFFIXES
    for name in MODULES:
        if not any((HERE / f"{name}{suffix}").exists() for suffix in suffixes):
            return f"no extension for {name}"
        try:
            now = digest(name, HERE)
        except OSError:
            return f"no source for {name}"
        if stamp.get(name) != now:
            return f"{name}.py changed since it was compiled (reinstall to compile it again)"
    return None


class _Chooser:
    """A meta path finder for the compiled modules: the extensions, or their sources."""

    names = {"syncrules." + name.replace("/", "."): HERE / f"{name}.py" for name in MODULES}

    def find_spec(self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None) -> Any:
        source = self.names.get(fullname)
        if source is None:
            return None
        choose()
        if reason is None:
            return None  # the next finders find the extension
        import importlib.util

        return importlib.util.spec_from_file_location(fullname, source)


def install() -> None:
    """Put the finder first, once (syncrules/__init__.py, before anything can import the modules)."""
    if not any(isinstance(f, _Chooser) for f in sys.meta_path):
        sys.meta_path.insert(0, _Chooser())


def choose() -> None:
    """Decide, once."""
    global reason
    if reason == "not chosen yet":
        reason = _why_not()


def compiled() -> bool:
    """Whether the engine running is the compiled one."""
    import syncrules.engine.engine as module

    return not str(module.__file__).endswith(".py")
