"""The broken-configuration corpus: each case is a deliberately broken configuration (a file, or a
directory for cross-file problems) whose ``# finds:`` header names what the checker must find.
Each has a golden output per format in tests/lint/golden/ (rewrite with SYNCRULES_UPDATE_GOLDEN=1
after an intended change, then review the diff)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from syncrules.lint.command import FORMATS, run_check

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
GOLDEN = HERE / "golden"
CASES = sorted(p.name for p in CORPUS.iterdir() if p.suffix == ".sync" or p.is_dir())
EXT = {"text": "txt", "json": "json", "sarif": "sarif", "github": "github"}


def _finds(name: str) -> set[str]:
    path = CORPUS / name
    files = sorted(path.glob("*.sync")) if path.is_dir() else [path]
    codes: set[str] = set()
    for f in files:
        for line in f.read_text(encoding="utf-8").splitlines():
            m = re.match(r"#\s*finds:\s*(.*)", line)
            if m:
                codes |= set(re.findall(r"S[RL]\d{3}", m.group(1)))
    return codes


def test_corpus_is_big_enough() -> None:
    assert len(CASES) >= 30
    assert all(_finds(c) for c in CASES), "every corpus case names what it must find"


@pytest.mark.parametrize("name", CASES)
def test_corpus_case(name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], golden) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(CORPUS)
    codes: set[str] = set()
    exits = set()
    for fmt in FORMATS:
        exits.add(run_check([name], fmt))
        out = capsys.readouterr().out
        golden(GOLDEN / f"{Path(name).stem}.{EXT[fmt]}", out)
        if fmt == "json":
            codes = {d["code"] for d in json.loads(out)["diagnostics"]}
    assert len(exits) == 1, "every format gives the same exit code"
    missing = _finds(name) - codes
    assert not missing, f"{name}: the checker did not find {sorted(missing)}"
