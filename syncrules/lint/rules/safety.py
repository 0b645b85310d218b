"""Safety rules (SL3xx): configurations that can delete objects in a connected directory.

The expensive mistakes in identity synchronization are deletions: an outbound Provision rule
deprovisions (deletes) every object that leaves its scope, so anything that can push objects out
of scope en masse -- an attribute set to NULL, an unprotected Provision rule -- is flagged here.
"""

from __future__ import annotations

from syncrules.diagnostics.model import Label, Severity
from syncrules.ir import nodes as ir
from syncrules.lint import exprs
from syncrules.lint import scope as sc
from syncrules.lint.context import LintContext
from syncrules.lint.registry import rule


def _condition_text(ctx: LintContext, outcome: exprs.Outcome) -> str:
    parts = []
    for cond, polarity in outcome.conditions:
        text = ctx.text(cond.origin) or "a condition"
        if len(text) > 80:
            text = text[:77] + "..."
        parts.append(text if polarity else f"not ({text})")
    return " and ".join(parts)


def _can_put_in_scope(ctx: LintContext, p: ir.Rule, groups: sc.Scope, attr: str, expr: ir.Expr) -> bool:
    """Can this flow's own values satisfy the Provision rule's clause on ``attr``?

    If every value the flow can give is a literal that fails the clause (it gives "User" and the
    rule wants "Contact"), objects in scope got their value from another rule, and this flow's
    NULL only lets that value through: it cannot be what takes them out of scope.
    AuthoritativeNull is different: it clears the attribute whatever the other rules give.
    """
    info = ctx.space_of(p).info(attr)
    tests = [lit for g in groups for lit in g if lit.attr == attr and lit.mode == sc.PRESENT]
    for o in exprs.outcomes(expr):
        node = o.node
        if exprs.is_authoritative_null(node):
            return True  # clears the attribute whatever other rules contribute
        if exprs.is_null(node) or exprs.is_authoritative_null(node) or exprs.is_ignore(node) or exprs.is_error(node):
            continue
        if not isinstance(node, ir.Const) or node.type not in ("str", "num", "bool"):
            return True  # a computed value: could be anything
        text = str(node.value) if not isinstance(node.value, bool) else ("True" if node.value else "False")
        for lit in tests:
            if lit.pred is None:
                return True
            clause = ir.ScopeClause(attr, "EQUAL", text)
            value = sc.literal(clause, info).pred
            assert value is not None
            if sc.holds(lit.pred, value.value) is not False:
                return True
    return False


def _always_non_null(flow: ir.Flow) -> bool:
    if flow.kind == "constant":
        return True
    e = flow.expr
    return isinstance(e, ir.Const) and e.type in ("str", "num", "bool")


@rule(
    "SL301",
    "deprovision-on-null",
    "safety",
    Severity.WARNING,
    "An outbound Provision rule is scoped on an attribute that an inbound rule can set to NULL: objects would be deprovisioned.",
    scope="config",
)
def deprovision_on_null(ctx: LintContext) -> None:
    for p in ctx.enabled:
        if p.direction != "outbound" or p.link != "provision" or not p.scope:
            continue
        groups = ctx.scope(p)
        required: set[str] | None = None
        for g in groups:
            here = {lit.attr for lit in g if lit.mode == sc.PRESENT and not lit.attr.startswith("memberof:")}
            required = here if required is None else required & here
        for attr in sorted(required or ()):
            contributors = ctx.inbound_flows.get((p.source_type, attr), [])
            nulling: list[tuple[ir.Rule, ir.Flow, exprs.Outcome]] = []
            for i, f in contributors:
                if f.expr is None or not _can_put_in_scope(ctx, p, groups, attr, f.expr):
                    continue
                for o in exprs.outcomes(f.expr):
                    if exprs.is_null(o.node) or exprs.is_authoritative_null(o.node):
                        backstop = exprs.is_null(o.node) and any(
                            b is not i and _always_non_null(bf) and ctx.wins_over(i, b) and ctx.implies(i, b)
                            for b, bf in contributors
                        )
                        if not backstop:
                            nulling.append((i, f, o))
                        break
            if not nulling:
                continue
            clause_lit = sc.requires_presence(groups[0], attr)
            clause = clause_lit.clause if clause_lit is not None else None
            span = clause.origin if clause is not None and clause.origin is not None else ctx.rule_span(p)
            first_rule, _first_flow, first = nulling[0]
            value = "AuthoritativeNull" if exprs.is_authoritative_null(first.node) else "NULL"
            when = _condition_text(ctx, first)
            others = len({r.name for r, _, _ in nulling}) - 1
            more = f" (and {others} other rule{'s' if others != 1 else ''})" if others > 0 else ""
            ctx.report(
                span,
                f"Provision rule {p.name!r} only keeps {p.source_type} objects whose `{attr}` has a value, but inbound "
                f"rule {first_rule.name!r}{more} can set `{attr}` to {value}",
                labels=tuple(
                    Label(o.node.origin, f"{r.name!r} contributes {'AuthoritativeNull' if exprs.is_authoritative_null(o.node) else 'NULL'} here")
                    for r, _, o in nulling[:3]
                    if o.node.origin is not None
                ),
                note=(
                    f"path: {first_rule.name!r} gives `{attr}` = {value}"
                    + (f" when {when}" if when else "")
                    + f" -> no rule supplies another value -> `{attr}` is removed from the metaverse -> every scope "
                    f"group of {p.name!r} is false -> the object leaves its scope -> its {p.target_type} in "
                    f"{p.connector!r} is deprovisioned (deleted)"
                ),
                help="contribute IgnoreThisFlow (keeps the existing value) instead of NULL, or make sure a "
                f"lower-precedence rule always supplies `{attr}`",
            )


def _zero_interval(text: str | None) -> bool:
    return text is None or all(ch in "0:. " for ch in text)


@rule(
    "SL302",
    "provision-without-deletion-protection",
    "safety",
    Severity.WARNING,
    "An outbound Provision rule with no deletion protection while the connector's export deletion threshold is off.",
    scope="config",
)
def provision_without_deletion_protection(ctx: LintContext) -> None:
    where = ctx.settings.config_path.name if ctx.settings.config_path else "syncrules.toml"
    for r in ctx.enabled:
        if r.direction != "outbound" or r.link != "provision":
            continue
        if ctx.settings.threshold_for(r.connector) > 0:
            continue
        if not _zero_interval(r.soft_delete_expiry):
            continue
        guarded = any(
            o.link == "join-no-flow" and o.direction == "outbound" and ctx.slot(o) == ctx.slot(r) for o in ctx.enabled
        )
        if guarded:
            continue
        ctx.report(
            ctx.rule_span(r),
            f"the export deletion threshold of {r.connector!r} is off and Provision rule {r.name!r} has no deletion "
            "protection: a scope or data mistake deletes every object it provisioned in one export",
            help=f"turn the threshold back on (`[options] deletion_threshold = 500` in {where}), set a "
            "`soft-delete-expiry` on the rule, or keep objects with a JoinNoFlow rule",
            note="objects that leave the scope of a Provision rule are deleted in the connected directory",
        )


@rule(
    "SL303",
    "join-no-flow-misuse",
    "safety",
    Severity.WARNING,
    "A JoinNoFlow rule without a scope (it freezes every object) or with flows it suppresses anyway.",
)
def join_no_flow_misuse(ctx: LintContext) -> None:
    for r in ctx.enabled:
        if r.link != "join-no-flow":
            continue
        if not r.scope:
            ctx.report(
                ctx.setting_span(r, "link"),
                f"JoinNoFlow rule {r.name!r} has no scope, so it applies to every {r.source_type}: adds, deletes and "
                f"attribute updates stop for all of them in {r.connector!r}",
                help="scope it to the objects to freeze, e.g. `scope { cloudNoFlow EQUAL \"True\" }`",
                note="JoinNoFlow is meant for a pilot or migration: a flag set on selected objects by an inbound rule",
            )
        suppressed = [f for f in r.flows if ir.scalar_of(f.target_type) != "ref"]
        if suppressed:
            f = suppressed[0]
            more = f" and {len(suppressed) - 1} more" if len(suppressed) > 1 else ""
            ctx.report(
                ctx.flow_target_span(r, f),
                f"JoinNoFlow suppresses non-reference updates, so the flow of `{f.target}`{more} in {r.name!r} is "
                "never exported",
                help="move these flows to a Join rule; only reference attributes (member, manager) still flow",
            )
