"""The synchronization engine: import → synchronization (inbound, outbound) → export.

One :class:`Engine` holds the state (a connector space per connector, the metaverse) and runs
run profiles over it. The behaviour follows the documented architecture of the Entra Connect /
MIM sync engine; decisions where the sources are silent are recorded in docs/engine.md and each
has a scenario test under tests/conformance/sync/.

Processing is object-at-a-time and driven by indexes: an import touches the objects it reads, a
delta synchronization touches the objects with a pending import plus the metaverse objects they
change, and joins are dictionary lookups, never scans.

A synchronization step runs in two phases over the objects it processes: first every object is
disconnected, joined or projected (object-level operations), then attribute flow runs for every
linked object. Doing the links first means a reference to an object that is joined later in the
same step still resolves, without processing the referring object twice. An object whose flows
fail keeps its previous metaverse state and its pending import, and a link made for it in this
step is undone, so no error leaves an object half-updated.
"""

from __future__ import annotations

import datetime as _dt
import gc
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from syncrules.engine.compiled import CompiledConfig, CompiledFlow, CompiledRule, compile_config
from syncrules.engine.directory import (
    ChangeRecord,
    ConnectedDirectory,
    ExportOperation,
    ExportRejected,
    ImportRecord,
)
from syncrules.engine.model import (
    PE_ADD,
    PE_DELETE,
    PE_RENAME,
    PE_UPDATE,
    PI_ADD,
    PI_DELETE,
    PI_DELETE_ADD,
    PI_NONE,
    PI_UPDATE,
    CSObject,
    Lineage,
    MVObject,
    PendingExport,
    SyncError,
)
from syncrules.engine.spaces import ConnectorSpace, Metaverse, normalize_dn, values_of
from syncrules.evaluate import EvalContext
from syncrules.ir import nodes as ir
from syncrules.runtime.values import AUTHORITATIVE_NULL, IGNORE_THIS_FLOW, EvalError, Ref

ERROR_LIMIT = 5000
DEFAULT_DELETION_THRESHOLD = 500

# Step statuses, named as the reference engine names them.
SUCCESS = "success"
COMPLETED_ERRORS = "completed-errors"
COMPLETED_WARNINGS = "completed-warnings"
COMPLETED_TRANSIENT = "completed-transient-objects"
STOPPED_ERROR_LIMIT = "stopped-error-limit"
STOPPED_DELETION_THRESHOLD = "stopped-deletion-threshold-exceeded"
STOPPED_STAGING = "stopped-staging-mode"

# Per-object error codes raised by the engine itself (evaluation errors keep the evaluator's
# codes: SR600 for Error(), SR601 for conversion and other evaluation failures).
E_AMBIGUOUS_JOIN = "ambiguous-join"
E_MULTIPLE_JOIN_RULES = "multiple-join-rules"
E_MIXED_MERGE = "mixed-merge-types"
E_MISSING_REQUIRED = "missing-required-attribute"
E_MISSING_DN = "missing-dn"
E_DN_IN_USE = "dn-in-use"
E_CANNOT_PROJECT = "cannot-project"
E_EXPORT_REJECTED = "export-rejected"
E_BAD_CHANGE = "invalid-change-record"
# Warnings.
W_NOT_REIMPORTED = "exported-change-not-reimported"
W_TRANSIENT = "transient-object"

PROFILES = ("full-import", "delta-import", "full-sync", "delta-sync", "export")

_HOLDING_LINKS = ("provision", "sticky-join")


@dataclass
class StepResult:
    connector: str
    profile: str
    status: str = SUCCESS
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[SyncError] = field(default_factory=list)
    warnings: list[SyncError] = field(default_factory=list)

    def bump(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    def to_json(self) -> dict[str, Any]:
        return {
            "connector": self.connector,
            "profile": self.profile,
            "status": self.status,
            "counts": dict(sorted(self.counts.items())),
        }


class _StopStep(Exception):
    """Raised inside a step when the error limit is reached."""


@dataclass
class EngineOptions:
    now: _dt.datetime = field(default_factory=lambda: _dt.datetime(2026, 1, 1, tzinfo=_dt.timezone.utc))
    seed: int = 0
    error_limit: int = ERROR_LIMIT
    deletion_threshold: int | None = DEFAULT_DELETION_THRESHOLD  # None disables the check
    staging: bool = False


# One contribution to a target attribute: (sort key, value, lineage or rule, merge type).
_Contribution = tuple[tuple[int, int, int], Any, Any, str]


class Engine:
    def __init__(
        self,
        config: ir.Config,
        directories: dict[str, ConnectedDirectory] | None = None,
        options: EngineOptions | None = None,
        parameters: dict[str, dict[str, str]] | None = None,
    ) -> None:
        self.options = options or EngineOptions()
        self.directories: dict[str, ConnectedDirectory] = dict(directories or {})
        self.mv = Metaverse()
        self.spaces: dict[str, ConnectorSpace] = {}
        self._param_overrides = parameters or {}
        # Connector-space references: referenced DN → referring objects, and per object the DNs
        # it refers to (so removing an object does not scan the index).
        self._cs_referrers: dict[str, dict[str, set[str]]] = {}
        self._refs_of: dict[str, dict[str, tuple[str, ...]]] = {}
        # Metaverse references: referenced object → metaverse objects whose attributes point at it.
        self._mv_referrers: dict[str, set[str]] = {}
        # Outbound references held back: (connector, referenced mv id) → mv ids waiting for it.
        self._waiting: dict[tuple[str, str], set[str]] = {}
        # Metaverse objects whose outbound synchronization must run again (retry provisioning).
        self._retry: dict[str, None] = {}
        self.reconfigure(config)
        self._step: StepResult | None = None
        self._created: set[str] = set()  # metaverse objects created during the current step
        self.history: list[StepResult] = []

    def reconfigure(self, config: ir.Config) -> None:
        """Use new rules from now on, keeping all state (what an administrator's rule change does).

        Nothing is re-evaluated here: as in the reference engine, a Full Synchronization applies
        changed rules to existing objects, a delta synchronization only to objects it touches.
        Connectors may be added; removing one is not supported.
        """
        self.cc: CompiledConfig = compile_config(config)
        for name in self.cc.connector_order:
            self.spaces.setdefault(name, ConnectorSpace(name))
            self._cs_referrers.setdefault(name, {})
            self._refs_of.setdefault(name, {})
        self._connector_index = {name: i for i, name in enumerate(self.cc.connector_order)}
        for attribute, case_sensitive in sorted(self.cc.mv_indexes):
            self.mv.ensure_index(attribute, case_sensitive)
        for name, indexes in self.cc.cs_indexes.items():
            for attribute, case_sensitive in sorted(indexes):
                self.spaces[name].ensure_index(attribute, case_sensitive)
        self._partitions: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        self._connector_params: dict[str, dict[str, Any]] = {}
        # OU filtering: (container, include?) per connector, most specific first.
        self._containers: dict[str, list[tuple[str, bool]]] = {}
        self._has_includes: dict[str, bool] = {}
        self._prepare_parameters()
        self._ref_attrs: dict[tuple[str, str], tuple[str, ...]] = {
            key: tuple(a.name for a in attrs.values() if a.type == "reference") for key, attrs in self.cc.cs_types.items()
        }
        self._anchors = {c.name: frozenset(c.anchor) for c in config.connectors}
        self._outbound_connectors: dict[str, list[str]] = {}
        for connector, mv_type in self.cc.outbound:
            self._outbound_connectors.setdefault(mv_type, []).append(connector)
        for targets in self._outbound_connectors.values():
            targets.sort(key=self._connector_index.__getitem__)

    def rebuild_derived_state(self) -> None:
        """Recompute the bookkeeping derived from the objects themselves: pending and transient
        sets, reference indexes, held-back references and retries. Used after loading saved state,
        which stores only the objects (derived data is never the source of truth)."""
        for name, space in self.spaces.items():
            space.pending = {o.guid: None for o in space if o.pending_import != PI_NONE}
            space.transients = {o.guid: None for o in space if o.transient}
            referrers: dict[str, set[str]] = {}
            refs_of: dict[str, tuple[str, ...]] = {}
            for obj in space:
                if obj.placeholder or obj.object_type is None:
                    continue
                keys: list[str] = []
                for attr in self._ref_attrs.get((name, obj.object_type), ()):
                    for dn in values_of(obj.attrs.get(attr)):
                        key = normalize_dn(str(dn))
                        referrers.setdefault(key, set()).add(obj.guid)
                        keys.append(key)
                if keys:
                    refs_of[obj.guid] = tuple(keys)
            self._cs_referrers[name] = referrers
            self._refs_of[name] = refs_of
        self._mv_referrers = {}
        for mv in self.mv:
            for value in mv.attrs.values():
                for v in values_of(value):
                    if isinstance(v, Ref) and str(v) in self.mv.objects:
                        self._mv_referrers.setdefault(str(v), set()).add(mv.id)
        self._waiting = {}
        for name, space in self.spaces.items():
            for obj in space:
                pe = obj.pending_export
                if pe is not None and pe.held and obj.mv_id is not None:
                    for targets in pe.held.values():
                        for target in values_of(targets):
                            self._waiting.setdefault((name, str(target)), set()).add(obj.mv_id)
        self._retry = {mv.id: None for mv in self.mv if mv.retry_provisioning}

    # ================================================================== parameters
    def _prepare_parameters(self) -> None:
        cfg = self.cc.config
        globals_ = {n: v for n, v in cfg.parameters if v is not None}
        for c in cfg.connectors:
            base: dict[str, Any] = dict(globals_)
            base.update({n: v for n, v in c.parameters if v is not None})
            base["Connector.ID"] = (c.id or c.name).strip("{}")
            base.update(self._param_overrides.get(c.name, {}))
            self._connector_params[c.name] = base
            parts: list[tuple[str, dict[str, Any]]] = []
            containers: list[tuple[str, bool]] = []
            for p in c.partitions:
                merged = dict(base)
                merged.update({n: v for n, v in p.parameters if v is not None})
                parts.append((normalize_dn(p.dn), merged))
                containers.extend((normalize_dn(dn), True) for dn in p.includes)
                containers.extend((normalize_dn(dn), False) for dn in p.excludes)
            parts.sort(key=lambda kv: -len(kv[0]))  # most specific partition first
            containers.sort(key=lambda kv: -len(kv[0]))
            self._partitions[c.name] = parts
            self._containers[c.name] = containers
            self._has_includes[c.name] = any(inc for _, inc in containers)

    def parameters_for(self, connector: str, dn: str) -> dict[str, Any]:
        """Parameters for an object: connector values overlaid with its partition's (by DN suffix)."""
        parts = self._partitions.get(connector)
        if parts:
            norm = normalize_dn(dn)
            for suffix, params in parts:
                if norm == suffix or norm.endswith("," + suffix):
                    return params
        return self._connector_params.get(connector, {})

    def _importable(self, connector: str, object_type: str, dn: str) -> bool:
        """The connector's filters: declared object types only, and OU include/exclude lists
        (the most specific listed container decides; with any include, unlisted DNs are out)."""
        if (connector, object_type) not in self.cc.cs_types:
            return False
        containers = self._containers.get(connector)
        if not containers:
            return True
        norm = normalize_dn(dn)
        for suffix, include in containers:
            if norm == suffix or norm.endswith("," + suffix):
                return include
        return not self._has_includes[connector]

    # ================================================================== errors
    def _error(self, cs_or_mv: Any, rule: str | None, attribute: str | None, code: str, message: str, span: Any = None) -> None:
        step = self._step
        assert step is not None
        if isinstance(cs_or_mv, CSObject):
            connector, dn = cs_or_mv.connector, cs_or_mv.dn
        elif isinstance(cs_or_mv, MVObject):
            # Name a metaverse object by the connector-space object it came from, which is what
            # an operator can look up.
            connector, dn = "metaverse", cs_or_mv.id
            for name in self.cc.connector_order:
                guid = cs_or_mv.links.get(name)
                obj = self.spaces[name].objects.get(guid) if guid else None
                if obj is not None:
                    dn = obj.dn
                    break
        else:
            connector, dn = step.connector, str(cs_or_mv)
        err = SyncError(
            connector,
            dn,
            rule,
            attribute,
            code,
            message,
            step.profile,
            getattr(span, "line", None),
            getattr(span, "column", None),
            getattr(span, "file", None),
        )
        step.errors.append(err)
        if len(step.errors) >= self.options.error_limit:
            raise _StopStep

    def _warning(self, cs: CSObject, attribute: str | None, code: str, message: str) -> None:
        assert self._step is not None
        self._step.warnings.append(SyncError(cs.connector, cs.dn, None, attribute, code, message, self._step.profile))

    # ================================================================== run profiles
    def run_step(self, connector: str, profile: str) -> StepResult:
        if connector not in self.spaces:
            raise KeyError(f"unknown connector {connector!r}")
        step = StepResult(connector, profile)
        self._step = step
        self._created = set()
        # A step allocates many long-lived objects and no reference cycles; the cyclic collector
        # would rescan the whole (growing) state again and again, which makes large full steps
        # superlinear. It is paused for the step and restored after.
        collecting = gc.isenabled()
        gc.disable()
        try:
            if profile == "full-import":
                self._full_import(connector)
            elif profile == "delta-import":
                self._delta_import(connector)
            elif profile == "full-sync":
                self._synchronize(connector, full=True)
            elif profile == "delta-sync":
                self._synchronize(connector, full=False)
            elif profile == "export":
                self._export(connector)
            else:
                raise ValueError(f"unknown run profile {profile!r}")
        except _StopStep:
            step.status = STOPPED_ERROR_LIMIT
        finally:
            if collecting:
                gc.enable()
        if step.status == SUCCESS and step.errors:
            step.status = COMPLETED_ERRORS
        elif step.status == SUCCESS and step.warnings:
            step.status = COMPLETED_WARNINGS
        self._step = None
        self.history.append(step)
        return step

    def run_cycle(self, kind: str = "initial", export: bool = True) -> list[StepResult]:
        """Imports on every connector, then synchronizations, then exports (declaration order)."""
        full = kind in ("initial", "full")
        results = []
        for c in self.cc.connector_order:
            if c in self.directories:
                results.append(self.run_step(c, "full-import" if full else "delta-import"))
        for c in self.cc.connector_order:
            results.append(self.run_step(c, "full-sync" if full else "delta-sync"))
        if export:
            for c in self.cc.connector_order:
                if c in self.directories:
                    results.append(self.run_step(c, "export"))
        return results

    # ================================================================== import
    def _directory(self, connector: str) -> ConnectedDirectory:
        directory = self.directories.get(connector)
        if directory is None:
            raise KeyError(f"connector {connector!r} has no directory")
        return directory

    def _typed(self, connector: str, object_type: str, attrs: dict[str, Any]) -> dict[str, Any]:
        """The attribute inclusion list: declared attributes only, empty values dropped,
        references as :class:`Ref`, multi-valued attributes as lists."""
        out: dict[str, Any] = {}
        types = self.cc.cs_types.get((connector, object_type), {})
        for name, value in attrs.items():
            decl = types.get(name)
            if decl is None or value is None or value == [] or value == "":
                continue
            if decl.type == "reference":
                value = [Ref(v) for v in value] if isinstance(value, list) else Ref(value)
            if decl.multi and not isinstance(value, list):
                value = [value]
            out[name] = value
        return out

    def _full_import(self, connector: str) -> None:
        directory = self._directory(connector)
        space = self.spaces[connector]
        step = self._step
        assert step is not None
        seen: set[str] = set()
        for record in directory.read_all():
            if not self._importable(connector, record.object_type, record.dn):
                step.bump("filtered")
                continue
            seen.add(self._import_record(space, record).guid)
        # Objects the directory no longer shows are deleted. Placeholders were never there, and a
        # provisioned object that has not been confirmed yet is still waiting for its export.
        for obj in list(space.objects.values()):
            if obj.guid in seen or obj.placeholder or (obj.anchor is None and not obj.deleted):
                continue
            if obj.pending_import != PI_DELETE:
                space.mark(obj, PI_DELETE)
                step.bump("deletes")
        self._finish_import(space)

    def _delta_import(self, connector: str) -> None:
        directory = self._directory(connector)
        space = self.spaces[connector]
        for change in directory.read_changes():
            self._import_change(space, change)
        self._finish_import(space)

    def _finish_import(self, space: ConnectorSpace) -> None:
        """Transient objects whose rename or delete has not been imported end the step with
        ``completed-transient-objects`` (they resolve on a later import)."""
        step = self._step
        assert step is not None
        waiting = [space.objects[g] for g in space.transients if space.objects[g].pending_import != PI_DELETE]
        for obj in waiting:
            self._warning(obj, None, W_TRANSIENT, "another object took this object's DN; waiting for its rename or delete to be imported")
        if waiting and step.status == SUCCESS:
            step.status = COMPLETED_TRANSIENT

    def _import_change(self, space: ConnectorSpace, change: ChangeRecord) -> None:
        step = self._step
        assert step is not None
        obj = space.get_by_anchor(change.anchor) if change.anchor else None
        if obj is None and change.operation in ("delete", "rename"):
            candidate = space.get_by_dn(change.dn)
            if candidate is not None and not candidate.placeholder and (change.anchor is None or candidate.anchor in (None, change.anchor)):
                obj = candidate
        if change.operation == "delete":
            if obj is not None and not obj.placeholder:
                space.mark(obj, PI_DELETE)
                step.bump("deletes")
            return
        if change.operation == "rename":
            anchor = change.anchor or (obj.anchor if obj is not None else None)
            object_type = change.object_type or (obj.object_type if obj is not None else None)
            attrs = change.attrs if change.attrs else (dict(obj.attrs) if obj is not None else {})
            new_dn = change.new_dn or change.dn
        else:
            anchor, object_type, attrs, new_dn = change.anchor, change.object_type, change.attrs, change.new_dn or change.dn
        if anchor is None or object_type is None:
            self._error(change.dn, None, None, E_BAD_CHANGE, f"the {change.operation} record for {change.dn!r} lacks an anchor or object type")
            return
        if not self._importable(space.name, object_type, new_dn):
            # Moved (or changed) out of the connector's scope: for the connector space it is gone.
            if obj is not None and not obj.placeholder:
                space.mark(obj, PI_DELETE)
                step.bump("deletes")
            else:
                step.bump("filtered")
            return
        self._import_record(space, ImportRecord(new_dn, object_type, anchor, attrs))

    def _import_record(self, space: ConnectorSpace, record: ImportRecord) -> CSObject:
        """Match by anchor first, then by DN (placeholder, provisioned object, or transient)."""
        step = self._step
        assert step is not None
        attrs = self._typed(space.name, record.object_type, record.attrs)
        obj = space.get_by_anchor(record.anchor)
        if obj is None:
            other = space.get_by_dn(record.dn)
            if other is not None:
                if other.placeholder:
                    return self._fill_placeholder(space, other, record, attrs)
                if other.anchor is None:
                    pe = other.pending_export
                    if pe is not None and pe.operation == PE_ADD:
                        # A provisioned object that was never exported meets a real object with
                        # its DN: drop the export object and retry provisioning its metaverse object.
                        self._drop_unexported(space, other)
                    else:
                        # The confirming import of an object this engine exported: it gets its anchor.
                        space.set_anchor(other, record.anchor)
                        obj = other
                else:
                    # Same DN, different anchor: the old object was renamed or deleted.
                    self._make_transient(space, other)
            if obj is None:
                obj = CSObject(space.new_guid(), space.name, record.dn, record.object_type, record.anchor)
                space.add(obj)
                self._replace_attrs(space, obj, attrs)
                space.mark(obj, PI_ADD)
                obj.changed = set(attrs)
                step.bump("adds")
                self._note_references(space, obj)
                return obj
        if obj.transient:
            obj.transient = False
            space.transients.pop(obj.guid, None)
        obj.deleted = False  # still in the directory: a delete we exported did not take
        renamed = obj.dn != record.dn
        if renamed:
            self._rename_cs(space, obj, record.dn)
        if obj.object_type != record.object_type:
            # A different object type means different rules: a complete resynchronization.
            obj.object_type = record.object_type
            obj.export_memory.clear()
            self._replace_attrs(space, obj, attrs)
            obj.changed = set(attrs)
            space.mark(obj, PI_DELETE_ADD)
            step.bump("delete-adds")
            self._note_references(space, obj)
            return obj
        self._confirm(space, obj, attrs, renamed)
        return obj

    def _fill_placeholder(self, space: ConnectorSpace, ph: CSObject, record: ImportRecord, attrs: dict[str, Any]) -> CSObject:
        """The real object overwrites the placeholder that stood in for it."""
        ph.placeholder = False
        ph.object_type = record.object_type
        space.set_anchor(ph, record.anchor)
        if ph.dn != record.dn:
            space.rename(ph, record.dn)
        self._replace_attrs(space, ph, attrs)
        space.mark(ph, PI_ADD)
        ph.changed = set(attrs)
        assert self._step is not None
        self._step.bump("adds")
        self._note_references(space, ph)
        return ph

    def _make_transient(self, space: ConnectorSpace, obj: CSObject) -> None:
        space.rename(obj, f"{{transient:{obj.guid}}}")
        obj.transient = True
        space.transients[obj.guid] = None
        assert self._step is not None
        self._step.bump("transients")

    def _confirm(self, space: ConnectorSpace, obj: CSObject, attrs: dict[str, Any], renamed: bool) -> None:
        """Apply imported values to a known object; check them against the export memory."""
        step = self._step
        assert step is not None
        current = obj.attrs
        changed = {k for k in attrs.keys() | current.keys() if not _same(attrs.get(k), current.get(k))}
        if obj.export_memory:
            for name, exported in sorted(obj.export_memory.items()):
                if not _same(attrs.get(name), exported):
                    self._warning(
                        obj,
                        name,
                        W_NOT_REIMPORTED,
                        f"exported {name} = {_show(exported)} but the directory shows {_show(attrs.get(name))}",
                    )
            obj.export_memory.clear()
        if changed or renamed:
            for name in changed:
                space.set_attr(obj, name, attrs.get(name))
            if obj.pending_import in (PI_NONE, PI_DELETE):
                space.mark(obj, PI_UPDATE)
            obj.changed |= changed
            step.bump("updates")
            if obj.object_type is not None and changed.intersection(self._ref_attrs.get((space.name, obj.object_type), ())):
                self._note_references(space, obj)
        pe = obj.pending_export
        if pe is not None and pe.operation == PE_ADD and obj.anchor is not None:
            obj.pending_export = None

    def _replace_attrs(self, space: ConnectorSpace, obj: CSObject, attrs: dict[str, Any]) -> None:
        for name in list(obj.attrs):
            if name not in attrs:
                space.set_attr(obj, name, None)
        for name, value in attrs.items():
            if not _same(obj.attrs.get(name), value):
                space.set_attr(obj, name, value)

    def _rename_cs(self, space: ConnectorSpace, obj: CSObject, new_dn: str) -> None:
        occupant = space.get_by_dn(new_dn)
        if occupant is not None and occupant is not obj:
            if occupant.placeholder:
                self._remove_cs(space, occupant)
            elif occupant.anchor is None and occupant.pending_export is not None and occupant.pending_export.operation == PE_ADD:
                self._drop_unexported(space, occupant)
            else:
                self._make_transient(space, occupant)
        old = normalize_dn(obj.dn)
        space.rename(obj, new_dn)
        # Objects that referred to the old or the new name see a different object now.
        referrers = self._cs_referrers[space.name]
        for key in (old, normalize_dn(new_dn)):
            for guid in referrers.get(key, ()):
                self._touch(space, guid)

    def _touch(self, space: ConnectorSpace, guid: str) -> None:
        """Mark a joined object for re-evaluation (its references may resolve differently)."""
        ref = space.objects.get(guid)
        if ref is not None and ref.mv_id is not None and ref.pending_import == PI_NONE:
            space.mark(ref, PI_UPDATE)

    def _note_references(self, space: ConnectorSpace, obj: CSObject) -> None:
        """Record what ``obj`` refers to; referenced DNs not yet imported become placeholders."""
        referrers = self._cs_referrers[space.name]
        refs_of = self._refs_of[space.name]
        for key in refs_of.pop(obj.guid, ()):
            holders = referrers.get(key)
            if holders is not None:
                holders.discard(obj.guid)
                if not holders:
                    del referrers[key]
        if obj.object_type is None:
            return
        keys: list[str] = []
        for name in self._ref_attrs.get((space.name, obj.object_type), ()):
            for dn in values_of(obj.attrs.get(name)):
                key = normalize_dn(str(dn))
                referrers.setdefault(key, set()).add(obj.guid)
                keys.append(key)
                if key not in space.by_dn:
                    ph = CSObject(space.new_guid(), space.name, str(dn), None)
                    ph.placeholder = True
                    space.add(ph)
                    assert self._step is not None
                    self._step.bump("placeholders")
        if keys:
            refs_of[obj.guid] = tuple(keys)

    def _drop_unexported(self, space: ConnectorSpace, obj: CSObject) -> None:
        if obj.mv_id is not None:
            mv = self.mv.objects.get(obj.mv_id)
            if mv is not None:
                mv.links.pop(space.name, None)
                mv.retry_provisioning = True
                self._retry[mv.id] = None
        self._remove_cs(space, obj)

    def _remove_cs(self, space: ConnectorSpace, obj: CSObject) -> None:
        space.remove(obj)
        referrers = self._cs_referrers[space.name]
        for key in self._refs_of[space.name].pop(obj.guid, ()):
            holders = referrers.get(key)
            if holders is not None:
                holders.discard(obj.guid)
                if not holders:
                    del referrers[key]

    # ================================================================== synchronization
    def _synchronize(self, connector: str, full: bool) -> None:
        """Inbound for each object of the connector (all, or those with a pending import), then
        outbound for every metaverse object that changed (and those waiting to retry)."""
        space = self.spaces[connector]
        step = self._step
        assert step is not None
        if full:
            todo = [o for o in space.objects.values() if not o.placeholder]
        else:
            todo = [space.objects[g] for g in space.pending]
        todo.sort(key=_dn_order)
        step.bump("inbound", len(todo))
        outbound: dict[str, None] = dict(self._retry)
        self._retry.clear()
        fresh: dict[str, bool] = {}  # objects linked in this step → was the MV object projected for them
        try:
            self._sync_objects(space, todo, fresh, outbound)
        except _StopStep:
            # Stopped at the error limit: links made for objects whose flows did not run are
            # undone (they keep their pending import), and metaverse objects already changed
            # get their outbound synchronization in the next run.
            for guid in list(fresh):
                obj = space.objects.get(guid)
                if obj is not None:
                    self._rollback(space, obj, fresh)
            self._retry.update(outbound)
            raise
        self._run_outbound(outbound)

    def _sync_objects(self, space: ConnectorSpace, todo: list[CSObject], fresh: dict[str, bool], outbound: dict[str, None]) -> None:
        step = self._step
        assert step is not None
        failed: set[str] = set()
        flows: list[CSObject] = []
        # Phase 1: disconnect, join, project.
        for obj in todo:
            if obj.guid not in space.objects:
                continue
            before = len(step.errors)
            for mv_id in self._inbound_links(space, obj, fresh):
                outbound[mv_id] = None
            if len(step.errors) > before:
                failed.add(obj.guid)
            elif obj.guid in space.objects:
                flows.append(obj)
        # Objects marked for re-evaluation by the links just made (their references resolve now).
        listed = {o.guid for o in flows}
        flows.extend(sorted((space.objects[g] for g in space.pending if g not in listed and g not in failed), key=_dn_order))
        # Phase 2: attribute flow.
        for obj in flows:
            if obj.guid not in space.objects:
                continue
            if obj.mv_id is None or obj.transient:
                space.mark(obj, PI_NONE)
                obj.changed = set()
                continue
            mv = self.mv.objects[obj.mv_id]
            before = len(step.errors)
            self._recompute(mv)
            if len(step.errors) > before:
                self._rollback(space, obj, fresh)
                continue
            fresh.pop(obj.guid, None)
            space.mark(obj, PI_NONE)
            obj.changed = set()
            outbound[mv.id] = None

    def _rollback(self, space: ConnectorSpace, obj: CSObject, fresh: dict[str, bool]) -> None:
        """Undo a link made in this step for an object whose flows failed (it stays pending)."""
        if obj.guid not in fresh:
            return
        created = fresh.pop(obj.guid)
        mv = self.mv.objects.get(obj.mv_id or "")
        obj.mv_id = None
        obj.link_rule = None
        if mv is None:
            return
        if mv.links.get(space.name) == obj.guid:
            del mv.links[space.name]
        if created and not mv.links:
            self.mv.delete(mv)
            self._created.discard(mv.id)
            for referrer in sorted(self._mv_referrers.pop(mv.id, ())):
                other = self.mv.objects.get(referrer)
                if other is not None:
                    self._recompute(other)

    def _run_outbound(self, pending: dict[str, None]) -> None:
        step = self._step
        assert step is not None
        queue = deque(pending)
        queued = set(pending)
        while queue:
            mv_id = queue.popleft()
            queued.discard(mv_id)
            mv = self.mv.objects.get(mv_id)
            if mv is None:
                continue
            step.bump("outbound")
            try:
                ready = self._outbound(mv)
            except _StopStep:
                self._retry[mv_id] = None
                self._retry.update(dict.fromkeys(queue))
                raise
            # Objects whose references were held back for this one run again.
            for referrer in ready:
                if referrer not in queued:
                    queued.add(referrer)
                    queue.append(referrer)

    # -- inbound ---------------------------------------------------------------------
    def _inbound_view(self, space: ConnectorSpace, obj: CSObject) -> dict[str, Any]:
        """What inbound flows see: imported values, overlaid with values staged or exported but not
        yet confirmed, plus the ``dn`` pseudo-attribute."""
        view = dict(obj.attrs)
        if obj.export_memory:
            view.update(obj.export_memory)
        pe = obj.pending_export
        if pe is not None and pe.operation in (PE_ADD, PE_UPDATE, PE_RENAME):
            for name, (_, new) in pe.changes.items():
                if new is None:
                    view.pop(name, None)
                else:
                    view[name] = new
        view["dn"] = Ref(obj.dn)
        return view

    def _member_of(self, space: ConnectorSpace, obj: CSObject) -> Callable[[str], bool]:
        def member_of(group_dn: str) -> bool:
            group = space.get_by_dn(group_dn)
            if group is None:
                return False
            me = normalize_dn(obj.dn)
            return any(normalize_dn(str(m)) == me for m in values_of(group.attrs.get("member")))

        return member_of

    def _rules_in_scope(self, space: ConnectorSpace, obj: CSObject, view: dict[str, Any], params: dict[str, Any]) -> list[CompiledRule]:
        rules = self.cc.inbound.get((space.name, obj.object_type or ""))
        if not rules:
            return []
        member_of = self._member_of(space, obj)
        dn = obj.dn
        return [r for r in rules if r.scope.matches(view, dn, params, member_of)]

    def _inbound_links(self, space: ConnectorSpace, obj: CSObject, fresh: dict[str, bool]) -> list[str]:
        """Object-level inbound operations for one object; returns the metaverse objects whose
        outbound state this changed (disconnected or deleted ones)."""
        step = self._step
        assert step is not None
        affected: list[str] = []
        pi = obj.pending_import
        if pi in (PI_DELETE, PI_DELETE_ADD):
            if obj.mv_id is not None:
                # The directory object is gone (or is a different kind of object now): nothing
                # to delete in the directory, so no delete is staged.
                affected.extend(self._disconnect(space, obj, stage_delete=False))
            if pi == PI_DELETE:
                self._remove_cs(space, obj)
                step.bump("deleted")
                return affected
            obj.provisioned_by = None
            obj.pending_export = None
        if obj.transient or obj.deleted:
            return affected
        params = self.parameters_for(space.name, obj.dn)
        view = self._inbound_view(space, obj)
        in_scope = self._rules_in_scope(space, obj, view, params)
        if obj.mv_id is not None and obj.link_rule is not None:
            link_rule = self.cc.rules_by_name.get(obj.link_rule)
            if link_rule is not None and link_rule.rule.direction == "inbound" and link_rule not in in_scope:
                # Joins are sticky: only leaving the scope of the rule that made the link disconnects.
                affected.extend(self._disconnect(space, obj))
                step.bump("disconnectors")
        if obj.mv_id is None:
            self._join_or_project(space, obj, view, in_scope, fresh)
        return affected

    def _join_or_project(
        self, space: ConnectorSpace, obj: CSObject, view: dict[str, Any], in_scope: list[CompiledRule], fresh: dict[str, bool]
    ) -> None:
        step = self._step
        assert step is not None
        joiners = [r for r in in_scope if r.has_join]
        if not joiners:
            return
        if len(joiners) > 1:
            names = ", ".join(repr(r.name) for r in joiners)
            self._error(obj, joiners[1].name, None, E_MULTIPLE_JOIN_RULES, f"more than one rule with join criteria is in scope: {names}")
            return
        rule = joiners[0]
        target_type = rule.rule.target_type
        for group in rule.join:
            candidates: set[str] | None = None
            for clause in group:
                value = view.get(clause.cs_attribute)
                if value is None or value == []:
                    candidates = None
                    break
                found = self.mv.find(clause.mv_attribute, value, clause.case_sensitive)
                candidates = found if candidates is None else candidates & found
                if not candidates:
                    break
            if not candidates:
                continue
            if target_type != "*":
                candidates = {c for c in candidates if self.mv.objects[c].object_type == target_type}
            if len(candidates) != 1:
                continue
            mv = self.mv.objects[next(iter(candidates))]
            if space.name in mv.links and mv.links[space.name] != obj.guid:
                other = space.objects.get(mv.links[space.name])
                self._error(
                    obj,
                    rule.name,
                    None,
                    E_AMBIGUOUS_JOIN,
                    f"the metaverse object is already joined to {other.dn if other else 'another object'!r} in this connector space",
                )
                return
            self._link(space, obj, mv, rule.name)
            fresh[obj.guid] = False
            step.bump("joins")
            return
        if rule.link != "provision":
            return
        if not any(view.get(c.cs_attribute) not in (None, []) for group in rule.join for c in group):
            return  # projection needs at least one join attribute with a value
        if target_type == "*":
            self._error(obj, rule.name, None, E_CANNOT_PROJECT, "a rule that targets `*` can join but not project")
            return
        mv = self.mv.create(target_type)
        self._created.add(mv.id)
        self._link(space, obj, mv, rule.name)
        fresh[obj.guid] = True
        step.bump("projections")

    def _link(self, space: ConnectorSpace, obj: CSObject, mv: MVObject, rule: str) -> None:
        obj.mv_id = mv.id
        obj.link_rule = rule
        mv.links[space.name] = obj.guid
        # Objects whose references to this one could not be resolved can now be.
        for guid in self._cs_referrers[space.name].get(normalize_dn(obj.dn), ()):
            self._touch(space, guid)

    def _disconnect(self, space: ConnectorSpace, obj: CSObject, stage_delete: bool = True) -> list[str]:
        mv = self.mv.objects.get(obj.mv_id or "")
        obj.mv_id = None
        obj.link_rule = None
        if mv is None:
            return []
        if mv.links.get(space.name) == obj.guid:
            del mv.links[space.name]
        if stage_delete and obj.provisioned_by is not None:
            # An export object must be joined: a disjoined one is deleted.
            self._stage_delete(space, obj)
        for guid in self._cs_referrers[space.name].get(normalize_dn(obj.dn), ()):
            self._touch(space, guid)
        if not self._held(mv):
            return self._delete_mv(mv)
        self._recompute(mv)
        return [mv.id]

    # -- metaverse lifetime ------------------------------------------------------------
    def _held(self, mv: MVObject) -> bool:
        """A metaverse object lives while an in-scope Provision or StickyJoin rule holds it: an
        inbound rule of one of its joined objects, with one of those link types, in scope."""
        for connector, guid in mv.links.items():
            space = self.spaces[connector]
            obj = space.objects.get(guid)
            if obj is None or obj.object_type is None:
                continue
            holders = [
                r
                for r in self.cc.inbound.get((connector, obj.object_type), ())
                if r.link in _HOLDING_LINKS and r.rule.target_type in ("*", mv.object_type)
            ]
            if not holders:
                continue
            params = self.parameters_for(connector, obj.dn)
            view = self._inbound_view(space, obj)
            member_of = self._member_of(space, obj)
            if any(r.scope.matches(view, obj.dn, params, member_of) for r in holders):
                return True
        return False

    def _delete_mv(self, mv: MVObject) -> list[str]:
        """Delete a metaverse object: every object an outbound Provision rule created (or considered
        in scope) gets a staged delete, unless a JoinNoFlow rule keeps it; the rest are disjoined.
        Returns the metaverse objects that referred to it (recomputed, to run outbound again)."""
        step = self._step
        assert step is not None
        for connector, guid in list(mv.links.items()):
            space = self.spaces[connector]
            obj = space.objects.get(guid)
            if obj is None:
                continue
            obj.mv_id = None
            obj.link_rule = None
            if obj.provisioned_by is not None:
                if self._no_flow(mv, connector, obj.object_type):
                    obj.provisioned_by = None
                else:
                    self._stage_delete(space, obj)
        mv.links.clear()
        referrers = sorted(self._mv_referrers.pop(mv.id, set()))
        self.mv.delete(mv)
        self._retry.pop(mv.id, None)
        step.bump("metaverse-deletes")
        out = []
        for referrer in referrers:
            other = self.mv.objects.get(referrer)
            if other is not None:
                self._recompute(other)
                out.append(referrer)
        return out

    def _no_flow(self, mv: MVObject, connector: str, object_type: str | None) -> bool:
        params = self._connector_params.get(connector, {})
        return any(
            r.link == "join-no-flow" and r.rule.target_type == object_type and r.scope.matches(mv.attrs, "", params, _no_member)
            for r in self.cc.outbound.get((connector, mv.object_type), ())
        )

    # -- inbound attribute flow ----------------------------------------------------------
    def _recompute(self, mv: MVObject) -> bool:
        """Recompute every attribute of ``mv`` from all its joined objects; True if anything changed.

        All flows are evaluated and resolved before anything is written, so an error (in any
        flow, or a mix of merge types) leaves the object as it was. This is the engine's hottest
        loop: a NULL contributes nothing (it can only fall through), so absent sources and NULL
        results are dropped on the spot, and contributions need sorting only when several
        connectors contribute.
        """
        contributions: dict[str, list[_Contribution]] = {}
        created = mv.id in self._created
        failed = False
        new_refs: set[str] = set()
        mv_type = mv.object_type
        links = mv.links
        if len(links) > 1:
            ordered = sorted(links.items(), key=lambda kv: self._connector_index[kv[0]])
        else:
            ordered = list(links.items())
        options = self.options
        scoped: list[list[CompiledRule]] = []
        for connector, guid in ordered:
            conn_index = self._connector_index[connector]
            space = self.spaces[connector]
            obj = space.objects.get(guid)
            if obj is None:
                continue
            params = self.parameters_for(connector, obj.dn)
            view = self._inbound_view(space, obj)
            in_scope = self._rules_in_scope(space, obj, view, params)
            if not in_scope:
                continue
            scoped.append(in_scope)
            get = view.get
            ctx = EvalContext(view, params, imported=obj.attrs, now=options.now, seed=options.seed, object_id=obj.guid)
            for rule in in_scope:
                ir_rule = rule.rule
                target_type = ir_rule.target_type
                if target_type != mv_type and target_type != "*":
                    continue
                key = (ir_rule.precedence, rule.order, conn_index)
                lineage = Lineage(rule.name, connector, obj.dn, ir_rule.precedence)
                for target, source, fn, is_ref, multi, merge, once, flow in rule.plan:
                    if once:
                        if created and target not in mv.once:
                            value = self._eval(flow, ctx, obj, rule)
                            if value is _FAILED:
                                failed = True
                                continue
                            if is_ref:
                                value = self._refs_in(space, value, new_refs)
                            mv.once[target] = (value, lineage)
                        stored = mv.once.get(target)
                        if stored is None or stored[0] is None:
                            continue
                        contributions.setdefault(target, []).append((key, stored[0], stored[1], merge))
                        continue
                    if source is not None:
                        value = get(source)
                    else:
                        try:
                            value = fn(ctx)
                        except EvalError as exc:
                            self._flow_error(obj, rule, flow, exc)
                            failed = True
                            continue
                    if value is None or value == "":
                        continue  # NULL (and an empty string, which no directory stores) falls through
                    if is_ref:
                        value = self._refs_in(space, value, new_refs)
                        if value is None:
                            continue
                    if multi and value.__class__ is not list and value is not AUTHORITATIVE_NULL and value is not IGNORE_THIS_FLOW:
                        value = [value]
                    entries = contributions.get(target)
                    if entries is None:
                        contributions[target] = [(key, value, lineage, merge)]
                    else:
                        entries.append((key, value, lineage, merge))
        if failed:
            return False
        writes: list[tuple[str, Any, Lineage | None]] = []
        several = len(ordered) > 1
        mixed = self.cc.mixed_inbound
        for target, entries in contributions.items():
            if len(entries) == 1:
                value = entries[0][1]
                merge = entries[0][3]
                if value is IGNORE_THIS_FLOW:
                    if _flow_count(scoped, mv_type, target) > 1:
                        writes.append((target, None, None))  # the others were NULL: removed
                    continue
                if value is AUTHORITATIVE_NULL:
                    writes.append((target, None, None))
                    continue
                if merge == "update" or merge == "replace":
                    writes.append((target, value, entries[0][2]))
                    continue
            else:
                if several:
                    entries.sort(key=_first)
                if (mv_type, target) in mixed and not self._one_merge_type(mv, target, entries):
                    failed = True
                    continue
            value, lineage, keep = _resolve(entries)
            if not keep:
                writes.append((target, value, lineage))
            elif _flow_count(scoped, mv_type, target) > len(entries):
                # Every value was IgnoreThisFlow, but other flows returned NULL (they are not
                # among the contributions): as if the ignored flows were absent, the value goes.
                writes.append((target, None, None))
        if failed:
            return False
        attrs = mv.attrs
        for target in attrs.keys() - contributions.keys():
            writes.append((target, None, None))
        changed = False
        for target, value, lineage in writes:
            if not _same(attrs.get(target), value):
                self.mv.set_attr(mv, target, value)
                changed = True
            if value is None:
                mv.lineage.pop(target, None)
            elif lineage is not None:
                mv.lineage[target] = lineage
        for target_id in new_refs:
            self._mv_referrers.setdefault(target_id, set()).add(mv.id)
        return changed

    def _one_merge_type(self, obj: CSObject | MVObject, target: str, entries: list[_Contribution]) -> bool:
        """All rules contributing one attribute must use one merge family (update/replace, merge,
        merge-case-insensitive); otherwise the object fails."""
        families = {_merge_family(e[3]) for e in entries}
        if len(families) == 1:
            return True
        rules = sorted({_rule_name(e[2]) for e in entries})
        self._error(
            obj,
            rules[0],
            target,
            E_MIXED_MERGE,
            f"rules in scope flow `{target}` with different merge types ({', '.join(sorted(families))}): {', '.join(rules)}",
        )
        return False

    def _eval(self, flow: CompiledFlow, ctx: EvalContext, obj: CSObject | MVObject, rule: CompiledRule) -> Any:
        try:
            return flow.fn(ctx)
        except EvalError as exc:
            self._flow_error(obj, rule, flow, exc)
            return _FAILED

    def _flow_error(self, obj: CSObject | MVObject, rule: CompiledRule, flow: CompiledFlow, exc: EvalError) -> None:
        self._error(obj, rule.name, flow.target, exc.code, exc.message, getattr(exc, "span", None) or flow.origin)

    def _refs_in(self, space: ConnectorSpace, value: Any, new_refs: set[str]) -> Any:
        """Connector-space references (DNs) → metaverse references (ids); references to objects
        that are not joined contribute nothing."""
        if value is None or value is AUTHORITATIVE_NULL or value is IGNORE_THIS_FLOW:
            return value
        if not isinstance(value, list):
            target = space.get_by_dn(str(value))
            if target is None or target.mv_id is None:
                return None
            new_refs.add(target.mv_id)
            return Ref(target.mv_id)
        out = []
        for dn in value:
            target = space.get_by_dn(str(dn))
            if target is not None and target.mv_id is not None:
                out.append(Ref(target.mv_id))
                new_refs.add(target.mv_id)
        return out or None

    # -- outbound --------------------------------------------------------------------
    def _outbound(self, mv: MVObject) -> list[str]:
        """Provisioning, deprovisioning and export attribute flow for one metaverse object.
        Returns metaverse objects whose held-back references may now resolve."""
        step = self._step
        assert step is not None
        ready: list[str] = []
        for connector in self._outbound_connectors.get(mv.object_type, ()):
            rules = self.cc.outbound[(connector, mv.object_type)]
            space = self.spaces[connector]
            params = self._connector_params.get(connector, {})
            in_scope = [r for r in rules if r.scope.matches(mv.attrs, "", params, _no_member)]
            guid = mv.links.get(connector)
            obj = space.objects.get(guid) if guid else None
            if obj is not None:
                typed = [r for r in in_scope if r.rule.target_type == obj.object_type]
                provisioners = [r for r in typed if r.link == "provision"]
                no_flow = any(r.link == "join-no-flow" for r in typed)
                if provisioners and obj.provisioned_by is None:
                    obj.provisioned_by = provisioners[0].name  # now "considered in scope": may be deprovisioned
                link_rule = self.cc.rules_by_name.get(obj.link_rule or "")
                if obj.provisioned_by is not None and not provisioners and not no_flow:
                    self._deprovision(mv, space, obj)
                    # References to this object in that space now have nothing to point at.
                    ready.extend(self._mv_referrers.get(mv.id, ()))
                elif (
                    link_rule is not None
                    and link_rule.rule.direction == "outbound"
                    and link_rule not in typed
                    and not provisioners
                    and not no_flow
                ):
                    # The outbound join rule that made the link is out of scope: disjoin, no delete.
                    del mv.links[connector]
                    obj.mv_id = None
                    obj.link_rule = None
                    step.bump("disconnectors")
                    ready.extend(self._mv_referrers.get(mv.id, ()))
                else:
                    self._export_flow(mv, space, obj, typed, params, no_flow)
                    continue
            # No object in this connector space (any more): join an existing one, or provision.
            if not in_scope:
                continue
            if self._outbound_join(mv, space, in_scope):
                ready.extend(self._waiting.pop((connector, mv.id), ()))
                obj = space.objects[mv.links[connector]]
                typed = [r for r in in_scope if r.rule.target_type == obj.object_type]
                if obj.provisioned_by is None and any(r.link == "provision" for r in typed):
                    obj.provisioned_by = next(r.name for r in typed if r.link == "provision")
                self._export_flow(mv, space, obj, typed, params, any(r.link == "join-no-flow" for r in typed))
                continue
            provisioner = next((r for r in in_scope if r.link == "provision"), None)
            if provisioner is not None and self._provision(mv, space, provisioner, in_scope, params):
                ready.extend(self._waiting.pop((connector, mv.id), ()))
        mv.retry_provisioning = False
        return ready

    def _desired(
        self, mv: MVObject, space: ConnectorSpace, object_type: str, rules: list[CompiledRule], params: dict[str, Any], adding: bool
    ) -> tuple[dict[str, Any], dict[str, Any], bool, dict[str, str]] | None:
        """Export flow values by precedence: (values, held references, join-no-flow, merge types of
        the targets flowed with a merge type), or None on error.

        Apply-once flows take part only while the object is being added (``adding``). Rules
        arrive in precedence order, so contributions never need sorting. A target whose flows all
        return NULL gets the value None (removed in the directory).
        """
        ctx = EvalContext(mv.attrs, params, now=self.options.now, seed=self.options.seed, object_id=mv.id)
        get = mv.attrs.get
        contributions: dict[str, list[_Contribution]] = {}
        values: dict[str, Any] = {}
        held: dict[str, Any] = {}
        merges: dict[str, str] = {}
        no_flow = False
        failed = False
        for rule in rules:
            if rule.rule.target_type != object_type:
                continue
            if rule.link == "join-no-flow":
                no_flow = True
            key = (rule.rule.precedence, rule.order, 0)
            for target, source, fn, is_ref, multi, merge, once, flow in rule.plan:
                if once and not adding:
                    continue
                if source is not None:
                    value = get(source)
                else:
                    try:
                        value = fn(ctx)
                    except EvalError as exc:
                        self._flow_error(mv, rule, flow, exc)
                        failed = True
                        continue
                if value == "":
                    value = None  # no directory stores an empty string: it is no value
                if is_ref and value is not None:
                    value, waiting = self._refs_out(space, value)
                    if waiting:
                        held[target] = waiting
                        for target_id in waiting:
                            self._waiting.setdefault((space.name, target_id), set()).add(mv.id)
                if merge[0] == "m":  # merge, merge-case-insensitive
                    merges[target] = merge
                if value is None:
                    if target not in values:
                        values[target] = None
                    continue
                if multi and value.__class__ is not list and value is not AUTHORITATIVE_NULL and value is not IGNORE_THIS_FLOW:
                    value = [value]
                entries = contributions.get(target)
                if entries is None:
                    contributions[target] = [(key, value, rule, merge)]
                else:
                    entries.append((key, value, rule, merge))
        if failed:
            return None
        mixed = self.cc.mixed_outbound
        for target, entries in contributions.items():
            if len(entries) == 1:
                value = entries[0][1]
                merge = entries[0][3]
                if value is IGNORE_THIS_FLOW:
                    if values.get(target, 0) is None:
                        continue  # NULL from another rule and nothing else: removed
                    values.pop(target, None)
                    continue
                if value is AUTHORITATIVE_NULL:
                    values[target] = None
                    continue
                if merge == "update" or merge == "replace":
                    values[target] = value
                    continue
            elif (space.name, object_type, target) in mixed and not self._one_merge_type(mv, target, entries):
                failed = True
                continue
            value, _, keep = _resolve(entries)
            if keep:
                if values.get(target, 0) is not None:
                    values.pop(target, None)
                continue
            values[target] = value
        if failed:
            return None
        return values, held, no_flow, merges

    def _refs_out(self, space: ConnectorSpace, value: Any) -> tuple[Any, list[str]]:
        """Metaverse references → DNs in ``space``; references not yet provisioned there wait."""
        if value is None or value is AUTHORITATIVE_NULL or value is IGNORE_THIS_FLOW:
            return value, []
        out: list[Any] = []
        waiting: list[str] = []
        objects = self.mv.objects
        for mv_id in values_of(value):
            target = objects.get(str(mv_id))
            if target is None:
                continue
            guid = target.links.get(space.name)
            obj = space.objects.get(guid) if guid else None
            if obj is not None:
                out.append(Ref(obj.dn))
            else:
                waiting.append(str(mv_id))
        if isinstance(value, list):
            return (out or None), waiting
        return (out[0] if out else None), waiting

    def _provision(
        self, mv: MVObject, space: ConnectorSpace, rule: CompiledRule, in_scope: list[CompiledRule], params: dict[str, Any]
    ) -> bool:
        step = self._step
        assert step is not None
        object_type = rule.rule.target_type
        typed = [r for r in in_scope if r.rule.target_type == object_type]
        desired = self._desired(mv, space, object_type, typed, params, adding=True)
        if desired is None:
            return False
        values, held, no_flow, _ = desired
        if no_flow:
            return False  # JoinNoFlow never adds
        dn = values.pop("dn", None)
        if dn is None or dn == "":
            self._error(mv, rule.name, "dn", E_MISSING_DN, f"provisioning to {space.name!r} needs a `dn` flow with a value")
            return False
        dn = str(dn)
        existing = space.get_by_dn(dn)
        if existing is not None and not existing.placeholder:
            pe = existing.pending_export
            deleting = existing.deleted or (pe is not None and pe.operation == PE_DELETE)
            if existing.mv_id is None and not existing.transient and not deleting and existing.object_type == object_type:
                # Reverse join on DN before creating anything.
                self._link_out(space, existing, mv, rule.name)
                existing.provisioned_by = rule.name
                step.bump("joins")
                self._export_flow(mv, space, existing, typed, params, False)
                return True
            if existing.mv_id is None and (deleting or existing.transient):
                # The name is being freed: provision again once the delete is confirmed.
                self._retry[mv.id] = None
                step.bump("provisioning-deferred")
                return False
            self._error(mv, rule.name, "dn", E_DN_IN_USE, f"{dn!r} is already used by another object in {space.name!r}")
            return False
        types = self.cc.cs_types.get((space.name, object_type), {})
        # The anchor is the directory's to assign (on the confirming import), never required here.
        anchors = self._anchors.get(space.name, ())
        missing = [a.name for a in types.values() if a.required and a.name not in anchors and values.get(a.name) in (None, [], "")]
        if missing:
            self._error(
                mv,
                rule.name,
                missing[0],
                E_MISSING_REQUIRED,
                f"cannot provision a {object_type} to {space.name!r} without {', '.join(missing)}",
            )
            return False
        if existing is not None:  # a placeholder stood for this DN: the export object replaces it
            self._remove_cs(space, existing)
        obj = CSObject(space.new_guid(), space.name, dn, object_type)
        space.add(obj)
        self._link_out(space, obj, mv, rule.name)
        obj.provisioned_by = rule.name
        changes = {k: (None, v) for k, v in sorted(values.items()) if v is not None and v != []}
        obj.pending_export = PendingExport(PE_ADD, dn, None, changes, dict(held))
        step.bump("provisioned")
        return True

    def _link_out(self, space: ConnectorSpace, obj: CSObject, mv: MVObject, rule: str) -> None:
        obj.mv_id = mv.id
        obj.link_rule = rule
        mv.links[space.name] = obj.guid
        for guid in self._cs_referrers[space.name].get(normalize_dn(obj.dn), ()):
            self._touch(space, guid)

    def _outbound_join(self, mv: MVObject, space: ConnectorSpace, in_scope: list[CompiledRule]) -> bool:
        """Outbound join criteria link the metaverse object to an existing disjoined object.

        Several in-scope rules may carry join criteria only if the criteria are identical (the
        default configuration's outbound rules all join on sourceAnchor); otherwise it is an error.
        """
        step = self._step
        assert step is not None
        joiners = [r for r in in_scope if r.has_join]
        if not joiners:
            return False
        # Rules for different object types of the target space are separate joins (the default
        # rules join a person to an AD user, contact or inetOrgPerson by type); within one type
        # the criteria must be the same.
        by_type: dict[str, list[CompiledRule]] = {}
        for rule in joiners:
            by_type.setdefault(rule.rule.target_type, []).append(rule)
        for rules in by_type.values():
            if len({r.join for r in rules}) > 1:
                names = ", ".join(repr(r.name) for r in rules)
                self._error(mv, rules[1].name, None, E_MULTIPLE_JOIN_RULES, f"outbound rules with different join criteria are in scope: {names}")
                return False
        for object_type, rules in by_type.items():
            rule = rules[0]
            for group in rule.join:
                candidates: set[str] | None = None
                for clause in group:
                    value = mv.attrs.get(clause.mv_attribute)
                    if value is None or value == []:
                        candidates = None
                        break
                    found = space.find(clause.cs_attribute, value, clause.case_sensitive)
                    candidates = found if candidates is None else candidates & found
                    if not candidates:
                        break
                if not candidates:
                    continue
                usable = [space.objects[c] for c in candidates if _joinable(space.objects[c], object_type)]
                if len(usable) == 1:
                    self._link_out(space, usable[0], mv, rule.name)
                    step.bump("joins")
                    return True
        return False

    def _deprovision(self, mv: MVObject, space: ConnectorSpace, obj: CSObject) -> None:
        mv.links.pop(space.name, None)
        obj.mv_id = None
        obj.link_rule = None
        self._stage_delete(space, obj)
        assert self._step is not None
        self._step.bump("deprovisioned")

    def _stage_delete(self, space: ConnectorSpace, obj: CSObject) -> None:
        pe = obj.pending_export
        if pe is not None and pe.operation == PE_ADD and obj.anchor is None:
            # Never exported: nothing to delete in the directory.
            self._remove_cs(space, obj)
            return
        obj.pending_export = PendingExport(PE_DELETE, obj.dn)
        obj.provisioned_by = None

    def _export_flow(
        self, mv: MVObject, space: ConnectorSpace, obj: CSObject, rules: list[CompiledRule], params: dict[str, Any], no_flow: bool
    ) -> None:
        if obj.object_type is None or not rules:
            return
        pe = obj.pending_export
        if pe is not None and pe.operation == PE_DELETE:
            return
        adding = pe is not None and pe.operation == PE_ADD and obj.anchor is None
        # Apply-once flows were evaluated when the export object was created; they are not
        # evaluated again, even while the add is still waiting to be exported.
        desired = self._desired(mv, space, obj.object_type, rules, params, adding=False)
        if desired is None:
            return
        values, held, flagged, merges = desired
        no_flow = no_flow or flagged
        new_dn = values.pop("dn", None)
        if not adding:
            # Merge types add to what the directory object has; they never remove its values.
            for name, merge in merges.items():
                values[name] = _union(obj.attrs.get(name), values.get(name), merge == "merge-case-insensitive")
        if adding:
            # Not exported yet: the add carries the latest values (and the apply-once ones).
            assert pe is not None
            once = {f.target for r in rules for f in r.flows if f.once}
            for target in once:
                if target in pe.changes:
                    values[target] = pe.changes[target][1]
            pe.changes = {k: (None, v) for k, v in sorted(values.items()) if v is not None and v != []}
            pe.held = dict(held)
            if new_dn and str(new_dn) != obj.dn and space.get_by_dn(str(new_dn)) is None:
                space.rename(obj, str(new_dn))
                pe.dn = obj.dn
            return
        changes: dict[str, tuple[Any, Any]] = {}
        current = obj.attrs
        for name in sorted(values):
            value = values[name]
            if value is None and name in held:
                continue  # the referenced objects are not there yet: keep what is there
            old = current.get(name)
            if not _same(old, value):
                changes[name] = (old, value)
        if no_flow and changes:
            types = self.cc.cs_types.get((space.name, obj.object_type), {})
            changes = {k: v for k, v in changes.items() if k in types and types[k].type == "reference"}
        rename = None
        if new_dn and not no_flow and normalize_dn(str(new_dn)) != normalize_dn(obj.dn):
            rename = str(new_dn)
        if not changes and rename is None:
            obj.pending_export = None
            return
        obj.pending_export = PendingExport(PE_RENAME if rename else PE_UPDATE, obj.dn, rename, changes, dict(held))

    # ================================================================== export
    def pending_deletes(self, connector: str) -> int:
        return sum(1 for o in self.spaces[connector] if o.pending_export is not None and o.pending_export.operation == PE_DELETE)

    def _export(self, connector: str) -> None:
        step = self._step
        assert step is not None
        if self.options.staging:
            step.status = STOPPED_STAGING
            return
        directory = self._directory(connector)
        space = self.spaces[connector]
        pending = sorted((o for o in space.objects.values() if o.pending_export is not None), key=_dn_order)
        deletes = sum(1 for o in pending if o.pending_export.operation == PE_DELETE)  # type: ignore[union-attr]
        threshold = self.options.deletion_threshold
        if threshold is not None and deletes > threshold:
            step.status = STOPPED_DELETION_THRESHOLD
            step.counts["pending-deletes"] = deletes
            return
        for obj in pending:
            pe = obj.pending_export
            assert pe is not None
            changes = {k: new for k, (_, new) in pe.changes.items()}
            op = ExportOperation(pe.operation, pe.dn, obj.object_type, changes, pe.new_dn)
            try:
                directory.apply(op)
            except ExportRejected as exc:
                self._error(obj, obj.provisioned_by, None, E_EXPORT_REJECTED, str(exc))
                continue
            step.bump(pe.operation + "s")
            obj.pending_export = None
            if pe.operation == PE_DELETE:
                obj.deleted = True  # kept until an import confirms the delete
                continue
            # Remember what was sent: it is sent again until an import confirms it.
            obj.export_memory.update(changes)
            if pe.new_dn:
                space.rename(obj, pe.new_dn)

    def export_step(self, connector: str, allow_deletes: int | None = None) -> StepResult:
        """Export with a one-off deletion allowance (``--allow-deletes N``)."""
        saved = self.options.deletion_threshold
        if allow_deletes is not None:
            self.options.deletion_threshold = max(saved or 0, allow_deletes)
        try:
            return self.run_step(connector, "export")
        finally:
            self.options.deletion_threshold = saved

    # ================================================================== queries
    def cs_objects(self, connector: str) -> Iterable[CSObject]:
        return sorted(self.spaces[connector], key=lambda o: (normalize_dn(o.dn), o.guid))

    def mv_objects(self) -> list[MVObject]:
        return sorted(self.mv, key=lambda m: m.id)


_FAILED: Any = object()


def _dn_order(obj: CSObject) -> tuple[str, str]:
    """Processing order within a step: by name, so results do not depend on import order."""
    return (obj.dn.lower(), obj.guid)


def _flow_count(scoped: list[list[CompiledRule]], mv_type: str, target: str) -> int:
    """How many in-scope flows (apply-once ones aside) write ``target``: the rare IgnoreThisFlow
    case compares it with the contributions, which leave NULLs out."""
    return sum(
        1
        for rules in scoped
        for rule in rules
        if rule.rule.target_type in (mv_type, "*")
        for flow in rule.flows
        if flow.target == target and not flow.once
    )


def _first(entry: _Contribution) -> tuple[int, int, int]:
    return entry[0]


def _joinable(obj: CSObject, object_type: str) -> bool:
    pe = obj.pending_export
    return (
        obj.mv_id is None
        and not obj.placeholder
        and not obj.transient
        and not obj.deleted
        and obj.object_type == object_type
        and (pe is None or pe.operation != PE_DELETE)
    )


def _merge_family(merge: str) -> str:
    return "update" if merge in ("update", "replace") else merge


def _rule_name(source: Any) -> str:
    if isinstance(source, Lineage):
        return source.rule
    if isinstance(source, CompiledRule):
        return source.name
    return str(source)


def _no_member(_dn: str) -> bool:
    return False


def _union(current: Any, added: Any, fold: bool) -> Any:
    """Current values plus added ones, without duplicates (ignoring case if ``fold``)."""
    out: list[Any] = []
    seen: set[Any] = set()
    for v in values_of(current) + values_of(added):
        key = v.lower() if fold and isinstance(v, str) else v
        if key not in seen:
            seen.add(key)
            out.append(v)
    return out or None


def _same(a: Any, b: Any) -> bool:
    """Value equality as a directory sees it: multi-valued order does not matter, and an empty
    string or list is no value."""
    if a is None or a == [] or a == "":
        return b is None or b == [] or b == ""
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return False
        if a == b:
            return True
        try:
            return sorted(a, key=repr) == sorted(b, key=repr)
        except TypeError:  # pragma: no cover
            return False
    if isinstance(a, bool) != isinstance(b, bool):
        return False  # True is not 1 in a directory
    return bool(a == b)


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    return repr(value)


def _resolve(entries: list[_Contribution]) -> tuple[Any, Any, bool]:
    """Precedence resolution for one target attribute: (value, lineage, keep-existing).

    Update/replace: the first contribution with a value wins; NULL falls through; AuthoritativeNull
    clears and stops; IgnoreThisFlow is as if the flow were absent — and if every contribution was
    IgnoreThisFlow, the existing value is kept. Merge types union all values (duplicates removed,
    case-insensitively for merge-case-insensitive); AuthoritativeNull stops contributions below it.
    """
    merge = entries[0][3]
    if merge.startswith("merge"):
        fold = merge == "merge-case-insensitive"
        out: list[Any] = []
        seen: set[Any] = set()
        lineage = None
        ignored_only = True
        for _, value, lin, _ in entries:
            if value is AUTHORITATIVE_NULL:
                ignored_only = False
                break
            if value is IGNORE_THIS_FLOW:
                continue
            ignored_only = False
            # Values are a set: among case variants from one contribution the smallest wins, so
            # the result never depends on the order a directory lists them in.
            for v in sorted(values_of(value), key=repr) if fold else values_of(value):
                key = v.lower() if fold and isinstance(v, str) else v
                if key not in seen:
                    seen.add(key)
                    out.append(v)
                    lineage = lineage or lin
        if ignored_only:
            return None, None, True
        return (out or None), lineage, False
    ignored_only = True
    for _, value, lin, _ in entries:
        if value is IGNORE_THIS_FLOW:
            continue
        ignored_only = False
        if value is AUTHORITATIVE_NULL:
            return None, None, False
        if value is None or value == []:
            continue
        return value, lin, False
    return None, None, ignored_only
