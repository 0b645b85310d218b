"""Flow rules: apply-once, password sync, and reads of attributes nothing sets.

(A merge type on a single-valued attribute is the compiler's SR204.)
"""

from __future__ import annotations

from collections.abc import Iterator

from syncrules.diagnostics.model import Severity
from syncrules.ir import nodes as ir
from syncrules.lint import exprs
from syncrules.lint.context import LintContext
from syncrules.lint.registry import rule
from syncrules.source import Span


def _reads(f: ir.Flow) -> Iterator[tuple[str, Span | None]]:
    if f.kind == "direct":
        for s in f.sources:
            yield s, f.origin
    if f.expr is not None:
        for node in exprs.walk(f.expr):
            if isinstance(node, ir.Attr):
                yield node.name, node.origin
            elif (
                isinstance(node, ir.CallFn)
                and node.name in ("ImportedValue", "ValueCount")
                and node.args
                and isinstance(node.args[0], ir.Const)
                and isinstance(node.args[0].value, str)
            ):
                yield node.args[0].value, node.origin


@rule(
    "SL213",
    "read-of-unset-attribute",
    "correctness",
    Severity.WARNING,
    "An outbound flow reads a metaverse attribute that no inbound rule ever sets, so it is always empty.",
    scope="config",
)
def read_of_unset_attribute(ctx: LintContext) -> None:
    for r in ctx.enabled:
        if r.direction != "outbound" or r.source_type not in ctx.inbound_types:
            continue
        reported: set[str] = set()
        for f in r.flows:
            for name, span in _reads(f):
                if name in reported or (r.source_type, name) in ctx.inbound_flows:
                    continue
                reported.add(name)
                ctx.report(
                    span or ctx.flow_target_span(r, f),
                    f"no inbound rule sets `{name}` of {r.source_type}, so this flow always reads it as empty",
                    help=f"flow `{name}` into the metaverse from an inbound rule, or stop reading it",
                )


@rule(
    "SL214",
    "password-sync-without-effect",
    "correctness",
    Severity.WARNING,
    "`password-sync` on a rule where it has no effect (only inbound from Active Directory or outbound to Entra ID).",
)
def password_sync_without_effect(ctx: LintContext) -> None:
    for r in ctx.enabled:
        if not r.password_sync:
            continue
        conn = ctx.connector(r.connector)
        if conn is None:
            continue
        if (r.direction == "inbound" and conn.kind == "active-directory") or (
            r.direction == "outbound" and conn.kind == "entra-id"
        ):
            continue
        ctx.report(
            ctx.setting_span(r, "password-sync"),
            f"`password-sync` has no effect on an {r.direction} rule of a {conn.kind} connector",
            help="password hash sync reads passwords from Active Directory (inbound) and writes them to "
            "Entra ID (outbound); remove the setting here",
        )


@rule(
    "SL305",
    "once-without-provision",
    "safety",
    Severity.WARNING,
    "An apply-once flow on a rule that never creates its target object (its link is not provision).",
)
def once_without_provision(ctx: LintContext) -> None:
    for r in ctx.enabled:
        if r.link == "provision":
            continue
        for f in r.flows:
            if f.once:
                side = "metaverse object" if r.direction == "inbound" else f"object in {r.connector!r}"
                ctx.report(
                    ctx.flow_target_span(r, f),
                    f"`once` flows only run when this rule creates the {side}, but rule {r.name!r} has link "
                    f"`{r.link}` and never creates it, so `{f.target}` is never set",
                    help="move the flow to the rule with `link provision`, or drop `once`",
                )
