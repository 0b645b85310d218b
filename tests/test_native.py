"""The choice between the compiled engine and its sources (syncrules.native).

A compiled module that no longer matches its source would run old code without a word, so the
sources run instead; these tests build the situations in a directory of their own.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from syncrules import native

SUFFIX = importlib.machinery.EXTENSION_SUFFIXES[0]


def _tree(tmp_path: Path, *, stamp: bool = True, extensions: bool = True) -> Path:
    for name in native.MODULES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / f"{name}.py").write_text(f"# {name}\n")
        if extensions:
            (tmp_path / f"{name}{SUFFIX}").write_bytes(b"")
    if stamp:
        digests = {n: hashlib.sha256((tmp_path / f"{n}.py").read_bytes()).hexdigest() for n in native.MODULES}
        (tmp_path / native.STAMP).write_text(json.dumps(digests))
    return tmp_path


def test_matching_sources_use_the_extensions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(native, "HERE", _tree(tmp_path))
    monkeypatch.delenv("SYNCRULES_PURE", raising=False)
    assert native._why_not() is None


def test_an_edited_source_runs_as_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(native, "HERE", _tree(tmp_path))
    monkeypatch.delenv("SYNCRULES_PURE", raising=False)
    (tmp_path / "engine" / "plans.py").write_text("# plans, edited\n")
    assert native._why_not() == "engine/plans.py changed since it was compiled (reinstall to compile it again)"


@pytest.mark.parametrize(("stamp", "extensions", "why"), [(False, True, "not compiled"), (True, False, "no extension for engine/engine")])
def test_a_missing_stamp_or_extension_runs_as_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stamp: bool, extensions: bool, why: str) -> None:
    monkeypatch.setattr(native, "HERE", _tree(tmp_path, stamp=stamp, extensions=extensions))
    monkeypatch.delenv("SYNCRULES_PURE", raising=False)
    assert native._why_not() == why


def test_syncrules_pure_is_obeyed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(native, "HERE", _tree(tmp_path))
    monkeypatch.setenv("SYNCRULES_PURE", "1")
    assert native._why_not() == "SYNCRULES_PURE is set"


def _loaded(env: dict[str, str]) -> tuple[list[str], str]:
    """The files the engine's five modules were loaded from in a new process, and why the
    sources run there ("None": they do not)."""
    code = (
        "import sys; import syncrules.engine, syncrules.evaluate.context; from syncrules import native; "
        "print(*[sys.modules['syncrules.' + n.replace('/', '.')].__file__ for n in native.MODULES]); print(native.reason)"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    files, reason = done.stdout.splitlines()
    return files.split(), reason


def test_the_sources_load_together_when_refused() -> None:
    files, reason = _loaded({**os.environ, "SYNCRULES_PURE": "1"})
    assert reason == "SYNCRULES_PURE is set"
    assert len(files) == len(native.MODULES) and all(f.endswith(".py") for f in files)


def test_a_new_process_runs_what_was_chosen() -> None:
    """All five modules are compiled or none is, and compiled exactly when nothing refused it."""
    files, reason = _loaded({k: v for k, v in os.environ.items() if k != "SYNCRULES_PURE"})
    compiled = {not f.endswith(".py") for f in files}
    assert compiled == {reason == "None"}


def test_the_build_compiles_what_the_choice_checks() -> None:
    """hatch_build.py and syncrules/native.py each list the compiled modules: the same ones."""
    import hatch_build

    assert hatch_build.MODULES == native.MODULES
    assert hatch_build.STAMP == native.STAMP
    assert all((hatch_build.PACKAGE / f"{name}.py").is_file() for name in hatch_build.MODULES)
