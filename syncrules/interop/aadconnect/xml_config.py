"""Read a ``Get-ADSyncServerConfiguration`` export folder into the model.

The export is a folder with ``SynchronizationRules/SynchronizationRule_{guid}.xml`` (one rule per
file), ``Connectors/Connector_{guid}.xml`` (name, type, DSML schema, partitions, parameters) and
``GlobalSettings/MV.xml`` (the metaverse schema in DSML). Sources may also be single XML files
or loose folders of them; files are recognised by their root element, not by their names.

Everything is read *as exported*; mapping onto the language happens in ``convert``. Values the
model cannot hold at all (an unknown element, an internal id that differs from the identifier)
are reported here as SR808, so the user sees every dropped field.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from syncrules.diagnostics import Diagnostic, DiagnosticSink, Severity
from syncrules.interop.aadconnect.model import (
    Connector,
    DsmlSchema,
    Export,
    FlowMapping,
    JoinCondition,
    Partition,
    SchemaAttribute,
    SchemaClass,
    ScopeCondition,
    SyncRule,
    is_zero_guid,
    norm_guid,
)
from syncrules.interop.codes import (
    DUPLICATE_OBJECT,
    INVALID_FIELD,
    NOT_REPRESENTED,
    UNRECOGNISED_EXPORT,
)
from syncrules.interop.xmltree import XmlDocument, XmlElement, read_xml
from syncrules.semantic.loader import display_path
from syncrules.source import Span

# ---------------------------------------------------------------------------- type mapping
#
# DSML attribute syntaxes (LDAP OIDs, plus Active Directory's own) → language attribute types.
# The sync engine has five connector-space types: String, Integer, Reference, Binary, Boolean.
# Time syntaxes (GeneralizedTime, UTCTime) reach the connector space as strings — the metaverse
# stores e.g. msExchELCExpirySuspensionEnd as a string and the default rules flow it directly —
# so they map to `string`, not `datetime`; no export syntax maps to `datetime`.
SYNTAX_TYPES: dict[str, str] = {
    "1.3.6.1.4.1.1466.115.121.1.7": "boolean",  # Boolean
    "1.3.6.1.4.1.1466.115.121.1.27": "number",  # Integer
    "1.2.840.113556.1.4.906": "number",  # AD Large Integer (INTEGER8)
    "1.3.6.1.4.1.1466.115.121.1.5": "binary",  # Binary
    "1.3.6.1.4.1.1466.115.121.1.40": "binary",  # Octet String
    "1.2.840.113556.1.4.907": "binary",  # AD NT Security Descriptor
    "1.3.6.1.4.1.1466.115.121.1.12": "reference",  # Distinguished Name
    "1.2.840.113556.1.4.1221": "reference",  # AD Object(OR-Name): a DN (authOrig, dLMemSubmitPerms)
    "1.3.6.1.4.1.1466.115.121.1.15": "string",  # Directory String
    "1.3.6.1.4.1.1466.115.121.1.26": "string",  # IA5 String
    "1.3.6.1.4.1.1466.115.121.1.44": "string",  # Printable String
    "1.3.6.1.4.1.1466.115.121.1.36": "string",  # Numeric String (text of digits)
    "1.3.6.1.4.1.1466.115.121.1.38": "string",  # OID
    "1.3.6.1.4.1.1466.115.121.1.43": "string",  # Presentation Address
    "1.3.6.1.4.1.1466.115.121.1.24": "string",  # Generalized Time (a string in the connector space)
    "1.3.6.1.4.1.1466.115.121.1.53": "string",  # UTC Time (likewise)
    "1.2.840.113556.1.4.905": "string",  # AD String(Teletex)
    "1.2.840.113556.1.4.1362": "string",  # AD String(Case)
    "1.2.840.113556.1.4.903": "string",  # AD Object(DN-Binary): composite "B:n:hex:DN" text
    "1.2.840.113556.1.4.904": "string",  # AD Object(DN-String): composite "S:n:text:DN" text
}

LINK_TYPES = {
    "join": "join",
    "provision": "provision",
    "stickyjoin": "sticky-join",
    "joinnoflow": "join-no-flow",
}
MERGE_TYPES = {
    "update": "update",
    "replace": "replace",
    "merge": "merge",
    "mergecaseinsensitive": "merge-case-insensitive",
}

# Elements of <synchronizationRule> that the model holds (everything else is reported as SR808).
_RULE_FIELDS = {
    "id",
    "internal-id",
    "version",
    "name",
    "description",
    "immutable-tag",
    "direction",
    "disabled",
    "connector",
    "sourceObjectType",
    "targetObjectType",
    "linkType",
    "precedence",
    "precedence-after",
    "precedence-before",
    "softDeleteExpiryInterval",
    "EnablePasswordSync",
    "attribute-mappings",
    "relationshipCriteria",
    "synchronizationCriteria",
}
_MAPPING_FIELDS = {"dest", "src", "expression", "valueMergeType"}
_DEFAULT_SOFT_DELETE = ("00:00:00", "0", "")

# AD's connector-space anchor is fixed by the connector (it is not written in the export).
_AD_ANCHOR = ("objectGUID",)


class ExportReader:
    """Collects rules, connectors and the metaverse from any mix of folders and files."""

    def __init__(self, sink: DiagnosticSink) -> None:
        self.sink = sink
        self.export = Export()
        self._read: set[Path] = set()
        self._rule_ids: dict[str, SyncRule] = {}

    # ------------------------------------------------------------------ entry points
    def add_source(self, raw: str, *, rules: bool = True) -> None:
        """Read an export folder, a folder of XML files, or one XML file.

        With ``rules=False`` (the ``--schema`` folder) only connectors and the metaverse are taken.
        """
        path = Path(raw)
        if path.is_dir():
            if any((path / sub).is_dir() for sub in ("SynchronizationRules", "Connectors", "GlobalSettings")):
                self._export_root(path, rules)
                return
            files = sorted(p for p in path.glob("*.xml") if p.is_file())
            if not files:
                self.sink.error(
                    UNRECOGNISED_EXPORT,
                    f"{raw} is not an export folder and holds no .xml files",
                    help="pass the folder written by Get-ADSyncServerConfiguration (it has a SynchronizationRules folder)",
                )
            for f in files:
                self._file(f, rules)
        elif path.is_file():
            self._file(path, rules)
        else:
            self.sink.error(UNRECOGNISED_EXPORT, f"cannot read {raw}: no such file or directory")

    def _export_root(self, root: Path, rules: bool) -> None:
        if rules:
            rule_dir = root / "SynchronizationRules"
            files = sorted(rule_dir.glob("*.xml")) if rule_dir.is_dir() else []
            if not files:
                self.sink.error(UNRECOGNISED_EXPORT, f"{root} has no SynchronizationRules/*.xml files")
            for f in files:
                self._file(f, rules, expect="synchronizationRule")
        for f in sorted((root / "Connectors").glob("*.xml")):
            self._file(f, rules, expect="ma-data")
        mv = root / "GlobalSettings" / "MV.xml"
        if mv.is_file():
            self._file(mv, rules, expect="saved-mv-configuration")

    def _file(self, path: Path, rules: bool, expect: str | None = None) -> None:
        resolved = path.resolve()
        if resolved in self._read:
            return  # the same folder given twice (e.g. as a source and as --schema)
        self._read.add(resolved)
        doc = read_xml(path, self.sink, display_path(path))
        if doc is None:
            return
        self.export.sources[doc.source.path] = doc.source
        tag = doc.root.tag
        if tag == "synchronizationRule":
            if rules:
                self._rule(doc)
        elif tag == "ma-data":
            self._connector(doc)
        elif tag in ("saved-mv-configuration", "mv-data"):
            self._metaverse(doc)
        else:
            wanted = f" (expected <{expect}>)" if expect else ""
            self.sink.error(
                UNRECOGNISED_EXPORT,
                f"{doc.source.path}: <{tag}> is not a synchronization rule, connector or metaverse export{wanted}",
                doc.root.span,
            )

    # ------------------------------------------------------------------ rules
    def _rule(self, doc: XmlDocument) -> None:
        root = doc.root
        origins = {child.tag: child.span for child in root.children}

        def text(tag: str) -> str:
            return root.child_text(tag) or ""

        missing = [
            t
            for t in ("id", "name", "direction", "connector", "sourceObjectType", "targetObjectType")
            if not text(t)
        ]
        if missing:
            self.sink.error(
                INVALID_FIELD,
                f"rule in {doc.source.path} lacks {', '.join('<' + m + '>' for m in missing)}; it is left out",
                root.span,
            )
            return
        identifier, name = text("id"), text("name")
        key = norm_guid(identifier)
        if key in self._rule_ids:
            self.sink.error(
                DUPLICATE_OBJECT,
                f"rule {name!r} has the identifier {identifier} of rule {self._rule_ids[key].name!r}; it is left out",
                origins.get("id", root.span),
            )
            return
        direction = text("direction")
        if direction.lower() not in ("inbound", "outbound"):
            self.sink.error(
                INVALID_FIELD,
                f"rule {name!r}: direction {direction!r} is neither Inbound nor Outbound; the rule is left out",
                origins["direction"],
            )
            return
        precedence: int | None = None
        raw_prec = text("precedence")
        try:
            precedence = int(raw_prec)
            if precedence < 0:
                raise ValueError(raw_prec)
        except ValueError:
            self.sink.error(
                INVALID_FIELD,
                f"rule {name!r}: precedence {raw_prec!r} is not a whole number >= 0",
                origins.get("precedence", root.span),
            )
            precedence = None

        rule = SyncRule(
            identifier=identifier,
            name=name,
            direction=direction.capitalize(),
            connector=text("connector"),
            source_object_type=text("sourceObjectType"),
            target_object_type=text("targetObjectType"),
            link_type=text("linkType") or "Join",
            precedence=precedence,
            description=_raw_text(root.find("description")),
            immutable_tag=text("immutable-tag"),
            disabled=self._bool(root, "disabled", name),
            password_sync=self._bool(root, "EnablePasswordSync", name),
            origin=root.span,
            field_origins=origins,
        )
        for which in ("before", "after"):
            ref = text(f"precedence-{which}")
            if ref and not is_zero_guid(ref):
                setattr(rule, f"precedence_{which}", ref)
        soft = text("softDeleteExpiryInterval")
        if soft not in _DEFAULT_SOFT_DELETE:
            rule.soft_delete_expiry = soft
        internal = text("internal-id")
        if internal and norm_guid(internal) != key:
            self._note(
                f"rule {name!r}: internal id {internal} differs from its identifier and is not kept",
                origins["internal-id"],
            )
        for child in root.children:
            if child.tag not in _RULE_FIELDS:
                self._note(
                    f"rule {name!r}: <{child.tag}> is not represented in the language and is dropped",
                    child.span,
                )

        for group in _children(root, "synchronizationCriteria", "conditions"):
            rule.scope.append(
                [
                    ScopeCondition(
                        s.child_text("csAttribute") or "",
                        s.child_text("csOperator") or "",
                        _raw_text(s.find("csValue")),
                        s.span,
                    )
                    for s in group.findall("scope")
                ]
            )
        for group in _children(root, "relationshipCriteria", "conditions"):
            rule.join.append(
                [
                    JoinCondition(
                        c.child_text("csAttribute") or "",
                        c.child_text("ilmAttribute") or "",
                        (c.child_text("caseSensitive") or "").lower() in ("true", "1"),
                        c.span,
                    )
                    for c in group.findall("condition")
                ]
            )
        mappings = root.find("attribute-mappings")
        for m in mappings.findall("mapping") if mappings is not None else []:
            flow = self._mapping(m, name)
            if flow is not None:
                rule.flows.append(flow)
        self._rule_ids[key] = rule
        self.export.rules.append(rule)

    def _mapping(self, m: XmlElement, rule_name: str) -> FlowMapping | None:
        dest = m.child_text("dest") or ""
        if not dest:
            self.sink.error(
                INVALID_FIELD, f"rule {rule_name!r}: an attribute flow has no <dest>; it is left out", m.span
            )
            return None
        src = m.find("src")
        sources = tuple(a.text for a in src.findall("attr")) if src is not None else ()
        expression = m.find("expression")
        merge = m.child_text("valueMergeType") or "Update"
        once = m.attrib.get("execute-once", "").lower() in ("true", "1")
        for child in m.children:
            if child.tag not in _MAPPING_FIELDS:
                self._note(
                    f"rule {rule_name!r}, flow to {dest!r}: <{child.tag}> is not represented and is dropped",
                    child.span,
                )
        for key in m.attrib:
            if key != "execute-once":
                self._note(
                    f"rule {rule_name!r}, flow to {dest!r}: attribute {key!r} is not represented and is dropped",
                    m.span,
                )
        # The flow type is implicit (reference §13.2, as Microsoft's documenter decides it).
        if expression is not None and expression.text:
            return FlowMapping(
                dest,
                "Expression",
                sources,
                expression=expression.text,
                merge_type=merge,
                execute_once=once,
                origin=m.span,
                expression_origin=expression.span,
            )
        if sources:
            return FlowMapping(dest, "Direct", sources, merge_type=merge, execute_once=once, origin=m.span)
        return FlowMapping(
            dest, "Constant", (), constant=_raw_text(src), merge_type=merge, execute_once=once, origin=m.span
        )

    def _bool(self, root: XmlElement, tag: str, rule_name: str) -> bool:
        value = (root.child_text(tag) or "false").lower()
        if value not in ("true", "false", "1", "0"):
            element = root.find(tag)
            self.sink.error(
                INVALID_FIELD,
                f"rule {rule_name!r}: <{tag}> is {value!r}, not True or False",
                element.span if element else root.span,
            )
        return value in ("true", "1")

    # ------------------------------------------------------------------ connectors
    def _connector(self, doc: XmlDocument) -> None:
        root = doc.root
        guid = root.child_text("id") or ""
        name = root.child_text("name") or ""
        if not guid or not name:
            self.sink.error(
                INVALID_FIELD,
                f"connector in {doc.source.path} lacks <id> or <name>; it is left out",
                root.span,
            )
            return
        key = norm_guid(guid)
        if key in self.export.connectors:
            self.sink.warning(
                DUPLICATE_OBJECT,
                f"connector {guid} ({name!r}) was read already from another file; this copy is ignored",
                root.span,
            )
            return
        kind = connector_kind(root)
        conn = Connector(
            guid=guid,
            name=name,
            kind=kind,
            description=_raw_text(root.find("description")),
            origin=root.span,
        )
        schema_el = root.find("schema")
        directory = next(iter(schema_el.iter("directory-schema")), None) if schema_el is not None else None
        if directory is not None:
            conn.schema = read_dsml(directory, self.sink, self._note)
        inclusion = root.find("attribute-inclusion")
        names = [a.text for a in inclusion.findall("attribute") if a.text] if inclusion is not None else []
        conn.attribute_inclusion = set(names) if names else None
        private = root.find("private-configuration")
        if private is not None:
            for p in private.iter("parameter"):
                pname = p.attrib.get("name")
                wanted = p.attrib.get("use") == "global" or p.attrib.get("intrinsic") == "1"
                if pname and wanted and pname != "Connector.ID":  # Connector.ID is implicit
                    conn.parameters.append((pname, p.text))
            conn.anchor = (
                _AD_ANCHOR
                if kind == "active-directory" or root.child_text("category") == "ADAM"
                else self._anchor(private, name)
            )
        for part in _children(root, "ma-partition-data", "partition"):
            conn.partitions.append(_partition(part))
        self.export.connectors[key] = conn

    def _anchor(self, private: XmlElement, name: str) -> tuple[str, ...]:
        """An extensible connector's anchor: the per-class anchor attributes, when all classes agree."""
        per_class: dict[str, tuple[str, ...]] = {}
        for cls in private.iter("per-class-settings"):
            for c in cls.findall("class"):
                anchor = c.find("anchor")
                attrs = tuple(a.text for a in anchor.findall("attribute")) if anchor is not None else ()
                if attrs:
                    per_class[c.child_text("name") or ""] = attrs
        distinct = set(per_class.values())
        if len(distinct) == 1:
            return distinct.pop()
        if len(distinct) > 1:
            detail = "; ".join(f"{k}: {', '.join(v)}" for k, v in sorted(per_class.items()))
            self._note(
                f"connector {name!r} anchors its object classes differently ({detail}); the language has one anchor per connector, so none is written",
                private.span,
            )
        return ()

    # ------------------------------------------------------------------ metaverse
    def _metaverse(self, doc: XmlDocument) -> None:
        if self.export.metaverse is not None:
            self.sink.warning(
                DUPLICATE_OBJECT,
                f"a metaverse schema was read already; {doc.source.path} is ignored",
                doc.root.span,
            )
            return
        directory = next(iter(doc.root.iter("directory-schema")), None)
        if directory is None:
            self.sink.error(INVALID_FIELD, f"{doc.source.path} holds no DSML directory schema", doc.root.span)
            return
        schema = read_dsml(directory, self.sink, self._note)
        indexable = [
            at.child_text("name") or ""
            for at in directory.findall("attribute-type")
            if at.attrib.get("indexable", "").lower() == "true"
            and at.attrib.get("indexed", "").lower() != "true"
        ]
        if indexable:
            self._note(
                f"{len(indexable)} metaverse attributes are marked indexable (usable in joins) but not indexed; "
                "the language has one property for both, so they are written `indexed`",
                directory.span,
            )
        classes: dict[str, SchemaClass] = {}
        for cname in schema.class_names():
            cls = schema.object_class(cname)
            if cls is not None:
                classes[cname] = cls
        self.export.metaverse = classes
        self.export.metaverse_origin = doc.root.span

    # ------------------------------------------------------------------ helpers
    def _note(self, message: str, span: Span | None) -> None:
        self.sink.emit(Diagnostic(NOT_REPRESENTED, Severity.INFO, message, span))


def connector_kind(root: XmlElement) -> str:
    """Language connector kind from the export's category / subtype / extension."""
    category = (root.child_text("category") or "").lower()
    subtype = " ".join((root.child_text(t) or "") for t in ("subtype", "ma-listname")).lower()
    ext = next((e.text for e in root.iter("filename")), "").lower()
    if category == "ad":
        return "active-directory"
    if "azure active directory" in subtype or "microsoft.azure.activedirectory" in ext or "entra" in subtype:
        return "entra-id"
    if category in ("adam", "iplanet", "edirectory", "ibm", "sunone", "ldap") or "ldap" in subtype:
        return "ldap"
    return "generic"


def read_dsml(
    directory: XmlElement, sink: DiagnosticSink, note: Callable[[str, Span | None], None]
) -> DsmlSchema:
    """Read a ``<dsml:directory-schema>``; unknown syntaxes become strings (one SR808 per syntax)."""
    schema = DsmlSchema()
    unknown: dict[str, Span] = {}
    for at in directory.findall("attribute-type"):
        ident = at.attrib.get("id") or ""
        name = at.child_text("name") or ident
        syntax = at.child_text("syntax") or ""
        typ = SYNTAX_TYPES.get(syntax)
        if typ is None:
            typ = "string"
            unknown.setdefault(syntax, at.span)
        indexed = any(at.attrib.get(k, "").lower() == "true" for k in ("indexable", "indexed"))
        multi = at.attrib.get("single-value", "false").lower() != "true"
        schema.attribute_types[ident] = SchemaAttribute(name, typ, multi=multi, indexed=indexed)
        schema.attribute_ids[name] = ident
    for cls in directory.findall("class"):
        ident = cls.attrib.get("id") or ""
        name = cls.child_text("name") or ident
        superior = (cls.attrib.get("superior") or "").lstrip("#") or None
        schema.classes[ident] = (name, superior, _refs(cls), _aux(cls))
        schema.class_ids[name] = ident
    for rule in directory.findall("dit-content-rule"):
        schema.content_rules[rule.attrib.get("id") or ""] = (_refs(rule), _aux(rule))
    for syntax, span in sorted(unknown.items()):
        note(
            f"attribute syntax {syntax or '(none)'} is not known to syncrules; its attributes are imported as strings",
            span,
        )
    return schema


def _refs(element: XmlElement) -> list[tuple[str, bool]]:
    return [
        ((a.attrib.get("ref") or "").lstrip("#"), a.attrib.get("required", "false").lower() == "true")
        for a in element.findall("attribute")
    ]


def _aux(element: XmlElement) -> list[str]:
    return [(a.attrib.get("ref") or a.text).lstrip("#") for a in element.findall("aux-class")]


def _partition(part: XmlElement) -> Partition:
    out = Partition(dn=part.child_text("name") or "", selected=(part.child_text("selected") or "1") == "1")
    for p in _children(part, "parameter-values", "parameter"):
        if p.attrib.get("intrinsic") == "1" and p.attrib.get("name"):
            out.parameters.append((p.attrib["name"], p.text))
    filt = part.find("filter")
    if filt is not None:
        out.object_classes = [c.text for c in _children(filt, "object-classes", "object-class") if c.text]
        containers = filt.find("containers")
        if containers is not None:
            out.includes = [c.text for c in _children(containers, "inclusions", "inclusion") if c.text]
            out.excludes = [c.text for c in _children(containers, "exclusions", "exclusion") if c.text]
    return out


def _children(root: XmlElement, container: str, tag: str) -> list[XmlElement]:
    """``root/container/tag`` for every container element (rules repeat <conditions>)."""
    out: list[XmlElement] = []
    for c in root.findall(container):
        out.extend(c.findall(tag))
    return out


def _raw_text(element: XmlElement | None) -> str:
    """Text exactly as exported, unstripped: a constant or scope value may end in a space.

    An element with child elements (``<src><attr>..</attr></src>``) has no text of its own.
    """
    if element is None or element.children:
        return ""
    return element.raw_text
