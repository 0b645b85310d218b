"""Run-time value model of the expression language.

Python values stand for the language's types so that built-ins stay plain Python functions:

=========  ===========================================================
type       Python representation
=========  ===========================================================
str        ``str``
num        ``int`` (64-bit signed semantics are enforced by the built-ins)
bool       ``bool``
bin        ``bytes``
dt         ``datetime.datetime`` (timezone-aware, UTC)
ref        :class:`Ref` (a ``str`` subclass holding a DN or object id)
mv*        ``list`` of the scalar values (never nested)
NULL       ``None``
=========  ===========================================================

``AuthoritativeNull`` and ``IgnoreThisFlow`` are distinct singletons so the engine can tell the
three "no value" outcomes apart (NULL falls through to lower precedence, AuthoritativeNull stops
the fall-through and clears, IgnoreThisFlow acts as if the flow did not exist).
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Final


class Ref(str):
    """A reference value: a DN in a connector space, or a metaverse object id."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Ref({str.__repr__(self)})"

    def __reduce__(self) -> tuple[type[Ref], tuple[str]]:
        # Pickled as the class and its text (the default goes through copyreg and costs twice
        # as much): plan results cross to and from the engine's helper process.
        return (Ref, (str(self),))


class _Special:
    """Flow-control sentinels; compared by identity."""

    __slots__ = ("name", "symbol")

    def __init__(self, name: str, symbol: str) -> None:
        self.name = name
        self.symbol = symbol  # the module global that holds it

    def __repr__(self) -> str:
        return self.name

    def __reduce__(self) -> str:
        # Pickled as a reference to the module global, so a sentinel unpickles as the same
        # object and identity comparisons keep working.
        return self.symbol


AUTHORITATIVE_NULL: Final = _Special("AuthoritativeNull", "AUTHORITATIVE_NULL")
IGNORE_THIS_FLOW: Final = _Special("IgnoreThisFlow", "IGNORE_THIS_FLOW")

SPECIALS = (AUTHORITATIVE_NULL, IGNORE_THIS_FLOW)

Value = Any  # str | int | bool | bytes | datetime | Ref | list | None | _Special

UTC = _dt.timezone.utc


def is_special(value: object) -> bool:
    return value is AUTHORITATIVE_NULL or value is IGNORE_THIS_FLOW


def type_name(value: object) -> str:
    """The language type name of a run-time value (used in error messages)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "num"
    if isinstance(value, Ref):
        return "ref"
    if isinstance(value, str):
        return "str"
    if isinstance(value, (bytes, bytearray)):
        return "bin"
    if isinstance(value, _dt.datetime):
        return "dt"
    if isinstance(value, list):
        inner = {type_name(v) for v in value}
        return "mv" + (inner.pop() if len(inner) == 1 else "var")
    if is_special(value):
        return str(value)
    return "var"


class EvalError(Exception):
    """A per-object evaluation error (Error(), conversion failures, out-of-range Item, ...).

    ``code`` is a stable run-time diagnostic code; the engine attaches the object, rule and the
    flow's source span before reporting it.
    """

    def __init__(self, message: str, code: str = "SR601") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class UserError(EvalError):
    """Raised by the Error() built-in; carries the author's message verbatim."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="SR600")
