"""Render a preview: the JSON contract (docs/preview-json.md, ``"format": 1``) and a text plan.

Both are pure functions of the engine state, sorted everywhere, so the same input gives
byte-identical output.
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
from collections import Counter
from typing import Any

from syncrules.engine.engine import Engine, StepResult
from syncrules.engine.model import CSObject, MVObject, SyncError
from syncrules.runtime.values import Ref

FORMAT_VERSION = 1


def json_value(value: Any) -> Any:
    if isinstance(value, list):
        return [json_value(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return {"binary": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, _dt.datetime):
        return value.astimezone(_dt.timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, Ref):
        return str(value)
    return value


def _attrs(attrs: dict[str, Any]) -> dict[str, Any]:
    return {k: json_value(attrs[k]) for k in sorted(attrs)}


def _pending_export(obj: CSObject) -> dict[str, Any] | None:
    pe = obj.pending_export
    if pe is None:
        return None
    return {
        "operation": pe.operation,
        "dn": pe.dn,
        "new_dn": pe.new_dn,
        "attributes": {k: {"old": json_value(old), "new": json_value(new)} for k, (old, new) in sorted(pe.changes.items())},
    }


def _mv_json(engine: Engine, mv: MVObject) -> dict[str, Any]:
    links = []
    for connector in engine.cc.connector_order:
        guid = mv.links.get(connector)
        obj = engine.spaces[connector].objects.get(guid) if guid else None
        if obj is not None:
            links.append({"connector": connector, "dn": obj.dn, "rule": obj.link_rule})
    return {
        "id": mv.id,
        "object_type": mv.object_type,
        "attributes": _attrs(mv.attrs),
        "lineage": {
            k: {"rule": lin.rule, "connector": lin.connector, "dn": lin.dn, "precedence": lin.precedence}
            for k, lin in sorted(mv.lineage.items())
        },
        "links": links,
    }


def _cs_json(obj: CSObject) -> dict[str, Any]:
    return {
        "dn": obj.dn,
        "anchor": obj.anchor,
        "object_type": obj.object_type,
        "state": obj.state,
        "pending_import": obj.pending_import,
        "pending_export": _pending_export(obj),
        "mv_id": obj.mv_id,
    }


def _errors(steps: list[StepResult]) -> list[SyncError]:
    errs = [e for s in steps for e in s.errors]
    return sorted(errs, key=lambda e: (e.connector, e.dn, e.code, e.rule or "", e.attribute or "", e.message))


def summary(engine: Engine, steps: list[StepResult], only: str | None = None) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for connector in engine.cc.connector_order:
        if only is not None and connector != only:
            continue
        for obj in engine.spaces[connector]:
            pe = obj.pending_export
            if pe is None:
                continue
            key = {"add": "add", "update": "change", "rename": "change", "delete": "delete"}[pe.operation]
            counts[key] += 1
    return {
        "add": counts["add"],
        "change": counts["change"],
        "delete": counts["delete"],
        "errors": len(_errors(steps)),
        "warnings": sum(len(s.warnings) for s in steps),
        "metaverse_objects": len(engine.mv),
    }


def render_json(engine: Engine, steps: list[StepResult], project: str, only: str | None = None) -> str:
    doc = {
        "format": FORMAT_VERSION,
        "project": project,
        "metaverse": [_mv_json(engine, mv) for mv in engine.mv_objects()],
        "connector_spaces": {
            c: [_cs_json(o) for o in engine.cs_objects(c)] for c in engine.cc.connector_order if only in (None, c)
        },
        "errors": [e.to_json() for e in _errors(steps)],
        "warnings": [w.to_json() for s in steps for w in s.warnings],
        "steps": [s.to_json() for s in steps],
        "summary": summary(engine, steps, only),
    }
    return json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


# ---------------------------------------------------------------------------- text


def _show(value: Any) -> str:
    v = json_value(value)
    if isinstance(v, dict) and "binary" in v:
        return f"<binary {v['binary'][:16]}{'...' if len(v['binary']) > 16 else ''}>"
    return json.dumps(v, ensure_ascii=False)


def render_text(
    engine: Engine, steps: list[StepResult], project: str, cycle: str, colour: bool = False, only: str | None = None
) -> str:
    import click

    def style(text: str, fg: str | None = None, bold: bool = False) -> str:
        return click.style(text, fg=fg, bold=bold) if colour else text

    lines: list[str] = []
    imports = "full import, full synchronization" if cycle == "initial" else "delta import, delta synchronization"
    lines.append(f"Preview of {project!r}: {cycle} cycle ({imports}) over {len(engine.cc.connector_order)} connectors.")
    lines.append(f"Metaverse: {len(engine.mv)} objects.")
    lines.append("")
    order = {"delete": 0, "rename": 1, "update": 2, "add": 3}
    for connector in engine.cc.connector_order:
        if only is not None and connector != only:
            continue
        staged = [o for o in engine.cs_objects(connector) if o.pending_export is not None]
        if not staged:
            continue
        lines.append(style(f'Connector "{connector}":', bold=True))
        staged.sort(key=lambda o: (order[o.pending_export.operation], o.dn.lower()))  # type: ignore[union-attr]
        for obj in staged:
            pe = obj.pending_export
            assert pe is not None
            if pe.operation == "delete":
                lines.append(style(f"  - delete {pe.dn}", "red"))
            elif pe.operation == "add":
                lines.append(style(f"  + add {pe.dn} ({obj.object_type})", "green"))
                for name, (_, new) in sorted(pe.changes.items()):
                    lines.append(f"      {name} = {_show(new)}")
                for name in sorted(pe.held):
                    lines.append(style(f"      {name}: waiting for referenced objects to be provisioned", "yellow"))
            else:
                head = f"  ~ update {pe.dn}" if pe.operation == "update" else f"  ~ rename {pe.dn} → {pe.new_dn}"
                lines.append(style(head, "yellow"))
                for name, (old, new) in sorted(pe.changes.items()):
                    lines.append(f"      {name}: {_show(old)} → {_show(new)}")
        lines.append("")
    errors = _errors(steps)
    if errors:
        lines.append(style(f"Errors ({len(errors)}):", "red", True))
        by_code: dict[str, list[SyncError]] = {}
        for e in errors:
            by_code.setdefault(e.code, []).append(e)
        for code in sorted(by_code):
            group = by_code[code]
            lines.append(f"  {code} ({len(group)})")
            for e in group[:20]:
                where = f" [{e.file}:{e.line}:{e.column}]" if e.file else ""
                rule = f' rule "{e.rule}"' if e.rule else ""
                lines.append(f"    {e.connector} {e.dn}:{rule} {e.message}{where}")
            if len(group) > 20:
                lines.append(f"    ... and {len(group) - 20} more")
        lines.append("")
    stopped = [s for s in steps if s.status.startswith("stopped")]
    for s in stopped:
        lines.append(style(f"Step {s.profile} on {s.connector!r} stopped: {s.status} {dict(sorted(s.counts.items()))}", "red"))
    if stopped:
        lines.append("")
    sm = summary(engine, steps, only)
    lines.append(
        f"Plan: {sm['add']} to add, {sm['change']} to change, {sm['delete']} to delete, "
        f"{sm['errors']} error{'s' if sm['errors'] != 1 else ''}."
    )
    return "\n".join(lines) + "\n"
