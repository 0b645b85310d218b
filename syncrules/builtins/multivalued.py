"""Multi-valued built-ins: Contains, Count, Item, ItemOrNull, Join, RemoveDuplicates, Split.

Apart from Split these take the attribute *as a whole* (the evaluator hands them the list, with
values dropped by per-value NULLs already removed). A single-valued input counts as a list of
one value and NULL as a list of none, so ``Count([x])`` is 0 or 1 and never NULL.
Indexes are 1-based, as in Microsoft's reference (``Item([a], Contains([a], "SMTP:"))``).
"""

from __future__ import annotations

from typing import Any

from syncrules.builtins._common import (
    SELF,
    EvalError,
    Ref,
    builtin,
    enum_name,
    expect_int,
    simple_lower,
    to_text,
)


def values_of(attribute: Any) -> list[Any]:
    """The values of a whole-attribute argument: NULL has none, a single value is a list of one."""
    if attribute is None:
        return []
    return attribute if attribute.__class__ is list else [attribute]


def _contains(attribute: Any, search: Any, casetype: Any, exact: bool) -> int:
    values = values_of(attribute)
    if search is None or not values:
        return 0
    needle = to_text(search, "Contains")
    insensitive = (
        casetype is not None
        and enum_name(casetype, "Contains", ("CaseInsensitive", "CaseSensitive")) == "CaseInsensitive"
    )
    if insensitive:
        needle = simple_lower(needle)
    for index, value in enumerate(values, 1):
        if isinstance(value, (bytes, bytearray)):
            continue
        text = to_text(value, "Contains")
        if insensitive:
            text = simple_lower(text)
        if (text == needle) if (exact or isinstance(value, Ref)) else (needle in text):
            return index
    return 0


@builtin("Contains", 2, 3, nulls=SELF)
def contains(attribute: Any, search: Any, casetype: Any = None) -> int:
    """1-based index of the first value that contains ``search`` (case-sensitive unless
    CaseInsensitive), 0 when none does. Reference values must match exactly, not as a substring."""
    return _contains(attribute, search, casetype, exact=False)


@builtin("Contains", 2, nulls=SELF, overload=2)
def contains_ref(attribute: Any, search: Any) -> int:
    """The ``mvref`` overload: a value must equal ``search`` exactly (case-sensitive)."""
    return _contains(attribute, search, None, exact=True)


@builtin("Count", 1, nulls=SELF)
def count(attribute: Any) -> int:
    return len(values_of(attribute))


def _index(index: Any, fname: str) -> int:
    return expect_int(index, fname, "index")


@builtin("Item", 2, nulls=SELF)
def item(attribute: Any, index: Any) -> Any:
    """The value at a 1-based index; an index outside 1..Count (NULL has no values) is an error."""
    if index is None:
        return None
    values = values_of(attribute)
    i = _index(index, "Item")
    if not 1 <= i <= len(values):
        raise EvalError(f"Item: index {i} is out of range (the attribute has {len(values)} value(s))")
    return values[i - 1]


@builtin("ItemOrNull", 2, nulls=SELF)
def item_or_null(attribute: Any, index: Any) -> Any:
    """Like Item, but NULL instead of an error when the index is out of range."""
    if index is None:
        return None
    values = values_of(attribute)
    i = _index(index, "ItemOrNull")
    return values[i - 1] if 1 <= i <= len(values) else None


@builtin("Join", 1, 2, nulls=SELF)
def join(attribute: Any, delimiter: Any = " ") -> Any:
    """Values joined by ``delimiter`` (default one space; NULL or "" joins with nothing).
    Joining NULL gives NULL: there is nothing to join."""
    if attribute is None:
        return None
    sep = "" if delimiter is None else to_text(delimiter, "Join")
    return sep.join(to_text(v, "Join") for v in values_of(attribute))


@builtin("RemoveDuplicates", 1, nulls=SELF)
def remove_duplicates(attribute: Any) -> Any:
    """Exact (case-sensitive) duplicates removed; the first occurrence keeps its position."""
    if attribute is None:
        return None
    return list(dict.fromkeys(values_of(attribute)))


@builtin("Split", 2, 3)
def split(value: Any, delimiter: Any, limit: Any = None) -> Any:
    """Split at a one-character delimiter; empty pieces between delimiters are kept, so positions
    stay meaningful. With ``limit``, at most that many values; the last holds the rest (as .NET's
    String.Split(char[], count) does). Splitting "" gives NULL (no values)."""
    text = to_text(value, "Split")
    sep = to_text(delimiter, "Split")
    if len(sep) != 1:
        raise EvalError(f"Split: the delimiter must be exactly one character, not {sep!r}")
    if limit is None:
        parts = text.split(sep)
    else:
        n = expect_int(limit, "Split", "limit")
        if n < 0:
            raise EvalError(f"Split: the limit must not be negative, not {n}")
        if n == 0:
            return None
        parts = text.split(sep, n - 1)
    return parts if text else None
