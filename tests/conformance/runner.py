"""Load and run conformance cases: source text -> parse -> lower -> compile -> evaluate."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from syncrules.diagnostics import DiagnosticSink
from syncrules.evaluate import EvalContext
from syncrules.evaluate.backend import BACKENDS, Backend, compile_flow_expr
from syncrules.semantic.expressions import ExprEnv, lower_expression
from syncrules.syntax.parser import parse_expression

from .encoding import decode_attribute, parse_datetime

CASES_DIR = Path(__file__).parent / "functions"
DEFAULT_NOW = "2025-06-01T12:00:00Z"
CASE_KEYS = frozenset(
    {
        "expr",
        "attrs",
        "params",
        "now",
        "seed",
        "object_id",
        "imported",
        "value_counts",
        "expect",
        "error",
        "note",
    }
)


@dataclass(frozen=True)
class Case:
    id: str
    group: str  # the function (or operator group) the case is filed under
    expr: str
    attrs: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    now: str = DEFAULT_NOW
    seed: int = 0
    object_id: str = ""
    imported: dict[str, Any] | None = None
    value_counts: dict[str, int] | None = None
    expect: Any = None
    error: dict[str, str] | None = None


def load_cases(directory: Path = CASES_DIR) -> list[Case]:
    """Every case of every ``<category>.yaml``: a mapping of function name -> list of cases."""
    cases: list[Case] = []
    for path in sorted(directory.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for group, entries in data.items():
            for index, entry in enumerate(entries, 1):
                unknown = set(entry) - CASE_KEYS
                if unknown or "expr" not in entry or ("expect" in entry) == ("error" in entry):
                    raise ValueError(f"{path.name}: {group} case {index} is malformed: {entry!r}")
                cases.append(
                    Case(
                        id=f"{path.stem}:{group}:{index}",
                        group=str(group),
                        expr=str(entry["expr"]),
                        attrs=entry.get("attrs") or {},
                        params=entry.get("params") or {},
                        now=str(entry.get("now", DEFAULT_NOW)),
                        seed=int(entry.get("seed", 0)),
                        object_id=str(entry.get("object_id", "")),
                        imported=entry.get("imported"),
                        value_counts=entry.get("value_counts"),
                        expect=entry.get("expect"),
                        error=entry.get("error"),
                    )
                )
    return cases


def run(
    expr: str,
    attrs: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    now: str = DEFAULT_NOW,
    seed: int = 0,
    object_id: str = "",
    imported: dict[str, Any] | None = None,
    value_counts: dict[str, int] | None = None,
    backend: Backend = "closure",
) -> Any:
    """Evaluate expression text against typed attributes with one of the expression backends;
    raises EvalError like the engine would."""
    decoded = {name: decode_attribute(spec) for name, spec in (attrs or {}).items()}
    types = {name: t for name, (t, _) in decoded.items()}
    values = {name: v for name, (_, v) in decoded.items() if v is not None}
    imported_values = None
    if imported is not None:
        imported_values = {name: decode_attribute(spec)[1] for name, spec in imported.items()}
    sink = DiagnosticSink()
    tree = parse_expression(expr, sink)
    assert tree is not None and not sink.has_errors, f"{expr!r} does not parse: {sink.sorted()}"
    node = lower_expression(tree, ExprEnv(attributes=types, parameters=set(params or {})), sink)
    assert node is not None and not sink.has_errors, f"{expr!r} does not type-check: {sink.sorted()}"
    ctx = EvalContext(
        values,
        dict(params or {}),
        imported=imported_values,
        value_counts=value_counts,
        now=parse_datetime(now),
        seed=seed,
        object_id=object_id,
    )
    return compile_flow_expr(node, backend)(ctx)


def run_case(case: Case, backend: Backend = "closure") -> Any:
    return run(
        case.expr,
        case.attrs,
        case.params,
        case.now,
        case.seed,
        case.object_id,
        case.imported,
        case.value_counts,
        backend,
    )


__all__ = ["BACKENDS", "CASES_DIR", "Case", "load_cases", "run", "run_case"]
