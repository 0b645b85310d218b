"""Conflict rules (SL1xx): rules that fight over the same object or the same attribute.

All of them are cross-file: they compare every rule with every other rule of the configuration,
wherever it is written, and use the scope analysis to skip pairs that can never meet.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import combinations

from syncrules.diagnostics.model import Label, Severity
from syncrules.ir import nodes as ir
from syncrules.lint import exprs
from syncrules.lint import scope as sc
from syncrules.lint.context import LintContext
from syncrules.lint.registry import rule

_UPDATE = ("update", "replace")


def _contribution_key(r: ir.Rule, flow: ir.Flow) -> tuple[str, ...]:
    """Which attribute a flow contributes to: MV type + attribute inbound, CS type outbound."""
    if r.direction == "inbound":
        return ("inbound", r.target_type, flow.target)
    return ("outbound", r.connector, r.target_type, flow.target)


def _can_meet(ctx: LintContext, a: ir.Rule, b: ir.Rule) -> bool:
    """Can both rules be in scope for one object (so their contributions compete)?

    Inbound rules from the same connector but different object types never meet: a metaverse
    object is joined to at most one object of a connector. Rules from different connectors can
    meet through one metaverse object; rules on the same space are compared by scope analysis
    (only a proof of disjointness keeps them apart).
    """
    if a.direction == "inbound" and a.connector == b.connector and a.source_type != b.source_type:
        return False
    if a.direction == "outbound" and a.source_type != b.source_type:
        return False
    return ctx.overlap(a, b) is not sc.UNSAT


def _names(attrs: list[str], limit: int = 4) -> str:
    shown = ", ".join(f"`{a}`" for a in attrs[:limit])
    return shown + (f" and {len(attrs) - limit} more" if len(attrs) > limit else "")


@rule(
    "SL101",
    "equal-precedence-conflict",
    "conflict",
    Severity.ERROR,
    "Two rules that can be in scope for the same object flow the same attribute with the same precedence.",
    scope="config",
)
def equal_precedence_conflict(ctx: LintContext) -> None:
    by_key: dict[tuple[object, ...], list[ir.Rule]] = defaultdict(list)
    for r in ctx.enabled:
        by_key[(r.direction, ctx.order_keys[r.name])].append(r)
    for (_direction, key), group in sorted(by_key.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        if len(group) < 2:
            continue
        for a, b in combinations(group, 2):
            a_targets = {_contribution_key(a, f): f for f in a.flows if f.merge in _UPDATE}
            shared = [
                (f, a_targets[_contribution_key(b, f)])
                for f in b.flows
                if f.merge in _UPDATE and _contribution_key(b, f) in a_targets
            ]
            if not shared or not _can_meet(ctx, a, b):
                continue
            attrs = sorted({f.target for f, _ in shared})
            first_b, first_a = shared[0]
            ctx.report(
                ctx.precedence_span(b),
                f"rules {a.name!r} and {b.name!r} both have precedence {key[0]} and both flow {_names(attrs)}",
                labels=(
                    Label(ctx.precedence_span(a), f"{a.name!r} has the same precedence"),
                    *([Label(first_a.origin, "competing flow")] if first_a.origin else []),
                ),
                help="give one of them a lower number (or place it with `precedence before`/`after`), "
                "so the winner does not depend on the order the files are read in",
                note="for each attribute the engine takes the rule with the highest precedence; "
                "with a tie, which value wins is undefined",
            )


@rule(
    "SL102",
    "duplicate-precedence",
    "conflict",
    Severity.WARNING,
    "Two enabled rules of one connector and direction share a precedence number.",
    scope="config",
)
def duplicate_precedence(ctx: LintContext) -> None:
    groups: dict[tuple[str, str, tuple[int, tuple[int, ...]]], list[ir.Rule]] = defaultdict(list)
    for r in ctx.enabled:
        groups[(r.connector, r.direction, ctx.order_keys[r.name])].append(r)
    for (connector, direction, key), group in groups.items():
        if len(group) < 2:
            continue
        first = group[0]
        for other in group[1:]:
            ctx.report(
                ctx.precedence_span(other),
                f"{direction} rules {first.name!r} and {other.name!r} of {connector!r} share precedence {key[0]}",
                labels=(Label(ctx.precedence_span(first), "the same precedence here"),),
                help="precedence numbers should be unique per connector and direction; renumber one of them",
            )


def _join_signature(r: ir.Rule) -> tuple[tuple[tuple[str, str, bool], ...], ...]:
    return tuple(tuple(sorted((c.cs_attribute, c.mv_attribute, c.case_sensitive) for c in g)) for g in r.join)


def _joins(r: ir.Rule) -> bool:
    return bool(r.join) or (r.direction == "outbound" and r.link == "provision")


@rule(
    "SL103",
    "overlapping-join-rules",
    "conflict",
    Severity.ERROR,
    "More than one rule with join criteria (or outbound provisioning) can be in scope for the same object.",
    scope="config",
)
def overlapping_join_rules(ctx: LintContext) -> None:
    slots: dict[object, list[ir.Rule]] = defaultdict(list)
    provisioners: dict[tuple[str, str], list[ir.Rule]] = defaultdict(list)
    for r in ctx.enabled:
        if _joins(r):
            slots[ctx.slot(r)].append(r)
        if r.direction == "outbound" and r.link == "provision":
            provisioners[(r.connector, r.source_type)].append(r)
    reported: set[tuple[str, str]] = set()
    for group in slots.values():
        for a, b in combinations(group, 2):
            if a.join and b.join and _join_signature(a) == _join_signature(b):
                continue  # identical criteria (same JoinHash) are tolerated by the engine
            if a.direction == "outbound" and a.source_type != b.source_type:
                continue
            if ctx.overlap(a, b) is not sc.SAT:
                continue  # only a proved overlap: an error must not rest on a guess
            reported.add((a.name, b.name))
            what = "join criteria" if a.join and b.join else "join criteria or provisioning"
            ctx.report(
                ctx.rule_span(b),
                f"rules {a.name!r} and {b.name!r} both have {what} for {ctx.cs_type_name(b)} objects of "
                f"{b.connector!r}, and their scopes can match the same object",
                labels=(Label(ctx.rule_span(a), "the other rule"),),
                help="only one rule with join criteria may be in scope per object: keep the join criteria on "
                "one rule (the \"... Join\" rule) and make the scopes disjoint or remove the other criteria",
                note="precedence is not used to resolve join conflicts; which rule joins is undefined",
            )
    for (connector, _mv), group in provisioners.items():
        for a, b in combinations(group, 2):
            if a.target_type == b.target_type or (a.name, b.name) in reported:
                continue
            if ctx.overlap(a, b) is not sc.SAT:
                continue
            ctx.report(
                ctx.rule_span(b),
                f"Provision rules {a.name!r} ({a.target_type}) and {b.name!r} ({b.target_type}) can both be in "
                f"scope for one {b.source_type}, which would be provisioned twice to {connector!r}",
                labels=(Label(ctx.rule_span(a), "the other Provision rule"),),
                help="make the scopes disjoint, e.g. on sourceObjectType",
            )


@rule(
    "SL104",
    "tied-with-disabled-rule",
    "conflict",
    Severity.WARNING,
    "A rule ties with a disabled rule's precedence, or is placed before/after a disabled rule.",
    scope="config",
)
def tied_with_disabled_rule(ctx: LintContext) -> None:
    disabled = [r for r in ctx.rules if r.disabled]
    if not disabled:
        return
    for r in ctx.enabled:
        anchor = ctx.relative_anchor(r)
        if anchor is not None and anchor.disabled:
            where = "before" if r.precedence_before else "after"
            ctx.report(
                ctx.precedence_span(r),
                f"rule {r.name!r} is placed {where} {anchor.name!r}, which is disabled",
                labels=(Label(ctx.setting_span(anchor, "disabled"), "disabled here"),),
                help="place it relative to an enabled rule, or give it its own number",
                note="its position follows a rule that does not run; re-enabling or removing that rule moves it",
            )
            continue
        for d in disabled:
            if d.connector == r.connector and d.direction == r.direction and ctx.order_keys[d.name] == ctx.order_keys[r.name]:
                ctx.report(
                    ctx.precedence_span(r),
                    f"rule {r.name!r} has the same precedence ({r.precedence}) as the disabled rule {d.name!r}",
                    labels=(Label(ctx.precedence_span(d), "disabled rule with this precedence"),),
                    help="renumber one of them: re-enabling the disabled rule (an upgrade may) creates a tie",
                )
                break


def _always_contributes(flow: ir.Flow) -> bool:
    """A flow that contributes a value (or AuthoritativeNull) for every object in scope."""
    if flow.once or flow.merge not in _UPDATE:
        return False
    if flow.kind == "constant":
        return True
    if flow.kind == "expression" and flow.expr is not None:
        e = flow.expr
        if isinstance(e, ir.Const) and not exprs.is_null(e) and not exprs.is_ignore(e):
            return True
    return False


@rule(
    "SL105",
    "shadowed-flow",
    "conflict",
    Severity.WARNING,
    "A flow that can never win: a higher-precedence rule in scope for every such object always flows the attribute.",
    scope="config",
)
def shadowed_flow(ctx: LintContext) -> None:
    winners: dict[tuple[str, ...], list[tuple[ir.Rule, ir.Flow]]] = defaultdict(list)
    for r in ctx.enabled:
        for f in r.flows:
            if _always_contributes(f):
                winners[_contribution_key(r, f)].append((r, f))
    if not winners:
        return
    for r in ctx.enabled:
        for f in r.flows:
            if f.merge not in _UPDATE or (f.expr is not None and exprs.is_ignore(f.expr)):
                continue
            for w, wf in winners.get(_contribution_key(r, f), ()):
                if w is r or not ctx.wins_over(w, r) or not ctx.implies(r, w):
                    continue
                ctx.report(
                    ctx.flow_target_span(r, f),
                    f"this flow of `{f.target}` never takes effect: {w.name!r} has a higher precedence, is in scope "
                    f"for every object this rule is, and always flows `{f.target}`",
                    labels=(Label(wf.origin, "always wins"),) if wf.origin else (),
                    help="remove the flow, or narrow the scope of the winning rule",
                )
                break
