"""Every file in tests/invalid/ is a broken configuration.

Each must exit 1, report its first error with the code and line:col written in its
``# expect:`` header (computed independently by tests/tools/make_invalid.py), match its golden
rendering in text and JSON, and never produce a traceback.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from syncrules.cli import main
from tests.conftest import check_golden

INVALID = Path(__file__).parent / "invalid"
CASES = sorted(p.name for p in INVALID.glob("[0-9][0-9][0-9]-*.sync"))


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize("name", CASES)
def test_invalid_input(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(INVALID)
    header = (INVALID / name).read_text(encoding="utf-8").splitlines()[0]
    m = re.match(r"# expect: (SR\d+) (\d+):(\d+)$", header)
    assert m, f"{name} lacks an '# expect:' header"
    code, line, col = m.group(1), int(m.group(2)), int(m.group(3))

    runner = CliRunner()
    result = runner.invoke(main, ["check", "--format", "json", name])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    doc = json.loads(result.output)
    errors = [d for d in doc["diagnostics"] if d["severity"] == "error"]
    assert errors, "expected at least one error"
    first = errors[0]
    assert first["code"] == code
    assert (first["span"]["file"], first["span"]["line"], first["span"]["column"]) == (name, line, col)

    text = runner.invoke(main, ["check", "--color", "never", name])
    assert text.exit_code == 1
    assert "Traceback" not in text.output
    check_golden(INVALID / (name[:-5] + ".expected"), text.output)
