"""The built-in functions of the expression language, one module per catalogue category.

:func:`lookup` gives the implementation of one call (name, arity, overload); the evaluator
(:mod:`syncrules.evaluate`) compiles calls against it once, so nothing is looked up per object.
"""

from syncrules.builtins.registry import Builtin, Impl, builtins, compact, lookup

__all__ = ["Builtin", "Impl", "builtins", "compact", "lookup"]
