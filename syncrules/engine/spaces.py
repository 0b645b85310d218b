"""Connector spaces and the metaverse, with the indexes that keep joins and imports O(1) per object.

Every lookup the engine makes while processing one object goes through a dictionary: anchor and
DN lookups on import, attribute-value lookups for join criteria. Indexes are declared up front
from the compiled rules (which attributes any join can ask about) and kept current on every write,
so a delta run touches only what changed.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from syncrules.engine.model import CSObject, MVObject

_NAMESPACE = uuid.UUID("0f7cb7e2-3c1a-4d7e-9a43-2f5b8c1d6e90")
_NAMESPACE_BYTES = _NAMESPACE.bytes


def name_uuid(name: str) -> str:
    """``str(uuid.uuid5(_NAMESPACE, name))`` without building a UUID object: every object the
    engine creates gets one of these ids, and the UUID class's checks cost more than the hash.
    The version and variant bits are set on the hex digits: the version digit is ``5``, and the
    variant keeps the two low bits of its digit under ``10`` (``8``, ``9``, ``a`` or ``b``)."""
    h = hashlib.sha1(_NAMESPACE_BYTES + name.encode()).hexdigest()  # noqa: S324 - RFC 4122 name-based id
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


_SEPARATOR_SPACES = re.compile(r" *([,=+]) *")


def _space_at_separator(dn: str) -> bool:
    """A space next to a separator (what ``re.search(" [,=+]|[,=+] ", dn)`` finds): six
    substring searches are three times faster than the regular expression."""
    return " ," in dn or ", " in dn or " =" in dn or "= " in dn or " +" in dn or "+ " in dn


_NORMALIZED: dict[str, str] = {}
_NORMALIZED_MAX = 1 << 17


def normalize_dn(dn: str) -> str:
    """Compare DNs as directories do: case-insensitively, ignoring spaces around separators.

    Called for every DN lookup (references are looked up again and again: a manager's DN for each
    report, a member's for each group), so results are remembered in a bounded table, emptied
    when full. Otherwise the common case (no escapes) is a lower-casing; escaped characters
    (``\\,``) need the character loop so an escaped separator keeps its spaces.
    """
    hit = _NORMALIZED.get(dn)
    if hit is not None:
        return hit
    out = _normalize_dn(dn)
    if len(_NORMALIZED) >= _NORMALIZED_MAX:
        _NORMALIZED.clear()
    _NORMALIZED[str(dn)] = out
    return out


def _normalize_dn(dn: str) -> str:
    if "\\" not in dn:
        if " " not in dn:
            return dn.lower()
        if not _space_at_separator(dn):
            # Spaces inside values only ("CN=Ann Lee,OU=..."): nothing to remove. Testing first is
            # several times faster than a substitution that changes nothing.
            return dn.strip().lower()
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
    """attribute value → object ids, for one (attribute, case-sensitivity) pair.

    Most indexed values (anchors, sourceAnchor, SIDs) belong to one object, so an entry is that
    object's id until a second object has the value, and only then a set: an empty set costs
    more memory than the id it would hold, for every indexed value of every object.
    """

    __slots__ = ("attribute", "case_sensitive", "entries")

    def __init__(self, attribute: str, case_sensitive: bool) -> None:
        self.attribute = attribute
        self.case_sensitive = case_sensitive
        self.entries: dict[Any, str | set[str]] = {}

    def add(self, oid: str, value: Any) -> None:
        entries = self.entries
        for v in values_of(value):
            key = index_key(v, self.case_sensitive)
            held = entries.get(key)
            if held is None:
                entries[key] = oid
            elif held.__class__ is str:
                if held != oid:
                    entries[key] = {held, oid}
            else:
                held.add(oid)  # type: ignore[union-attr]

    def remove(self, oid: str, value: Any) -> None:
        entries = self.entries
        for v in values_of(value):
            key = index_key(v, self.case_sensitive)
            held = entries.get(key)
            if held is None:
                continue
            if held.__class__ is str:
                if held == oid:
                    del entries[key]
                continue
            held.discard(oid)  # type: ignore[union-attr]
            if len(held) == 1:
                entries[key] = next(iter(held))
            elif not held:
                del entries[key]

    def lookup(self, value: Any) -> set[str]:
        found: set[str] = set()
        for v in values_of(value):
            held = self.entries.get(index_key(v, self.case_sensitive))
            if held is None:
                continue
            if held.__class__ is str:
                found.add(held)  # type: ignore[arg-type]
            else:
                found |= held  # type: ignore[operator,arg-type]
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
        # Changes whenever the answer of "which metaverse object does the object named DN link
        # to" may change (an object added, removed or renamed, a link made or broken): a
        # metaverse object whose references from this space were resolved at the same version
        # would resolve them the same way (see Engine._affected). add, remove, rename and
        # set_link change it.
        self.link_version = 0
        self._serial = 0
        # For the state store (None: nobody is saving, nothing is recorded): ids of objects
        # added, changed or removed since it last saved this space, and of objects whose
        # operational state alone changed (links, pending import), whose values need no rewrite.
        self.dirty: set[str] | None = None
        self.noted: set[str] | None = None

    def _all(self) -> Iterable[tuple[str, Any]]:
        return self.objects.items()

    def new_guid(self) -> str:
        """Deterministic ids: the same sequence of operations gives the same GUIDs."""
        self._serial += 1
        return name_uuid(f"cs\x00{self.name}\x00{self._serial}")

    def touch(self, obj: CSObject) -> None:
        """Record a change of what synchronization reads from ``obj`` (values, DN, type, anchor,
        pending export, export memory, flags): caches keyed on its version become stale and the
        state store saves it. Every such change goes through here or a method that calls it."""
        obj.version += 1
        dirty = self.dirty
        if dirty is not None:
            dirty.add(obj.guid)

    def note(self, obj: CSObject) -> None:
        """Record a change of operational state only (pending import and changed attributes,
        links, provisioning rule): the state store saves that part; caches of the object's scope
        and contributions stay valid."""
        noted = self.noted
        if noted is not None:
            noted.add(obj.guid)

    def fill_attrs(self, obj: CSObject, attrs: dict[str, Any], owned: bool = False) -> None:
        """Give an object that has no values (new, or a placeholder being filled) these values, in
        one step rather than one :meth:`set_attr` each. Empty values are not stored. ``owned``:
        ``attrs`` has no empty values and nobody else keeps it (an import's typed values), so the
        object takes it as it is."""
        assert not obj.attrs
        if owned:
            values = attrs
        else:
            values = {name: value for name, value in attrs.items() if value is not None and value != [] and value != ""}
        obj.attrs = values
        if self._indexes:
            # Only the indexed attributes (a few join attributes of ~20 values).
            for attribute in self._indexes.keys() & values.keys():
                self._index_set(obj.guid, attribute, None, values[attribute])
        self.touch(obj)

    def add(self, obj: CSObject) -> None:
        self.link_version += 1
        self.objects[obj.guid] = obj
        if obj.anchor is not None:
            self.by_anchor[obj.anchor] = obj.guid
        self.by_dn[normalize_dn(obj.dn)] = obj.guid
        if self._indexes:
            for attribute, value in obj.attrs.items():
                self._index_set(obj.guid, attribute, None, value)
        self.touch(obj)

    def mark(self, obj: CSObject, pending_import: str) -> None:
        """Set an object's pending import type, keeping the pending set current."""
        if obj.pending_import != pending_import:
            obj.pending_import = pending_import
            self.note(obj)
        if pending_import == "none":
            self.pending.pop(obj.guid, None)
        else:
            self.pending[obj.guid] = None

    def remove(self, obj: CSObject) -> None:
        self.link_version += 1
        self.objects.pop(obj.guid, None)
        self.pending.pop(obj.guid, None)
        self.transients.pop(obj.guid, None)
        if obj.anchor is not None and self.by_anchor.get(obj.anchor) == obj.guid:
            del self.by_anchor[obj.anchor]
        key = normalize_dn(obj.dn)
        if self.by_dn.get(key) == obj.guid:
            del self.by_dn[key]
        if self._indexes:
            for attribute, value in obj.attrs.items():
                self._index_set(obj.guid, attribute, value, None)
        self.touch(obj)

    def set_attr(self, obj: CSObject, attribute: str, value: Any) -> None:
        old = obj.attrs.get(attribute)
        if value is None or value == []:
            obj.attrs.pop(attribute, None)
            value = None
        else:
            obj.attrs[attribute] = value
        if self._indexes:
            self._index_set(obj.guid, attribute, old, value)
        self.touch(obj)

    def set_anchor(self, obj: CSObject, anchor: str | None) -> None:
        if obj.anchor is not None and self.by_anchor.get(obj.anchor) == obj.guid:
            del self.by_anchor[obj.anchor]
        obj.anchor = anchor
        if anchor is not None:
            self.by_anchor[anchor] = obj.guid
        self.touch(obj)

    def set_link(self, obj: CSObject, mv_id: str | None, rule: str | None) -> None:
        """Link ``obj`` to a metaverse object through ``rule``, or unlink it (None, None): the
        one place an object's link changes, so that ``link_version`` follows every change."""
        obj.mv_id = mv_id
        obj.link_rule = rule
        self.link_version += 1
        self.note(obj)

    def rename(self, obj: CSObject, new_dn: str) -> None:
        self.link_version += 1
        key = normalize_dn(obj.dn)
        if self.by_dn.get(key) == obj.guid:
            del self.by_dn[key]
        obj.dn = new_dn
        self.by_dn[normalize_dn(new_dn)] = obj.guid
        self.touch(obj)

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
        # Ids of objects created, changed or deleted since the state store last saved (None:
        # nobody is saving).
        self.dirty: set[str] | None = None

    def _all(self) -> Iterable[tuple[str, Any]]:
        return self.objects.items()

    def note(self, mv: MVObject) -> None:
        """Record a change of ``mv`` (values, lineage, links, apply-once values, retry flag) for
        the state store."""
        dirty = self.dirty
        if dirty is not None:
            dirty.add(mv.id)

    def create(self, object_type: str) -> MVObject:
        self._serial += 1
        mv = MVObject(name_uuid(f"mv\x00{self._serial}"), object_type)
        self.objects[mv.id] = mv
        self.note(mv)
        return mv

    def delete(self, mv: MVObject) -> None:
        for attribute, value in mv.attrs.items():
            self._index_set(mv.id, attribute, value, None)
        mv.deleted = True
        self.objects.pop(mv.id, None)
        self.note(mv)

    def fill_attrs(self, mv: MVObject, values: dict[str, Any]) -> None:
        """Give a metaverse object that has no values these (non-empty) values in one step."""
        assert not mv.attrs
        mv.attrs = values
        if self._indexes:
            for attribute in self._indexes.keys() & values.keys():
                self._index_set(mv.id, attribute, None, values[attribute])
        self.note(mv)

    def set_attr(self, mv: MVObject, attribute: str, value: Any) -> None:
        old = mv.attrs.get(attribute)
        if value is None or value == []:
            mv.attrs.pop(attribute, None)
            value = None
        else:
            mv.attrs[attribute] = value
        if self._indexes:
            self._index_set(mv.id, attribute, old, value)
        self.note(mv)

    def __iter__(self) -> Iterator[MVObject]:
        return iter(self.objects.values())

    def __len__(self) -> int:
        return len(self.objects)
