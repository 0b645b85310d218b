"""Shared machinery of the built-in functions: the registration decorator and value coercions.

Every built-in is a plain Python function over *scalar, non-NULL* run-time values. Multi-valued
mapping, NULL handling and flow-control sentinels are not repeated in each function: the
registry derives them from the catalogue and the declared null policy, and the evaluator applies
them once, generically (see :mod:`syncrules.builtins.registry`). Keeping the functions scalar is
what makes them short, testable on their own, and fast on the common path.

The coercions here (:func:`to_num`, :func:`to_text`, :func:`to_bool`) are the single definition of
how the language converts between types; CNum/CStr/CBool, the operators and the ``Is...``
predicates all call them so they can never disagree.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from syncrules.runtime.values import EvalError, Ref, type_name

# ---------------------------------------------------------------------------- null policies

PROPAGATE: Final = "propagate"
"""Any NULL argument makes the result NULL; the function never sees NULL (the default)."""

SELF: Final = "self"
"""The function receives NULL arguments and decides itself (documented per function)."""

VARIADIC: Final = -1
"""Arity marker for Switch, whose (condition, value) pairs repeat."""


@dataclass(frozen=True, slots=True)
class Definition:
    """One implementation of one arity (or one specific overload) of a built-in."""

    name: str
    arity: int
    fn: Callable[..., Any]
    nulls: str = PROPAGATE
    needs_ctx: bool = False
    special: bool = False  # compiled by the evaluator itself (IIF, Switch, Select, Where, With)
    overload: int | None = None  # set when one overload of an arity needs its own code


DEFINITIONS: list[Definition] = []


def builtin(
    name: str,
    *arities: int,
    nulls: str = PROPAGATE,
    needs_ctx: bool = False,
    special: bool = False,
    overload: int | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``fn`` as the implementation of ``name`` for each arity given.

    Registration is a side effect of importing the category module; the registry imports them all.
    """

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        for arity in arities:
            DEFINITIONS.append(Definition(name, arity, fn, nulls, needs_ctx, special, overload))
        return fn

    return deco


# ---------------------------------------------------------------------------- numbers

I64_MIN: Final = -(2**63)
I64_MAX: Final = 2**63 - 1


def check_i64(value: int, what: str) -> int:
    """Numbers are 64-bit signed, as in the sync engine; leaving the range is an error, not a wrap."""
    if value < I64_MIN or value > I64_MAX:
        raise EvalError(f"{what}: the result {value} does not fit in a 64-bit number")
    return value


def wrap_i64(value: int) -> int:
    """Two's-complement reinterpretation, for bit operations (so &HFFFFFFFFFFFFFFFF acts as -1)."""
    value &= 0xFFFFFFFFFFFFFFFF
    return value - (1 << 64) if value & (1 << 63) else value


# .NET Char.IsWhiteSpace: what String.Trim removes. Python's own isspace() also strips U+001C..U+001F,
# which .NET keeps, so the set is spelled out.
WHITESPACE: Final = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)

_INT_RE = re.compile(r"[+-]?[0-9]+")
_HEX_RE = re.compile(r"&[Hh][0-9A-Fa-f]+")


def parse_num(text: str) -> int | None:
    """The numeric value of a string, or None. Decimal integers (optional sign) and ``&H`` hex.

    ``num`` is an integer type, so ``"1.5"`` is not numeric; surrounding white space is allowed.
    """
    t = text.strip(WHITESPACE)
    if _INT_RE.fullmatch(t):
        value = int(t)
    elif _HEX_RE.fullmatch(t):
        value = wrap_i64(int(t[2:], 16)) if len(t) - 2 <= 16 else None
        if value is None:
            return None
    else:
        return None
    if value < I64_MIN or value > I64_MAX:
        return None
    return value


def to_num(value: Any, fname: str = "CNum") -> int:
    """CNum's conversion: num as is, numeric strings, booleans (1/0), binary as little-endian unsigned.

    Binary input is what Microsoft's device-key rule relies on (``CNum(Mid([searchableDeviceKey],5,2))``
    reads a little-endian length field).
    """
    cls = value.__class__
    if cls is int:
        return value  # type: ignore[no-any-return]
    if cls is bool:
        return 1 if value else 0
    if isinstance(value, str):
        n = parse_num(value)
        if n is None:
            raise EvalError(f"{fname}: {value!r} is not a number")
        return n
    if isinstance(value, (bytes, bytearray)):
        if len(value) > 8:
            raise EvalError(f"{fname}: a binary value of {len(value)} bytes does not fit in a 64-bit number")
        return (
            int.from_bytes(value, "little", signed=False)
            if len(value) < 8
            else wrap_i64(int.from_bytes(value, "little"))
        )
    raise EvalError(f"{fname}: cannot convert a {type_label(value)} value to a number")


# ---------------------------------------------------------------------------- text


def format_dt(value: _dt.datetime) -> str:
    """The text form of a date (CStr, ``&``): ISO 8601 in UTC, which CDate reads back."""
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text + "Z"


def to_text(value: Any, fname: str = "CStr") -> str:
    """CStr's conversion: strings, references (their DN), numbers, booleans (True/False) and dates."""
    cls = value.__class__
    if cls is str:
        return value  # type: ignore[no-any-return]
    if isinstance(value, str):  # Ref
        return str.__str__(value)
    if cls is bool:
        return "True" if value else "False"
    if cls is int:
        return str(value)
    if isinstance(value, _dt.datetime):
        return format_dt(value)
    raise EvalError(f"{fname}: cannot convert a {type_label(value)} value to a string")


def to_bool(value: Any, fname: str = "CBool") -> bool:
    """CBool's conversion: booleans, numbers (non-zero is True), and the strings True/False or numbers."""
    cls = value.__class__
    if cls is bool:
        return value  # type: ignore[no-any-return]
    if cls is int:
        return value != 0
    if isinstance(value, str):
        t = value.strip(WHITESPACE).lower()
        if t == "true":
            return True
        if t == "false":
            return False
        n = parse_num(t)
        if n is not None:
            return n != 0
        raise EvalError(f"{fname}: {value!r} is not a Boolean (expected True, False or a number)")
    raise EvalError(f"{fname}: cannot convert a {type_label(value)} value to a Boolean")


def simple_upper(text: str) -> str:
    """Upper-case one code point at a time, as .NET does (``ß`` stays ``ß``; lengths never change)."""
    if text.isascii():
        return text.upper()
    return "".join(u if len(u := c.upper()) == 1 else c for c in text)


def simple_lower(text: str) -> str:
    """Lower-case one code point at a time (lengths never change, so positions stay valid)."""
    if text.isascii():
        return text.lower()
    return "".join(lo if len(lo := c.lower()) == 1 else c for c in text)


def type_label(value: Any) -> str:
    """The language's name for a run-time value's type (for messages)."""
    return type_name(value)


def expect_str(value: Any, fname: str, what: str = "argument") -> str:
    if isinstance(value, str):
        return value
    raise EvalError(f"{fname}: the {what} must be a string, not {type_label(value)}")


def expect_int(value: Any, fname: str, what: str = "argument") -> int:
    if value.__class__ is int:
        return value  # type: ignore[no-any-return]
    if isinstance(value, str):
        n = parse_num(value)
        if n is not None:
            return n
    raise EvalError(f"{fname}: the {what} must be a number, not {type_label(value)}")


def expect_bytes(value: Any, fname: str, what: str = "argument") -> bytes:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    raise EvalError(f"{fname}: the {what} must be binary, not {type_label(value)}")


def expect_dt(value: Any, fname: str, what: str = "date") -> _dt.datetime:
    """A date argument; strings are read with CDate so a text date works where a dt is expected."""
    if isinstance(value, _dt.datetime):
        return value
    if isinstance(value, str):
        from syncrules.builtins.datetime_ import parse_date

        parsed = parse_date(value)
        if parsed is not None:
            return parsed
        raise EvalError(f"{fname}: {value!r} is not a date")
    raise EvalError(f"{fname}: the {what} must be a date, not {type_label(value)}")


def enum_name(value: Any, fname: str, allowed: tuple[str, ...]) -> str:
    """An enumeration argument, bare (``UTF8``) or quoted (``"DC"``, as one Microsoft example writes it)."""
    if isinstance(value, str):
        for name in allowed:
            if value == name or value.lower() == name.lower():
                return name
    raise EvalError(f"{fname}: {value!r} is not one of {', '.join(allowed)}")


__all__ = [
    "DEFINITIONS",
    "I64_MAX",
    "I64_MIN",
    "PROPAGATE",
    "SELF",
    "VARIADIC",
    "WHITESPACE",
    "Definition",
    "EvalError",
    "Ref",
    "builtin",
    "check_i64",
    "enum_name",
    "expect_bytes",
    "expect_dt",
    "expect_int",
    "expect_str",
    "format_dt",
    "parse_num",
    "simple_lower",
    "simple_upper",
    "to_bool",
    "to_num",
    "to_text",
    "wrap_i64",
]
