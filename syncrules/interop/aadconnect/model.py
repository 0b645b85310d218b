"""The Entra Connect configuration as its own object model, independent of any serialisation.

Readers (the ``Get-ADSyncServerConfiguration`` XML reader today, a PowerShell-script reader later)
fill these records with the export's values *as written* (``"Inbound"``, ``"MergeCaseInsensitive"``,
connector GUIDs); :mod:`syncrules.interop.aadconnect.convert` alone decides how they map onto the
language. Keeping the two steps apart is what lets a second reader reuse the whole mapping, and
keeps every value's origin (a :class:`Span` into the export file) for diagnostics.

The shape follows the ADSync PowerShell object model (reference §2.2): rules hold scope groups,
join groups and attribute-flow mappings; connectors carry their schema, parameters and partitions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from syncrules.source import SourceFile, Span

# The language's attribute types (see syncrules.ast.AttributeDecl).
ATTRIBUTE_TYPES = ("string", "number", "boolean", "binary", "reference", "datetime")


def norm_guid(text: str) -> str:
    """Canonical form for comparing GUIDs: no braces, lower case (exports mix both spellings)."""
    return text.strip().strip("{}").lower()


def is_zero_guid(text: str) -> bool:
    """``{00000000-...}`` stands for "no rule" in precedence-before/after."""
    flat = norm_guid(text).replace("-", "")
    return not flat or set(flat) == {"0"}


# ---------------------------------------------------------------------------- rules


@dataclass
class ScopeCondition:
    attribute: str  # empty for ISMEMBEROF "group DN" with no attribute
    operator: str
    value: str
    origin: Span | None = None


@dataclass
class JoinCondition:
    cs_attribute: str
    mv_attribute: str
    case_sensitive: bool
    origin: Span | None = None


@dataclass
class FlowMapping:
    """One ``AttributeFlowMapping``.

    ``flow_type`` is ``Direct``, ``Constant`` or ``Expression``. ``sources`` is the export's Source
    list: the source attributes of a Direct flow, the informational list of attributes an
    Expression reads, or empty for a Constant (whose text is ``constant``).
    """

    destination: str
    flow_type: str
    sources: tuple[str, ...] = ()
    expression: str | None = None
    constant: str | None = None
    merge_type: str = "Update"
    execute_once: bool = False
    origin: Span | None = None
    expression_origin: Span | None = None


@dataclass
class SyncRule:
    """One synchronization rule with its values as exported (strings are kept verbatim)."""

    identifier: str
    name: str
    direction: str  # Inbound | Outbound
    connector: str  # GUID as written
    source_object_type: str
    target_object_type: str
    link_type: str  # Join | Provision | StickyJoin | JoinNoFlow
    precedence: int | None
    description: str = ""
    immutable_tag: str = ""
    disabled: bool = False
    password_sync: bool = False
    precedence_before: str | None = None  # None when the export says {00000000-...}
    precedence_after: str | None = None
    soft_delete_expiry: str | None = None  # None for the default 00:00:00
    scope: list[list[ScopeCondition]] = field(default_factory=list)
    join: list[list[JoinCondition]] = field(default_factory=list)
    flows: list[FlowMapping] = field(default_factory=list)
    origin: Span | None = None
    # Spans of individual fields (by export field name) for precise diagnostics.
    field_origins: dict[str, Span] = field(default_factory=dict)
    # The source gives no fixed identifier (a script whose New-ADSyncRule has no -Identifier gets
    # a new one at every run): ``identifier`` is a stand-in that keeps the rule addressable during
    # conversion, and the rule is written without an ``id``.
    generated_identifier: bool = False

    def where(self, key: str) -> Span | None:
        return self.field_origins.get(key, self.origin)


# ---------------------------------------------------------------------------- schema


@dataclass
class SchemaAttribute:
    name: str
    type: str  # one of ATTRIBUTE_TYPES
    multi: bool = False
    indexed: bool = False
    required: bool = False


@dataclass
class SchemaClass:
    name: str
    attributes: dict[str, SchemaAttribute] = field(default_factory=dict)


@dataclass
class DsmlSchema:
    """A DSML directory schema: attribute types, classes, superiors and auxiliary classes.

    Active Directory's schema has hundreds of classes, and a class's attributes are spread over
    its superior chain, its auxiliary classes and its DIT content rule, so :meth:`object_class`
    flattens one class on demand (memoised) instead of flattening them all up front.
    """

    attribute_types: dict[str, SchemaAttribute] = field(default_factory=dict)  # by DSML id
    attribute_ids: dict[str, str] = field(default_factory=dict)  # name -> DSML id
    class_ids: dict[str, str] = field(default_factory=dict)  # class name -> DSML id
    # DSML id -> (name, superior id, [(attribute id, required)], [aux class ids])
    classes: dict[str, tuple[str, str | None, list[tuple[str, bool]], list[str]]] = field(
        default_factory=dict
    )
    # DIT content rules by class id: ([(attribute id, required)], [aux class ids])
    content_rules: dict[str, tuple[list[tuple[str, bool]], list[str]]] = field(default_factory=dict)
    _flat: dict[str, SchemaClass] = field(default_factory=dict, repr=False)

    def class_names(self) -> list[str]:
        return sorted(self.class_ids)

    def attribute(self, name: str) -> SchemaAttribute | None:
        ident = self.attribute_ids.get(name)
        return self.attribute_types.get(ident) if ident is not None else None

    def object_class(self, name: str) -> SchemaClass | None:
        """The class with every attribute it may hold (own, inherited, auxiliary, content rule)."""
        if name in self._flat:
            return self._flat[name]
        ident = self.class_ids.get(name)
        if ident is None:
            return None
        refs: dict[str, bool] = {}
        seen: set[str] = set()
        pending = [ident]
        while pending:  # iterative: hostile schemas could chain superiors very deep
            cid = pending.pop()
            if cid in seen or cid not in self.classes:
                continue
            seen.add(cid)
            _, superior, attrs, aux = self.classes[cid]
            for aid, required in attrs:
                refs[aid] = refs.get(aid, False) or required
            pending.extend(aux)
            if superior:
                pending.append(superior)
            if cid == ident and cid in self.content_rules:
                rule_attrs, rule_aux = self.content_rules[cid]
                for aid, _required in rule_attrs:
                    refs.setdefault(aid, False)  # a content rule only allows, never requires
                pending.extend(rule_aux)
        out = SchemaClass(name)
        for aid, required in refs.items():
            at = self.attribute_types.get(aid)
            if at is None:
                continue
            out.attributes[at.name] = SchemaAttribute(at.name, at.type, at.multi, at.indexed, required)
        self._flat[name] = out
        return out


# ---------------------------------------------------------------------------- connectors


@dataclass
class Partition:
    dn: str
    parameters: list[tuple[str, str]] = field(default_factory=list)
    includes: list[str] = field(default_factory=list)
    excludes: list[str] = field(default_factory=list)
    object_classes: list[str] = field(default_factory=list)
    selected: bool = True


@dataclass
class Connector:
    guid: str
    name: str
    kind: str  # a language connector kind: active-directory | entra-id | ldap | generic
    description: str = ""
    anchor: tuple[str, ...] = ()
    parameters: list[tuple[str, str]] = field(default_factory=list)
    partitions: list[Partition] = field(default_factory=list)
    schema: DsmlSchema | None = None
    # Attributes imported into the connector space (AD's attribute inclusion list); None = all.
    attribute_inclusion: set[str] | None = None
    origin: Span | None = None


# ---------------------------------------------------------------------------- the whole export


@dataclass
class Export:
    """Everything read from the sources: rules, connectors by normalised GUID, the metaverse."""

    rules: list[SyncRule] = field(default_factory=list)
    connectors: dict[str, Connector] = field(default_factory=dict)
    metaverse: dict[str, SchemaClass] | None = None
    metaverse_origin: Span | None = None
    sources: dict[str, SourceFile] = field(default_factory=dict)  # for diagnostic code frames
