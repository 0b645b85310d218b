"""Evaluation built-ins: the ``Is...`` predicates and IsBitSet.

They never return NULL: a predicate answers True or False for every input, NULL included, so it
can always guard an IIF. ``IsNumeric``/``IsDate``/``IsString``/``IsGuid`` are defined as "the matching
conversion would succeed" and call that conversion's own parser, so the pair cannot disagree.

IsNull, IsEmpty, IsNullOrEmpty, IsPresent, IsNumeric, IsDate and IsString take the whole value:
for a multi-valued attribute they answer about the attribute, not per value (Microsoft's rules
call ``IsPresent([proxyAddresses])``).
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from syncrules.builtins._common import SELF, builtin, expect_int, parse_num, wrap_i64
from syncrules.builtins.conversion import parse_guid
from syncrules.builtins.datetime_ import parse_date


def _each(value: Any) -> list[Any]:
    return value if value.__class__ is list else [value]


def _empty(v: Any) -> bool:
    return (isinstance(v, str) and v == "") or (isinstance(v, (bytes, bytearray)) and len(v) == 0)


@builtin("IsNull", 1, nulls=SELF)
def is_null(value: Any) -> bool:
    """NULL only: an absent attribute, or an expression that produced NULL. "" is not NULL."""
    return value is None


@builtin("IsEmpty", 1, nulls=SELF)
def is_empty(value: Any) -> bool:
    """Present but empty: "" or zero-length binary (for multi-valued: every value is empty)."""
    return value is not None and all(_empty(v) for v in _each(value))


@builtin("IsNullOrEmpty", 1, nulls=SELF)
def is_null_or_empty(value: Any) -> bool:
    """The exact opposite of IsPresent."""
    return not is_present(value)


@builtin("IsPresent", 1, nulls=SELF)
def is_present(value: Any) -> bool:
    """Not NULL and not empty. White space counts as content; so do False and 0."""
    if value is None:
        return False
    if value.__class__ is str:  # the common case, kept cheap: IsPresent guards most IIFs
        return value != ""
    return not all(_empty(v) for v in _each(value))


def _numeric(v: Any) -> bool:
    if v.__class__ is int or v.__class__ is bool:
        return True
    if isinstance(v, str):
        return parse_num(v) is not None
    return isinstance(v, (bytes, bytearray)) and len(v) <= 8


@builtin("IsNumeric", 1, nulls=SELF)
def is_numeric(value: Any) -> bool:
    """True exactly when CNum would succeed (so also for binary of up to 8 bytes, which CNum reads)."""
    return value is not None and all(_numeric(v) for v in _each(value))


def _date(v: Any) -> bool:
    return isinstance(v, _dt.datetime) or (isinstance(v, str) and parse_date(v) is not None)


@builtin("IsDate", 1, nulls=SELF)
def is_date(value: Any) -> bool:
    """True exactly when CDate would succeed."""
    return value is not None and all(_date(v) for v in _each(value))


def _stringable(v: Any) -> bool:
    return isinstance(v, (str, int, _dt.datetime))  # bool is an int; binary is the one exclusion


@builtin("IsString", 1, nulls=SELF)
def is_string(value: Any) -> bool:
    """True exactly when CStr would succeed: everything except binary (and NULL). Microsoft's
    rules use it to tell a string ``mS-DS-ConsistencyGuid`` from a binary one."""
    return value is not None and all(_stringable(v) for v in _each(value))


@builtin("IsGuid", 1, nulls=SELF)
def is_guid(value: Any) -> bool:
    """True exactly when CGuid would succeed."""
    return isinstance(value, str) and parse_guid(value) is not None


@builtin("IsBitSet", 2, nulls=SELF)
def is_bit_set(value: Any, flag: Any) -> bool:
    """True when every bit of the mask ``flag`` is set in ``value`` (64-bit two's complement)."""
    if value is None or flag is None:
        return False
    v = wrap_i64(expect_int(value, "IsBitSet", "value"))
    mask = wrap_i64(expect_int(flag, "IsBitSet", "flag"))
    return (v & mask) == mask
