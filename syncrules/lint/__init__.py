"""The rule checker: a catalogue of lint rules run over a compiled configuration.

``syncrules check`` compiles the files (every compiler diagnostic is kept), then runs the enabled
lint rules over the whole configuration at once -- cross-file rules such as precedence ties and
scope overlap need every file -- and reports both through the one diagnostic model.

Entry points:

* :func:`lint_config` -- lint an IR configuration (used by ``check``, tests and benchmarks);
* :func:`measure` -- the same, timed, for benchmarks/bench_frontend.py;
* :mod:`syncrules.lint.command` -- ``run_check`` / ``run_rules`` behind the CLI.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from syncrules import ast
from syncrules.diagnostics.model import Diagnostic
from syncrules.ir import nodes as ir
from syncrules.lint.config import LintSettings, resolve
from syncrules.source import SourceFile

__all__ = ["lint_config", "measure"]


def lint_config(
    config: ir.Config,
    modules: list[ast.Module],
    sources: Mapping[str, SourceFile] | None = None,
    settings: LintSettings | None = None,
    hide_stdlib: bool = True,
) -> list[Diagnostic]:
    """Every lint finding for a configuration, after per-file ignores and inline suppressions.

    Sorted like compiler diagnostics (file, line, column, code) and deduplicated, so output is
    deterministic whatever order rules run in. With ``hide_stdlib``, findings about the standard
    library (``import std ...``), which users cannot edit, are moved onto the user's own file
    when they involve it (a label there) and dropped otherwise.
    """
    from syncrules.lint import suppress
    from syncrules.lint.context import LintContext

    if settings is None:
        settings = resolve()
    if sources is None:
        sources = {}
    from syncrules.syntax.parser import no_gc

    ctx = LintContext(config, modules, sources, settings)
    with no_gc():  # the rules build no cycles; collecting over a large IR only costs time
        for rule in settings.rules:
            ctx.run(rule)
    findings: list[Diagnostic] = []
    ignores: dict[str, frozenset[str]] = {}
    raw: list[Diagnostic] = list(ctx.findings)
    if hide_stdlib:
        raw = _outside_stdlib(raw)
    for d in raw:
        if d.span is not None:
            file = d.span.file
            if file not in ignores:
                ignores[file] = settings.ignored_in_file(file)
            if d.code in ignores[file]:
                continue
        findings.append(d)
    findings = suppress.apply(findings, suppress.parse(modules, sources), settings)
    seen: set[tuple[object, ...]] = set()
    out: list[Diagnostic] = []
    for d in sorted(findings, key=Diagnostic.sort_key):
        key = (d.code, d.message, d.span)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


def _outside_stdlib(diags: list[Diagnostic]) -> list[Diagnostic]:
    from dataclasses import replace
    from pathlib import Path

    from syncrules.diagnostics.model import Label
    from syncrules.resources import stdlib_dir

    try:
        root = stdlib_dir().resolve()
    except FileNotFoundError:  # pragma: no cover - no standard library shipped
        return diags
    memo: dict[str, bool] = {}

    def library(file: str) -> bool:
        if file not in memo:
            try:
                Path(file).resolve().relative_to(root)
                memo[file] = True
            except ValueError:
                memo[file] = False
        return memo[file]

    out: list[Diagnostic] = []
    for d in diags:
        if d.span is None or not library(d.span.file):
            out.append(d)
            continue
        mine = [lb for lb in d.labels if not library(lb.span.file)]
        if not mine:
            continue  # entirely about the standard library: nothing the user can change there
        first = mine[0]
        labels = (Label(d.span, "in the standard library"), *(lb for lb in d.labels if lb is not first))
        out.append(replace(d, span=first.span, labels=labels))
    return out


def measure(config: ir.Config, modules: list[ast.Module], sources: Mapping[str, SourceFile] | None = None) -> dict[str, Any]:
    """Lint with every rule enabled and report the time taken (for benchmarks/bench_frontend.py)."""
    import gc

    from syncrules.lint.registry import all_rules

    all_rules()  # rule registration is import time, not lint time
    settings = resolve()
    gc.collect()  # pay the front end's deferred garbage collection before the clock starts
    start = time.perf_counter()
    findings = lint_config(config, modules, sources, settings)
    elapsed = time.perf_counter() - start
    return {"lint_s": round(elapsed, 3), "lint_findings": len(findings), "lint_rules": len(settings.rules)}
