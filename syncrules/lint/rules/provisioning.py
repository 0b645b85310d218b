"""Rules about creating and reaching objects: provisioning, anchors, joins that nothing makes."""

from __future__ import annotations

from syncrules.diagnostics.model import Label, Severity
from syncrules.ir import nodes as ir
from syncrules.lint import scope as sc
from syncrules.lint.context import LintContext
from syncrules.lint.registry import Option, rule

DN_KINDS = ("ldap", "active-directory")


@rule(
    "SL201",
    "provision-missing-required",
    "correctness",
    Severity.ERROR,
    "An outbound Provision rule does not produce every attribute the target object type requires.",
    scope="config",
)
def provision_missing_required(ctx: LintContext) -> None:
    for r in ctx.enabled:
        if r.direction != "outbound" or r.link != "provision":
            continue
        conn = ctx.connector(r.connector)
        t = ctx.cs_type(r)
        if conn is None or t is None:
            continue
        required = [a.name for a in t.attributes if a.required and a.name not in conn.anchor]
        if conn.kind in DN_KINDS:
            required.insert(0, "dn")
        if not required:
            continue
        produced = {f.target for f in r.flows}
        helpers: list[ir.Rule] = []
        for other in ctx.enabled:
            if other is r or other.direction != "outbound" or ctx.slot(other) != ctx.slot(r):
                continue
            if other.source_type == r.source_type and ctx.implies(r, other):
                new = {f.target for f in other.flows} - produced
                if new:
                    helpers.append(other)
                    produced |= new
        missing = [a for a in required if a not in produced]
        if not missing:
            continue
        names = ", ".join(f"`{a}`" for a in missing)
        why = []
        if "dn" in missing:
            why.append(f"a {conn.kind} connector needs a distinguished name (`dn`) to create an object")
        if any(a != "dn" for a in missing):
            why.append(f"`{r.target_type}` of {r.connector!r} declares them `required`")
        ctx.report(
            ctx.rule_span(r),
            f"Provision rule {r.name!r} creates {r.target_type} objects in {r.connector!r} without {names}",
            help="add a flow for " + names + (" (e.g. `flow dn <- \"CN=\" & [cn] & \",OU=...\"`)" if "dn" in missing else ""),
            note="; ".join(why) + "; the export of every new object fails",
        )


@rule(
    "SL202",
    "export-to-anchor",
    "correctness",
    Severity.ERROR,
    "An outbound flow writes the connector's anchor attribute, which the connected directory assigns.",
    options=(
        Option(
            "kinds",
            ["active-directory", "entra-id", "ldap"],
            "Connector kinds whose anchor is assigned by the directory (objectGUID, cloudAnchor, entryUUID).",
        ),
    ),
)
def export_to_anchor(ctx: LintContext) -> None:
    kinds = set(ctx.options["kinds"])
    for r in ctx.enabled:
        if r.direction != "outbound":
            continue
        conn = ctx.connector(r.connector)
        if conn is None or conn.kind not in kinds:
            continue
        for f in r.flows:
            if f.target in conn.anchor:
                ctx.report(
                    ctx.flow_target_span(r, f),
                    f"`{f.target}` is the anchor of {r.connector!r} ({conn.kind}); the directory assigns it and "
                    "rejects exports to it",
                    help="remove the flow; to match existing objects use join criteria instead",
                )


def _can_join(r: ir.Rule) -> bool:
    return bool(r.join) or r.link == "provision"


@rule(
    "SL211",
    "unreachable-rule",
    "correctness",
    Severity.WARNING,
    "A rule without join criteria whose objects no joining or provisioning rule can reach, so its flows never run.",
    scope="config",
)
def unreachable_rule(ctx: LintContext) -> None:
    for r in ctx.enabled:
        if r.join or r.link == "provision" or not r.flows:
            continue
        candidates: list[ir.Rule] = []
        reachable = False
        for j in ctx.enabled:
            if j is r or not _can_join(j) or j.connector != r.connector:
                continue
            if r.direction == "inbound":
                if j.direction != "inbound" or j.source_type != r.source_type:
                    continue
                if "*" not in (j.target_type, r.target_type) and j.target_type != r.target_type:
                    continue
            else:
                if j.direction == "outbound":
                    if j.target_type != r.target_type or j.source_type != r.source_type:
                        continue
                else:
                    # An inbound rule of the same connector that joins the connector object to
                    # the metaverse also connects it for outbound flows.
                    if j.source_type != r.target_type or j.target_type not in (r.source_type, "*"):
                        continue
                    reachable = True
                    break
            candidates.append(j)
            if ctx.overlap(r, j) is not sc.UNSAT:
                reachable = True
                break
        if reachable:
            continue
        cs = ctx.cs_type_name(r)
        if candidates:
            message = (
                f"rule {r.name!r} has no join criteria, and the scopes of the rules that join {cs} objects of "
                f"{r.connector!r} never overlap with its scope, so its {len(r.flows)} flow(s) never run"
            )
            labels = tuple(Label(ctx.rule_span(c), "joins, but never the same objects") for c in candidates[:3])
        else:
            message = (
                f"rule {r.name!r} has no join criteria and no rule joins or provisions {cs} objects of "
                f"{r.connector!r}, so its {len(r.flows)} flow(s) never run"
            )
            labels = ()
        ctx.report(
            ctx.rule_span(r),
            message,
            labels=labels,
            help="add join criteria (or `link provision`) to this rule or to a rule covering the same objects",
            note="a rule without join criteria only flows attributes for objects another rule joined or provisioned",
        )
