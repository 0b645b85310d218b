"""Locate the shipped grammar and standard library.

In a wheel, ``grammar/`` and ``stdlib/`` are force-included as ``syncrules/_data/...``; in a
source checkout or editable install they sit at the repository top level. We look in the
package first and fall back to the tree, so both layouts work without configuration.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path


def _package_data(*parts: str) -> Path | None:
    try:
        root = resources.files("syncrules")
    except (ModuleNotFoundError, TypeError):  # pragma: no cover - defensive
        return None
    node = root.joinpath("_data", *parts)
    if node.is_file() or node.is_dir():
        return Path(str(node))
    return None


def _tree_data(*parts: str) -> Path | None:
    candidate = Path(__file__).resolve().parent.parent.joinpath(*parts)
    return candidate if candidate.exists() else None


def data_path(*parts: str) -> Path:
    """Path of a shipped data file or folder, e.g. ``data_path("stdlib", "functions.yaml")``."""
    found = _package_data(*parts) or _tree_data(*parts)
    if found is None:
        raise FileNotFoundError("/".join(parts))
    return found


@lru_cache(maxsize=1)
def grammar_text() -> str:
    return data_path("grammar", "syncrules.lark").read_text(encoding="utf-8")


def stdlib_dir() -> Path:
    return data_path("stdlib")
