"""Date/time built-ins: CDate's parser, DateAdd, DateFromNum, NumFromDate, FormatDateTime, Now.

Every ``dt`` value is an aware UTC ``datetime``. Active Directory stores dates as FILETIME: 100 ns
ticks since 1601-01-01 UTC; Python keeps microseconds, so the last tick digit is truncated on the
way in (documented in ``docs/expressions.md``). FormatDateTime follows .NET's custom and standard
date format strings with the invariant culture, because Microsoft's default rules use them
(``"yyyyMMddHHmmss.0Z"``).
"""

from __future__ import annotations

import calendar
import datetime as _dt
import operator
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from syncrules.builtins._common import (
    EvalError,
    builtin,
    expect_dt,
    expect_int,
    expect_str,
)
from syncrules.runtime.values import UTC

FILETIME_EPOCH = _dt.datetime(1601, 1, 1, tzinfo=UTC)
_TIMEDELTA = _dt.timedelta
_MAX_TICKS = (_dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC) - FILETIME_EPOCH) // _dt.timedelta(
    microseconds=1
) * 10 + 9

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")  # fmt: skip
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTH_INDEX = {m[:3].lower(): i + 1 for i, m in enumerate(_MONTHS)}

# ---------------------------------------------------------------------------- parsing (CDate)

_MONTH_RE = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_DAY_RE = r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+)?"
_DATE_RE = (
    r"(?:(?P<iy>\d{4})(?P<is>[-/.])(?P<im>\d{1,2})(?P=is)(?P<id>\d{1,2})"  # 2013-01-10, 2013/1/10
    r"|(?P<um>\d{1,2})(?P<us>[-/.])(?P<ud>\d{1,2})(?P=us)(?P<uy>\d{4}|\d{2})"  # 1/10/2013 (month first)
    rf"|{_DAY_RE}(?P<nd>\d{{1,2}})[\s-]+(?P<nm>{_MONTH_RE})[\s,-]+(?P<ny>\d{{4}})"  # 10 Jan 2013
    rf"|{_DAY_RE}(?P<mm>{_MONTH_RE})\s+(?P<md>\d{{1,2}}),?\s+(?P<my>\d{{4}}))"  # Jan 10, 2013
)
_TIME_RE = r"(?P<h>\d{1,2}):(?P<n>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d{1,9}))?)?"
_AMPM_RE = r"(?P<ampm>[AaPp]\.?[Mm]\.?)"
_ZONE_RE = r"(?P<z>[Zz]|(?:UTC|GMT)?(?P<zs>[+-])(?P<zh>\d{1,2})(?::?(?P<zm>\d{2}))?|UTC|GMT)"
_GENERAL = re.compile(
    rf"^\s*{_DATE_RE}(?:(?:\s*T\s*|\s+){_TIME_RE}(?:\s*{_AMPM_RE})?)?\s*{_ZONE_RE}?\s*$", re.IGNORECASE
)
# LDAP generalized time, as FormatDateTime(..., "yyyyMMddHHmmss.0Z") writes it.
_COMPACT = re.compile(
    r"^\s*(?P<y>\d{4})(?P<mo>\d{2})(?P<d>\d{2})(?:(?P<h>\d{2})(?P<n>\d{2})(?P<s>\d{2})?(?:[.,](?P<f>\d{1,9}))?)?"
    r"(?P<z>Z|[+-]\d{4})?\s*$"
)


def _micro(fraction: str | None) -> int:
    return int((fraction or "0")[:6].ljust(6, "0"))


@lru_cache(maxsize=1024)
def parse_date(text: str) -> _dt.datetime | None:
    """Read a date the way CDate does; None when the text is not a date.

    Accepted: ISO (``2013-01-10``, ``2013-01-10T16:00:00Z``), US month-first (``12/25/2007``),
    month names (``10 Jan 2013``, ``Jan 10, 2013``, RFC 1123), LDAP generalized time
    (``20140905081453.0Z``); a time ``H:mm[:ss[.fffffff]]`` with optional AM/PM; a zone ``Z``,
    ``UTC``/``GMT`` or an offset ``-8``, ``+05:30``, ``-0800``. Without a zone the text is UTC.
    Cached because the same constant or attribute text is parsed for object after object.
    """
    m = _COMPACT.match(text)
    if m:
        return _build(m["y"], m["mo"], m["d"], m["h"], m["n"], m["s"], m["f"], None, _compact_zone(m["z"]))
    m = _GENERAL.match(text)
    if not m:
        return None
    if m["iy"]:
        year, month, day = m["iy"], m["im"], m["id"]
    elif m["uy"]:
        year, month, day = m["uy"], m["um"], m["ud"]
        if len(year) == 2:  # .NET's two-digit-year window: 00-49 -> 20xx, 50-99 -> 19xx
            year = str(2000 + int(year) if int(year) < 50 else 1900 + int(year))
    elif m["ny"]:
        year, month, day = m["ny"], str(_MONTH_INDEX[m["nm"][:3].lower()]), m["nd"]
    else:
        year, month, day = m["my"], str(_MONTH_INDEX[m["mm"][:3].lower()]), m["md"]
    return _build(year, month, day, m["h"], m["n"], m["s"], m["f"], m["ampm"], _zone(m))


def _compact_zone(z: str | None) -> int:
    if not z or z == "Z":
        return 0
    sign = -1 if z[0] == "-" else 1
    return sign * (int(z[1:3]) * 60 + int(z[3:5]))


def _zone(m: re.Match[str]) -> int | None:
    """Offset in minutes east of UTC, or None for an invalid offset."""
    if not m["zs"]:
        return 0
    hours, minutes = int(m["zh"]), int(m["zm"] or 0)
    if hours > 14 or minutes > 59:
        return None
    return (-1 if m["zs"] == "-" else 1) * (hours * 60 + minutes)


def _build(
    year: str, month: str, day: str, hour: str | None, minute: str | None, second: str | None,
    fraction: str | None, ampm: str | None, offset: int | None,
) -> _dt.datetime | None:  # fmt: skip
    if offset is None:
        return None
    h = int(hour or 0)
    if ampm:
        if not 1 <= h <= 12:
            return None
        pm = ampm[0] in "Pp"
        h = (h % 12) + (12 if pm else 0)
    try:
        local = _dt.datetime(
            int(year), int(month), int(day), h, int(minute or 0), int(second or 0), _micro(fraction)
        )
        return (local - _dt.timedelta(minutes=offset)).replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        return None


# ---------------------------------------------------------------------------- arithmetic


def _add_months(d: _dt.datetime, months: int) -> _dt.datetime:
    """VBA DateAdd: the day is clamped to the target month's length (Jan 31 + 1 month = Feb 28/29)."""
    index = d.year * 12 + (d.month - 1) + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise EvalError(f"DateAdd: the result year {year} is outside 1..9999")
    day = min(d.day, calendar.monthrange(year, month + 1)[1])
    return d.replace(year=year, month=month + 1, day=day)


_TIME_UNITS = {"y": "days", "d": "days", "w": "days", "h": "hours", "n": "minutes", "s": "seconds"}


@builtin("DateAdd", 3)
def date_add(interval: Any, value: Any, date: Any) -> _dt.datetime:
    """Add ``value`` intervals to a date (VBA's interval letters; ``y`` and ``w`` add days, as in VBA)."""
    unit = expect_str(interval, "DateAdd", "interval").strip().lower()
    n = expect_int(value, "DateAdd", "number")
    d = expect_dt(date, "DateAdd")
    if unit == "yyyy":
        return _add_months(d, 12 * n)
    if unit == "q":
        return _add_months(d, 3 * n)
    if unit == "m":
        return _add_months(d, n)
    if unit == "ww":
        unit, n = "d", 7 * n
    if unit not in _TIME_UNITS:
        raise EvalError(f"DateAdd: unknown interval {interval!r} (use yyyy, q, m, y, d, w, ww, h, n or s)")
    try:
        return d + _dt.timedelta(**{_TIME_UNITS[unit]: n})
    except OverflowError:
        raise EvalError("DateAdd: the result is outside the supported dates (years 1..9999)") from None


@builtin("DateFromNum", 1)
def date_from_num(value: Any) -> _dt.datetime:
    """FILETIME ticks to a date. AD's 'never' (9223372036854775807) is past year 9999 and is an error."""
    ticks = expect_int(value, "DateFromNum", "number")
    if ticks < 0 or ticks > _MAX_TICKS:
        raise EvalError(f"DateFromNum: {ticks} is outside the dates that can be represented (1601..9999)")
    return FILETIME_EPOCH + _TIMEDELTA(0, 0, ticks // 10)  # positional: faster than microseconds=...


@builtin("NumFromDate", 1)
def num_from_date(value: Any) -> int:
    d = expect_dt(value, "NumFromDate")
    delta = d - FILETIME_EPOCH
    if delta.days < 0:
        raise EvalError("NumFromDate: dates before 1601-01-01 have no AD (FILETIME) number")
    return (delta.days * 86400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


@builtin("Now", 0, needs_ctx=True)
def now(ctx: Any) -> _dt.datetime:
    """The context's clock, read once per context so every Now() in one evaluation agrees."""
    return ctx.now  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------- formatting

_STANDARD = {
    "d": "MM/dd/yyyy",
    "D": "dddd, dd MMMM yyyy",
    "f": "dddd, dd MMMM yyyy HH:mm",
    "F": "dddd, dd MMMM yyyy HH:mm:ss",
    "g": "MM/dd/yyyy HH:mm",
    "G": "MM/dd/yyyy HH:mm:ss",
    "m": "MMMM dd",
    "M": "MMMM dd",
    "o": "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
    "O": "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
    "r": "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
    "R": "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
    "s": "yyyy'-'MM'-'dd'T'HH':'mm':'ss",
    "t": "HH:mm",
    "T": "HH:mm:ss",
    "u": "yyyy'-'MM'-'dd HH':'mm':'ss'Z'",
    "U": "dddd, dd MMMM yyyy HH:mm:ss",
    "y": "yyyy MMMM",
    "Y": "yyyy MMMM",
}

_SPECIFIERS = frozenset("dfFghHKmMstyz")


def _digits(value: int, width: int) -> str:
    return str(value).zfill(width)


def _token(d: _dt.datetime, c: str, k: int, out: list[str]) -> str:
    if c == "d":
        return _digits(d.day, k) if k <= 2 else (_DAYS[d.weekday()][:3] if k == 3 else _DAYS[d.weekday()])
    if c == "M":
        return (
            _digits(d.month, k) if k <= 2 else (_MONTHS[d.month - 1][:3] if k == 3 else _MONTHS[d.month - 1])
        )
    if c == "y":
        return _digits(d.year % 100, k) if k <= 2 else _digits(d.year, k)
    if c == "H":
        return _digits(d.hour, min(k, 2))
    if c == "h":
        return _digits(d.hour % 12 or 12, min(k, 2))
    if c == "m":
        return _digits(d.minute, min(k, 2))
    if c == "s":
        return _digits(d.second, min(k, 2))
    if c in "fF":
        if k > 7:
            raise EvalError(f"FormatDateTime: at most 7 '{c}' fraction digits are allowed")
        digits = f"{d.microsecond:06d}0"[:k]
        if c == "F":
            digits = digits.rstrip("0")
            if not digits and out and out[-1].endswith("."):
                out[-1] = out[-1][:-1]  # .NET drops the separator of an all-zero 'F' fraction
        return digits
    if c == "t":
        designator = "AM" if d.hour < 12 else "PM"
        return designator[0] if k == 1 else designator
    if c == "z":
        return "+0" if k == 1 else ("+00" if k == 2 else "+00:00")
    if c == "K":
        return "Z"
    return "A.D."  # g: the era


@lru_cache(maxsize=256)
def _compile_format(fmt: str) -> tuple[tuple[str, int], ...]:
    """Tokenise a format once: (specifier, repeat) pairs, literal text as ('', 0)-tagged strings."""
    if fmt == "":
        fmt = "G"
    if len(fmt) == 1:
        if fmt not in _STANDARD:
            raise EvalError(f"FormatDateTime: {fmt!r} is not a standard date format")
        fmt = _STANDARD[fmt]
    parts: list[tuple[str, int]] = []
    i, n = 0, len(fmt)
    while i < n:
        c = fmt[i]
        if c in _SPECIFIERS:
            j = i
            while j < n and fmt[j] == c:
                j += 1
            parts.append((c, j - i))
            i = j
        elif c in "'\"":
            end = fmt.find(c, i + 1)
            if end < 0:
                raise EvalError(f"FormatDateTime: the quoted text starting at position {i + 1} is not closed")
            parts.append((fmt[i + 1 : end], 0))
            i = end + 1
        elif c == "\\":
            if i + 1 >= n:
                raise EvalError("FormatDateTime: the format ends with a lone backslash")
            parts.append((fmt[i + 1], 0))
            i += 2
        elif c == "%":
            if i + 1 >= n or fmt[i + 1] == "%":
                raise EvalError("FormatDateTime: '%' must be followed by one format specifier")
            i += 1
        else:
            parts.append((c, 0))
            i += 1
    return tuple(parts)


# Specifiers that _token prints as one datetime field, zero-padded (for the repeat counts that
# _field_width accepts), and those whose text does not depend on the date at all.
_FIELDS = {"d": "day", "M": "month", "y": "year", "H": "hour", "m": "minute", "s": "second"}
_DATELESS = frozenset("zKg")
_MAX_PLAN_WIDTH = 32  # wider zero padding (``yyyyyyyy...``) stays on _token's zfill


def _field_width(c: str, k: int) -> int:
    """The zero-padding width _token uses when ``c`` repeated ``k`` times is just a number, else 0."""
    if c == "d" or c == "M":
        return k if k <= 2 else 0  # ddd, MMMM, ...: names
    if c == "y":
        return k if k >= 3 else 0  # y, yy: the year modulo 100
    return min(k, 2)  # H, m, s


@lru_cache(maxsize=256)
def _plan(fmt: str) -> str | tuple[str, Callable[[_dt.datetime], Any]] | None:
    """A format as one ``%`` template over one ``attrgetter`` (``"%04d%02d..." % (year, month, ...)``)
    when every specifier just prints a field zero-padded (``yyyyMMddHHmmss.0Z``, ``s``, ``u``, ...):
    one C-level formatting instead of a Python call per token. A format with no date field at all
    is its text; None when some specifier needs :func:`_token` (names, ``h``, ``t``, ``f``, ``F``,
    ``yy``). Raises what :func:`_compile_format` raises, so errors do not change."""
    template: list[str] = []
    fields: list[str] = []
    for text, repeat in _compile_format(fmt):
        if not repeat:
            template.append(text.replace("%", "%%"))
        elif text in _DATELESS:
            template.append(_token(FILETIME_EPOCH, text, repeat, []).replace("%", "%%"))
        else:
            field = _FIELDS.get(text)
            width = _field_width(text, repeat) if field is not None else 0
            if field is None or not 0 < width <= _MAX_PLAN_WIDTH:
                return None
            template.append(f"%0{width}d")  # == str(value).zfill(width): the values are never negative
            fields.append(field)
    if not fields:
        return "".join(template) % ()
    return "".join(template), operator.attrgetter(*fields)  # one field: a scalar, which % accepts


def format_datetime(d: _dt.datetime, fmt: str) -> str:
    """``d`` written with a .NET format (see :func:`format_date_time`)."""
    plan = _plan(fmt)
    if plan is not None:
        if plan.__class__ is str:
            return plan  # type: ignore[return-value]
        template, fields = plan
        return template % fields(d)  # type: ignore[no-any-return]
    out: list[str] = []
    for text, repeat in _compile_format(fmt):
        out.append(_token(d, text, repeat, out) if repeat else text)
    return "".join(out)


@builtin("FormatDateTime", 2)
def format_date_time(value: Any, fmt: Any) -> str:
    """.NET custom/standard format strings, invariant culture; characters that are not specifiers
    (such as the ``.0Z`` of ``yyyyMMddHHmmss.0Z``) are copied as they are."""
    return format_datetime(expect_dt(value, "FormatDateTime"), expect_str(fmt, "FormatDateTime", "format"))
