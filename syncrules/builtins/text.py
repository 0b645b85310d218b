"""Text built-ins: Left, Right, Mid, InStr, Word, Replace, ReplaceChars, case, trimming, padding, Guid.

Positions are 1-based and counted in code points (not UTF-16 units). Where Microsoft documents the
edge cases (negative lengths, a start past the end, NULL input) the code follows that text even
when it is surprising (``Mid("abc", 9, 1)`` returns the whole input), because rules written
against the real engine rely on it. Decisions on undocumented gaps are listed in
``docs/expressions.md``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from syncrules.builtins._common import (
    SELF,
    WHITESPACE,
    EvalError,
    builtin,
    enum_name,
    expect_int,
    simple_lower,
    simple_upper,
    to_text,
)

_COMPARE = ("vbTextCompare", "vbBinaryCompare")


def _s(value: Any, fname: str) -> str | bytes:
    """A string argument. Other scalars convert as CStr does; binary passes through for the
    functions that Microsoft's own rules apply to binary values (Left, Right, Mid, Len)."""
    if value.__class__ is str or value.__class__ is bytes:
        return value  # type: ignore[no-any-return]
    return to_text(value, fname)


def _text(value: Any, fname: str) -> str:
    if value.__class__ is str:
        return value  # type: ignore[no-any-return]
    if isinstance(value, (bytes, bytearray)):
        raise EvalError(f"{fname}: expected a string, not a binary value")
    return to_text(value, fname)


# ---------------------------------------------------------------------------- substrings


@builtin("Left", 2, nulls=SELF)
def left(string: Any, num_chars: Any) -> Any:
    """Documented: NULL gives "", a negative count gives the input, a long count gives the input."""
    if string is None:
        return ""
    if num_chars is None:
        return None
    s = _s(string, "Left")
    n = expect_int(num_chars, "Left", "character count")
    if n < 0:
        return s
    return s[:n]


@builtin("Right", 2, nulls=SELF)
def right(string: Any, num_chars: Any) -> Any:
    """Same edge cases as Left, counted from the end."""
    if string is None:
        return ""
    if num_chars is None:
        return None
    s = _s(string, "Right")
    n = expect_int(num_chars, "Right", "character count")
    if n < 0:
        return s
    if n == 0:
        return s[:0]
    return s[-n:]


_REST: Any = object()  # marks the two-argument Mid


@builtin("Mid", 2, 3, nulls=SELF)
def mid(string: Any, start: Any, num_chars: Any = _REST) -> Any:
    """Documented: a start outside 1..Len and a negative count both return the input unchanged.

    The two-argument form (used by Microsoft's ``Mid(Item(...),6)``) returns the rest of the
    string from ``start``, with the same start rules.
    """
    if string is None:
        return ""
    if start is None or num_chars is None:
        return None
    s = _s(string, "Mid")
    begin = expect_int(start, "Mid", "start position")
    rest = num_chars is _REST
    n = 0 if rest else expect_int(num_chars, "Mid", "character count")
    if not rest:
        if n == 0:
            return s[:0]
        if n < 0:
            return s
    if begin <= 0 or begin > len(s):
        return s
    return s[begin - 1 :] if rest else s[begin - 1 : begin - 1 + n]


@builtin("Len", 1)
def length(value: Any) -> int:
    """Characters in a string (code points), bytes in a binary value."""
    return len(_s(value, "Len"))


@builtin("Word", 3, nulls=SELF)
def word(string: Any, number: Any, delimiters: Any) -> Any:
    """Words are the non-empty runs between delimiter characters; every character of
    ``delimiters`` separates, and consecutive delimiters do not produce empty words."""
    if string is None:
        return ""
    if number is None or delimiters is None:
        return None
    s = _text(string, "Word")
    n = expect_int(number, "Word", "word number")
    delims = _text(delimiters, "Word")
    if n < 1:
        return ""
    if delims:
        first = delims[0]
        if len(delims) > 1:
            s = s.translate(_delimiter_table(delims))
        words = [w for w in s.split(first) if w]
    else:
        words = [s] if s else []
    return words[n - 1] if n <= len(words) else ""


@lru_cache(maxsize=128)
def _delimiter_table(delims: str) -> dict[int, str]:
    return {ord(c): delims[0] for c in delims}


# ---------------------------------------------------------------------------- searching


def _compare_mode(compare: Any, fname: str) -> bool:
    """True for case-insensitive (vbTextCompare); the default is checked without a lookup."""
    return compare != "vbBinaryCompare" and enum_name(compare, fname, _COMPARE) == "vbTextCompare"


@builtin("InStr", 2, 3, 4)
def instr(stringcheck: Any, stringmatch: Any, start: Any = 1, compare: Any = "vbBinaryCompare") -> int:
    """1-based position of the first match at or after ``start``; 0 when not found (VBA rules:
    a start before 1 is an error, a start past the end finds nothing, an empty match is found
    at ``start``)."""
    check = _text(stringcheck, "InStr")
    match = _text(stringmatch, "InStr")
    begin = expect_int(start, "InStr", "start position")
    if begin < 1:
        raise EvalError(f"InStr: the start position must be 1 or more, not {begin}")
    if begin > len(check):
        return 0
    if _compare_mode(compare, "InStr"):
        check, match = simple_lower(check), simple_lower(match)
    return check.find(match, begin - 1) + 1


@builtin("InStrRev", 2, 3, 4)
def instr_rev(stringcheck: Any, stringmatch: Any, start: Any = -1, compare: Any = "vbBinaryCompare") -> int:
    """1-based position of the last match that ends at or before ``start`` (-1 = the end); 0 when
    not found. VBA rules: a start past the end finds nothing, 0 or below -1 is an error."""
    check = _text(stringcheck, "InStrRev")
    match = _text(stringmatch, "InStrRev")
    end = expect_int(start, "InStrRev", "start position")
    if end == -1:
        end = len(check)
    elif end < 1:
        raise EvalError(f"InStrRev: the start position must be -1 or 1 or more, not {end}")
    if not check or end > len(check):
        return 0
    if not match:
        return end
    if _compare_mode(compare, "InStrRev"):
        check, match = simple_lower(check), simple_lower(match)
    return check.rfind(match, 0, end) + 1


# ---------------------------------------------------------------------------- case and white space


@builtin("LCase", 1)
def lcase(value: Any) -> str:
    return simple_lower(_text(value, "LCase"))


@builtin("UCase", 1)
def ucase(value: Any) -> str:
    return simple_upper(_text(value, "UCase"))


@builtin("PCase", 1)
def pcase(value: Any) -> str:
    """Each space-delimited word: first character upper case, the rest lower case."""
    s = _text(value, "PCase")
    return " ".join(simple_upper(w[:1]) + simple_lower(w[1:]) for w in s.split(" "))


@builtin("Trim", 1)
def trim(value: Any) -> str:
    return _text(value, "Trim").strip(WHITESPACE)


@builtin("LTrim", 1)
def ltrim(value: Any) -> str:
    return _text(value, "LTrim").lstrip(WHITESPACE)


@builtin("RTrim", 1)
def rtrim(value: Any) -> str:
    return _text(value, "RTrim").rstrip(WHITESPACE)


def _pad_args(fname: str, string: Any, length: Any, pad: Any) -> tuple[str, int, str] | str | None:
    if string is None:
        return ""
    if length is None:
        return None
    s = _text(string, fname)
    n = expect_int(length, fname, "length")
    if pad is None:
        raise EvalError(f"{fname}: the pad character must not be NULL")
    p = _text(pad, fname)
    if len(p) != 1:
        raise EvalError(f"{fname}: the pad character must be exactly one character, not {p!r}")
    return s, n, p


@builtin("PadLeft", 3, nulls=SELF)
def pad_left(string: Any, length: Any, pad_character: Any) -> Any:
    args = _pad_args("PadLeft", string, length, pad_character)
    if not isinstance(args, tuple):
        return args
    s, n, p = args
    return s if len(s) >= n else p * (n - len(s)) + s


@builtin("PadRight", 3, nulls=SELF)
def pad_right(string: Any, length: Any, pad_character: Any) -> Any:
    args = _pad_args("PadRight", string, length, pad_character)
    if not isinstance(args, tuple):
        return args
    s, n, p = args
    return s if len(s) >= n else s + p * (n - len(s))


# ---------------------------------------------------------------------------- replacing

_MONIKERS = (("\\n", "\n"), ("\\r", "\r"), ("\\t", "\t"))


def _monikers(text: str) -> str:
    """Replace's ``\\n``, ``\\r`` and ``\\t``: string literals keep backslashes, Replace reads them."""
    if "\\" in text:
        for moniker, char in _MONIKERS:
            text = text.replace(moniker, char)
    return text


@builtin("Replace", 3, nulls=SELF)
def replace(string: Any, old_value: Any, new_value: Any) -> Any:
    """Every occurrence of OldValue becomes NewValue. A NULL or empty OldValue changes nothing; a
    NULL NewValue deletes the matches."""
    if string is None:
        return None
    s = _text(string, "Replace")
    if old_value is None:
        return s
    old = _monikers(_text(old_value, "Replace"))
    if not old:
        return s
    new = "" if new_value is None else _monikers(_text(new_value, "Replace"))
    return s.replace(old, new)


@lru_cache(maxsize=256)
def parse_replace_pattern(pattern: str) -> dict[int, str]:
    """``{source}:{target},...`` with white space ignored; the source is exactly one character.

    Cached: the pattern is nearly always a constant or a parameter, so it is parsed once.
    """
    compact = "".join(c for c in pattern if c not in WHITESPACE)
    table: dict[int, str] = {}
    for entry in compact.split(","):
        if not entry:
            continue
        source, sep, target = entry.partition(":")
        if not sep:
            raise EvalError(f"ReplaceChars: {entry!r} in the pattern has no ':' (write source:target)")
        if len(source) != 1:
            raise EvalError(
                f"ReplaceChars: the source {source!r} in the pattern must be exactly one character"
            )
        if ":" in target:
            raise EvalError(f"ReplaceChars: the target {target!r} in the pattern must not contain ':'")
        table[ord(source)] = target
    return table


@builtin("ReplaceChars", 2, nulls=SELF)
def replace_chars(string: Any, pattern: Any) -> Any:
    """A NULL pattern (e.g. an unset parameter) leaves the string unchanged rather than losing it."""
    if string is None:
        return None
    s = _text(string, "ReplaceChars")
    if pattern is None:
        return s
    return s.translate(parse_replace_pattern(_text(pattern, "ReplaceChars")))


# ---------------------------------------------------------------------------- generated


@builtin("Guid", 0, needs_ctx=True)
def new_guid(ctx: Any) -> str:
    """A new GUID string from the evaluation context (deterministic per seed and object)."""
    return ctx.new_guid()  # type: ignore[no-any-return]
