"""Helpers for the lint tests: run the checker on a case and collect ``# expect:`` markers.

A rule case is a ``.sync`` file (or a directory of them, for cross-file rules) under
``tests/lint/cases/<CODE>/``, named ``fire_*`` (the rule must report exactly the marked lines) or
``quiet_*`` (the rule must report nothing). Markers::

    flow x <- IIF(True, a, b)   # expect: SL207

A ``# select: SL001, SL601`` comment anywhere in a case adds rules to the selection (the rule
under test is always selected). A directory case may hold its own ``syncrules.toml``.
"""

from __future__ import annotations

import re
from pathlib import Path

from syncrules.compiler import CompileResult, compile_paths
from syncrules.diagnostics.model import Diagnostic
from syncrules.lint import lint_config
from syncrules.lint.config import find_config, resolve

HERE = Path(__file__).resolve().parent
CASES = HERE / "cases"
SCHEMA = HERE / "schema.sync"

_EXPECT = re.compile(r"#\s*expect:\s*((?:SL\d{3}[,\s]*)+)")
_SELECT = re.compile(r"#\s*select:\s*((?:SL\d{3}[,\s]*)+)")


def case_files(path: Path) -> list[Path]:
    return sorted(path.rglob("*.sync")) if path.is_dir() else [path]


def markers(path: Path) -> tuple[set[tuple[Path, int, str]], list[str]]:
    expected: set[tuple[Path, int, str]] = set()
    extra: list[str] = []
    for f in case_files(path):
        for number, line in enumerate(f.read_text(encoding="utf-8").splitlines(), start=1):
            m = _EXPECT.search(line)
            if m:
                for code in re.findall(r"SL\d{3}", m.group(1)):
                    expected.add((f.resolve(), number, code))
            s = _SELECT.search(line)
            if s:
                extra.extend(re.findall(r"SL\d{3}", s.group(1)))
    return expected, extra


def lint_case(path: Path, select: list[str]) -> tuple[CompileResult, list[Diagnostic]]:
    result = compile_paths([path])
    errors = [d for d in result.diagnostics if d.severity >= 3]
    assert not errors, f"case {path} does not compile: {[(d.code, d.message, str(d.span)) for d in errors]}"
    assert result.config is not None
    settings = resolve(select, None, find_config([str(path)]))
    return result, lint_config(result.config, result.modules, result.sources, settings)


def found(diags: list[Diagnostic], path: Path) -> set[tuple[Path, int, str]]:
    """(file, line, code) of the findings located in the case's own files."""
    own = {f.resolve() for f in case_files(path)}
    out: set[tuple[Path, int, str]] = set()
    for d in diags:
        if d.span is None:
            continue
        f = Path(d.span.file).resolve()
        if f in own:
            out.add((f, d.span.line, d.code))
    return out


def all_cases() -> list[tuple[str, Path]]:
    out = []
    for code_dir in sorted(p for p in CASES.iterdir() if p.is_dir()):
        for p in sorted(code_dir.iterdir()):
            if p.name.startswith(("fire", "quiet")) and (p.suffix == ".sync" or p.is_dir()):
                out.append((code_dir.name, p))
    return out
