"""The connected-directory interface, and an in-memory directory that implements it.

The engine never talks to a real directory: imports read records from a ``ConnectedDirectory`` and
exports hand operations to it. Previews put a simulated directory (built from LDIF/JSON/CSV
fixtures) behind each connector; tests use :class:`MemoryDirectory` directly.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from syncrules.engine.spaces import normalize_dn


@dataclass(slots=True)
class ImportRecord:
    """One object as the directory shows it (full import), already typed by the connector schema."""

    dn: str
    object_type: str
    anchor: str
    attrs: dict[str, Any]


@dataclass(slots=True)
class ChangeRecord:
    """One change since the last import (delta import): add, modify, delete or rename.

    ``attrs`` holds the object's full attribute set after the change for add/modify (directories
    that report only the changed attributes are normalised by their adapter); ``new_dn`` is set for
    a rename.
    """

    operation: str
    dn: str
    anchor: str | None = None
    object_type: str | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    new_dn: str | None = None


@dataclass(slots=True)
class ExportOperation:
    operation: str  # add | update | delete | rename
    dn: str
    object_type: str | None
    changes: dict[str, Any] = field(default_factory=dict)  # attribute → new value (None removes)
    new_dn: str | None = None


class ConnectedDirectory(Protocol):
    def read_all(self) -> Iterable[ImportRecord]: ...

    def read_changes(self) -> list[ChangeRecord]: ...

    def apply(self, op: ExportOperation) -> None: ...


class ExportRejected(Exception):
    """The directory refused an export operation (the engine records it as an export error)."""


@dataclass
class _Entry:
    dn: str
    object_type: str
    anchor: str
    attrs: dict[str, Any]


class MemoryDirectory:
    """A directory held in memory. Adds get a deterministic anchor; every change is logged so the
    next delta import sees exactly what happened since the previous import.

    ``rewrite`` maps attribute names to values the directory forces after any export, to simulate a
    directory that silently changes what it was sent (exported-change-not-reimported).

    An entry's ``attrs`` dict is never changed in place: a modification replaces it. So a change
    record shares the dict of the entry it was made from (rather than copying every object's
    values into the change log), and still shows the values as they were at that change.
    """

    def __init__(self, name: str = "directory", rewrite: dict[str, Any] | None = None) -> None:
        self.name = name
        self.entries: dict[str, _Entry] = {}  # anchor → entry
        self._by_dn: dict[str, str] = {}
        self._log: list[ChangeRecord] = []
        self._serial = 0
        self.rewrite = dict(rewrite or {})
        # For the state store: anchors of entries added, changed or removed since it last saved
        # (None: nobody is saving), and a number that changes whenever the change log is
        # emptied or replaced (otherwise records are only appended).
        self.dirty: set[str] | None = None
        self.log_generation = 0

    def _changed(self, anchor: str) -> None:
        if self.dirty is not None:
            self.dirty.add(anchor)

    # -- seeding and direct edits (what happens "in the directory") -----------------
    def _new_anchor(self, dn: str) -> str:
        self._serial += 1
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.name}/{self._serial}/{normalize_dn(dn)}"))

    def add(self, dn: str, object_type: str, attrs: dict[str, Any], anchor: str | None = None) -> str:
        anchor = anchor or self._new_anchor(dn)
        if normalize_dn(dn) in self._by_dn:
            raise ExportRejected(f"an object named {dn!r} already exists")
        values = dict(attrs)
        self.entries[anchor] = _Entry(dn, object_type, anchor, values)
        self._by_dn[normalize_dn(dn)] = anchor
        self._log.append(ChangeRecord("add", dn, anchor, object_type, values))
        self._changed(anchor)
        return anchor

    def modify(self, dn: str, changes: dict[str, Any]) -> None:
        entry = self._entry(dn)
        values = dict(entry.attrs)
        for name, value in changes.items():
            if value is None or value == []:
                values.pop(name, None)
            else:
                values[name] = value
        entry.attrs = values
        self._log.append(ChangeRecord("modify", entry.dn, entry.anchor, entry.object_type, values))
        self._changed(entry.anchor)

    def delete(self, dn: str) -> None:
        entry = self._entry(dn)
        del self.entries[entry.anchor]
        del self._by_dn[normalize_dn(entry.dn)]
        self._log.append(ChangeRecord("delete", entry.dn, entry.anchor, entry.object_type))
        self._changed(entry.anchor)

    def rename(self, dn: str, new_dn: str) -> None:
        entry = self._entry(dn)
        del self._by_dn[normalize_dn(entry.dn)]
        old = entry.dn
        entry.dn = new_dn
        self._by_dn[normalize_dn(new_dn)] = entry.anchor
        self._log.append(ChangeRecord("rename", old, entry.anchor, entry.object_type, entry.attrs, new_dn))
        self._changed(entry.anchor)

    def retype(self, dn: str, object_type: str) -> None:
        """Change an object's type in place (same anchor): what the import sees as delete-add."""
        entry = self._entry(dn)
        entry.object_type = object_type
        self._log.append(ChangeRecord("modify", entry.dn, entry.anchor, entry.object_type, entry.attrs))
        self._changed(entry.anchor)

    def _entry(self, dn: str) -> _Entry:
        anchor = self._by_dn.get(normalize_dn(dn))
        if anchor is None:
            raise ExportRejected(f"no object named {dn!r}")
        return self.entries[anchor]

    def get(self, dn: str) -> _Entry | None:
        anchor = self._by_dn.get(normalize_dn(dn))
        return self.entries.get(anchor) if anchor else None

    # -- ConnectedDirectory ----------------------------------------------------------
    def read_all(self) -> Iterator[ImportRecord]:
        """Every object, in DN order. Records are produced one at a time and share the stored
        values (the engine copies what it keeps), so a full import of a large directory does not
        hold a second copy of it."""
        self._log.clear()  # at the call, not when the records are read: seeding code relies on it
        self.log_generation += 1
        entries = sorted(self.entries.values(), key=lambda e: normalize_dn(e.dn))
        return (ImportRecord(e.dn, e.object_type, e.anchor, e.attrs) for e in entries)

    def read_changes(self) -> list[ChangeRecord]:
        changes, self._log = self._log, []
        self.log_generation += 1
        return changes

    def apply(self, op: ExportOperation) -> None:
        if op.operation == "add":
            attrs = {k: v for k, v in op.changes.items() if v is not None and v != []}
            attrs.update(self.rewrite)
            self.add(op.dn, op.object_type or "object", attrs)
        elif op.operation == "update":
            changes = dict(op.changes)
            changes.update(self.rewrite)
            self.modify(op.dn, changes)
        elif op.operation == "delete":
            self.delete(op.dn)
        elif op.operation == "rename":
            self.rename(op.dn, op.new_dn or op.dn)
            if op.changes:
                self.modify(op.new_dn or op.dn, dict(op.changes))
        else:  # pragma: no cover - the engine only sends the four operations
            raise ExportRejected(f"unknown operation {op.operation}")
