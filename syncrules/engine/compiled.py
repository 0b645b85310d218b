"""The configuration prepared for running: rules grouped the way the engine looks them up,
scoping filters and flows compiled to callables, and the join indexes each space needs.

Everything here is computed once per run from the IR; per-object work then only indexes dicts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from syncrules.engine.scope import CompiledScope
from syncrules.evaluate import EvalContext, compile_expr
from syncrules.ir import nodes as ir
from syncrules.runtime.values import Ref

FlowFn = Callable[[EvalContext], Any]

_TRUE = {"true", "1", "yes"}


def convert_constant(text: str, target_type: str) -> Any:
    """A constant flow's text as a value of the target attribute's type."""
    base = target_type[2:] if target_type.startswith("mv") else target_type
    if base == "bool":
        return text.strip().lower() in _TRUE
    if base == "num":
        s = text.strip()
        return int(s[2:], 16) if s[:2] in ("&H", "&h") else int(s)
    if base == "bin":
        import base64

        return base64.b64decode(text)
    if base == "ref":
        return Ref(text)
    return text


@dataclass(slots=True, eq=False)
class CompiledFlow:
    target: str
    kind: str
    fn: FlowFn
    merge: str
    once: bool
    target_type: str
    origin: Any
    uses_params: bool = False
    # The one source attribute of a single-source direct flow: the engine reads it itself and
    # skips the flow when the attribute is absent (a NULL contributes nothing).
    source: str | None = None
    # A reference target (translated between spaces). `dn` (the object's own name, outbound) is
    # typed as a reference but is never translated. Precomputed: read for every flow evaluated.
    is_ref: bool = False
    # A multi-valued target: a single value flowed into it becomes a one-value list, so the
    # metaverse and the directories hold one representation.
    multi: bool = False

    @property
    def is_reference(self) -> bool:
        return self.is_ref


@dataclass(slots=True, eq=False)
class CompiledRule:
    """A rule ready to run. Compared by identity: the engine tests membership of rules in
    in-scope lists on every object, and a field-by-field comparison of IR trees would dominate."""

    rule: ir.Rule
    order: int  # position in the total precedence order (lower runs first and wins)
    scope: CompiledScope
    flows: list[CompiledFlow]
    join: tuple[tuple[ir.JoinClause, ...], ...]
    # The flows as plain tuples (target, source, fn, is_ref, multi, merge, once, flow): the flow
    # loops unpack them instead of reading eight attributes per flow.
    plan: list[tuple[str, str | None, FlowFn, bool, bool, str, bool, CompiledFlow]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.plan = [(f.target, f.source, f.fn, f.is_ref, f.multi, f.merge, f.once, f) for f in self.flows]

    @property
    def name(self) -> str:
        return self.rule.name

    @property
    def link(self) -> str:
        return self.rule.link

    @property
    def has_join(self) -> bool:
        return bool(self.join)


def _direct(sources: tuple[str, ...], target_type: str) -> FlowFn:
    if len(sources) == 1:
        name = sources[0]
        return lambda ctx: ctx.attributes.get(name)
    multi = target_type.startswith("mv") or target_type == "var"

    def several(ctx: EvalContext) -> Any:
        # Several sources: every value for a multi-valued target, the first present one otherwise.
        out: list[Any] = []
        for name in sources:
            v = ctx.attributes.get(name)
            if v is None:
                continue
            if not multi:
                return v
            out.extend(v if isinstance(v, list) else [v])
        return out or None

    return several


def _constant(text: str, target_type: str) -> tuple[FlowFn, bool]:
    if "%" in text:
        import re

        pattern = re.compile(r"%([A-Za-z_][A-Za-z0-9_.\-]*)%")
        # Parameter sets are few and fixed for a run (one per connector or partition), so the
        # substituted constant is cached per parameter set.
        cache: dict[int, tuple[Any, Any]] = {}

        def substituted(ctx: EvalContext) -> Any:
            params = ctx.parameters
            hit = cache.get(id(params))
            if hit is not None and hit[0] is params:
                return hit[1]
            value = convert_constant(pattern.sub(lambda m: str(params.get(m.group(1), m.group(0))), text), target_type)
            cache[id(params)] = (params, value)
            return value

        return substituted, True
    value = convert_constant(text, target_type)
    return (lambda ctx: value), False


def compile_flow(flow: ir.Flow) -> CompiledFlow:
    uses_params = False
    if flow.kind == "direct":
        fn = _direct(flow.sources, flow.target_type)
    elif flow.kind == "constant":
        fn, uses_params = _constant(flow.constant or "", flow.target_type)
    else:
        assert flow.expr is not None
        fn = _compile_expression(flow.expr)
    source = flow.sources[0] if flow.kind == "direct" and len(flow.sources) == 1 else None
    is_ref = flow.target_type in ("ref", "mvref") and flow.target != "dn"
    multi = flow.target_type.startswith("mv")
    return CompiledFlow(flow.target, flow.kind, fn, flow.merge, flow.once, flow.target_type, flow.origin, uses_params, source, is_ref, multi)


def _compile_expression(expr: ir.Expr) -> FlowFn:
    """The fastest available expression backend (generated Python where the project has it,
    the closure compiler otherwise); both have the same contract."""
    try:
        from syncrules.evaluate.backend import compile_flow_expr
    except ImportError:  # pragma: no cover - depends on which evaluator modules are installed
        return compile_expr(expr)
    return compile_flow_expr(expr)


@dataclass
class CompiledConfig:
    config: ir.Config
    connector_order: list[str]
    # inbound rules by (connector, connector-space object type), in precedence order
    inbound: dict[tuple[str, str], list[CompiledRule]] = field(default_factory=dict)
    # outbound rules by (connector, metaverse object type), in precedence order
    outbound: dict[tuple[str, str], list[CompiledRule]] = field(default_factory=dict)
    # attribute types per (connector, object type) and per metaverse type
    cs_types: dict[tuple[str, str], dict[str, ir.AttributeType]] = field(default_factory=dict)
    mv_types: dict[str, dict[str, ir.AttributeType]] = field(default_factory=dict)
    # join indexes each space needs: attribute → case-sensitive flags
    mv_indexes: set[tuple[str, bool]] = field(default_factory=set)
    cs_indexes: dict[str, set[tuple[str, bool]]] = field(default_factory=dict)
    rules_by_name: dict[str, CompiledRule] = field(default_factory=dict)
    # Targets that enabled rules flow with different merge families: only these need the
    # per-object mixed-merge check (the compiler reports them as SR302 anyway).
    mixed_inbound: set[tuple[str, str]] = field(default_factory=set)  # (metaverse type, attribute)
    mixed_outbound: set[tuple[str, str, str]] = field(default_factory=set)  # (connector, type, attribute)

    def reference_attributes(self, connector: str, object_type: str) -> list[str]:
        attrs = self.cs_types.get((connector, object_type), {})
        return [a.name for a in attrs.values() if a.type == "reference"]


def compile_config(config: ir.Config) -> CompiledConfig:
    out = CompiledConfig(config, [c.name for c in config.connectors])
    for c in config.connectors:
        for o in c.object_types:
            out.cs_types[(c.name, o.name)] = {a.name: a for a in o.attributes}
        out.cs_indexes[c.name] = set()
    for o in config.metaverse:
        out.mv_types[o.name] = {a.name: a for a in o.attributes}
    for order, rule in enumerate(config.rules):
        compiled = CompiledRule(
            rule=rule,
            order=order,
            scope=CompiledScope(rule.scope),
            flows=[compile_flow(f) for f in rule.flows],
            join=rule.join,
        )
        out.rules_by_name[rule.name] = compiled
        if rule.disabled:
            continue
        if rule.direction == "inbound":
            out.inbound.setdefault((rule.connector, rule.source_type), []).append(compiled)
            for group in rule.join:
                for clause in group:
                    out.mv_indexes.add((clause.mv_attribute, clause.case_sensitive))
        else:
            out.outbound.setdefault((rule.connector, rule.source_type), []).append(compiled)
            for group in rule.join:
                for clause in group:
                    out.cs_indexes.setdefault(rule.connector, set()).add((clause.cs_attribute, clause.case_sensitive))
    families: dict[tuple[str, ...], set[str]] = {}
    for rule in config.rules:
        if rule.disabled:
            continue
        for flow in rule.flows:
            family = "update" if flow.merge in ("update", "replace") else flow.merge
            if rule.direction == "inbound":
                families.setdefault(("in", rule.target_type, flow.target), set()).add(family)
            else:
                families.setdefault(("out", rule.connector, rule.target_type, flow.target), set()).add(family)
    mv_types = [o.name for o in config.metaverse]
    for key, found in families.items():
        if key[0] == "in":
            _, mv_type, target = key
            types = mv_types if mv_type == "*" else [mv_type]
            for t in types:
                # Rules that target "*" contribute to every metaverse type.
                combined = found | families.get(("in", t, target), set()) | families.get(("in", "*", target), set())
                if len(combined) > 1:
                    out.mixed_inbound.add((t, target))
        elif len(found) > 1:
            out.mixed_outbound.add((key[1], key[2], key[3]))
    return out
