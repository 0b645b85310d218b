"""The synchronization engine: import → synchronization (inbound, outbound) → export.

One :class:`Engine` holds the state (a connector space per connector, the metaverse) and runs
run profiles over it. The behaviour follows the documented architecture of the Entra Connect /
MIM sync engine; decisions where the sources are silent are recorded in docs/engine.md and each
has a scenario test under tests/conformance/sync/.

Processing is object-at-a-time and driven by indexes: an import touches the objects it reads, a
delta synchronization touches the objects with a pending import plus the metaverse objects they
change, and joins are dictionary lookups, never scans.
"""

from __future__ import annotations

import datetime as _dt
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
STOPPED_ERROR_LIMIT = "stopped-error-limit"
STOPPED_DELETION_THRESHOLD = "stopped-deletion-threshold-exceeded"
STOPPED_STAGING = "stopped-staging-mode"

PROFILES = ("full-import", "delta-import", "full-sync", "delta-sync", "export")


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


class Engine:
    def __init__(
        self,
        config: ir.Config,
        directories: dict[str, ConnectedDirectory] | None = None,
        options: EngineOptions | None = None,
        parameters: dict[str, dict[str, str]] | None = None,
    ) -> None:
        self.cc: CompiledConfig = compile_config(config)
        self.options = options or EngineOptions()
        self.directories: dict[str, ConnectedDirectory] = dict(directories or {})
        self.spaces: dict[str, ConnectorSpace] = {name: ConnectorSpace(name) for name in self.cc.connector_order}
        self.mv = Metaverse()
        for attribute, case_sensitive in sorted(self.cc.mv_indexes):
            self.mv.ensure_index(attribute, case_sensitive)
        for name, indexes in self.cc.cs_indexes.items():
            for attribute, case_sensitive in sorted(indexes):
                self.spaces[name].ensure_index(attribute, case_sensitive)
        self._param_overrides = parameters or {}
        self._params_cache: dict[tuple[str, str], dict[str, Any]] = {}
        self._partitions: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        self._connector_params: dict[str, dict[str, Any]] = {}
        self._prepare_parameters()
        # Reverse references: who points at whom, so a newly joined or provisioned object can
        # finish the references that were waiting for it.
        self._cs_referrers: dict[str, dict[str, set[str]]] = {name: {} for name in self.cc.connector_order}
        self._mv_referrers: dict[str, set[str]] = {}
        self._step: StepResult | None = None
        self._created: set[str] = set()  # metaverse objects created during the current step
        self.history: list[StepResult] = []

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
            for p in c.partitions:
                merged = dict(base)
                merged.update({n: v for n, v in p.parameters if v is not None})
                parts.append((normalize_dn(p.dn), merged))
            parts.sort(key=lambda kv: -len(kv[0]))  # most specific partition first
            self._partitions[c.name] = parts

    def parameters_for(self, connector: str, dn: str) -> dict[str, Any]:
        """Parameters for an object: connector values overlaid with its partition's (by DN suffix)."""
        norm = normalize_dn(dn)
        for suffix, params in self._partitions.get(connector, ()):
            if norm == suffix or norm.endswith("," + suffix):
                return params
        return self._connector_params.get(connector, {})

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
    def _typed(self, connector: str, object_type: str, attrs: dict[str, Any]) -> dict[str, Any]:
        """Drop empty values; references are kept as DN strings (``Ref``)."""
        out: dict[str, Any] = {}
        types = self.cc.cs_types.get((connector, object_type), {})
        for name, value in attrs.items():
            if value is None or value == [] or value == "":
                continue
            decl = types.get(name)
            if decl is not None and decl.type == "reference":
                value = [Ref(v) for v in value] if isinstance(value, list) else Ref(value)
            if decl is not None and decl.multi and not isinstance(value, list):
                value = [value]
            out[name] = value
        return out

    def _full_import(self, connector: str) -> None:
        directory = self.directories.get(connector)
        if directory is None:
            raise KeyError(f"connector {connector!r} has no directory to import from")
        space = self.spaces[connector]
        seen: set[str] = set()
        for record in directory.read_all():
            obj = self._import_record(space, record)
            if obj is not None:
                seen.add(obj.guid)
        # Objects the directory no longer shows are deleted (not placeholders, not unexported adds).
        for obj in list(space):
            if obj.guid in seen or obj.placeholder or obj.anchor is None:
                continue
            if obj.pending_import != PI_DELETE:
                obj.pending_import = PI_DELETE
                self._step.bump("deletes")  # type: ignore[union-attr]

    def _delta_import(self, connector: str) -> None:
        directory = self.directories.get(connector)
        if directory is None:
            raise KeyError(f"connector {connector!r} has no directory to import from")
        space = self.spaces[connector]
        for change in directory.read_changes():
            self._import_change(space, change)

    def _import_change(self, space: ConnectorSpace, change: ChangeRecord) -> None:
        step = self._step
        assert step is not None
        obj = (space.get_by_anchor(change.anchor) if change.anchor else None) or space.get_by_dn(change.dn)
        if change.operation == "delete":
            if obj is not None and not obj.placeholder:
                obj.pending_import = PI_DELETE
                step.bump("deletes")
            return
        if change.operation == "rename" and obj is not None:
            self._rename_cs(space, obj, change.new_dn or change.dn)
            obj.pending_import = PI_UPDATE if obj.pending_import == PI_NONE else obj.pending_import
            step.bump("updates")
            if change.attrs:
                self._import_record(space, ImportRecord(obj.dn, change.object_type or obj.object_type or "", obj.anchor or "", change.attrs))
            return
        if change.anchor is None or change.object_type is None:
            self._error(change.dn, None, None, "SR702", f"the change record for {change.dn!r} lacks an anchor or object type")
            return
        self._import_record(space, ImportRecord(change.new_dn or change.dn, change.object_type, change.anchor, change.attrs))

    def _import_record(self, space: ConnectorSpace, record: ImportRecord) -> CSObject | None:
        step = self._step
        assert step is not None
        attrs = self._typed(space.name, record.object_type, record.attrs)
        obj = space.get_by_anchor(record.anchor)
        if obj is None:
            by_dn = space.get_by_dn(record.dn)
            if by_dn is not None:
                if by_dn.placeholder:
                    # The real object overwrites the placeholder that stood in for it.
                    by_dn.placeholder = False
                    by_dn.object_type = record.object_type
                    space.set_anchor(by_dn, record.anchor)
                    self._replace_attrs(space, by_dn, attrs)
                    by_dn.pending_import = PI_ADD
                    step.bump("adds")
                    self._note_references(space, by_dn)
                    return by_dn
                if by_dn.anchor is None:
                    if by_dn.pending_export is not None and by_dn.pending_export.operation == PE_ADD:
                        # A provisioned object that was never exported meets a real object with its DN:
                        # drop the export object and retry provisioning its metaverse object.
                        self._drop_unexported(space, by_dn)
                    else:
                        # The confirming import of an object we exported: it gets its anchor now.
                        space.set_anchor(by_dn, record.anchor)
                        self._confirm(space, by_dn, record.object_type, attrs)
                        return by_dn
                else:
                    # Same DN, different anchor: the old object was renamed or deleted in the directory.
                    space.rename(by_dn, f"{{transient:{by_dn.guid}}}")
                    by_dn.transient = True
                    step.bump("transients")
            obj = CSObject(space.new_guid(), space.name, record.dn, record.object_type, record.anchor)
            obj.attrs = {}
            space.add(obj)
            self._replace_attrs(space, obj, attrs)
            obj.pending_import = PI_ADD
            obj.changed = set(attrs)
            step.bump("adds")
            self._note_references(space, obj)
            return obj
        # Matched by anchor.
        if obj.transient:
            obj.transient = False
        if obj.object_type != record.object_type:
            obj.object_type = record.object_type
            if obj.dn != record.dn:
                self._rename_cs(space, obj, record.dn)
            self._replace_attrs(space, obj, attrs)
            obj.pending_import = PI_DELETE_ADD
            step.bump("delete-adds")
            self._note_references(space, obj)
            return obj
        renamed = obj.dn != record.dn
        if renamed:
            self._rename_cs(space, obj, record.dn)
        self._confirm(space, obj, record.object_type, attrs, renamed)
        return obj

    def _confirm(self, space: ConnectorSpace, obj: CSObject, object_type: str, attrs: dict[str, Any], renamed: bool = False) -> None:
        """Apply imported values to a known object; check them against the export memory."""
        step = self._step
        assert step is not None
        changed = {k for k in set(attrs) | set(obj.attrs) if not _same(attrs.get(k), obj.attrs.get(k))}
        for name, exported in list(obj.export_memory.items()):
            if _same(attrs.get(name), exported):
                del obj.export_memory[name]
            else:
                self._warning(
                    obj,
                    name,
                    "exported-change-not-reimported",
                    f"exported {name} = {_show(exported)} but the directory shows {_show(attrs.get(name))}",
                )
                del obj.export_memory[name]
        if changed or renamed:
            self._replace_attrs(space, obj, attrs)
            if obj.pending_import in (PI_NONE, PI_UPDATE):
                obj.pending_import = PI_UPDATE if obj.anchor is not None else PI_ADD
            obj.changed |= changed
            step.bump("updates")
            self._note_references(space, obj)
        elif obj.pending_import == PI_NONE and obj.mv_id is None and obj.link_rule is None:
            pass
        if obj.pending_export is not None and obj.pending_export.operation == PE_ADD and obj.anchor is not None:
            obj.pending_export = None

    def _replace_attrs(self, space: ConnectorSpace, obj: CSObject, attrs: dict[str, Any]) -> None:
        for name in list(obj.attrs):
            if name not in attrs:
                space.set_attr(obj, name, None)
        for name, value in attrs.items():
            if not _same(obj.attrs.get(name), value):
                space.set_attr(obj, name, value)

    def _rename_cs(self, space: ConnectorSpace, obj: CSObject, new_dn: str) -> None:
        old = normalize_dn(obj.dn)
        space.rename(obj, new_dn)
        # Objects that referred to the old DN must be re-evaluated.
        for guid in self._cs_referrers[space.name].pop(old, set()):
            ref = space.objects.get(guid)
            if ref is not None and ref.pending_import == PI_NONE:
                ref.pending_import = PI_UPDATE

    def _note_references(self, space: ConnectorSpace, obj: CSObject) -> None:
        """Record what ``obj`` refers to; referenced DNs not yet imported become placeholders."""
        if obj.object_type is None:
            return
        for name in self.cc.reference_attributes(space.name, obj.object_type):
            for dn in values_of(obj.attrs.get(name)):
                key = normalize_dn(str(dn))
                self._cs_referrers[space.name].setdefault(key, set()).add(obj.guid)
                if space.get_by_dn(str(dn)) is None:
                    ph = CSObject(space.new_guid(), space.name, str(dn), None)
                    ph.placeholder = True
                    space.add(ph)
                    self._step.bump("placeholders")  # type: ignore[union-attr]

    def _drop_unexported(self, space: ConnectorSpace, obj: CSObject) -> None:
        if obj.mv_id is not None:
            mv = self.mv.objects.get(obj.mv_id)
            if mv is not None:
                mv.links.pop(space.name, None)
                mv.retry_provisioning = True
        space.remove(obj)

    # ================================================================== synchronization
    def _synchronize(self, connector: str, full: bool) -> None:
        """Inbound for each object of the connector (all, or those with a pending import), then
        outbound for every metaverse object that changed."""
        space = self.spaces[connector]
        step = self._step
        assert step is not None
        if full:
            todo = [o for o in space if not o.placeholder]
        else:
            todo = [o for o in space if o.pending_import != PI_NONE and not o.placeholder]
            todo += [
                o for o in space if o.pending_import == PI_NONE and o.mv_id is not None and self._mv_retry(o.mv_id)
            ]
        todo.sort(key=lambda o: (normalize_dn(o.dn), o.guid))
        outbound: dict[str, None] = {}
        for _round in range(8):
            for obj in todo:
                if obj.guid not in space.objects:
                    continue
                for mv_id in self._inbound(space, obj):
                    outbound[mv_id] = None
            # Joining an object can resolve references that other objects hold to it; those
            # objects were marked pending and are processed again (bounded: references rarely chain).
            todo = sorted(
                (o for o in space if o.pending_import != PI_NONE and not o.placeholder and o.mv_id is not None),
                key=lambda o: (normalize_dn(o.dn), o.guid),
            )
            if not todo:
                break
        if full:
            # A full synchronization also re-evaluates outbound rules for every metaverse object
            # linked to this connector (rules may have changed).
            for obj in space:
                if obj.mv_id is not None:
                    outbound.setdefault(obj.mv_id, None)
        self._run_outbound(outbound)

    def _mv_retry(self, mv_id: str) -> bool:
        mv = self.mv.objects.get(mv_id)
        return bool(mv and mv.retry_provisioning)

    def _run_outbound(self, pending: dict[str, None]) -> None:
        queue = list(pending)
        done: set[str] = set()
        while queue:
            mv_id = queue.pop(0)
            if mv_id in done:
                continue
            done.add(mv_id)
            mv = self.mv.objects.get(mv_id)
            if mv is None:
                continue
            for referrer in self._outbound(mv):
                if referrer not in done:
                    queue.append(referrer)

    # -- inbound ---------------------------------------------------------------------
    def _inbound_view(self, space: ConnectorSpace, obj: CSObject) -> dict[str, Any]:
        """What inbound flows see: imported values, overlaid with values staged or exported but not
        yet confirmed, plus the ``dn`` pseudo-attribute."""
        view = dict(obj.attrs)
        if obj.export_memory:
            view.update(obj.export_memory)
        pe = obj.pending_export
        if pe is not None and pe.operation in (PE_ADD, PE_UPDATE):
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
        rules = self.cc.inbound.get((space.name, obj.object_type or ""), [])
        member_of = self._member_of(space, obj)
        return [r for r in rules if r.scope.matches(view, obj.dn, params, member_of)]

    def _inbound(self, space: ConnectorSpace, obj: CSObject) -> list[str]:
        """Inbound synchronization of one connector-space object; returns the metaverse objects to
        run outbound synchronization for."""
        step = self._step
        assert step is not None
        affected: list[str] = []
        if obj.transient:
            return affected
        if obj.pending_import in (PI_DELETE, PI_DELETE_ADD):
            if obj.mv_id is not None:
                affected.extend(self._disconnect(space, obj))
            if obj.pending_import == PI_DELETE:
                self._remove_cs(space, obj)
                step.bump("deleted")
                return affected
        params = self.parameters_for(space.name, obj.dn)
        view = self._inbound_view(space, obj)
        in_scope = self._rules_in_scope(space, obj, view, params)
        names = {r.name for r in in_scope}
        if obj.mv_id is not None and obj.link_rule is not None:
            link_rule = self.cc.rules_by_name.get(obj.link_rule)
            if link_rule is not None and link_rule.rule.direction == "inbound" and obj.link_rule not in names:
                # Joins are sticky: only leaving the scope of the rule that made the link disconnects.
                affected.extend(self._disconnect(space, obj))
                step.bump("disconnectors")
        if obj.mv_id is None:
            self._join_or_project(space, obj, view, in_scope)
        if obj.mv_id is not None:
            mv = self.mv.objects[obj.mv_id]
            if self._recompute(mv) or mv.id in self.mv.objects:
                affected.append(mv.id)
        obj.pending_import = PI_NONE
        obj.changed = set()
        return affected

    def _join_or_project(self, space: ConnectorSpace, obj: CSObject, view: dict[str, Any], in_scope: list[CompiledRule]) -> None:
        step = self._step
        assert step is not None
        joiners = [r for r in in_scope if r.has_join]
        if len(joiners) > 1:
            names = ", ".join(repr(r.name) for r in joiners)
            self._error(obj, joiners[1].name, None, "multiple-join-rules", f"more than one rule with join criteria is in scope: {names}")
            return
        if not joiners:
            return
        rule = joiners[0]
        for group in rule.join:
            candidates: set[str] | None = None
            missing = False
            for clause in group:
                value = view.get(clause.cs_attribute)
                if value is None or value == []:
                    missing = True
                    break
                found = self.mv.find(clause.mv_attribute, value, clause.case_sensitive)
                candidates = found if candidates is None else candidates & found
                if not candidates:
                    break
            if missing or not candidates:
                continue
            if rule.rule.target_type != "*":
                candidates = {c for c in candidates if self.mv.objects[c].object_type == rule.rule.target_type}
            if len(candidates) != 1:
                continue
            mv = self.mv.objects[next(iter(candidates))]
            if space.name in mv.links and mv.links[space.name] != obj.guid:
                other = space.objects.get(mv.links[space.name])
                self._error(
                    obj,
                    rule.name,
                    None,
                    "ambiguous-join",
                    f"the metaverse object is already joined to {other.dn if other else 'another object'!r} in this connector space",
                )
                return
            self._link(space, obj, mv, rule.name)
            step.bump("joins")
            return
        if rule.link == "provision":
            has_value = any(
                view.get(c.cs_attribute) not in (None, []) for group in rule.join for c in group
            )
            if not has_value:
                return
            if rule.rule.target_type == "*":
                self._error(obj, rule.name, None, "cannot-project", "a rule that targets `*` can join but not project")
                return
            mv = self.mv.create(rule.rule.target_type)
            self._created.add(mv.id)
            self._link(space, obj, mv, rule.name)
            step.bump("projections")

    def _link(self, space: ConnectorSpace, obj: CSObject, mv: MVObject, rule: str) -> None:
        obj.mv_id = mv.id
        obj.link_rule = rule
        mv.links[space.name] = obj.guid
        # Objects whose references to this one could not be resolved can now be.
        for guid in self._cs_referrers[space.name].get(normalize_dn(obj.dn), ()):
            ref = space.objects.get(guid)
            if ref is not None and ref.mv_id is not None and ref.pending_import == PI_NONE:
                ref.pending_import = PI_UPDATE

    def _disconnect(self, space: ConnectorSpace, obj: CSObject) -> list[str]:
        mv = self.mv.objects.get(obj.mv_id or "")
        obj.mv_id = None
        obj.link_rule = None
        if mv is None:
            return []
        if mv.links.get(space.name) == obj.guid:
            del mv.links[space.name]
        if obj.provisioned_by is not None:
            # An export object must be joined: a disconnected one is deleted.
            self._stage_delete(space, obj)
        for guid in self._cs_referrers[space.name].get(normalize_dn(obj.dn), ()):
            ref = space.objects.get(guid)
            if ref is not None and ref.mv_id is not None and ref.pending_import == PI_NONE:
                ref.pending_import = PI_UPDATE
        if not self._held(mv):
            return self._delete_mv(mv)
        self._recompute(mv)
        return [mv.id]

    def _remove_cs(self, space: ConnectorSpace, obj: CSObject) -> None:
        space.remove(obj)
        for refs in self._cs_referrers[space.name].values():
            refs.discard(obj.guid)

    # -- metaverse lifetime ------------------------------------------------------------
    def _held(self, mv: MVObject) -> bool:
        """A metaverse object lives while a Provision or StickyJoin link holds it."""
        for connector, guid in mv.links.items():
            obj = self.spaces[connector].objects.get(guid)
            if obj is None or obj.link_rule is None:
                continue
            rule = self.cc.rules_by_name.get(obj.link_rule)
            if rule is not None and rule.rule.direction == "inbound" and rule.link in ("provision", "sticky-join"):
                return True
        return False

    def _delete_mv(self, mv: MVObject) -> list[str]:
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
                self._stage_delete(space, obj)
        mv.links.clear()
        referrers = sorted(self._mv_referrers.pop(mv.id, set()))
        self.mv.delete(mv)
        step.bump("metaverse-deletes")
        return [r for r in referrers if r in self.mv.objects]

    # -- inbound attribute flow ----------------------------------------------------------
    def _recompute(self, mv: MVObject) -> bool:
        """Recompute every attribute of ``mv`` from all its joined objects; True if anything changed.

        All flows are evaluated before anything is written, so an error leaves the object as it was.
        """
        contributions: dict[str, list[tuple[tuple[int, int, int], Any, Lineage, str]]] = {}
        created = mv.id in self._created
        failed = False
        new_refs: set[str] = set()
        for conn_index, connector in enumerate(self.cc.connector_order):
            guid = mv.links.get(connector)
            if guid is None:
                continue
            space = self.spaces[connector]
            obj = space.objects.get(guid)
            if obj is None:
                continue
            params = self.parameters_for(connector, obj.dn)
            view = self._inbound_view(space, obj)
            in_scope = self._rules_in_scope(space, obj, view, params)
            ctx = EvalContext(
                view,
                params,
                imported=obj.attrs,
                now=self.options.now,
                seed=self.options.seed,
                object_id=obj.guid,
            )
            for rule in in_scope:
                target_type = rule.rule.target_type
                if target_type != "*" and target_type != mv.object_type:
                    continue
                key = (rule.rule.precedence, rule.order, conn_index)
                lineage = Lineage(rule.name, connector, obj.dn, rule.rule.precedence)
                for flow in rule.flows:
                    if flow.once:
                        if created and flow.target not in mv.once:
                            value = self._eval(flow, ctx, obj, rule)
                            if value is _FAILED:
                                failed = True
                                continue
                            if flow.is_reference:
                                value = self._refs_in(space, value, new_refs)
                            mv.once[flow.target] = (value, lineage)
                        stored = mv.once.get(flow.target)
                        if stored is None:
                            continue
                        contributions.setdefault(flow.target, []).append((key, stored[0], stored[1], flow.merge))
                        continue
                    value = self._eval(flow, ctx, obj, rule)
                    if value is _FAILED:
                        failed = True
                        continue
                    if flow.is_reference:
                        value = self._refs_in(space, value, new_refs)
                    contributions.setdefault(flow.target, []).append((key, value, lineage, flow.merge))
        if failed:
            return False
        changed = False
        targets = set(contributions) | set(mv.attrs)
        for target in sorted(targets):
            entries = contributions.get(target)
            if not entries:
                value, lineage, keep = None, None, False
            else:
                entries.sort(key=lambda e: e[0])
                value, lineage, keep = _resolve(entries)
            if keep:
                continue
            if not _same(mv.attrs.get(target), value):
                self.mv.set_attr(mv, target, value)
                changed = True
            if value is None:
                mv.lineage.pop(target, None)
            elif lineage is not None:
                mv.lineage[target] = lineage
        self._update_mv_referrers(mv, new_refs)
        return changed

    def _eval(self, flow: CompiledFlow, ctx: EvalContext, obj: CSObject | MVObject, rule: CompiledRule) -> Any:
        try:
            return flow.fn(ctx)
        except EvalError as exc:
            self._error(obj, rule.name, flow.target, exc.code, exc.message, getattr(exc, "span", None) or flow.origin)
            return _FAILED

    def _refs_in(self, space: ConnectorSpace, value: Any, new_refs: set[str]) -> Any:
        """Connector-space references (DNs) → metaverse references (ids); unresolvable ones drop."""
        if value is None or value is AUTHORITATIVE_NULL or value is IGNORE_THIS_FLOW:
            return value
        out = []
        for dn in values_of(value):
            target = space.get_by_dn(str(dn))
            if target is not None and target.mv_id is not None:
                out.append(Ref(target.mv_id))
                new_refs.add(target.mv_id)
        if isinstance(value, list):
            return out or None
        return out[0] if out else None

    def _update_mv_referrers(self, mv: MVObject, refs: set[str]) -> None:
        for target in refs:
            self._mv_referrers.setdefault(target, set()).add(mv.id)

    # -- outbound --------------------------------------------------------------------
    def _outbound(self, mv: MVObject) -> list[str]:
        """Provisioning, deprovisioning and export attribute flow for one metaverse object.
        Returns metaverse objects whose held-back references may now resolve."""
        ready: list[str] = []
        for connector in self.cc.connector_order:
            rules = self.cc.outbound.get((connector, mv.object_type))
            if not rules:
                continue
            space = self.spaces[connector]
            params = self._connector_params.get(connector, {})
            in_scope = [r for r in rules if r.scope.matches(mv.attrs, "", params, _no_member)]
            guid = mv.links.get(connector)
            obj = space.objects.get(guid) if guid else None
            if obj is None:
                provisioners = [r for r in in_scope if r.link == "provision"]
                if provisioners:
                    if self._provision(mv, space, provisioners[0], in_scope, params):
                        ready.extend(sorted(self._mv_referrers.get(mv.id, ())))
                else:
                    self._outbound_join(mv, space, in_scope)
                continue
            provisioners = [r for r in in_scope if r.link == "provision" and r.rule.target_type == obj.object_type]
            if provisioners and obj.provisioned_by is None:
                obj.provisioned_by = provisioners[0].name  # now "considered in scope": may be deprovisioned
            if obj.provisioned_by is not None and not provisioners:
                self._deprovision(mv, space, obj)
                continue
            self._export_flow(mv, space, obj, in_scope, params)
        mv.retry_provisioning = False
        return ready

    def _desired(
        self, mv: MVObject, space: ConnectorSpace, object_type: str, in_scope: list[CompiledRule], params: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any], bool] | None:
        """Export flow values by precedence: (values, held references, join-no-flow), or None on error."""
        ctx = EvalContext(mv.attrs, params, now=self.options.now, seed=self.options.seed, object_id=mv.id)
        contributions: dict[str, list[tuple[tuple[int, int, int], Any, Lineage, str]]] = {}
        held: dict[str, Any] = {}
        no_flow = False
        failed = False
        for rule in in_scope:
            if rule.rule.target_type != object_type:
                continue
            if rule.link == "join-no-flow":
                no_flow = True
            key = (rule.rule.precedence, rule.order, 0)
            lineage = Lineage(rule.name, "metaverse", mv.id, rule.rule.precedence)
            for flow in rule.flows:
                if flow.once and mv.links.get(space.name) is not None:
                    continue  # apply-once outbound flows only fill the object being provisioned
                value = self._eval(flow, ctx, mv, rule)
                if value is _FAILED:
                    failed = True
                    continue
                if flow.is_reference:
                    value, waiting = self._refs_out(space, value)
                    if waiting:
                        held[flow.target] = waiting
                contributions.setdefault(flow.target, []).append((key, value, lineage, flow.merge))
        if failed:
            return None
        values: dict[str, Any] = {}
        for target, entries in contributions.items():
            entries.sort(key=lambda e: e[0])
            value, _, keep = _resolve(entries)
            if keep:
                continue
            values[target] = value
        return values, held, no_flow

    def _refs_out(self, space: ConnectorSpace, value: Any) -> tuple[Any, list[str]]:
        """Metaverse references → DNs in ``space``; references not yet provisioned there wait."""
        if value is None or value is AUTHORITATIVE_NULL or value is IGNORE_THIS_FLOW:
            return value, []
        out: list[Any] = []
        waiting: list[str] = []
        for mv_id in values_of(value):
            target = self.mv.objects.get(str(mv_id))
            guid = target.links.get(space.name) if target else None
            obj = space.objects.get(guid) if guid else None
            if obj is not None:
                out.append(Ref(obj.dn))
            elif target is not None:
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
        desired = self._desired(mv, space, object_type, in_scope, params)
        if desired is None:
            return False
        values, held, no_flow = desired
        if no_flow:
            return False  # JoinNoFlow never adds
        dn = values.pop("dn", None)
        if dn is None or dn == "":
            self._error(mv, rule.name, "dn", "missing-dn", f"provisioning to {space.name!r} needs a `dn` flow with a value")
            return False
        dn = str(dn)
        existing = space.get_by_dn(dn)
        if existing is not None and not existing.placeholder:
            if existing.mv_id is None and not existing.transient:
                # Reverse join on DN before creating anything.
                existing.mv_id = mv.id
                existing.link_rule = rule.name
                existing.provisioned_by = rule.name
                mv.links[space.name] = existing.guid
                step.bump("joins")
                self._export_flow(mv, space, existing, in_scope, params)
                return True
            self._error(mv, rule.name, "dn", "dn-in-use", f"{dn!r} is already used by another object in {space.name!r}")
            return False
        types = self.cc.cs_types.get((space.name, object_type), {})
        missing = [a.name for a in types.values() if a.required and values.get(a.name) in (None, [], "")]
        if missing:
            self._error(
                mv,
                rule.name,
                missing[0],
                "missing-required-attribute",
                f"cannot provision a {object_type} to {space.name!r} without {', '.join(missing)}",
            )
            return False
        if existing is not None:  # a placeholder stood for this DN: the export object replaces it
            self._remove_cs(space, existing)
        obj = CSObject(space.new_guid(), space.name, dn, object_type)
        space.add(obj)
        obj.mv_id = mv.id
        obj.link_rule = rule.name
        obj.provisioned_by = rule.name
        mv.links[space.name] = obj.guid
        changes = {k: (None, v) for k, v in sorted(values.items()) if v not in (None, [])}
        obj.pending_export = PendingExport(PE_ADD, dn, None, changes, dict(held))
        step.bump("provisioned")
        return True

    def _outbound_join(self, mv: MVObject, space: ConnectorSpace, in_scope: list[CompiledRule]) -> None:
        """Outbound join rules link the metaverse object to an existing disjoined object."""
        for rule in in_scope:
            if not rule.has_join:
                continue
            for group in rule.join:
                candidates: set[str] | None = None
                for clause in group:
                    value = mv.attrs.get(clause.mv_attribute)
                    if value is None:
                        candidates = set()
                        break
                    found = space.find(clause.cs_attribute, value, clause.case_sensitive)
                    candidates = found if candidates is None else candidates & found
                candidates = {
                    c for c in (candidates or set()) if space.objects[c].mv_id is None and space.objects[c].object_type == rule.rule.target_type
                }
                if len(candidates) == 1:
                    obj = space.objects[next(iter(candidates))]
                    obj.mv_id = mv.id
                    obj.link_rule = rule.name
                    mv.links[space.name] = obj.guid
                    self._step.bump("joins")  # type: ignore[union-attr]
                    return

    def _deprovision(self, mv: MVObject, space: ConnectorSpace, obj: CSObject) -> None:
        mv.links.pop(space.name, None)
        obj.mv_id = None
        obj.link_rule = None
        self._stage_delete(space, obj)
        self._step.bump("deprovisioned")  # type: ignore[union-attr]

    def _stage_delete(self, space: ConnectorSpace, obj: CSObject) -> None:
        pe = obj.pending_export
        if pe is not None and pe.operation == PE_ADD and obj.anchor is None:
            # Never exported: nothing to delete in the directory.
            self._remove_cs(space, obj)
            return
        obj.pending_export = PendingExport(PE_DELETE, obj.dn)
        obj.provisioned_by = None

    def _export_flow(self, mv: MVObject, space: ConnectorSpace, obj: CSObject, in_scope: list[CompiledRule], params: dict[str, Any]) -> None:
        if obj.object_type is None:
            return
        rules = [r for r in in_scope if r.rule.target_type == obj.object_type]
        if not rules:
            return
        desired = self._desired(mv, space, obj.object_type, rules, params)
        if desired is None:
            return
        values, held, no_flow = desired
        new_dn = values.pop("dn", None)
        pe = obj.pending_export
        if pe is not None and pe.operation == PE_DELETE:
            return
        if pe is not None and pe.operation == PE_ADD and obj.anchor is None:
            # Not exported yet: the add simply carries the latest values.
            pe.changes = {k: (None, v) for k, v in sorted(values.items()) if v not in (None, [])}
            pe.held = dict(held)
            if new_dn and str(new_dn) != obj.dn:
                space.rename(obj, str(new_dn))
                pe.dn = obj.dn
            return
        types = self.cc.cs_types.get((space.name, obj.object_type), {})
        changes: dict[str, tuple[Any, Any]] = {}
        for name, value in sorted(values.items()):
            current = obj.attrs.get(name)
            if name in held and value is None:
                continue  # the referenced objects are not there yet: keep what is there
            if not _same(current, value):
                changes[name] = (current, value)
        if no_flow:
            changes = {k: v for k, v in changes.items() if k in types and types[k].type == "reference"}
        rename = str(new_dn) if new_dn and normalize_dn(str(new_dn)) != normalize_dn(obj.dn) and not no_flow else None
        if not changes and rename is None:
            obj.pending_export = None
            return
        operation = PE_RENAME if rename and not changes else (PE_UPDATE if not rename else PE_RENAME)
        obj.pending_export = PendingExport(operation, obj.dn, rename, changes, dict(held))

    # ================================================================== export
    def pending_deletes(self, connector: str) -> int:
        return sum(1 for o in self.spaces[connector] if o.pending_export is not None and o.pending_export.operation == PE_DELETE)

    def _export(self, connector: str, allow_deletes: int | None = None) -> None:
        step = self._step
        assert step is not None
        if self.options.staging:
            step.status = STOPPED_STAGING
            return
        directory = self.directories.get(connector)
        if directory is None:
            raise KeyError(f"connector {connector!r} has no directory to export to")
        space = self.spaces[connector]
        pending = sorted((o for o in space if o.pending_export is not None), key=lambda o: (normalize_dn(o.dn), o.guid))
        deletes = sum(1 for o in pending if o.pending_export.operation == PE_DELETE)  # type: ignore[union-attr]
        threshold = self.options.deletion_threshold
        if threshold is not None and deletes > threshold:
            step.status = STOPPED_DELETION_THRESHOLD
            step.counts["pending-deletes"] = deletes
            return
        for obj in pending:
            pe = obj.pending_export
            assert pe is not None
            op = ExportOperation(
                pe.operation,
                pe.dn,
                obj.object_type,
                {k: new for k, (_, new) in pe.changes.items()},
                pe.new_dn,
            )
            try:
                directory.apply(op)
            except ExportRejected as exc:
                self._error(obj, obj.provisioned_by, None, "export-rejected", str(exc))
                continue
            step.bump(pe.operation + "s")
            if pe.operation == PE_DELETE:
                obj.pending_export = None
                obj.deleted = True
                continue
            for name, new in op.changes.items():
                obj.export_memory[name] = new
            if pe.new_dn:
                space.rename(obj, pe.new_dn)
            obj.pending_export = None
            if pe.held:
                # Some references were waiting for objects not yet in this directory.
                obj.pending_export = None

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


def _no_member(_dn: str) -> bool:
    return False


def _same(a: Any, b: Any) -> bool:
    """Value equality as a directory sees it: multi-valued order does not matter."""
    if a is None or a == []:
        return b is None or b == []
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return False
        try:
            return sorted(a, key=repr) == sorted(b, key=repr)
        except TypeError:  # pragma: no cover
            return a == b
    if isinstance(a, bool) != isinstance(b, bool):
        return False  # True is not 1 in a directory
    return bool(a == b)


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    return repr(value)


def _resolve(entries: list[tuple[tuple[int, int, int], Any, Lineage, str]]) -> tuple[Any, Lineage | None, bool]:
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
            for v in values_of(value):
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
