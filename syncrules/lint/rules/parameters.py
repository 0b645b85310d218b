"""Parameter rules: %parameters% declared but never used, or defined for only some partitions."""

from __future__ import annotations

import fnmatch
import re
from collections import defaultdict
from collections.abc import Iterator

from syncrules import ast
from syncrules.diagnostics.model import Label, Severity
from syncrules.ir import nodes as ir
from syncrules.lint import exprs
from syncrules.lint.context import LintContext
from syncrules.lint.registry import Option, rule
from syncrules.source import Span

_PARAM = re.compile(r"%([A-Za-z_][A-Za-z0-9_.\-]*)%")


def _uses(r: ir.Rule) -> Iterator[tuple[str, Span | None]]:
    """Every %parameter% a rule refers to, with where."""
    for group in r.scope:
        for c in group:
            for m in _PARAM.finditer(c.value or ""):
                yield m.group(1), c.origin
    for f in r.flows:
        if f.kind == "constant" and f.constant:
            for m in _PARAM.finditer(f.constant):
                yield m.group(1), f.origin
        if f.expr is not None:
            for node in exprs.walk(f.expr):
                if isinstance(node, ir.Param):
                    yield node.name, node.origin


def _connector_decls(ctx: LintContext) -> Iterator[ast.ConnectorDecl]:
    for m in ctx.modules:
        for item in m.items:
            if isinstance(item, ast.ConnectorDecl):
                yield item


@rule(
    "SL208",
    "unused-parameter",
    "correctness",
    Severity.WARNING,
    "A parameter that no rule of its connector (or, for a global one, no rule at all) refers to.",
    options=(
        Option(
            "ignore",
            ["Forest.*", "Domain.*", "Connector.*", "ADS_*"],
            "Parameter names (glob patterns) never reported: the intrinsic parameters a connector always has "
            "(an Active Directory connector exports its ADS_* constants as parameters).",
        ),
    ),
    scope="config",
)
def unused_parameter(ctx: LintContext) -> None:
    patterns = list(ctx.options["ignore"])
    used: dict[str, set[str]] = defaultdict(set)  # connector → names; "" = any rule
    for r in ctx.rules:
        for name, _ in _uses(r):
            used[r.connector].add(name)
            used[""].add(name)

    def ignored(name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, p) for p in patterns)

    for m in ctx.modules:
        for item in m.items:
            if isinstance(item, ast.ParameterDecl) and item.name.text not in used[""] and not ignored(item.name.text):
                ctx.report(
                    item.name.span,
                    f"parameter `{item.name.text}` is declared but no rule uses `%{item.name.text}%`",
                    help="remove it, or refer to it from a flow or scope",
                )
    for decl in _connector_decls(ctx):
        name = decl.name.value
        seen: set[str] = set()
        declared = [*decl.parameters, *(p for part in decl.partitions for p in part.parameters)]
        for p in declared:
            pname = p.name.text
            if pname in seen:
                continue
            seen.add(pname)
            if pname in used[name] or ignored(pname):
                continue
            ctx.report(
                p.name.span,
                f"parameter `{pname}` of connector {name!r} is declared but no rule of that connector uses `%{pname}%`",
                help="remove it, or refer to it from a flow or scope",
            )


@rule(
    "SL209",
    "partial-parameter",
    "correctness",
    Severity.WARNING,
    "A %parameter% that only some partitions of the connector define, so objects of the others get no value.",
)
def partial_parameter(ctx: LintContext) -> None:
    global_names = {n for n, _ in ctx.config.parameters}
    decls = {d.name.value: d for d in _connector_decls(ctx)}
    for r in ctx.enabled:
        conn = ctx.connector(r.connector)
        decl = decls.get(r.connector)
        if conn is None or decl is None or len(conn.partitions) < 1:
            continue
        connector_level = {n for n, _ in conn.parameters}
        reported: set[str] = set()
        for name, span in _uses(r):
            if name in reported or name in global_names or name in connector_level or name == "Connector.ID":
                continue
            having = [p for p in decl.partitions if any(q.name.text == name for q in p.parameters)]
            lacking = [p for p in decl.partitions if p not in having]
            if not having or not lacking:
                continue
            reported.add(name)
            missing = ", ".join(repr(p.dn.value) for p in lacking)
            ctx.report(
                span or ctx.rule_span(r),
                f"`%{name}%` is defined in {len(having)} of {len(decl.partitions)} partitions of {r.connector!r}; "
                f"objects in {missing} get no value",
                labels=(Label(having[0].dn.span, "defined here"),),
                help=f"define `{name}` in every partition, or once at connector level",
            )
