"""``syncrules check`` and ``syncrules rules``: compile, lint, render, decide the exit code.

Exit codes (as Ruff): 0 when nothing reaches the fail level, 1 when something does, 2 for usage
errors (unknown format or rule selector, invalid syncrules.toml). Internal errors become exit 2
in the CLI's group.

Output goes to stdout through ``click.echo`` so tests can capture it; usage errors that have no
file to point at go to stderr.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import click

from syncrules.diagnostics.model import Diagnostic, Severity
from syncrules.lint.config import SEVERITIES, ConfigError, LintSettings, find_config, resolve
from syncrules.lint.registry import (
    CONFIG_ERROR,
    REGISTRY,
    TOOL_CODES,
    LintDiagnostic,
    LintRule,
    all_rules,
    lookup,
)
from syncrules.source import SourceFile, Span

if TYPE_CHECKING:
    from syncrules.diagnostics.sarif import RuleMeta

FORMATS = ("text", "json", "sarif", "github")
FAIL_LEVELS = ("error", "warning", "info")
EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


def _split(values: Iterable[str] | None) -> list[str]:
    """Accept repeated options and comma-separated lists alike: ``--select SL101,conflict``."""
    out: list[str] = []
    for v in values or ():
        out.extend(part.strip() for part in v.split(",") if part.strip())
    return out


def _usage(message: str) -> int:
    click.echo(f"error[{CONFIG_ERROR}] {TOOL_CODES[CONFIG_ERROR][0]}: {message}", err=True)
    return EXIT_USAGE


def run_check(
    paths: list[str],
    fmt: str = "text",
    select: list[str] | None = None,
    ignore: list[str] | None = None,
    fail_on: str | None = None,
    color: bool = False,
) -> int:
    """Compile ``paths``, lint the configuration (when it compiled without errors), print the
    report and return the exit code.

    ``fail_on`` None means: ``[lint] fail-on`` from syncrules.toml, else ``error``.
    """
    if fmt not in FORMATS:
        return _usage(f"unknown format {fmt!r} (use one of {', '.join(FORMATS)})")
    if fail_on is not None and fail_on not in FAIL_LEVELS:
        return _usage(f"unknown fail level {fail_on!r} (use error, warning or info)")
    try:
        config_path = find_config(paths)
        settings = resolve(_split(select) or None, _split(ignore) or None, config_path)
    except ConfigError as exc:
        return _config_failure(exc, fmt, color)

    from syncrules.compiler import compile_paths
    from syncrules.lint import lint_config

    result = compile_paths(list(paths))
    diags: list[Diagnostic] = list(result.diagnostics)
    if not _checks_stdlib(paths):
        # Notes and warnings about the standard library's own files are not actionable for the
        # project that imports it (errors still show: they would stop the configuration).
        diags = [d for d in diags if d.severity >= Severity.ERROR or not _in_stdlib(d)]
    # Lint only a configuration that compiled: an error leaves holes in the IR (a clause with an
    # unknown operator is dropped, a flow with a type error has no expression) that would make
    # lint findings misleading -- a scope group that lost its only clause looks "always true".
    if result.config is not None and not result.has_errors:
        diags.extend(
            lint_config(result.config, result.modules, result.sources, settings, hide_stdlib=not _checks_stdlib(paths))
        )
    diags.sort(key=Diagnostic.sort_key)
    click.echo(render(diags, fmt, result.sources, settings, color), nl=False, color=color or None)
    level = SEVERITIES[fail_on or settings.fail_on or "error"]
    return EXIT_FINDINGS if any(d.severity >= level for d in diags) else EXIT_OK


def _in_stdlib(d: Diagnostic) -> bool:
    from pathlib import Path

    from syncrules.resources import stdlib_dir

    if d.span is None:
        return False
    try:
        Path(d.span.file).resolve().relative_to(stdlib_dir().resolve())
    except ValueError:
        return False
    return True


def _checks_stdlib(paths: list[str]) -> bool:
    """Was the standard library itself given to check (then its findings are wanted)?"""
    from pathlib import Path

    from syncrules.resources import stdlib_dir

    root = stdlib_dir().resolve()
    for p in paths:
        try:
            Path(p).resolve().relative_to(root)
            return True
        except ValueError:
            continue
    return False


def render(
    diags: list[Diagnostic],
    fmt: str,
    sources: dict[str, SourceFile],
    settings: LintSettings | None = None,
    color: bool = False,
) -> str:
    """The report in one of :data:`FORMATS` (text prints nothing when there is nothing to say)."""
    from syncrules import __version__
    from syncrules.diagnostics.render import render_json, render_text

    docs_url = settings.docs_url if settings is not None else None
    if fmt == "text":
        return render_text(diags, sources, color) if diags else ""
    if fmt == "json":
        return render_json(diags)
    if fmt == "sarif":
        from syncrules.diagnostics.sarif import render_sarif

        return render_sarif(diags, sources, lambda code: rule_meta(code, docs_url), __version__)
    from syncrules.diagnostics.github import render_github

    return render_github(diags, lambda code: _docs_link(code, docs_url))


def _docs_link(code: str, template: str | None) -> str | None:
    from syncrules.lint.registry import DEFAULT_DOCS_URL

    rule = REGISTRY.get(code)
    if rule is None:
        return None
    return rule.docs_url(template or DEFAULT_DOCS_URL)


def rule_meta(code: str, docs_url: str | None = None) -> RuleMeta:
    """SARIF metadata for any code: a lint rule (with its doc page) or a compiler diagnostic."""
    from syncrules.diagnostics.codes import CODES
    from syncrules.diagnostics.sarif import RuleMeta

    all_rules()
    rule = REGISTRY.get(code)
    if rule is not None:
        return RuleMeta(
            code,
            rule.name,
            rule.summary,
            rule.severity,
            rule.category,
            _docs_link(code, docs_url),
            rule_doc(rule),
        )
    if code in TOOL_CODES:
        name, summary = TOOL_CODES[code]
        return RuleMeta(code, name, summary, Severity.ERROR, "configuration")
    info = CODES.get(code)
    if info is None:
        try:
            from syncrules.interop.codes import INTEROP_CODES

            info = INTEROP_CODES.get(code)
        except ImportError:  # pragma: no cover - the importer is optional here
            info = None
    if info is not None:
        return RuleMeta(code, info.name, info.summary, info.severity, "compiler")
    return RuleMeta(code, "", code, Severity.ERROR)


def _config_failure(exc: ConfigError, fmt: str, color: bool) -> int:
    if exc.path is None:
        return _usage(exc.message)
    from syncrules.semantic.loader import display_path

    shown = display_path(exc.path)
    sources: dict[str, SourceFile] = {}
    span: Span | None = None
    try:
        text = exc.path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        text = None
    if text is not None:
        src = SourceFile(shown, text)
        sources[shown] = src
        if exc.line > 0:
            line = min(exc.line, src.line_count)
            start = src._line_starts[line - 1]
            line_text = src.line_text(line)
            col = min(max(exc.column, 1), len(line_text) + 1)
            indent = len(line_text) - len(line_text.lstrip())
            begin = start + (col - 1 if exc.column > 1 else indent)
            span = src.span(begin, max(begin + 1, start + len(line_text)))
    name = TOOL_CODES[CONFIG_ERROR][0]
    diag = LintDiagnostic(
        CONFIG_ERROR,
        Severity.ERROR,
        exc.message,
        span,
        help="see docs/linter.md, \"Configuration\"",
        rule_name=name,
    )
    click.echo(render([diag], fmt, sources, None, color), nl=False, color=color or None)
    return EXIT_USAGE


# ---------------------------------------------------------------------------- syncrules rules


def rule_doc(rule: LintRule) -> str:
    """The rule's documentation page (docs/rules/<code>.md), or a summary when it is not shipped."""
    from syncrules.resources import data_path

    try:
        return data_path("docs", "rules", f"{rule.code}.md").read_text(encoding="utf-8")
    except FileNotFoundError:
        lines = [f"# {rule.code} {rule.name}", "", rule.summary, "", f"Category: {rule.category}"]
        lines.append(f"Default severity: {rule.severity.label}")
        for o in rule.options:
            lines.append(f"Option `{o.name}` (default {o.default!r}): {o.help}")
        return "\n".join(lines) + "\n"


def run_rules(code: str | None = None) -> int:
    """List the catalogue, or print one rule's documentation. Returns the exit code."""
    rules = all_rules()
    if code is None:
        width = max(len(r.name) for r in rules)
        lines = [f"{'code':<6} {'name':<{width}} {'category':<13} {'severity':<8} summary"]
        for r in rules:
            lines.append(f"{r.code:<6} {r.name:<{width}} {r.category:<13} {r.severity.label:<8} {r.summary}")
        lines.append("")
        lines.append(f"{len(rules)} rules. `syncrules rules CODE` prints a rule's documentation.")
        click.echo("\n".join(lines))
        return EXIT_OK
    found = lookup(code)
    if found is None:
        return _usage(f"unknown rule {code!r} (run `syncrules rules` for the list)")
    click.echo(rule_doc(found), nl=False)
    return EXIT_OK


__all__ = ["FORMATS", "render", "rule_meta", "run_check", "run_rules"]
