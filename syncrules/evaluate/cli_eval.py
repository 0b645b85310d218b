"""``syncrules eval``: evaluate one expression against attributes given on the command line.

Output is exactly one JSON document (the value), so it can be piped; problems are diagnostics on
stderr with exit code 1. The typed ``--object`` JSON form is documented in docs/expressions.md.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import json
from pathlib import Path
from typing import Any

import click

from syncrules.diagnostics import Diagnostic, DiagnosticSink, Severity
from syncrules.diagnostics.render import render_text
from syncrules.runtime.values import AUTHORITATIVE_NULL, IGNORE_THIS_FLOW, EvalError, Ref
from syncrules.source import SourceFile

EXPR_FILE = "<expression>"


class _BadInput(Exception):
    pass


def _typed(value: Any, where: str) -> tuple[Any, str]:
    """A JSON value of the --object form → (run-time value, expression type)."""
    if isinstance(value, list):
        items = [_typed(v, where) for v in value]
        if not items:
            return None, "var"
        kinds = {t for _, t in items}
        return [v for v, _ in items], ("mv" + kinds.pop()) if len(kinds) == 1 else "mvattr"
    if isinstance(value, bool):
        return value, "bool"
    if isinstance(value, int):
        return value, "num"
    if isinstance(value, str):
        return value, "str"
    if value is None:
        return None, "var"
    if isinstance(value, dict) and len(value) == 1:
        (key, inner), = value.items()
        try:
            if key == "binary":
                return base64.b64decode(str(inner), validate=True), "bin"
            if key == "datetime":
                parsed = _dt.datetime.fromisoformat(str(inner).replace("Z", "+00:00"))
                return (parsed if parsed.tzinfo else parsed.replace(tzinfo=_dt.timezone.utc)), "dt"
            if key == "reference":
                return Ref(str(inner)), "ref"
        except (ValueError, binascii.Error) as exc:
            raise _BadInput(f"{where}: {exc}") from exc
    raise _BadInput(f"{where}: unsupported value {json.dumps(value)[:60]} (use a string, number, boolean, list, or {{\"binary\"|\"datetime\"|\"reference\": ...}})")


def to_json(value: Any) -> Any:
    if value is AUTHORITATIVE_NULL:
        return {"special": "AuthoritativeNull"}
    if value is IGNORE_THIS_FLOW:
        return {"special": "IgnoreThisFlow"}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return {"binary": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, _dt.datetime):
        return value.astimezone(_dt.timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, Ref):
        return str(value)
    return value


def run_eval(expression: str, attrs: list[str], object_file: str | None, params: list[str], now: str | None) -> int:
    from syncrules.evaluate import EvalContext
    from syncrules.evaluate.backend import compile_flow_expr
    from syncrules.semantic.expressions import ExprEnv, lower_expression
    from syncrules.syntax.parser import parse_expression

    values: dict[str, Any] = {}
    types: dict[str, str] = {}
    try:
        if object_file is not None:
            try:
                doc = json.loads(Path(object_file).read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise _BadInput(f"{object_file}: {exc}") from exc
            attributes = doc.get("attributes") if isinstance(doc, dict) else None
            if not isinstance(attributes, dict):
                raise _BadInput(f'{object_file}: expected {{"attributes": {{...}}}}')
            for name, raw in attributes.items():
                values[name], types[name] = _typed(raw, f"{object_file}: {name}")
        repeated: dict[str, list[str]] = {}
        for item in attrs:
            if "=" not in item:
                raise _BadInput(f"--attr {item!r}: expected NAME=VALUE")
            name, value = item.split("=", 1)
            repeated.setdefault(name, []).append(value)
        for name, vals in repeated.items():
            values[name] = vals if len(vals) > 1 else vals[0]
            types[name] = "mvstr" if len(vals) > 1 else "str"
        parameters: dict[str, str] = {}
        for item in params:
            if "=" not in item:
                raise _BadInput(f"--param {item!r}: expected NAME=VALUE")
            name, value = item.split("=", 1)
            parameters[name] = value
        clock = None
        if now is not None:
            try:
                clock = _dt.datetime.fromisoformat(now.replace("Z", "+00:00"))
            except ValueError as exc:
                raise _BadInput(f"--now {now!r}: not an ISO-8601 date and time") from exc
    except _BadInput as exc:
        click.echo(f"error: {exc}", err=True)
        return 2

    source = SourceFile(EXPR_FILE, expression)
    sink = DiagnosticSink()
    ast_expr = parse_expression(expression, sink, EXPR_FILE)
    ir_expr = None
    if ast_expr is not None:
        env = ExprEnv(attributes=types, parameters=set(parameters), strict_attributes=False, strict_parameters=False)
        ir_expr = lower_expression(ast_expr, env, sink)
    if ir_expr is None or sink.has_errors:
        click.echo(render_text(sink.sorted(), {EXPR_FILE: source}), err=True, nl=False)
        return 1
    fn = compile_flow_expr(ir_expr)
    ctx = EvalContext(values, parameters, now=clock)
    try:
        result = fn(ctx)
    except EvalError as exc:
        span = getattr(exc, "span", None)
        diag = Diagnostic(exc.code, Severity.ERROR, exc.message, span if span is not None and span.file == EXPR_FILE else None)
        click.echo(render_text([diag], {EXPR_FILE: source}), err=True, nl=False)
        return 1
    click.echo(json.dumps(to_json(result), ensure_ascii=False))
    return 0
