"""Connector spaces and the metaverse, with the indexes that keep joins and imports O(1) per object.

Every lookup the engine makes while processing one object goes through a dictionary: anchor and
DN lookups on import, attribute-value lookups for join criteria. Indexes are declared up front
from the compiled rules (which attributes any join can ask about) and kept current on every write,
so a delta run touches only what changed.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from syncrules.engine.model import CSObject, MVObject

_NAMESPACE = uuid.UUID("0f7cb7e2-3c1a-4d7e-9a43-2f5b8c1d6e90")


_SEPARATOR_SPACES = re.compile(r" *([,=+]) *")


def normalize_dn(dn: str) -> str:
    """Compare DNs as directories do: case-insensitively, ignoring spaces around separators.

    Called for every DN lookup, so the common case (no escapes) is one regex pass; escaped
    characters (``\\,``) need the character loop so an escaped separator keeps its spaces.
    """
    if "\\" not in dn:
        if " " not in dn:
            return dn.lower()
        return _SEPARATOR_SPACES.sub(r"\1", dn).strip().lower()
    out: list[str] = []
    i = 0
    n = len(dn)
    while i < n:
        ch = dn[i]
        if ch == "\\" and i + 1 < n:
            out.append(dn[i : i + 2])
            i += 2
            continue
        if ch in ",=+":
            while out and out[-1] == " ":
                out.pop()
            out.append(ch)
            i += 1
            while i < n and dn[i] == " ":
                i += 1
            continue
        out.append(ch)
        i += 1
    return "".join(out).strip().lower()


def index_key(value: Any, case_sensitive: bool) -> Any:
    """The dictionary key a value is indexed under (strings fold case unless case-sensitive)."""
    if isinstance(value, str) and not case_sensitive:
        return value.lower()
    if isinstance(value, bytearray):
        return bytes(value)
    return value


def values_of(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


class _ValueIndex:
    """attribute value → object ids, for one (attribute, case-sensitivity) pair."""

    __slots__ = ("attribute", "case_sensitive", "entries")

    def __init__(self, attribute: str, case_sensitive: bool) -> None:
        self.attribute = attribute
        self.case_sensitive = case_sensitive
        self.entries: dict[Any, set[str]] = {}

    def add(self, oid: str, value: Any) -> None:
        for v in values_of(value):
            self.entries.setdefault(index_key(v, self.case_sensitive), set()).add(oid)

    def remove(self, oid: str, value: Any) -> None:
        for v in values_of(value):
            key = index_key(v, self.case_sensitive)
            ids = self.entries.get(key)
            if ids is not None:
                ids.discard(oid)
                if not ids:
                    del self.entries[key]

    def lookup(self, value: Any) -> set[str]:
        found: set[str] = set()
        for v in values_of(value):
            found |= self.entries.get(index_key(v, self.case_sensitive), set())
        return found


class _Indexed:
    """Shared index bookkeeping for objects with an ``attrs`` dict."""

    def __init__(self) -> None:
        self._indexes: dict[str, list[_ValueIndex]] = {}

    def ensure_index(self, attribute: str, case_sensitive: bool) -> None:
        existing = self._indexes.setdefault(attribute, [])
        if any(ix.case_sensitive == case_sensitive for ix in existing):
            return
        index = _ValueIndex(attribute, case_sensitive)
        for oid, obj in self._all():
            if attribute in obj.attrs:
                index.add(oid, obj.attrs[attribute])
        existing.append(index)

    def _all(self) -> Iterable[tuple[str, Any]]:  # pragma: no cover - overridden
        return ()

    def _index_set(self, oid: str, attribute: str, old: Any, new: Any) -> None:
        for index in self._indexes.get(attribute, ()):
            if old is not None:
                index.remove(oid, old)
            if new is not None:
                index.add(oid, new)

    def find(self, attribute: str, value: Any, case_sensitive: bool) -> set[str]:
        for index in self._indexes.get(attribute, ()):
            if index.case_sensitive == case_sensitive:
                return index.lookup(value)
        raise KeyError(f"no index on {attribute!r} (case_sensitive={case_sensitive})")


class ConnectorSpace(_Indexed):
    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.objects: dict[str, CSObject] = {}
        self.by_anchor: dict[str, str] = {}
        self.by_dn: dict[str, str] = {}
        # Objects with a pending import, in the order they were marked: what a delta
        # synchronization processes (so it never scans the whole space).
        self.pending: dict[str, None] = {}
        # Objects that became transient and are waiting for their rename or delete.
        self.transients: dict[str, None] = {}
        self._serial = 0

    def _all(self) -> Iterable[tuple[str, Any]]:
        return self.objects.items()

    def new_guid(self) -> str:
        """Deterministic ids: the same sequence of operations gives the same GUIDs."""
        self._serial += 1
        return str(uuid.uuid5(_NAMESPACE, f"cs\x00{self.name}\x00{self._serial}"))

    def add(self, obj: CSObject) -> None:
        self.objects[obj.guid] = obj
        if obj.anchor is not None:
            self.by_anchor[obj.anchor] = obj.guid
        self.by_dn[normalize_dn(obj.dn)] = obj.guid
        for attribute, value in obj.attrs.items():
            self._index_set(obj.guid, attribute, None, value)

    def mark(self, obj: CSObject, pending_import: str) -> None:
        """Set an object's pending import type, keeping the pending set current."""
        obj.pending_import = pending_import
        if pending_import == "none":
            self.pending.pop(obj.guid, None)
        else:
            self.pending[obj.guid] = None

    def remove(self, obj: CSObject) -> None:
        self.objects.pop(obj.guid, None)
        self.pending.pop(obj.guid, None)
        self.transients.pop(obj.guid, None)
        if obj.anchor is not None and self.by_anchor.get(obj.anchor) == obj.guid:
            del self.by_anchor[obj.anchor]
        key = normalize_dn(obj.dn)
        if self.by_dn.get(key) == obj.guid:
            del self.by_dn[key]
        for attribute, value in obj.attrs.items():
            self._index_set(obj.guid, attribute, value, None)

    def set_attr(self, obj: CSObject, attribute: str, value: Any) -> None:
        old = obj.attrs.get(attribute)
        if value is None or value == []:
            obj.attrs.pop(attribute, None)
            value = None
        else:
            obj.attrs[attribute] = value
        if self._indexes:
            self._index_set(obj.guid, attribute, old, value)

    def set_anchor(self, obj: CSObject, anchor: str | None) -> None:
        if obj.anchor is not None and self.by_anchor.get(obj.anchor) == obj.guid:
            del self.by_anchor[obj.anchor]
        obj.anchor = anchor
        if anchor is not None:
            self.by_anchor[anchor] = obj.guid

    def rename(self, obj: CSObject, new_dn: str) -> None:
        key = normalize_dn(obj.dn)
        if self.by_dn.get(key) == obj.guid:
            del self.by_dn[key]
        obj.dn = new_dn
        self.by_dn[normalize_dn(new_dn)] = obj.guid

    def get_by_dn(self, dn: str) -> CSObject | None:
        guid = self.by_dn.get(normalize_dn(dn))
        return self.objects.get(guid) if guid is not None else None

    def get_by_anchor(self, anchor: str) -> CSObject | None:
        guid = self.by_anchor.get(anchor)
        return self.objects.get(guid) if guid is not None else None

    def __iter__(self) -> Iterator[CSObject]:
        return iter(self.objects.values())

    def __len__(self) -> int:
        return len(self.objects)


class Metaverse(_Indexed):
    def __init__(self) -> None:
        super().__init__()
        self.objects: dict[str, MVObject] = {}
        self._serial = 0

    def _all(self) -> Iterable[tuple[str, Any]]:
        return self.objects.items()

    def create(self, object_type: str) -> MVObject:
        self._serial += 1
        mv = MVObject(str(uuid.uuid5(_NAMESPACE, f"mv\x00{self._serial}")), object_type)
        self.objects[mv.id] = mv
        return mv

    def delete(self, mv: MVObject) -> None:
        for attribute, value in mv.attrs.items():
            self._index_set(mv.id, attribute, value, None)
        mv.deleted = True
        self.objects.pop(mv.id, None)

    def set_attr(self, mv: MVObject, attribute: str, value: Any) -> None:
        old = mv.attrs.get(attribute)
        if value is None or value == []:
            mv.attrs.pop(attribute, None)
            value = None
        else:
            mv.attrs[attribute] = value
        if self._indexes:
            self._index_set(mv.id, attribute, old, value)

    def __iter__(self) -> Iterator[MVObject]:
        return iter(self.objects.values())

    def __len__(self) -> int:
        return len(self.objects)
