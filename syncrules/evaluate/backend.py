"""Choosing how expressions are compiled: generated Python (``"py"``) or closures (``"closure"``).

Both backends have one contract — ``fn(ctx)`` returns the value of the expression for the object in
``ctx`` (a multi-valued result with its dropped values removed, NULL for none), or raises the
:class:`~syncrules.runtime.values.EvalError` the expression raises, with ``span`` set to the node that
failed — and the test suite runs every conformance case, the corpus and a random-expression property
against both. The code generator is the default because it is several times faster on Microsoft's
default rules (docs/codegen.md has the numbers); the closure compiler stays as the reference, as the
fallback for expressions past the generator's size limits, and for debugging
(``SYNCRULES_EXPR_BACKEND=closure``).
"""

from __future__ import annotations

import os
from typing import Literal

from syncrules.evaluate.compiler import Compiled, compile_expr
from syncrules.ir import nodes as ir

Backend = Literal["py", "closure"]
BACKENDS: tuple[Backend, ...] = ("py", "closure")
DEFAULT_BACKEND: Backend = "py"
ENV_VAR = "SYNCRULES_EXPR_BACKEND"


def default_backend() -> Backend:
    """``$SYNCRULES_EXPR_BACKEND`` when set (to ``py`` or ``closure``), else :data:`DEFAULT_BACKEND`."""
    chosen = os.environ.get(ENV_VAR, "").strip()
    if not chosen:
        return DEFAULT_BACKEND
    if chosen not in BACKENDS:
        raise ValueError(f"{ENV_VAR} must be one of {', '.join(BACKENDS)}, not {chosen!r}")
    return chosen  # type: ignore[return-value]


def compile_flow_expr(e: ir.Expr, backend: Backend | None = None) -> Compiled:
    """Compile one flow expression with ``backend`` (None: :func:`default_backend`)."""
    chosen = default_backend() if backend is None else backend
    if chosen == "py":
        from syncrules.evaluate.pygen import compile_expr_py

        return compile_expr_py(e)
    if chosen == "closure":
        return compile_expr(e)
    raise ValueError(f"unknown expression backend {chosen!r}; expected one of {', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "DEFAULT_BACKEND", "ENV_VAR", "Backend", "compile_flow_expr", "default_backend"]
