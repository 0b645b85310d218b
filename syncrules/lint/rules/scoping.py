"""Scoping-filter rules: filters that can never match, always match, or compare the wrong way."""

from __future__ import annotations

import re

from syncrules.diagnostics.model import Label, Severity
from syncrules.ir import nodes as ir
from syncrules.lint import scope as sc
from syncrules.lint.context import LintContext
from syncrules.lint.registry import rule


def _clause_text(c: ir.ScopeClause) -> str:
    if c.value is None:
        value = ""
    elif sc.parse_number(c.value) is not None:
        value = f" {c.value.strip()}"
    else:
        value = f' "{c.value}"'
    attr = f"{c.attribute} " if c.attribute else ""
    return f"`{attr}{c.operator}{value}`"


def _conflicting(space: sc.Space, group: tuple[sc.Literal, ...]) -> list[sc.Literal]:
    """The literals on the first attribute that makes the group unsatisfiable on its own."""
    by_attr: dict[str, list[sc.Literal]] = {}
    for lit in group:
        by_attr.setdefault(lit.attr, []).append(lit)
    for attr in sorted(by_attr):
        if space.sat(by_attr[attr]) is sc.UNSAT:
            return by_attr[attr]
    return list(group)


@rule(
    "SL203",
    "contradictory-scope",
    "correctness",
    Severity.WARNING,
    "A scoping group whose clauses contradict each other, so it can never match.",
)
def contradictory_scope(ctx: LintContext) -> None:
    for r in ctx.enabled:
        if not r.scope:
            continue
        space = ctx.space_of(r)
        groups = ctx.scope(r)
        dead = [i for i, g in enumerate(groups) if g and space.sat(g) is sc.UNSAT]
        for i in dead:
            lits = _conflicting(space, groups[i])
            clauses = [lit.clause for lit in lits if lit.clause is not None]
            texts = " and ".join(_clause_text(c) for c in clauses)
            never = len(dead) == len(groups)
            ctx.report(
                ctx.scope_group_span(r, i),
                f"this scope group can never match: {texts} cannot all be true",
                labels=tuple(Label(c.origin, "contradicts") for c in clauses[1:] if c.origin is not None),
                note=f"rule {r.name!r} is never in scope, so it never applies" if never else None,
                help="fix the values or operators, or remove the group",
            )


@rule(
    "SL204",
    "tautological-scope",
    "correctness",
    Severity.WARNING,
    "A scoping filter that matches every object, so it filters nothing.",
)
def tautological_scope(ctx: LintContext) -> None:
    for r in ctx.enabled:
        if not r.scope:
            continue
        groups = ctx.scope(r)
        empty = [i for i, g in enumerate(groups) if not g]
        if empty:
            ctx.report(
                ctx.scope_group_span(r, empty[0]),
                "an empty scope group matches every object" + (", so the other groups are pointless" if len(groups) > 1 else ""),
                help="remove the empty group (a rule without `scope` already applies to every object)",
            )
            continue
        if sc.tautology(ctx.space_of(r), groups) is sc.SAT:
            ctx.report(
                ctx.scope_span(r),
                f"the scope of rule {r.name!r} matches every object: its groups cover every possible value",
                help="remove the scope if the rule is meant for every object; otherwise fix the operators",
                note="an attribute either has a value or not, and a value either equals something or not; "
                "groups that cover both sides filter nothing",
            )


_TEXT_OPS = ("CONTAINS", "NOTCONTAINS", "STARTSWITH", "NOTSTARTSWITH", "ENDSWITH", "NOTENDSWITH")
_ORDER_OPS = ("LESSTHAN", "LESSTHAN_OR_EQUAL", "GREATERTHAN", "GREATERTHAN_OR_EQUAL")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$|^\d{14}\.0Z$")


def _value_problem(c: ir.ScopeClause, info: sc.AttrInfo) -> str | None:
    op, value = c.operator, c.value
    if value is not None and "%" in value:
        return None
    if op in ("ISMEMBEROF", "ISNOTMEMBEROF"):
        if value is not None and "=" not in value:
            return f"`{op}` needs the distinguished name of a group, and {value!r} is not a DN"
        return None
    attr = c.attribute or ""
    kind = info.type
    if op in _TEXT_OPS and kind in ("number", "boolean", "binary", "datetime"):
        return f"`{op}` compares text, but `{attr}` holds {kind} values"
    if op in _ORDER_OPS and kind == "string" and value is not None and sc.parse_number(value) is not None:
        return (
            f"`{op}` on the text attribute `{attr}` compares text, not numbers "
            f'(as text, "9" is greater than "{value}")'
        )
    if op in _ORDER_OPS and kind == "datetime" and value is not None and not _DATE.match(value.strip()):
        return f"`{attr}` holds dates, but {value!r} is not a date (write e.g. 2024-01-31T00:00:00Z)"
    if op in ("ISIN", "ISNOTIN") and not info.multi:
        fix = "EQUAL" if op == "ISIN" else "NOTEQUAL"
        return f"`{op}` is for multi-valued attributes; `{attr}` is single-valued (use `{fix}`)"
    if op in ("EQUAL", "NOTEQUAL") and info.multi:
        fix = "ISIN" if op == "EQUAL" else "ISNOTIN"
        return f"`{attr}` is multi-valued: `{op}` compares one value, use `{fix}` to test whether any value matches"
    if kind == "reference" and op in ("EQUAL", "NOTEQUAL") and value is not None and "=" not in value:
        return f"`{attr}` holds references (DNs), but {value!r} is not a DN"
    if kind == "binary" and op in ("EQUAL", "NOTEQUAL"):
        return f"`{attr}` holds binary values; comparing it with the text {value!r} is not defined"
    return None


@rule(
    "SL205",
    "scope-value-type",
    "correctness",
    Severity.WARNING,
    "A scoping clause whose operator or value does not suit the attribute's type (beyond SR207).",
)
def scope_value_type(ctx: LintContext) -> None:
    for r in ctx.enabled:
        if not r.scope:
            continue
        space = ctx.space_of(r)
        for group in r.scope:
            for c in group:
                info = space.info(c.attribute) if c.attribute else sc.AttrInfo("string")
                problem = _value_problem(c, info)
                if problem:
                    ctx.report(c.origin or ctx.rule_span(r), problem)


@rule(
    "SL212",
    "scope-on-unset-attribute",
    "correctness",
    Severity.WARNING,
    "An outbound scope requires a metaverse attribute that no inbound rule ever sets.",
    scope="config",
)
def scope_on_unset_attribute(ctx: LintContext) -> None:
    for r in ctx.enabled:
        if r.direction != "outbound" or not r.scope or r.source_type not in ctx.inbound_types:
            continue
        for group in r.scope:
            for c in group:
                if c.attribute is None or c.operator not in sc.PRESENCE_OPERATORS:
                    continue
                if (r.source_type, c.attribute) in ctx.inbound_flows:
                    continue
                ctx.report(
                    c.origin or ctx.rule_span(r),
                    f"no inbound rule sets `{c.attribute}` of {r.source_type}, so {_clause_text(c)} is never true "
                    "and this scope group never matches",
                    help=f"flow `{c.attribute}` from an inbound rule, or drop the clause",
                )
