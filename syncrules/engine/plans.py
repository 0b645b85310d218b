"""Per-object work prepared once per rule set: scope selection, inbound contributions and export
flow values, each as one generated Python function.

Why: a user under Microsoft's default rules is in the scope of six inbound rules with ~200 flows
and ten outbound rules with ~260 flows. Interpreting those plans flow by flow (unpacking a flow
tuple, testing its kind, building a contribution) cost more than evaluating the flows themselves,
and most flows contribute nothing (their source attribute is absent). A plan is generated for
each combination of in-scope rules that actually occurs (a handful per connector and object type)
and does, in straight-line code, exactly what the interpreted loop did:

* direct flows read the attribute inline;
* an expression flow whose inputs are all absent has one result per parameter set (it sees only
  NULLs and the parameters), so that result is computed once and reused (`absent` memo); only
  deterministic expressions whose reads are known qualify (see :func:`expr_reads`);
* an expression that occurs in several in-scope rules (the default rules repeat many between
  "Common" and "Common from Exchange") is evaluated once per object and its value reused; an
  expression that failed is evaluated (and reported) again for each flow, as before;
* errors are reported in flow order, as the loop did, and a failing flow contributes nothing;
* a target that several of the object's update flows write contributes only up to the first
  value that stops precedence resolution: the default rules write ~20 attributes of a user
  twice ("Common" and "Common from Exchange"), and the engine can take that one value as the
  attribute's value without resolving anything (see ``InboundPlan._emit_first``).

Generated code only ever contains text written here: names and attribute names appear as
``repr`` literals, never as identifiers (the rule of docs/codegen.md).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import CodeType
from typing import Any

from syncrules.engine.compiled import CompiledFlow, CompiledRule
from syncrules.engine.scope import clause_source
from syncrules.evaluate.context import EvalContext
from syncrules.ir import nodes as ir
from syncrules.runtime.values import AUTHORITATIVE_NULL, IGNORE_THIS_FLOW, EvalError

MISS: Any = object()  # an absent-memo slot not computed yet
ERR: Any = object()  # a flow that raised (already reported)
_UNKNOWN: Any = object()  # a scope clause not evaluated yet

# Functions whose result depends on more than their arguments and the parameters: the clock,
# the per-object random sequence and GUID counter, the imported (not the flowing) values.
_NOT_MEMOIZABLE = frozenset({"Now", "RandomNum", "Guid", "ImportedValue"})
# Functions with per-context state: two calls are two different values.
_STATEFUL = frozenset({"RandomNum", "Guid"})


def expr_reads(expr: ir.Expr) -> tuple[frozenset[str] | None, bool, bool]:
    """(attributes read, memoizable when they are all absent, reusable within one object).

    The attributes read are None when they cannot be known statically (``ValueCount`` of a
    computed name, an unknown node). Memoizable: the result depends only on those attributes and
    the parameters. Reusable: evaluating it twice for one object gives the same value.
    """
    reads: set[str] = set()
    memo = True
    reuse = True
    known = True
    stack: list[Any] = [expr]
    while stack:
        e = stack.pop()
        if isinstance(e, ir.Attr):
            reads.add(e.name)
        elif isinstance(e, (ir.Const, ir.EnumValue, ir.Param)):
            pass
        elif isinstance(e, ir.CallFn):
            if e.name in _STATEFUL:
                reuse = False
            if e.name in _NOT_MEMOIZABLE:
                memo = False
            if e.name == "ValueCount" or e.name == "ImportedValue":
                arg = e.args[0] if e.args else None
                if isinstance(arg, ir.Const) and isinstance(arg.value, str):
                    reads.add(arg.value)
                else:
                    known = False
            stack.extend(e.args)
        elif isinstance(e, ir.BinOp):
            stack.append(e.left)
            stack.append(e.right)
        elif isinstance(e, ir.Neg):
            stack.append(e.operand)
        else:  # Var (bound by an enclosing Select/With, or read from the context) and anything new
            memo = False
            reuse = False
            known = False
    if not known:
        return None, False, reuse
    return frozenset(reads), memo, reuse


def flow_reads(flow: ir.Flow) -> frozenset[str] | None:
    """The attributes a flow reads (None: not known statically)."""
    if flow.kind == "direct":
        return frozenset(flow.sources)
    if flow.kind == "constant":
        return frozenset()
    if flow.expr is None:
        return None
    return expr_reads(flow.expr)[0]


def rule_reads(rule: CompiledRule) -> frozenset[str] | None:
    """Every attribute a rule's scope and flows read from the object they run on (None: unknown)."""
    out: set[str] = set()
    for group in rule.rule.scope:
        for clause in group:
            if clause.attribute is not None:
                out.add(clause.attribute)
    for flow in rule.rule.flows:
        reads = flow_reads(flow)
        if reads is None:
            return None
        out |= reads
    return frozenset(out)


def _ir_flows(rule: CompiledRule) -> Sequence[ir.Flow]:
    flows = rule.rule.flows
    assert len(flows) == len(rule.flows)
    return flows


def _build(source: str, namespace: dict[str, Any], name: str) -> Callable[..., Any]:
    return _define(compile(source, f"<syncrules.engine plan {name}>", "exec"), namespace, name)


def _define(code: CodeType, namespace: dict[str, Any], name: str) -> Callable[..., Any]:
    exec(code, namespace)  # noqa: S102 - only text generated in this module
    # Taken out of its namespace (its globals): left there, function and globals would form a
    # reference cycle, which only the cyclic collector frees when a plan is dropped.
    fn: Callable[..., Any] = namespace.pop(name)
    return fn


class _Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, depth: int, text: str) -> None:
        self.lines.append("    " * depth + text)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


# ====================================================================== scope


class ScopeSet:
    """The scoping filters of an ordered list of rules, evaluated together.

    ``select(attrs, dn, params, member_of)`` returns the rules in scope, in order, as a list that
    is the same object every time the same rules are in scope (so callers can key caches on it;
    it must not be modified). Identical clauses (the default outbound rules share
    ``cloudFiltered NOTEQUAL True`` and the like) are evaluated once per object and only when a
    rule needs them, in the order the rules would have evaluated them. ``dynamic``: some clause
    asks about group membership, which depends on other objects, so the result cannot be kept
    with the object.
    """

    __slots__ = ("rules", "select", "dynamic", "_combos")

    def __init__(self, rules: Sequence[CompiledRule]) -> None:
        self.rules = tuple(rules)
        self._combos: dict[int, list[CompiledRule]] = {}
        index: dict[ir.ScopeClause, int] = {}
        preds: list[Any] = []
        code = _Lines()
        code.add(0, "def select(attrs, dn, params, member_of):")
        body = _Lines()
        self.dynamic = False
        for ri, rule in enumerate(self.rules):
            bit = 1 << ri
            groups = rule.scope.groups
            if not groups:
                body.add(1, f"m |= {bit}")
                continue
            for gi, (group, clauses) in enumerate(zip(groups, rule.scope.clauses, strict=True)):
                depth = 1
                if gi:
                    body.add(depth, f"if not m & {bit}:")
                    depth += 1
                for pred, clause in zip(group, clauses, strict=True):
                    if clause.operator in ("ISMEMBEROF", "ISNOTMEMBEROF"):
                        self.dynamic = True
                    ci = index.get(clause)
                    if ci is None:
                        ci = index[clause] = len(preds)
                        preds.append(pred)
                    body.add(depth, f"if c{ci} is U:")
                    for offset, line in clause_source(clause, pred, f"c{ci}", f"P[{ci}](attrs, dn, params, member_of)"):
                        body.add(depth + 1 + offset, line)
                    body.add(depth, f"if c{ci}:")
                    depth += 1
                body.add(depth, f"m |= {bit}")
        if preds:
            code.add(1, " = ".join(f"c{i}" for i in range(len(preds))) + " = U")
        code.add(1, "m = 0")
        code.lines.extend(body.lines)
        code.add(1, "hit = COMBOS.get(m)")
        code.add(1, "return hit if hit is not None else combo(m)")
        namespace = {"U": _UNKNOWN, "P": tuple(preds), "COMBOS": self._combos, "combo": self._combo}
        self.select: Callable[[Mapping[str, Any], str, Mapping[str, Any], Callable[[str], bool]], list[CompiledRule]] = _build(
            code.text(), namespace, "select"
        )

    def _combo(self, mask: int) -> list[CompiledRule]:
        rules = [r for i, r in enumerate(self.rules) if mask >> i & 1]
        self._combos[mask] = rules
        return rules

    def combo(self, mask: int) -> list[CompiledRule]:
        """The list ``select`` returns when the rules of ``mask`` (bit i: ``rules[i]``) are in scope."""
        hit = self._combos.get(mask)
        return hit if hit is not None else self._combo(mask)

    def mask(self, in_scope: list[CompiledRule]) -> int:
        """The mask of a list ``select`` returned (the inverse of :meth:`combo`)."""
        for mask, rules in self._combos.items():
            if rules is in_scope:
                return mask
        raise ValueError("not a list this scope set returned")


# ====================================================================== absent inputs


def _absent_test(src: ir.Flow) -> str | None:
    """The condition under which a flow sees only NULLs (and parameters), so that its result can
    come from the absent-inputs memo: ``"True"`` for no reads, None when it cannot be memoized
    (a constant, already cached per parameter set by the flow itself; unknown reads; the object's
    DN, which every object has; non-deterministic functions)."""
    reads: frozenset[str] | None
    if src.kind == "expression" and src.expr is not None:
        reads, memo, _ = expr_reads(src.expr)
    elif src.kind == "direct":
        reads, memo = frozenset(src.sources), True
    else:
        return None
    if reads is None or not memo or "dn" in reads:
        return None
    if not reads:
        return "True"
    return " and ".join(f"get({name!r}) is None" for name in sorted(reads))


def _emit_evaluation(code: _Lines, depth: int, k: int, test: str | None) -> None:
    """``v`` = the value of flow ``k`` (ERR if it failed, reported), from the absent-inputs memo
    ``A`` when ``test`` (see :func:`_absent_test`) holds; a value computed there is kept only when
    the flow succeeded."""
    if test is None:
        _emit_call(code, depth, k, None)
        return
    body = depth if test == "True" else depth + 1
    if test != "True":
        code.add(depth, f"if {test}:")
    code.add(body, f"v = A[{k}]")
    code.add(body, "if v is MISS:")
    _emit_call(code, body + 1, k, f"A[{k}] = v")
    if test != "True":
        code.add(depth, "else:")
        _emit_call(code, depth + 1, k, None)


# ====================================================================== inbound


class InboundPlan:
    """The contributions of one set of in-scope inbound rules (of one connector and object type)
    to one metaverse object type.

    ``runner(params)`` gives the plan's function for one parameter set: ``run(get, ctx, fail)``
    returns ``(items, solo_count, failed)``: ``items`` alternates a slot number and the value that
    slot contributes (NULL and empty-string results left out; multi-valued targets already lists,
    except references, which are kept as DNs for the engine to resolve against the current
    links). The first ``solo_count`` pairs are sole writers' values (``solo``) that are neither a
    sentinel nor an empty list: when this object is a metaverse object's only input they are its
    values as they stand, which the engine takes in bulk. ``slots[k]`` is ``(target, key, rule
    index, merge, is_ref, multi)`` and ``flows[k]`` the ``(rule, flow)`` to name in an error.
    ``fail(k, exc)`` reports an error of slot ``k``.

    The function is generated per parameter set because what an expression gives when all its
    inputs are absent is known for a parameter set (see :func:`_absent_test`): computed once,
    it is written into the code. Most of a user's ~200 flows read attributes the user does not
    have (extensionAttribute1-15, the msExch* ones), and most of those give NULL then, so the
    code for them is one presence test that skips the flow.

    A plan with apply-once flows is ``generic``: the engine runs its interpreted loop for it (only
    the default computer rules have such flows, and their values depend on the metaverse object).
    """

    __slots__ = (
        "rules", "slots", "flows", "generic", "targets", "ref_targets", "solo", "slot_targets", "slot_rules", "lineage_heads",
        "shape", "_steps", "_groups", "_tests", "_runs", "_codes",
    )  # fmt: skip

    def __init__(self, rules: Sequence[CompiledRule], conn_index: int) -> None:
        self.rules = tuple(rules)
        self.generic = any(f.once for r in self.rules for f in r.flows)
        self._runs: dict[int, tuple[Mapping[str, Any], Callable[..., tuple[list[Any], int, bool]]]] = {}
        self._codes: dict[str, CodeType] = {}
        slots: list[tuple[str, tuple[int, int, int], int, str, bool, bool]] = []
        flows: list[tuple[CompiledRule, CompiledFlow]] = []
        # What the generated code does, in order (see _source): a slot's flow, or a chain.
        steps: list[tuple[Any, ...]] = []
        tests: list[str | None] = []  # per slot, see _absent_test (direct flows: None)
        # Targets several direct flows write: only the first value (in precedence order) is
        # contributed, the one precedence resolution would pick among this object's flows
        # whatever other objects contribute (their keys interleave, but a value below another
        # value of the same object can never come first).
        chains = {} if self.generic else _direct_chains(f for r in self.rules for f in r.flows)
        chain_slots: dict[str, list[int]] = {}
        # The other targets several update flows write (expressions among them): every flow is
        # evaluated (its errors are reported), but the object contributes values only up to the
        # first that stops precedence resolution (see _emit_first).
        groups: dict[str, list[int]] = {}
        if not self.generic:
            group_targets = _first_wins(f for r in self.rules for f in r.flows).keys() - chains.keys()
            k = 0
            for rule in self.rules:
                for flow in rule.flows:
                    if flow.target in chains:
                        chain_slots.setdefault(flow.target, []).append(k)
                    elif flow.target in group_targets:
                        groups.setdefault(flow.target, []).append(k)
                    k += 1
            group_of = {target: gi for gi, target in enumerate(groups)}
            for ri, rule in enumerate(self.rules):
                key = (rule.rule.precedence, rule.order, conn_index)
                for flow, src in zip(rule.flows, _ir_flows(rule), strict=True):
                    k = len(slots)
                    slots.append((flow.target, key, ri, flow.merge, flow.is_ref, flow.multi))
                    flows.append((rule, flow))
                    tests.append(None if flow.source is not None else _absent_test(src))
                    chain = chains.get(flow.target)
                    if chain is None:
                        gi = group_of.get(flow.target)
                        steps.append((k, flow, src, gi, gi is not None and groups[flow.target][-1] == k))
                    elif chain[0] is flow:
                        steps.append((chain, chain_slots[flow.target]))
        self._steps = tuple(steps)
        self._groups = len(groups)
        self._tests = tuple(tests)
        self.slots = tuple(slots)
        self.flows = tuple(flows)
        # Every attribute the plan's flows write (whatever they return), and those written by
        # reference flows, whose values depend on other objects' links.
        self.targets = frozenset(f.target for r in self.rules for f in r.flows)
        self.ref_targets = frozenset(t for t, _, _, _, is_ref, _ in slots if is_ref)
        # Per slot: the only flow of the plan that writes its target, with update/replace and no
        # reference translation. When this plan is all a metaverse object gets, such a value is
        # the attribute's value (unless it is a sentinel or an empty list), without precedence
        # resolution. A chain contributes at most one value, and so does a first-wins group
        # when it contributes a value (otherwise only sentinels and empty lists, which are
        # resolved): each of their slots counts as a sole writer.
        writers: dict[str, int] = {}
        for target, *_ in slots:
            writers[target] = 1 if target in chains or target in groups else writers.get(target, 0) + 1
        self.solo = tuple(
            writers[target] == 1 and not is_ref and merge in ("update", "replace") for target, _, _, merge, is_ref, _ in slots
        )
        # Per slot, its target and rule index (slots[k][0] and [2], for the engine's tightest loop).
        self.slot_targets = tuple(slot[0] for slot in slots)
        self.slot_rules = tuple(slot[2] for slot in slots)
        # Per rule, (name, precedence): the rule's part of the lineage of what it contributes.
        self.lineage_heads = tuple((r.name, r.rule.precedence) for r in self.rules)
        # What a run's items mean (their slots, the sole writers, the rules of the lineage), as a
        # digest: items computed by another process's plan are used only if its shape is this one.
        self.shape = hashlib.sha1(repr((self.slots, self.solo, self.lineage_heads)).encode()).hexdigest()  # noqa: S324 - a fingerprint

    def runner(self, params: Mapping[str, Any]) -> Callable[..., tuple[list[Any], int, bool]]:
        """The plan's function for one parameter set (parameter sets are a few long-lived dicts:
        one per connector and partition), generated on first use."""
        hit = self._runs.get(id(params))
        if hit is not None and hit[0] is params:
            return hit[1]
        absent = self._absent_values(params)
        ns = {
            "F": tuple(f.fn for _, f in self.flows),
            "AV": tuple(absent),
            "EvalError": EvalError,
            "ERR": ERR,
            "AN": AUTHORITATIVE_NULL,
            "ITF": IGNORE_THIS_FLOW,
        }
        # The code depends only on which absent results are known and which of those are NULL
        # (the values themselves are in AV), so partitions whose parameters give the same shape
        # share one compilation (a user's plan takes ~35 ms to compile).
        source = self._source(absent)
        code = self._codes.get(source)
        if code is None:
            code = self._codes[source] = compile(source, "<syncrules.engine plan run>", "exec")
        run: Callable[..., tuple[list[Any], int, bool]] = _define(code, ns, "run")
        self._runs[id(params)] = (params, run)
        return run

    def _absent_values(self, params: Mapping[str, Any]) -> list[Any]:
        """Per slot, what its expression gives with all its inputs absent (MISS: not known, when
        it cannot be memoized or fails; a failure is then evaluated and reported per object)."""
        out = [MISS] * len(self.slots)
        ctx = EvalContext({}, params)
        for k, test in enumerate(self._tests):
            if test is not None:
                with contextlib.suppress(EvalError):
                    out[k] = self.flows[k][1].fn(ctx)
        return out

    def _source(self, absent: Sequence[Any]) -> str:
        code = _Lines()
        code.add(0, "def run(get, ctx, fail):")
        code.add(1, "sv = []")  # sole writers' values (see runner)
        code.add(1, "sp = sv.append")
        code.add(1, "out = []")
        code.add(1, "ap = out.append")
        code.add(1, "failed = False")
        for gi in range(self._groups):
            code.add(1, f"w{gi} = True")
            code.add(1, f"q{gi} = ()")
        shared: dict[ir.Expr, int] = {}  # expression → slot whose value it is kept in (d<slot>)
        for step in self._steps:
            if len(step) == 2:
                self._emit_chain(code, *step)
                continue
            k, flow, src, group, last = step
            self._emit(code, k, flow, src, shared, group, self._tests[k], absent[k], self.solo[k])
            if last:
                # No value stopped the group's resolution: what the flows gave, as before.
                code.add(1, f"if w{group} and q{group}:")
                code.add(2, f"out.extend(q{group})")
        code.add(1, "n = len(sv) >> 1")  # pairs
        code.add(1, "sv.extend(out)")
        code.add(1, "return sv, n, failed")
        return code.text()

    @staticmethod
    def _emit(
        code: _Lines,
        k: int,
        flow: CompiledFlow,
        src: ir.Flow,
        shared: dict[ir.Expr, int],
        group: int | None,
        test: str | None,
        absent: Any,
        solo: bool,
    ) -> None:
        """Evaluate slot ``k`` and contribute its value (``group``: its first-wins group; ``test``:
        its inputs are all absent, and then its value is ``absent`` unless that is MISS; ``solo``:
        the slot is a sole writer, see runner)."""
        if flow.source is not None:
            if group is not None:
                # A direct flow cannot fail: once its group is stopped it need not even read.
                code.add(1, f"if w{group}:")
                code.add(2, f"v = get({flow.source!r})")
                code.add(2, "if v is not None and v != '':")
                wrap = flow.multi and not flow.is_ref
                InboundPlan._emit_first(code, 3, k, group, "v if v.__class__ is list else [v]" if wrap else None, checked=True)
                return
            code.add(1, f"v = get({flow.source!r})")
            code.add(1, "if v is not None and v != '':")
            InboundPlan._emit_append(code, 1, k, flow, "v.__class__ is list", group, solo)
            return
        as_is = "v.__class__ is list or v is AN or v is ITF"
        reuse = src.kind == "expression" and src.expr is not None and expr_reads(src.expr)[2]
        first = None
        if reuse and src.expr is not None:
            first = shared.get(src.expr)
            if first is None:
                shared[src.expr] = k
        if first is not None:
            code.add(1, f"v = d{first}")
            code.add(1, "if v is ERR:")
            _emit_known(code, 2, k, test, absent)
        elif test is not None and (absent is None or (absent.__class__ is str and absent == "")):
            # Nothing to contribute when the inputs are absent: evaluate only if one is present.
            if test != "True":
                code.add(1, f"if not ({test}):")
                _emit_call(code, 2, k, None)
                if reuse:
                    code.add(2, f"d{k} = v")
                code.add(2, "if v is not None and v is not ERR and v != '':")
                InboundPlan._emit_append(code, 2, k, flow, as_is, group, solo)
            if reuse:
                if test != "True":
                    code.add(1, "else:")
                code.add(2 if test != "True" else 1, f"d{k} = {absent!r}")
            return
        else:
            _emit_known(code, 1, k, test, absent)
            if reuse:
                code.add(1, f"d{k} = v")
        code.add(1, "if v is not None and v is not ERR and v != '':")
        InboundPlan._emit_append(code, 1, k, flow, as_is, group, solo)

    @staticmethod
    def _emit_append(code: _Lines, depth: int, k: int, flow: CompiledFlow, as_is: str, group: int | None, solo: bool) -> None:
        """Contribute slot ``k``'s value ``v`` (inside the test at ``depth``); a multi-valued
        target gets a list (unless ``as_is``: a list already, or a sentinel that expressions can
        return)."""
        wrap = flow.multi and not flow.is_ref
        if group is not None:
            InboundPlan._emit_first(code, depth + 1, k, group, f"v if {as_is} else [v]" if wrap else None)
            return
        d = depth + 1
        if solo:
            if wrap:
                code.add(d, f"v = v if {as_is} else [v]")
            _emit_solo(code, d, str(k), sentinels=flow.source is None)
            return
        code.add(d, f"ap({k})")
        if wrap:
            code.add(d, f"ap(v if {as_is} else [v])")
        else:
            code.add(d, "ap(v)")

    @staticmethod
    def _emit_first(code: _Lines, d: int, k: int, group: int, wrapped: str | None, checked: bool = False) -> None:
        """Contribute slot ``k``'s value to its first-wins group: nothing once a value stopped
        the group (``w<group>`` false); a value (or AuthoritativeNull) stops it; IgnoreThisFlow
        and empty lists wait in ``q<group>`` and are contributed only if nothing stops the group.

        Why this is exact: update precedence resolution takes the first contribution, in key
        order, that is a value or AuthoritativeNull, skipping NULLs, empty lists and
        IgnoreThisFlow. The slots of a group share the object's keys in precedence order and
        another object's contribution sorts wholly before or after each of them, so a value of
        this object that follows its own value can never be picked, and what this object gave
        before that value (sentinels, empty lists) can only be skipped. The group therefore
        contributes one value, which the engine can take without resolution when this object
        is the metaverse object's only input (``solo``). ``checked``: the caller tested
        ``w<group>`` already."""
        if not checked:
            code.add(d, f"if w{group}:")
            d += 1
        if wrapped is not None:
            code.add(d, f"v = {wrapped}")
        code.add(d, "if v is ITF or v.__class__ is list and not v:")
        code.add(d + 1, f"q{group} += ({k}, v)")
        code.add(d, "else:")
        code.add(d + 1, f"w{group} = False")
        code.add(d + 1, "if v is AN:")
        code.add(d + 2, f"ap({k})")
        code.add(d + 2, "ap(v)")
        code.add(d + 1, "else:")
        code.add(d + 2, f"sp({k})")
        code.add(d + 2, "sp(v)")

    @staticmethod
    def _emit_chain(code: _Lines, chain: Sequence[CompiledFlow], ks: Sequence[int]) -> None:
        """The first value among the chain's sources, contributed by the slot that read it."""
        _emit_chain(code, 1, chain, ks)
        code.add(1, "if v is not None and v != '' and v != []:")
        code.add(2, "sp(c)")  # a chain's slots are sole writers, and its value is never empty
        code.add(2, "sp(v if v.__class__ is list else [v])" if chain[0].multi else "sp(v)")

def _emit_solo(code: _Lines, depth: int, k: str, sentinels: bool) -> None:
    """Contribute a sole writer's value ``v`` to ``sv`` unless it is a sentinel or an empty list
    (those are resolved, so they go with the other contributions)."""
    code.add(depth, "if v is AN or v is ITF or v.__class__ is list and not v:" if sentinels else "if v.__class__ is list and not v:")
    code.add(depth + 1, f"ap({k})")
    code.add(depth + 1, "ap(v)")
    code.add(depth, "else:")
    code.add(depth + 1, f"sp({k})")
    code.add(depth + 1, "sp(v)")


def _emit_known(code: _Lines, depth: int, k: int, test: str | None, absent: Any) -> None:
    """``v`` = the value of flow ``k`` (ERR if it failed, reported): ``AV[k]``, the value it has
    when ``test`` (its inputs are all absent) holds, unless that is not known (MISS)."""
    if test is None or absent is MISS:
        _emit_call(code, depth, k, None)
        return
    if test == "True":
        code.add(depth, f"v = AV[{k}]")
        return
    code.add(depth, f"if {test}:")
    code.add(depth + 1, f"v = AV[{k}]")
    code.add(depth, "else:")
    _emit_call(code, depth + 1, k, None)


def _emit_call(code: _Lines, depth: int, k: int, on_success: str | None) -> None:
    code.add(depth, "try:")
    code.add(depth + 1, f"v = F[{k}](ctx)")
    code.add(depth, "except EvalError as exc:")
    code.add(depth + 1, "failed = True")
    code.add(depth + 1, f"fail({k}, exc)")
    code.add(depth + 1, "v = ERR")
    if on_success is not None:
        code.add(depth, "else:")
        code.add(depth + 1, on_success)


# ====================================================================== chains


def _first_wins(flows: Iterable[CompiledFlow]) -> dict[str, list[CompiledFlow]]:
    """Targets that several flows write, every one an update (or replace) flow without reference
    translation or apply-once: their precedence resolution is "the first value wins". Flows in
    the plan's (precedence) order."""
    by_target: dict[str, list[CompiledFlow]] = {}
    plain: dict[str, bool] = {}
    for flow in flows:
        by_target.setdefault(flow.target, []).append(flow)
        ok = not flow.is_ref and flow.merge in ("update", "replace") and not flow.once and flow.target != "dn"
        plain[flow.target] = plain.get(flow.target, True) and ok
    return {t: fl for t, fl in by_target.items() if len(fl) > 1 and plain[t]}


def _direct_chains(flows: Iterable[CompiledFlow]) -> dict[str, list[CompiledFlow]]:
    """The first-wins targets whose flows are all single-source direct flows: a direct flow never
    returns AuthoritativeNull or IgnoreThisFlow and cannot fail, so a plan can resolve them
    inline, reading the sources one after the other until one has a value. The default Entra ID
    export rules write ~60 attributes of a user this way (the same attribute from the Identity,
    ExchangeOnline, SharePointOnline... rules)."""
    return {t: fl for t, fl in _first_wins(flows).items() if all(f.source is not None for f in fl)}


def _emit_chain(code: _Lines, depth: int, chain: Sequence[CompiledFlow], slots: Sequence[int] | None = None) -> None:
    """``v`` = the first value (not NULL, not empty) of the chain's sources, else what the last
    one held (NULL or empty); with ``slots`` (the chain's slot numbers), ``c`` = the slot of the
    first flow that read that source."""
    first: dict[str, int] = {}
    for i, flow in enumerate(chain):
        assert flow.source is not None
        first.setdefault(flow.source, i if slots is None else slots[i])
    for i, (source, k) in enumerate(first.items()):
        d = depth
        if i:
            code.add(depth, "if v is None or v == '' or v == []:")
            d += 1
        code.add(d, f"v = get({source!r})")
        if slots is not None:
            code.add(d, f"c = {k}")


# ====================================================================== outbound


class OutboundPlan:
    """Export flow values of one set of in-scope outbound rules for one target object type.

    ``run(get, ctx, refs, fail)`` returns None when a flow failed, else ``(values, held,
    contributions)``: ``values`` holds the target attributes resolved already (a target that only
    one flow of the plan writes with update/replace is resolved inline), ``held`` the references
    waiting for their object, and ``contributions`` the entries of the targets several flows (or
    a merge type) write, for the engine's precedence resolution. ``refs(value)`` translates
    metaverse references to DNs: ``(value, waiting ids)``. Apply-once flows are part of the plan
    only when it is for an add (``adding``). ``no_flow`` and ``merges`` are properties of the rule
    set; ``needs_ctx``: some flow evaluates an expression.

    ``implicit``: targets that one direct flow writes (most of the default export flows). They
    are in ``values`` only when they have a value; absent, they mean NULL (remove the value in
    the directory) like the None every other target gets. Leaving the ~170 NULLs of a user out
    saves storing them here and skipping them in every loop over the values.
    """

    __slots__ = ("rules", "flows", "run", "no_flow", "merges", "needs_ctx", "once", "implicit", "_absent", "_width")

    def __init__(self, rules: Sequence[CompiledRule], object_type: str, adding: bool) -> None:
        self.rules = tuple(r for r in rules if r.rule.target_type == object_type)
        self.no_flow = any(r.link == "join-no-flow" for r in self.rules)
        plan: list[tuple[CompiledRule, CompiledFlow]] = []
        sources: list[ir.Flow] = []
        for r in self.rules:
            for f, src in zip(r.flows, _ir_flows(r), strict=True):
                if adding or not f.once:
                    plan.append((r, f))
                    sources.append(src)
        self.flows = tuple(plan)
        self._absent: dict[int, tuple[Mapping[str, Any], list[Any]]] = {}
        self._width = len(plan)
        writers: dict[str, int] = {}
        for _, f in plan:
            writers[f.target] = writers.get(f.target, 0) + 1
        self.merges = {f.target: f.merge for _, f in plan if f.merge[0] == "m"}
        self.needs_ctx = any(f.source is None for _, f in plan)
        # Targets of the rules' apply-once flows (whether or not this plan runs them).
        self.once = frozenset(f.target for r in self.rules for f in r.flows if f.once)
        code = _Lines()
        code.add(0, "def run(get, ctx, refs, fail, A):")
        code.add(1, "values = {}")
        code.add(1, "held = {}")
        code.add(1, "C = {}")
        code.add(1, "failed = False")
        fns: list[Any] = []
        keys: list[tuple[int, int, int]] = []
        implicit: set[str] = set()
        chains = _direct_chains(f for _, f in plan)
        for k, (rule, flow) in enumerate(plan):
            fns.append(flow.fn)
            keys.append((rule.rule.precedence, rule.order, 0))
            chain = chains.get(flow.target)
            if chain is not None:
                # Several direct update flows: the first value in precedence order, inline.
                if chain[0] is flow:
                    implicit.add(flow.target)
                    _emit_chain(code, 1, chain)
                    code.add(1, "if v is not None and v != '' and v != []:")
                    value = "v if v.__class__ is list else [v]" if flow.multi else "v"
                    code.add(2, f"values[{flow.target!r}] = {value}")
                continue
            simple = writers[flow.target] == 1 and flow.merge in ("update", "replace")
            if simple and flow.source is not None and not flow.is_ref and flow.target != "dn":
                implicit.add(flow.target)
                code.add(1, f"v = get({flow.source!r})")
                code.add(1, "if v is not None and v != '':")
                value = "v if v.__class__ is list else [v]" if flow.multi else "v"
                code.add(2, f"values[{flow.target!r}] = {value}")
                continue
            self._emit(code, k, flow, simple, _absent_test(sources[k]))
        self.implicit = frozenset(implicit)
        code.add(1, "if failed:")
        code.add(2, "return None")
        code.add(1, "return values, held, C")
        ns = {
            "F": tuple(fns),
            "K": tuple(keys),
            "RU": tuple(r for r, _ in plan),
            "EvalError": EvalError,
            "ERR": ERR,
            "MISS": MISS,
            "AN": AUTHORITATIVE_NULL,
            "ITF": IGNORE_THIS_FLOW,
        }
        self.run: Callable[..., tuple[dict[str, Any], dict[str, Any], dict[str, list[Any]]] | None] = _build(code.text(), ns, "run")

    def absent_for(self, params: Mapping[str, Any]) -> list[Any]:
        """The memo of results computed with all their inputs absent, for one parameter set
        (parameter sets are a few long-lived dicts: one per connector and partition), filled as
        objects need them. (An inbound plan writes those results into its code instead, see
        :meth:`InboundPlan.runner`.)"""
        hit = self._absent.get(id(params))
        if hit is not None and hit[0] is params:
            return hit[1]
        memo = [MISS] * self._width
        self._absent[id(params)] = (params, memo)
        return memo

    @staticmethod
    def _emit(code: _Lines, k: int, flow: CompiledFlow, simple: bool, absent: str | None) -> None:
        target = repr(flow.target)
        depth = 1
        sentinels = flow.source is None or flow.is_ref
        if flow.source is not None:
            code.add(1, f"v = get({flow.source!r})")
        elif absent is not None:
            # All inputs absent: the value of the parameter set (computed once, if it succeeds).
            _emit_evaluation(code, 1, k, absent)
            code.add(1, "if v is not ERR:")
            depth = 2
        else:
            code.add(1, "try:")
            code.add(2, f"v = F[{k}](ctx)")
            code.add(1, "except EvalError as exc:")
            code.add(2, "failed = True")
            code.add(2, f"fail({k}, exc)")
            code.add(1, "else:")
            depth = 2
        code.add(depth, "if v == '':")
        code.add(depth + 1, "v = None")
        if flow.is_ref:
            code.add(depth, "if v is not None:")
            code.add(depth + 1, "v, w = refs(v)")
            code.add(depth + 1, "if w:")
            code.add(depth + 2, f"held[{target}] = w")
        code.add(depth, "if v is None:")
        if simple:
            code.add(depth + 1, f"values[{target}] = None")
        else:
            code.add(depth + 1, f"if {target} not in values:")
            code.add(depth + 2, f"values[{target}] = None")
        code.add(depth, "else:")
        d = depth + 1
        if flow.multi:
            guard = "v.__class__ is not list and v is not AN and v is not ITF" if sentinels else "v.__class__ is not list"
            code.add(d, f"if {guard}:")
            code.add(d + 1, "v = [v]")
        if simple:
            if sentinels:
                code.add(d, "if v is AN:")
                code.add(d + 1, f"values[{target}] = None")
                code.add(d, "elif v is not ITF:")  # IgnoreThisFlow alone: as if the flow were absent
                code.add(d + 1, f"values[{target}] = v")
            else:
                code.add(d, f"values[{target}] = v")
        else:
            code.add(d, f"e = C.get({target})")
            code.add(d, "if e is None:")
            code.add(d + 1, f"C[{target}] = [(K[{k}], v, RU[{k}], {flow.merge!r})]")
            code.add(d, "else:")
            code.add(d + 1, f"e.append((K[{k}], v, RU[{k}], {flow.merge!r}))")
