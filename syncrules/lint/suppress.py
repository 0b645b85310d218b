"""Inline suppressions: ``# syncrules: ignore[SL101]`` and ``# syncrules: ignore[name, SL205]``.

Grammar (one comment, anywhere a comment may stand)::

    # syncrules: ignore[<selector>(, <selector>)*] [free text, e.g. the reason]

where a selector is a lint code (``SL101``, any letter case) or a rule name
(``equal-precedence-conflict``). A comment after code on a line suppresses findings that start on
that line; a comment on a line of its own suppresses findings on the next line that is not itself
a comment (so several suppressions, or a doc comment, may be stacked above a rule).

Compiler diagnostics (``SRxxx``) cannot be suppressed: they mean the configuration is not valid.
A selector that names no rule is SL002; a suppression that matched nothing is SL001 (only for
rules that ran, since a rule that was not selected cannot tell).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from syncrules import ast
from syncrules.diagnostics.model import Diagnostic
from syncrules.lint.config import LintSettings
from syncrules.lint.registry import REGISTRY, LintDiagnostic, lookup
from syncrules.source import SourceFile, Span

_DIRECTIVE = re.compile(r"^#+\s*syncrules\s*:", re.IGNORECASE)
_IGNORE = re.compile(r"^#+\s*syncrules\s*:\s*ignore\s*\[([^\]]*)\]", re.IGNORECASE)


@dataclass
class Suppression:
    span: Span
    targets: list[int]  # lines whose findings it suppresses
    selectors: list[tuple[str, str | None]]  # (as written, resolved code or None)
    used: set[str] = field(default_factory=set)


@dataclass
class Parsed:
    suppressions: list[Suppression]
    problems: list[tuple[Span, str]]  # malformed comments and unknown selectors


def _own_line(src: SourceFile | None, span: Span) -> bool:
    if src is None:
        return True
    return src.line_text(span.line)[: span.column - 1].strip() == ""


def _next_code_line(src: SourceFile | None, line: int, comment_lines: set[int]) -> int:
    if src is None:
        return line + 1
    n = line + 1
    while n <= src.line_count and n in comment_lines:
        n += 1
    return n


def parse(modules: Iterable[ast.Module], sources: Mapping[str, SourceFile]) -> Parsed:
    out = Parsed([], [])
    for m in modules:
        src = sources.get(m.path)
        own_comment_lines = {c.span.line for c in m.comments if _own_line(src, c.span)}
        for c in m.comments:
            if not _DIRECTIVE.match(c.text):
                continue
            found = _IGNORE.match(c.text)
            if found is None:
                out.problems.append((c.span, "malformed suppression: write `# syncrules: ignore[SL101]`"))
                continue
            raw = [s.strip() for s in found.group(1).split(",")]
            selectors: list[tuple[str, str | None]] = []
            if not any(raw):
                out.problems.append((c.span, "empty suppression: name the rule codes or names to ignore"))
                continue
            for s in raw:
                if not s:
                    continue
                rule = lookup(s)
                if rule is None:
                    if re.match(r"^SR\d{3}$", s, re.IGNORECASE):
                        why = f"`{s}` is a compiler diagnostic; those cannot be suppressed, fix the configuration"
                    else:
                        why = f"`{s}` names no lint rule (see `syncrules rules`)"
                    out.problems.append((c.span, why))
                selectors.append((s, rule.code if rule else None))
            line = c.span.line
            targets = [_next_code_line(src, line, own_comment_lines)] if _own_line(src, c.span) else [line]
            out.suppressions.append(Suppression(c.span, targets, selectors))
    return out


def apply(
    findings: list[Diagnostic],
    parsed: Parsed,
    settings: LintSettings,
) -> list[Diagnostic]:
    """Drop suppressed lint findings; add SL001/SL002 for unused and invalid suppressions."""
    index: dict[tuple[str, int], list[Suppression]] = {}
    for s in parsed.suppressions:
        for line in s.targets:
            index.setdefault((s.span.file, line), []).append(s)
    kept: list[Diagnostic] = []
    for d in findings:
        if isinstance(d, LintDiagnostic) and d.span is not None:
            hit = False
            for s in index.get((d.span.file, d.span.line), ()):
                for _written, code in s.selectors:
                    if code == d.code:
                        s.used.add(code)
                        hit = True
            if hit:
                continue
        kept.append(d)
    enabled = settings.enabled_codes
    if "SL001" in enabled:
        rule = REGISTRY["SL001"]
        for s in parsed.suppressions:
            ignored_here = settings.ignored_in_file(s.span.file)
            for written, code in s.selectors:
                if code is None or code in s.used or code not in enabled or code in ignored_here:
                    continue
                if "SL001" in ignored_here:
                    continue
                kept.append(
                    LintDiagnostic(
                        "SL001",
                        settings.severity_of(rule),
                        f"unused suppression: no `{written}` finding here",
                        s.span,
                        help="remove it, or move it onto the line of the finding (or the line just before)",
                        rule_name=rule.name,
                    )
                )
    if "SL002" in enabled:
        rule = REGISTRY["SL002"]
        for span, message in parsed.problems:
            if "SL002" in settings.ignored_in_file(span.file):
                continue
            kept.append(LintDiagnostic("SL002", settings.severity_of(rule), message, span, rule_name=rule.name))
    return kept
