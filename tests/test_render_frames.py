"""Code frames of long lines: a minified fixture is one line of megabytes, and a frame shows only
the part of it around the problem, so that hundreds of problems in it do not print gigabytes."""

from __future__ import annotations

from syncrules.diagnostics.model import Diagnostic, Severity
from syncrules.diagnostics.render import _FRAME_WIDTH, render_text
from syncrules.source import SourceFile


def _frame_lines(text: str, start: int, end: int) -> list[str]:
    src = SourceFile("big.json", text)
    diag = Diagnostic("SR710", Severity.ERROR, "bad", span=src.span(start, end))
    return render_text([diag], {"big.json": src}).splitlines()[2:5]


def test_a_long_line_is_cut_around_the_marked_columns() -> None:
    text = "a" * 5000 + "MARK" + "b" * 5000
    _, code, marks = _frame_lines(text, 5000, 5004)
    shown = code.split(" | ", 1)[1]
    assert len(shown) <= _FRAME_WIDTH + 6
    assert shown.startswith("...") and shown.endswith("...")
    under = marks.split(" | ", 1)[1]
    # The marks stand under MARK in the cut line.
    assert shown[under.index("^") : under.index("^") + 4] == "MARK"
    assert under.count("^") == 4


def test_a_mark_running_past_the_cut_ends_at_it() -> None:
    text = "x" * 100 + "y" * 10_000
    _, code, marks = _frame_lines(text, 0, len(text))
    shown = code.split(" | ", 1)[1]
    under = marks.split(" | ", 1)[1]
    assert shown == "x" * 100 + "y" * (_FRAME_WIDTH - 100) + "..."
    assert under == "^" * _FRAME_WIDTH


def test_a_short_line_is_shown_whole() -> None:
    text = "flow displayName <- Trim([displayName)"
    _, code, marks = _frame_lines(text, 25, 26)
    assert code.endswith(text)
    assert marks.split(" | ", 1)[1] == " " * 25 + "^"
