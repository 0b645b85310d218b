"""Semantic analysis of a whole configuration: symbols, names, types, the rule model → IR.

Runs over every module of a configuration together, because names cross files: a rule in one file
uses a connector declared in another, and duplicate rule names or mixed merge types only show up
across files. Every problem is reported; analysis carries on past errors so one run shows them all.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from syncrules import ast
from syncrules.diagnostics import Diagnostic, DiagnosticSink, Label, Severity
from syncrules.ir import nodes as ir
from syncrules.semantic.expressions import ExprEnv, lower_expression, report_unknown_attribute, suggest
from syncrules.source import Span

CONNECTOR_KINDS = ("active-directory", "entra-id", "ldap", "generic")
LINK_TYPES = ("join", "provision", "sticky-join", "join-no-flow")
LINKS_BY_DIRECTION = {
    "inbound": ("join", "provision", "sticky-join"),
    "outbound": ("join", "provision", "join-no-flow"),
}
MERGE_TYPES = ("update", "replace", "merge", "merge-case-insensitive")
SCOPE_OPERATORS = (
    "EQUAL", "NOTEQUAL", "LESSTHAN", "LESSTHAN_OR_EQUAL", "CONTAINS", "NOTCONTAINS", "STARTSWITH",
    "NOTSTARTSWITH", "ENDSWITH", "NOTENDSWITH", "GREATERTHAN", "GREATERTHAN_OR_EQUAL", "ISNULL",
    "ISNOTNULL", "ISIN", "ISNOTIN", "ISBITSET", "ISBITNOTSET", "ISMEMBEROF", "ISNOTMEMBEROF",
)  # fmt: skip
SCOPE_ALIASES = {"ISNOTBITSET": "ISBITNOTSET"}
VALUELESS_OPERATORS = ("ISNULL", "ISNOTNULL")
ORDERING_OPERATORS = ("LESSTHAN", "LESSTHAN_OR_EQUAL", "GREATERTHAN", "GREATERTHAN_OR_EQUAL")
BIT_OPERATORS = ("ISBITSET", "ISBITNOTSET")
# Parameters every connector provides without declaring them.
SYSTEM_PARAMETERS = ("Connector.ID",)
# The pseudo-attribute naming a connector-space object's distinguished name.
DN = "dn"

_GUID = re.compile(r"^\{?[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}?$")
_NUMBER = re.compile(r"^-?(?:[0-9]+|&[Hh][0-9A-Fa-f]+)$")
_BOOLEAN = {"true", "false"}


@dataclass
class _ConnectorInfo:
    decl: ast.ConnectorDecl
    objects: dict[str, ir.ObjectType]
    parameters: set[str]


@dataclass
class Analysis:
    config: ir.Config | None
    sink: DiagnosticSink
    rule_spans: dict[str, Span] = field(default_factory=dict)


def analyze(modules: list[ast.Module], sink: DiagnosticSink) -> ir.Config:
    """Check all modules together and lower them; diagnostics go to ``sink``."""
    from syncrules.syntax.parser import no_gc

    with no_gc():
        return _Analyzer(modules, sink).run()


class _Analyzer:
    def __init__(self, modules: list[ast.Module], sink: DiagnosticSink) -> None:
        self.modules = modules
        self.sink = sink
        self.mv: dict[str, ir.ObjectType] = {}
        self.mv_spans: dict[str, Span] = {}
        self.connectors: dict[str, _ConnectorInfo] = {}
        self.global_params: dict[str, str | None] = {}
        self.rules: list[ast.Rule] = []
        self.overrides: dict[str, ast.Override] = {}

    # ------------------------------------------------------------------ driver
    def run(self) -> ir.Config:
        for module in self.modules:
            for item in module.items:
                if isinstance(item, ast.MetaverseDecl):
                    self._metaverse(item)
                elif isinstance(item, ast.ParameterDecl):
                    self._global_parameter(item)
        for module in self.modules:
            for item in module.items:
                if isinstance(item, ast.ConnectorDecl):
                    self._connector(item)
                elif isinstance(item, ast.Rule):
                    self.rules.append(item)
                elif isinstance(item, ast.Override):
                    self._override(item)
        rules = self._rules()
        return ir.Config(
            metaverse=tuple(self.mv.values()),
            connectors=tuple(self._lower_connector(c) for c in self.connectors.values()),
            parameters=tuple(sorted(self.global_params.items())),
            rules=rules,
        )

    def _override(self, item: ast.Override) -> None:
        key = item.target.value
        if key in self.overrides:
            self.sink.error(
                "SR110",
                f"rule {key!r} is overridden twice",
                item.target.span,
                labels=(Label(self.overrides[key].target.span, "first override here"),),
            )
            return
        self.overrides[key] = item

    def _apply_overrides(self, by_name: dict[str, ast.Rule], by_id: dict[str, ast.Rule]) -> dict[str, bool]:
        """Rule name → disabled, from ``override`` blocks (which may name a rule or its id)."""
        out: dict[str, bool] = {}
        for key, item in self.overrides.items():
            rule = by_name.get(key) or by_id.get(_norm_guid(key))
            if rule is None:
                fix = suggest(key, list(by_name))
                self.sink.error(
                    "SR107",
                    f"override names unknown rule {key!r}",
                    item.target.span,
                    help=f'did you mean "{fix}"?' if fix else "an override names a rule (or its id) declared in another file",
                )
                continue
            if item.disabled is not None:
                out[rule.name.value] = item.disabled
        return out

    # ------------------------------------------------------------------ schema
    def _object_type(self, decl: ast.ObjectTypeDecl, where: str) -> ir.ObjectType:
        attrs: dict[str, ir.AttributeType] = {}
        spans: dict[str, Span] = {}
        for a in decl.attributes:
            if a.name.text in attrs:
                self.sink.error(
                    "SR110",
                    f"attribute `{a.name.text}` is declared twice in {where}",
                    a.name.span,
                    labels=(Label(spans[a.name.text], "first declared here"),),
                )
                continue
            attrs[a.name.text] = ir.AttributeType(a.name.text, a.type, a.multi, a.indexed, a.required)
            spans[a.name.text] = a.name.span
        return ir.ObjectType(decl.name.text, tuple(attrs.values()), decl.span)

    def _metaverse(self, decl: ast.MetaverseDecl) -> None:
        for obj in decl.objects:
            name = obj.name.text
            if name == "*":
                self.sink.error("SR105", "`*` is not a metaverse object type name", obj.name.span)
                continue
            if name in self.mv:
                self.sink.error(
                    "SR110",
                    f"metaverse object type `{name}` is declared twice",
                    obj.name.span,
                    labels=(Label(self.mv_spans[name], "first declared here"),),
                )
                continue
            self.mv[name] = self._object_type(obj, f"metaverse object type `{name}`")
            self.mv_spans[name] = obj.name.span

    def _global_parameter(self, decl: ast.ParameterDecl) -> None:
        name = decl.name.text
        if name in self.global_params:
            self.sink.error("SR110", f"parameter `{name}` is declared twice", decl.name.span)
            return
        self.global_params[name] = decl.value.value if decl.value else None

    def _connector(self, decl: ast.ConnectorDecl) -> None:
        name = decl.name.value
        if name in self.connectors:
            self.sink.error(
                "SR110",
                f"connector {name!r} is declared twice",
                decl.name.span,
                labels=(Label(self.connectors[name].decl.name.span, "first declared here"),),
            )
            return
        if decl.kind is None:
            self.sink.error(
                "SR011",
                f"connector {name!r} does not say its `kind`",
                decl.name.span,
                help=f"add e.g. `kind active-directory` (one of {', '.join(CONNECTOR_KINDS)})",
            )
        elif decl.kind.text not in CONNECTOR_KINDS:
            fix = suggest(decl.kind.text, list(CONNECTOR_KINDS))
            self.sink.error(
                "SR012",
                f"unknown connector kind `{decl.kind.text}`",
                decl.kind.span,
                help=f"did you mean `{fix}`?" if fix else f"use one of {', '.join(CONNECTOR_KINDS)}",
            )
        if not decl.anchor:
            self.sink.warning(
                "SR313",
                f"connector {name!r} declares no anchor",
                decl.name.span,
                help="imports match objects by anchor first; add e.g. `anchor objectGUID`",
            )
        if decl.id is not None and not _GUID.match(decl.id.value):
            self.sink.error("SR311", f"connector id {decl.id.value!r} is not a GUID", decl.id.span)
        objects: dict[str, ir.ObjectType] = {}
        for obj in decl.objects:
            if obj.name.text in objects:
                self.sink.error(
                    "SR110", f"object type `{obj.name.text}` is declared twice in connector {name!r}", obj.name.span
                )
                continue
            objects[obj.name.text] = self._object_type(obj, f"object type `{obj.name.text}` of connector {name!r}")
        params: set[str] = set(SYSTEM_PARAMETERS)
        declared: dict[str, Span] = {}
        for p in decl.parameters:
            if p.name.text in declared:
                self.sink.error("SR110", f"parameter `{p.name.text}` is declared twice in connector {name!r}", p.name.span)
            declared[p.name.text] = p.name.span
            params.add(p.name.text)
        for part in decl.partitions:
            seen_here: set[str] = set()
            for p in part.parameters:
                if p.name.text in seen_here:
                    self.sink.error("SR110", f"parameter `{p.name.text}` is set twice in partition {part.dn.value!r}", p.name.span)
                seen_here.add(p.name.text)
                params.add(p.name.text)
        for anchor in decl.anchor:
            missing = [o for o in objects.values() if o.attribute(anchor.text) is None]
            if objects and len(missing) == len(objects):
                self.sink.error(
                    "SR308",
                    f"anchor attribute `{anchor.text}` is not declared by any object type of connector {name!r}",
                    anchor.span,
                    help="declare it in the connector's object types",
                )
        self.connectors[name] = _ConnectorInfo(decl, objects, params)

    def _lower_connector(self, info: _ConnectorInfo) -> ir.Connector:
        d = info.decl
        return ir.Connector(
            name=d.name.value,
            kind=d.kind.text if d.kind else "generic",
            id=d.id.value if d.id else None,
            anchor=tuple(a.text for a in d.anchor),
            parameters=tuple((p.name.text, p.value.value if p.value else None) for p in d.parameters),
            partitions=tuple(
                ir.Partition(
                    p.dn.value,
                    tuple((q.name.text, q.value.value if q.value else None) for q in p.parameters),
                    tuple(s.value for s in p.includes),
                    tuple(s.value for s in p.excludes),
                )
                for p in d.partitions
            ),
            object_types=tuple(info.objects.values()),
            description=d.description.value if d.description else None,
            origin=d.span,
        )

    # ------------------------------------------------------------------ rules
    def _rules(self) -> tuple[ir.Rule, ...]:
        by_name: dict[str, ast.Rule] = {}
        by_id: dict[str, ast.Rule] = {}
        by_tag: dict[str, ast.Rule] = {}
        for rule in self.rules:
            name = rule.name.value
            if name in by_name:
                self.sink.error(
                    "SR108",
                    f"rule {name!r} is defined twice",
                    rule.name.span,
                    labels=(Label(by_name[name].name.span, "first defined here"),),
                    help="rule names must be unique across the whole configuration",
                )
            else:
                by_name[name] = rule
            ident = _setting_text(rule, "id")
            if ident is not None:
                key = _norm_guid(ident)
                setting = rule.setting("id")
                assert setting is not None
                if not _GUID.match(ident):
                    self.sink.error("SR311", f"rule id {ident!r} is not a GUID", setting.value.span)  # type: ignore[union-attr]
                elif key in by_id:
                    self.sink.error(
                        "SR109",
                        f"rules {by_id[key].name.value!r} and {name!r} share the id {ident}",
                        setting.value.span,  # type: ignore[union-attr]
                        labels=(Label(by_id[key].name.span, "the other rule"),),
                    )
                else:
                    by_id[key] = rule
            tag = _setting_text(rule, "tag")
            if tag:
                if tag in by_tag:
                    setting = rule.setting("tag")
                    self.sink.error(
                        "SR116",
                        f"rules {by_tag[tag].name.value!r} and {name!r} share the immutable tag {tag!r}",
                        setting.value.span,  # type: ignore[union-attr]
                    )
                else:
                    by_tag[tag] = rule

        overridden = self._apply_overrides(by_name, by_id)
        lowered: list[tuple[ast.Rule, ir.Rule]] = []
        for rule in self.rules:
            out = self._rule(rule)
            if out is not None:
                if out.name in overridden:
                    from dataclasses import replace

                    out = replace(out, disabled=overridden[out.name])
                lowered.append((rule, out))
        self._check_merge_types(lowered)
        ordered = self._resolve_precedence(lowered, by_name, by_id)
        return ordered

    def _rule(self, rule: ast.Rule) -> ir.Rule | None:
        name = rule.name.value
        d = rule.direction
        if d is None:
            self.sink.error(
                "SR011",
                f"rule {name!r} does not say its direction",
                rule.name.span,
                help='add e.g. `inbound from "contoso.com" user to person` or `outbound from person to "tenant" user`',
            )
            return None
        direction = d.direction
        conn = self.connectors.get(d.connector.value)
        if conn is None:
            fix = suggest(d.connector.value, list(self.connectors))
            self.sink.error(
                "SR104",
                f"connector {d.connector.value!r} is not declared",
                d.connector.span,
                help=f'did you mean "{fix}"?' if fix else "declare it with `connector \"name\" { ... }`",
            )
        # Object types: connector side and metaverse side.
        cs_name, mv_name = (d.source_type, d.target_type) if direction == "inbound" else (d.target_type, d.source_type)
        cs_type: ir.ObjectType | None = None
        mv_type: ir.ObjectType | None = None
        if conn is not None:
            cs_type = conn.objects.get(cs_name.text)
            if cs_type is None:
                fix = suggest(cs_name.text, list(conn.objects))
                self.sink.error(
                    "SR105",
                    f"connector {d.connector.value!r} has no object type `{cs_name.text}`",
                    cs_name.span,
                    help=f"did you mean `{fix}`?" if fix else "declare it in the connector with `object NAME { ... }`",
                )
        if mv_name.text == "*":
            if direction == "outbound":
                self.sink.error("SR307", "an outbound rule must name its metaverse object type; `*` is for inbound joins", mv_name.span)
        else:
            mv_type = self.mv.get(mv_name.text)
            if mv_type is None:
                fix = suggest(mv_name.text, list(self.mv))
                self.sink.error(
                    "SR105",
                    f"metaverse object type `{mv_name.text}` is not declared",
                    mv_name.span,
                    help=f"did you mean `{fix}`?" if fix else "declare it in a `metaverse { object NAME { ... } }` block",
                )

        link = self._link(rule, direction)
        params = self._params_for(conn)
        # Attribute environments: the side a rule reads and the side it writes.
        cs_attrs = _attr_map(cs_type, with_dn=True) if cs_type else None
        if mv_name.text == "*":
            mv_attrs: dict[str, str] | None = {}
            for t in self.mv.values():
                for a in t.attributes:
                    mv_attrs.setdefault(a.name, a.expr_type)
        else:
            mv_attrs = _attr_map(mv_type, with_dn=False) if mv_type else None
        read_attrs, write_attrs = (cs_attrs, mv_attrs) if direction == "inbound" else (mv_attrs, cs_attrs)
        read_label = (
            f"object type `{cs_name.text}` of {d.connector.value!r}" if direction == "inbound" else f"metaverse object type `{mv_name.text}`"
        )
        write_label = (
            f"metaverse object type `{mv_name.text}`" if direction == "inbound" else f"object type `{cs_name.text}` of {d.connector.value!r}"
        )
        if direction == "outbound" and write_attrs is not None:
            write_attrs = dict(write_attrs)
            write_attrs[DN] = "ref"

        scope = self._scope(rule, read_attrs, read_label, params)
        join = self._join(rule, cs_attrs, mv_attrs, d)
        flows = self._flows(rule, read_attrs, write_attrs, read_label, write_label, params)

        if direction == "inbound" and link == "provision" and not rule.join:
            self.sink.warning(
                "SR304",
                f"rule {name!r} provisions (projects) but has no join criteria, so it can never project",
                rule.name.span,
                help="a projection needs at least one join attribute with a value; add a `join { ... }` block",
            )
        soft = rule.setting("soft-delete-expiry")
        if soft is not None and isinstance(soft.value, ast.StringLit) and not _TIMESPAN.match(soft.value.value):
            self.sink.error(
                "SR012",
                f"soft-delete-expiry {soft.value.value!r} is not a time interval",
                soft.value.span,
                help='write it as "hh:mm:ss" or "d.hh:mm:ss" (e.g. "00:00:00"), or a number of seconds',
            )
        precedence = rule.precedence
        declared = precedence.value.value if precedence and precedence.value else None
        if precedence is None:
            self.sink.error(
                "SR011",
                f"rule {name!r} has no precedence",
                rule.name.span,
                help="add e.g. `precedence 50` (custom rules use 0-99), or `precedence before \"Other rule\"`",
            )
        elif precedence.value is None and precedence.before is None and precedence.after is None:
            self.sink.error("SR011", f"`precedence` of rule {name!r} needs a number or `before`/`after`", rule.name.span)
        elif declared is not None and declared < 0:
            self.sink.error("SR303", f"precedence {declared} is negative", precedence.value.span)  # type: ignore[union-attr]
        return ir.Rule(
            name=name,
            id=_setting_text(rule, "id"),
            tag=_setting_text(rule, "tag"),
            description=_setting_text(rule, "description"),
            direction=direction,
            connector=d.connector.value,
            source_type=d.source_type.text,
            target_type=d.target_type.text,
            link=link,
            precedence=declared if declared is not None else 0,
            declared_precedence=declared,
            precedence_before=precedence.before.value if precedence and precedence.before else None,
            precedence_after=precedence.after.value if precedence and precedence.after else None,
            disabled=rule.setting("disabled") is not None,
            password_sync=rule.setting("password-sync") is not None,
            soft_delete_expiry=_setting_text(rule, "soft-delete-expiry"),
            scope=scope,
            join=join,
            flows=flows,
            origin=rule.span,
        )

    def _params_for(self, conn: _ConnectorInfo | None) -> set[str]:
        params = set(self.global_params) | set(SYSTEM_PARAMETERS)
        if conn is not None:
            params |= conn.parameters
        return params

    def _link(self, rule: ast.Rule, direction: str) -> str:
        setting = rule.setting("link")
        if setting is None or not isinstance(setting.value, ast.Ident):
            return "join"
        word = setting.value.text
        canonical = _canonical_word(word, LINK_TYPES)
        if canonical is None:
            fix = suggest(word, list(LINK_TYPES))
            self.sink.error(
                "SR012",
                f"unknown link type `{word}`",
                setting.value.span,
                help=f"did you mean `{fix}`?" if fix else f"use one of {', '.join(LINK_TYPES)}",
            )
            return "join"
        if canonical != word:
            self.sink.error(
                "SR012",
                f"link types are written in lower case: `{canonical}`",
                setting.value.span,
                help=f"did you mean `{canonical}`?",
            )
        if canonical not in LINKS_BY_DIRECTION[direction]:
            why = {
                "sticky-join": "StickyJoin keeps a metaverse object alive and only applies to inbound rules",
                "join-no-flow": "JoinNoFlow suppresses exports and only applies to outbound rules",
            }.get(canonical, "")
            self.sink.error(
                "SR301",
                f"link type `{canonical}` is not valid on an {direction} rule",
                setting.value.span,
                help=(why + "; " if why else "") + f"{direction} rules use {', '.join(LINKS_BY_DIRECTION[direction])}",
            )
        return canonical

    # -- scope -------------------------------------------------------------
    def _scope(
        self, rule: ast.Rule, attrs: dict[str, str] | None, label: str, params: set[str]
    ) -> tuple[tuple[ir.ScopeClause, ...], ...]:
        groups: list[tuple[ir.ScopeClause, ...]] = []
        for group in rule.scope:
            clauses: list[ir.ScopeClause] = []
            for clause in group.clauses:
                out = self._scope_clause(clause, attrs, label, params)
                if out is not None:
                    clauses.append(out)
            groups.append(tuple(clauses))
        return tuple(groups)

    def _scope_clause(
        self, clause: ast.ScopeClause, attrs: dict[str, str] | None, label: str, params: set[str]
    ) -> ir.ScopeClause | None:
        word = clause.operator.text
        op = SCOPE_ALIASES.get(word, word)
        if op not in SCOPE_OPERATORS:
            upper = SCOPE_ALIASES.get(word.upper(), word.upper())
            fix = upper if upper in SCOPE_OPERATORS else suggest(upper, list(SCOPE_OPERATORS))
            if upper in SCOPE_OPERATORS:
                msg = f"scoping operators are written in capitals: `{upper}`"
            else:
                msg = f"unknown scoping operator `{word}`"
            self.sink.error(
                "SR009",
                msg,
                clause.operator.span,
                help=f"did you mean `{fix}`?" if fix else "operators: " + ", ".join(SCOPE_OPERATORS),
            )
            return None
        attr_type: str | None = None
        if clause.attribute is None:
            if op not in ("ISMEMBEROF", "ISNOTMEMBEROF"):
                self.sink.error("SR011", f"`{op}` needs an attribute before it", clause.operator.span)
                return None
        elif attrs is not None:
            attr_type = self._resolve_attr(clause.attribute, attrs, label)
        value = clause.value
        if op in VALUELESS_OPERATORS:
            if value is not None:
                self.sink.error("SR012", f"`{op}` takes no value", value.span, help=f"write `{clause.attribute.text if clause.attribute else 'attr'} {op}`")
            text = None
        else:
            if value is None:
                self.sink.error("SR011", f"`{op}` needs a value to compare with", clause.operator.span)
                return None
            text = value.value if isinstance(value, ast.StringLit) else value.text
            self._check_params_in_text(text, value.span, params)
            self._scope_value_type(op, attr_type, text, value)
        return ir.ScopeClause(clause.attribute.text if clause.attribute else None, op, text, clause.span)

    def _scope_value_type(self, op: str, attr_type: str | None, text: str, value: ast.StringLit | ast.NumberLit) -> None:
        if "%" in text:
            return  # substituted at run time
        base = attr_type[2:] if attr_type and attr_type.startswith("mv") else attr_type
        if op in BIT_OPERATORS:
            if not _NUMBER.match(text.strip()):
                self.sink.error("SR207", f"`{op}` takes a numeric mask, not {text!r}", value.span, help="e.g. `userAccountControl ISBITNOTSET 2`")
            elif base not in (None, "num", "var"):
                self.sink.error("SR207", f"`{op}` tests bits of a number, but the attribute holds {base}", value.span)
            return
        if base == "num" and not _NUMBER.match(text.strip()):
            self.sink.error("SR207", f"the attribute is a number, but {text!r} is not", value.span)
        elif base == "bool" and text.lower() not in _BOOLEAN:
            self.sink.error("SR207", f"the attribute is a boolean, but {text!r} is neither True nor False", value.span)
        if op in ORDERING_OPERATORS and base in ("bool", "bin"):
            self.sink.error("SR207", f"`{op}` cannot order {base} values", value.span)

    def _check_params_in_text(self, text: str, span: Span, params: set[str]) -> None:
        for m in re.finditer(r"%([A-Za-z_][A-Za-z0-9_.\-]*)%", text):
            if m.group(1) not in params:
                fix = suggest(m.group(1), params)
                self.sink.error(
                    "SR106",
                    f"parameter `%{m.group(1)}%` is not defined here",
                    span,
                    help=f"did you mean `%{fix}%`?" if fix else "declare it with `parameter` in the connector",
                )

    def _resolve_attr(self, ident: ast.Ident, attrs: dict[str, str], label: str) -> str | None:
        if ident.text in attrs:
            return attrs[ident.text]
        report_unknown_attribute(self.sink, ident.text, ident.span, attrs, label)
        return None

    # -- join ----------------------------------------------------------------
    def _join(
        self,
        rule: ast.Rule,
        cs_attrs: dict[str, str] | None,
        mv_attrs: dict[str, str] | None,
        d: ast.Direction,
    ) -> tuple[tuple[ir.JoinClause, ...], ...]:
        cs_label = f"object type `{(d.source_type if d.direction == 'inbound' else d.target_type).text}` of {d.connector.value!r}"
        mv_label = f"metaverse object type `{(d.target_type if d.direction == 'inbound' else d.source_type).text}`"
        groups: list[tuple[ir.JoinClause, ...]] = []
        for group in rule.join:
            clauses: list[ir.JoinClause] = []
            for c in group.clauses:
                cs_t = self._resolve_attr(c.cs_attribute, cs_attrs, cs_label) if cs_attrs is not None else None
                mv_t = self._resolve_attr(c.mv_attribute, mv_attrs, mv_label) if mv_attrs is not None else None
                if cs_t and mv_t and not _join_compatible(cs_t, mv_t):
                    self.sink.error(
                        "SR208",
                        f"join compares `{c.cs_attribute.text}` ({cs_t}) with `{c.mv_attribute.text}` ({mv_t}); they can never match",
                        c.span,
                        help="join attributes must hold the same kind of value",
                    )
                clauses.append(ir.JoinClause(c.cs_attribute.text, c.mv_attribute.text, c.case_sensitive, c.span))
            if not clauses:
                self.sink.error("SR011", "an empty join group matches nothing", group.span, help="remove it or add clauses")
            groups.append(tuple(clauses))
        return tuple(groups)

    # -- flows ---------------------------------------------------------------
    def _flows(
        self,
        rule: ast.Rule,
        read_attrs: dict[str, str] | None,
        write_attrs: dict[str, str] | None,
        read_label: str,
        write_label: str,
        params: set[str],
    ) -> tuple[ir.Flow, ...]:
        out: list[ir.Flow] = []
        targets: dict[str, ast.Flow] = {}
        env = ExprEnv(
            attributes=read_attrs or {},
            parameters=params,
            strict_attributes=read_attrs is not None,
            object_label=read_label or "the object",
        )
        for flow in rule.flows:
            target = flow.target.text
            if target in targets:
                self.sink.error(
                    "SR305",
                    f"rule {rule.name.value!r} flows `{target}` twice",
                    flow.target.span,
                    labels=(Label(targets[target].target.span, "first flow here"),),
                )
            targets.setdefault(target, flow)
            target_type = "var"
            if write_attrs is not None:
                resolved = self._resolve_attr(flow.target, write_attrs, write_label)
                target_type = resolved or "var"
            merge = "update"
            if flow.merge is not None:
                merge = flow.merge.text
                if merge.startswith("merge") and write_attrs is not None and target_type != "var" and not target_type.startswith("mv"):
                    self.sink.error(
                        "SR204",
                        f"`{merge}` unions values from several rules, but `{target}` is single-valued",
                        flow.merge.span,
                        help="use `update` (the default) for single-valued attributes",
                    )
            expr: ir.Expr | None = None
            if flow.kind == "expression" and flow.expr is not None:
                expr = lower_expression(flow.expr, env, self.sink)
                if expr is not None:
                    self._flow_type(flow, expr.type, target_type, flow.expr.span)
            elif flow.kind == "direct":
                for src in flow.sources:
                    if read_attrs is not None:
                        src_type = self._resolve_attr(src, read_attrs, read_label)
                        if src_type is not None:
                            self._flow_type(flow, src_type, target_type, src.span)
                if len(flow.sources) > 1 and not target_type.startswith("mv") and target_type != "var":
                    self.sink.warning(
                        "SR306",
                        f"several sources flow into single-valued `{target}`; only one value can be kept",
                        flow.span,
                    )
            elif flow.kind == "constant" and flow.constant is not None:
                self._check_params_in_text(flow.constant.value, flow.constant.span, params)
                self._constant_type(flow.constant, target_type)
            out.append(
                ir.Flow(
                    target=target,
                    kind=flow.kind,
                    sources=tuple(s.text for s in flow.sources) if flow.kind == "direct" else _expr_sources(flow),
                    constant=flow.constant.value if flow.constant else None,
                    expr=expr,
                    merge=merge,
                    once=flow.once,
                    target_type=target_type,
                    origin=flow.span,
                )
            )
        return tuple(out)

    def _flow_type(self, flow: ast.Flow, value_type: str, target_type: str, span: Span) -> None:
        if target_type == "var" or value_type in ("var", "null", "special", "void", "mvattr"):
            return
        v_multi, t_multi = value_type.startswith("mv"), target_type.startswith("mv")
        v_base, t_base = (value_type[2:] if v_multi else value_type), (target_type[2:] if t_multi else target_type)
        if v_multi and not t_multi and flow.kind == "direct":
            # Microsoft's defaults flow AD's multi-valued photo into the metaverse's single-valued one.
            self.sink.emit(
                Diagnostic(
                    "SR210",
                    Severity.INFO,
                    f"a multi-valued attribute ({value_type}) flows into single-valued `{flow.target.text}` ({target_type}); only the first value is kept",
                    span,
                )
            )
            return
        if v_multi and not t_multi:
            self.sink.error(
                "SR204",
                f"a multi-valued value ({value_type}) cannot flow into single-valued `{flow.target.text}` ({target_type})",
                span,
                help="pick one value, e.g. with Item(..., 1) or Join(...)",
            )
            return
        if v_base == "var" or _assignable(v_base, t_base):
            return
        fix = {
            ("bin", "str"): "convert it with ConvertToBase64 or StringFromGuid",
            ("str", "bin"): "convert it with CGuid or ConvertFromBase64",
            ("str", "num"): "convert it with CNum",
            ("str", "bool"): "convert it with CBool",
            ("dt", "str"): "format it with FormatDateTime",
            ("str", "ref"): "convert it with CRef",
        }.get((v_base, t_base))
        self.sink.error(
            "SR204",
            f"`{flow.target.text}` holds {t_base} values, but this flow produces {v_base}",
            span,
            help=fix,
        )

    def _constant_type(self, constant: ast.StringLit, target_type: str) -> None:
        base = target_type[2:] if target_type.startswith("mv") else target_type
        text = constant.value
        if "%" in text:
            return
        problem = None
        if base == "bool" and text.lower() not in _BOOLEAN:
            problem = "True or False"
        elif base == "num" and not _NUMBER.match(text.strip()):
            problem = "a whole number"
        elif base == "bin" and not _is_base64(text):
            problem = "base64-encoded bytes"
        if problem:
            self.sink.error(
                "SR209",
                f"the constant {text!r} does not fit the target, which needs {problem}",
                constant.span,
            )

    # -- cross-rule checks ---------------------------------------------------
    def _check_merge_types(self, lowered: list[tuple[ast.Rule, ir.Rule]]) -> None:
        groups: dict[tuple[str, str, str, str], list[tuple[ast.Rule, ir.Flow, ast.Flow]]] = defaultdict(list)
        for ast_rule, rule in lowered:
            if rule.disabled:
                continue  # a disabled rule is never in scope, so it cannot conflict
            for flow_ir, flow_ast in zip(rule.flows, ast_rule.flows, strict=True):
                merge_word = flow_ast.merge.text if flow_ast.merge else "update"
                if merge_word not in MERGE_TYPES:
                    fix = _canonical_word(merge_word, MERGE_TYPES)
                    self.sink.error("SR012", f"unknown merge type `{merge_word}`", flow_ast.merge.span if flow_ast.merge else flow_ast.span, help=f"did you mean `{fix}`?" if fix else None)
                    continue
                if rule.direction == "inbound":
                    key = ("inbound", "", rule.target_type, flow_ir.target)
                else:
                    key = ("outbound", rule.connector, rule.target_type, flow_ir.target)
                groups[key].append((ast_rule, flow_ir, flow_ast))
        for flows in groups.values():
            kinds = {_merge_family(f.merge) for _, f, _ in flows}
            if len(kinds) > 1:
                first = flows[0]
                for _, f, fa in flows[1:]:
                    if _merge_family(f.merge) != _merge_family(first[1].merge):
                        self.sink.error(
                            "SR302",
                            f"`{f.target}` is flowed with merge type `{f.merge}` here but `{first[1].merge}` by rule {first[0].name.value!r}",
                            fa.merge.span if fa.merge else fa.target.span,
                            labels=(Label(first[2].span, f"`{first[1].merge}` here"),),
                            help="every rule contributing to one target attribute must use the same merge type",
                        )

    def _resolve_precedence(
        self,
        lowered: list[tuple[ast.Rule, ir.Rule]],
        by_name: dict[str, ast.Rule],
        by_id: dict[str, ast.Rule],
    ) -> tuple[ir.Rule, ...]:
        """Order rules: by number, with `before X` / `after X` rules placed next to X.

        A rule with ``before "X"`` takes X's precedence and sorts just ahead of it; ``after`` just
        behind. The result is a total order; ``precedence`` on the IR rule is the effective number.
        """
        known = {r.name: r for _, r in lowered}

        def anchor(ref: str | None, rule: ast.Rule, which: str) -> str | None:
            if ref is None:
                return None
            if _is_zero_guid(ref):
                return None
            target = by_name.get(ref) or by_id.get(_norm_guid(ref))
            setting = rule.precedence
            span = getattr(setting, which).span if setting else rule.name.span
            if target is None:
                if _GUID.match(ref):
                    return None  # a GUID of a rule outside this configuration: keep the number as written
                fix = suggest(ref, list(by_name))
                self.sink.error("SR107", f"precedence refers to unknown rule {ref!r}", span, help=f'did you mean "{fix}"?' if fix else None)
                return None
            if target.name.value == rule.name.value:
                self.sink.error("SR312", f"rule {ref!r} cannot be placed relative to itself", span)
                return None
            return target.name.value

        relations: dict[str, tuple[str, int]] = {}
        for ast_rule, rule in lowered:
            prec = ast_rule.precedence
            if prec is not None and prec.before is not None and prec.after is not None:
                self.sink.error(
                    "SR012",
                    f"rule {rule.name!r} is placed both before and after another rule",
                    prec.after.span,
                    help="use either `before` or `after`",
                )
            before = anchor(rule.precedence_before, ast_rule, "before")
            after = anchor(rule.precedence_after, ast_rule, "after")
            if before is not None:
                relations[rule.name] = (before, -1)
            elif after is not None:
                relations[rule.name] = (after, 1)

        effective: dict[str, tuple[int, tuple[int, ...]]] = {}

        def resolve(name: str, trail: tuple[str, ...]) -> tuple[int, tuple[int, ...]]:
            if name in effective:
                return effective[name]
            rule = known[name]
            if name in relations and name not in trail:
                target, offset = relations[name]
                if target in trail or target == name:
                    self.sink.error("SR312", f"relative precedence of rule {name!r} forms a cycle", rule.origin)
                    result = (rule.precedence, (0,))
                elif target in known:
                    base, path = resolve(target, (*trail, name))
                    # Sort just ahead of (or behind) the anchor: replace its own 0 by the offset.
                    result = (base, (*path[:-1], offset, 0))
                else:
                    result = (rule.precedence, (0,))
            else:
                result = (rule.precedence, (0,))
            effective[name] = result
            return result

        keyed: list[tuple[tuple[int, tuple[int, ...], int], ir.Rule]] = []
        for index, (_, rule) in enumerate(lowered):
            number, path = resolve(rule.name, ())
            keyed.append(((number, path, index), _replace_precedence(rule, number)))
        keyed.sort(key=lambda kv: kv[0])
        return tuple(r for _, r in keyed)


# ---------------------------------------------------------------------------- helpers


def _replace_precedence(rule: ir.Rule, number: int) -> ir.Rule:
    if rule.precedence == number:
        return rule
    from dataclasses import replace

    return replace(rule, precedence=number)


def _setting_text(rule: ast.Rule, key: str) -> str | None:
    s = rule.setting(key)
    if s is None or s.value is None:
        return None
    return s.value.value if isinstance(s.value, ast.StringLit) else s.value.text


def _is_base64(text: str) -> bool:
    import base64
    import binascii

    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


_TIMESPAN = re.compile(r"^(?:\d+|(?:\d+\.)?\d{1,2}:\d{2}:\d{2}(?:\.\d+)?)$")


def _norm_guid(text: str) -> str:
    return text.strip("{}").lower()


def _is_zero_guid(text: str) -> bool:
    return bool(_GUID.match(text)) and set(_norm_guid(text).replace("-", "")) == {"0"}


def _attr_map(t: ir.ObjectType | None, with_dn: bool) -> dict[str, str]:
    out: dict[str, str] = {}
    if t is not None:
        out = {a.name: a.expr_type for a in t.attributes}
    if with_dn:
        out.setdefault(DN, "ref")
    return out


def _canonical_word(word: str, choices: tuple[str, ...]) -> str | None:
    """Accept the Rules Editor's spellings (``StickyJoin``, ``MergeCaseInsensitive``) as suggestions."""
    flat = word.replace("-", "").replace("_", "").lower()
    for c in choices:
        if c.replace("-", "") == flat:
            return c
    return None


def _merge_family(merge: str) -> str:
    # Replace is documented as the same as Update.
    return "update" if merge in ("update", "replace") else merge


def _assignable(value: str, target: str) -> bool:
    if value == target:
        return True
    # Values the engine converts without loss: numbers, booleans and references to text,
    # and text to references (a DN).
    return (value, target) in {("num", "str"), ("bool", "str"), ("ref", "str"), ("str", "ref")}


def _join_compatible(a: str, b: str) -> bool:
    a = a[2:] if a.startswith("mv") else a
    b = b[2:] if b.startswith("mv") else b
    if a == b:
        return True
    return {a, b} <= {"str", "ref"}


def _expr_sources(flow: ast.Flow) -> tuple[str, ...]:
    """Attributes an expression reads: the informational Source list of the Rules Editor."""
    if flow.expr is None:
        return ()
    names: list[str] = []
    for node in ast.walk_expr(flow.expr):
        if isinstance(node, ast.AttrRef) and node.name not in names:
            names.append(node.name)
        elif (
            isinstance(node, ast.Call)
            and node.func.text in ("ImportedValue", "ValueCount")
            and len(node.args) == 1
            and isinstance(node.args[0], ast.StringLit)
            and node.args[0].value not in names
        ):
            names.append(node.args[0].value)  # these name their attribute in quotes
    return tuple(names)
