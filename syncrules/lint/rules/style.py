"""Style rules (SL5xx) and the linter's own suppression rules (SL0xx)."""

from __future__ import annotations

import re

from syncrules.diagnostics.model import Severity
from syncrules.ir import nodes as ir
from syncrules.lint.context import LintContext
from syncrules.lint.registry import Option, rule

NAME_PATTERN = r"^(In from|Out to) \S.*? - \S+( .+)?$"


@rule(
    "SL001",
    "unused-suppression",
    "style",
    Severity.WARNING,
    "A `# syncrules: ignore[...]` comment that suppresses nothing.",
)
def unused_suppression(ctx: LintContext) -> None:
    """Implemented by the suppression pass (syncrules/lint/suppress.py), which runs after all rules."""


@rule(
    "SL002",
    "invalid-suppression",
    "style",
    Severity.WARNING,
    "A `# syncrules: ignore[...]` comment naming no lint rule, or malformed.",
)
def invalid_suppression(ctx: LintContext) -> None:
    """Implemented by the suppression pass (syncrules/lint/suppress.py)."""


@rule(
    "SL502",
    "inconsistent-rule-naming",
    "style",
    Severity.INFO,
    "A rule name that does not follow the naming convention most rules of the configuration follow.",
    options=(
        Option("pattern", NAME_PATTERN, "The convention, as a regular expression over the rule name."),
        Option("threshold", 0.6, "Share of rules that must follow the convention before outliers are reported."),
        Option("min-rules", 4, "Fewest rules for the convention to count as established."),
    ),
    scope="config",
)
def inconsistent_rule_naming(ctx: LintContext) -> None:
    try:
        pattern = re.compile(str(ctx.options["pattern"]))
    except re.error:
        pattern = re.compile(NAME_PATTERN)
    rules = ctx.enabled
    if len(rules) < int(ctx.options["min-rules"]):
        return
    following = [r for r in rules if pattern.search(r.name)]
    if len(following) < float(ctx.options["threshold"]) * len(rules):
        return
    example = following[0].name
    for r in rules:
        if not pattern.search(r.name):
            ctx.report(
                ctx.rule_span(r),
                f"rule name {r.name!r} does not follow the convention {len(following)} of {len(rules)} rules follow "
                f"(e.g. {example!r})",
                help="name rules `In from <system> - <Type> <Purpose>` or `Out to <system> - <Type> <Purpose>`",
            )


_NAME = re.compile(r"^(In from|Out to)\s+.*?\s+-\s+(\S+)")


def _norm(word: str) -> str:
    return re.sub(r"[^a-z0-9]", "", word.lower())


def _type_words(r: ir.Rule) -> set[str]:
    words = {_norm(r.source_type), _norm(r.target_type)}
    return {w for w in words if w} | {w.removeprefix("msds") for w in words}


@rule(
    "SL503",
    "misleading-rule-name",
    "style",
    Severity.WARNING,
    "A rule name that says `In from`/`Out to` or an object type that contradicts what the rule does.",
)
def misleading_rule_name(ctx: LintContext) -> None:
    known: set[str] = {_norm(t.name) for t in ctx.config.metaverse}
    for c in ctx.config.connectors:
        known |= {_norm(t.name) for t in c.object_types}
    known |= {w.removeprefix("msds") for w in known}
    for r in ctx.enabled:
        m = _NAME.match(r.name)
        if not m:
            continue
        says = "inbound" if m.group(1) == "In from" else "outbound"
        if says != r.direction:
            ctx.report(
                ctx.rule_span(r),
                f"the name says `{m.group(1)}` but the rule is {r.direction}",
                help=f"rename it `{'In from' if r.direction == 'inbound' else 'Out to'} ...`",
            )
            continue
        word = _norm(m.group(2))
        # Only a word that names an object type of the configuration can contradict the rule
        # ("In from AD - IT User Join" is about IT users, not an object type called IT).
        if word in known and word not in _type_words(r) and "*" not in (r.source_type, r.target_type):
            ctx.report(
                ctx.rule_span(r),
                f"the name says `{m.group(2)}` but the rule maps {r.source_type} to {r.target_type}",
                help="rename the rule after the object type it handles",
            )
