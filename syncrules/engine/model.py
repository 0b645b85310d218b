"""The engine's state: connector-space objects, metaverse objects and their operational data.

Plain ``__slots__`` classes rather than dataclasses: a preview of 100,000 users holds several
hundred thousand of these, and attribute access on them is the engine's hottest path.

Attribute values use the run-time value model of :mod:`syncrules.runtime.values`; a multi-valued
attribute is a list, and an absent attribute is simply not in ``attrs`` (an empty list is never
stored, so "absent" has one representation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

# Pending import types (what the last import found for a staging object).
PI_NONE = "none"
PI_ADD = "add"
PI_UPDATE = "update"
PI_DELETE = "delete"
PI_DELETE_ADD = "delete-add"

# Pending export operations.
PE_ADD = "add"
PE_UPDATE = "update"
PE_DELETE = "delete"
PE_RENAME = "rename"


class Lineage(NamedTuple):
    """Where a metaverse value came from: the winning rule, connector, source object and precedence.

    A named tuple (immutable, compared by value) rather than a frozen dataclass: the engine makes
    one per rule for every object whose contributions it computes, and a frozen dataclass's
    constructor costs several times as much.
    """

    rule: str
    connector: str
    dn: str
    precedence: int


class PendingExport:
    """What the next export will send for one connector-space object.

    ``changes`` maps attribute → (old, new); for an add, old is None. A rename sets ``new_dn``.
    Held-back references (target not yet provisioned in this connector) are kept in ``held``.

    An add keeps only its new values (``added``, attribute → value, by name): every person
    provisioned to Entra ID is an add of ~20 values waiting for the first export, and a pair per
    value cost 1.3 KB per person at 100,000 people. ``changes`` gives the pairs on demand; the
    engine's hot paths read ``added``.
    """

    __slots__ = ("operation", "dn", "new_dn", "_changes", "added", "held")

    def __init__(
        self,
        operation: str,
        dn: str,
        new_dn: str | None = None,
        changes: dict[str, tuple[Any, Any]] | None = None,
        held: dict[str, Any] | None = None,
        added: dict[str, Any] | None = None,
    ) -> None:
        self.operation = operation
        self.dn = dn
        self.new_dn = new_dn
        self._changes = {} if changes is None else changes
        self.added = added
        self.held = {} if held is None else held

    @property
    def changes(self) -> dict[str, tuple[Any, Any]]:
        added = self.added
        if added is not None:
            return {k: (None, v) for k, v in added.items()}
        return self._changes

    @changes.setter
    def changes(self, changes: dict[str, tuple[Any, Any]]) -> None:
        self._changes = changes
        self.added = None

    def new_values(self) -> dict[str, Any]:
        """Attribute → the value the export sends (None: removed), a new dict."""
        added = self.added
        if added is not None:
            return dict(added)
        return {k: new for k, (_, new) in self._changes.items()}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PendingExport):
            return NotImplemented
        return (
            self.operation == other.operation
            and self.dn == other.dn
            and self.new_dn == other.new_dn
            and self.changes == other.changes
            and self.held == other.held
        )

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    def __repr__(self) -> str:
        return f"PendingExport(operation={self.operation!r}, dn={self.dn!r}, new_dn={self.new_dn!r}, changes={self.changes!r}, held={self.held!r})"


class CSObject:
    """A staging object or placeholder in one connector space."""

    __slots__ = (
        "guid",
        "connector",
        "dn",
        "object_type",
        "anchor",
        "attrs",
        "placeholder",
        "transient",
        "pending_import",
        "changed",
        "mv_id",
        "link_rule",
        "provisioned_by",
        "pending_export",
        "export_memory",
        "deleted",
        "version",
        "memo",
    )

    def __init__(self, guid: str, connector: str, dn: str, object_type: str | None, anchor: str | None = None) -> None:
        self.guid = guid
        self.connector = connector
        self.dn = dn
        self.object_type = object_type
        self.anchor = anchor
        self.attrs: dict[str, Any] = {}
        self.placeholder = False
        self.transient = False
        self.pending_import = PI_NONE
        # Attributes changed by the pending import (a tuple: every staged object has one, and an
        # empty tuple costs nothing).
        self.changed: tuple[str, ...] = ()
        self.mv_id: str | None = None
        self.link_rule: str | None = None  # the rule that made the link (join, projection or provisioning)
        self.provisioned_by: str | None = None  # outbound Provision rule that created this export object
        self.pending_export: PendingExport | None = None
        self.export_memory: dict[str, Any] = {}  # exported, not yet confirmed by an import
        self.deleted = False
        # Bumped whenever what synchronization reads from the object changes (values, DN, type,
        # anchor, pending export, export memory, deleted/transient/placeholder): caches of its
        # scope and inbound contributions are valid while it is unchanged. Never saved.
        self.version = 0
        # The engine's cache for this object (see Engine._recompute); derived, never saved.
        self.memo: Any = None

    @property
    def joined(self) -> bool:
        return self.mv_id is not None

    @property
    def state(self) -> str:
        if self.placeholder:
            return "placeholder"
        if self.transient:
            return "transient"
        return "joined" if self.mv_id is not None else "disjoined"

    def __repr__(self) -> str:
        return f"CSObject({self.connector}:{self.dn!r} {self.state})"


class MVObject:
    """A metaverse object: aggregated attributes, their lineage, and links to connector spaces."""

    __slots__ = ("id", "object_type", "attrs", "lineage", "links", "once", "retry_provisioning", "deleted", "memo", "inputs")

    def __init__(self, mv_id: str, object_type: str) -> None:
        self.id = mv_id
        self.object_type = object_type
        self.attrs: dict[str, Any] = {}
        self.lineage: dict[str, Lineage] = {}
        self.links: dict[str, str] = {}  # connector name → CS guid
        # Values set by apply-once flows when the object was created, with their lineage.
        self.once: dict[str, tuple[Any, Lineage]] = {}
        self.retry_provisioning = False
        self.deleted = False
        # Outbound results still valid, per connector (see Engine._outbound); derived, never saved.
        self.memo: dict[str, Any] | None = None
        # The contributions its attributes were last computed from (see Engine._recompute);
        # derived, never saved.
        self.inputs: Any = None

    def __repr__(self) -> str:
        return f"MVObject({self.id} {self.object_type})"


@dataclass(frozen=True, slots=True)
class SyncError:
    """A per-object error; the run goes on."""

    connector: str
    dn: str
    rule: str | None
    attribute: str | None
    code: str
    message: str
    step: str
    line: int | None = None
    column: int | None = None
    file: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "connector": self.connector,
            "dn": self.dn,
            "rule": self.rule,
            "attribute": self.attribute,
            "code": self.code,
            "message": self.message,
            "step": self.step,
        }
        if self.file is not None:
            out["location"] = {"file": self.file, "line": self.line, "column": self.column}
        return out
