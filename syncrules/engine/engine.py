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
import os
import pickle
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from operator import itemgetter
from typing import Any

from syncrules.engine.compiled import CompiledConfig, CompiledFlow, CompiledRule, compile_config
from syncrules.engine.directory import (
    ChangeRecord,
    ConnectedDirectory,
    ExportOperation,
    ExportRejected,
    ImportRecord,
)
from syncrules.engine.helper import Helper, scopes_digest
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
from syncrules.engine.plans import InboundPlan, OutboundPlan, ScopeSet, rule_reads
from syncrules.engine.scope import no_member
from syncrules.engine.spaces import ConnectorSpace, Metaverse, normalize_dn, values_of
from syncrules.evaluate import EvalContext
from syncrules.ir import nodes as ir
from syncrules.runtime.values import AUTHORITATIVE_NULL, IGNORE_THIS_FLOW, EvalError, Ref, _Special

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

# The parameters of a connector without any: one shared dict, so per-parameter-set caches see
# one parameter set rather than a new one per call.
_NO_PARAMS: dict[str, Any] = {}

# Inbound plans of fewer flows than this are computed by the engine even with a helper process
# (see Engine._helped_types).
_HELPER_MIN_FLOWS = 40


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
    # After each step, move everything alive into the cyclic collector's permanent generation
    # (gc.freeze). The engine's state is long-lived and holds no reference cycles, yet after a
    # large step the collector would traverse all of it again, generation after generation
    # (about 8% of a full synchronization of 20,000 objects). gc.freeze is process-wide, so this
    # is for processes that exist to run the engine: `syncrules run` turns it on; a library
    # caller keeps the default and its own collector policy. Each step first collects the
    # garbage made since the previous one, so nothing collectable is frozen.
    freeze_state: bool = False
    # With a number: the engine starts a helper process (see syncrules.engine.helper) that runs
    # inbound plans on another core for synchronization steps of at least that many objects.
    # The results are the same either way. For processes that exist to run large previews
    # (`syncrules run` sets it when the fixtures are large): the helper costs a process start.
    helper_min: int | None = None
    # Tests: every object the helper can take is sent to it, and the engine waits for each result
    # (normally it sends only objects of large plans and computes what has not come back yet).
    helper_wait: bool = False


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
        # Reuse of results computed earlier (kept scopes and contributions, partial recompute,
        # skipped export flows). Off, everything is computed from scratch, which the tests use
        # to check that reuse never changes an outcome (SYNCRULES_ENGINE_REUSE=0 turns it off).
        self._reuse = os.environ.get("SYNCRULES_ENGINE_REUSE", "1") != "0"
        self.history: list[StepResult] = []
        self._helper: Helper | None = None
        self._helper_epoch: object | None = None
        if self.options.helper_min is not None and self._reuse:
            self._start_helper()

    def close(self) -> None:
        """End the helper process, if there is one (the engine goes on without it)."""
        if self._helper is not None:
            self._helper.close()
            self._helper = None

    def _start_helper(self) -> None:
        """A helper process for the current rules and clock (see :mod:`syncrules.engine.helper`)."""
        self.close()
        setup = pickle.dumps((self.cc.config, replace(self.options, helper_min=None), self._param_overrides), pickle.HIGHEST_PROTOCOL)
        self._helper = Helper(setup, scopes_digest(self._in_scopes), wait=self.options.helper_wait)
        self._helper_epoch = self._epoch

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
        self._prepare_plans()

    def _prepare_plans(self) -> None:
        """Scope sets per rule list, empty plan caches, and which outbound connectors read which
        metaverse attributes. A new epoch makes every cached scope, contribution and outbound
        result of the previous rules stale (they are compared by identity with it)."""
        self._epoch = object()
        self._clock = (self.options.now, self.options.seed)
        self._in_scopes = {key: ScopeSet(rules) for key, rules in self.cc.inbound.items()}
        # (connector, object type) whose inbound plans are worth a helper process's time: sending
        # an object and taking its result back costs about what ~40 flows do (tests that wait for
        # the helper send it everything it can take).
        least = 0 if self.options.helper_wait else _HELPER_MIN_FLOWS
        self._helped_types = frozenset(
            key for key, scopes in self._in_scopes.items() if not scopes.dynamic and sum(len(r.flows) for r in scopes.rules) >= least
        )
        self._out_scopes = {key: ScopeSet(rules) for key, rules in self.cc.outbound.items()}
        # Plans and typed rule lists are keyed on the identity of the rule lists a ScopeSet
        # returns (one per combination); ``_keep`` holds those lists so the ids stay theirs.
        self._in_plans: dict[tuple[Any, ...], InboundPlan] = {}
        self._out_plans: dict[tuple[Any, ...], tuple[list[CompiledRule], OutboundPlan]] = {}
        self._typed_lists: dict[tuple[Any, ...], list[CompiledRule]] = {}
        self._out_joins: dict[int, tuple[list[CompiledRule], Any]] = {}
        self._keep: list[list[CompiledRule]] = []
        self._required_attrs: dict[tuple[str, str], tuple[str, ...]] = {}
        # (metaverse type, attribute) → connectors whose outbound rules read it; a connector with
        # a rule whose reads are unknown reads every attribute.
        self._out_readers: dict[tuple[str, str], tuple[str, ...]] = {}
        self._out_reads_all: dict[str, tuple[str, ...]] = {}
        readers: dict[tuple[str, str], list[str]] = {}
        for (connector, mv_type), rules in self.cc.outbound.items():
            reads: set[str] = set()
            for rule in rules:
                found = rule_reads(rule)
                if found is None:
                    self._out_reads_all[mv_type] = (*self._out_reads_all.get(mv_type, ()), connector)
                    break
                reads |= found
            else:
                for attribute in reads:
                    readers.setdefault((mv_type, attribute), []).append(connector)
        self._out_readers = {key: tuple(value) for key, value in readers.items()}
        # Precedence numbers follow the rule order (compilers produce them so): then a joined
        # object's contributions are in precedence order as they come, which _recompute's
        # partial recomputation relies on.
        numbers = [r.rule.precedence for r in self.cc.rules_by_name.values() if r.rule.direction == "inbound"]
        orders = [r.order for r in self.cc.rules_by_name.values() if r.rule.direction == "inbound"]
        ranked = [n for _, n in sorted(zip(orders, numbers, strict=True))]
        self._ordered_keys = all(a <= b for a, b in zip(ranked, ranked[1:], strict=False))

    def rebuild_derived_state(self) -> None:
        """Recompute the bookkeeping derived from the objects themselves: pending and transient
        sets, reference indexes, held-back references and retries. Used after loading saved state,
        which stores only the objects (derived data is never the source of truth)."""
        for name, space in self.spaces.items():
            for o in space:
                o.memo = None
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
            mv.memo = None
            mv.inputs = None
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
        return self._connector_params.get(connector, _NO_PARAMS)

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
        # A step allocates many long-lived objects and no reference cycles; the cyclic collector
        # would rescan the whole (growing) state again and again, which makes large full steps
        # superlinear. It is paused for the step (before its first allocation, which could set
        # off a collection of everything the previous step allocated) and restored after.
        collecting = gc.isenabled()
        if self.options.freeze_state:
            # Garbage the caller made since the last step is collected before it is frozen with
            # the state (the frozen state itself is not traversed: this costs what the caller
            # allocated). The engine's steps make no cyclic garbage (tested).
            gc.collect()
        gc.disable()
        step = StepResult(connector, profile)
        self._step = step
        self._created = set()
        if (self.options.now, self.options.seed) != self._clock:
            # Expressions see the clock and the seed: what was computed with others is stale.
            self._clock = (self.options.now, self.options.seed)
            self._epoch = object()
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
            if self.options.freeze_state:
                gc.freeze()
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
                obj.changed = tuple(attrs)
                step.bump("adds")
                self._note_references(space, obj)
                return obj
        if obj.transient:
            obj.transient = False
            space.transients.pop(obj.guid, None)
            space.touch(obj)
        if obj.deleted:
            obj.deleted = False  # still in the directory: a delete we exported did not take
            space.touch(obj)
        renamed = obj.dn != record.dn
        if renamed:
            self._rename_cs(space, obj, record.dn)
        if obj.object_type != record.object_type:
            # A different object type means different rules: a complete resynchronization.
            obj.object_type = record.object_type
            obj.export_memory.clear()
            space.touch(obj)
            self._replace_attrs(space, obj, attrs)
            obj.changed = tuple(attrs)
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
        space.touch(ph)
        space.set_anchor(ph, record.anchor)
        if ph.dn != record.dn:
            space.rename(ph, record.dn)
        self._replace_attrs(space, ph, attrs)
        space.mark(ph, PI_ADD)
        ph.changed = tuple(attrs)
        assert self._step is not None
        self._step.bump("adds")
        self._note_references(space, ph)
        return ph

    def _make_transient(self, space: ConnectorSpace, obj: CSObject) -> None:
        space.rename(obj, f"{{transient:{obj.guid}}}")
        obj.transient = True
        space.touch(obj)
        space.transients[obj.guid] = None
        assert self._step is not None
        self._step.bump("transients")

    def _confirm(self, space: ConnectorSpace, obj: CSObject, attrs: dict[str, Any], renamed: bool) -> None:
        """Apply imported values to a known object; check them against the export memory."""
        step = self._step
        assert step is not None
        current = obj.attrs
        # In a fixed order (the imported values', then the removed ones'): the values are set in
        # this order, and a set's order would differ between processes (string hashing).
        changed = [k for k, v in attrs.items() if not _same(v, current.get(k))]
        changed += [k for k, v in current.items() if k not in attrs and not _same(None, v)]
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
            space.touch(obj)
        if changed or renamed:
            for name in changed:
                space.set_attr(obj, name, attrs.get(name))
            if obj.pending_import in (PI_NONE, PI_DELETE):
                space.mark(obj, PI_UPDATE)
            obj.changed = tuple(dict.fromkeys(obj.changed + tuple(changed))) if obj.changed else tuple(changed)
            space.note(obj)
            step.bump("updates")
            if obj.object_type is not None and not set(changed).isdisjoint(self._ref_attrs.get((space.name, obj.object_type), ())):
                self._note_references(space, obj)
        pe = obj.pending_export
        if pe is not None and pe.operation == PE_ADD and obj.anchor is not None:
            obj.pending_export = None
            space.touch(obj)

    def _replace_attrs(self, space: ConnectorSpace, obj: CSObject, attrs: dict[str, Any]) -> None:
        """``attrs``: an import's values as :meth:`_typed` gives them (no empty values, a dict of
        its own), which a new object takes as they are."""
        if not obj.attrs:
            space.fill_attrs(obj, attrs, owned=True)
            return
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
        attrs = obj.attrs
        for name in self._ref_attrs.get((space.name, obj.object_type), ()):
            value = attrs.get(name)
            if value is None:
                continue  # (most reference attributes of most objects)
            for dn in value if value.__class__ is list else (value,):
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
                self.mv.note(mv)
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

    def _helper_for(self, space: ConnectorSpace, todo: list[CSObject]) -> Helper | None:
        """The helper for a step over ``todo``, if the step is large enough for it (one for the
        current rules and clock: it is started again when they change)."""
        least = self.options.helper_min
        if least is None or len(todo) < max(least, 1) or not self._reuse:
            return None
        if self._helper is None or self._helper_epoch is not self._epoch:
            self._start_helper()
        helper = self._helper
        if helper is None or not helper.ready():
            return None
        mv_objects = self.mv.objects

        def build(i: int) -> tuple[Any, ...]:
            obj = todo[i]
            overlaid = self._inbound_view(space, obj) if obj.export_memory or obj.pending_export is not None else None
            mv = mv_objects.get(obj.mv_id) if obj.mv_id is not None else None
            return (i, obj.version, obj.object_type, obj.guid, obj.dn, obj.attrs, overlaid, mv.object_type if mv is not None else None)

        helper.begin(space.name, build)
        return helper

    def _helpable(self, space: ConnectorSpace, obj: CSObject) -> bool:
        """Whether the step will compute ``obj``'s inbound plan, and it is worth sending to the
        helper."""
        if obj.pending_import in (PI_DELETE, PI_DELETE_ADD) or obj.transient or obj.deleted or obj.placeholder:
            return False
        if (space.name, obj.object_type or "") not in self._helped_types:
            return False
        memo = obj.memo
        return memo is None or memo[0] != obj.version or memo[1] is not self._epoch

    def inbound_for_helper(self, connector: str, request: tuple[Any, ...]) -> tuple[Any, ...] | None:
        """In the helper process: what :meth:`_inbound_links` and :meth:`_prime` would compute for
        the object of ``request`` (index, version, object type, id, DN, imported values, the view
        when it is not those values and the DN, type of the metaverse object it is linked to), as
        (version, scope mask, metaverse type, plan items, sole-writer count, plan shape, fills);
        the type, items and shape are None when there is no plan entry to keep. None: the engine
        computes the object itself (a scope that asks about group membership).

        An item that is one of the object's own imported values (what a direct flow gives) is
        sent as None, and ``fills`` pairs its position with the attribute's name: the engine
        puts its own value there, so the metaverse shares the value with the connector space as
        it does without a helper, instead of holding a copy (about 1 KB per user).

        The metaverse type of an object not linked yet is that of the one join rule in scope: the
        engine uses the items only if the object ends up linked to an object of that type.
        """
        _, version, object_type, guid, dn, attrs, view, mv_type = request
        scopes = self._in_scopes.get((connector, object_type or ""))
        if scopes is None or scopes.dynamic:
            return None
        plain = view is None
        if view is None:
            view = dict(attrs)
            view["dn"] = Ref(dn)
        params = self.parameters_for(connector, dn)
        in_scope = scopes.select(view, dn, params, no_member)
        mask = scopes.mask(in_scope)
        if mv_type is None:
            joiners = [r for r in in_scope if r.has_join]
            if len(joiners) == 1 and joiners[0].rule.target_type != "*":
                mv_type = joiners[0].rule.target_type
        if mv_type is None or not in_scope:
            return (version, mask, None, None, 0, None, ())
        plan = self._inbound_plan(connector, mv_type, in_scope)
        if plan.generic:
            return (version, mask, None, None, 0, None, ())
        items, solo_count, bad = self._run_plan(plan, view, params, attrs, guid, _ignore_failure)
        if bad:
            return (version, mask, None, None, 0, None, ())
        fills: list[Any] = []
        if plain:
            own = {id(value): name for name, value in attrs.items()}
            for j in range(1, len(items), 2):
                name = own.get(id(items[j]))
                if name is not None:
                    items[j] = None
                    fills.append(j)
                    fills.append(name)
        return (version, mask, mv_type, items, solo_count, plan.shape, tuple(fills))

    def _sync_objects(self, space: ConnectorSpace, todo: list[CSObject], fresh: dict[str, bool], outbound: dict[str, None]) -> None:
        step = self._step
        assert step is not None
        failed: set[str] = set()
        flows: list[CSObject] = []
        # With a helper process: objects whose plan it computes (id → index in todo). They are
        # sent during phase 1, and their results taken in phase 2, which gives the helper the
        # time of both phases (phase 1 alone is quicker than the plans).
        helper = self._helper_for(space, todo)
        helped: dict[str, int] = {}
        # Phase 1: disconnect, join, project.
        for i, obj in enumerate(todo):
            if obj.guid not in space.objects:
                continue
            deferred = False
            if helper is not None:
                if self._helpable(space, obj):
                    helper.defer(i)
                    helped[obj.guid] = i
                    deferred = True
                if not i % 64:
                    helper.tick()
            before = len(step.errors)
            for mv_id in self._inbound_links(space, obj, fresh, deferred):
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
                self._settle(space, obj)
                continue
            if helped and helper is not None:
                k = helped.pop(obj.guid, None)
                if k is not None and self._take_helped(space, obj, helper.take(k)):
                    helper.used += 1
            mv = self.mv.objects[obj.mv_id]
            before = len(step.errors)
            self._recompute(mv)
            if len(step.errors) > before:
                self._rollback(space, obj, fresh)
                continue
            fresh.pop(obj.guid, None)
            self._settle(space, obj)
            outbound[mv.id] = None

    @staticmethod
    def _settle(space: ConnectorSpace, obj: CSObject) -> None:
        """The object's pending import has been synchronized."""
        space.mark(obj, PI_NONE)
        if obj.changed:
            obj.changed = ()
            space.note(obj)

    def _rollback(self, space: ConnectorSpace, obj: CSObject, fresh: dict[str, bool]) -> None:
        """Undo a link made in this step for an object whose flows failed (it stays pending)."""
        if obj.guid not in fresh:
            return
        created = fresh.pop(obj.guid)
        mv = self.mv.objects.get(obj.mv_id or "")
        space.set_link(obj, None, None)
        if mv is None:
            return
        if mv.links.get(space.name) == obj.guid:
            del mv.links[space.name]
            self.mv.note(mv)
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
        if pe is None:
            pass
        elif pe.added is not None:
            view.update(pe.added)  # an add: new values only, never None
        elif pe.changes and pe.operation in (PE_UPDATE, PE_RENAME):
            # Overlay the staged values in one update, then drop the removed ones.
            staged = pe.new_values()
            view.update(staged)
            if None in staged.values():
                for name, new in staged.items():
                    if new is None:
                        del view[name]
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
        """The inbound rules in scope for ``obj`` (``view`` is its :meth:`_inbound_view`, ``params``
        its :meth:`parameters_for`), in precedence order. The answer is kept with the object
        until it changes (its version) or the rules do (the epoch), unless a scope asks about group
        membership, which depends on other objects. The returned list must not be modified."""
        scopes = self._in_scopes.get((space.name, obj.object_type or ""))
        if scopes is None:
            return []
        if not self._reuse:  # the reference: each rule's filter on its own
            member_of = self._member_of(space, obj)
            return [r for r in scopes.rules if r.scope.matches(view, obj.dn, params, member_of)]
        if scopes.dynamic:
            return scopes.select(view, obj.dn, params, self._member_of(space, obj))
        memo = obj.memo
        if memo is not None and memo[0] == obj.version and memo[1] is self._epoch:
            in_scope: list[CompiledRule] = memo[2]
            return in_scope
        in_scope = scopes.select(view, obj.dn, params, no_member)
        obj.memo = (obj.version, self._epoch, in_scope, None, None, (), ())
        return in_scope

    def _inbound_links(self, space: ConnectorSpace, obj: CSObject, fresh: dict[str, bool], helped: bool = False) -> list[str]:
        """Object-level inbound operations for one object; returns the metaverse objects whose
        outbound state this changed (disconnected or deleted ones). ``helped``: the helper process
        is computing the object's plan, which the attribute flow phase takes (or computes)."""
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
            if obj.provisioned_by is not None or obj.pending_export is not None:
                obj.provisioned_by = None
                obj.pending_export = None
                space.touch(obj)
        if obj.transient or obj.deleted:
            return affected
        memo = obj.memo
        if memo is not None and memo[0] == obj.version and memo[1] is self._epoch and self._reuse:
            # Scope (and perhaps contributions) kept from before: the view is needed only to join.
            in_scope: list[CompiledRule] = memo[2]
            view = None
            params = None
        else:
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
            if view is None:
                params = self.parameters_for(space.name, obj.dn)
                view = self._inbound_view(space, obj)
            self._join_or_project(space, obj, view, in_scope, fresh)
        if view is not None and obj.mv_id is not None and in_scope and self._reuse and not helped:
            self._prime(space, obj, view, params, in_scope)
        return affected

    def _take_helped(self, space: ConnectorSpace, obj: CSObject, result: tuple[Any, ...] | None) -> bool:
        """Keep the plan entry the helper computed for ``obj`` (what :meth:`_prime` would have
        kept), if the object is as it was sent, its scope is the one the engine found, and the
        entry is for the type of the metaverse object it is linked to, from a plan of the same
        shape. False: it is not, and :meth:`_recompute` computes the entry."""
        if result is None:
            return False
        version, mask, mv_type, items, solo_count, shape, fills = result
        memo = obj.memo
        if items is None or memo is None or memo[3] is not None or memo[0] != version or obj.version != version or memo[1] is not self._epoch:
            return False
        in_scope = memo[2]
        scopes = self._in_scopes.get((space.name, obj.object_type or ""))
        if scopes is None or scopes.combo(mask) is not in_scope:
            return False
        mv = self.mv.objects.get(obj.mv_id or "")
        if mv is None or mv.object_type != mv_type:
            return False
        plan = self._inbound_plan(space.name, mv_type, in_scope)
        if plan.shape != shape:
            return False  # the helper's plan is not this one: its items would mean something else
        if fills:
            attrs = obj.attrs
            pairs = iter(fills)
            for j, name in zip(pairs, pairs, strict=True):
                items[j] = attrs[name]  # the object's own value (see inbound_for_helper)
        obj.memo = self._entry(space, obj, version, in_scope, mv_type, plan, items, solo_count)
        return True

    def _prime(self, space: ConnectorSpace, obj: CSObject, view: dict[str, Any], params: Any, in_scope: list[CompiledRule]) -> None:
        """Compute a linked object's contributions while its view is at hand, and keep them with
        it (``obj.memo``, as :meth:`_recompute` does), so the attribute flow phase of the step
        does not build the view and run the scope again. Only what :meth:`_recompute` would keep:
        not for scopes that ask about group membership, generic plans or flows that fail (those
        run, and are reported, in the attribute flow phase as before). The entry is keyed on the
        object's version: anything that changes what its flows read before then discards it."""
        scopes = self._in_scopes.get((space.name, obj.object_type or ""))
        mv = self.mv.objects.get(obj.mv_id or "")
        if scopes is None or scopes.dynamic or mv is None:
            return
        plan = self._inbound_plan(space.name, mv.object_type, in_scope)
        if plan.generic:
            return
        entry = self._plan_entry(space, obj, view, params, in_scope, mv.object_type, plan, _ignore_failure)
        if entry is not None:
            obj.memo = entry

    def _plan_entry(
        self,
        space: ConnectorSpace,
        obj: CSObject,
        view: dict[str, Any],
        params: Any,
        in_scope: list[CompiledRule],
        mv_type: str,
        plan: InboundPlan,
        fail: Callable[[int, EvalError], None],
    ) -> tuple[Any, ...] | None:
        """Run an object's inbound plan: its contributions as kept in ``obj.memo`` (version,
        epoch, in-scope rules, metaverse type, plan, lineage per rule, items, how many of the
        items come first as sole writers), or None when a flow failed (``fail`` reports it, or
        not)."""
        items, solo_count, bad = self._run_plan(plan, view, params, obj.attrs, obj.guid, fail)
        if bad:
            return None
        return self._entry(space, obj, obj.version, in_scope, mv_type, plan, items, solo_count)

    def _run_plan(
        self, plan: InboundPlan, view: dict[str, Any], params: Any, imported: dict[str, Any], guid: str, fail: Callable[[int, EvalError], None]
    ) -> tuple[list[Any], int, bool]:
        """An object's inbound plan over its view: (items, sole-writer count, failed)."""
        ctx = EvalContext(view, params, imported=imported, now=self.options.now, seed=self.options.seed, object_id=guid)
        return plan.runner(params)(view.get, ctx, fail)

    def _entry(
        self, space: ConnectorSpace, obj: CSObject, version: int, in_scope: list[CompiledRule], mv_type: str, plan: InboundPlan, items: list[Any], solo_count: int
    ) -> tuple[Any, ...]:
        """What ``obj.memo`` keeps of a plan's run (see :meth:`_plan_entry`), with the lineage of
        each rule for this object."""
        connector, dn = space.name, obj.dn
        lineages = tuple([_new_lineage(Lineage, (name, connector, dn, precedence)) for name, precedence in plan.lineage_heads])
        return (version, self._epoch, in_scope, mv_type, plan, lineages, items, solo_count)

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
        """Join ``obj`` to ``mv`` through ``rule`` (inbound join or projection, outbound join or
        provisioning alike)."""
        space.set_link(obj, mv.id, rule)
        mv.links[space.name] = obj.guid
        self.mv.note(mv)
        # Objects whose references to this one could not be resolved can now be.
        referrers = self._cs_referrers[space.name]
        if referrers:
            for guid in referrers.get(normalize_dn(obj.dn), ()):
                self._touch(space, guid)

    def _disconnect(self, space: ConnectorSpace, obj: CSObject, stage_delete: bool = True) -> list[str]:
        mv = self.mv.objects.get(obj.mv_id or "")
        space.set_link(obj, None, None)
        if mv is None:
            return []
        if mv.links.get(space.name) == obj.guid:
            del mv.links[space.name]
            self.mv.note(mv)
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
            in_scope = self._rules_in_scope(space, obj, view, params)
            if any(r in in_scope for r in holders):
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
            space.set_link(obj, None, None)
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
        params = self._connector_params.get(connector, _NO_PARAMS)
        return any(
            r.link == "join-no-flow" and r.rule.target_type == object_type and r.scope.matches(mv.attrs, "", params, no_member)
            for r in self.cc.outbound.get((connector, mv.object_type), ())
        )

    # -- inbound attribute flow ----------------------------------------------------------
    def _inbound_plan(self, connector: str, mv_type: str, in_scope: list[CompiledRule]) -> InboundPlan:
        """The plan of the in-scope rules (a list :class:`ScopeSet` returns, one object per
        combination of rules) that contribute to ``mv_type``."""
        key = (id(in_scope), mv_type)
        plan = self._in_plans.get(key)
        if plan is None:
            rules = [r for r in in_scope if r.rule.target_type == mv_type or r.rule.target_type == "*"]
            plan = self._in_plans[key] = InboundPlan(rules, self._connector_index[connector])
            self._keep.append(in_scope)
        return plan

    def _required(self, connector: str, object_type: str) -> tuple[str, ...]:
        """Attributes a provisioned object must have: the type's required ones except the
        connector's anchor attributes, which the directory assigns (on the confirming import)."""
        key = (connector, object_type)
        names = self._required_attrs.get(key)
        if names is None:
            types = self.cc.cs_types.get(key, {})
            anchors = self._anchors.get(connector, ())
            names = self._required_attrs[key] = tuple(a.name for a in types.values() if a.required and a.name not in anchors)
        return names

    def _typed_rules(self, in_scope: list[CompiledRule], object_type: str | None) -> list[CompiledRule]:
        """The in-scope outbound rules for one target object type, as one list object per
        combination (the key of :meth:`_outbound_plan`). Must not be modified."""
        if not self._reuse:
            return [r for r in in_scope if r.rule.target_type == object_type]
        key = (id(in_scope), object_type)
        typed = self._typed_lists.get(key)
        if typed is None:
            typed = self._typed_lists[key] = [r for r in in_scope if r.rule.target_type == object_type]
            self._keep.append(in_scope)
        return typed

    def _recompute(self, mv: MVObject) -> bool:
        """Recompute every attribute of ``mv`` from all its joined objects; True if anything changed.

        All flows are evaluated and resolved before anything is written, so an error (in any
        flow, or a mix of merge types) leaves the object as it was. This is the engine's hottest
        loop, so it avoids repeating work:

        * each joined object's contributions come from the plan of its in-scope rules (a
          generated function, see :mod:`syncrules.engine.plans`) and are kept with the object
          until it changes (``obj.memo``): a person recomputed by the Entra ID synchronization
          after the AD one reuses the AD contributions instead of evaluating ~200 flows again;
        * ``mv.inputs`` records the contributions the attributes were last computed from. When
          some joined objects are unchanged, only the attributes that a changed, added or removed
          object's rules write (and reference attributes, which depend on other objects' links)
          are resolved again: the others would resolve exactly as last time. This needs the
          rules' precedence numbers to follow their order (``_ordered_keys``; then an object's
          contributions are in precedence order whether or not they are sorted).

        References are kept as DNs and resolved on every use; a scope that asks about group
        membership is evaluated every time; rule sets with apply-once flows run the interpreted
        loop (:meth:`_contribute`) and are not kept.
        """
        failed = False
        mv_type = mv.object_type
        links = mv.links
        if len(links) > 1:
            ordered = sorted(links.items(), key=lambda kv: self._connector_index[kv[0]])
        else:
            ordered = list(links.items())
        scoped: list[list[CompiledRule]] = []
        epoch = self._epoch
        new_refs: set[str] = set()
        # Per joined object with rules in scope, in connector order: its memo tuple (version,
        # epoch, in_scope, mv_type, plan, lineages, items, solo count), or for the interpreted
        # loop the contributions it made.
        inputs: list[tuple[ConnectorSpace, str, Any]] = []
        interpreted = False
        for connector, guid in ordered:
            space = self.spaces[connector]
            obj = space.objects.get(guid)
            if obj is None:
                continue
            memo = obj.memo
            if memo is not None and memo[3] == mv_type and memo[0] == obj.version and memo[1] is epoch and self._reuse:
                scoped.append(memo[2])
                inputs.append((space, guid, memo))
                continue
            params = self.parameters_for(connector, obj.dn)
            view = self._inbound_view(space, obj)
            in_scope = self._rules_in_scope(space, obj, view, params)
            if not in_scope:
                continue
            scoped.append(in_scope)
            if not self._reuse:  # the reference: the interpreted loop, nothing kept
                rules = [r for r in in_scope if r.rule.target_type == mv_type or r.rule.target_type == "*"]
                part: dict[str, list[_Contribution]] = {}
                if not self._contribute(mv, space, obj, view, params, rules, part, new_refs):
                    failed = True
                inputs.append((space, guid, part))
                interpreted = True
                continue
            plan = self._inbound_plan(connector, mv_type, in_scope)
            if plan.generic:
                part = {}
                if not self._contribute(mv, space, obj, view, params, plan.rules, part, new_refs):
                    failed = True
                inputs.append((space, guid, part))
                interpreted = True
                continue
            flows = plan.flows

            def fail(k: int, exc: EvalError, obj: CSObject = obj, flows: tuple[Any, ...] = flows) -> None:
                rule, flow = flows[k]
                self._flow_error(obj, rule, flow, exc)

            entry = self._plan_entry(space, obj, view, params, in_scope, mv_type, plan, fail)
            if entry is None:
                failed = True
                continue
            if not self._in_scopes[(connector, obj.object_type or "")].dynamic:
                obj.memo = entry
            inputs.append((space, guid, entry))
        if failed:
            return False
        affected = None if interpreted or not self._ordered_keys or not self._reuse else self._affected(mv, inputs)
        if affected is not None and not affected:
            return False  # every contribution is the one the attributes were computed from
        contributions: dict[str, list[_Contribution]] = {}
        writes: list[tuple[str, Any, Lineage | None]] = []
        # With one object's plan as the only input, a slot that is the sole writer of its target
        # gives the attribute's value directly (see InboundPlan.solo).
        solo: tuple[bool, ...] | None = inputs[0][2][4].solo if len(inputs) == 1 and inputs[0][2].__class__ is tuple else None
        # A new metaverse object from one object's plan (every projection): its sole-writer values
        # go straight into the values and lineage it is filled with (see _fill_mv); the loop
        # below sees only the other contributions.
        filled: tuple[dict[str, Any], dict[str, Lineage]] | None = None
        rest: list[Any] = []
        if solo is not None and affected is None and not mv.attrs and not mv.lineage:
            f_values, f_lineage, rest = _fill_parts(inputs[0][2])
            filled = (f_values, f_lineage)
        for space, _, got in inputs:
            if got.__class__ is dict:
                for target, part_entries in got.items():
                    found = contributions.get(target)
                    if found is None:
                        contributions[target] = part_entries
                    else:
                        found.extend(part_entries)
                continue
            if affected is not None and got[4].targets.isdisjoint(affected):
                continue  # an unchanged object whose contributions are all as before
            slots = got[4].slots
            slot_targets = got[4].slot_targets
            lineages = got[5]
            pairs = iter(got[6] if filled is None else rest)
            for k, value in zip(pairs, pairs, strict=True):
                if affected is not None and slot_targets[k] not in affected:
                    continue  # (most of an unchanged object's contributions)
                target, key, ri, merge, is_ref, multi = slots[k]
                if solo is not None and solo[k] and value.__class__ is not _Special and value != []:
                    writes.append((target, value, lineages[ri]))
                    continue
                if is_ref:
                    value = self._refs_in(space, value, new_refs)
                    if value is None:
                        continue
                    if multi and value.__class__ is not list and value is not AUTHORITATIVE_NULL and value is not IGNORE_THIS_FLOW:
                        value = [value]
                found = contributions.get(target)
                if found is None:
                    contributions[target] = [(key, value, lineages[ri], merge)]
                else:
                    found.append((key, value, lineages[ri], merge))
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
        mv_lineage = mv.lineage
        if not attrs and not mv_lineage:
            # A new metaverse object (or one without values): everything is an addition.
            changed = self._fill_mv(mv, writes, filled)
        else:
            changed = self._write_mv(mv, writes, contributions, affected, solo is not None)
        for target_id in new_refs:
            self._mv_referrers.setdefault(target_id, set()).add(mv.id)
        mv.inputs = None if interpreted else (epoch, tuple((guid, entry, space.link_version) for space, guid, entry in inputs))
        return changed

    def _fill_mv(
        self,
        mv: MVObject,
        writes: list[tuple[str, Any, Lineage | None]],
        filled: tuple[dict[str, Any], dict[str, Lineage]] | None = None,
    ) -> bool:
        """Write the resolved values of a metaverse object that has none yet, in one step (what
        :meth:`_write_mv` does for it, without comparing with values that are not there).
        ``filled``: values and lineage already collected (they come before ``writes``)."""
        lineage = mv.lineage
        if filled is None:
            values: dict[str, Any] = {}
        else:
            values = filled[0]
            if lineage:
                lineage.update(filled[1])
            else:
                mv.lineage = lineage = filled[1]  # (a dict of its own: _fill_parts made it)
        for target, value, source in writes:
            if value is None:
                continue
            if value != [] and value != "":
                values[target] = value
            if source is not None:
                lineage[target] = source
        if values:
            self.mv.fill_attrs(mv, values)
            if mv.memo:
                for target in values:
                    self._outbound_stale(mv, target)
        elif lineage:
            self.mv.note(mv)
        return bool(values)

    def _write_mv(
        self,
        mv: MVObject,
        writes: list[tuple[str, Any, Lineage | None]],
        contributions: dict[str, list[_Contribution]],
        affected: set[str] | None,
        solo: bool,
    ) -> bool:
        """Write the resolved values (and their lineage) of a metaverse object; values no
        contribution supports any more are removed (of the ``affected`` ones, when only those
        were resolved). True if a value changed."""
        attrs = mv.attrs
        supported: Any = contributions.keys()
        if solo:
            supported = supported | {w[0] for w in writes}
        gone = attrs.keys() - supported if affected is None else (affected & attrs.keys()) - supported
        for target in gone:
            writes.append((target, None, None))
        changed = False
        mv_lineage = mv.lineage
        touched = False
        for target, value, lineage in writes:
            old = attrs.get(target)
            if old is not value and (old.__class__ is not value.__class__ or old != value) and not _same(old, value):
                self.mv.set_attr(mv, target, value)
                changed = True
                if mv.memo:
                    self._outbound_stale(mv, target)
            if value is None:
                if mv_lineage.pop(target, None) is not None:
                    touched = True
            elif lineage is not None:
                old_lineage = mv_lineage.get(target)
                if old_lineage is not lineage:
                    mv_lineage[target] = lineage
                    if old_lineage != lineage:
                        touched = True
        if touched:
            self.mv.note(mv)
        return changed

    def _affected(self, mv: MVObject, inputs: list[tuple[ConnectorSpace, str, Any]]) -> set[str] | None:
        """The attributes whose contributions may differ from those ``mv`` was last computed
        from (None: unknown, resolve everything): what the rules of changed, added and removed
        objects write, and every reference attribute."""
        old = mv.inputs
        if old is None or old[0] is not self._epoch:
            return None
        before = {guid: (entry, version) for guid, entry, version in old[1]}
        affected: set[str] = set()
        for space, guid, entry in inputs:
            plan = entry[4]
            previous = before.pop(guid, None)
            if previous is not None and previous[0] is entry:
                # Unchanged contributions; its references resolve as before unless a link or
                # name in its connector space changed since (ConnectorSpace.link_version).
                if plan.ref_targets and previous[1] != space.link_version:
                    affected |= plan.ref_targets
                continue
            affected |= plan.targets
            if previous is not None:
                affected |= previous[0][4].targets
        for gone, _ in before.values():
            affected |= gone[4].targets
        return affected

    def _outbound_stale(self, mv: MVObject, attribute: str) -> None:
        """A metaverse attribute changed: outbound results of the connectors that read it are no
        longer valid."""
        memo = mv.memo
        assert memo is not None
        for connector in self._out_readers.get((mv.object_type, attribute), ()):
            memo.pop(connector, None)
        for connector in self._out_reads_all.get(mv.object_type, ()):
            memo.pop(connector, None)

    def _contribute(
        self,
        mv: MVObject,
        space: ConnectorSpace,
        obj: CSObject,
        view: dict[str, Any],
        params: dict[str, Any],
        rules: Sequence[CompiledRule],
        contributions: dict[str, list[_Contribution]],
        new_refs: set[str],
    ) -> bool:
        """The interpreted flow loop over ``rules`` (the in-scope rules for the metaverse type):
        for rule sets with apply-once flows (whose values depend on the metaverse object, so they
        are not kept with the CS object), and the reference the plans are tested against.
        False if a flow failed."""
        ok = True
        created = mv.id in self._created
        connector = space.name
        conn_index = self._connector_index[connector]
        get = view.get
        ctx = EvalContext(view, params, imported=obj.attrs, now=self.options.now, seed=self.options.seed, object_id=obj.guid)
        for rule in rules:
            ir_rule = rule.rule
            key = (ir_rule.precedence, rule.order, conn_index)
            lineage = Lineage(rule.name, connector, obj.dn, ir_rule.precedence)
            for target, source, _fn, is_ref, multi, merge, once, flow in rule.plan:
                if once:
                    if created and target not in mv.once:
                        value = self._eval(flow, ctx, obj, rule)
                        if value is _FAILED:
                            ok = False
                            continue
                        if is_ref:
                            value = self._refs_in(space, value, new_refs)
                        mv.once[target] = (value, lineage)
                        self.mv.note(mv)
                    stored = mv.once.get(target)
                    if stored is None or stored[0] is None:
                        continue
                    contributions.setdefault(target, []).append((key, stored[0], stored[1], merge))
                    continue
                value = get(source) if source is not None else self._eval(flow, ctx, obj, rule)
                if value is _FAILED:
                    ok = False
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
        return ok

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
        Returns metaverse objects whose held-back references may now resolve.

        The export flow of a linked object is skipped when none of its inputs changed since it
        last ran: the metaverse attributes its rules read (a change drops the connector's entry in
        ``mv.memo``, see :meth:`_outbound_stale`), the rules (epoch), the target object (version,
        provisioning rule, link rule) and what the references it exported resolved to. Running it
        again would stage exactly what is staged already.
        """
        step = self._step
        assert step is not None
        ready: list[str] = []
        epoch = self._epoch
        for connector in self._outbound_connectors.get(mv.object_type, ()):
            space = self.spaces[connector]
            guid = mv.links.get(connector)
            obj = space.objects.get(guid) if guid else None
            if obj is not None and mv.memo is not None and self._reuse:
                hit = mv.memo.get(connector)
                if (
                    hit is not None
                    and hit[0] is epoch
                    and hit[1] == guid
                    and hit[2] == obj.version
                    and hit[3] == obj.provisioned_by
                    and hit[4] == obj.link_rule
                    and (not hit[5] or self._refs_unchanged(space, hit[5]))
                ):
                    # Held-back references wait for their objects, as the export flow would record.
                    for target_id in hit[6]:
                        self._waiting.setdefault((connector, target_id), set()).add(mv.id)
                    continue
            params = self._connector_params.get(connector, _NO_PARAMS)
            scopes = self._out_scopes[(connector, mv.object_type)]
            if self._reuse:
                in_scope = scopes.select(mv.attrs, "", params, no_member)
            else:
                in_scope = [r for r in scopes.rules if r.scope.matches(mv.attrs, "", params, no_member)]
            if obj is not None:
                typed = self._typed_rules(in_scope, obj.object_type)
                provisioners = [r for r in typed if r.link == "provision"]
                no_flow = any(r.link == "join-no-flow" for r in typed)
                if provisioners and obj.provisioned_by is None:
                    obj.provisioned_by = provisioners[0].name  # now "considered in scope": may be deprovisioned
                    space.note(obj)
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
                    self.mv.note(mv)
                    space.set_link(obj, None, None)
                    step.bump("disconnectors")
                    ready.extend(self._mv_referrers.get(mv.id, ()))
                else:
                    before = len(step.errors)
                    refs: list[Any] = []
                    waiting: list[str] = []
                    if self._export_flow(mv, space, obj, typed, params, no_flow, refs, waiting) and len(step.errors) == before and self._reuse:
                        self._remember_outbound(mv, connector, obj, refs, waiting)
                    continue
            # No object in this connector space (any more): join an existing one, or provision.
            if not in_scope:
                continue
            if self._outbound_join(mv, space, in_scope):
                ready.extend(self._waiting.pop((connector, mv.id), ()))
                obj = space.objects[mv.links[connector]]
                typed = self._typed_rules(in_scope, obj.object_type)
                if obj.provisioned_by is None and any(r.link == "provision" for r in typed):
                    obj.provisioned_by = next(r.name for r in typed if r.link == "provision")
                    space.note(obj)
                self._export_flow(mv, space, obj, typed, params, any(r.link == "join-no-flow" for r in typed))
                continue
            provisioner = next((r for r in in_scope if r.link == "provision"), None)
            if provisioner is not None and self._provision(mv, space, provisioner, in_scope, params):
                ready.extend(self._waiting.pop((connector, mv.id), ()))
        if mv.retry_provisioning:
            mv.retry_provisioning = False
            self.mv.note(mv)
        return ready

    def _remember_outbound(self, mv: MVObject, connector: str, obj: CSObject, refs: list[Any], waiting: list[str]) -> None:
        """Keep the inputs of an export flow that ran without errors (see :meth:`_outbound`)."""
        if mv.memo is None:
            mv.memo = {}
        mv.memo[connector] = (self._epoch, obj.guid, obj.version, obj.provisioned_by, obj.link_rule, tuple(refs), tuple(waiting))

    def _refs_unchanged(self, space: ConnectorSpace, refs: tuple[Any, ...]) -> bool:
        """Each metaverse reference still resolves in ``space`` as it did (``refs`` alternates a
        reference and its outcome, see :meth:`_refs_out`)."""
        objects = self.mv.objects
        name = space.name
        pairs = iter(refs)
        for mv_id, seen in zip(pairs, pairs, strict=True):
            target = objects.get(mv_id)
            if target is None:
                now: Any = None
            else:
                guid = target.links.get(name)
                obj = space.objects.get(guid) if guid else None
                now = obj.dn if obj is not None else False
            if now != seen:
                return False
        return True

    def _outbound_plan(self, connector: str, object_type: str, rules: list[CompiledRule], adding: bool) -> OutboundPlan:
        """The plan of export flows for ``rules`` (normally a list from :meth:`_typed_rules`, one
        object per combination; any other list gets a plan of its own)."""
        key = (id(rules), object_type, adding)
        hit = self._out_plans.get(key)
        if hit is not None and hit[0] is rules:
            return hit[1]
        plan = OutboundPlan(rules, object_type, adding)
        self._out_plans[key] = (rules, plan)
        return plan

    def _desired(
        self,
        mv: MVObject,
        space: ConnectorSpace,
        object_type: str,
        rules: list[CompiledRule],
        params: dict[str, Any],
        adding: bool,
        refs: list[Any] | None = None,
        waiting: list[str] | None = None,
    ) -> tuple[dict[str, Any], dict[str, Any], bool, dict[str, str], frozenset[str]] | None:
        """Export flow values by precedence: (values, held references, join-no-flow, merge types of
        the targets flowed with a merge type, implicit targets), or None on error. An implicit
        target absent from the values is NULL (see :class:`~syncrules.engine.plans.OutboundPlan`).

        Apply-once flows take part only while the object is being added (``adding``). Rules
        arrive in precedence order, so contributions never need sorting. A target whose flows all
        return NULL gets the value None (removed in the directory). The flows run as the plan of
        these rules (:class:`~syncrules.engine.plans.OutboundPlan`); targets that several flows
        write are resolved here. ``refs`` and ``waiting`` collect how references resolved and
        which referenced objects are waited for (the inputs :meth:`_outbound` remembers).
        """
        if not self._reuse:
            return self._desired_interpreted(mv, space, object_type, rules, params, adding)
        plan = self._outbound_plan(space.name, object_type, rules, adding)
        ctx = EvalContext(mv.attrs, params, now=self.options.now, seed=self.options.seed, object_id=mv.id) if plan.needs_ctx else None
        name = space.name
        # The default export rules flow one reference (a user's manager) in several rules: each
        # metaverse value is translated once per call (values are the metaverse object's own,
        # which nothing changes meanwhile; a list result is copied, being stored per target).
        done: dict[int, tuple[Any, Any, list[str]]] = {}

        def translate(value: Any) -> tuple[Any, list[str]]:
            hit = done.get(id(value))
            if hit is not None and hit[0] is value:
                out = hit[1]
                return (list(out) if out.__class__ is list else out), hit[2]
            out, held_ids = self._refs_out(space, value, refs)
            done[id(value)] = (value, out, held_ids)
            out = list(out) if out.__class__ is list else out
            if held_ids:
                for target_id in held_ids:
                    self._waiting.setdefault((name, target_id), set()).add(mv.id)
                if waiting is not None:
                    waiting.extend(held_ids)
            return out, held_ids

        def fail(k: int, exc: EvalError) -> None:
            rule, flow = plan.flows[k]
            self._flow_error(mv, rule, flow, exc)

        result = plan.run(mv.attrs.get, ctx, translate, fail, plan.absent_for(params))
        if result is None:
            return None
        values, held, contributions = result
        if contributions and not self._resolve_outbound(mv, name, object_type, values, contributions):
            return None
        return values, held, plan.no_flow, plan.merges, plan.implicit

    def _once_targets(self, connector: str, object_type: str, rules: list[CompiledRule]) -> Iterable[str]:
        """The targets of the rules' apply-once flows."""
        if self._reuse:
            return self._outbound_plan(connector, object_type, rules, False).once
        return {f.target for r in rules for f in r.flows if f.once}

    def _desired_interpreted(
        self,
        mv: MVObject,
        space: ConnectorSpace,
        object_type: str,
        rules: list[CompiledRule],
        params: dict[str, Any],
        adding: bool,
    ) -> tuple[dict[str, Any], dict[str, Any], bool, dict[str, str], frozenset[str]] | None:
        """:meth:`_desired` as an interpreted loop over the flows: the reference the generated
        plans are tested against (``_reuse`` off). No target is implicit."""
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
            for target, source, _fn, is_ref, multi, merge, once, flow in rule.plan:
                if once and not adding:
                    continue
                value = get(source) if source is not None else self._eval(flow, ctx, mv, rule)
                if value is _FAILED:
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
        if not self._resolve_outbound(mv, space.name, object_type, values, contributions):
            return None
        return values, held, no_flow, merges, frozenset()

    def _resolve_outbound(
        self, mv: MVObject, connector: str, object_type: str, values: dict[str, Any], contributions: dict[str, list[_Contribution]]
    ) -> bool:
        """Precedence resolution of the export flow targets that several flows (or a merge
        type) write, into ``values``; False on a mix of merge types."""
        failed = False
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
            elif (connector, object_type, target) in mixed and not self._one_merge_type(mv, target, entries):
                failed = True
                continue
            value, _, keep = _resolve(entries)
            if keep:
                if values.get(target, 0) is not None:
                    values.pop(target, None)
                continue
            values[target] = value
        return not failed

    def _refs_out(self, space: ConnectorSpace, value: Any, seen: list[Any] | None = None) -> tuple[Any, list[str]]:
        """Metaverse references → DNs in ``space``; references not yet provisioned there wait.
        ``seen`` collects each reference followed by what it resolved to (a DN, False while
        waiting, None for a metaverse object that is gone)."""
        if value is None or value is AUTHORITATIVE_NULL or value is IGNORE_THIS_FLOW:
            return value, []
        out: list[Any] = []
        waiting: list[str] = []
        objects = self.mv.objects
        name = space.name
        cs_objects = space.objects
        for ref in values_of(value):
            target = objects.get(ref)
            if target is None:
                if seen is not None:
                    seen += (ref, None)
                continue
            guid = target.links.get(name)
            obj = cs_objects.get(guid) if guid else None
            if obj is not None:
                out.append(Ref(obj.dn))
                if seen is not None:
                    seen += (ref, obj.dn)
            else:
                waiting.append(str(ref))
                if seen is not None:
                    seen += (ref, False)
        if isinstance(value, list):
            return (out or None), waiting
        return (out[0] if out else None), waiting

    def _provision(
        self, mv: MVObject, space: ConnectorSpace, rule: CompiledRule, in_scope: list[CompiledRule], params: dict[str, Any]
    ) -> bool:
        step = self._step
        assert step is not None
        object_type = rule.rule.target_type
        typed = self._typed_rules(in_scope, object_type)
        before = len(step.errors)
        refs: list[Any] = []
        waiting: list[str] = []
        desired = self._desired(mv, space, object_type, typed, params, adding=True, refs=refs, waiting=waiting)
        if desired is None:
            return False
        values, held, no_flow, _, _ = desired
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
                self._link(space, existing, mv, rule.name)
                existing.provisioned_by = rule.name
                space.note(existing)
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
        missing = [name for name in self._required(space.name, object_type) if values.get(name) in (None, [], "")]
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
        self._link(space, obj, mv, rule.name)
        obj.provisioned_by = rule.name
        obj.pending_export = PendingExport(PE_ADD, dn, None, None, dict(held), _added(values))
        space.touch(obj)
        step.bump("provisioned")
        if len(step.errors) == before and self._reuse and not self._outbound_plan(space.name, object_type, typed, True).once:
            # What the export flow of this object would stage next, unless something changes: the
            # add just staged (the same flows without apply-once ones, whose values the add keeps).
            self._remember_outbound(mv, space.name, obj, refs, waiting)
        return True

    def _outbound_join(self, mv: MVObject, space: ConnectorSpace, in_scope: list[CompiledRule]) -> bool:
        """Outbound join criteria link the metaverse object to an existing disjoined object.

        Several in-scope rules may carry join criteria only if the criteria are identical (the
        default configuration's outbound rules all join on sourceAnchor); otherwise it is an error.
        """
        step = self._step
        assert step is not None
        conflict, joins = self._out_join_rules(in_scope)
        if conflict:
            names = ", ".join(repr(r.name) for r in conflict)
            self._error(mv, conflict[1].name, None, E_MULTIPLE_JOIN_RULES, f"outbound rules with different join criteria are in scope: {names}")
            return False
        for object_type, rule in joins:
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
                    self._link(space, usable[0], mv, rule.name)
                    step.bump("joins")
                    return True
        return False

    def _out_join_rules(self, in_scope: list[CompiledRule]) -> tuple[list[CompiledRule] | None, tuple[tuple[str, CompiledRule], ...]]:
        """The outbound joins of a combination of rules in scope: (rules whose criteria conflict,
        or None; the joining rule per target object type). Rules for different object types of
        the target space are separate joins (the default rules join a person to an AD user,
        contact or inetOrgPerson by type); within one type the criteria must be the same.

        Kept per combination (the lists a ScopeSet returns, compared by identity): comparing the
        criteria hashes every clause, which cost more than the join lookups themselves."""
        hit = self._out_joins.get(id(in_scope)) if self._reuse else None
        if hit is not None and hit[0] is in_scope:
            return hit[1]
        by_type: dict[str, list[CompiledRule]] = {}
        for rule in in_scope:
            if rule.has_join:
                by_type.setdefault(rule.rule.target_type, []).append(rule)
        conflict = next((rules for rules in by_type.values() if len({r.join for r in rules}) > 1), None)
        result = (conflict, tuple((object_type, rules[0]) for object_type, rules in by_type.items()))
        if self._reuse:
            self._out_joins[id(in_scope)] = (in_scope, result)
        return result

    def _deprovision(self, mv: MVObject, space: ConnectorSpace, obj: CSObject) -> None:
        mv.links.pop(space.name, None)
        self.mv.note(mv)
        space.set_link(obj, None, None)
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
        space.touch(obj)

    def _export_flow(
        self,
        mv: MVObject,
        space: ConnectorSpace,
        obj: CSObject,
        rules: list[CompiledRule],
        params: dict[str, Any],
        no_flow: bool,
        refs: list[Any] | None = None,
        waiting: list[str] | None = None,
    ) -> bool:
        """Stage the export flow values of ``obj`` as its pending export. Returns False when the
        outcome depended on more than the inputs :meth:`_outbound` remembers (an add renamed to a
        DN that another object may hold or free) or a flow failed."""
        if obj.object_type is None or not rules:
            return True
        pe = obj.pending_export
        if pe is not None and pe.operation == PE_DELETE:
            return True
        adding = pe is not None and pe.operation == PE_ADD and obj.anchor is None
        # Apply-once flows were evaluated when the export object was created; they are not
        # evaluated again, even while the add is still waiting to be exported.
        desired = self._desired(mv, space, obj.object_type, rules, params, adding=False, refs=refs, waiting=waiting)
        if desired is None:
            return False
        values, held, flagged, merges, implicit = desired
        no_flow = no_flow or flagged
        new_dn = values.pop("dn", None)
        if not adding:
            # Merge types add to what the directory object has; they never remove its values.
            for name, merge in merges.items():
                values[name] = _union(obj.attrs.get(name), values.get(name), merge == "merge-case-insensitive")
        if adding:
            # Not exported yet: the add carries the latest values (and the apply-once ones).
            assert pe is not None
            staged_values = pe.new_values() if pe.added is None else pe.added
            for target in self._once_targets(space.name, obj.object_type, rules):
                if target in staged_values:
                    values[target] = staged_values[target]
            added = _added(values)
            if pe.added is None or not _identical(added, pe.added) or not _identical(held, pe.held):
                pe.changes = {}
                pe.added = added
                pe.held = dict(held)
                space.touch(obj)
            if new_dn and str(new_dn) != obj.dn:
                if space.get_by_dn(str(new_dn)) is None:
                    space.rename(obj, str(new_dn))
                    pe.dn = obj.dn
                return False
            return True
        changes: dict[str, tuple[Any, Any]] = {}
        current = obj.attrs
        for name, value in values.items():
            old = current.get(name)
            if old is value or (old.__class__ is value.__class__ and old == value):
                continue  # the common case, decided without a call: unchanged (or absent on both sides)
            if value is None and name in held:
                continue  # the referenced objects are not there yet: keep what is there
            if not _same(old, value):
                changes[name] = (old, value)
        for name in implicit.intersection(current).difference(values):
            old = current[name]
            if not _same(old, None):
                changes[name] = (old, None)  # no value flowed: removed in the directory
        if len(changes) > 1:
            changes = dict(sorted(changes.items()))
        if no_flow and changes:
            types = self.cc.cs_types.get((space.name, obj.object_type), {})
            changes = {k: v for k, v in changes.items() if k in types and types[k].type == "reference"}
        rename = None
        if new_dn and not no_flow and normalize_dn(str(new_dn)) != normalize_dn(obj.dn):
            rename = str(new_dn)
        if not changes and rename is None:
            if obj.pending_export is not None:
                obj.pending_export = None
                space.touch(obj)
            return True
        staged = PendingExport(PE_RENAME if rename else PE_UPDATE, obj.dn, rename, changes, dict(held))
        if not _identical_pe(obj.pending_export, staged):
            obj.pending_export = staged
            space.touch(obj)
        return True

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
        deletes = sum(1 for o in pending if o.pending_export.operation == PE_DELETE)  # type: ignore[union-attr,misc]
        threshold = self.options.deletion_threshold
        if threshold is not None and deletes > threshold:
            step.status = STOPPED_DELETION_THRESHOLD
            step.counts["pending-deletes"] = deletes
            return
        for obj in pending:
            pe = obj.pending_export
            assert pe is not None
            changes = pe.new_values()
            op = ExportOperation(pe.operation, pe.dn, obj.object_type, changes, pe.new_dn)
            try:
                directory.apply(op)
            except ExportRejected as exc:
                self._error(obj, obj.provisioned_by, None, E_EXPORT_REJECTED, str(exc))
                continue
            step.bump(pe.operation + "s")
            obj.pending_export = None
            space.touch(obj)
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


def _fill_parts(entry: tuple[Any, ...]) -> tuple[dict[str, Any], dict[str, Lineage], list[Any]]:
    """An object's contributions (a plan entry) as the values and lineage of a metaverse object
    whose only input it is, plus the contributions that need resolving (sentinels, empty lists,
    references, targets several of its flows write): the sole writers' values are the
    attributes' values (see InboundPlan.solo)."""
    plan = entry[4]
    slot_targets = plan.slot_targets
    slot_rules = plan.slot_rules
    lineages = entry[5]
    items = entry[6]
    end = 2 * entry[7]  # the plan puts those values first, and none is a sentinel (InboundPlan.runner)
    # No test per value, so the values themselves are not read here (at 100,000 users, reading
    # each value's type was a cache miss per value); the loops are the C ones of dict/zip/map.
    slots = items[0:end:2]
    targets = list(map(slot_targets.__getitem__, slots))
    f_values = dict(zip(targets, items[1:end:2], strict=True))
    f_lineage = dict(zip(targets, map(lineages.__getitem__, map(slot_rules.__getitem__, slots)), strict=True))
    return f_values, f_lineage, items[end:]


# Lineage(...) without the named tuple's own constructor (a Python function): one per rule for
# every object whose contributions are computed.
_new_lineage: Callable[..., Lineage] = tuple.__new__


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


# The sort key of a contribution (C-level: sorting is in the resolution loop of every
# metaverse object joined to several connectors).
_first: Callable[[_Contribution], tuple[int, int, int]] = itemgetter(0)


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


def _ignore_failure(_k: int, _exc: EvalError) -> None:
    """A flow failed while contributions were computed ahead (:meth:`Engine._prime`): nothing is
    kept, and the attribute flow phase evaluates and reports it."""


def _union(current: Any, added: Any, fold: bool) -> Any:
    """Current values plus added ones, without duplicates (ignoring case if ``fold``)."""
    # Nothing added (the usual case: a user's proxyAddresses written back before Entra ID has
    # contributed any): the current values, unless some of them repeat.
    if added is None and current.__class__ is list and current and len({v.lower() if fold and isinstance(v, str) else v for v in current}) == len(current):
        return list(current)
    out: list[Any] = []
    seen: set[Any] = set()
    for v in values_of(current) + values_of(added):
        key = v.lower() if fold and isinstance(v, str) else v
        if key not in seen:
            seen.add(key)
            out.append(v)
    return out or None


def _added(values: dict[str, Any]) -> dict[str, Any]:
    """The values of an add (:attr:`PendingExport.added`): every target with a value, by name."""
    return {k: v for k in sorted(values) if (v := values[k]) is not None and v != []}


def _identical(a: Any, b: Any) -> bool:
    """Equal and of the same types all the way down: deciding whether a staged export really
    changed (``True == 1`` and ``Ref("x") == "x"`` are equal in Python, not to a directory)."""
    if a.__class__ is not b.__class__:
        return False
    if a.__class__ is dict:
        if len(a) != len(b):
            return False
        return all(k in b and _identical(v, b[k]) for k, v in a.items())
    if a.__class__ is list or a.__class__ is tuple:
        return len(a) == len(b) and all(_identical(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _identical_pe(a: PendingExport | None, b: PendingExport) -> bool:
    return (
        a is not None
        and a.operation == b.operation
        and a.dn == b.dn
        and a.new_dn == b.new_dn
        and _identical(a.changes, b.changes)
        and _identical(a.held, b.held)
    )


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
