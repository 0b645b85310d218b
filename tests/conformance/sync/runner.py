"""Run an engine scenario written as YAML.

A scenario is a folder with ``scenario.yaml`` (and optionally ``rules.sync``)::

    description: why this scenario exists (which documented behaviour it pins down)
    rules: |            # .sync text (or omit and put rules.sync beside the file; its imports,
      ...               # usually `import "../_schema/schema.sync"`, are followed)
      ...
    compile_errors: [SR302]   # compiler errors the scenario deliberately keeps (default: none)
    directories:        # initial contents of each connector's simulated directory
      ad:
        - {dn: "CN=Ann,DC=contoso,DC=com", type: user, anchor: a1, attrs: {sAMAccountName: ann}}
    rewrite: {aad: {displayName: forced}}  # values a directory forces after every export
    options: {deletion_threshold: 500, staging: false, error_limit: 5000}
    forbid_metaverse_scan: true  # fail if a run step iterates over the whole metaverse
    steps:
      - run: initial                   # initial | delta | initial-export | delta-export
      - run: full-import@ad            # one run profile on one connector
      - change: ad                     # edit a directory between runs
        add: [{dn: ..., type: user, anchor: ..., attrs: {...}}]
        modify: [{dn: ..., attrs: {...}}]        # null removes an attribute
        delete: [dn, ...]
        rename: [{dn: ..., new_dn: ...}]
        retype: [{dn: ..., type: contact}]       # the object's type changes (same anchor)
        delayed: true                            # the next delta import does not see these yet
      - release: ad                    # delayed changes show up in the next delta import
      - reconfigure: rules-v2.sync     # switch to other rules, keeping the engine's state
      - expect: {...}                  # checked at that point (see below)

Expectations (every key optional):

* ``metaverse``: a list of objects ``{type, attrs, exact, links: {connector: dn | null}, lineage:
  {attr: rule | {rule, connector, dn, precedence}}}``; each must match exactly one metaverse
  object (attrs listed must be equal, others ignored unless ``exact: true``); ``metaverse_count``
  checks the total.
* ``connector_spaces``: ``{connector: [{dn | anchor, absent, state, anchor, object_type,
  pending_import, attrs, exact, pending_export: {operation, new_dn, exact, attributes: {attr:
  new}} | null, export_memory: {...}}]}``; an entry with ``anchor`` and no ``dn`` is looked up by
  anchor (transient objects have a temporary DN). ``<connector>_count`` counts the live staging
  objects (no placeholders, no exported deletes); ``placeholders: {connector: n}`` counts
  placeholders; ``pending_exports: {connector: n}`` counts staged exports.
* ``errors``: a list of ``{code, dn?, rule?, attribute?, message?, located?}`` that must all
  appear in the last run (``located: true``: the error points at a line of the .sync text);
  ``error_count``: their number; ``no_errors: true``.
* ``warnings``: like errors, for warnings; ``steps``: ``[{connector, profile, status, counts}]`` of
  the last run (``counts`` lists the step counters that must have those values).
* ``step_order``: ``["full-import@ad", ...]`` the run profiles of the last run, in order.
* ``directories``: ``{connector: [{dn, attrs, absent}]}`` what the simulated directory now holds;
  ``directory_counts: {connector: n}``.

After every run step the runner also checks the engine's invariants: no metaverse object without
a link, links agree in both directions, a connector-space object links to at most one metaverse
object, placeholders never link.

Values: strings, numbers, booleans, lists; ``{binary: base64}`` for bytes; ``{ref: dn}`` matches a
reference to the metaverse object linked to that DN (metaverse side) or a DN (connector side).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import yaml

from syncrules.compiler import compile_paths, compile_text
from syncrules.engine import Engine, EngineOptions, MemoryDirectory
from syncrules.engine.engine import StepResult
from syncrules.engine.model import MVObject, SyncError
from syncrules.engine.spaces import normalize_dn


def decode(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"binary"}:
        return base64.b64decode(value["binary"])
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


class Scenario:
    def __init__(self, folder: Path, reference: bool = False, helper: bool = False) -> None:
        self.folder = folder
        self.doc = yaml.safe_load((folder / "scenario.yaml").read_text(encoding="utf-8"))
        rules = self.doc.get("rules")
        if rules is None:
            # From the file, so its `import "../_schema/schema.sync"` is followed.
            result = compile_paths([folder / "rules.sync"])
        else:
            result = compile_text(rules, str(folder / "rules.sync"))
        allowed = set(self.doc.get("compile_errors") or [])
        errors = [f"{d.code} {d.message} {d.span}" for d in result.diagnostics if d.severity >= 3 and d.code not in allowed]
        assert not errors, errors
        if allowed:
            found = {d.code for d in result.diagnostics if d.severity >= 3}
            assert allowed <= found, f"expected compile errors {sorted(allowed - found)} were not reported"
        assert result.config is not None
        self.config = result.config
        self.directories = {c.name: MemoryDirectory(c.name) for c in self.config.connectors}
        for name, entries in (self.doc.get("directories") or {}).items():
            for e in entries or []:
                self.directories[name].add(e["dn"], e["type"], {k: decode(v) for k, v in (e.get("attrs") or {}).items()}, e.get("anchor"))
        for name, rewrite in (self.doc.get("rewrite") or {}).items():
            self.directories[name].rewrite = {k: decode(v) for k, v in rewrite.items()}
        opts = self.doc.get("options") or {}
        self.engine = Engine(
            self.config,
            dict(self.directories),
            EngineOptions(
                deletion_threshold=opts.get("deletion_threshold", 500),
                staging=bool(opts.get("staging", False)),
                error_limit=int(opts.get("error_limit", 5000)),
                # With a helper process, every step sends every object it can and waits for
                # the results (see syncrules.engine.helper): they must change nothing.
                helper_min=1 if helper else None,
                helper_wait=helper,
            ),
        )
        # The reference engine (every scope, flow and export computed by the interpreted loops, no
        # kept results) must pass every scenario too: the generated plans are checked against it.
        self.engine._reuse = not reference
        self.last: list[StepResult] = []
        self.delayed: dict[str, list[Any]] = {}
        if self.doc.get("forbid_metaverse_scan"):
            self.engine.mv.objects = _NoScanDict(self.engine.mv.objects)

    # ------------------------------------------------------------------ steps
    def run(self) -> None:
        try:
            self._steps()
        finally:
            helper = self.engine._helper
            self.used_helper = helper.used if helper is not None else 0
            self.engine.close()

    def _steps(self) -> None:
        for index, step in enumerate(self.doc.get("steps") or []):
            where = f"{self.folder.name} step {index + 1}"
            if "run" in step:
                self._run(step["run"], step.get("allow_deletes"))
                check_invariants(self.engine, where)
            elif "change" in step:
                self._change(step)
            elif "release" in step:
                d = self.directories[step["release"]]
                d._log.extend(self.delayed.pop(step["release"], []))
            elif "reconfigure" in step:
                result = compile_paths([self.folder / step["reconfigure"]])
                assert not result.has_errors, [d.message for d in result.diagnostics]
                assert result.config is not None
                self.engine.reconfigure(result.config)
            elif "expect" in step:
                self.check(step["expect"], where)
            else:
                raise AssertionError(f"{where}: unknown step {step}")

    def _run(self, what: str, allow_deletes: int | None) -> None:
        e = self.engine
        scan_guard = e.mv.objects if isinstance(e.mv.objects, _NoScanDict) else None
        if scan_guard is not None:
            scan_guard.armed = True
        try:
            self._run_steps(what, allow_deletes)
        finally:
            if scan_guard is not None:
                scan_guard.armed = False

    def _run_steps(self, what: str, allow_deletes: int | None) -> None:
        e = self.engine
        if what in ("initial", "delta"):
            self.last = e.run_cycle(what, export=False)
        elif what in ("initial-export", "delta-export"):
            self.last = e.run_cycle(what.split("-")[0], export=False)
            self.last += [e.export_step(c, allow_deletes) for c in e.cc.connector_order]
        elif "@" in what:
            profile, connector = what.split("@", 1)
            if profile == "export":
                self.last = [e.export_step(connector, allow_deletes)]
            else:
                self.last = [e.run_step(connector, profile)]
        else:
            raise AssertionError(f"unknown run {what!r}")

    def _change(self, step: dict[str, Any]) -> None:
        d = self.directories[step["change"]]
        logged = len(d._log)
        for e in step.get("add") or []:
            d.add(e["dn"], e["type"], {k: decode(v) for k, v in (e.get("attrs") or {}).items()}, e.get("anchor"))
        for e in step.get("modify") or []:
            d.modify(e["dn"], {k: decode(v) for k, v in (e.get("attrs") or {}).items()})
        for dn in step.get("delete") or []:
            d.delete(dn)
        for e in step.get("rename") or []:
            d.rename(e["dn"], e["new_dn"])
        for e in step.get("retype") or []:
            d.retype(e["dn"], e["type"])
        if step.get("delayed"):
            self.delayed.setdefault(step["change"], []).extend(d._log[logged:])
            del d._log[logged:]

    # ------------------------------------------------------------------ expectations
    def _mv_by_link(self, connector: str, dn: str) -> MVObject | None:
        obj = self.engine.spaces[connector].get_by_dn(dn)
        if obj is None or obj.mv_id is None:
            return None
        return self.engine.mv.objects.get(obj.mv_id)

    def _expected_value(self, value: Any, side: str, connector: str | None = None) -> Any:
        if isinstance(value, dict) and set(value) == {"ref"}:
            if side == "mv":
                # A metaverse reference to the object joined to that DN in any connector space.
                for name in self.engine.cc.connector_order:
                    mv = self._mv_by_link(name, value["ref"])
                    if mv is not None:
                        return mv.id
                return f"<no metaverse object for {value['ref']}>"
            return normalize_dn(value["ref"])
        if isinstance(value, list):
            return [self._expected_value(v, side, connector) for v in value]
        return decode(value)

    @staticmethod
    def _actual(value: Any, side: str) -> Any:
        if isinstance(value, list):
            return [Scenario._actual(v, side) for v in value]
        if side == "cs" and value.__class__.__name__ == "Ref":
            return normalize_dn(str(value))
        if value.__class__.__name__ == "Ref":
            return str(value)
        return value

    @staticmethod
    def _equal(expected: Any, actual: Any) -> bool:
        if isinstance(expected, list) and isinstance(actual, list):
            return sorted(map(repr, expected)) == sorted(map(repr, actual))
        if isinstance(expected, list) and not isinstance(actual, list):
            return False
        return bool(expected == actual) and isinstance(expected, bool) == isinstance(actual, bool)

    def _match_attrs(self, want: dict[str, Any], have: dict[str, Any], side: str, exact: bool) -> list[str]:
        problems = []
        for name, value in want.items():
            expected = self._expected_value(value, side)
            actual = self._actual(have.get(name), side)
            if expected is None and actual in (None, []):
                continue
            if not self._equal(expected, actual):
                problems.append(f"{name}: expected {expected!r}, got {actual!r}")
        if exact:
            extra = sorted(set(have) - set(want))
            if extra:
                problems.append(f"unexpected attributes {extra}")
        return problems

    def check(self, expect: dict[str, Any], where: str) -> None:
        e = self.engine
        if "metaverse_count" in expect:
            assert len(e.mv) == expect["metaverse_count"], f"{where}: {len(e.mv)} metaverse objects: {list(e.mv)}"
        for i, want in enumerate(expect.get("metaverse") or []):
            matches = []
            reasons = []
            for mv in e.mv_objects():
                if "type" in want and mv.object_type != want["type"]:
                    continue
                problems = self._match_attrs(want.get("attrs") or {}, mv.attrs, "mv", bool(want.get("exact")))
                for connector, dn in (want.get("links") or {}).items():
                    guid = mv.links.get(connector)
                    obj = e.spaces[connector].objects.get(guid) if guid else None
                    if dn is None:
                        if obj is not None:
                            problems.append(f"linked to {obj.dn} in {connector}")
                    elif obj is None or normalize_dn(obj.dn) != normalize_dn(dn):
                        problems.append(f"not linked to {dn} in {connector}")
                for attr, rule in (want.get("lineage") or {}).items():
                    lin = mv.lineage.get(attr)
                    want_lin = rule if isinstance(rule, dict) else {"rule": rule}
                    have_lin = {"rule": lin.rule, "connector": lin.connector, "dn": lin.dn, "precedence": lin.precedence} if lin else {}
                    for key, value in want_lin.items():
                        have = have_lin.get(key)
                        same = normalize_dn(str(have)) == normalize_dn(str(value)) if key == "dn" and have else have == value
                        if not same:
                            problems.append(f"lineage of {attr}: expected {key} {value!r}, got {have!r}")
                if problems:
                    reasons.append(f"{mv.id[:8]} {mv.attrs}: {'; '.join(problems)}")
                else:
                    matches.append(mv)
            assert len(matches) == 1, f"{where}: metaverse expectation {i + 1} matched {len(matches)} objects\n  " + "\n  ".join(reasons)
        for connector, wants in (expect.get("connector_spaces") or {}).items():
            space = e.spaces[connector]
            for want in wants:
                if "dn" in want:
                    obj = space.get_by_dn(want["dn"])
                    name = want["dn"]
                else:
                    obj = space.get_by_anchor(want["anchor"])
                    name = f"anchor {want['anchor']}"
                if want.get("absent"):
                    assert obj is None or obj.deleted or obj.placeholder, f"{where}: {name} should not be in {connector}"
                    continue
                assert obj is not None, f"{where}: no object {name!r} in {connector}: {[o.dn for o in space]}"
                want = {**want, "dn": name}
                for key in ("state", "anchor", "pending_import", "object_type"):
                    if key in want:
                        assert getattr(obj, key) == want[key], f"{where}: {want['dn']} {key} is {getattr(obj, key)!r}"
                if "attrs" in want:
                    problems = self._match_attrs(want["attrs"], obj.attrs, "cs", bool(want.get("exact")))
                    assert not problems, f"{where}: {want['dn']}: {problems}"
                if "export_memory" in want:
                    problems = self._match_attrs(want["export_memory"], obj.export_memory, "cs", True)
                    assert not problems, f"{where}: {want['dn']} export memory: {problems}"
                if "pending_export" in want:
                    pe_want = want["pending_export"]
                    pe = obj.pending_export
                    if pe_want is None:
                        assert pe is None, f"{where}: {want['dn']} has pending export {pe}"
                    else:
                        assert pe is not None, f"{where}: {want['dn']} has no pending export"
                        assert pe.operation == pe_want.get("operation", pe.operation), f"{where}: {want['dn']} operation {pe.operation}"
                        if "new_dn" in pe_want:
                            assert pe.new_dn == pe_want["new_dn"], f"{where}: new_dn {pe.new_dn}"
                        news = {k: new for k, (_, new) in pe.changes.items()}
                        problems = self._match_attrs(pe_want.get("attributes") or {}, news, "cs", bool(pe_want.get("exact")))
                        assert not problems, f"{where}: {want['dn']} pending export: {problems}"
        for connector in e.cc.connector_order:
            space = e.spaces[connector]
            if f"{connector}_count" in expect:
                live = [o for o in space if not o.placeholder and not o.deleted]
                assert len(live) == expect[f"{connector}_count"], f"{where}: {connector} holds {[o.dn for o in live]}"
            if connector in (expect.get("placeholders") or {}):
                holders = [o.dn for o in space if o.placeholder]
                assert len(holders) == expect["placeholders"][connector], f"{where}: placeholders in {connector}: {holders}"
            if connector in (expect.get("pending_exports") or {}):
                staged = [(o.dn, o.pending_export.operation) for o in space if o.pending_export is not None]
                assert len(staged) == expect["pending_exports"][connector], f"{where}: pending exports in {connector}: {staged}"
        errors = [err for s in self.last for err in s.errors]
        warnings = [w for s in self.last for w in s.warnings]
        if "error_count" in expect:
            assert len(errors) == expect["error_count"], f"{where}: {len(errors)} errors {[(x.code, x.dn, x.message) for x in errors]}"
        if expect.get("no_errors"):
            assert not errors, f"{where}: errors {[(x.code, x.dn, x.message) for x in errors]}"
        for want in expect.get("errors") or []:
            assert any(_error_matches(want, err) for err in errors), f"{where}: no error like {want}; got {[(x.code, x.dn, x.message) for x in errors]}"
        for want in expect.get("warnings") or []:
            assert any(_error_matches(want, w) for w in warnings), f"{where}: no warning like {want}; got {[(x.code, x.dn) for x in warnings]}"
        for want in expect.get("steps") or []:
            found = [s for s in self.last if s.connector == want["connector"] and s.profile == want.get("profile", s.profile)]
            assert found, f"{where}: no step {want}"
            if "status" in want:
                assert found[-1].status == want["status"], f"{where}: step status {found[-1].status} ({found[-1].counts})"
            for key, value in (want.get("counts") or {}).items():
                assert found[-1].counts.get(key, 0) == value, f"{where}: step {want} counts {found[-1].counts}"
        if "step_order" in expect:
            order = [f"{s.profile}@{s.connector}" for s in self.last]
            assert order == expect["step_order"], f"{where}: steps ran as {order}"
        for connector, entries in (expect.get("directories") or {}).items():
            d = self.directories[connector]
            for want in entries:
                entry = d.get(want["dn"])
                if want.get("absent"):
                    assert entry is None, f"{where}: {want['dn']} still in directory {connector}"
                    continue
                assert entry is not None, f"{where}: {want['dn']} not in directory {connector}"
                problems = self._match_attrs(want.get("attrs") or {}, entry.attrs, "cs", False)
                assert not problems, f"{where}: directory {connector} {want['dn']}: {problems}"
        for connector, count in (expect.get("directory_counts") or {}).items():
            held = sorted(x.dn for x in self.directories[connector].entries.values())
            assert len(held) == count, f"{where}: directory {connector} holds {held}"


class _NoScanDict(dict):  # type: ignore[type-arg]
    """The metaverse's object table, refusing whole-table iteration while a run step is armed:
    joins and every other per-object lookup must go through indexes."""

    armed = False

    def _refuse(self) -> None:
        if self.armed:
            raise AssertionError("a run step scanned the whole metaverse")

    def __iter__(self):  # type: ignore[no-untyped-def]
        self._refuse()
        return super().__iter__()

    def values(self):  # type: ignore[no-untyped-def]
        self._refuse()
        return super().values()

    def items(self):  # type: ignore[no-untyped-def]
        self._refuse()
        return super().items()

    def keys(self):  # type: ignore[no-untyped-def]
        self._refuse()
        return super().keys()


def check_invariants(engine: Engine, where: str = "") -> None:
    """Links agree in both directions; no metaverse object is left without a link; a
    connector-space object links to at most one metaverse object; placeholders never link."""
    linked: dict[tuple[str, str], str] = {}
    for mv in engine.mv:
        assert mv.links, f"{where}: metaverse object {mv.id} has no link"
        for connector, guid in mv.links.items():
            obj = engine.spaces[connector].objects.get(guid)
            assert obj is not None, f"{where}: {mv.id} links to a missing object in {connector}"
            assert obj.mv_id == mv.id, f"{where}: {obj.dn} does not link back to {mv.id}"
            assert not obj.placeholder, f"{where}: placeholder {obj.dn} is linked"
            key = (connector, guid)
            assert key not in linked, f"{where}: {obj.dn} is linked to two metaverse objects"
            linked[key] = mv.id
    for connector, space in engine.spaces.items():
        for obj in space:
            if obj.mv_id is not None:
                assert linked.get((connector, obj.guid)) == obj.mv_id, f"{where}: {connector} {obj.dn} links to {obj.mv_id} one way only"


def _error_matches(want: dict[str, Any], err: SyncError) -> bool:
    if want.get("code") and err.code != want["code"]:
        return False
    if want.get("dn") and normalize_dn(err.dn) != normalize_dn(want["dn"]):
        return False
    if want.get("rule") and err.rule != want["rule"]:
        return False
    if want.get("attribute") and err.attribute != want["attribute"]:
        return False
    if want.get("located") and err.line is None:
        return False
    return not (want.get("message") and want["message"] not in err.message)
