"""Scoping filters compiled to predicates.

Semantics (the reference leaves most of this open; see docs/engine.md, "Scoping"):

* Comparisons of text are case-insensitive (default rules write ``NOTEQUAL True`` and
  ``NOTEQUAL TRUE`` interchangeably). Numbers compare numerically when both sides are numbers.
* An absent attribute satisfies the negated operators (NOTEQUAL, NOTCONTAINS, NOTSTARTSWITH,
  NOTENDSWITH, ISNOTIN, ISBITNOTSET, ISNOTMEMBEROF) and ISNULL, and fails every other operator.
* On a multi-valued attribute a positive operator holds when any value satisfies it, and a
  negated operator holds when no value satisfies its positive form.
* ISBITSET/ISBITNOTSET take a mask: ``ISBITSET m`` holds when ``value & m == m``.
* ISMEMBEROF looks for the object's DN in the ``member`` attribute of the group with the given DN
  in the same connector space (direct membership only).
* ``%Parameter%`` inside a value is substituted from the parameters of the object's partition.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from syncrules.ir import nodes as ir

# A scope predicate: (attrs, dn, params, member_of) -> bool
Predicate = Callable[[Mapping[str, Any], str, Mapping[str, Any], Callable[[str], bool]], bool]

_PARAM = re.compile(r"%([A-Za-z_][A-Za-z0-9_.\-]*)%")
_NEGATED = {
    "NOTEQUAL": "EQUAL",
    "NOTCONTAINS": "CONTAINS",
    "NOTSTARTSWITH": "STARTSWITH",
    "NOTENDSWITH": "ENDSWITH",
    "ISNOTIN": "ISIN",
    "ISBITNOTSET": "ISBITSET",
    "ISNOTMEMBEROF": "ISMEMBEROF",
}


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, bytes):
        return v.hex()
    return str(v).lower()


def _number(v: Any) -> int | None:
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v
    if isinstance(v, str):
        s = v.strip()
        try:
            if s[:2] in ("&H", "&h"):
                return int(s[2:], 16)
            return int(s)
        except ValueError:
            return None
    return None


def _positive(op: str) -> Callable[[Any, str, int | None], bool]:
    """The test for one value against the clause value, given in lower case and as a number
    (None when it is not one); both are computed once per clause (or parameter set)."""
    if op in ("EQUAL", "ISIN"):

        def eq(v: Any, want: str, want_num: int | None) -> bool:
            if v.__class__ is str:
                return v.lower() == want
            if want_num is not None:
                a = _number(v)
                if a is not None:
                    return a == want_num
            return _text(v) == want

        return eq
    if op == "CONTAINS":
        return lambda v, want, _n: want in _text(v)
    if op == "STARTSWITH":
        return lambda v, want, _n: _text(v).startswith(want)
    if op == "ENDSWITH":
        return lambda v, want, _n: _text(v).endswith(want)
    if op == "ISBITSET":

        def bit(v: Any, want: str, mask: int | None) -> bool:
            a = _number(v)
            return a is not None and mask is not None and (a & mask) == mask

        return bit
    if op in ("LESSTHAN", "LESSTHAN_OR_EQUAL", "GREATERTHAN", "GREATERTHAN_OR_EQUAL"):
        import operator

        cmp = {
            "LESSTHAN": operator.lt,
            "LESSTHAN_OR_EQUAL": operator.le,
            "GREATERTHAN": operator.gt,
            "GREATERTHAN_OR_EQUAL": operator.ge,
        }[op]

        def order(v: Any, want: str, want_num: int | None) -> bool:
            a = _number(v)
            if a is not None and want_num is not None:
                return bool(cmp(a, want_num))
            return bool(cmp(_text(v), want))

        return order
    raise ValueError(op)  # pragma: no cover - the analyser rejects unknown operators


def compile_clause(clause: ir.ScopeClause) -> Predicate:
    """One clause as a predicate. Scoping runs for every rule and every object, so the clause
    value is lowered and parsed as a number once (once per parameter set when it has parameters)."""
    op = clause.operator
    attr = clause.attribute
    raw = clause.value or ""
    has_params = "%" in raw
    fixed = (raw.lower(), _number(raw))
    cache: dict[int, tuple[Mapping[str, Any], tuple[str, int | None]]] = {}

    def value(params: Mapping[str, Any]) -> tuple[str, int | None]:
        if not has_params:
            return fixed
        hit = cache.get(id(params))
        if hit is not None and hit[0] is params:
            return hit[1]
        text = _PARAM.sub(lambda m: str(params.get(m.group(1), m.group(0))), raw)
        out = (text.lower(), _number(text))
        cache[id(params)] = (params, out)
        return out

    is_dn = attr is not None and attr.lower() == "dn"

    def read(attrs: Mapping[str, Any], dn: str) -> Any:
        if attr is None:
            return None
        if is_dn:
            return dn
        return attrs.get(attr)

    if op == "ISNULL":
        return lambda attrs, dn, params, member_of: read(attrs, dn) in (None, "", [])
    if op == "ISNOTNULL":
        return lambda attrs, dn, params, member_of: read(attrs, dn) not in (None, "", [])
    if op in ("ISMEMBEROF", "ISNOTMEMBEROF"):
        negate = op == "ISNOTMEMBEROF"
        return lambda attrs, dn, params, member_of: member_of(_substituted(raw, params)) != negate
    negate = op in _NEGATED
    test = _positive(_NEGATED.get(op, op))

    def predicate(attrs: Mapping[str, Any], dn: str, params: Mapping[str, Any], member_of: Callable[[str], bool]) -> bool:
        current = attrs.get(attr) if not is_dn and attr is not None else read(attrs, dn)
        if current is None or current == "" or current == []:
            return negate
        want, want_num = value(params)
        if current.__class__ is list:
            hit = any(test(v, want, want_num) for v in current)
        else:
            hit = test(current, want, want_num)
        return hit != negate

    return predicate


# Operators whose test on a non-empty string is one string operation on its lower-case form.
_STRING_TESTS = {
    "EQUAL": "{x}.lower() == {want}",
    "NOTEQUAL": "{x}.lower() != {want}",
    "STARTSWITH": "{x}.lower().startswith({want})",
    "NOTSTARTSWITH": "not {x}.lower().startswith({want})",
    "ENDSWITH": "{x}.lower().endswith({want})",
    "NOTENDSWITH": "not {x}.lower().endswith({want})",
    "CONTAINS": "{want} in {x}.lower()",
    "NOTCONTAINS": "{want} not in {x}.lower()",
}


def no_member(_dn: str) -> bool:
    """A ``member_of`` for objects that are in no group: metaverse objects (outbound scoping),
    and where a predicate is evaluated without an object."""
    return False


def clause_source(clause: ir.ScopeClause, pred: Predicate, target: str, call: str) -> list[tuple[int, str]]:
    """Python lines (relative depth, text) that set ``target`` to what ``pred`` (the compiled
    ``clause``) returns, for generated code where ``attrs`` is the object's values and ``call``
    is the expression calling ``pred``.

    Scoping runs for every rule and object, and the default rules' clauses are mostly a string
    compared with a constant or an absent attribute: those cases are decided inline, and every
    other value falls back to ``call``. The inline results for an absent value and for the two
    booleans are what ``pred`` itself returns for them, so they cannot disagree with it; a
    string's is the same test as :func:`_positive`'s for a ``str`` (whose lower-case form is
    compared with the clause value's, numbers or not). Clauses on the DN, with parameters or
    about group membership always call ``pred``.
    """
    raw = clause.value or ""
    attr = clause.attribute
    op = clause.operator
    if attr is None or attr.lower() == "dn" or "%" in raw or op in ("ISMEMBEROF", "ISNOTMEMBEROF"):
        return [(0, f"{target} = {call}")]
    no_params: dict[str, Any] = {}
    absent = bool(pred({}, "", no_params, no_member))
    lines = [(0, f"x = attrs.get({attr!r})"), (0, "if x is None:"), (1, f"{target} = {absent!r}")]
    if op in ("ISNULL", "ISNOTNULL"):
        lines += [(0, 'elif x.__class__ is str and x:'), (1, f"{target} = {op == 'ISNOTNULL'!r}")]
    elif op in _STRING_TESTS:
        test = _STRING_TESTS[op].format(x="x", want=repr(raw.lower()))
        lines += [(0, 'elif x.__class__ is str and x:'), (1, f"{target} = {test}")]
    elif op in ("ISBITSET", "ISBITNOTSET") and _number(raw) is not None:
        mask = _number(raw)
        compare = "==" if op == "ISBITSET" else "!="
        lines += [(0, "elif x.__class__ is int:"), (1, f"{target} = x & {mask!r} {compare} {mask!r}")]
    for flag in (True, False):
        lines += [(0, f"elif x is {flag!r}:"), (1, f"{target} = {bool(pred({attr: flag}, '', no_params, no_member))!r}")]
    lines += [(0, "else:"), (1, f"{target} = {call}")]
    return lines


def _substituted(raw: str, params: Mapping[str, Any]) -> str:
    if "%" not in raw:
        return raw
    return _PARAM.sub(lambda m: str(params.get(m.group(1), m.group(0))), raw)


class CompiledScope:
    """OR of AND-groups; an empty filter holds for every object."""

    __slots__ = ("groups", "clauses")

    def __init__(self, scope: tuple[tuple[ir.ScopeClause, ...], ...]) -> None:
        self.clauses = scope
        self.groups = [[compile_clause(c) for c in group] for group in scope]

    def matches(self, attrs: Mapping[str, Any], dn: str, params: Mapping[str, Any], member_of: Callable[[str], bool]) -> bool:
        if not self.groups:
            return True
        return any(all(p(attrs, dn, params, member_of) for p in group) for group in self.groups)

    def explain(
        self, attrs: Mapping[str, Any], dn: str, params: Mapping[str, Any], member_of: Callable[[str], bool]
    ) -> list[tuple[int, ir.ScopeClause | None]]:
        """Per group, the first clause that failed (None when the group matched)."""
        out: list[tuple[int, ir.ScopeClause | None]] = []
        for gi, (group, clauses) in enumerate(zip(self.groups, self.clauses, strict=True)):
            failed = None
            for p, c in zip(group, clauses, strict=True):
                if not p(attrs, dn, params, member_of):
                    failed = c
                    break
            out.append((gi, failed))
        return out
