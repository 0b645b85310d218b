"""Properties of the front end: print→parse round trip, fmt idempotence, robustness to mutation."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncrules import ast
from syncrules.compiler import compile_text
from syncrules.diagnostics import DiagnosticSink
from syncrules.fmt import format_module
from syncrules.fmt.command import format_text, same_ast
from syncrules.source import SourceFile
from syncrules.syntax import parse_source
from tests.strategies import modules

ROOT = Path(__file__).resolve().parent.parent


def _normal(module: ast.Module) -> tuple[ast.Item, ...]:
    """Items with parentheses removed from expressions (the printer adds them where needed)."""
    out: list[ast.Item] = []
    for item in module.items:
        if isinstance(item, ast.Rule):
            flows = tuple(replace(f, expr=ast.strip_parens(f.expr)) if f.expr is not None else f for f in item.flows)
            item = replace(item, flows=flows)
        out.append(item)
    return tuple(out)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(modules())
def test_generated_ast_survives_format_and_parse(module: ast.Module) -> None:
    text = format_module(module)
    sink = DiagnosticSink()
    parsed = parse_source(SourceFile("<generated>", text), sink)
    assert parsed is not None, (text, [d.message for d in sink.items])
    assert not sink.has_errors, [d.message for d in sink.items]
    assert _normal(parsed) == _normal(module)
    # And printing what we parsed is a fixed point.
    assert format_module(parsed) == text


def _sync_files() -> list[Path]:
    files = sorted((ROOT / "examples").rglob("*.sync")) + sorted((ROOT / "tests").rglob("*.sync"))
    files += sorted((ROOT / "stdlib").rglob("*.sync"))
    return files


def test_fmt_is_idempotent_on_every_shipped_file() -> None:
    checked = 0
    for path in _sync_files():
        text = path.read_text(encoding="utf-8")
        once, sink = format_text(text, str(path))
        if once is None:
            continue  # deliberately broken inputs
        twice, _ = format_text(once, str(path))
        assert twice == once, f"fmt is not idempotent on {path}"
        assert same_ast(text, once, str(path)), f"fmt changed the meaning of {path}"
        checked += 1
    assert checked >= 40


_SAMPLES = [p.read_text(encoding="utf-8") for p in _sync_files()[:80]]


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(_SAMPLES))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["truncate", "delete", "duplicate", "swap", "stray"]))
        if not text:
            break
        i = draw(st.integers(0, len(text) - 1))
        j = draw(st.integers(i, min(len(text), i + 12)))
        if kind == "truncate":
            text = text[:i]
        elif kind == "delete":
            text = text[:i] + text[j:]
        elif kind == "duplicate":
            text = text[:j] + text[i:j] + text[j:]
        elif kind == "swap":
            k = draw(st.integers(0, len(text) - 1))
            a, b = sorted((i, k))
            text = text[:a] + text[b : b + (j - i)] + text[a + (j - i) : b] + text[a : a + (j - i)] + text[b + (j - i) :]
        else:
            stray = draw(st.sampled_from(["\x00", "{", "}", "(", ")", '"', "\\", "%", "$", "[", "]", "&&", "é", "\u200b", "#"]))
            text = text[:i] + stray + text[i:]
    return text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutations_never_raise(text: str) -> None:
    result = compile_text(text, "mutant.sync")
    for d in result.diagnostics:
        assert d.code.startswith("SR") and d.message
    formatted, _ = format_text(text, "mutant.sync")
    if formatted is not None:
        assert same_ast(text, formatted, "mutant.sync")
