"""Shared test helpers.

Golden files are compared byte for byte; set SYNCRULES_UPDATE_GOLDEN=1 to rewrite them after an
intended change, then review the diff like any other code change.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus" / "aadconnect-contoso"
UPDATE = os.environ.get("SYNCRULES_UPDATE_GOLDEN") == "1"
NO_CORPUS = f"the shared Contoso export is not at {CORPUS} (.ci/run has ../shared beside the checkout)"


def require_corpus() -> Path:
    """The shared Contoso export, which lives outside the repository: a test that reads it is
    skipped, saying why, on a machine that has only the repository."""
    if not CORPUS.is_dir():
        pytest.skip(NO_CORPUS)
    return CORPUS


def check_golden(path: Path, actual: str) -> None:
    if UPDATE or not path.exists():
        path.write_text(actual, encoding="utf-8")
        if not UPDATE:
            pytest.fail(f"golden file {path.name} was missing and has been written; review and re-run")
        return
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"output differs from {path}; rerun with SYNCRULES_UPDATE_GOLDEN=1 to accept"


@pytest.fixture
def golden():
    return check_golden
