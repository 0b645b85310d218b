"""Render diagnostics as text (rustc/ruff style, with a code frame) or JSON.

Text output is byte-stable: no colour unless asked, and a fixed order (file, line, column, code).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from syncrules.diagnostics.model import Diagnostic, Severity
from syncrules.source import SourceFile, Span

_COLOURS = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def _style(text: str, colour: str | None, bold: bool = False, enabled: bool = False) -> str:
    if not enabled:
        return text
    import click

    return click.style(text, fg=colour, bold=bold)


def _frame(
    span: Span, sources: Mapping[str, SourceFile], marker: str, note: str, colour: bool, fg: str, width: int
) -> list[str]:
    src = sources.get(span.file)
    if src is None or span.line < 1:
        return []
    pad = " " * width
    lines = [f"{pad} |"]
    last = min(span.end_line, span.line + 4)
    for number in range(span.line, last + 1):
        text = src.line_text(number).replace("\t", " ")
        start = span.column if number == span.line else 1 + (len(text) - len(text.lstrip()))
        end = span.end_column if number == span.end_line else len(text) + 1
        if end <= start:
            end = start + 1
        text, start, end = _window(text, start, end)
        lines.append(f"{number:>{width}} | {text}".rstrip())
        under = " " * (start - 1) + marker * (end - start)
        tail = f" {note}" if note and number == last else ""
        lines.append(f"{pad} | " + _style(under + tail, fg, True, colour))
    if span.end_line > last:
        lines.append(f"{pad} | ...")
    return lines


# A code frame shows at most this many characters of a line. Rule lines are shorter; a minified
# JSON fixture is one line of megabytes, and each of its problems would otherwise print all of it,
# twice with the marks.
_FRAME_WIDTH = 400
_BEFORE = 100  # of which this many come before the marked column


def _window(text: str, start: int, end: int) -> tuple[str, int, int]:
    """The part of a long line around columns ``start``..``end`` (1-based, end exclusive), with
    "..." where it was cut, and the columns moved to match (the marks end at the cut)."""
    if len(text) <= _FRAME_WIDTH:
        return text, start, end
    first = max(0, min(start - 1 - _BEFORE, len(text) - _FRAME_WIDTH))
    shown = text[first : first + _FRAME_WIDTH]
    lead = "..." if first else ""
    tail = "..." if first + _FRAME_WIDTH < len(text) else ""
    offset = len(lead) - first
    start = max(start + offset, len(lead) + 1)
    end = max(min(end + offset, len(lead) + len(shown) + 1), start + 1)
    return lead + shown + tail, start, end


def render_text(diags: list[Diagnostic], sources: Mapping[str, SourceFile], colour: bool = False) -> str:
    out: list[str] = []
    for d in diags:
        sev = d.severity.label
        fg = _COLOURS[d.severity]
        name = f" {d.name}" if d.name else ""
        head = _style(f"{sev}[{d.code}]", fg, True, colour) + _style(f"{name}: {d.message}", None, True, colour)
        out.append(head)
        if d.span is not None:
            width = max(len(str(s.end_line)) for s in (d.span, *(lb.span for lb in d.labels)))
            out.append(f"{' ' * width}--> {d.span.file}:{d.span.line}:{d.span.column}")
            out.extend(_frame(d.span, sources, "^", "", colour, fg, width))
            for label in d.labels:
                out.append(f"{' ' * width}::: {label.span.file}:{label.span.line}:{label.span.column}")
                out.extend(_frame(label.span, sources, "-", label.message, colour, "blue", width))
            if d.help or d.note:
                out.append(f"{' ' * width} |")
        gutter = " " * (max(len(str(s.end_line)) for s in (d.span, *(lb.span for lb in d.labels))) if d.span else 0)
        if d.note:
            out.append(f"{gutter} = note: {d.note}")
        if d.help:
            out.append(f"{gutter} = help: {d.help}")
        out.append("")
    out.append(summary_line(diags))
    return "\n".join(out) + "\n"


def summary_line(diags: list[Diagnostic]) -> str:
    errors = sum(1 for d in diags if d.severity == Severity.ERROR)
    warnings = sum(1 for d in diags if d.severity == Severity.WARNING)
    infos = sum(1 for d in diags if d.severity == Severity.INFO)
    if not diags:
        return "No problems found."
    parts = []
    if errors:
        parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    if warnings:
        parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    if infos:
        parts.append(f"{infos} note{'s' if infos != 1 else ''}")
    return "Found " + ", ".join(parts) + "."


def render_json(diags: list[Diagnostic]) -> str:
    doc = {
        "version": 1,
        "diagnostics": [d.to_json() for d in diags],
        "summary": {
            "errors": sum(1 for d in diags if d.severity == Severity.ERROR),
            "warnings": sum(1 for d in diags if d.severity == Severity.WARNING),
            "infos": sum(1 for d in diags if d.severity == Severity.INFO),
        },
    }
    return json.dumps(doc, indent=2, sort_keys=False) + "\n"
