"""Join-criteria rules: comparisons that cannot work as written, and joins the metaverse cannot index."""

from __future__ import annotations

from syncrules.diagnostics.model import Severity
from syncrules.ir import nodes as ir
from syncrules.lint.context import LintContext
from syncrules.lint.registry import rule


def _mv_attribute(ctx: LintContext, r: ir.Rule, name: str) -> list[tuple[str, ir.AttributeType]]:
    """(type name, attribute) for the metaverse side of a join; several for a ``*`` rule."""
    mv_name = ctx.mv_type_name(r)
    types = ctx.config.metaverse if mv_name == "*" else [t for t in ctx.config.metaverse if t.name == mv_name]
    out = []
    for t in types:
        a = t.attribute(name)
        if a is not None:
            out.append((t.name, a))
    return out


def _cs_attribute(ctx: LintContext, r: ir.Rule, name: str) -> ir.AttributeType | None:
    t = ctx.cs_type(r)
    if name == "dn":
        return ir.AttributeType("dn", "reference")
    return t.attribute(name) if t is not None else None


_NOT_TEXT = ("binary", "number", "boolean", "datetime")


@rule(
    "SL206",
    "join-attribute-mismatch",
    "correctness",
    Severity.WARNING,
    "A join clause that compares text with a reference, or asks for case-sensitivity on values without case.",
)
def join_attribute_mismatch(ctx: LintContext) -> None:
    for r in ctx.enabled:
        for group in r.join:
            for c in group:
                cs = _cs_attribute(ctx, r, c.cs_attribute)
                mvs = _mv_attribute(ctx, r, c.mv_attribute)
                if cs is None or not mvs:
                    continue
                mv = mvs[0][1]
                span = c.origin or ctx.rule_span(r)
                if c.case_sensitive:
                    plain = [a for a in (cs, mv) if a.type in _NOT_TEXT]
                    if plain:
                        a = plain[0]
                        ctx.report(
                            span,
                            f"`case-sensitive` has no meaning here: `{a.name}` holds {a.type} values, which have no letter case",
                            help="remove `case-sensitive`",
                        )
                        continue
                if {cs.type, mv.type} == {"string", "reference"}:
                    text, ref = (cs, mv) if cs.type == "string" else (mv, cs)
                    ctx.report(
                        span,
                        f"join compares the text attribute `{text.name}` with the reference `{ref.name}`; they "
                        "match only when the text holds exactly the referenced object's DN",
                        help="join on attributes of the same type, e.g. an identifier present on both sides",
                    )


@rule(
    "SL401",
    "join-on-unindexed-attribute",
    "performance",
    Severity.WARNING,
    "Join criteria on a metaverse attribute that the schema does not index.",
)
def join_on_unindexed_attribute(ctx: LintContext) -> None:
    for r in ctx.enabled:
        seen: set[str] = set()
        for group in r.join:
            for c in group:
                if c.mv_attribute in seen:
                    continue
                seen.add(c.mv_attribute)
                for type_name, a in _mv_attribute(ctx, r, c.mv_attribute):
                    if not a.indexed:
                        ctx.report(
                            c.origin or ctx.rule_span(r),
                            f"join on `{a.name}`, which is not indexed in metaverse type `{type_name}`: every join "
                            "searches all metaverse objects",
                            help=f"declare it `{a.name} {a.type}{' multi' if a.multi else ''} indexed` in the metaverse schema",
                        )
                        break
