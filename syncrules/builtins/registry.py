"""Function name -> implementation, with the metadata the evaluator needs to call it.

The catalogue (``stdlib/functions.yaml``) declares each function; the category modules implement
it over scalar values. This module joins the two and adds, per arity, what is common to every
function and so written once:

* **per-value positions**: a parameter with a single-value type (``str``, ``num``, ``bin``, ...)
  applies to each value when it receives a multi-valued input, and a NULL result drops that
  value; parameters typed ``mv...`` or ``var`` receive the whole value instead. This is derived
  from the catalogue's signatures, so a new overload gets the right behaviour without code.
* **null policy**: ``propagate`` (any NULL argument gives NULL, the function never sees NULL) or
  ``self`` (the function implements its documented NULL behaviour itself).
* **flow sentinels**: AuthoritativeNull and IgnoreThisFlow reaching any argument become the
  result unchanged, so a flow's outcome is never turned into a value by accident.

:meth:`Impl.invoke` is the general (slow) path; the evaluator inlines the common case of
"scalar, non-NULL arguments" and calls ``Impl.fn`` directly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from syncrules.builtins._common import DEFINITIONS, PROPAGATE, VARIADIC, Definition
from syncrules.catalogue import FunctionDecl, load_catalogue
from syncrules.runtime.values import EvalError, _Special

# Types whose parameter takes one value at a time. Everything else (mv*, var, variable, func)
# takes the whole value.
SCALAR_PARAM_TYPES = frozenset({"str", "num", "bool", "bin", "ref", "dt", "exp", "enum"})

_MODULES = (
    "certificate",
    "context",
    "conversion",
    "datetime_",
    "directory",
    "evaluation",
    "flow",
    "math_",
    "multivalued",
    "text",
)


def compact(value: Any) -> Any:
    """A multi-valued result as the outside world sees it: dropped (NULL) values removed, nested
    per-value results flattened, no values at all = NULL, and a flow sentinel anywhere wins."""
    if value.__class__ is not list:
        return value
    for x in value:
        if x is None or x.__class__ is list or x.__class__ is _Special:
            break
    else:
        return value if value else None
    out: list[Any] = []
    for x in value:
        if x is None:
            continue
        cls = x.__class__
        if cls is list:
            inner = compact(x)
            if inner is None:
                continue
            if inner.__class__ is _Special:
                return inner
            out.extend(inner)
        elif cls is _Special:
            return x
        else:
            out.append(x)
    return out or None


@dataclass(frozen=True, slots=True)
class Impl:
    """One callable arity (or overload) of a built-in or operator."""

    name: str
    arity: int
    fn: Callable[..., Any]
    per_value: tuple[bool, ...]
    nulls: str = PROPAGATE
    needs_ctx: bool = False
    special: bool = False
    deterministic: bool = True

    propagate: bool = field(init=False, repr=False, compare=False)
    """``nulls == PROPAGATE``, computed once: :meth:`apply` runs for every call that is not inlined."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "propagate", self.nulls == PROPAGATE)

    def invoke(self, args: tuple[Any, ...], ctx: Any = None) -> Any:
        """Call with any run-time arguments: sentinels, multi-valued inputs and NULLs included.

        One scan first: without a list or a sentinel (a NULL attribute, the usual reason to get
        here) this is :meth:`apply` inlined; otherwise the general mapping in :meth:`_invoke_mapped`.
        """
        null = False
        for a in args:
            cls = a.__class__
            if cls is list or cls is _Special:
                return self._invoke_mapped(args, ctx)
            if a is None:
                null = True
        if null and self.propagate:
            return None
        if self.needs_ctx:
            return self.fn(ctx, *args)
        return self.fn(*args)

    def _invoke_mapped(self, args: tuple[Any, ...], ctx: Any) -> Any:
        """:meth:`invoke` when some argument is a list or a sentinel: sentinels win, whole-value
        parameters get the compacted list, per-value parameters map over the values."""
        positions: list[int] | None = None
        for i, a in enumerate(args):
            cls = a.__class__
            if cls is _Special:
                return a
            if cls is list:
                if self.per_value[i]:
                    if positions is None:
                        positions = []
                    positions.append(i)
                else:
                    whole = compact(a)
                    if whole.__class__ is _Special:
                        return whole
                    args = (*args[:i], whole, *args[i + 1 :])
        if positions is not None:
            return self._per_value(args, positions, ctx)
        return self.apply(args, ctx)

    def apply(self, args: tuple[Any, ...], ctx: Any) -> Any:
        """Call with single (non-list, non-sentinel) arguments, applying the null policy."""
        if self.propagate:
            for a in args:
                if a is None:
                    return None
        if self.needs_ctx:
            return self.fn(ctx, *args)
        return self.fn(*args)

    def _per_value(self, args: tuple[Any, ...], positions: list[int], ctx: Any) -> list[Any]:
        """Apply to each value; several multi-valued arguments pair up by position. A value that an
        earlier per-value NULL dropped stays dropped (the function is not called for it)."""
        n = len(args[positions[0]])
        for p in positions[1:]:
            if len(args[p]) != n:
                raise EvalError(
                    f"{self.name}: multi-valued arguments with different numbers of values ({n} and {len(args[p])})"
                )
        row = list(args)
        out: list[Any] = []
        append = out.append
        for j in range(n):
            simple = True  # no nested list or sentinel in this row: skip straight to apply()
            for p in positions:
                v = args[p][j]
                if v is None:
                    break
                if v.__class__ is list or v.__class__ is _Special:
                    simple = False
                row[p] = v
            else:
                append(self.apply(tuple(row), ctx) if simple else self.invoke(tuple(row), ctx))
                continue
            append(None)
        return out


@dataclass(frozen=True, slots=True)
class Builtin:
    """A catalogue function with its implementations."""

    decl: FunctionDecl
    by_arity: dict[int, Impl] = field(default_factory=dict)
    by_overload: dict[int, Impl] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.decl.name

    def resolve(self, arity: int, overload: int = 0) -> Impl:
        """The implementation for a call; raises ``KeyError`` for an arity the catalogue lacks."""
        if overload in self.by_overload and len(self.decl.overloads[overload].params) == arity:
            return self.by_overload[overload]
        if VARIADIC in self.by_arity:
            return self.by_arity[VARIADIC]
        return self.by_arity[arity]


def _per_value(decl: FunctionDecl, arity: int, overload: int | None) -> tuple[bool, ...]:
    if arity == VARIADIC:
        return ()
    candidates = (
        [decl.overloads[overload]]
        if overload is not None
        else [o for o in decl.overloads if len(o.params) == arity]
    )
    return tuple(all(o.params[i].type in SCALAR_PARAM_TYPES for o in candidates) for i in range(arity))


def _impl(decl: FunctionDecl, d: Definition) -> Impl:
    return Impl(
        name=d.name,
        arity=d.arity,
        fn=d.fn,
        per_value=_per_value(decl, d.arity, d.overload),
        nulls=d.nulls,
        needs_ctx=d.needs_ctx,
        special=d.special,
        deterministic=decl.deterministic,
    )


def definitions() -> list[Definition]:
    """Every registered implementation (importing the category modules registers them)."""
    import importlib

    for module in _MODULES:
        importlib.import_module(f"syncrules.builtins.{module}")
    return list(DEFINITIONS)


@lru_cache(maxsize=1)
def builtins() -> dict[str, Builtin]:
    """Name -> :class:`Builtin` for every catalogue function that has an implementation."""
    catalogue = load_catalogue()
    out: dict[str, Builtin] = {}
    for d in definitions():
        decl = catalogue.get(d.name)
        if decl is None:
            raise RuntimeError(f"built-in {d.name} is implemented but not declared in stdlib/functions.yaml")
        entry = out.setdefault(d.name, Builtin(decl))
        if d.overload is not None:
            entry.by_overload[d.overload] = _impl(decl, d)
        else:
            entry.by_arity[d.arity] = _impl(decl, d)
    return out


def lookup(name: str, arity: int, overload: int = 0) -> Impl:
    """The implementation of one call site; a ``KeyError`` means the IR names something unknown."""
    return builtins()[name].resolve(arity, overload)
