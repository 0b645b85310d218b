"""What a lint rule sees: the whole compiled configuration, its sources, and shared analyses.

Rules run over the IR (names resolved, precedence resolved, types known) and use the AST only
for positions the IR does not keep (a rule's name, its ``precedence`` line, a parameter
declaration). Analyses that several rules need -- scope formulas per rule, precedence order keys,
who flows which metaverse attribute -- are computed lazily here, once per run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from syncrules import ast
from syncrules.diagnostics.model import Label, Severity
from syncrules.ir import nodes as ir
from syncrules.lint import scope as sc
from syncrules.lint.config import LintSettings
from syncrules.lint.registry import LintDiagnostic, LintRule
from syncrules.source import SourceFile, Span

_GUID_CHARS = set("0123456789abcdef-{}")


@dataclass(frozen=True, slots=True)
class Slot:
    """Rules that act on the same kind of object: direction, connector, connector object type."""

    direction: str
    connector: str
    cs_type: str


class LintContext:
    def __init__(
        self,
        config: ir.Config,
        modules: list[ast.Module],
        sources: Mapping[str, SourceFile],
        settings: LintSettings,
    ) -> None:
        self.config = config
        self.modules = modules
        self.sources = sources
        self.settings = settings
        self.findings: list[LintDiagnostic] = []
        self._rule: LintRule | None = None
        self._spaces: dict[tuple[str, str, str], sc.Space] = {}
        self._scopes: dict[int, sc.Scope] = {}
        self._nodes: dict[int, list[ir.Expr]] = {}

    # ------------------------------------------------------------------ reporting
    def run(self, rule: LintRule) -> None:
        self._rule = rule
        try:
            rule.check(self)
        finally:
            self._rule = None

    @property
    def options(self) -> dict[str, Any]:
        assert self._rule is not None
        return self.settings.options_of(self._rule)

    def report(
        self,
        span: Span | None,
        message: str,
        *,
        labels: Iterable[Label] = (),
        help: str | None = None,
        note: str | None = None,
        severity: Severity | None = None,
    ) -> None:
        rule = self._rule
        assert rule is not None, "report() outside a rule"
        sev = self.settings.severity.get(rule.code) or severity or rule.severity
        self.findings.append(
            LintDiagnostic(rule.code, sev, message, span, tuple(labels), help, note, rule_name=rule.name)
        )

    def nodes(self, flow: ir.Flow) -> list[ir.Expr]:
        """Every sub-expression of a flow, walked once per run (several rules look at each node)."""
        found = self._nodes.get(id(flow))
        if found is None:
            from syncrules.lint.exprs import walk

            found = list(walk(flow.expr)) if flow.expr is not None else []
            self._nodes[id(flow)] = found
        return found

    # ------------------------------------------------------------------ rules and spans
    @cached_property
    def rules(self) -> tuple[ir.Rule, ...]:
        """Every rule, in effective precedence order (the IR's order)."""
        return self.config.rules

    @cached_property
    def enabled(self) -> tuple[ir.Rule, ...]:
        return tuple(r for r in self.config.rules if not r.disabled)

    @cached_property
    def _ast_rules(self) -> dict[str, ast.Rule]:
        out: dict[str, ast.Rule] = {}
        for m in self.modules:
            for item in m.items:
                if isinstance(item, ast.Rule):
                    out.setdefault(item.name.value, item)
        return out

    def ast_rule(self, rule: ir.Rule) -> ast.Rule | None:
        return self._ast_rules.get(rule.name)

    def rule_span(self, rule: ir.Rule) -> Span | None:
        node = self.ast_rule(rule)
        return node.name.span if node is not None else rule.origin

    def precedence_span(self, rule: ir.Rule) -> Span | None:
        node = self.ast_rule(rule)
        if node is not None and node.precedence is not None:
            return node.precedence.span
        return self.rule_span(rule)

    def setting_span(self, rule: ir.Rule, key: str) -> Span | None:
        node = self.ast_rule(rule)
        if node is not None:
            s = node.setting(key)
            if s is not None:
                return s.span
        return self.rule_span(rule)

    def flow_target_span(self, rule: ir.Rule, flow: ir.Flow) -> Span | None:
        node = self.ast_rule(rule)
        if node is not None:
            for f in node.flows:
                if f.target.text == flow.target and (flow.origin is None or f.span == flow.origin):
                    return f.target.span
        return flow.origin

    def scope_group_span(self, rule: ir.Rule, index: int) -> Span | None:
        node = self.ast_rule(rule)
        if node is not None and index < len(node.scope):
            return node.scope[index].span
        group = rule.scope[index] if index < len(rule.scope) else ()
        spans = [c.origin for c in group if c.origin is not None]
        if spans:
            return spans[0].cover(spans[-1])
        return self.rule_span(rule)

    def scope_span(self, rule: ir.Rule) -> Span | None:
        node = self.ast_rule(rule)
        if node is not None and node.scope:
            return node.scope[0].span.cover(node.scope[-1].span)
        return self.rule_span(rule)

    def text(self, span: Span | None) -> str:
        """The source text a span covers (for quoting conditions in messages)."""
        if span is None:
            return ""
        src = self.sources.get(span.file)
        if src is None:
            return ""
        return " ".join(src.text[span.start : span.end].split())

    # ------------------------------------------------------------------ schema
    @cached_property
    def _connectors(self) -> dict[str, ir.Connector]:
        return {c.name: c for c in self.config.connectors}

    def connector(self, name: str) -> ir.Connector | None:
        return self._connectors.get(name)

    @staticmethod
    def cs_type_name(rule: ir.Rule) -> str:
        return rule.source_type if rule.direction == "inbound" else rule.target_type

    @staticmethod
    def mv_type_name(rule: ir.Rule) -> str:
        return rule.target_type if rule.direction == "inbound" else rule.source_type

    def cs_type(self, rule: ir.Rule) -> ir.ObjectType | None:
        conn = self.connector(rule.connector)
        return conn.object_type(self.cs_type_name(rule)) if conn else None

    def mv_type(self, rule: ir.Rule) -> ir.ObjectType | None:
        return self.config.mv_type(self.mv_type_name(rule))

    @staticmethod
    def slot(rule: ir.Rule) -> Slot:
        return Slot(rule.direction, rule.connector, LintContext.cs_type_name(rule))

    # ------------------------------------------------------------------ scopes
    def space_of(self, rule: ir.Rule) -> sc.Space:
        """The object space a rule's scope tests: the connector object (inbound) or the metaverse object."""
        if rule.direction == "inbound":
            key = ("cs", rule.connector, rule.source_type)
            t = self.cs_type(rule)
        else:
            key = ("mv", "", rule.source_type)
            t = self.mv_type(rule)
        space = self._spaces.get(key)
        if space is None:
            attrs: dict[str, sc.AttrInfo] = {}
            if t is not None:
                attrs = {a.name: sc.AttrInfo(a.type, a.multi) for a in t.attributes}
            attrs.setdefault("dn", sc.AttrInfo("reference"))
            space = sc.Space(attrs)
            self._spaces[key] = space
        return space

    def scope(self, rule: ir.Rule) -> sc.Scope:
        found = self._scopes.get(id(rule))
        if found is None:
            found = sc.compile_scope(self.space_of(rule), rule)
            self._scopes[id(rule)] = found
        return found

    def same_space(self, a: ir.Rule, b: ir.Rule) -> bool:
        """Do the two rules' scopes test the same object (so overlap analysis applies)?"""
        if a.direction != b.direction:
            return False
        if a.direction == "inbound":
            return a.connector == b.connector and a.source_type == b.source_type
        return a.source_type == b.source_type

    def overlap(self, a: ir.Rule, b: ir.Rule) -> sc.Tri:
        """Can one object be in scope of both rules? UNKNOWN when the scopes test different objects."""
        if not self.same_space(a, b):
            return sc.UNKNOWN
        return sc.overlap(self.space_of(a), self.scope(a), self.scope(b))

    def implies(self, narrow: ir.Rule, wide: ir.Rule) -> bool:
        """Proved: every object in scope of ``narrow`` is in scope of ``wide``."""
        if not self.same_space(narrow, wide):
            return False
        return sc.implies(self.space_of(narrow), self.scope(narrow), self.scope(wide))

    # ------------------------------------------------------------------ precedence
    @cached_property
    def order_keys(self) -> dict[str, tuple[int, tuple[int, ...]]]:
        """Each rule's position as the compiler orders it: (number, before/after path).

        Two rules with equal keys are tied: their order depends only on file order.
        """
        by_name = {r.name: r for r in self.config.rules}
        by_id = {r.id.strip("{}").lower(): r for r in self.config.rules if r.id}

        def target(ref: str | None) -> ir.Rule | None:
            if not ref:
                return None
            found = by_name.get(ref)
            if found is None:
                norm = ref.strip("{}").lower()
                if set(norm) <= _GUID_CHARS:
                    found = by_id.get(norm)
            return found

        keys: dict[str, tuple[int, tuple[int, ...]]] = {}

        def key(rule: ir.Rule, trail: tuple[str, ...]) -> tuple[int, tuple[int, ...]]:
            if rule.name in keys:
                return keys[rule.name]
            before, after = target(rule.precedence_before), target(rule.precedence_after)
            anchor, offset = (before, -1) if before is not None else (after, 1)
            if anchor is not None and anchor.name != rule.name and anchor.name not in trail:
                number, path = key(anchor, (*trail, rule.name))
                result = (number, (*path, offset))
            else:
                result = (rule.precedence, (0,))
            keys[rule.name] = result
            return result

        for r in self.config.rules:
            key(r, ())
        return keys

    def relative_anchor(self, rule: ir.Rule) -> ir.Rule | None:
        """The rule this one is placed before/after, when it exists in the configuration."""
        ref = rule.precedence_before or rule.precedence_after
        if not ref:
            return None
        for r in self.config.rules:
            if r.name == ref or (r.id and r.id.strip("{}").lower() == ref.strip("{}").lower()):
                return r
        return None

    def wins_over(self, a: ir.Rule, b: ir.Rule) -> bool:
        """Does ``a`` come strictly before ``b`` (a higher precedence)?"""
        return self.order_keys[a.name] < self.order_keys[b.name]

    # ------------------------------------------------------------------ flows into the metaverse
    @cached_property
    def inbound_flows(self) -> dict[tuple[str, str], list[tuple[ir.Rule, ir.Flow]]]:
        """(metaverse type, attribute) → the enabled inbound rules and flows that set it.

        A rule into ``*`` (any metaverse type) is listed under every type declaring the attribute.
        """
        out: dict[tuple[str, str], list[tuple[ir.Rule, ir.Flow]]] = defaultdict(list)
        types = [t.name for t in self.config.metaverse]
        for r in self.enabled:
            if r.direction != "inbound":
                continue
            for f in r.flows:
                if r.target_type == "*":
                    for t in types:
                        mv = self.config.mv_type(t)
                        if mv is not None and mv.attribute(f.target) is not None:
                            out[(t, f.target)].append((r, f))
                else:
                    out[(r.target_type, f.target)].append((r, f))
        return out

    @cached_property
    def inbound_types(self) -> frozenset[str]:
        """Metaverse types that some enabled inbound rule writes (``*`` stands for all)."""
        names = {r.target_type for r in self.enabled if r.direction == "inbound"}
        if "*" in names:
            names |= {t.name for t in self.config.metaverse}
        return frozenset(names)
