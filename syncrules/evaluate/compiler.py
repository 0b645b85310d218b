"""Compile IR expressions into Python closures, once per expression.

``compile_expr(e)`` walks the IR a single time and returns ``run(ctx) -> value``. Nothing is
looked up, parsed or allocated per call that could be done here: built-ins are resolved to their
implementation, constant sub-expressions are folded, and calls get a closure specialised by
arity whose common path ("all arguments are single, non-NULL values") calls the implementation
directly. Multi-valued arguments, NULLs and flow sentinels take the general path in
:meth:`syncrules.builtins.registry.Impl.invoke`. No user text is ever passed to ``eval``/``exec``.

Errors: an :class:`~syncrules.runtime.values.EvalError` (or the :class:`UserError` of ``Error()``)
leaving a compiled expression carries ``span``: the ``origin`` of the innermost IR node that
failed, so a run-time error points at the call in the ``.sync`` file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from syncrules.builtins.flow import condition, per_value_conditions, pick
from syncrules.builtins.operators import NEGATE, OPERATORS
from syncrules.builtins.registry import Impl, compact, lookup
from syncrules.evaluate.context import EvalContext
from syncrules.ir import nodes as ir
from syncrules.runtime.values import EvalError, _Special
from syncrules.source import Span

Compiled = Callable[[EvalContext], Any]

_ODD = frozenset({type(None), list, _Special})  # argument classes that need the general path
_BUG_TYPES = (TypeError, AttributeError, ValueError, OverflowError)
_UNBOUND: Any = object()


def compile_expr(e: ir.Expr) -> Compiled:
    """Compile an IR expression. The result maps an :class:`EvalContext` to a run-time value
    (a multi-valued result has its dropped values removed; no values at all is NULL)."""
    body = _compile(e)
    origin = e.origin

    def run(ctx: EvalContext) -> Any:
        try:
            result = body(ctx)
        except EvalError as exc:
            _attach(exc, origin)
            raise
        if result.__class__ is list:
            return compact(result)
        return result

    return run


def evaluate(e: ir.Expr, ctx: EvalContext) -> Any:
    """Compile and run once. For repeated evaluation keep the result of :func:`compile_expr`."""
    return compile_expr(e)(ctx)


# ---------------------------------------------------------------------------- errors


def _attach(exc: EvalError, origin: Span | None) -> None:
    """The innermost failing node sets the span; enclosing nodes leave it alone."""
    if getattr(exc, "span", None) is None:
        exc.span = origin  # type: ignore[attr-defined]


def _wrong_types(name: str, args: Sequence[Any], exc: Exception, origin: Span | None) -> EvalError:
    """A Python type error inside a built-in means a run-time value of the wrong type reached it
    (possible through ``var``-typed expressions); report it as an evaluation error, not a crash."""
    from syncrules.runtime.values import type_name

    kinds = ", ".join(type_name(a) for a in args)
    err = EvalError(f"{name}: cannot be applied to ({kinds})")
    err.span = origin  # type: ignore[attr-defined]
    err.__cause__ = exc
    return err


# ---------------------------------------------------------------------------- dispatch


def _compile(e: ir.Expr) -> Compiled:
    if isinstance(e, ir.Const):
        return _constant(e.value)
    if isinstance(e, ir.Attr):
        return _attr(e.name)
    if isinstance(e, ir.Param):
        return _param(e.name)
    if isinstance(e, ir.Var):
        return _var(e.name)
    if isinstance(e, ir.EnumValue):
        return _constant(e.value)
    if isinstance(e, ir.CallFn):
        return _call_fn(e)
    if isinstance(e, ir.BinOp):
        return _bin_op(e)
    if isinstance(e, ir.Neg):
        return _call(NEGATE, [_compile(e.operand)], e.origin)
    raise TypeError(f"not an IR expression: {e!r}")


def _constant(value: Any) -> Compiled:
    def const(ctx: EvalContext) -> Any:
        return value

    const.constant = True  # type: ignore[attr-defined]
    return const


def _attr(name: str) -> Compiled:
    def attr(ctx: EvalContext) -> Any:
        value = ctx.attributes.get(name)
        if value.__class__ is list and not value:
            return None
        return value

    return attr


def _param(name: str) -> Compiled:
    def param(ctx: EvalContext) -> Any:
        return ctx.parameters.get(name)

    return param


def _var(name: str) -> Compiled:
    def var(ctx: EvalContext) -> Any:
        return ctx.variables.get(name)

    return var


def _is_constant(f: Compiled) -> bool:
    return getattr(f, "constant", False) is True


# ---------------------------------------------------------------------------- calls


def _call_fn(e: ir.CallFn) -> Compiled:
    impl = lookup(e.name, len(e.args), e.overload)
    if impl.special:
        return _SPECIAL_FORMS[e.name](e)
    return _call(impl, [_compile(a) for a in e.args], e.origin)


def _call(impl: Impl, argfns: list[Compiled], origin: Span | None) -> Compiled:
    folded = _fold(impl, argfns)
    if folded is not None:
        return folded
    fn = impl.fn
    invoke = impl.invoke
    name = impl.name
    if impl.needs_ctx:
        return _call_with_ctx(impl, argfns, origin)
    n = len(argfns)
    if n == 1:
        (f0,) = argfns

        def call1(ctx: EvalContext) -> Any:
            a = f0(ctx)
            try:
                if a.__class__ in _ODD:
                    return invoke((a,), ctx)
                return fn(a)
            except EvalError as exc:
                _attach(exc, origin)
                raise
            except _BUG_TYPES as exc:
                raise _wrong_types(name, (a,), exc, origin) from exc

        return call1
    if n == 2:
        f0, f1 = argfns

        def call2(ctx: EvalContext) -> Any:
            a = f0(ctx)
            b = f1(ctx)
            try:
                if a.__class__ in _ODD or b.__class__ in _ODD:
                    return invoke((a, b), ctx)
                return fn(a, b)
            except EvalError as exc:
                _attach(exc, origin)
                raise
            except _BUG_TYPES as exc:
                raise _wrong_types(name, (a, b), exc, origin) from exc

        return call2
    if n == 3:
        f0, f1, f2 = argfns

        def call3(ctx: EvalContext) -> Any:
            a = f0(ctx)
            b = f1(ctx)
            c = f2(ctx)
            try:
                if a.__class__ in _ODD or b.__class__ in _ODD or c.__class__ in _ODD:
                    return invoke((a, b, c), ctx)
                return fn(a, b, c)
            except EvalError as exc:
                _attach(exc, origin)
                raise
            except _BUG_TYPES as exc:
                raise _wrong_types(name, (a, b, c), exc, origin) from exc

        return call3
    fns = tuple(argfns)

    def calln(ctx: EvalContext) -> Any:
        args = tuple(f(ctx) for f in fns)
        try:
            for a in args:
                if a.__class__ in _ODD:
                    return invoke(args, ctx)
            return fn(*args)
        except EvalError as exc:
            _attach(exc, origin)
            raise
        except _BUG_TYPES as exc:
            raise _wrong_types(name, args, exc, origin) from exc

    return calln


def _call_with_ctx(impl: Impl, argfns: list[Compiled], origin: Span | None) -> Compiled:
    """Now, Guid, RandomNum, ImportedValue, ValueCount: rare enough for the general path."""
    fns = tuple(argfns)
    invoke = impl.invoke
    name = impl.name

    def call_ctx(ctx: EvalContext) -> Any:
        args = tuple(f(ctx) for f in fns)
        try:
            return invoke(args, ctx)
        except EvalError as exc:
            _attach(exc, origin)
            raise
        except _BUG_TYPES as exc:
            raise _wrong_types(name, args, exc, origin) from exc

    return call_ctx


def _fold(impl: Impl, argfns: list[Compiled]) -> Compiled | None:
    """Evaluate a deterministic call on constants once. A call that fails is *not* folded: its
    error must happen at run time, for the object being synchronised, with its span."""
    if impl.needs_ctx or not impl.deterministic or not all(_is_constant(f) for f in argfns):
        return None
    args = tuple(f(None) for f in argfns)  # type: ignore[arg-type]
    try:
        value = impl.invoke(args)
    except (EvalError, *_BUG_TYPES):
        return None
    if value.__class__ is list:
        return None  # a shared list could be mutated by a caller; rebuild it per call
    return _constant(value)


# ---------------------------------------------------------------------------- operators


def _bin_op(e: ir.BinOp) -> Compiled:
    left, right = _compile(e.left), _compile(e.right)
    if e.op == "&&":
        return _logical(OPERATORS["&&"], left, right, e.origin, stop=False)
    if e.op == "||":
        return _logical(OPERATORS["||"], left, right, e.origin, stop=True)
    impl = OPERATORS.get(e.op)
    if impl is None:
        raise ValueError(f"unknown operator {e.op!r}")
    return _call(impl, [left, right], e.origin)


def _logical(impl: Impl, left: Compiled, right: Compiled, origin: Span | None, stop: bool) -> Compiled:
    """``&&`` (stop on False) and ``||`` (stop on True): the right side is not evaluated when the
    left side alone decides; otherwise three-valued logic (see the operators module)."""
    invoke = impl.invoke
    symbol = impl.name

    def logical(ctx: EvalContext) -> Any:
        a = left(ctx)
        try:
            if a is not True and a is not False and a is not None and a.__class__ is not list:
                if a.__class__ is _Special:
                    return a
                a = condition(a, symbol)
            if a is stop:
                return stop
            b = right(ctx)
            if a is not stop and a.__class__ is bool and b.__class__ is bool:
                return b
            return invoke((a, b), ctx)
        except EvalError as exc:
            _attach(exc, origin)
            raise

    return logical


# ---------------------------------------------------------------------------- special forms


def _iif(e: ir.CallFn) -> Compiled:
    """IIF is lazy: only the branch the condition selects is evaluated. A NULL condition selects
    the false branch. A multi-valued condition selects per value (both branches may then run)."""
    fc, ft, ff = (_compile(a) for a in e.args)
    origin = e.origin

    def iif(ctx: EvalContext) -> Any:
        c = fc(ctx)
        if c is True:
            return ft(ctx)
        if c is False or c is None:
            return ff(ctx)
        try:
            if c.__class__ is _Special:
                return c
            if c.__class__ is list:
                return _iif_per_value(c, ft, ff, ctx)
            return ft(ctx) if condition(c, "IIF") else ff(ctx)
        except EvalError as exc:
            _attach(exc, origin)
            raise

    return iif


def _iif_per_value(values: list[Any], ft: Compiled, ff: Compiled, ctx: EvalContext) -> list[Any]:
    conds = per_value_conditions(values, "IIF")
    n = len(conds)
    t = ft(ctx) if any(c is True for c in conds) else None
    f = ff(ctx) if any(c is False or c is None for c in conds) else None
    out: list[Any] = []
    for j, c in enumerate(conds):
        if c.__class__ is _Special:
            out.append(c)
        else:
            out.append(pick(t if c is True else f, j, n, "IIF"))
    return out


def _switch(e: ir.CallFn) -> Compiled:
    """Every condition is evaluated, and every value except a direct ``Error(...)`` (VBA evaluates
    all of Switch's arguments; Microsoft's own example ends with ``True, Error("...")``, which would
    always fail if that value were evaluated eagerly). The first true condition's value wins; no
    true condition gives NULL; an odd number of arguments is a run-time error."""
    origin = e.origin
    if not e.args or len(e.args) % 2:
        count = len(e.args)

        def unpaired(ctx: EvalContext) -> Any:
            err = EvalError(
                f"Switch: arguments must come in (condition, value) pairs; got {count} argument(s)"
            )
            err.span = origin  # type: ignore[attr-defined]
            raise err

        return unpaired
    conds = tuple(_compile(a) for a in e.args[0::2])
    values = tuple(_compile(a) for a in e.args[1::2])
    deferred = tuple(isinstance(a, ir.CallFn) and a.name == "Error" for a in e.args[1::2])

    def switch(ctx: EvalContext) -> Any:
        cs = [f(ctx) for f in conds]
        vs = [None if deferred[i] else f(ctx) for i, f in enumerate(values)]
        try:
            lengths = {len(c) for c in cs if c.__class__ is list}
            if not lengths:
                return _switch_pick(cs, vs, values, deferred, ctx, None, 0)
            if len(lengths) > 1:
                raise EvalError("Switch: multi-valued conditions with different numbers of values")
            n = lengths.pop()
            return [_switch_pick(cs, vs, values, deferred, ctx, j, n) for j in range(n)]
        except EvalError as exc:
            _attach(exc, origin)
            raise

    return switch


def _switch_pick(
    cs: list[Any], vs: list[Any], values: tuple[Compiled, ...], deferred: tuple[bool, ...],
    ctx: EvalContext, j: int | None, n: int,
) -> Any:  # fmt: skip
    for i, c in enumerate(cs):
        if j is not None:
            c = pick(c, j, n, "Switch")
        if c.__class__ is _Special:
            return c
        if condition(c, "Switch") is True:
            v = values[i](ctx) if deferred[i] else vs[i]
            return v if j is None else pick(v, j, n, "Switch")
    return None


def _variable_name(e: ir.CallFn) -> str:
    first = e.args[0]
    if isinstance(first, ir.Var):
        return first.name
    if isinstance(first, ir.Const) and isinstance(first.value, str):
        return first.value
    raise ValueError(f"{e.name}: the first argument must be a $variable, not {first!r}")


def _items(value: Any) -> list[Any] | Any:
    """The values a Select/Where iterates: a single value is one item; NULL is none."""
    value = compact(value)
    if value is None or value.__class__ is _Special:
        return value
    return value if value.__class__ is list else [value]


def _select(e: ir.CallFn) -> Compiled:
    """``Select($v, values, f)``: f for each value with $v bound; NULL results are left out and
    multi-valued results are flattened; no results = NULL."""
    name = _variable_name(e)
    fcoll, ffn = _compile(e.args[1]), _compile(e.args[2])
    origin = e.origin

    def select(ctx: EvalContext) -> Any:
        items = _items(fcoll(ctx))
        if items is None or items.__class__ is _Special:
            return items
        variables = ctx.variables
        saved = variables.get(name, _UNBOUND)
        out: list[Any] = []
        try:
            for item in items:
                variables[name] = item
                r = compact(ffn(ctx))
                if r is None:
                    continue
                if r.__class__ is _Special:
                    return r
                if r.__class__ is list:
                    out.extend(r)
                else:
                    out.append(r)
        except EvalError as exc:
            _attach(exc, origin)
            raise
        finally:
            _restore(variables, name, saved)
        return out or None

    return select


def _where(e: ir.CallFn) -> Compiled:
    """``Where($v, values, condition)``: the values for which the condition is True (NULL is not)."""
    name = _variable_name(e)
    fcoll, fcond = _compile(e.args[1]), _compile(e.args[2])
    origin = e.origin

    def where(ctx: EvalContext) -> Any:
        items = _items(fcoll(ctx))
        if items is None or items.__class__ is _Special:
            return items
        variables = ctx.variables
        saved = variables.get(name, _UNBOUND)
        out: list[Any] = []
        try:
            for item in items:
                variables[name] = item
                c = fcond(ctx)
                if c.__class__ is _Special:
                    return c
                if c.__class__ is list:
                    raise EvalError("Where: the condition must give one value per item, not several")
                if condition(c, "Where") is True:
                    out.append(item)
        except EvalError as exc:
            _attach(exc, origin)
            raise
        finally:
            _restore(variables, name, saved)
        return out or None

    return where


def _with(e: ir.CallFn) -> Compiled:
    """``With($v, value, body)``: value is evaluated once and bound while body is evaluated."""
    name = _variable_name(e)
    fsub, fbody = _compile(e.args[1]), _compile(e.args[2])

    def with_(ctx: EvalContext) -> Any:
        value = compact(fsub(ctx))
        variables = ctx.variables
        saved = variables.get(name, _UNBOUND)
        variables[name] = value
        try:
            return fbody(ctx)
        finally:
            _restore(variables, name, saved)

    return with_


def _restore(variables: dict[str, Any], name: str, saved: Any) -> None:
    if saved is _UNBOUND:
        variables.pop(name, None)
    else:
        variables[name] = saved


_SPECIAL_FORMS: dict[str, Callable[[ir.CallFn], Compiled]] = {
    "IIF": _iif,
    "Switch": _switch,
    "Select": _select,
    "Where": _where,
    "With": _with,
}
