"""``syncrules explain``: one object's whole story, like the reference engine's single-object
preview — scope per rule (naming the clause that failed), the join group by group, projection,
every contributing flow per metaverse attribute in precedence order with the winner, and the
outbound side in every other connector.

The explanation re-evaluates rules against the engine's current state without changing it.
"""

from __future__ import annotations

import json
from typing import Any

from syncrules.engine.engine import Engine
from syncrules.engine.model import CSObject, MVObject
from syncrules.evaluate import EvalContext
from syncrules.ir import nodes as ir
from syncrules.preview.render import json_value
from syncrules.runtime.values import AUTHORITATIVE_NULL, IGNORE_THIS_FLOW, EvalError


def find_object(engine: Engine, ref: str, connector: str | None) -> CSObject | None:
    names = [connector] if connector else engine.cc.connector_order
    for name in names:
        space = engine.spaces.get(name)
        if space is None:
            continue
        obj = space.get_by_dn(ref) or space.get_by_anchor(ref)
        if obj is not None:
            return obj
    return None


def _clause_text(c: ir.ScopeClause) -> str:
    parts = [c.attribute] if c.attribute else []
    parts.append(c.operator)
    if c.value is not None:
        parts.append(json.dumps(c.value))
    return " ".join(parts)


def _value(v: Any) -> Any:
    if v is AUTHORITATIVE_NULL:
        return {"special": "AuthoritativeNull"}
    if v is IGNORE_THIS_FLOW:
        return {"special": "IgnoreThisFlow"}
    return json_value(v)


def explain(engine: Engine, obj: CSObject) -> dict[str, Any]:
    space = engine.spaces[obj.connector]
    params = engine.parameters_for(obj.connector, obj.dn)
    view = engine._inbound_view(space, obj)
    member_of = engine._member_of(space, obj)
    out: dict[str, Any] = {
        "object": {
            "connector": obj.connector,
            "dn": obj.dn,
            "anchor": obj.anchor,
            "object_type": obj.object_type,
            "state": obj.state,
            "pending_import": obj.pending_import,
            "attributes": {k: json_value(obj.attrs[k]) for k in sorted(obj.attrs)},
        }
    }
    rules_out = []
    in_scope_join = None
    for rule in engine.cc.inbound.get((obj.connector, obj.object_type or ""), []):
        groups = rule.scope.explain(view, obj.dn, params, member_of)
        in_scope = rule.scope.matches(view, obj.dn, params, member_of)
        entry: dict[str, Any] = {"rule": rule.name, "precedence": rule.rule.precedence, "link": rule.link, "in_scope": in_scope}
        if not in_scope:
            entry["failed"] = [f"group {gi + 1}: {_clause_text(c)}" for gi, c in groups if c is not None]
        rules_out.append(entry)
        if in_scope and rule.has_join and in_scope_join is None:
            in_scope_join = rule
    out["inbound_rules"] = rules_out
    if in_scope_join is not None:
        groups_out = []
        for gi, group in enumerate(in_scope_join.join):
            clauses = []
            candidates: set[str] | None = None
            for c in group:
                value = view.get(c.cs_attribute)
                found = engine.mv.find(c.mv_attribute, value, c.case_sensitive) if value not in (None, []) else set()
                candidates = found if candidates is None else candidates & found
                clauses.append({"cs": c.cs_attribute, "mv": c.mv_attribute, "value": json_value(value)})
            groups_out.append({"group": gi + 1, "clauses": clauses, "candidates": sorted(candidates or set())})
        out["join"] = {"rule": in_scope_join.name, "groups": groups_out}
    out["errors"] = [
        e.to_json()
        for step in engine.history
        for e in step.errors
        if e.connector == obj.connector and e.dn == obj.dn
    ][-20:]
    mv = engine.mv.objects.get(obj.mv_id or "")
    if mv is None:
        out["metaverse"] = None
        out["flows"] = _unlinked_flows(engine, obj)
        return out
    link = engine.cc.rules_by_name.get(obj.link_rule or "")
    out["link"] = {
        "mv_id": mv.id,
        "rule": obj.link_rule,
        "how": "projected" if link is not None and link.link == "provision" and link.rule.direction == "inbound" else "joined",
    }
    out["metaverse"] = _explain_mv(engine, mv)
    out["outbound"] = _explain_outbound(engine, mv)
    return out


def _unlinked_flows(engine: Engine, obj: CSObject) -> list[dict[str, Any]]:
    """For an object that is not linked: what its in-scope rules' flows would give (or raise)."""
    space = engine.spaces[obj.connector]
    params = engine.parameters_for(obj.connector, obj.dn)
    view = engine._inbound_view(space, obj)
    ctx = EvalContext(view, params, imported=obj.attrs, now=engine.options.now, seed=engine.options.seed, object_id=obj.guid)
    out = []
    for rule in engine._rules_in_scope(space, obj, view, params):
        for flow in rule.flows:
            item: dict[str, Any] = {"rule": rule.name, "target": flow.target, "precedence": rule.rule.precedence}
            try:
                item["value"] = _value(flow.fn(ctx))
            except EvalError as exc:
                item["error"] = exc.message
            out.append(item)
    return out


def _explain_mv(engine: Engine, mv: MVObject) -> dict[str, Any]:
    flows: dict[str, list[dict[str, Any]]] = {}
    for connector in engine.cc.connector_order:
        guid = mv.links.get(connector)
        if guid is None:
            continue
        space = engine.spaces[connector]
        obj = space.objects[guid]
        params = engine.parameters_for(connector, obj.dn)
        view = engine._inbound_view(space, obj)
        ctx = EvalContext(view, params, imported=obj.attrs, now=engine.options.now, seed=engine.options.seed, object_id=obj.guid)
        for rule in engine._rules_in_scope(space, obj, view, params):
            if rule.rule.target_type not in ("*", mv.object_type):
                continue
            for flow in rule.flows:
                item: dict[str, Any] = {"rule": rule.name, "connector": connector, "precedence": rule.rule.precedence}
                if flow.once:
                    stored = mv.once.get(flow.target)
                    item["once"] = True
                    item["value"] = _value(stored[0]) if stored else None
                else:
                    try:
                        item["value"] = _value(flow.fn(ctx))
                    except EvalError as exc:
                        item["error"] = exc.message
                flows.setdefault(flow.target, []).append(item)
    attributes = {}
    for name in sorted(set(flows) | set(mv.attrs)):
        entries = sorted(flows.get(name, []), key=lambda e: e["precedence"])
        lin = mv.lineage.get(name)
        attributes[name] = {
            "value": json_value(mv.attrs.get(name)),
            "winner": lin.rule if lin else None,
            "contributions": entries,
        }
    return {"id": mv.id, "object_type": mv.object_type, "attributes": attributes}


def _explain_outbound(engine: Engine, mv: MVObject) -> list[dict[str, Any]]:
    out = []
    for connector in engine.cc.connector_order:
        rules = engine.cc.outbound.get((connector, mv.object_type))
        if not rules:
            continue
        params = engine._connector_params.get(connector, {})
        entry: dict[str, Any] = {"connector": connector, "rules": []}
        for rule in rules:
            in_scope = rule.scope.matches(mv.attrs, "", params, lambda _dn: False)
            r: dict[str, Any] = {"rule": rule.name, "link": rule.link, "in_scope": in_scope}
            if not in_scope:
                r["failed"] = [f"group {gi + 1}: {_clause_text(c)}" for gi, c in rule.scope.explain(mv.attrs, "", params, lambda _dn: False) if c is not None]
            entry["rules"].append(r)
        guid = mv.links.get(connector)
        target = engine.spaces[connector].objects.get(guid) if guid else None
        if target is not None:
            pe = target.pending_export
            entry["object"] = {"dn": target.dn, "state": target.state, "rule": target.link_rule}
            entry["pending_export"] = (
                None
                if pe is None
                else {
                    "operation": pe.operation,
                    "dn": pe.dn,
                    "new_dn": pe.new_dn,
                    "attributes": {k: {"old": json_value(o), "new": json_value(n)} for k, (o, n) in sorted(pe.changes.items())},
                }
            )
        out.append(entry)
    return out


def render_explain_text(doc: dict[str, Any]) -> str:
    o = doc["object"]
    lines = [f"Object {o['dn']} in {o['connector']!r}", f"  type {o['object_type']}, anchor {o['anchor']}, state {o['state']}, pending import {o['pending_import']}"]
    lines.append("")
    lines.append("Inbound rules:")
    for r in doc["inbound_rules"]:
        mark = "in scope" if r["in_scope"] else "out of scope (" + "; ".join(r.get("failed", [])) + ")"
        lines.append(f"  [{r['precedence']:>4}] {r['rule']} ({r['link']}): {mark}")
    if "join" in doc:
        lines.append("")
        lines.append(f"Join by {doc['join']['rule']!r}:")
        for g in doc["join"]["groups"]:
            clauses = " and ".join(f"{c['cs']} = {c['mv']} ({json.dumps(c['value'])})" for c in g["clauses"])
            cands = g["candidates"]
            lines.append(f"  group {g['group']}: {clauses} → {len(cands)} candidate{'s' if len(cands) != 1 else ''}")
    lines.append("")
    if doc.get("errors"):
        lines.append("Errors in the last run:")
        for e in doc["errors"]:
            where = f" [{e['location']['file']}:{e['location']['line']}:{e['location']['column']}]" if e.get("location") else ""
            lines.append(f"  {e['code']} {e['step']}: rule {e['rule']!r}, {e['attribute']}: {e['message']}{where}")
        lines.append("")
    if doc.get("metaverse") is None:
        lines.append("Not linked to a metaverse object.")
        failing = [f for f in doc.get("flows", []) if "error" in f]
        if failing:
            lines.append("Flows of the rules in scope that fail:")
            for f in failing:
                lines.append(f"  [{f['precedence']:>4}] {f['rule']}: {f['target']}: error: {f['error']}")
        return "\n".join(lines) + "\n"
    link = doc["link"]
    lines.append(f"{link['how'].capitalize()} as metaverse object {link['mv_id']} by {link['rule']!r}.")
    lines.append("")
    lines.append("Metaverse attributes (contributions in precedence order):")
    for name, a in doc["metaverse"]["attributes"].items():
        lines.append(f"  {name} = {json.dumps(a['value'])}" + (f"  (winner: {a['winner']})" if a["winner"] else ""))
        for c in a["contributions"]:
            shown = c.get("error") and f"error: {c['error']}" or json.dumps(c.get("value"))
            marker = "*" if c["rule"] == a["winner"] else " "
            lines.append(f"    {marker} [{c['precedence']:>4}] {c['rule']} ({c['connector']}): {shown}")
    for ob in doc.get("outbound", []):
        lines.append("")
        lines.append(f"Outbound to {ob['connector']!r}:")
        for r in ob["rules"]:
            mark = "in scope" if r["in_scope"] else "out of scope (" + "; ".join(r.get("failed", [])) + ")"
            lines.append(f"  {r['rule']} ({r['link']}): {mark}")
        if "object" in ob:
            lines.append(f"  linked: {ob['object']['dn']} ({ob['object']['state']}, by {ob['object']['rule']!r})")
            pe = ob.get("pending_export")
            if pe is None:
                lines.append("  pending export: none")
            else:
                lines.append(f"  pending export: {pe['operation']} {pe['dn']}")
                for k, v in pe["attributes"].items():
                    lines.append(f"    {k}: {json.dumps(v['old'])} → {json.dumps(v['new'])}")
        else:
            lines.append("  not provisioned")
    return "\n".join(lines) + "\n"
