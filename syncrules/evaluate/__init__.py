"""The expression evaluator: IR expressions compiled once into closures, run per object.

>>> from syncrules.ir import nodes as ir
>>> fn = compile_expr(ir.CallFn("Trim", (ir.Attr("givenName", "str"),), "str"))
>>> fn(EvalContext({"givenName": "  Ada "}))
'Ada'
"""

from syncrules.evaluate.compiler import compile_expr, evaluate
from syncrules.evaluate.context import EvalContext

__all__ = ["EvalContext", "compile_expr", "evaluate"]
