"""Static analysis of scoping filters: can two filters match the same object? Can one ever match?

A scoping filter is an OR of groups, each an AND of clauses on attributes of one object. The
questions the linter asks are all satisfiability questions over such formulas:

* **overlap** -- can some object be in scope of both rules? (conflicting flows, two join rules)
* **contradiction** -- can a group match anything at all?
* **tautology** -- does the filter match every object? (its negation is unsatisfiable)
* **implication** -- is every object in scope of rule B also in scope of rule A? (shadowing)

Answers are three-valued (:class:`Tri`): ``SAT`` and ``UNSAT`` are proofs, ``UNKNOWN`` means the
analysis could not decide (parameters in values, multi-valued attributes, mixes of orderings and
patterns). Every check decides for itself what UNKNOWN means, choosing the reading that gives
fewer false positives for that check (docs/linter.md, "Scope analysis").

Semantics assumed (documented in docs/linter.md):

* attributes are independent of one another;
* a positive operator (EQUAL, STARTSWITH, ISNOTNULL, LESSTHAN, ISBITSET, ISIN, ...) is false when
  the attribute is absent; a negated one (NOTEQUAL, NOTSTARTSWITH, ISBITNOTSET, ISNOTIN, ...) is
  true when it is absent -- documented for NOTEQUAL, and what Microsoft's default rules rely on
  for ``adminDescription NOTSTARTSWITH "User_"``;
* text comparisons ignore letter case (Active Directory compares most attributes that way, and
  the default rules write ``TRUE`` and ``True`` interchangeably);
* ``number`` attributes compare as integers; ISBITSET means all bits of the mask are set and
  ISBITNOTSET its negation;
* a value holding a ``%parameter%`` is an unknown constant: it equals itself and nothing else is
  known about it;
* ISMEMBEROF / ISNOTMEMBEROF test a yes/no fact per group DN.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from syncrules.ir import nodes as ir


class Tri(enum.Enum):
    SAT = "sat"
    UNSAT = "unsat"
    UNKNOWN = "unknown"


SAT, UNSAT, UNKNOWN = Tri.SAT, Tri.UNSAT, Tri.UNKNOWN

# Literal modes.
ABSENT = 0  # the attribute has no value
PRESENT = 1  # the attribute has a value and the predicate holds
ABSENT_OR = 2  # the attribute has no value, or the predicate holds

_NEGATE = {
    "eq": "ne", "ne": "eq", "prefix": "nprefix", "nprefix": "prefix", "suffix": "nsuffix",
    "nsuffix": "suffix", "contains": "ncontains", "ncontains": "contains", "lt": "ge", "ge": "lt",
    "le": "gt", "gt": "le", "bits": "nbits", "nbits": "bits",
}  # fmt: skip
_POSITIVE_OPS = {
    "EQUAL": "eq", "LESSTHAN": "lt", "LESSTHAN_OR_EQUAL": "le", "GREATERTHAN": "gt",
    "GREATERTHAN_OR_EQUAL": "ge", "CONTAINS": "contains", "STARTSWITH": "prefix",
    "ENDSWITH": "suffix", "ISIN": "eq", "ISBITSET": "bits",
}  # fmt: skip
_NEGATIVE_OPS = {
    "NOTEQUAL": "ne", "NOTCONTAINS": "ncontains", "NOTSTARTSWITH": "nprefix",
    "NOTENDSWITH": "nsuffix", "ISNOTIN": "ne", "ISBITNOTSET": "nbits",
}  # fmt: skip
# Operators that are false when the attribute is absent.
PRESENCE_OPERATORS = frozenset(_POSITIVE_OPS) | {"ISNOTNULL"}

_NUMBER = re.compile(r"^\s*(-?)(?:([0-9]+)|&[Hh]([0-9A-Fa-f]+))\s*$")
_PARAM = re.compile(r"%[A-Za-z_][A-Za-z0-9_.\-]*%")


@dataclass(frozen=True, slots=True)
class Opaque:
    """A value holding a %parameter%: known only to equal itself."""

    text: str


Value = str | int | bool | Opaque


@dataclass(frozen=True, slots=True)
class Pred:
    op: str
    value: Value

    def negate(self) -> Pred:
        return Pred(_NEGATE[self.op], self.value)


@dataclass(frozen=True, slots=True)
class Literal:
    """One clause (or its negation) as a constraint on one attribute."""

    attr: str
    mode: int
    pred: Pred | None = None
    clause: ir.ScopeClause | None = field(default=None, compare=False, hash=False)

    def negate(self) -> Literal:
        if self.mode == ABSENT:
            return Literal(self.attr, PRESENT, None, self.clause)
        if self.mode == PRESENT:
            if self.pred is None:
                return Literal(self.attr, ABSENT, None, self.clause)
            return Literal(self.attr, ABSENT_OR, self.pred.negate(), self.clause)
        assert self.pred is not None
        return Literal(self.attr, PRESENT, self.pred.negate(), self.clause)


@dataclass(frozen=True, slots=True)
class AttrInfo:
    type: str  # string | number | boolean | binary | reference | datetime
    multi: bool = False


_STRING = AttrInfo("string")


def parse_number(text: str) -> int | None:
    m = _NUMBER.match(text)
    if not m:
        return None
    sign = -1 if m.group(1) else 1
    return sign * (int(m.group(2)) if m.group(2) is not None else int(m.group(3), 16))


def _value(text: str, info: AttrInfo, op: str) -> Value:
    if _PARAM.search(text):
        return Opaque(text)
    if info.type == "number" or op in ("bits", "nbits"):
        n = parse_number(text)
        return n if n is not None else text.casefold()
    if info.type == "boolean" and op in ("eq", "ne"):
        low = text.strip().casefold()
        if low in ("true", "false"):
            return low == "true"
    return text.casefold()


def literal(clause: ir.ScopeClause, info: AttrInfo) -> Literal:
    """The constraint a scope clause puts on its attribute."""
    op = clause.operator
    if op in ("ISMEMBEROF", "ISNOTMEMBEROF"):
        key = "memberof:" + (clause.value or "").casefold()
        return Literal(key, PRESENT if op == "ISMEMBEROF" else ABSENT, None, clause)
    attr = clause.attribute or ""
    if op == "ISNULL":
        return Literal(attr, ABSENT, None, clause)
    if op == "ISNOTNULL":
        return Literal(attr, PRESENT, None, clause)
    text = clause.value or ""
    if op in _POSITIVE_OPS:
        kind = _POSITIVE_OPS[op]
        return Literal(attr, PRESENT, Pred(kind, _value(text, info, kind)), clause)
    kind = _NEGATIVE_OPS[op]
    return Literal(attr, ABSENT_OR, Pred(kind, _value(text, info, kind)), clause)


# ---------------------------------------------------------------------------- value solvers


def holds(pred: Pred, v: Value) -> bool | None:
    """Does the predicate hold for the concrete value ``v``? None when it cannot be told."""
    w = pred.value
    op = pred.op
    if isinstance(w, Opaque) or isinstance(v, Opaque):
        if isinstance(w, Opaque) and isinstance(v, Opaque) and w == v and op in ("eq", "ne"):
            return op == "eq"
        return None
    if op in ("eq", "ne"):
        if type(v) is not type(w):
            return None
        return (v == w) == (op == "eq")
    if op in ("bits", "nbits"):
        if not isinstance(v, int) or isinstance(v, bool) or not isinstance(w, int) or isinstance(w, bool):
            return None
        all_set = (v & w) == w
        return all_set if op == "bits" else not all_set
    if op in ("lt", "le", "gt", "ge"):
        if isinstance(v, bool) or isinstance(w, bool) or type(v) is not type(w):
            return None
        if op == "lt":
            return v < w  # type: ignore[operator]
        if op == "le":
            return v <= w  # type: ignore[operator]
        if op == "gt":
            return v > w  # type: ignore[operator]
        return v >= w  # type: ignore[operator]
    if not isinstance(v, str) or not isinstance(w, str):
        return None
    if op == "prefix":
        return v.startswith(w)
    if op == "nprefix":
        return not v.startswith(w)
    if op == "suffix":
        return v.endswith(w)
    if op == "nsuffix":
        return not v.endswith(w)
    if op == "contains":
        return w in v
    if op == "ncontains":
        return w not in v
    return None  # pragma: no cover - every op is handled above


def _check_candidates(preds: Sequence[Pred], candidates: Iterable[Value]) -> Tri:
    """SAT if some candidate satisfies every predicate; UNKNOWN otherwise (not a proof)."""
    for v in candidates:
        ok = True
        for p in preds:
            if holds(p, v) is not True:
                ok = False
                break
        if ok:
            return SAT
    return UNKNOWN


def _complementary(preds: Sequence[Pred]) -> bool:
    """A predicate together with its own negation."""
    seen = set(preds)
    return any(p.negate() in seen for p in preds)


def _alone(pred: Pred) -> Tri:
    """Satisfiability of a single predicate on a present value."""
    w = pred.value
    if pred.op in ("nprefix", "nsuffix", "ncontains") and w == "":
        return UNSAT
    if pred.op == "nbits" and w == 0:
        return UNSAT
    return SAT


def _solve_eq(preds: Sequence[Pred]) -> Tri | None:
    """When equality pins the value, decide by evaluating every predicate on it."""
    eqs = {p.value for p in preds if p.op == "eq"}
    if not eqs:
        return None
    concrete = {v for v in eqs if not isinstance(v, Opaque)}
    if len(concrete) > 1:
        return UNSAT
    if len(eqs) > 1:
        return UNKNOWN  # a parameter against a literal: cannot tell
    (v,) = tuple(eqs)
    result = SAT
    for p in preds:
        held = holds(p, v)
        if held is False:
            return UNSAT
        if held is None:
            result = UNKNOWN
    return result


_FILLERS = ("", "\u2603", "~", "\u2603\u2603")


def _solve_string(preds: Sequence[Pred]) -> Tri:
    pinned = _solve_eq(preds)
    if pinned is not None:
        return pinned
    prefixes = sorted({p.value for p in preds if p.op == "prefix"}, key=len)  # type: ignore[arg-type]
    suffixes = sorted({p.value for p in preds if p.op == "suffix"}, key=len)  # type: ignore[arg-type]
    contains = sorted({p.value for p in preds if p.op == "contains"})  # type: ignore[type-var]
    if any(not isinstance(v, str) for v in (*prefixes, *suffixes, *contains)):
        return UNKNOWN
    longest_p = prefixes[-1] if prefixes else ""
    longest_s = suffixes[-1] if suffixes else ""
    if any(not longest_p.startswith(p) for p in prefixes) or any(not longest_s.endswith(s) for s in suffixes):
        return UNSAT
    pieces = [longest_p, longest_s, *contains]
    for p in preds:
        w = p.value
        if not isinstance(w, str):
            continue
        # A negative that every value meeting the positives must violate.
        if p.op == "nprefix" and longest_p.startswith(w):
            return UNSAT
        if p.op == "nsuffix" and longest_s.endswith(w):
            return UNSAT
        if p.op == "ncontains" and any(w in piece for piece in pieces):
            return UNSAT
    lows = [p for p in preds if p.op in ("gt", "ge") and isinstance(p.value, str)]
    highs = [p for p in preds if p.op in ("lt", "le") and isinstance(p.value, str)]
    for lo in lows:
        for hi in highs:
            if lo.value > hi.value or (lo.value == hi.value and (lo.op == "gt" or hi.op == "lt")):  # type: ignore[operator]
                return UNSAT
    candidates: list[Value] = []
    for f in _FILLERS:
        middle = f.join(contains)
        candidates.append(longest_p + f + middle + f + longest_s)
        candidates.append(longest_p + middle + longest_s)
    for lo in lows:
        candidates.append(str(lo.value) + "\u2603")
        candidates.append(str(lo.value))
    if not prefixes and not suffixes and not contains:
        candidates.append("")
    result = _check_candidates(preds, candidates)
    if result is SAT:
        return SAT
    if len(preds) == 1:
        return _alone(preds[0])
    return UNKNOWN


def _solve_number(preds: Sequence[Pred]) -> Tri:
    if any(isinstance(p.value, bool) or not isinstance(p.value, int) for p in preds):
        if len(preds) == 1:
            return _alone(preds[0])
        pinned = _solve_eq(preds)
        return pinned if pinned is UNSAT else UNKNOWN
    pinned = _solve_eq(preds)
    if pinned is not None:
        return pinned
    lo: int | None = None
    hi: int | None = None
    must = 0
    for p in preds:
        v = p.value
        assert isinstance(v, int)
        if p.op == "gt":
            lo = v + 1 if lo is None else max(lo, v + 1)
        elif p.op == "ge":
            lo = v if lo is None else max(lo, v)
        elif p.op == "lt":
            hi = v - 1 if hi is None else min(hi, v - 1)
        elif p.op == "le":
            hi = v if hi is None else min(hi, v)
        elif p.op == "bits":
            if v < 0:
                return UNKNOWN
            must |= v
    if lo is not None and hi is not None and lo > hi:
        return UNSAT
    for p in preds:
        if p.op == "nbits":
            assert isinstance(p.value, int)
            if p.value == 0 or (p.value >= 0 and p.value & ~must == 0):
                return UNSAT
    if lo is not None and hi is not None and hi - lo <= 256:
        # A small range: trying every value is a proof either way.
        return SAT if _check_candidates(preds, range(lo, hi + 1)) is SAT else UNSAT
    base = lo if lo is not None else (hi if hi is not None else 0)
    candidates: list[int] = [must, 0, base]
    for k in range(0, 66):
        candidates.append(base + k)
        candidates.append(base - k)
        candidates.append(must | (base + k) if base + k >= 0 else must)
        candidates.append(must | (1 << k))
    if lo is not None and lo > 0:
        candidates.append(must | lo)
        top = 1 << max(lo.bit_length(), must.bit_length())
        candidates.append(top | must)
    if hi is not None:
        candidates.append(hi)
    return _check_candidates(preds, candidates)


def _solve_bool(preds: Sequence[Pred]) -> Tri:
    if all(p.op in ("eq", "ne") and isinstance(p.value, bool) for p in preds):
        # Two values: trying both is a proof either way.
        return SAT if _check_candidates(preds, (True, False)) is SAT else UNSAT
    if len(preds) == 1:
        return _alone(preds[0])
    return UNSAT if _complementary(preds) else UNKNOWN


def _solve_single(preds: Sequence[Pred], info: AttrInfo) -> Tri:
    if not preds:
        return SAT
    if _complementary(preds):
        return UNSAT
    if info.type == "number":
        return _solve_number(preds)
    if info.type == "boolean":
        return _solve_bool(preds)
    if any(isinstance(p.value, Opaque) for p in preds):
        pinned = _solve_eq(preds)
        if pinned is UNSAT:
            return UNSAT
        return _alone(preds[0]) if len(preds) == 1 else UNKNOWN
    if any(isinstance(p.value, (int, bool)) for p in preds):
        return UNKNOWN
    return _solve_string(preds)


_UNIVERSAL = {"ne", "nprefix", "nsuffix", "ncontains", "nbits"}


def _solve_multi(preds: Sequence[Pred], info: AttrInfo) -> Tri:
    """A multi-valued attribute: positive predicates need *some* value, negated ones hold for all.

    Satisfiable exactly when each positive predicate has a witness value that also satisfies
    every negated predicate (different positives may use different values).
    """
    if _complementary(preds):
        return UNSAT
    universal = [p for p in preds if p.op in _UNIVERSAL]
    existential = [p for p in preds if p.op not in _UNIVERSAL]
    single = AttrInfo(info.type, False)
    if not existential:
        return _solve_single(universal, single)
    result = SAT
    for p in existential:
        r = _solve_single([p, *universal], single)
        if r is UNSAT:
            return UNSAT
        if r is UNKNOWN:
            result = UNKNOWN
    return result


def _attribute(lits: Sequence[Literal], info: AttrInfo) -> Tri:
    if not any(lit.mode == PRESENT for lit in lits):
        return SAT  # absent satisfies ISNULL and every negated operator
    if any(lit.mode == ABSENT for lit in lits):
        return UNSAT
    preds = [lit.pred for lit in lits if lit.pred is not None]
    if info.multi:
        return _solve_multi(preds, info)
    return _solve_single(preds, info)


# ---------------------------------------------------------------------------- formulas


class Space:
    """The attributes of one object space (a connector object type or a metaverse object type).

    Holds the attribute types and memoises satisfiability of conjunctions, which the pairwise
    checks ask about again and again.
    """

    def __init__(self, attributes: dict[str, AttrInfo]) -> None:
        self.attributes = attributes
        self._memo: dict[frozenset[Literal], Tri] = {}

    def info(self, attr: str) -> AttrInfo:
        if attr.startswith("memberof:"):
            return AttrInfo("boolean")
        return self.attributes.get(attr, _STRING)

    def group(self, clauses: Sequence[ir.ScopeClause]) -> tuple[Literal, ...]:
        out: list[Literal] = []
        for c in clauses:
            info = self.info(c.attribute or "") if c.attribute else _STRING
            out.append(literal(c, info))
        return tuple(out)

    def sat(self, lits: Iterable[Literal]) -> Tri:
        key = frozenset(lits)
        found = self._memo.get(key)
        if found is not None:
            return found
        by_attr: dict[str, list[Literal]] = {}
        for lit in key:
            by_attr.setdefault(lit.attr, []).append(lit)
        result = SAT
        for attr in sorted(by_attr):
            r = _attribute(by_attr[attr], self.info(attr))
            if r is UNSAT:
                result = UNSAT
                break
            if r is UNKNOWN:
                result = UNKNOWN
        self._memo[key] = result
        return result


Scope = tuple[tuple[Literal, ...], ...]  # OR of groups; () means "no filter": every object
TRUE_SCOPE: Scope = ((),)


def compile_scope(space: Space, rule: ir.Rule) -> Scope:
    if not rule.scope:
        return TRUE_SCOPE
    return tuple(space.group(g) for g in rule.scope)


def overlap(space: Space, a: Scope, b: Scope) -> Tri:
    """Can one object be in both scopes?"""
    result = UNSAT
    for ga in a:
        for gb in b:
            r = space.sat((*ga, *gb))
            if r is SAT:
                return SAT
            if r is UNKNOWN:
                result = UNKNOWN
    return result


def implies_literal(space: Space, group: Sequence[Literal], lit: Literal) -> bool:
    """Is ``lit`` true of every object matching ``group``? (proved, not guessed)"""
    return space.sat((*group, lit.negate())) is UNSAT


def implies(space: Space, narrow: Scope, wide: Scope) -> bool:
    """Is every object in ``narrow`` also in ``wide``? True only when proved."""
    for g in narrow:
        if space.sat(g) is UNSAT:
            continue
        if not any(all(implies_literal(space, g, lit) for lit in w) for w in wide):
            return False
    return True


MAX_TAUTOLOGY_PRODUCT = 512


def tautology(space: Space, scope: Scope) -> Tri:
    """Does the filter match every object? Decided through its negation (CNF expansion)."""
    if any(len(g) == 0 for g in scope):
        return SAT
    size = 1
    for g in scope:
        size *= len(g)
        if size > MAX_TAUTOLOGY_PRODUCT:
            return UNKNOWN
    result = SAT
    combos: list[tuple[Literal, ...]] = [()]
    for g in scope:
        combos = [(*c, lit.negate()) for c in combos for lit in g]
    for combo in combos:
        r = space.sat(combo)
        if r is SAT:
            return UNSAT  # found an object outside the filter
        if r is UNKNOWN:
            result = UNKNOWN
    return result


def requires_presence(group: Sequence[Literal], attr: str) -> Literal | None:
    """A literal of ``group`` that is false whenever ``attr`` has no value."""
    for lit in group:
        if lit.attr == attr and lit.mode == PRESENT:
            return lit
    return None
