"""Golden files for the parser (AST as JSON) and the formatter (input → formatted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from syncrules.ast_json import module_to_json
from syncrules.diagnostics import DiagnosticSink
from syncrules.fmt.command import format_text, same_ast
from syncrules.source import SourceFile
from syncrules.syntax import parse_source
from tests.conftest import check_golden

GOLDEN = Path(__file__).parent / "golden"


@pytest.mark.parametrize("name", sorted(p.name for p in (GOLDEN / "parse").glob("*.sync")))
def test_parse_golden(name: str) -> None:
    path = GOLDEN / "parse" / name
    sink = DiagnosticSink()
    module = parse_source(SourceFile(name, path.read_text(encoding="utf-8")), sink)
    assert module is not None and not sink.items, [d.message for d in sink.items]
    actual = json.dumps(module_to_json(module), indent=1, ensure_ascii=False) + "\n"
    check_golden(path.with_suffix(".ast.json"), actual)


@pytest.mark.parametrize("name", sorted(p.name for p in (GOLDEN / "fmt").glob("*.sync")))
def test_fmt_golden(name: str) -> None:
    path = GOLDEN / "fmt" / name
    text = path.read_text(encoding="utf-8")
    formatted, sink = format_text(text, name)
    assert formatted is not None, [d.message for d in sink.items]
    check_golden(path.with_suffix(".formatted"), formatted)
    again, _ = format_text(formatted, name)
    assert again == formatted
    assert same_ast(text, formatted, name)
