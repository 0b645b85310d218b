"""Compatibility rules (SL6xx): Entra Connect conventions that upgrades and tooling rely on."""

from __future__ import annotations

from syncrules.diagnostics.model import Severity
from syncrules.lint.context import LintContext
from syncrules.lint.registry import Option, rule


@rule(
    "SL601",
    "replace-merge-type",
    "compatibility",
    Severity.INFO,
    "The `replace` merge type, which is the same as `update` and not used in practice.",
)
def replace_merge_type(ctx: LintContext) -> None:
    for r in ctx.enabled:
        for f in r.flows:
            if f.merge == "replace":
                ctx.report(
                    ctx.flow_target_span(r, f),
                    "`replace` behaves exactly like `update` and Microsoft documents it as unused",
                    help="drop the merge type (update is the default)",
                )


@rule(
    "SL602",
    "reserved-precedence-without-tag",
    "compatibility",
    Severity.WARNING,
    "A custom rule (no immutable tag) with a number in the range reserved for Microsoft's default rules.",
    options=(Option("reserved-from", 100, "The lowest precedence number reserved for default rules."),),
)
def reserved_precedence_without_tag(ctx: LintContext) -> None:
    floor = int(ctx.options["reserved-from"])
    for r in ctx.enabled:
        if r.tag or r.declared_precedence is None or r.declared_precedence < floor:
            continue
        if ctx.relative_anchor(r) is not None:
            continue  # `before`/`after` a default rule is the documented way in
        ctx.report(
            ctx.precedence_span(r),
            f"rule {r.name!r} has no immutable tag, so it is a custom rule, but precedence {r.declared_precedence} "
            f"is in the range reserved for default rules ({floor} and up)",
            help=f"give custom rules numbers below {floor}, or place them with `precedence before \"<default rule>\"`",
            note="an upgrade renumbers or re-creates the default rules in this range and may collide with it",
        )
