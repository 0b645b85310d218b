"""The operators: ``& + - * / = <> < <= > >= && ||`` and unary minus.

They follow VBA, the language the expression syntax comes from, where the reference is silent:

* ``&`` joins text; NULL counts as "" unless both sides are NULL (then NULL). Numbers, Booleans,
  references and dates join as their CStr text; two binary values join as bytes (Microsoft's
  device-key rule builds a binary blob that way).
* Arithmetic is on 64-bit integers (``/`` truncates toward zero); NULL in gives NULL out;
  overflow and division by zero are errors, not wrap-arounds.
* Comparisons are exact (case-sensitive, ordinal) on text. A number meets a numeric string as a
  number, a Boolean meets "True"/"False" or a number as a Boolean, a date meets date text as a
  date. Values that cannot meet are unequal for ``=``/``<>`` and an error for ``<`` and friends.
  NULL on either side gives NULL.
* ``&&``/``||`` use three-valued logic (NULL is "unknown": ``NULL && False`` is False,
  ``NULL || True`` is True, otherwise NULL) and stop early when the left side decides.

Like the functions, every operator applies per value to multi-valued operands.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from syncrules.builtins._common import (
    SELF,
    EvalError,
    check_i64,
    expect_int,
    parse_num,
    to_text,
    type_label,
)
from syncrules.builtins.datetime_ import parse_date
from syncrules.builtins.flow import condition
from syncrules.builtins.registry import Impl

_BOTH = (True, True)


def concat(a: Any, b: Any) -> Any:
    if a is None and b is None:
        return None
    if isinstance(a, (bytes, bytearray)) or isinstance(b, (bytes, bytearray)):
        left = b"" if a is None else a
        right = b"" if b is None else b
        if not (isinstance(left, (bytes, bytearray)) and isinstance(right, (bytes, bytearray))):
            raise EvalError("&: cannot join a binary value with a non-binary value")
        return bytes(left) + bytes(right)
    return ("" if a is None else to_text(a, "&")) + ("" if b is None else to_text(b, "&"))


def _num(value: Any, op: str) -> int:
    return expect_int(value, op, "operand")


def add(a: Any, b: Any) -> int:
    return check_i64(_num(a, "+") + _num(b, "+"), "+")


def subtract(a: Any, b: Any) -> int:
    return check_i64(_num(a, "-") - _num(b, "-"), "-")


def multiply(a: Any, b: Any) -> int:
    return check_i64(_num(a, "*") * _num(b, "*"), "*")


def divide(a: Any, b: Any) -> int:
    x, y = _num(a, "/"), _num(b, "/")
    if y == 0:
        raise EvalError("/: division by zero")
    q = abs(x) // abs(y)
    return check_i64(q if (x < 0) == (y < 0) else -q, "/")


def negate(a: Any) -> int:
    return check_i64(-_num(a, "-"), "-")


# ---------------------------------------------------------------------------- comparison

_MISSING: Any = object()


def _bool_of_text(text: str) -> Any:
    t = text.strip().lower()
    if t in ("true", "false"):
        return t == "true"
    n = parse_num(t)
    return _MISSING if n is None else n != 0


def comparable(a: Any, b: Any) -> tuple[Any, Any] | None:
    """The two operands in one comparable form, or None when their types cannot meet."""
    ca, cb = a.__class__, b.__class__
    if isinstance(a, str) and isinstance(b, str):
        return a, b
    if ca is cb and (ca is int or ca is bool or ca is bytes):
        return a, b
    if isinstance(a, _dt.datetime) and isinstance(b, _dt.datetime):
        return a, b
    if ca is int and isinstance(b, str):
        n = parse_num(b)
        return None if n is None else (a, n)
    if isinstance(a, str) and cb is int:
        n = parse_num(a)
        return None if n is None else (n, b)
    if ca is bool and cb is int:
        return a, b != 0
    if ca is int and cb is bool:
        return a != 0, b
    if ca is bool and isinstance(b, str):
        v = _bool_of_text(b)
        return None if v is _MISSING else (a, v)
    if isinstance(a, str) and cb is bool:
        v = _bool_of_text(a)
        return None if v is _MISSING else (v, b)
    if isinstance(a, _dt.datetime) and isinstance(b, str):
        d = parse_date(b)
        return None if d is None else (a, d)
    if isinstance(a, str) and isinstance(b, _dt.datetime):
        d = parse_date(a)
        return None if d is None else (d, b)
    return None


def equal(a: Any, b: Any) -> bool:
    pair = comparable(a, b)
    return pair is not None and pair[0] == pair[1]


def not_equal(a: Any, b: Any) -> bool:
    pair = comparable(a, b)
    return pair is None or pair[0] != pair[1]


def _ordered(op: str, a: Any, b: Any) -> tuple[Any, Any]:
    pair = comparable(a, b)
    if pair is None:
        raise EvalError(f"{op}: cannot compare a {type_label(a)} value with a {type_label(b)} value")
    return pair


def less(a: Any, b: Any) -> bool:
    x, y = _ordered("<", a, b)
    return bool(x < y)


def less_equal(a: Any, b: Any) -> bool:
    x, y = _ordered("<=", a, b)
    return bool(x <= y)


def greater(a: Any, b: Any) -> bool:
    x, y = _ordered(">", a, b)
    return bool(x > y)


def greater_equal(a: Any, b: Any) -> bool:
    x, y = _ordered(">=", a, b)
    return bool(x >= y)


# ---------------------------------------------------------------------------- logic


def kleene_and(a: Any, b: Any) -> bool | None:
    if a is False or b is False:
        return False
    if a is None or b is None:
        return None
    return True


def kleene_or(a: Any, b: Any) -> bool | None:
    if a is True or b is True:
        return True
    if a is None or b is None:
        return None
    return False


def logical_and(a: Any, b: Any) -> bool | None:
    return kleene_and(condition(a, "&&"), condition(b, "&&"))


def logical_or(a: Any, b: Any) -> bool | None:
    return kleene_or(condition(a, "||"), condition(b, "||"))


def _op(symbol: str, fn: Any, nulls: str = "propagate") -> Impl:
    return Impl(symbol, 2, fn, _BOTH, nulls=nulls)


OPERATORS: dict[str, Impl] = {
    "&": _op("&", concat, SELF),
    "+": _op("+", add),
    "-": _op("-", subtract),
    "*": _op("*", multiply),
    "/": _op("/", divide),
    "=": _op("=", equal),
    "<>": _op("<>", not_equal),
    "<": _op("<", less),
    "<=": _op("<=", less_equal),
    ">": _op(">", greater),
    ">=": _op(">=", greater_equal),
    "&&": _op("&&", logical_and, SELF),
    "||": _op("||", logical_or, SELF),
}

NEGATE = Impl("-", 1, negate, (True,))
