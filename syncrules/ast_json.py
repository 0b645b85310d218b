"""JSON rendering of the AST (``syncrules compile --emit ast``): node type, fields and spans."""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from typing import Any

from syncrules import ast


def to_json(node: Any) -> Any:
    if is_dataclass(node):
        out: dict[str, Any] = {"node": type(node).__name__}
        for f in fields(node):
            value = getattr(node, f.name)
            out[f.name] = value.to_json() if f.name == "span" else to_json(value)
        return out
    if isinstance(node, (tuple, list)):
        return [to_json(v) for v in node]
    return node


def module_to_json(module: ast.Module) -> Any:
    return to_json(module)
