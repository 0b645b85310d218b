"""Expression rules: constant conditions, needless complexity, flows that do nothing or fail."""

from __future__ import annotations

from collections.abc import Iterator

from syncrules.catalogue import load_catalogue
from syncrules.diagnostics.model import Severity
from syncrules.ir import nodes as ir
from syncrules.lint import exprs
from syncrules.lint import scope as sc
from syncrules.lint.context import LintContext
from syncrules.lint.registry import rule


def _flows(ctx: LintContext) -> Iterator[tuple[ir.Rule, ir.Flow, ir.Expr]]:
    for r in ctx.enabled:
        for f in r.flows:
            if f.expr is not None:
                yield r, f, f.expr


def _nodes(ctx: LintContext) -> Iterator[tuple[ir.Rule, ir.Flow, ir.Expr]]:
    """Every sub-expression of every flow, walked once per run and shared by the rules."""
    for r, f, _expr in _flows(ctx):
        for node in ctx.nodes(f):
            yield r, f, node


def _word(value: bool) -> str:
    return "True" if value else "False"


@rule(
    "SL207",
    "constant-condition",
    "correctness",
    Severity.WARNING,
    "An IIF or Switch condition that is the same for every object, so one branch never runs.",
)
def constant_condition(ctx: LintContext) -> None:
    for r, _f, node in _nodes(ctx):
        if isinstance(node, ir.CallFn):
            if node.name == "IIF" and len(node.args) == 3:
                truth = exprs.constant_truth(node.args[0])
                if truth is not None:
                    dead = "else" if truth else "then"
                    ctx.report(
                        node.args[0].origin or ctx.rule_span(r),
                        f"this IIF condition is always {_word(truth)}, so its {dead} branch never runs",
                        help="replace the IIF with the branch that always runs",
                    )
            elif node.name == "Switch" and len(node.args) >= 2:
                conds = node.args[0::2]
                for i, cond in enumerate(conds):
                    truth = exprs.constant_truth(cond)
                    if truth is None or (truth and i == len(conds) - 1):
                        continue  # a final `True` is the Switch's default: idiomatic
                    what = (
                        "its value is never used"
                        if not truth
                        else "the pairs after it never run"
                    )
                    ctx.report(
                        cond.origin or ctx.rule_span(r),
                        f"this Switch condition is always {_word(truth)}, so {what}",
                        help="remove the pair" if not truth else "make it the last pair, or remove the pairs after it",
                    )


def _simplification(node: ir.Expr) -> tuple[str, str] | None:
    """(what is wrong, what to write instead) for the patterns SL501 knows."""
    if isinstance(node, ir.CallFn) and node.name == "IIF" and len(node.args) == 3:
        cond, yes, no = node.args
        if (
            isinstance(yes, ir.Const)
            and isinstance(no, ir.Const)
            and yes.type == "bool"
            and no.type == "bool"
            and exprs.never_null(cond)  # otherwise a NULL condition gives False, not NULL
        ):
            if yes.value is True and no.value is False:
                return "`IIF(c, True, False)` is `c`", "write the condition itself"
            if yes.value is False and no.value is True:
                return "`IIF(c, False, True)` is `c = False`", "write `(condition) = False`"
        if yes == no:
            return "both branches of this IIF are the same", "write the branch without the IIF"
        if (
            isinstance(cond, ir.CallFn)
            and cond.name == "IsPresent"
            and len(cond.args) == 1
            and isinstance(cond.args[0], ir.Attr)
            and yes == cond.args[0]
            and exprs.is_null(no)
        ):
            name = cond.args[0].name
            return (
                f"`IIF(IsPresent([{name}]), [{name}], NULL)` is `[{name}]`",
                f"an absent attribute already gives NULL: write `[{name}]` (or a direct flow)",
            )
    if isinstance(node, ir.BinOp) and node.op in ("=", "<>"):
        for side, other in ((node.right, node.left), (node.left, node.right)):
            # Only computed conditions (never NULL): `[attr] = True` is False for an absent attribute.
            computed = isinstance(other, (ir.CallFn, ir.BinOp)) and other.type == "bool"
            if isinstance(side, ir.Const) and side.type == "bool" and computed and (node.op == "=") == (side.value is True):
                return "comparing a condition with True is the condition itself", "drop the comparison"
    if isinstance(node, ir.CallFn) and node.name in ("Trim", "LCase", "UCase", "LTrim", "RTrim") and node.args:
        inner = node.args[0]
        if isinstance(inner, ir.CallFn) and inner.name == node.name:
            return f"`{node.name}({node.name}(x))` is `{node.name}(x)`", f"call {node.name} once"
    if isinstance(node, ir.CallFn) and node.name == "CStr" and node.args and getattr(node.args[0], "type", "") == "str":
        return "`CStr` of a value that is already text does nothing", "drop the CStr"
    return None


@rule(
    "SL501",
    "simplifiable-expression",
    "style",
    Severity.INFO,
    "An expression with a simpler equivalent, such as IIF(c, True, False).",
)
def simplifiable_expression(ctx: LintContext) -> None:
    for r, _f, node in _nodes(ctx):
        found = _simplification(node)
        if found:
            what, fix = found
            ctx.report(node.origin or ctx.rule_span(r), what, help=fix)


@rule(
    "SL504",
    "no-op-flow",
    "style",
    Severity.WARNING,
    "A flow whose every outcome is IgnoreThisFlow, so it never does anything.",
)
def no_op_flow(ctx: LintContext) -> None:
    for r, f, expr in _flows(ctx):
        results = list(exprs.outcomes(expr))
        if results and all(exprs.is_ignore(o.node) for o in results):
            ctx.report(
                ctx.flow_target_span(r, f),
                f"this flow of `{f.target}` only ever gives IgnoreThisFlow: it is as if it were not there",
                help="remove the flow",
            )


@rule(
    "SL304",
    "unguarded-error",
    "safety",
    Severity.ERROR,
    "Error() that runs for every object: in a rule without a scope, and not inside an IIF/Switch branch.",
)
def unguarded_error(ctx: LintContext) -> None:
    everyone: dict[int, bool] = {}
    for r, f, expr in _flows(ctx):
        if id(r) not in everyone:
            everyone[id(r)] = not r.scope or sc.tautology(ctx.space_of(r), ctx.scope(r)) is sc.SAT
        if not everyone[id(r)]:
            continue
        for call in exprs.unguarded_errors(expr):
            ctx.report(
                call.origin or ctx.flow_target_span(r, f),
                f"this Error() runs for every object: rule {r.name!r} applies to all "
                f"{ctx.cs_type_name(r) if r.direction == 'inbound' else r.source_type} objects and the call is not "
                "inside an IIF or Switch branch",
                help="put it in a branch, e.g. `IIF(<bad data>, Error(\"...\"), <value>)`, or scope the rule",
                note="every object in scope fails synchronization with this error",
            )


@rule(
    "SL306",
    "nondeterministic-flow",
    "safety",
    Severity.WARNING,
    "Now(), RandomNum() or Guid() in a flow that is not `once`: the value changes on every synchronization.",
)
def nondeterministic_flow(ctx: LintContext) -> None:
    catalogue = load_catalogue()
    for r, f, node in _nodes(ctx):
        if not f.once and isinstance(node, ir.CallFn):
            decl = catalogue.get(node.name)
            if decl is not None and not decl.deterministic:
                ctx.report(
                    node.origin or ctx.flow_target_span(r, f),
                    f"`{node.name}()` gives a new value every time the rule runs, so `{f.target}` changes on "
                    "every synchronization",
                    help="add `once` to set it only when the object is created, or derive it from attributes",
                    note="each run stages a new export for every object in scope",
                )
