"""The code-generating backend: typed IR → Python source → one compiled function per expression.

The closure compiler (:mod:`syncrules.evaluate.compiler`) pays a Python call per IR node and
re-tests every argument's class on every call. This backend writes the whole expression as one
straight-line Python function instead, so a node costs a few bytecodes, and uses the checker's
static types to choose each call's fast path when the code is generated (a ``str``-typed ``Trim``
becomes ``v.strip(_WS)`` guarded by ``v.__class__ is str``). Every fast path is guarded by a run-time
class test and otherwise takes the very same general path as the closure compiler
(:meth:`syncrules.builtins.registry.Impl.invoke`): a schema that lies, a NULL, a multi-valued value
or a flow sentinel gets exactly the closure compiler's answer. Static types only pick which fast
path is worth writing; they are never trusted. Where a call has one run-time argument, the general
path is preceded by ``<value> if x is None``, the value ``invoke`` gives for a NULL ``x``, folded when
the code is generated (an absent attribute is the usual reason to miss the fast path).

Safety: only generated text is compiled. User-originated text (attribute, parameter and variable
names, string literals) reaches the source only as a ``repr`` literal of an exact ``str``/``bytes``/
``int``, or in a comment escaped to printable ASCII; any other value is hoisted into the constants
tuple ``_K``. Local names are generated (``v3``, ``x0``) and never derived from user text. The
function runs in a namespace holding only the helpers put there (``__builtins__`` is empty).

Errors: one ``try`` around the body (free in CPython 3.11+) hands an escaping
:class:`~syncrules.runtime.values.EvalError` to a line table. Every generated line that can fail
belongs to exactly one IR node, so the innermost generated line the exception passed through names
the node whose ``origin`` becomes its ``span`` — the closure compiler's "innermost failing node"
rule. A ``TypeError``-like exception raised on a call's line becomes the closure compiler's "cannot be
applied to" error, built from the argument values read back from the frame's locals.

Paths that would need a branch's code twice (an IIF whose condition is not a plain True/False/NULL,
e.g. a per-value condition; Switch with multi-valued conditions or a deferred ``Error(...)``) call
closures compiled from the same IR nodes, with the ``$variables`` bound at that point pushed into
``ctx.variables``: each branch is generated once, and the rare paths have the closure compiler's
semantics by construction.
"""

from __future__ import annotations

import hashlib
import keyword
import linecache
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from types import TracebackType
from typing import Any

from syncrules.builtins import context as _b_context
from syncrules.builtins import conversion as _b_conversion
from syncrules.builtins import datetime_ as _b_datetime
from syncrules.builtins import evaluation as _b_evaluation
from syncrules.builtins import math_ as _b_math
from syncrules.builtins import multivalued as _b_multivalued
from syncrules.builtins import operators as _b_operators
from syncrules.builtins import text as _b_text
from syncrules.builtins._common import WHITESPACE
from syncrules.builtins.flow import condition
from syncrules.builtins.operators import NEGATE, OPERATORS
from syncrules.builtins.registry import Impl, compact, lookup
from syncrules.evaluate import compiler as _closure
from syncrules.evaluate.compiler import Compiled, compile_expr
from syncrules.ir import nodes as ir
from syncrules.ir.nodes import is_multi
from syncrules.runtime.values import AUTHORITATIVE_NULL, IGNORE_THIS_FLOW, EvalError, _Special
from syncrules.source import Span

__all__ = [
    "MAX_LINES",
    "MAX_LOOP_NESTING",
    "MAX_NESTING",
    "MAX_NODES",
    "CodegenLimitError",
    "compile_expr_py",
    "emit_python",
    "generate_source",
]

MAX_NODES = 4000
"""IR nodes per expression; a larger expression is refused (``compile_expr_py`` uses closures)."""
MAX_NESTING = 60
"""Indentation levels (nested IIF / && / || / Select bodies); CPython's tokenizer stops at 100."""
MAX_LOOP_NESTING = 12
"""Nested Select/Where loops; CPython allows 20 statically nested blocks (the ``try`` is one)."""
MAX_LINES = 20000
"""Generated lines per expression."""

_ODD = _closure._ODD
_BUG_TYPES = _closure._BUG_TYPES

# Static type → the exact run-time class of its common case (the fast-path guard).
_FAST_CLASS = {"str": "str", "num": "int", "bool": "bool", "bin": "bytes"}
_CLASS_NAME: dict[type, str] = {str: "str", int: "int", bool: "bool", bytes: "bytes"}
_OP_NAMES = {
    "&": "cat", "+": "add", "-": "sub", "*": "mul", "/": "div", "=": "eq", "<>": "ne",
    "<": "lt", "<=": "le", ">": "gt", ">=": "ge", "&&": "and", "||": "or",
}  # fmt: skip
_PY_COMPARE = {"=": "==", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_I64_MAX = 2**63 - 1
_NULL_FOLDABLE = frozenset({bool, int, str, bytes, _Special})  # written by literal() as a name or repr
_LITERAL_INT_LIMIT = 2**64  # ints beyond this are hoisted (repr of huge ints can fail)


class CodegenLimitError(ValueError):
    """The expression is past one of the generator's size limits (see ``MAX_*``)."""


# ============================================================================ runtime helpers
#
# Everything generated code can name. A fast-path helper handles only values of the common
# class and hands anything else to the implementation's general path, so it cannot disagree
# with it.


_MISS: Any = object()
"""What a fast-path helper returns for "not the common case": the generated code then takes the
general path on a line of its own. A helper's other results are never lists needing compact()."""


def _strip_each(method: Callable[[str, str], str]) -> Callable[[Any], Any]:
    """Trim/LTrim/RTrim of an ``mvstr`` value: a non-empty list of plain strings maps in one loop."""

    def each(x: Any) -> Any:
        if x.__class__ is list and x:
            out: list[str] = []
            append = out.append
            for v in x:
                if v.__class__ is not str:
                    return _MISS
                append(method(v, WHITESPACE))
            return out
        if x.__class__ is str:
            return method(x, WHITESPACE)
        return _MISS

    return each


def _present_mv(invoke: Callable[..., Any], present: bool) -> Callable[[Any, Any], Any]:
    """IsPresent (``present``) or IsNullOrEmpty of an ``mvstr`` value (whole-value predicates)."""

    def test(x: Any, ctx: Any) -> Any:
        if x.__class__ is str:
            return (x != "") is present
        if x.__class__ is list:
            content = False
            for v in x:
                if v.__class__ is not str:  # NULL, a sentinel or a nested list: compact() matters
                    return invoke((x,), ctx)
                if v:
                    content = True
            return content is present
        return invoke((x,), ctx)

    return test


_SMALL = 16  # below this many values a list membership test beats hashing into a dict


def _dedupe(x: Any) -> Any:
    """RemoveDuplicates of a non-empty list of plain strings (first occurrences, in order)."""
    if x.__class__ is not list or not x:
        return _MISS
    if len(x) > _SMALL:
        for v in x:
            if v.__class__ is not str:
                return _MISS
        return list(dict.fromkeys(x))
    out: list[str] = []
    for v in x:
        if v.__class__ is not str:
            return _MISS
        if v not in out:
            out.append(v)
    return out


def _trim_dedupe(x: Any) -> Any:
    """``RemoveDuplicates(Trim(x))`` (Microsoft's proxyAddresses flow) for a non-empty list of
    plain strings, in one pass; anything else is ``_MISS``."""
    if x.__class__ is not list or not x:
        return _MISS
    if len(x) > _SMALL:
        return _trim_dedupe_large(x)
    out: list[str] = []
    for v in x:
        if v.__class__ is not str:
            return _MISS
        v = v.strip(WHITESPACE)
        if v not in out:
            out.append(v)
    return out


def _trim_dedupe_large(x: list[Any]) -> Any:
    seen: dict[str, None] = {}
    for v in x:
        if v.__class__ is not str:
            return _MISS
        seen[v.strip(WHITESPACE)] = None
    return list(seen)


def _with_binds(ctx: Any, binds: tuple[tuple[str, Any], ...], fn: Callable[..., Any], *args: Any) -> Any:
    """Run closure code with the generated code's ``$variable`` locals visible in ``ctx.variables``
    (closures read bindings from there), restoring the previous bindings afterwards."""
    if not binds:
        return fn(*args)
    variables = ctx.variables
    saved = [(name, variables.get(name, _closure._UNBOUND)) for name, _ in binds]
    for name, value in binds:
        variables[name] = value
    try:
        return fn(*args)
    finally:
        for name, old in reversed(saved):
            _closure._restore(variables, name, old)


class _IifRare:
    """IIF when the condition is not True/False/NULL: a flow sentinel, a per-value list, or a value
    read as a condition. Exactly the closure compiler's code for that case, on closures of the two
    branches (compiled on first use: most IIFs never get here)."""

    __slots__ = ("_branches", "_nodes")

    def __init__(self, then_node: ir.Expr, else_node: ir.Expr) -> None:
        self._nodes = (then_node, else_node)
        self._branches: tuple[Compiled, Compiled] | None = None

    def __call__(self, c: Any, ctx: Any, binds: tuple[tuple[str, Any], ...]) -> Any:
        if c.__class__ is _Special:
            return c
        if self._branches is None:
            self._branches = (_closure._compile(self._nodes[0]), _closure._compile(self._nodes[1]))
        ft, ff = self._branches
        if c.__class__ is list:
            return _with_binds(ctx, binds, _closure._iif_per_value, c, ft, ff, ctx)
        return _with_binds(ctx, binds, ft if condition(c, "IIF") else ff, ctx)


class _SwitchRun:
    """Switch after its conditions and (non-deferred) values are evaluated: the closure compiler's
    selection, with the deferred ``Error(...)`` values as closures."""

    __slots__ = ("_deferred", "_values")

    def __init__(self, values: tuple[ir.Expr, ...], deferred: tuple[bool, ...]) -> None:
        # Compiled now, not lazily: a bad node must fail when the expression is compiled, as it does
        # for the closure compiler. Only Error(...) calls are deferred, so this is cheap.
        self._values: tuple[Compiled | None, ...] = tuple(
            _closure._compile(v) if d else None for v, d in zip(values, deferred, strict=True)
        )
        self._deferred = deferred

    def __call__(
        self, cs: tuple[Any, ...], vs: tuple[Any, ...], ctx: Any, binds: tuple[tuple[str, Any], ...]
    ) -> Any:
        for c in cs:
            if c is not True and c is not False and c is not None:
                break
        else:  # plain conditions: the first True one's value
            for i, c in enumerate(cs):
                if c is True:
                    fn = self._values[i]
                    return vs[i] if fn is None else _with_binds(ctx, binds, fn, ctx)
            return None
        return _with_binds(ctx, binds, self._general, cs, vs, ctx)

    def _general(self, cs: tuple[Any, ...], vs: tuple[Any, ...], ctx: Any) -> Any:
        values, deferred = self._values, self._deferred
        lengths = {len(c) for c in cs if c.__class__ is list}
        if not lengths:
            return _closure._switch_pick(list(cs), list(vs), values, deferred, ctx, None, 0)  # type: ignore[arg-type]
        if len(lengths) > 1:
            raise EvalError("Switch: multi-valued conditions with different numbers of values")
        n = lengths.pop()
        return [_closure._switch_pick(list(cs), list(vs), values, deferred, ctx, j, n) for j in range(n)]  # type: ignore[arg-type]


def _switch_unpaired(count: int) -> Any:
    raise EvalError(f"Switch: arguments must come in (condition, value) pairs; got {count} argument(s)")


def _where_true(c: Any) -> bool:
    """Where's reading of one item's condition (sentinels were handled by the caller)."""
    if c.__class__ is list:
        raise EvalError("Where: the condition must give one value per item, not several")
    return condition(c, "Where") is True


@lru_cache(maxsize=1)
def _runtime() -> dict[str, Any]:
    """The names every generated function may use besides its own (impls, constants, line table)."""
    return {
        "__builtins__": {},  # nothing implicit: no __import__, open, eval, ...
        "list": list,
        "str": str,
        "int": int,
        "bool": bool,
        "bytes": bytes,
        "len": len,
        "EvalError": EvalError,
        "_BUG_TYPES": _BUG_TYPES,
        "_ODD": _ODD,
        "_Special": _Special,
        "_WS": WHITESPACE,
        "_AUTHORITATIVE_NULL": AUTHORITATIVE_NULL,
        "_IGNORE_THIS_FLOW": IGNORE_THIS_FLOW,
        "_compact": compact,
        "_condition": condition,
        "_items": _closure._items,
        "_where_true": _where_true,
        "_switch_unpaired": _switch_unpaired,
        "_trim_dedupe": _trim_dedupe,
        "_dedupe": _dedupe,
        "_each_strip": _strip_each(str.strip),
        "_each_lstrip": _strip_each(str.lstrip),
        "_each_rstrip": _strip_each(str.rstrip),
        "_MISS": _MISS,
    }


@cache
def _fast_helper(kind: str, impl: Impl) -> Callable[[Any, Any], Any]:
    """One shared fast-path helper per (kind, implementation)."""
    if kind == "present_mv":
        return _present_mv(impl.invoke, True)
    if kind == "empty_mv":
        return _present_mv(impl.invoke, False)
    raise KeyError(kind)


# ============================================================================ error mapping


@dataclass(frozen=True, slots=True)
class _Line:
    """What one generated line does, for errors raised on it: the node's effective origin, and for
    a built-in call its name and arguments (``("local", name)`` or ``("const", value)``)."""

    origin: Span | None
    call: str | None = None
    args: tuple[tuple[str, Any], ...] = ()


class _Frames:
    """Maps an exception leaving a generated function back to the IR node that raised it."""

    __slots__ = ("filename", "lines", "root")

    def __init__(self, filename: str, lines: dict[int, _Line], root: Span | None) -> None:
        self.filename = filename
        self.lines = lines
        self.root = root

    def _innermost(self, tb: TracebackType | None) -> TracebackType | None:
        found = None
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == self.filename:
                found = tb
            tb = tb.tb_next
        return found

    def on_error(self, exc: EvalError) -> None:
        """Attach the span of the innermost failing node unless a closure already did."""
        if getattr(exc, "span", None) is not None:
            return
        tb = self._innermost(exc.__traceback__)
        line = self.lines.get(tb.tb_lineno) if tb is not None else None
        exc.span = line.origin if line is not None else self.root  # type: ignore[attr-defined]

    def on_bug(self, exc: BaseException) -> None:
        """A Python type error inside a built-in call is a value of the wrong type reaching it:
        raise the closure compiler's evaluation error. Anywhere else it is a bug: return, and the
        caller re-raises it unchanged."""
        tb = self._innermost(exc.__traceback__)
        line = self.lines.get(tb.tb_lineno) if tb is not None else None
        if tb is None or line is None or line.call is None:
            return
        frame_locals = tb.tb_frame.f_locals
        args = tuple(frame_locals[v] if kind == "local" else v for kind, v in line.args)
        raise _closure._wrong_types(line.call, args, exc, line.origin) from exc  # type: ignore[arg-type]


# ============================================================================ generation


@dataclass(frozen=True, slots=True)
class _Miss:
    """A specialisation that calls a ``_MISS``-returning helper (``fast``), with the general path on
    the following line."""

    fast: str


@dataclass(frozen=True, slots=True)
class _Val:
    """A generated value: a local name or a literal, with its static type. ``fresh`` marks a
    temporary that nothing else reads (it may be overwritten)."""

    code: str
    type: str
    const: bool = False
    value: Any = None
    fresh: bool = False


@dataclass(slots=True)
class _Scope:
    """Locals valid at the current point: cached attribute/parameter reads (a read is reused only
    where it dominates) and the ``$variables`` bound by enclosing Select/Where/With."""

    attrs: dict[Any, str]
    params: dict[Any, str]
    variables: dict[Any, str]

    def branch(self) -> _Scope:
        return _Scope(dict(self.attrs), dict(self.params), dict(self.variables))


@dataclass(frozen=True, slots=True)
class _Unit:
    """The generated function: its source, line table and the names it needs besides _runtime()."""

    name: str
    source: str
    lines: dict[int, _Line]
    namespace: dict[str, Any]
    root: Span | None

    @property
    def filename(self) -> str:
        digest = hashlib.sha1(self.source.encode("utf-8", "surrogatepass")).hexdigest()[:12]
        return f"<syncrules.pygen {self.name} {digest}>"


def _comment(text: object) -> str:
    """Text safe inside a ``#`` comment: printable ASCII only, everything else escaped, so no
    user-controlled character can end the comment line."""
    out = []
    for ch in str(text):
        if " " <= ch <= "~":
            out.append(ch)
        else:
            out.append(
                ch.encode("unicode_escape").decode("ascii") if ord(ch) < 0x10000 else f"\\U{ord(ch):08x}"
            )
    return "".join(out)


def _is_call(e: ir.Expr, fn: Callable[..., Any]) -> bool:
    """``e`` calls the one-argument built-in implemented by ``fn``."""
    if not isinstance(e, ir.CallFn) or len(e.args) != 1:
        return False
    try:
        return lookup(e.name, 1, e.overload).fn is fn
    except KeyError:
        return False


def _identifier(name: str) -> str:
    """A helper-name fragment from a catalogue name (never user text, but checked anyway)."""
    if name in _OP_NAMES:
        return _OP_NAMES[name]
    if name.isascii() and name.isidentifier():
        return name
    return "fn"


class _Generator:
    """One pass over the IR writing straight-line statements, in the closure compiler's evaluation
    order, with a line table entry for every statement that can fail (see the module docstring)."""

    def __init__(self, root: ir.Expr, name: str) -> None:
        self.root = root
        self.name = name
        self.body: list[tuple[int, str, _Line | None]] = []
        self.level = 0
        self.loops = 0
        self.nodes = 0
        self.temps = 0
        self.binders = 0
        self.consts: list[Any] = []
        self.namespace: dict[str, Any] = {}
        self.named: dict[int, str] = {}
        self.invokes: dict[int, str] = {}
        self.uses_attributes = False
        self.covers: list[Span | None] = []  # origins of enclosing nodes whose errors cover children

    # ------------------------------------------------------------------ output

    def emit(self, text: str, line: _Line | None = None, comment: str | None = None) -> None:
        if comment is not None:
            text = f"{text}  # {_comment(comment)}"
        self.body.append((self.level, text, line))
        if len(self.body) > MAX_LINES:
            raise CodegenLimitError(f"more than {MAX_LINES} generated lines")

    def indent(self) -> None:
        self.level += 1
        if self.level > MAX_NESTING:
            raise CodegenLimitError(f"nested deeper than {MAX_NESTING} levels")

    def dedent(self) -> None:
        self.level -= 1

    def temp(self) -> str:
        self.temps += 1
        return f"v{self.temps - 1}"

    def own(self, v: _Val) -> str:
        """A local holding ``v`` that may be overwritten."""
        if v.fresh:
            return v.code
        t = self.temp()
        self.emit(f"{t} = {v.code}")
        return t

    def literal(self, value: Any) -> str:
        """Source text for a constant: ``repr`` of an exact str/bytes/int/bool/None, a named
        sentinel, or a hoisted ``_K[i]`` (never the repr of an arbitrary object)."""
        cls = value.__class__
        if value is None or cls is bool or cls is str or cls is bytes:
            return repr(value)
        if cls is int and -_LITERAL_INT_LIMIT <= value <= _LITERAL_INT_LIMIT:
            return repr(value) if value >= 0 else f"({value!r})"
        if value is AUTHORITATIVE_NULL:
            return "_AUTHORITATIVE_NULL"
        if value is IGNORE_THIS_FLOW:
            return "_IGNORE_THIS_FLOW"
        for i, known in enumerate(self.consts):
            if known is value:
                return f"_K[{i}]"
        self.consts.append(value)
        return f"_K[{len(self.consts) - 1}]"

    def const(self, value: Any, typ: str) -> _Val:
        return _Val(self.literal(value), typ, const=True, value=value)

    def helper(self, obj: Any, base: str) -> str:
        """Name ``obj`` in this unit's namespace (deterministically: first use, then a counter)."""
        name = self.named.get(id(obj))
        if name is not None:
            return name
        name = base
        n = 2
        while name in self.namespace or name in _runtime():
            name = f"{base}_{n}"
            n += 1
        self.namespace[name] = obj
        self.named[id(obj)] = name
        return name

    def fn_name(self, impl: Impl) -> str:
        return self.helper(impl.fn, "_f_" + ("neg" if impl is NEGATE else _identifier(impl.name)))

    def invoke_name(self, impl: Impl) -> str:
        name = self.invokes.get(id(impl))
        if name is None:  # impl.invoke is a new bound method per access: name one per impl
            name = self.helper(impl.invoke, "_g_" + ("neg" if impl is NEGATE else _identifier(impl.name)))
            self.invokes[id(impl)] = name
        return name

    # ------------------------------------------------------------------ origins and lines

    def effective(self, origin: Span | None) -> Span | None:
        """The span an error raised by a node gets: its own origin, else that of the nearest
        enclosing node whose error handling covers it, else the root's (as with closures)."""
        if origin is not None:
            return origin
        for o in reversed(self.covers):
            if o is not None:
                return o
        return self.root.origin

    def line_for(
        self, node: ir.Expr, call: str | None = None, args: list[_Val] | tuple[_Val, ...] = ()
    ) -> _Line:
        spec = tuple(("const", a.value) if a.const else ("local", a.code) for a in args)
        return _Line(self.effective(node.origin), call, spec)

    def binds(self, scope: _Scope) -> str:
        if not scope.variables:
            return "()"
        items = ", ".join(f"({self.literal(name)}, {local})" for name, local in scope.variables.items())
        return f"({items},)"

    # ------------------------------------------------------------------ driver

    def generate(self) -> _Unit:
        result = self.expr(self.root, _Scope({}, {}, {}))
        self.emit(f"return {self.compacted(result)}")
        header = ["# Generated by syncrules.evaluate.pygen from the typed IR. Do not edit."]
        header += [f"# _K[{i}] = {_comment(repr(v))}" for i, v in enumerate(self.consts)]
        out = [*header, f"def {self.name}(ctx):", "    try:"]
        table: dict[int, _Line] = {}
        if self.uses_attributes:
            out.append("        a = ctx.attributes")
        for level, text, line in self.body:
            out.append("    " * (level + 2) + text)
            if line is not None:
                table[len(out)] = line
        out += [
            "    except EvalError as exc:",
            "        _err(exc)",
            "        raise",
            "    except _BUG_TYPES as exc:",
            "        _bug(exc)",
            "        raise",
        ]
        namespace = dict(self.namespace)
        if self.consts:
            namespace["_K"] = tuple(self.consts)
        return _Unit(self.name, "\n".join(out) + "\n", table, namespace, self.root.origin)

    def compacted(self, v: _Val) -> str:
        """``v`` as a flow result / collection item: a list has its dropped values removed."""
        if v.const:
            return f"_compact({v.code})" if v.value.__class__ is list else v.code
        return f"{v.code} if {v.code}.__class__ is not list else _compact({v.code})"

    # ------------------------------------------------------------------ nodes

    def expr(self, e: ir.Expr, scope: _Scope) -> _Val:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise CodegenLimitError(f"more than {MAX_NODES} IR nodes")
        if isinstance(e, ir.Const):
            return self.const(e.value, e.type)
        if isinstance(e, ir.Attr):
            return self.attr(e, scope)
        if isinstance(e, ir.Param):
            return self.param(e, scope)
        if isinstance(e, ir.Var):
            return self.var(e, scope)
        if isinstance(e, ir.EnumValue):
            return self.const(e.value, e.type)
        if isinstance(e, ir.CallFn):
            return self.call_fn(e, scope)
        if isinstance(e, ir.BinOp):
            return self.bin_op(e, scope)
        if isinstance(e, ir.Neg):
            return self.call(NEGATE, [self.expr(e.operand, scope)], e)
        raise TypeError(f"not an IR expression: {e!r}")

    def attr(self, e: ir.Attr, scope: _Scope) -> _Val:
        local = scope.attrs.get(e.name)
        if local is None:
            self.uses_attributes = True
            local = self.temp()
            self.emit(f"{local} = a.get({self.literal(e.name)})")
            self.emit(f"if not {local} and {local}.__class__ is list:")  # no values is NULL
            self.emit(f"    {local} = None")
            scope.attrs[e.name] = local
        return _Val(local, e.type)

    def param(self, e: ir.Param, scope: _Scope) -> _Val:
        local = scope.params.get(e.name)
        if local is None:
            local = self.temp()
            self.emit(f"{local} = ctx.parameters.get({self.literal(e.name)})")
            scope.params[e.name] = local
        return _Val(local, e.type)

    def var(self, e: ir.Var, scope: _Scope) -> _Val:
        local = scope.variables.get(e.name)
        if local is not None:
            return _Val(local, e.type)
        t = self.temp()  # not bound here: whatever the caller put in ctx.variables
        self.emit(f"{t} = ctx.variables.get({self.literal(e.name)})")
        return _Val(t, e.type, fresh=True)

    def bin_op(self, e: ir.BinOp, scope: _Scope) -> _Val:
        if e.op in ("&&", "||"):
            return self.logical(e, scope)
        left = self.expr(e.left, scope)
        right = self.expr(e.right, scope)
        impl = OPERATORS.get(e.op)
        if impl is None:
            raise ValueError(f"unknown operator {e.op!r}")
        return self.call(impl, [left, right], e)

    def call_fn(self, e: ir.CallFn, scope: _Scope) -> _Val:
        impl = lookup(e.name, len(e.args), e.overload)
        if impl.special:
            form = {
                "IIF": self.iif,
                "Switch": self.switch,
                "Select": self.select,
                "Where": self.where,
                "With": self.with_,
            }
            return form[e.name](e, scope)
        if impl.fn is _b_multivalued.remove_duplicates and _is_call(e.args[0], _b_text.trim):
            return self.trim_dedupe(impl, e, scope)
        args = [self.expr(a, scope) for a in e.args]
        return self.call(impl, args, e)

    def trim_dedupe(self, impl: Impl, e: ir.CallFn, scope: _Scope) -> _Val:
        """``RemoveDuplicates(Trim(x))`` on a list of plain strings in one pass; otherwise the two
        calls as usual (each on its own line, so an error still names the right one)."""
        inner = e.args[0]
        assert isinstance(inner, ir.CallFn)
        self.nodes += 1
        trim = lookup(inner.name, len(inner.args), inner.overload)
        x = self.expr(inner.args[0], scope)
        if x.const or x.type != "mvstr":
            return self.call(impl, [self.call(trim, [x], inner)], e)
        r = self.temp()
        self.emit(f"{r} = _trim_dedupe({x.code})", comment="RemoveDuplicates(Trim(...))")
        if e is self.root:
            self.emit(f"if {r} is not _MISS:")
            self.emit(f"    return {r}")
            u = self.call(impl, [self.call(trim, [x], inner)], e)
            self.emit(f"{r} = {u.code}")
        else:
            self.emit(f"if {r} is _MISS:")
            self.indent()
            u = self.call(impl, [self.call(trim, [x], inner)], e)
            self.emit(f"{r} = {u.code}")
            self.dedent()
        return _Val(r, e.type, fresh=True)

    # ------------------------------------------------------------------ calls

    def call(self, impl: Impl, args: list[_Val], node: ir.Expr) -> _Val:
        folded = self.fold(impl, args, node)
        if folded is not None:
            return folded
        spec = self.specialised(impl, args)
        line = self.line_for(node, impl.name, args)
        t = self.temp()
        if isinstance(spec, _Miss):
            general = self.general(impl, args)
            self.emit(f"{t} = {spec.fast}", comment=impl.name)
            self.miss(t, node, general, line, impl.name)
        else:
            self.emit(f"{t} = {spec or self.generic(impl, args)}", line, comment=impl.name)
        return _Val(t, node.type, fresh=True)

    def miss(self, t: str, node: ir.Expr, general: str, line: _Line | None, comment: str) -> None:
        """After ``t = <helper>``: the general path when the helper missed. At the root a hit is
        returned at once: a helper's result never needs compact()."""
        if node is self.root:
            self.emit(f"if {t} is not _MISS:")
            self.emit(f"    return {t}")
            self.emit(f"{t} = {general}", line, comment=comment)
        else:
            self.emit(f"if {t} is _MISS:")
            self.emit(f"    {t} = {general}", line, comment=comment)

    def fold(self, impl: Impl, args: list[_Val], node: ir.Expr) -> _Val | None:
        """Exactly the closure compiler's folding: deterministic calls on constants, evaluated once;
        a failing call is left for run time (its error belongs to the object being synchronised)."""
        if impl.needs_ctx or not impl.deterministic or not all(a.const for a in args):
            return None
        try:
            value = impl.invoke(tuple(a.value for a in args))
        except (EvalError, *_BUG_TYPES):
            return None
        if value.__class__ is list:
            return None
        return self.const(value, node.type)

    def generic(self, impl: Impl, args: list[_Val]) -> str:
        """Call ``fn`` directly when no argument is NULL, a list or a sentinel (as the closure
        compiler does), with the guard chosen from the static types; otherwise ``invoke``."""
        general = self.general(impl, args)
        if impl.needs_ctx:
            return general
        guards = []
        for a in args:
            if a.const:
                if a.value.__class__ in _ODD:
                    return general
                continue
            if is_multi(a.type) or a.type == "mvattr":
                return general  # most likely a list: skip a guard that would fail
            cls = _FAST_CLASS.get(a.type)
            guard = f"{a.code}.__class__ is {cls}" if cls else f"{a.code}.__class__ not in _ODD"
            if guard not in guards:
                guards.append(guard)
        direct = f"{self.fn_name(impl)}({', '.join(a.code for a in args)})"
        if not guards:
            return direct
        return f"({direct} if {' and '.join(guards)} else {general})"

    def general(self, impl: Impl, args: list[_Val]) -> str:
        """The general path of a call (``Impl.invoke``), after the NULL test of :meth:`null_first`."""
        return self.null_first(impl, args, f"{self.invoke_name(impl)}({self.tuple(args)}, ctx)")

    def null_first(self, impl: Impl, args: list[_Val], general: str) -> str:
        """``general`` preceded by ``<value> if <x> is None`` when ``x`` is the call's only
        non-constant argument and the call's value for a NULL ``x`` could be folded now: an absent
        attribute (``IsPresent([x])``, ``Left([x],4)``, ``[x] = True``) then costs one test instead
        of a trip through ``Impl.invoke``. The value is the very result ``invoke`` gives at run time,
        computed as :meth:`fold` computes constant calls (deterministic, no context); a call that
        fails for NULL, or gives anything but a plain literal or a sentinel, is left to ``invoke``."""
        locals_ = {a.code for a in args if not a.const}
        if impl.needs_ctx or not impl.deterministic or len(locals_) != 1:
            return general
        try:
            value = impl.invoke(tuple(a.value if a.const else None for a in args))
        except Exception:  # noqa: BLE001 - whatever it is, run time raises it again (with its span)
            return general
        if value is not None and value.__class__ not in _NULL_FOLDABLE:
            return general
        return f"({self.literal(value)} if {locals_.pop()} is None else {general})"

    @staticmethod
    def tuple(args: list[_Val] | tuple[_Val, ...]) -> str:
        if len(args) == 1:
            return f"({args[0].code},)"
        return "(" + ", ".join(a.code for a in args) + ")"

    def guarded(self, impl: Impl, args: list[_Val], fast: str, classes: list[str | None]) -> str | None:
        """``fast`` when every argument with a class in ``classes`` has exactly that class at run time,
        else the general path. None (no specialisation) when a constant can never match."""
        guards = []
        for a, cls in zip(args, classes, strict=True):
            if cls is None:
                continue
            if a.const:
                if _CLASS_NAME.get(a.value.__class__) != cls:
                    return None
                continue
            guard = f"{a.code}.__class__ is {cls}"
            if guard not in guards:
                guards.append(guard)
        if not guards:
            return None
        return f"({fast} if {' and '.join(guards)} else {self.general(impl, args)})"

    @staticmethod
    def typed(a: _Val, t: str) -> bool:
        """Statically of type ``t``: a constant of that exact class, or a typed non-constant."""
        if a.const:
            return _CLASS_NAME.get(a.value.__class__) == _FAST_CLASS.get(t, "")
        return a.type == t

    def specialised(self, impl: Impl, args: list[_Val]) -> str | _Miss | None:
        """Inline fast paths for the functions Microsoft's rules use most (see docs/codegen.md)."""
        entry = _SPECIALISATIONS.get(impl.fn)
        if entry is None or entry[0] != len(args) or impl.arity != len(args):
            return None
        return entry[1](self, impl, args)

    # ------------------------------------------------------------------ operators

    def logical(self, e: ir.BinOp, scope: _Scope) -> _Val:
        """``&&``/``||``: three-valued, and the right side runs only when the left does not decide."""
        impl = OPERATORS[e.op]
        stop = e.op == "||"
        k = self.own(self.expr(e.left, scope))
        line = self.line_for(e)
        r = self.temp()
        self.emit(
            f"if {k}.__class__ is not bool and {k} is not None and {k}.__class__ is not list"
            f" and {k}.__class__ is not _Special:"
        )
        self.emit(f"    {k} = _condition({k}, {e.op!r})", line)
        self.emit(f"if {k} is {stop} or {k}.__class__ is _Special:")
        self.emit(f"    {r} = {k}")
        self.emit("else:")
        self.indent()
        self.covers.append(e.origin)
        b = self.expr(e.right, scope.branch())
        self.covers.pop()
        general = f"{self.invoke_name(impl)}(({k}, {b.code}), ctx)"
        if b.const:
            text = f"{b.code} if {k} is {not stop} else {general}" if b.value.__class__ is bool else general
        else:
            text = f"{b.code} if {k} is {not stop} and {b.code}.__class__ is bool else {general}"
        self.emit(f"{r} = {text}", line, comment=e.op)
        self.dedent()
        return _Val(r, e.type, fresh=True)

    # ------------------------------------------------------------------ special forms

    def iif(self, e: ir.CallFn, scope: _Scope) -> _Val:
        """Lazy: only the branch the condition selects runs. True/False/NULL conditions are handled
        inline; anything else (sentinel, per-value list, a value read as a condition) goes to the
        closure compiler's code for that case."""
        cond, then_e, else_e = e.args
        c = self.expr(cond, scope)
        if c.const and c.value is True:
            return self.expr(then_e, scope)
        if c.const and (c.value is False or c.value is None):
            return self.expr(else_e, scope)
        r = self.temp()
        rare = self.helper(_IifRare(then_e, else_e), "_iif")
        call = f"{rare}({c.code}, ctx, {self.binds(scope)})"
        if c.const:  # a constant sentinel or a value read as a condition
            self.emit(f"{r} = {call}", self.line_for(e), comment="IIF")
            return _Val(r, e.type, fresh=True)
        k = c.code
        self.emit(f"if {k} is True:")
        self.branch(then_e, scope, r)
        self.emit(f"elif {k} is False or {k} is None:")
        self.branch(else_e, scope, r)
        self.emit("else:")
        self.emit(f"    {r} = {call}", self.line_for(e), comment="IIF")
        return _Val(r, e.type, fresh=True)

    def branch(self, e: ir.Expr, scope: _Scope, result: str) -> None:
        self.indent()
        v = self.expr(e, scope.branch())
        self.emit(f"{result} = {v.code}")
        self.dedent()

    def switch(self, e: ir.CallFn, scope: _Scope) -> _Val:
        """Every condition, then every value except a direct ``Error(...)``, is evaluated (in that
        order, as the closure compiler does); the selection runs in ``_SwitchRun``."""
        if not e.args or len(e.args) % 2:
            t = self.temp()
            self.emit(f"{t} = _switch_unpaired({len(e.args)})", self.line_for(e), comment="Switch")
            return _Val(t, e.type, fresh=True)
        conds = [self.expr(a, scope) for a in e.args[0::2]]
        value_nodes = tuple(e.args[1::2])
        deferred = tuple(isinstance(a, ir.CallFn) and a.name == "Error" for a in value_nodes)
        values = [
            self.const(None, "null") if d else self.expr(a, scope)
            for a, d in zip(value_nodes, deferred, strict=True)
        ]
        run = self.helper(_SwitchRun(value_nodes, deferred), "_switch")
        t = self.temp()
        self.emit(
            f"{t} = {run}({self.tuple(conds)}, {self.tuple(values)}, ctx, {self.binds(scope)})",
            self.line_for(e),
            comment="Switch",
        )
        return _Val(t, e.type, fresh=True)

    def binder(self) -> str:
        self.binders += 1
        return f"x{self.binders - 1}"

    def loop(self, e: ir.CallFn, scope: _Scope) -> tuple[Any, str, str, str, str]:
        """The common head of Select and Where: items, the result and output locals, the loop."""
        name = _closure._variable_name(e)
        coll = self.expr(e.args[1], scope)
        items, r, out, x = self.temp(), self.temp(), self.temp(), self.binder()
        self.emit(f"{items} = _items({coll.code})")
        self.emit(f"if {items} is None or {items}.__class__ is _Special:")
        self.emit(f"    {r} = {items}")
        self.emit("else:")
        self.indent()
        self.emit(f"{out} = []")
        self.emit(f"for {x} in {items}:", comment=e.name)
        self.loops += 1
        if self.loops > MAX_LOOP_NESTING:
            raise CodegenLimitError(f"more than {MAX_LOOP_NESTING} nested Select/Where")
        self.indent()
        return name, items, r, out, x

    def end_loop(self, r: str, out: str) -> None:
        self.dedent()
        self.loops -= 1
        self.emit("else:")
        self.emit(f"    {r} = {out} or None")
        self.dedent()

    def select(self, e: ir.CallFn, scope: _Scope) -> _Val:
        """``Select($v, values, f)``: NULL results left out, lists flattened, none at all = NULL."""
        name, _, r, out, x = self.loop(e, scope)
        inner = scope.branch()
        inner.variables[name] = x
        self.covers.append(e.origin)
        b = self.expr(e.args[2], inner)
        self.covers.pop()
        y = self.temp()
        self.emit(f"{y} = {self.compacted(b)}")
        self.emit(f"if {y} is None:")
        self.emit("    continue")
        self.emit(f"if {y}.__class__ is _Special:")
        self.emit(f"    {r} = {y}")
        self.emit("    break")
        self.emit(f"if {y}.__class__ is list:")
        self.emit(f"    {out}.extend({y})")
        self.emit("else:")
        self.emit(f"    {out}.append({y})")
        self.end_loop(r, out)
        return _Val(r, e.type, fresh=True)

    def where(self, e: ir.CallFn, scope: _Scope) -> _Val:
        """``Where($v, values, condition)``: the values whose condition is True."""
        name, _, r, out, x = self.loop(e, scope)
        inner = scope.branch()
        inner.variables[name] = x
        self.covers.append(e.origin)
        k = self.own(self.expr(e.args[2], inner))
        self.covers.pop()
        self.emit(f"if {k} is True:")
        self.emit(f"    {out}.append({x})")
        self.emit(f"elif {k} is not False and {k} is not None:")
        self.emit(f"    if {k}.__class__ is _Special:")
        self.emit(f"        {r} = {k}")
        self.emit("        break")
        self.emit(f"    if _where_true({k}):", self.line_for(e), comment="Where")
        self.emit(f"        {out}.append({x})")
        self.end_loop(r, out)
        return _Val(r, e.type, fresh=True)

    def with_(self, e: ir.CallFn, scope: _Scope) -> _Val:
        """``With($v, value, body)``: value evaluated once, bound while body is evaluated."""
        name = _closure._variable_name(e)
        sub = self.expr(e.args[1], scope)
        x = self.binder()
        self.emit(f"{x} = {self.compacted(sub)}", comment="With")
        # No branch: reads made in the body dominate what follows, so the caches are shared.
        inner = _Scope(scope.attrs, scope.params, dict(scope.variables))
        inner.variables[name] = x
        return self.expr(e.args[2], inner)


# ============================================================================ specialisations
#
# Each takes the generator, the implementation and the arguments, and returns the right-hand side
# of the call's assignment, or None for the generic path. Each is keyed by the implementation
# function it mirrors, so re-registering a function elsewhere silently disables its fast path
# instead of making it wrong.


def _spec_strip(g: _Generator, impl: Impl, args: list[_Val]) -> str | _Miss | None:
    (x,) = args
    method = {_b_text.trim: "strip", _b_text.ltrim: "lstrip", _b_text.rtrim: "rstrip"}[impl.fn]
    if x.const:
        return None
    if x.type == "str":  # str.strip(WHITESPACE) is exactly Trim of a str
        return g.guarded(impl, args, f"{x.code}.{method}(_WS)", ["str"])
    if x.type == "mvstr":
        return _Miss(f"_each_{method}({x.code})")
    return None


def _spec_left_right(g: _Generator, impl: Impl, args: list[_Val]) -> str | None:
    x, n = args
    if x.const or x.type != "str" or not n.const or n.value.__class__ is not int:
        return None
    k = n.value
    if impl.fn is _b_text.left:
        fast = f"{x.code}[:{k}]" if k >= 0 else x.code
    else:
        fast = f"{x.code}[-{k}:]" if k > 0 else "''" if k == 0 else x.code
    return g.guarded(impl, args, fast, ["str", None])


def _spec_len(g: _Generator, impl: Impl, args: list[_Val]) -> str | None:
    (x,) = args
    if x.const or x.type != "str":
        return None
    return g.guarded(impl, args, f"len({x.code})", ["str"])


def _spec_instr(g: _Generator, impl: Impl, args: list[_Val]) -> str | None:
    x, y = args  # the two-argument form: from position 1, case-sensitive
    if not (g.typed(x, "str") and g.typed(y, "str")):
        return None
    fast = f"({x.code}.find({y.code}) + 1 if {x.code} else 0)"
    return g.guarded(impl, args, fast, ["str", "str"])


def _spec_presence(g: _Generator, impl: Impl, args: list[_Val]) -> str | None:
    (x,) = args
    if x.const:
        return None
    present = impl.fn is _b_evaluation.is_present
    if x.type == "str":
        return g.guarded(impl, args, f"{x.code} != ''" if present else f"{x.code} == ''", ["str"])
    if x.type in ("num", "bool"):  # a number or Boolean is always content
        return g.guarded(impl, args, "True" if present else "False", [_FAST_CLASS[x.type]])
    if x.type == "mvstr":
        kind = "present_mv" if present else "empty_mv"
        helper = g.null_first(impl, args, f"{g.helper(_fast_helper(kind, impl), '_' + kind)}({x.code}, ctx)")
        # One plain value (the usual shape of AD's multi-valued description) needs no call.
        test = f"{x.code}[0] != ''" if present else f"{x.code}[0] == ''"
        return (
            f"({test} if {x.code}.__class__ is list and len({x.code}) == 1"
            f" and {x.code}[0].__class__ is str else {helper})"
        )
    return None


def _spec_is_null(g: _Generator, impl: Impl, args: list[_Val]) -> str | None:
    (x,) = args
    if x.const:
        return None
    general = f"{g.invoke_name(impl)}(({x.code},), ctx)"
    return f"(True if {x.code} is None else False if {x.code}.__class__ not in _ODD else {general})"


def _spec_item(g: _Generator, impl: Impl, args: list[_Val]) -> str | None:
    x, i = args
    if x.const or not i.const or i.value.__class__ is not int or i.value != 1:
        return None
    if x.type == "str":
        return g.guarded(impl, args, x.code, ["str", None])
    if not is_multi(x.type):
        return None
    element = "is str" if x.type == "mvstr" else "not in _ODD"
    general = g.general(impl, args)
    # One value (AD's multi-valued "description"): nothing for compact() to drop.
    return (
        f"({x.code}[0] if {x.code}.__class__ is list and len({x.code}) == 1"
        f" and {x.code}[0].__class__ {element} else {general})"
    )


def _spec_dedupe(g: _Generator, impl: Impl, args: list[_Val]) -> _Miss | None:
    (x,) = args
    if x.const or x.type != "mvstr":
        return None
    return _Miss(f"_dedupe({x.code})")


def _spec_bit_and(g: _Generator, impl: Impl, args: list[_Val]) -> str | None:
    x, y = args
    if y.const and not x.const:
        value, mask = x, y
    elif x.const and not y.const:
        value, mask = y, x
    else:
        return None
    # A mask in [0, 2**63) keeps any integer's AND inside the mask: the 64-bit wrap is a no-op.
    if mask.value.__class__ is not int or not 0 <= mask.value <= _I64_MAX or value.type != "num":
        return None
    classes: list[str | None] = ["int" if a is value else None for a in args]
    return g.guarded(impl, args, f"{value.code} & {mask.code}", classes)


def _spec_identity(g: _Generator, impl: Impl, args: list[_Val]) -> str | None:
    (x,) = args  # CStr of a str, CNum of a num, CBool of a bool: the value itself
    want = {_b_conversion.cstr: "str", _b_conversion.cnum: "num", _b_conversion.cbool: "bool"}[impl.fn]
    if x.const or x.type != want:
        return None
    return g.guarded(impl, args, x.code, [_FAST_CLASS[want]])


def _spec_context_read(g: _Generator, impl: Impl, args: list[_Val]) -> str | None:
    (x,) = args  # ImportedValue("name") / ValueCount("name"): the checker makes the name a literal
    if not x.const or x.value.__class__ is not str:
        return None
    method = "imported_value" if impl.fn is _b_context.imported_value else "value_count"
    return f"ctx.{method}({x.code})"


def _spec_now(g: _Generator, impl: Impl, args: list[_Val]) -> str | None:
    return "ctx.now"


def _spec_guid(g: _Generator, impl: Impl, args: list[_Val]) -> str | None:
    return "ctx.new_guid()"


def _spec_concat(g: _Generator, impl: Impl, args: list[_Val]) -> str | None:
    x, y = args
    if not (g.typed(x, "str") and g.typed(y, "str")):
        return None
    return g.guarded(impl, args, f"{x.code} + {y.code}", ["str", "str"])


def _spec_compare(g: _Generator, impl: Impl, args: list[_Val]) -> str | None:
    """Two values of the same exact class compare as Python compares them (text ordinally)."""
    x, y = args
    for t in ("str", "num", "bool", "bin"):
        if g.typed(x, t) and g.typed(y, t):
            cls = _FAST_CLASS[t]
            return g.guarded(impl, args, f"{x.code} {_PY_COMPARE[impl.name]} {y.code}", [cls, cls])
    return None


_Spec = Callable[[_Generator, Impl, list[_Val]], "str | _Miss | None"]

_SPECIALISATIONS: dict[Callable[..., Any], tuple[int, _Spec]] = {
    _b_text.trim: (1, _spec_strip),
    _b_text.ltrim: (1, _spec_strip),
    _b_text.rtrim: (1, _spec_strip),
    _b_text.left: (2, _spec_left_right),
    _b_text.right: (2, _spec_left_right),
    _b_text.length: (1, _spec_len),
    _b_text.instr: (2, _spec_instr),
    _b_text.new_guid: (0, _spec_guid),
    _b_evaluation.is_present: (1, _spec_presence),
    _b_evaluation.is_null_or_empty: (1, _spec_presence),
    _b_evaluation.is_null: (1, _spec_is_null),
    _b_multivalued.item: (2, _spec_item),
    _b_multivalued.remove_duplicates: (1, _spec_dedupe),
    _b_math.bit_and: (2, _spec_bit_and),
    _b_conversion.cstr: (1, _spec_identity),
    _b_conversion.cnum: (1, _spec_identity),
    _b_conversion.cbool: (1, _spec_identity),
    _b_context.imported_value: (1, _spec_context_read),
    _b_context.value_count: (1, _spec_context_read),
    _b_datetime.now: (0, _spec_now),
    _b_operators.concat: (2, _spec_concat),
    _b_operators.equal: (2, _spec_compare),
    _b_operators.not_equal: (2, _spec_compare),
    _b_operators.less: (2, _spec_compare),
    _b_operators.less_equal: (2, _spec_compare),
    _b_operators.greater: (2, _spec_compare),
    _b_operators.greater_equal: (2, _spec_compare),
}


# ============================================================================ public API


_RESERVED = frozenset({"a", "ctx", "exc"})


def _check_name(name: str) -> None:
    """The generated function's name: a plain identifier that cannot shadow a helper or a local."""
    if (
        not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name)
        or keyword.iskeyword(name)
        or name in _RESERVED
        or name in _runtime()
        or re.fullmatch(r"[vx][0-9]+", name)
    ):
        raise ValueError(f"not usable as the name of a generated function: {name!r}")


def _generate(e: ir.Expr, name: str) -> _Unit:
    _check_name(name)
    return _Generator(e, name).generate()


def generate_source(e: ir.Expr, name: str = "flow") -> str:
    """The Python source of ``def <name>(ctx): ...`` for one expression (deterministic: the same IR
    gives byte-identical text). Raises :class:`CodegenLimitError` past the size limits."""
    return _generate(e, name).source


@lru_cache(maxsize=2048)
def _code(source: str, filename: str) -> Any:
    """Compiled code per distinct source (expressions repeat across rules)."""
    return compile(source, filename, "exec", dont_inherit=True)


def _load(unit: _Unit) -> Compiled:
    filename = unit.filename
    code = _code(unit.source, filename)
    linecache.cache[filename] = (len(unit.source), None, unit.source.splitlines(True), filename)
    frames = _Frames(filename, unit.lines, unit.root)
    namespace = {**_runtime(), **unit.namespace, "_err": frames.on_error, "_bug": frames.on_bug}
    exec(code, namespace)  # generated text only; see the module docstring
    fn: Compiled = namespace[unit.name]
    return fn


def compile_expr_py(e: ir.Expr) -> Compiled:
    """Compile an IR expression to a generated Python function with :func:`compile_expr`'s contract:
    ``fn(ctx)`` gives the same value, or raises the same error with the same ``span``. An expression
    past the generator's size limits is compiled by the closure compiler instead."""
    try:
        unit = _generate(e, "flow")
    except CodegenLimitError:
        return compile_expr(e)
    return _load(unit)


def emit_python(config: ir.Config) -> str:
    """The generated code of every expression flow of ``config``, in rule order, each headed by a
    comment naming the rule, the target attribute and where the flow is written.

    This is a listing for review (``syncrules compile --emit python``): every function is compiled on
    its own, with its own namespace (the runtime helpers, its ``_K`` constants and its line table),
    so names such as ``_K`` or ``_iif0`` are per function.
    """
    out = [
        "# Generated by `syncrules compile --emit python` (syncrules.evaluate.pygen).",
        "# One function per expression flow; each is compiled with its own namespace of runtime",
        "# helpers (_f_*/_g_*: a built-in's fast and general paths; _K: hoisted constants).",
        "",
    ]
    n = 0
    for rule in config.rules:
        for flow in rule.flows:
            if flow.kind != "expression" or flow.expr is None:
                continue
            where = f"{flow.origin.file}:{flow.origin.line}" if flow.origin is not None else "?"
            out.append("")
            out.append(f"# rule {_comment(rule.name)} -> {_comment(flow.target)} ({_comment(where)})")
            name = f"flow_{n}"
            n += 1
            try:
                out.append(generate_source(flow.expr, name))
            except CodegenLimitError as exc:
                out.append(f"# {name}: not generated ({_comment(exc)}); evaluated by the closure compiler\n")
    return "\n".join(out).rstrip("\n") + "\n"
