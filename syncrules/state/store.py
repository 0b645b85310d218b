"""Saved engine state in SQLite (``syncrules run --state FILE``).

The state file holds everything a later run needs to carry on: both connector spaces and the
metaverse (objects, links, lineage, apply-once values, export memory, pending imports and
exports), the simulated directories (what was exported to them and their change logs, so the
next delta import sees what happened), the id counters, and the run history.

Each run step is saved in one transaction, so a process killed mid-run leaves the last committed
state intact. Values are stored as tagged JSON (never pickle: a state file is input too). A file
written by another project, or by an incompatible version of the format, is refused.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

from syncrules.engine.directory import ChangeRecord, MemoryDirectory, _Entry
from syncrules.engine.engine import Engine
from syncrules.engine.model import CSObject, Lineage, MVObject, PendingExport
from syncrules.runtime.values import AUTHORITATIVE_NULL, IGNORE_THIS_FLOW, Ref

FORMAT = 1


class StateError(Exception):
    """The state file cannot be used (wrong project, wrong version, corrupt)."""


# ---------------------------------------------------------------------------- values


def enc(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, float)):
        return v
    if isinstance(v, Ref):
        return {"r": str(v)}
    if isinstance(v, str):
        return v
    if isinstance(v, (bytes, bytearray)):
        return {"b": base64.b64encode(bytes(v)).decode("ascii")}
    if isinstance(v, _dt.datetime):
        return {"t": v.isoformat()}
    if isinstance(v, list):
        return [enc(x) for x in v]
    if v is AUTHORITATIVE_NULL:
        return {"s": "AuthoritativeNull"}
    if v is IGNORE_THIS_FLOW:
        return {"s": "IgnoreThisFlow"}
    raise TypeError(f"cannot save a value of type {type(v).__name__}")


def dec(v: Any) -> Any:
    if isinstance(v, list):
        return [dec(x) for x in v]
    if isinstance(v, dict):
        if "r" in v:
            return Ref(v["r"])
        if "b" in v:
            return base64.b64decode(v["b"])
        if "t" in v:
            return _dt.datetime.fromisoformat(v["t"])
        if "s" in v:
            return AUTHORITATIVE_NULL if v["s"] == "AuthoritativeNull" else IGNORE_THIS_FLOW
    return v


def _attrs(d: dict[str, Any]) -> dict[str, Any]:
    return {k: enc(v) for k, v in d.items()}


def _unattrs(d: dict[str, Any]) -> dict[str, Any]:
    return {k: dec(v) for k, v in d.items()}


# ---------------------------------------------------------------------------- objects


def _cs_row(o: CSObject) -> str:
    pe = o.pending_export
    return json.dumps(
        {
            "guid": o.guid,
            "dn": o.dn,
            "type": o.object_type,
            "anchor": o.anchor,
            "attrs": _attrs(o.attrs),
            "placeholder": o.placeholder,
            "transient": o.transient,
            "pi": o.pending_import,
            "changed": sorted(o.changed),
            "mv": o.mv_id,
            "link": o.link_rule,
            "prov": o.provisioned_by,
            "pe": None
            if pe is None
            else {
                "op": pe.operation,
                "dn": pe.dn,
                "new_dn": pe.new_dn,
                "changes": {k: [enc(a), enc(b)] for k, (a, b) in pe.changes.items()},
                "held": {k: enc(v) for k, v in pe.held.items()},
            },
            "mem": _attrs(o.export_memory),
            "deleted": o.deleted,
        },
        sort_keys=True,
    )


def _cs_from(connector: str, row: str) -> CSObject:
    d = json.loads(row)
    o = CSObject(d["guid"], connector, d["dn"], d["type"], d["anchor"])
    o.attrs = _unattrs(d["attrs"])
    o.placeholder = d["placeholder"]
    o.transient = d["transient"]
    o.pending_import = d["pi"]
    o.changed = set(d["changed"])
    o.mv_id = d["mv"]
    o.link_rule = d["link"]
    o.provisioned_by = d["prov"]
    pe = d["pe"]
    if pe is not None:
        o.pending_export = PendingExport(
            pe["op"], pe["dn"], pe["new_dn"], {k: (dec(a), dec(b)) for k, (a, b) in pe["changes"].items()}, _unattrs(pe["held"])
        )
    o.export_memory = _unattrs(d["mem"])
    o.deleted = d["deleted"]
    return o


def _lin(lin: Lineage) -> list[Any]:
    return [lin.rule, lin.connector, lin.dn, lin.precedence]


def _mv_row(m: MVObject) -> str:
    return json.dumps(
        {
            "id": m.id,
            "type": m.object_type,
            "attrs": _attrs(m.attrs),
            "lineage": {k: _lin(v) for k, v in m.lineage.items()},
            "links": m.links,
            "once": {k: [enc(v), _lin(lin)] for k, (v, lin) in m.once.items()},
            "retry": m.retry_provisioning,
        },
        sort_keys=True,
    )


def _mv_from(row: str) -> MVObject:
    d = json.loads(row)
    m = MVObject(d["id"], d["type"])
    m.attrs = _unattrs(d["attrs"])
    m.lineage = {k: Lineage(*v) for k, v in d["lineage"].items()}
    m.links = dict(d["links"])
    m.once = {k: (dec(v), Lineage(*lin)) for k, (v, lin) in d["once"].items()}
    m.retry_provisioning = d["retry"]
    return m


# ---------------------------------------------------------------------------- store


def project_key(root: Path, name: str) -> str:
    """Identifies a project: its name and its folder. A state file only serves that project."""
    return hashlib.sha256(f"{name}\x00{root.resolve()}".encode()).hexdigest()[:16]


class StateStore:
    def __init__(self, path: Path, project: str, key: str) -> None:
        self.path = path
        self.project = project
        self.key = key
        try:
            self.db = sqlite3.connect(str(path))
            self.db.execute("PRAGMA journal_mode=DELETE")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self._init()
        except sqlite3.DatabaseError as exc:
            raise StateError(f"{path} is not a syncrules state file ({exc})") from exc

    def _init(self) -> None:
        tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not tables:
            with self.db:
                self.db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                self.db.execute("CREATE TABLE cs (connector TEXT NOT NULL, guid TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (connector, guid))")
                self.db.execute("CREATE TABLE mv (id TEXT PRIMARY KEY, data TEXT NOT NULL)")
                self.db.execute("CREATE TABLE directory (connector TEXT PRIMARY KEY, data TEXT NOT NULL)")
                self.db.executemany(
                    "INSERT INTO meta VALUES (?, ?)",
                    [("format", str(FORMAT)), ("project", self.project), ("project_key", self.key), ("steps", "0")],
                )
            return
        if "meta" not in tables:
            raise StateError(f"{self.path} is not a syncrules state file")
        meta = dict(self.db.execute("SELECT key, value FROM meta"))
        if meta.get("format") != str(FORMAT):
            raise StateError(f"{self.path} was written by an incompatible version (state format {meta.get('format')}, expected {FORMAT})")
        if meta.get("project_key") != self.key:
            raise StateError(f"{self.path} belongs to project {meta.get('project')!r} in another folder, not to {self.project!r}")

    @property
    def empty(self) -> bool:
        return self.db.execute("SELECT COUNT(*) FROM mv").fetchone()[0] == 0 and self.db.execute("SELECT COUNT(*) FROM cs").fetchone()[0] == 0 and self.meta("steps") == "0"

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    # -- save -------------------------------------------------------------------------------
    def save(self, engine: Engine, directories: dict[str, MemoryDirectory], extra: dict[str, str] | None = None) -> None:
        """Write the whole state in one transaction (atomic: all or nothing)."""
        with self.db:
            self.db.execute("DELETE FROM cs")
            self.db.execute("DELETE FROM mv")
            self.db.execute("DELETE FROM directory")
            for name, space in engine.spaces.items():
                self.db.executemany("INSERT INTO cs VALUES (?, ?, ?)", ((name, o.guid, _cs_row(o)) for o in space))
            self.db.executemany("INSERT INTO mv VALUES (?, ?)", ((m.id, _mv_row(m)) for m in engine.mv))
            for name, d in directories.items():
                self.db.execute("INSERT INTO directory VALUES (?, ?)", (name, json.dumps(_dir_state(d), sort_keys=True)))
            counters = {"mv": engine.mv._serial, **{f"cs:{n}": s._serial for n, s in engine.spaces.items()}}
            steps = int(self.meta("steps") or 0) + 1
            rows = [("counters", json.dumps(counters, sort_keys=True)), ("steps", str(steps))]
            rows += list((extra or {}).items())
            self.db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", rows)

    # -- load -------------------------------------------------------------------------------
    def load(self, engine: Engine, directories: dict[str, MemoryDirectory]) -> None:
        """Fill a freshly built engine (and its directories) from the saved state."""
        for connector, row in self.db.execute("SELECT connector, data FROM cs ORDER BY connector, guid"):
            space = engine.spaces.get(connector)
            if space is None:
                raise StateError(f"the state has connector {connector!r}, which the rules no longer declare")
            space.add(_cs_from(connector, row))
        for (row,) in self.db.execute("SELECT data FROM mv ORDER BY id"):
            m = _mv_from(row)
            engine.mv.objects[m.id] = m
            for name, value in m.attrs.items():
                engine.mv._index_set(m.id, name, None, value)
        counters = json.loads(self.meta("counters") or "{}")
        engine.mv._serial = counters.get("mv", 0)
        for name, space in engine.spaces.items():
            space._serial = counters.get(f"cs:{name}", 0)
        for name, row in self.db.execute("SELECT connector, data FROM directory"):
            d = directories.get(name)
            if d is not None:
                _dir_restore(d, json.loads(row))
        engine.rebuild_derived_state()

    def close(self) -> None:
        self.db.close()


def _dir_state(d: MemoryDirectory) -> dict[str, Any]:
    return {
        "serial": d._serial,
        "entries": [[e.anchor, e.dn, e.object_type, _attrs(e.attrs)] for e in sorted(d.entries.values(), key=lambda e: e.anchor)],
        "log": [
            [c.operation, c.dn, c.anchor, c.object_type, _attrs(c.attrs), c.new_dn] for c in d._log
        ],
        "pending_changes_applied": not getattr(d, "pending_changes", None),
    }


def _dir_restore(d: MemoryDirectory, state: dict[str, Any]) -> None:
    from syncrules.engine.spaces import normalize_dn

    d.entries = {}
    d._by_dn = {}
    for anchor, dn, object_type, attrs in state["entries"]:
        d.entries[anchor] = _Entry(dn, object_type, anchor, _unattrs(attrs))
        d._by_dn[normalize_dn(dn)] = anchor
    d._log = [ChangeRecord(op, dn, anchor, ot, _unattrs(attrs), new_dn) for op, dn, anchor, ot, attrs, new_dn in state["log"]]
    d._serial = state["serial"]
