"""Saved engine state in SQLite (``syncrules run --state FILE``).

The state file holds everything a later run needs to carry on: both connector spaces and the
metaverse (objects, links, lineage, apply-once values, export memory, pending imports and
exports), the simulated directories (what was exported to them and their change logs, so the
next delta import sees what happened), the id counters, and the run history.

Each run step is saved in one transaction, so a process killed mid-run leaves the last committed
state intact. Values are stored as tagged JSON (never pickle: a state file is input too). A file
written by another project, or by an incompatible version of the format, is refused.

Saving is incremental: the first save of a store writes everything, then the engine's spaces,
metaverse and the directories record which objects were added, changed or removed
(``dirty``), and each later save writes only those rows. A step that touches 1% of the objects
writes 1% of the rows, and a save of 100,000 objects is one transaction of batched statements.
Derived data (indexes, caches) is never saved; :meth:`Engine.rebuild_derived_state` recomputes
it on load.
"""

from __future__ import annotations

import atexit
import base64
import binascii
import datetime as _dt
import gc
import hashlib
import json
import sqlite3
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from syncrules.engine.directory import ChangeRecord, MemoryDirectory, _Entry
from syncrules.engine.engine import Engine
from syncrules.engine.model import PE_ADD, CSObject, Lineage, MVObject, PendingExport
from syncrules.runtime.values import AUTHORITATIVE_NULL, IGNORE_THIS_FLOW, Ref
from syncrules.state.writer import BackgroundWriter, Call, Recorder, fork_available, materialized, replay

# 2: one row per directory entry and per change-log record (format 1 kept each directory in
# one row, rewritten by every save).
FORMAT = 2

_b2a_base64 = binascii.b2a_base64


def _tag(v: Any) -> Any:
    """The JSON encoder's hook for values JSON has no type for (the tags of :func:`enc`), and for
    references, a ``str`` subclass that orjson hands over here (OPT_PASSTHROUGH_SUBCLASS)."""
    if isinstance(v, Ref):
        return {"r": str(v)}
    if isinstance(v, (bytes, bytearray)):
        return {"b": _b2a_base64(v, newline=False).decode("ascii")}
    if isinstance(v, _dt.datetime):
        return {"t": v.isoformat()}
    if v is AUTHORITATIVE_NULL:
        return {"s": "AuthoritativeNull"}
    if v is IGNORE_THIS_FLOW:
        return {"s": "IgnoreThisFlow"}
    raise TypeError(f"cannot save a value of type {type(v).__name__}")


# Rows are written by the hundred thousand: no key sorting (dicts keep the engine's order, which
# is deterministic), no circularity check (the data is trees), and the encoder tags what JSON has
# no type for itself (_tag). The result is what `enc` gives, without a call per value.
_std_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False, default=_tag).encode
# Datetimes and references (a str subclass) go to _tag: orjson would write them as plain strings.
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS


def _dumps(value: Any) -> str:
    """One row as compact JSON. orjson writes the same JSON as the standard encoder, an order of
    magnitude faster (JSON encoding was a third of the time of a save); what it refuses (an
    integer beyond 64 bits, a key that is not a string, a string with a lone surrogate, a type
    _tag refuses) goes to the standard encoder, which gives the same result as before or the same
    error. The standard encoder writes a ``str`` subclass as a plain string without asking
    _tag, so references are tagged for it beforehand (:func:`_tag_refs`). One difference: a NaN
    or infinite number, which no directory holds, is saved as null.

    Values are not checked here beyond what the encoders refuse: they come from fixtures, which
    convert every value to the declared type, and from flows, which return run-time values only
    (strings, numbers, booleans, bytes, datetimes, references and lists of them). Checking every
    value's type in Python was a quarter of the time of a save."""
    try:
        return orjson.dumps(value, default=_tag, option=_ORJSON_OPTIONS).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return _std_dumps(_tag_refs(value))


def _tag_refs(v: Any) -> Any:
    """``v`` with every reference in it tagged (``{"r": dn}``), for the standard encoder."""
    if isinstance(v, Ref):
        return {"r": str(v)}
    if isinstance(v, list):
        return [_tag_refs(x) for x in v]
    if isinstance(v, dict):
        return {k: _tag_refs(x) for k, x in v.items()}
    return v


# Rows that exist are updated in place (a REPLACE deletes and re-inserts them, index entry and
# all), and rows are written in key order, so each B-tree page is visited once.
_UPSERT_CS = "INSERT INTO cs VALUES (?, ?, ?) ON CONFLICT (connector, guid) DO UPDATE SET data = excluded.data"
_UPSERT_OPS = "INSERT INTO cs_ops VALUES (?, ?, ?) ON CONFLICT (connector, guid) DO UPDATE SET ops = excluded.ops"
_UPSERT_MV = "INSERT INTO mv VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET data = excluded.data"
_UPSERT_ENTRY = "INSERT INTO dir_entry VALUES (?, ?, ?) ON CONFLICT (connector, anchor) DO UPDATE SET data = excluded.data"


class StateError(Exception):
    """The state file cannot be used (wrong project, wrong version, corrupt)."""


# ---------------------------------------------------------------------------- values


def enc(v: Any) -> Any:
    cls = v.__class__
    if cls is str or v is None or cls is int or cls is bool or cls is float:
        return v
    if cls is list:
        return [enc(x) for x in v]
    if isinstance(v, (bool, int, float)):
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


def _unattrs(d: dict[str, Any]) -> dict[str, Any]:
    for v in d.values():
        if v.__class__ is dict or v.__class__ is list:
            break
    else:
        return d  # plain values only: nothing tagged
    return {k: dec(v) for k, v in d.items()}


# ---------------------------------------------------------------------------- objects
#
# Rows are JSON arrays (positional: smaller and faster to write than objects with the same
# keys a hundred thousand times). A connector-space object is two rows: its data (table cs)
#   [guid, dn, type, anchor, attrs, flags, pending export, export memory]
# (flags: 1 placeholder, 2 transient, 4 deleted) and its operational state (table cs_ops)
#   [pending import, changed, mv id, link rule, provisioning rule],
# which changes alone for most objects in a synchronization (links, pending import cleared) and
# is then written without rewriting the values. A pending export:
#   [operation, dn, new dn, changes, held]; changes are [1, {attr: new}] when every old value is
#   NULL (an add), else [0, {attr: [old, new]}].


def _changes(pe: PendingExport) -> list[Any]:
    if pe.added is not None:
        return [1, pe.added]
    changes = pe.changes
    for old, _ in changes.values():
        if old is not None:
            return [0, {k: [a, b] for k, (a, b) in changes.items()}]
    return [1, {k: b for k, (_, b) in changes.items()}]


def _cs_row(o: CSObject) -> tuple[str, str]:
    """(data, operational state) of a connector-space object."""
    return _cs_data(o), _cs_ops(o)


def _cs_data(o: CSObject) -> str:
    pe = o.pending_export
    return _dumps(
        [
            o.guid,
            o.dn,
            o.object_type,
            o.anchor,
            o.attrs,
            o.placeholder | o.transient << 1 | o.deleted << 2,
            None if pe is None else [pe.operation, pe.dn, pe.new_dn, _changes(pe), pe.held],
            o.export_memory,
        ]
    )


def _cs_ops(o: CSObject) -> str:
    return _dumps([o.pending_import, sorted(o.changed) if o.changed else [], o.mv_id, o.link_rule, o.provisioned_by])


def _cs_from(connector: str, row: str, ops: str) -> CSObject:
    guid, dn, object_type, anchor, attrs, flags, pe, mem = json.loads(row)
    pending_import, changed, mv_id, link, prov = json.loads(ops)
    o = CSObject(guid, connector, dn, object_type, anchor)
    o.attrs = _unattrs(attrs)
    o.placeholder = bool(flags & 1)
    o.transient = bool(flags & 2)
    o.deleted = bool(flags & 4)
    o.pending_import = pending_import
    o.changed = tuple(changed)
    o.mv_id = mv_id
    o.link_rule = link
    o.provisioned_by = prov
    if pe is not None:
        op, pe_dn, new_dn, (adds, changes), held = pe
        if adds and op == PE_ADD:
            o.pending_export = PendingExport(op, pe_dn, new_dn, None, _unattrs(held), _unattrs(changes))
        else:
            if adds:
                decoded = {k: (None, dec(b)) for k, b in changes.items()}
            else:
                decoded = {k: (dec(a), dec(b)) for k, (a, b) in changes.items()}
            o.pending_export = PendingExport(op, pe_dn, new_dn, decoded, _unattrs(held))
    o.export_memory = _unattrs(mem)
    return o


def _lin(lin: Lineage) -> list[Any]:
    return [lin.rule, lin.connector, lin.dn, lin.precedence]


def _lineage(lineage: dict[str, Lineage]) -> list[list[Any]]:
    """Lineage grouped by source: [[rule, connector, dn, precedence, [attribute, ...]], ...]. A
    metaverse object's ~60 attributes come from a handful of rules."""
    # Grouped by identity first (the engine shares one Lineage per rule and source object, so
    # this avoids hashing a tuple of four fields per attribute), then by value.
    by_id: dict[int, list[Any]] = {}
    for name, lin in lineage.items():
        found = by_id.get(id(lin))
        if found is None:
            by_id[id(lin)] = [lin, name]
        else:
            found.append(name)
    groups: dict[Lineage, list[str]] = {}
    for lin, *names in by_id.values():
        if lin in groups:  # equal sources held as two objects: one group, in attribute order
            groups[lin] = [name for name, other in lineage.items() if other == lin]
        else:
            groups[lin] = names
    return [[*_lin(lin), names] for lin, names in groups.items()]


def _mv_row(m: MVObject) -> str:
    """[id, type, attrs, lineage (grouped, see _lineage), links, apply-once values, retry]."""
    return _dumps(
        [
            m.id,
            m.object_type,
            m.attrs,
            _lineage(m.lineage),
            m.links,
            {k: [v, _lin(lin)] for k, (v, lin) in m.once.items()},
            m.retry_provisioning,
        ]
    )


def _mv_from(row: str) -> MVObject:
    mv_id, object_type, attrs, lineage, links, once, retry = json.loads(row)
    m = MVObject(mv_id, object_type)
    m.attrs = _unattrs(attrs)
    m.lineage = {name: lin for *source, names in lineage for lin in (Lineage(*source),) for name in names}
    m.links = dict(links)
    m.once = {k: (dec(v), Lineage(*lin)) for k, (v, lin) in once.items()}
    m.retry_provisioning = retry
    return m


def _entry_row(e: _Entry) -> str:
    return _dumps([e.dn, e.object_type, e.attrs])


def _log_row(c: ChangeRecord, shared: bool = False) -> str:
    """[operation, dn, anchor, type, values, new dn]; values 0 (``shared``): the values of the
    entry with that anchor, which the record shares (see MemoryDirectory)."""
    return _dumps([c.operation, c.dn, c.anchor, c.object_type, 0 if shared else c.attrs, c.new_dn])


def _dir_meta(d: MemoryDirectory) -> str:
    return _dumps({"serial": d._serial, "pending_changes_applied": not getattr(d, "pending_changes", None)})


# ---------------------------------------------------------------------------- rows
#
# The rows of a save are generators, run when the recorded statements are replayed (perhaps by
# a forked process, see syncrules.state.writer). Each takes what it reads as arguments: a
# generator expression would read the variables of the loop that made it as they are after the
# loop.


def _encoded(connector: str | None, keys: list[str], objects: dict[str, Any], encode: Callable[[Any], str]) -> Iterator[tuple[str, ...]]:
    """(connector, key, row) per key, or (key, row) without a connector."""
    if connector is None:
        for key in keys:
            yield key, encode(objects[key])
    else:
        for key in keys:
            yield connector, key, encode(objects[key])


def _rewritten_log(connector: str, log: list[ChangeRecord], seqs: list[int]) -> Iterator[tuple[str, str, int]]:
    for seq in seqs:
        yield _log_row(log[seq]), connector, seq


# ---------------------------------------------------------------------------- store


def project_key(root: Path, name: str) -> str:
    """Identifies a project: its name and its folder. A state file only serves that project."""
    return hashlib.sha256(f"{name}\x00{root.resolve()}".encode()).hexdigest()[:16]


def _connect(path: str) -> sqlite3.Connection:
    return _configure(sqlite3.connect(path, isolation_level=None))


def _configure(db: sqlite3.Connection) -> sqlite3.Connection:
    # Large pages: rows are 1-3 KB, and whole steps rewrite them (a new file only).
    db.execute("PRAGMA page_size=32768")
    # A rollback journal: a transaction is all or nothing even if the process is killed.
    # NORMAL syncs at the critical moments only (the journal mode's safe setting).
    db.execute("PRAGMA journal_mode=DELETE")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA cache_size=-65536")  # 64 MiB: large saves rewrite many B-tree pages
    db.execute("PRAGMA temp_store=MEMORY")
    return db


class StateStore:
    def __init__(self, path: Path, project: str, key: str, background: bool = True, background_rows: int = 20_000) -> None:
        self.path = path
        self.project = project
        self.key = key
        # The engine and directories whose changes are being recorded, and per directory the
        # change log this file has: (log generation, records saved).
        self._engine: Engine | None = None
        self._directories: dict[str, MemoryDirectory] = {}
        self._logs: dict[str, tuple[int, int]] = {}
        # Per directory: anchor → positions of change-log rows saved as sharing the entry's
        # values; they are written out in full when the entry changes.
        self._shared: dict[str, dict[str, list[int]]] = {}
        # Saves of at least this many rows are written by a forked process while the run goes on
        # (see syncrules.state.writer); smaller ones, and every save where forking is not
        # available, are written here.
        self._writer = BackgroundWriter(str(path), _connect) if background and fork_available() else None
        self.background_rows = background_rows
        self._deferred: list[Call] = []
        self._db: sqlite3.Connection | None = None
        try:
            db = sqlite3.connect(str(path), isolation_level=None)
        except sqlite3.Error as exc:  # a folder that does not exist, no permission
            raise StateError(f"cannot open the state file {path} ({exc})") from exc
        try:
            self._db = _configure(db)
            self._init()
        except sqlite3.DatabaseError as exc:
            raise StateError(f"{path} is not a syncrules state file ({exc})") from exc
        self._steps = int(self.meta("steps") or 0)
        if self._writer is not None:
            # Saves still being written, or held back, when the program ends without close().
            atexit.register(self._at_exit)

    def _at_exit(self) -> None:
        try:
            self.flush()
        except StateError as exc:
            print(f"syncrules: {exc}", file=sys.stderr)

    @property
    def db(self) -> sqlite3.Connection:
        """The connection, once every save handed to a background process has been committed."""
        self.flush()
        return self._connection()

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = _connect(str(self.path))
        return self._db

    def flush(self) -> None:
        """Wait for the saves being written in the background, then write the small saves made
        meanwhile; a failed one raises StateError."""
        if self._writer is not None:
            self._writer.wait()
            self._check()
            self._write_deferred()

    def _write_deferred(self) -> None:
        """Write the small saves kept back while large ones were being written (each is its own
        transaction; they come after those)."""
        if self._deferred:
            calls, self._deferred = self._deferred, []
            try:
                replay(self._connection(), calls)
            except BaseException:
                self._engine = None  # some were not written: the next save writes everything
                raise

    def _check(self) -> None:
        writer = self._writer
        if writer is not None and writer.failure is not None:
            self._engine = None  # the file holds an earlier step: the next save writes everything
            self._deferred = []  # incremental on top of the save that failed
            failure, writer.failure = writer.failure, None
            raise StateError(f"saving the state to {self.path} failed: {failure}")

    def _init(self) -> None:
        tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not tables:
            with self._transaction():
                self.db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                self.db.execute("CREATE TABLE cs (connector TEXT NOT NULL, guid TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (connector, guid))")
                # Small rows, updated by the hundred thousand: one B-tree keyed by the object.
                self.db.execute(
                    "CREATE TABLE cs_ops (connector TEXT NOT NULL, guid TEXT NOT NULL, ops TEXT NOT NULL, PRIMARY KEY (connector, guid)) WITHOUT ROWID"
                )
                self.db.execute("CREATE TABLE mv (id TEXT PRIMARY KEY, data TEXT NOT NULL)")
                self.db.execute("CREATE TABLE dir_meta (connector TEXT PRIMARY KEY, data TEXT NOT NULL)")
                self.db.execute(
                    "CREATE TABLE dir_entry (connector TEXT NOT NULL, anchor TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (connector, anchor))"
                )
                self.db.execute("CREATE TABLE dir_log (connector TEXT NOT NULL, seq INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (connector, seq))")
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

    def _transaction(self) -> _Transaction:
        return _Transaction(self.db)

    @property
    def empty(self) -> bool:
        return self.db.execute("SELECT COUNT(*) FROM mv").fetchone()[0] == 0 and self.db.execute("SELECT COUNT(*) FROM cs").fetchone()[0] == 0 and self.meta("steps") == "0"

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    # -- save -------------------------------------------------------------------------------
    def save(self, engine: Engine, directories: dict[str, MemoryDirectory], extra: dict[str, str] | None = None) -> None:
        """Save the state in one transaction (atomic: all or nothing).

        The first save (and any save of an engine or directories this store did not save or load
        last) writes everything; later ones write what changed since. What was written is
        forgotten only once the transaction has committed, so a failed save is retried in full
        by the next one.
        """
        # Like a run step, a save allocates a burst of objects (rows) and no reference cycles:
        # the cyclic collector is paused (before the first allocation, which could set off a
        # collection of everything the step allocated) rather than left to rescan the state.
        collecting = gc.isenabled()
        gc.disable()
        try:
            writer = self._writer
            if writer is not None:
                writer.poll()
                self._check()
            incremental = self._tracking(engine, directories)
            recorder = Recorder()
            written = self._plan(recorder, engine, directories, extra, incremental)
            if writer is not None and self._rows(engine, directories, incremental) >= self.background_rows:
                if self._db is not None:
                    self._db.close()  # a forked child must not inherit an open connection
                    self._db = None
                calls = [*self._deferred, *recorder.calls]
                self._deferred = []
                if not writer.submit(calls):
                    # No fork: written here, after the earlier saves (self.db waits for them,
                    # and raises if one failed).
                    replay(self.db, calls)
            elif writer is not None and writer.pending:
                # A small save while large ones are being written: it must commit after them,
                # and forking (which makes the engine copy every page it writes to afterwards)
                # costs more than it saves. Its rows are encoded now and written after them.
                self._deferred += materialized(recorder.calls)
            else:
                replay(self.db, recorder.calls)  # (self.db writes any held-back saves first)
        except BaseException:
            # Rolled back: what this store believes the file holds may be wrong now, so the next
            # save writes everything.
            self._engine = None
            raise
        finally:
            if collecting:
                gc.enable()
        # Committed, or handed to a process that commits it after the saves before it: start
        # (or go on) recording changes from here.
        for dirty in written:
            dirty.clear()
        self._track(engine, directories)
        self._steps += 1

    def _plan(self, db: Recorder, engine: Engine, directories: dict[str, MemoryDirectory], extra: dict[str, str] | None, incremental: bool) -> list[set[str]]:
        """Record the statements of the save's transaction. Rows are generators, encoded when
        the statements are replayed."""
        db.execute("BEGIN")
        if incremental:
            written = self._write_changes(db, engine, directories)
        else:
            written = self._write_all(db, engine, directories)
        counters = {"mv": engine.mv._serial, **{f"cs:{n}": s._serial for n, s in engine.spaces.items()}}
        rows = [("counters", json.dumps(counters, sort_keys=True)), ("steps", str(self._steps + 1))]
        rows += list((extra or {}).items())
        db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", rows)
        db.execute("COMMIT")
        return written

    def _rows(self, engine: Engine, directories: dict[str, MemoryDirectory], incremental: bool) -> int:
        """About how many rows a save writes (what decides where it is written)."""
        if not incremental:
            return len(engine.mv) + sum(len(s.objects) for s in engine.spaces.values()) + sum(len(d.entries) + len(d._log) for d in directories.values())
        rows = len(engine.mv.dirty or ())
        rows += sum(len(s.dirty or ()) + len(s.noted or ()) for s in engine.spaces.values())
        rows += sum(len(d.dirty or ()) + len(d._log) - self._logs.get(n, (0, 0))[1] for n, d in directories.items())
        return rows

    def _tracking(self, engine: Engine, directories: dict[str, MemoryDirectory]) -> bool:
        """Whether every change since this file was last written has been recorded."""
        if self._engine is not engine or engine.mv.dirty is None or any(s.dirty is None or s.noted is None for s in engine.spaces.values()):
            return False
        if set(directories) != set(self._directories):
            return False
        return all(d is self._directories[n] and d.dirty is not None for n, d in directories.items())

    def _track(self, engine: Engine, directories: dict[str, MemoryDirectory]) -> None:
        self._engine = engine
        for space in engine.spaces.values():
            if space.dirty is None:
                space.dirty = set()
            if space.noted is None:
                space.noted = set()
        if engine.mv.dirty is None:
            engine.mv.dirty = set()
        self._directories = dict(directories)
        for name, d in directories.items():
            if d.dirty is None:
                d.dirty = set()
            self._logs[name] = (d.log_generation, len(d._log))

    def _write_all(self, db: Recorder, engine: Engine, directories: dict[str, MemoryDirectory]) -> list[set[str]]:
        for table in ("cs", "cs_ops", "mv", "dir_meta", "dir_entry", "dir_log"):
            db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
        for name, space in engine.spaces.items():
            objects = space.objects
            ordered = sorted(objects)
            db.executemany("INSERT INTO cs VALUES (?, ?, ?)", _encoded(name, ordered, objects, _cs_data))
            db.executemany("INSERT INTO cs_ops VALUES (?, ?, ?)", _encoded(name, ordered, objects, _cs_ops))
        objects_mv = engine.mv.objects
        db.executemany("INSERT INTO mv VALUES (?, ?)", _encoded(None, sorted(objects_mv), objects_mv, _mv_row))
        for name, d in directories.items():
            db.execute("INSERT INTO dir_meta VALUES (?, ?)", (name, _dir_meta(d)))
            entries = d.entries
            db.executemany("INSERT INTO dir_entry VALUES (?, ?, ?)", _encoded(name, sorted(entries), entries, _entry_row))
            self._shared[name] = {}
            self._append_log(db, name, d, 0)
        written = [s.dirty for s in engine.spaces.values()] + [s.noted for s in engine.spaces.values()]
        written += [engine.mv.dirty] + [d.dirty for d in directories.values()]
        return [w for w in written if w is not None]

    def _write_changes(self, db: Recorder, engine: Engine, directories: dict[str, MemoryDirectory]) -> list[set[str]]:
        written: list[set[str]] = []
        for name, space in engine.spaces.items():
            dirty = space.dirty
            assert dirty is not None
            objects = space.objects
            noted = space.noted
            assert noted is not None
            if dirty:
                ordered = sorted(dirty)
                db.executemany(_UPSERT_CS, _encoded(name, [g for g in ordered if g in objects], objects, _cs_data))
                gone = [(name, g) for g in ordered if g not in objects]
                if gone:
                    db.executemany("DELETE FROM cs WHERE connector = ? AND guid = ?", gone)
                    db.executemany("DELETE FROM cs_ops WHERE connector = ? AND guid = ?", gone)
                written.append(dirty)
            if dirty or noted:
                # Operational state of every object written and of those whose state alone changed.
                changed = sorted(dirty.union(noted).intersection(objects))
                db.executemany(_UPSERT_OPS, _encoded(name, changed, objects, _cs_ops))
                written.append(noted)
        dirty = engine.mv.dirty
        assert dirty is not None
        if dirty:
            objects_mv = engine.mv.objects
            ordered = sorted(dirty)
            db.executemany(_UPSERT_MV, _encoded(None, [i for i in ordered if i in objects_mv], objects_mv, _mv_row))
            gone_mv = [(i,) for i in ordered if i not in objects_mv]
            if gone_mv:
                db.executemany("DELETE FROM mv WHERE id = ?", gone_mv)
            written.append(dirty)
        for name, d in directories.items():
            db.execute("INSERT OR REPLACE INTO dir_meta VALUES (?, ?)", (name, _dir_meta(d)))
            anchors = d.dirty
            assert anchors is not None
            generation, saved = self._logs.get(name, (-1, 0))
            log = d._log
            shared = self._shared.setdefault(name, {})
            if generation != d.log_generation or saved > len(log):
                db.execute("DELETE FROM dir_log WHERE connector = ?", (name,))
                shared.clear()
                saved = 0
            if anchors:
                entries = d.entries
                ordered = sorted(anchors)
                db.executemany(_UPSERT_ENTRY, _encoded(name, [a for a in ordered if a in entries], entries, _entry_row))
                gone_entries = [(name, a) for a in ordered if a not in entries]
                if gone_entries:
                    db.executemany("DELETE FROM dir_entry WHERE connector = ? AND anchor = ?", gone_entries)
                # Saved log records that shared these entries' values get their own now.
                rewrite = [(seq, anchor) for anchor in ordered for seq in shared.pop(anchor, ())]
                if rewrite:
                    db.executemany("UPDATE dir_log SET data = ? WHERE connector = ? AND seq = ?", _rewritten_log(name, log, [seq for seq, _ in rewrite]))
                written.append(anchors)
            self._append_log(db, name, d, saved)
        return written

    def _append_log(self, db: Recorder, name: str, d: MemoryDirectory, start: int) -> None:
        """Write the change-log records from ``start`` on. A record that shares its entry's values
        (every record of an add or change does until the entry changes again) is saved as a
        reference to the entry row, which holds them already."""
        log = d._log
        if start >= len(log):
            return
        entries = d.entries
        shared = self._shared.setdefault(name, {})
        kept = []
        for seq in range(start, len(log)):
            record = log[seq]
            entry = entries.get(record.anchor) if record.anchor is not None else None
            same = entry is not None and entry.attrs is record.attrs
            if same:
                shared.setdefault(record.anchor, []).append(seq)  # type: ignore[arg-type]
            kept.append(same)
        db.executemany("INSERT INTO dir_log VALUES (?, ?, ?)", ((name, seq, _log_row(log[seq], same)) for seq, same in enumerate(kept, start)))

    # -- load -------------------------------------------------------------------------------
    def load(self, engine: Engine, directories: dict[str, MemoryDirectory]) -> None:
        """Fill a freshly built engine (and its directories) from the saved state; from then on
        their changes are recorded, so the next save is incremental."""
        collecting = gc.isenabled()
        gc.disable()  # as in save: a burst of long-lived, acyclic objects
        try:
            self._load(engine, directories)
        finally:
            if collecting:
                gc.enable()

    def _load(self, engine: Engine, directories: dict[str, MemoryDirectory]) -> None:
        rows = self.db.execute("SELECT cs.connector, cs.data, o.ops FROM cs JOIN cs_ops AS o USING (connector, guid) ORDER BY cs.connector, cs.guid")
        for connector, row, ops in rows:
            space = engine.spaces.get(connector)
            if space is None:
                raise StateError(f"the state has connector {connector!r}, which the rules no longer declare")
            space.add(_cs_from(connector, row, ops))
        for (row,) in self.db.execute("SELECT data FROM mv ORDER BY id"):
            m = _mv_from(row)
            engine.mv.objects[m.id] = m
            for name, value in m.attrs.items():
                engine.mv._index_set(m.id, name, None, value)
        counters = json.loads(self.meta("counters") or "{}")
        engine.mv._serial = counters.get("mv", 0)
        for name, space in engine.spaces.items():
            space._serial = counters.get(f"cs:{name}", 0)
        for name, d in directories.items():
            _dir_restore(
                d,
                self.db.execute("SELECT data FROM dir_meta WHERE connector = ?", (name,)).fetchone(),
                self.db.execute("SELECT anchor, data FROM dir_entry WHERE connector = ? ORDER BY anchor", (name,)).fetchall(),
                self.db.execute("SELECT data FROM dir_log WHERE connector = ? ORDER BY seq", (name,)).fetchall(),
                self._shared.setdefault(name, {}),
            )
        engine.rebuild_derived_state()
        for space in engine.spaces.values():
            space.dirty = None
            space.noted = None
        engine.mv.dirty = None
        for d in directories.values():
            d.dirty = None
        saved = {name for (name,) in self.db.execute("SELECT connector FROM dir_meta")}
        if saved.issuperset(directories):
            self._track(engine, directories)
        # else: a directory the state does not have (a connector added since): the next save
        # writes everything.

    def close(self) -> None:
        """Wait for the saves being written in the background (a failed one raises StateError),
        then close the file."""
        atexit.unregister(self._at_exit)
        try:
            self.flush()
        finally:
            if self._db is not None:
                self._db.close()
                self._db = None


class _Transaction:
    """BEGIN … COMMIT (ROLLBACK on an exception) on a connection in autocommit mode, so the
    store decides where each transaction starts."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN")

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if kind is None:
            self.db.execute("COMMIT")
        else:
            self.db.execute("ROLLBACK")


def _dir_restore(
    d: MemoryDirectory,
    meta: tuple[str] | None,
    entries: Iterable[tuple[str, str]],
    log: Iterable[tuple[str]],
    shared: dict[str, list[int]] | None = None,
) -> None:
    """Put a directory back as it was saved (a directory the state has no row for keeps its
    fixture contents, as before: it was not part of the saved run)."""
    if meta is None:
        return
    from syncrules.engine.spaces import normalize_dn

    state = json.loads(meta[0])
    d.entries = {}
    d._by_dn = {}
    for anchor, row in entries:
        dn, object_type, attrs = json.loads(row)
        d.entries[anchor] = _Entry(dn, object_type, anchor, _unattrs(attrs))
        d._by_dn[normalize_dn(dn)] = anchor
    records = []
    for seq, (row,) in enumerate(log):
        op, dn, anchor, ot, attrs, new_dn = json.loads(row)
        if attrs == 0:  # the entry's values, shared
            entry = d.entries.get(anchor)
            if entry is None:
                raise StateError(f"change record {seq} of {d.name!r} refers to a missing entry")
            values = entry.attrs
            if shared is not None:
                shared.setdefault(anchor, []).append(seq)
        else:
            values = _unattrs(attrs)
        records.append(ChangeRecord(op, dn, anchor, ot, values, new_dn))
    d._log = records
    d.log_generation += 1
    d._serial = state["serial"]
