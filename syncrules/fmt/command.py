"""``syncrules fmt``: format files in place, or check/diff them.

Safety: the formatted text is parsed again and must give the same AST as the input; otherwise the
file is left untouched and the problem is reported as an internal error (exit 2), because a
formatter that changes meaning must never write.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import click

from syncrules.diagnostics import DiagnosticSink
from syncrules.diagnostics.render import render_text
from syncrules.fmt.printer import format_module
from syncrules.semantic.loader import discover, display_path
from syncrules.source import SourceFile
from syncrules.syntax.parser import parse_source, read_source


def format_text(text: str, path: str = "<text>") -> tuple[str | None, DiagnosticSink]:
    """Format ``text``; returns (formatted or None, diagnostics)."""
    sink = DiagnosticSink()
    module = parse_source(SourceFile(path, text), sink)
    if module is None or sink.has_errors:
        return None, sink
    return format_module(module), sink


def same_ast(original: str, formatted: str, path: str) -> bool:
    a = parse_source(SourceFile(path, original), DiagnosticSink())
    b = parse_source(SourceFile(path, formatted), DiagnosticSink())
    if a is None or b is None:
        return False
    return a.items == b.items and [c.text.rstrip() for c in a.comments] == [c.text.rstrip() for c in b.comments]


def run_fmt(paths: list[str], check_only: bool, diff: bool) -> int:
    sink = DiagnosticSink()
    files = discover(list(paths), sink)
    sources: dict[str, SourceFile] = {}
    changed: list[str] = []
    internal = False
    for f in files:
        shown = display_path(Path(f))
        source = read_source(f, sink, shown)
        if source is None:
            continue
        sources[shown] = source
        module = parse_source(source, sink)
        if module is None:
            continue
        formatted = format_module(module)
        if formatted == source.text:
            continue
        if not same_ast(source.text, formatted, shown):
            click.echo(f"error[SR902] internal-error: formatting {shown} would change its meaning; file left unchanged", err=True)
            internal = True
            continue
        changed.append(shown)
        if diff:
            click.echo(
                "".join(
                    difflib.unified_diff(
                        source.text.splitlines(keepends=True),
                        formatted.splitlines(keepends=True),
                        fromfile=f"{shown} (original)",
                        tofile=f"{shown} (formatted)",
                    )
                ),
                nl=False,
            )
        elif check_only:
            click.echo(f"would reformat {shown}")
        else:
            Path(f).write_text(formatted, encoding="utf-8")
            click.echo(f"reformatted {shown}")
    diags = sink.sorted()
    if diags:
        click.echo(render_text(diags, sources), err=True, nl=False)
    if internal:
        return 2
    if sink.has_errors:
        return 1
    if (check_only or diff) and changed:
        return 1
    if not changed and not check_only and not diff:
        click.echo(f"{len(files)} file{'s' if len(files) != 1 else ''} already formatted")
    return 0
