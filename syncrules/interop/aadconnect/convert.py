"""Map the Entra Connect model onto the syncrules AST.

This is where every translation decision lives, so that every reader (XML today, PowerShell
later) gets the same result:

* connectors are named (connector file, ``--connectors`` override, or a GUID-based guess), rule
  names that clash are renamed apart, and precedence-before/after GUIDs that point at imported
  rules become those rules' names;
* enum spellings of the export (``StickyJoin``, ``MergeCaseInsensitive``) become the language's
  words; defaults (``Update``, soft-delete ``00:00:00``) are left implicit;
* expressions are parsed with the language's own expression parser, so the flow keeps exactly
  the author's text structure (parentheses, hex literals, string escapes);
* schemas are restricted to what the connector really holds (see :meth:`Converter._connector_objects`)
  and completed, with a warning, by whatever the rules use that the schema lacks.

Every generated declaration is printed and parsed back before it is accepted; a declaration that
would not read back identically is left out with SR814, so the output never silently differs
from what was imported.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from syncrules import ast
from syncrules.catalogue import load_catalogue
from syncrules.diagnostics import Diagnostic, DiagnosticSink, Severity
from syncrules.fmt import format_module
from syncrules.interop.aadconnect.model import (
    Connector,
    DsmlSchema,
    Export,
    FlowMapping,
    SchemaAttribute,
    SyncRule,
    norm_guid,
)
from syncrules.interop.aadconnect.xml_config import LINK_TYPES, MERGE_TYPES
from syncrules.interop.codes import (
    ATTRIBUTE_NOT_IN_SCHEMA,
    INVALID_EXPRESSION,
    INVALID_FIELD,
    MISSING_CONNECTOR,
    MISSING_METAVERSE,
    NOT_REPRESENTED,
    RENAMED_APART,
    ROUND_TRIP_FAILURE,
    SOURCE_LIST_DIFFERS,
    UNREPRESENTABLE_NAME,
    UNREPRESENTABLE_TEXT,
)
from syncrules.source import SourceFile, Span
from syncrules.syntax import parse_expression, parse_source
from syncrules.syntax.build import RESERVED_CONSTANTS

# The language's NAME token (grammar/syncrules.lark): what an attribute, type or parameter name
# must look like to be written bare.
_NAME = re.compile(r"[A-Za-z_](?:[A-Za-z0-9_.\-]*[A-Za-z0-9_])?")
_INTEGER = re.compile(r"-?[0-9]+")
_VALUELESS = ("ISNULL", "ISNOTNULL")
# Bare words that read as constants, not attribute names (compared case-insensitively, as the
# parser does).
_RESERVED = frozenset(c.lower() for c in RESERVED_CONSTANTS)
# The pseudo-attribute for a connector object's distinguished name: implicit, never declared.
_DN = "dn"


@dataclass
class ImportStats:
    """What was imported, for the summary line and for tests."""

    rules: int = 0
    inbound: int = 0
    outbound: int = 0
    flows: Counter[str] = field(default_factory=Counter)  # by kind: direct, constant, expression
    scope_groups: int = 0
    scope_clauses: int = 0
    join_groups: int = 0
    join_clauses: int = 0
    connectors: int = 0
    metaverse_types: int = 0
    connector_types: int = 0


@dataclass
class ConvertedProject:
    metaverse: ast.MetaverseDecl
    connectors: list[ast.ConnectorDecl]  # sorted by name
    # (connector name, direction) -> rules, sorted by precedence then name
    rules: dict[tuple[str, str], list[ast.Rule]]
    stats: ImportStats


@dataclass
class _Use:
    """Attributes rules use on one object type, with the first place each is used."""

    attributes: dict[str, Span | None] = field(default_factory=dict)

    def add(self, name: str, where: Span | None) -> None:
        if name and name != _DN:
            self.attributes.setdefault(name, where)


# A side of a rule: ("mv", type) or ("cs", connector key, type).
_Side = tuple[str, ...]


class Converter:
    def __init__(
        self, export: Export, sink: DiagnosticSink, connector_names: dict[str, str] | None = None
    ) -> None:
        self.export = export
        self.sink = sink
        self.overrides = {norm_guid(k): v for k, v in (connector_names or {}).items()}
        self.connectors: dict[str, Connector] = {}  # by normalised GUID, every connector written
        self.rule_names: dict[int, str] = {}  # id(SyncRule) -> final name
        self.rule_by_id: dict[str, SyncRule] = {norm_guid(r.identifier): r for r in export.rules}
        self.uses: dict[_Side, _Use] = defaultdict(_Use)
        self.pairs: dict[tuple[_Side, str], list[tuple[_Side, str]]] = defaultdict(list)
        self.stats = ImportStats()
        self._attribute_args = _attribute_name_parameters()

    # ------------------------------------------------------------------ driver
    def run(self) -> ConvertedProject:
        self._name_connectors()
        self._name_rules()
        rules: dict[tuple[str, str], list[ast.Rule]] = defaultdict(list)
        ordered = sorted(
            self.export.rules,
            key=lambda r: (
                r.precedence if r.precedence is not None else 1 << 31,
                self.rule_names[id(r)],
                norm_guid(r.identifier),
            ),
        )
        for record in ordered:
            built = self._rule(record)
            if built is None or not self._reads_back(built, f"rule {built.name.value!r}", record.origin):
                continue
            self._count(built)
            conn = self.connectors[norm_guid(record.connector)].name
            rules[(conn, built.direction.direction if built.direction else "inbound")].append(built)
        metaverse = self._metaverse()
        connectors = []
        for key in sorted(
            self.connectors, key=lambda k: (self.connectors[k].name.lower(), self.connectors[k].name)
        ):
            decl = self._connector(key)
            if decl is not None and self._reads_back(
                decl, f"connector {decl.name.value!r}", self.connectors[key].origin
            ):
                connectors.append(decl)
                self.stats.connector_types += len(decl.objects)
        self.stats.connectors = len(connectors)
        self.stats.metaverse_types = len(metaverse.objects)
        return ConvertedProject(metaverse, connectors, dict(rules), self.stats)

    # ------------------------------------------------------------------ naming
    def _name_connectors(self) -> None:
        referenced: dict[str, SyncRule] = {}
        for r in self.export.rules:
            referenced.setdefault(norm_guid(r.connector), r)
        for key in self.overrides:
            if key not in referenced and key not in self.export.connectors:
                self.sink.warning(
                    MISSING_CONNECTOR,
                    f"--connectors names {key}, but no rule or connector file uses that GUID",
                )
        taken: set[str] = set()
        for key in sorted(set(self.export.connectors) | set(referenced)):
            conn = self.export.connectors.get(key)
            if conn is None:
                first = referenced[key]
                name = self.overrides.get(key) or f"connector-{key[:8]}"
                self.sink.warning(
                    MISSING_CONNECTOR,
                    f"rule {first.name!r} refers to connector {first.connector}, which has no connector file; "
                    f"it is written as {name!r} (kind generic) with a schema inferred from the rules",
                    first.where("connector"),
                    help="include the export's Connectors folder, or use --schema FOLDER"
                    + ("" if key in self.overrides else " or --connectors GUID=NAME"),
                )
                conn = Connector(guid=first.connector, name=name, kind="generic")
            elif key in self.overrides:
                conn.name = self.overrides[key]
            if conn.name in taken:
                renamed = f"{conn.name} ({key[:8]})"
                self.sink.warning(
                    RENAMED_APART,
                    f"two connectors are named {conn.name!r}; connector {conn.guid} is written as {renamed!r}",
                    conn.origin,
                )
                conn.name = renamed
            if "\n" in conn.name or "\r" in conn.name:
                conn.name = " ".join(conn.name.split())
                self.sink.warning(
                    UNREPRESENTABLE_TEXT,
                    f"connector {conn.guid}: line breaks in its name were replaced by spaces",
                    conn.origin,
                )
            taken.add(conn.name)
            self.connectors[key] = conn

    def _name_rules(self) -> None:
        """Give every rule a unique name; clashing names get their connector (then id) appended.

        Multi-forest installations have one ``In from AD - User Join`` per AD connector; the
        language needs unique rule names, so those become ``In from AD - User Join (fabrikam.com)``.
        """
        by_name: dict[str, list[SyncRule]] = defaultdict(list)
        for r in self.export.rules:
            clean = " ".join(r.name.split()) if ("\n" in r.name or "\r" in r.name) else r.name
            if clean != r.name:
                self.sink.warning(
                    UNREPRESENTABLE_TEXT,
                    f"rule {r.name!r}: line breaks in its name were replaced by spaces",
                    r.where("name"),
                )
            by_name[clean].append(r)
        taken = {n for n, group in by_name.items() if len(group) == 1}
        for name in sorted(by_name):
            group = by_name[name]
            if len(group) == 1:
                self.rule_names[id(group[0])] = name
                continue
            for r in sorted(
                group, key=lambda x: (self.connectors[norm_guid(x.connector)].name, norm_guid(x.identifier))
            ):
                candidate = f"{name} ({self.connectors[norm_guid(r.connector)].name})"
                if candidate in taken:
                    candidate = f"{name} ({self.connectors[norm_guid(r.connector)].name}, {norm_guid(r.identifier)[:8]})"
                taken.add(candidate)
                self.rule_names[id(r)] = candidate
                self.sink.warning(
                    RENAMED_APART,
                    f"{len(group)} rules are named {name!r}; the one with id {r.identifier} is written as {candidate!r}",
                    r.where("name"),
                    help="rule names must be unique in syncrules; the id and tag still identify the original rule",
                )

    # ------------------------------------------------------------------ rules
    def _rule(self, r: SyncRule) -> ast.Rule | None:
        name = self.rule_names[id(r)]
        key = norm_guid(r.connector)
        conn = self.connectors[key]
        inbound = r.direction == "Inbound"
        src_type, tgt_type = r.source_object_type, r.target_object_type
        cs_type, mv_type = (src_type, tgt_type) if inbound else (tgt_type, src_type)
        for type_name, field_name in ((src_type, "sourceObjectType"), (tgt_type, "targetObjectType")):
            if not (_is_name(type_name) or type_name == "*"):
                return self._bad_name(f"object type {type_name!r}", r, field_name, name)
        cs_side: _Side = ("cs", key, cs_type)
        mv_side: _Side = ("mv", mv_type)
        read_side, write_side = (cs_side, mv_side) if inbound else (mv_side, cs_side)

        direction = ast.Direction(
            "inbound" if inbound else "outbound",
            ast.StringLit(conn.name),
            ast.Ident(src_type),
            ast.Ident(tgt_type),
        )
        link = LINK_TYPES.get(r.link_type.lower())
        if link is None:
            self.sink.error(
                INVALID_FIELD,
                f"rule {name!r}: link type {r.link_type!r} is not one of Join, Provision, StickyJoin, JoinNoFlow; the rule is left out",
                r.where("linkType"),
            )
            return None
        settings: list[ast.Setting] = [
            ast.Setting("link", ast.Ident(link)),
            ast.Setting("id", ast.StringLit(r.identifier)),
        ]
        if r.immutable_tag:
            settings.append(ast.Setting("tag", ast.StringLit(r.immutable_tag)))
        if r.description:
            text = r.description
            if "\n" in text or "\r" in text:
                text = " ".join(text.split())
                self.sink.warning(
                    UNREPRESENTABLE_TEXT,
                    f"rule {name!r}: line breaks in the description were replaced by spaces",
                    r.where("description"),
                )
            settings.append(ast.Setting("description", ast.StringLit(text)))
        if r.disabled:
            settings.append(ast.Setting("disabled", None))
        if r.password_sync:
            settings.append(ast.Setting("password-sync", None))
        if r.soft_delete_expiry is not None:
            settings.append(ast.Setting("soft-delete-expiry", ast.StringLit(r.soft_delete_expiry)))

        precedence = None
        before, after = self._relative(r.precedence_before), self._relative(r.precedence_after)
        if r.precedence is not None or before or after:
            number = ast.NumberLit(r.precedence, str(r.precedence)) if r.precedence is not None else None
            precedence = ast.Precedence(number, before, after)

        scope: list[ast.ScopeGroup] = []
        for group in r.scope:
            clauses: list[ast.ScopeClause] = []
            for c in group:
                clause = self._scope_clause(c.attribute, c.operator, c.value, name, c.origin)
                if clause is None:
                    return None  # dropping a clause would widen the rule's scope
                clauses.append(clause)
                self.uses[read_side].add(c.attribute, c.origin)
            scope.append(ast.ScopeGroup(tuple(clauses)))
        join: list[ast.JoinGroup] = []
        for jgroup in r.join:
            jclauses: list[ast.JoinClause] = []
            for j in jgroup:
                for attr in (j.cs_attribute, j.mv_attribute):
                    if not _is_name(attr):
                        self.sink.error(
                            UNREPRESENTABLE_NAME,
                            f"rule {name!r}: join attribute {attr!r} is not a valid name; the rule is left out",
                            j.origin,
                        )
                        return None
                jclauses.append(
                    ast.JoinClause(ast.Ident(j.cs_attribute), ast.Ident(j.mv_attribute), j.case_sensitive)
                )
                self.uses[cs_side].add(j.cs_attribute, j.origin)
                self.uses[mv_side].add(j.mv_attribute, j.origin)
                self._pair(cs_side, j.cs_attribute, mv_side, j.mv_attribute)
            join.append(ast.JoinGroup(tuple(jclauses)))
        flows: list[ast.Flow] = []
        for m in r.flows:
            flow = self._flow(m, name, read_side, write_side)
            if flow is not None:
                flows.append(flow)
        return ast.Rule(
            ast.StringLit(name),
            direction,
            precedence,
            tuple(settings),
            tuple(scope),
            tuple(join),
            tuple(flows),
        )

    def _relative(self, ref: str | None) -> ast.StringLit | None:
        """precedence before/after: the target rule's name when it was imported, else its GUID."""
        if ref is None:
            return None
        target = self.rule_by_id.get(norm_guid(ref))
        return ast.StringLit(self.rule_names[id(target)] if target is not None else ref)

    def _scope_clause(
        self, attribute: str, operator: str, value: str, rule: str, where: Span | None
    ) -> ast.ScopeClause | None:
        op = operator.upper()  # the export's enum is case-insensitive; the language writes capitals
        if not _is_name(op):
            self.sink.error(
                UNREPRESENTABLE_NAME,
                f"rule {rule!r}: scoping operator {operator!r} is not a valid name; the rule is left out",
                where,
            )
            return None
        if attribute and not _is_name(attribute):
            self.sink.error(
                UNREPRESENTABLE_NAME,
                f"rule {rule!r}: scoping attribute {attribute!r} is not a valid name; the rule is left out",
                where,
            )
            return None
        lit: ast.StringLit | ast.NumberLit | None = None
        if op in _VALUELESS:
            if value.strip():
                self._note(
                    f"rule {rule!r}: `{attribute} {op}` carries the value {value!r}, which the operator ignores; it is dropped",
                    where,
                )
        elif _INTEGER.fullmatch(value):
            lit = ast.NumberLit(int(value), value)
        elif "\n" in value or "\r" in value:
            self.sink.error(
                UNREPRESENTABLE_TEXT,
                f"rule {rule!r}: scoping value {value!r} contains a line break, which the language cannot hold; the rule is left out",
                where,
            )
            return None
        else:
            lit = ast.StringLit(value)
        return ast.ScopeClause(ast.Ident(attribute) if attribute else None, ast.Ident(op), lit)

    def _flow(self, m: FlowMapping, rule: str, read_side: _Side, write_side: _Side) -> ast.Flow | None:
        if not _is_name(m.destination):
            self.sink.error(
                UNREPRESENTABLE_NAME,
                f"rule {rule!r}: flow target {m.destination!r} is not a valid name; the flow is left out",
                m.origin,
            )
            return None
        merge_word = MERGE_TYPES.get(m.merge_type.lower())
        if merge_word is None:
            self.sink.error(
                INVALID_FIELD,
                f"rule {rule!r}, flow to {m.destination!r}: merge type {m.merge_type!r} is not one of Update, Replace, Merge, MergeCaseInsensitive; the flow is left out",
                m.origin,
            )
            return None
        target = ast.Ident(m.destination)
        merge = ast.Ident(merge_word) if merge_word != "update" else None
        self.uses[write_side].add(m.destination, m.origin)
        if m.flow_type == "Expression":
            expr = self._expression(m, rule)
            if expr is None:
                return None
            read = self._expression_reads(expr)
            for attr in read:
                self.uses[read_side].add(attr, m.expression_origin or m.origin)
            if set(m.sources) != set(read):
                self._source_list(m, rule, read)
            return ast.Flow(target, "expression", expr=expr, merge=merge, once=m.execute_once)
        if m.flow_type == "Direct":
            for s in m.sources:
                if not _is_name(s) or s.lower() in _RESERVED:
                    self.sink.error(
                        UNREPRESENTABLE_NAME,
                        f"rule {rule!r}, flow to {m.destination!r}: source {s!r} cannot be written as an attribute name; the flow is left out",
                        m.origin,
                    )
                    return None
            for s in m.sources:
                self.uses[read_side].add(s, m.origin)
                self._pair(read_side, s, write_side, m.destination)
            return ast.Flow(
                target,
                "direct",
                sources=tuple(ast.Ident(s) for s in m.sources),
                merge=merge,
                once=m.execute_once,
            )
        text = m.constant or ""
        if "\n" in text or "\r" in text:
            self.sink.error(
                UNREPRESENTABLE_TEXT,
                f"rule {rule!r}, flow to {m.destination!r}: the constant contains a line break, which the language cannot hold; the flow is left out",
                m.origin,
            )
            return None
        return ast.Flow(target, "constant", constant=ast.StringLit(text), merge=merge, once=m.execute_once)

    def _expression(self, m: FlowMapping, rule: str) -> ast.Expr | None:
        scratch = DiagnosticSink()
        expr = parse_expression(m.expression or "", scratch)
        if expr is None or scratch.has_errors:
            problem = next(
                (d.message for d in scratch.items if d.severity >= Severity.ERROR), "it does not parse"
            )
            self.sink.error(
                INVALID_EXPRESSION,
                f"rule {rule!r}, flow to {m.destination!r}: the expression cannot be read ({problem}); the flow is left out",
                m.expression_origin or m.origin,
                note=f"expression: {m.expression}",
            )
            return None
        if isinstance(expr, ast.NameRef) and expr.name.lower() not in _RESERVED:
            # A lone bare name would read back as a direct flow; parentheses keep it an expression.
            expr = ast.Paren(expr)
        return expr

    def _expression_reads(self, expr: ast.Expr) -> list[str]:
        """Attributes an expression reads: ``[attr]`` and names passed to ImportedValue/ValueCount."""
        names: list[str] = []
        for node in ast.walk_expr(expr):
            if isinstance(node, ast.AttrRef):
                names.append(node.name)
            elif isinstance(node, ast.Call):
                for index in self._attribute_args.get(node.func.text, ()):
                    arg = node.args[index] if index < len(node.args) else None
                    if isinstance(arg, ast.StringLit):
                        names.append(arg.value)
        return list(dict.fromkeys(names))

    def _source_list(self, m: FlowMapping, rule: str, read: list[str]) -> None:
        listed = ", ".join(m.sources) or "(empty)"
        reads = ", ".join(read) or "(none)"
        self.sink.emit(
            Diagnostic(
                SOURCE_LIST_DIFFERS,
                Severity.INFO,
                f"rule {rule!r}, flow to {m.destination!r}: the export lists the sources {listed}, but the expression reads {reads}; "
                "syncrules derives the list from the expression, so the exported list is not kept",
                m.origin,
            )
        )

    # ------------------------------------------------------------------ schema
    def _metaverse(self) -> ast.MetaverseDecl:
        classes = self.export.metaverse
        if classes is None and self.export.rules:
            self.sink.warning(
                MISSING_METAVERSE,
                "no metaverse schema (GlobalSettings/MV.xml) was found; it is inferred from the rules, with types taken "
                "from the connector attributes they flow to and from (else string)",
                help="include the export's GlobalSettings folder, or use --schema FOLDER",
            )
        classes = classes or {}
        used = sorted({side[1] for side in self.uses if side[0] == "mv" and side[1] != "*"})
        objects = []
        for name in sorted(set(classes) | set(used), key=lambda n: (n.lower(), n)):
            cls = classes.get(name)
            attrs = dict(cls.attributes) if cls is not None else {}
            if cls is None and self.export.metaverse is not None:
                self.sink.warning(
                    ATTRIBUTE_NOT_IN_SCHEMA,
                    f"rules use metaverse object type `{name}`, which MV.xml does not define; it is declared from the rules",
                )
            self._complete(
                ("mv", name),
                attrs,
                None,
                warn=self.export.metaverse is not None,
                label=f"metaverse object type `{name}`",
            )
            objects.append(_object_decl(name, attrs))
        return ast.MetaverseDecl(tuple(objects))

    def _connector(self, key: str) -> ast.ConnectorDecl | None:
        conn = self.connectors[key]
        params = []
        for pname, value in conn.parameters:
            decl = self._parameter(pname, value, conn)
            if decl is not None:
                params.append(decl)
        partitions = []
        for part in conn.partitions:
            if not part.selected:
                self._note(
                    f"connector {conn.name!r}: partition {part.dn!r} is not selected for synchronization and is not written",
                    conn.origin,
                )
                continue
            part_params = tuple(
                p for p in (self._parameter(n, v, conn) for n, v in part.parameters) if p is not None
            )
            if not (part_params or part.includes or part.excludes):
                continue  # e.g. Entra ID's "default" partition: nothing to say about it
            partitions.append(
                ast.PartitionDecl(
                    ast.StringLit(part.dn),
                    part_params,
                    tuple(ast.StringLit(s) for s in part.includes),
                    tuple(ast.StringLit(s) for s in part.excludes),
                )
            )
        anchor = tuple(ast.Ident(a) for a in conn.anchor if _is_name(a))
        return ast.ConnectorDecl(
            name=ast.StringLit(conn.name),
            kind=ast.Ident(conn.kind),
            id=ast.StringLit(conn.guid),
            description=ast.StringLit(" ".join(conn.description.split()))
            if conn.description.strip()
            else None,
            anchor=anchor,
            parameters=tuple(params),
            partitions=tuple(partitions),
            objects=tuple(self._connector_objects(key)),
        )

    def _connector_objects(self, key: str) -> list[ast.ObjectTypeDecl]:
        """The connector's object types and attributes.

        Types: the object classes its selected partitions import, plus any type a rule uses.
        Attributes: those the class may hold, restricted to the connector's attribute inclusion
        list when it has one (AD: only selected attributes reach the connector space). A schema
        export of a whole AD forest has hundreds of classes and thousands of attributes; this
        keeps what the connector actually holds, which is also what rules can use.
        """
        conn = self.connectors[key]
        schema = conn.schema
        selected = {c for p in conn.partitions if p.selected for c in p.object_classes} if schema else set()
        used = {side[2] for side in self.uses if side[0] == "cs" and side[1] == key}
        out = []
        for name in sorted(selected | used, key=lambda n: (n.lower(), n)):
            if not _is_name(name):
                continue
            cls = schema.object_class(name) if schema else None
            attrs: dict[str, SchemaAttribute] = {}
            if cls is not None:
                inclusion = conn.attribute_inclusion
                attrs = {n: a for n, a in cls.attributes.items() if inclusion is None or n in inclusion}
            elif schema is not None:
                self.sink.warning(
                    ATTRIBUTE_NOT_IN_SCHEMA,
                    f"rules use object type `{name}` of connector {conn.name!r}, which its schema does not define; it is declared from the rules",
                    conn.origin,
                )
            self._complete(
                ("cs", key, name),
                attrs,
                schema,
                warn=schema is not None,
                label=f"object type `{name}` of connector {conn.name!r}",
            )
            out.append(_object_decl(name, attrs))
        return out

    def _complete(
        self,
        side: _Side,
        attrs: dict[str, SchemaAttribute],
        schema: DsmlSchema | None,
        warn: bool,
        label: str,
    ) -> None:
        """Declare attributes rules use on ``side`` that the schema lacks (typed by inference)."""
        use = self.uses.get(side)
        if use is None:
            return
        for name, where in sorted(use.attributes.items()):
            if name in attrs or not _is_name(name):
                continue
            known = schema.attribute(name) if schema is not None else None
            attr = (
                SchemaAttribute(known.name, known.type, known.multi, known.indexed)
                if known
                else self._infer(side, name)
            )
            attrs[name] = attr
            if warn:
                why = "is not among the attributes the connector imports" if known else "is not in the schema"
                self.sink.warning(
                    ATTRIBUTE_NOT_IN_SCHEMA,
                    f"rules use `{name}` of {label}, which {why}; it is declared as {attr.type}{' multi' if attr.multi else ''}",
                    where,
                )

    def _infer(self, side: _Side, name: str) -> SchemaAttribute:
        """Type an undeclared attribute from the attributes it is flowed or joined with."""
        for other_side, other in self.pairs.get((side, name), []):
            found = self._declared(other_side, other)
            if found is not None:
                return SchemaAttribute(name, found.type, found.multi)
        return SchemaAttribute(name, "string")

    def _declared(self, side: _Side, name: str) -> SchemaAttribute | None:
        if side[0] == "mv":
            classes = self.export.metaverse or {}
            candidates = (
                list(classes.values()) if side[1] == "*" else [classes[side[1]]] if side[1] in classes else []
            )
            return next((c.attributes[name] for c in candidates if name in c.attributes), None)
        conn = self.connectors.get(side[1])
        if conn is None or conn.schema is None:
            return None
        cls = conn.schema.object_class(side[2])
        if cls is not None and name in cls.attributes:
            return cls.attributes[name]
        return conn.schema.attribute(name)

    def _pair(self, a: _Side, a_attr: str, b: _Side, b_attr: str) -> None:
        self.pairs[(a, a_attr)].append((b, b_attr))
        self.pairs[(b, b_attr)].append((a, a_attr))

    def _parameter(self, name: str, value: str, conn: Connector) -> ast.ParameterDecl | None:
        if not _is_name(name):
            self._note(
                f"connector {conn.name!r}: parameter {name!r} is not a valid name and is not written",
                conn.origin,
            )
            return None
        if "\n" in value or "\r" in value:
            self.sink.warning(
                UNREPRESENTABLE_TEXT,
                f"connector {conn.name!r}: parameter {name!r} has a multi-line value, which is not written",
                conn.origin,
            )
            return None
        return ast.ParameterDecl(ast.Ident(name), ast.StringLit(value))

    # ------------------------------------------------------------------ checks and counts
    def _reads_back(self, item: ast.Item, label: str, where: Span | None) -> bool:
        """Print ``item`` and parse it back; accept it only if nothing changed on the way."""
        text = format_module(ast.Module("<import>", (item,)))
        scratch = DiagnosticSink()
        parsed = parse_source(SourceFile("<import>", text), scratch)
        if parsed is not None and not scratch.has_errors and parsed.items == (item,):
            return True
        problem = next((d.message for d in scratch.items), "it reads back differently")
        self.sink.error(
            ROUND_TRIP_FAILURE,
            f"{label} cannot be written faithfully ({problem}); it is left out",
            where,
            help="this is a bug in the importer; please report it with the export file",
        )
        return False

    def _bad_name(self, what: str, r: SyncRule, field_name: str, rule: str) -> None:
        self.sink.error(
            UNREPRESENTABLE_NAME,
            f"rule {rule!r}: {what} is not a valid name; the rule is left out",
            r.where(field_name),
        )
        return None

    def _note(self, message: str, where: Span | None) -> None:
        self.sink.emit(Diagnostic(NOT_REPRESENTED, Severity.INFO, message, where))

    def _count(self, rule: ast.Rule) -> None:
        s = self.stats
        s.rules += 1
        if rule.direction is not None and rule.direction.direction == "outbound":
            s.outbound += 1
        else:
            s.inbound += 1
        s.flows.update(f.kind for f in rule.flows)
        s.scope_groups += len(rule.scope)
        s.scope_clauses += sum(len(g.clauses) for g in rule.scope)
        s.join_groups += len(rule.join)
        s.join_clauses += sum(len(g.clauses) for g in rule.join)


def convert(
    export: Export, sink: DiagnosticSink, connector_names: dict[str, str] | None = None
) -> ConvertedProject:
    """Map a read export onto AST declarations (diagnostics go to ``sink``)."""
    return Converter(export, sink, connector_names).run()


def _is_name(text: str) -> bool:
    return bool(_NAME.fullmatch(text))


def _object_decl(name: str, attrs: dict[str, SchemaAttribute]) -> ast.ObjectTypeDecl:
    ordered = sorted(attrs.values(), key=lambda a: (a.name.lower(), a.name))
    return ast.ObjectTypeDecl(
        ast.Ident(name),
        tuple(
            ast.AttributeDecl(ast.Ident(a.name), a.type, a.multi, a.indexed, a.required)
            for a in ordered
            if _is_name(a.name)
        ),
    )


def _attribute_name_parameters() -> dict[str, tuple[int, ...]]:
    """Functions taking an attribute *name* as a string (ImportedValue, ValueCount), by position."""
    out: dict[str, tuple[int, ...]] = {}
    for fn in load_catalogue().values():
        positions = {i for o in fn.overloads for i, p in enumerate(o.params) if p.name == "attributeName"}
        if positions:
            out[fn.name] = tuple(sorted(positions))
    return out


__all__ = ["ConvertedProject", "Converter", "ImportStats", "convert"]
