"""Every lint rule fires on its ``fire_*`` cases, exactly on the marked lines, and stays quiet on
its ``quiet_*`` cases. The catalogue test (test_catalogue.py) checks every rule has both."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.lint.harness import all_cases, found, lint_case, markers

CASES = all_cases()


@pytest.mark.parametrize(("code", "path"), CASES, ids=[f"{c}/{p.name}" for c, p in CASES])
def test_case(code: str, path: Path) -> None:
    expected, extra = markers(path)
    _, diags = lint_case(path, [code, *extra])
    got = found(diags, path)
    if path.name.startswith("quiet"):
        mine = sorted((f.name, line) for f, line, c in got if c == code)
        assert not mine, f"{code} should stay quiet on {path.name} but reported lines {mine}"
        assert not expected, "a quiet case must not carry expect markers"
    else:
        want = {e for e in expected if e[2] == code}
        assert want, f"fire case {path.name} has no `# expect: {code}` marker"
        assert {g for g in got if g[2] == code} == want, [
            (d.code, str(d.span), d.message) for d in diags if d.code == code
        ]
    # Markers for other codes in the case (e.g. SL001 next to SL601) must match as well.
    for other in {e[2] for e in expected} - {code}:
        assert {g for g in got if g[2] == other} == {e for e in expected if e[2] == other}
