"""Facts about IR expressions that several lint rules need.

Which sub-expressions can be a flow's *result* (and under which branch condition), constant
folding of conditions, and a conservative upper bound on the length of a text value. All work on
the IR (:mod:`syncrules.ir.nodes`), where names and overloads are already resolved.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from syncrules.ir import nodes as ir
from syncrules.runtime.values import AUTHORITATIVE_NULL, IGNORE_THIS_FLOW


def walk(expr: ir.Expr) -> Iterator[ir.Expr]:
    """``expr`` and every sub-expression, pre-order."""
    stack: list[ir.Expr] = [expr]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ir.CallFn):
            stack.extend(reversed(node.args))
        elif isinstance(node, ir.BinOp):
            stack.append(node.right)
            stack.append(node.left)
        elif isinstance(node, ir.Neg):
            stack.append(node.operand)


@dataclass(frozen=True, slots=True)
class Outcome:
    """A sub-expression that can be the value of the whole expression.

    ``conditions`` are the branch conditions on the way there, each with the polarity that leads
    to this outcome (``(cond, True)`` for an IIF's then-branch). ``guarded`` says whether at least
    one IIF/Switch branch was passed, i.e. the outcome does not happen for every object.
    """

    node: ir.Expr
    conditions: tuple[tuple[ir.Expr, bool], ...]

    @property
    def guarded(self) -> bool:
        return bool(self.conditions)


def outcomes(expr: ir.Expr) -> Iterator[Outcome]:
    """The possible results of an expression, looking through IIF, Switch and With."""
    stack: list[tuple[ir.Expr, tuple[tuple[ir.Expr, bool], ...]]] = [(expr, ())]
    while stack:
        node, conds = stack.pop()
        if isinstance(node, ir.CallFn) and node.name == "IIF" and len(node.args) == 3:
            cond = node.args[0]
            stack.append((node.args[2], (*conds, (cond, False))))
            stack.append((node.args[1], (*conds, (cond, True))))
            continue
        if isinstance(node, ir.CallFn) and node.name == "Switch" and len(node.args) >= 2:
            pairs = list(zip(node.args[0::2], node.args[1::2], strict=False))  # odd count: SR201
            branch: list[tuple[ir.Expr, tuple[tuple[ir.Expr, bool], ...]]] = []
            before: tuple[tuple[ir.Expr, bool], ...] = ()
            for cond, value in pairs:
                branch.append((value, (*conds, *before, (cond, True))))
                before = (*before, (cond, False))
            stack.extend(reversed(branch))
            continue
        if isinstance(node, ir.CallFn) and node.name == "With" and len(node.args) == 3:
            stack.append((node.args[2], conds))
            continue
        yield Outcome(node, conds)


def is_null(node: ir.Expr) -> bool:
    return isinstance(node, ir.Const) and node.type == "null"


def is_authoritative_null(node: ir.Expr) -> bool:
    return isinstance(node, ir.Const) and node.value is AUTHORITATIVE_NULL


def is_ignore(node: ir.Expr) -> bool:
    return isinstance(node, ir.Const) and node.value is IGNORE_THIS_FLOW


def is_error(node: ir.Expr) -> bool:
    return isinstance(node, ir.CallFn) and node.name == "Error"


def unguarded_errors(expr: ir.Expr) -> Iterator[ir.CallFn]:
    """Error() calls reached for every object: not inside any IIF/Switch branch."""
    stack: list[tuple[ir.Expr, bool]] = [(expr, False)]
    while stack:
        node, guarded = stack.pop()
        if isinstance(node, ir.CallFn):
            if node.name == "Error" and not guarded:
                yield node
            if node.name == "IIF" and len(node.args) == 3:
                stack.append((node.args[0], guarded))
                stack.append((node.args[1], True))
                stack.append((node.args[2], True))
                continue
            if node.name == "Switch":
                for i, arg in enumerate(node.args):
                    # The first condition always runs; later ones and every value only sometimes.
                    stack.append((arg, guarded or i > 0))
                continue
            for arg in node.args:
                stack.append((arg, guarded))
        elif isinstance(node, ir.BinOp):
            # && and || short-circuit: their right operand does not always run.
            short = node.op in ("&&", "||")
            stack.append((node.left, guarded))
            stack.append((node.right, guarded or short))
        elif isinstance(node, ir.Neg):
            stack.append((node.operand, guarded))


# Predicates that answer True or False even for NULL input (their catalogue `nulls` rule).
_NULL_FREE_PREDICATES = {
    "IsPresent", "IsNull", "IsEmpty", "IsNullOrEmpty", "IsNumeric", "IsDate", "IsString", "IsGuid",
    "IsBitSet", "IsCert",
}  # fmt: skip


def never_null(expr: ir.Expr) -> bool:
    """Proved never NULL: literals, Is* predicates, and logic/comparisons built only from those.

    Comparisons and most functions propagate NULL (an absent attribute makes ``[a] = 1`` NULL),
    which matters for rewrites such as ``IIF(c, True, False)`` → ``c``.
    """
    if isinstance(expr, ir.Const):
        return expr.type in ("str", "num", "bool")
    if isinstance(expr, ir.CallFn):
        return expr.name in _NULL_FREE_PREDICATES
    if isinstance(expr, ir.BinOp):
        return never_null(expr.left) and never_null(expr.right)
    if isinstance(expr, ir.Neg):
        return never_null(expr.operand)
    return False


# ---------------------------------------------------------------------------- constant folding

_NOT_CONSTANT = object()


def fold(expr: ir.Expr) -> object:
    """The constant value of an expression, or ``_NOT_CONSTANT``.

    Only what is certain without knowing the object: literals, comparisons and logic between
    literals, ``x || True``, ``x && False``, and IsPresent/IsNullOrEmpty of literals.
    """
    if isinstance(expr, ir.Const):
        if expr.type in ("str", "num", "bool", "null"):
            return expr.value
        return _NOT_CONSTANT
    if isinstance(expr, ir.Neg):
        inner = fold(expr.operand)
        if isinstance(inner, int) and not isinstance(inner, bool):
            return -inner
        return _NOT_CONSTANT
    if isinstance(expr, ir.BinOp):
        left, right = fold(expr.left), fold(expr.right)
        if expr.op == "||":
            if left is True or right is True:
                return True
            if left is False and right is False:
                return False
            return _NOT_CONSTANT
        if expr.op == "&&":
            if left is False or right is False:
                return False
            if left is True and right is True:
                return True
            return _NOT_CONSTANT
        if left is _NOT_CONSTANT or right is _NOT_CONSTANT or left is None or right is None:
            return _NOT_CONSTANT
        if type(left) is not type(right):
            return _NOT_CONSTANT
        try:
            if expr.op == "=":
                return left == right
            if expr.op == "<>":
                return left != right
            if expr.op == "<":
                return left < right  # type: ignore[operator]
            if expr.op == ">":
                return left > right  # type: ignore[operator]
            if expr.op == "<=":
                return left <= right  # type: ignore[operator]
            if expr.op == ">=":
                return left >= right  # type: ignore[operator]
        except TypeError:  # pragma: no cover - same-type literals always compare
            return _NOT_CONSTANT
        return _NOT_CONSTANT
    if isinstance(expr, ir.CallFn) and expr.name in ("IsPresent", "IsNullOrEmpty") and len(expr.args) == 1:
        inner = fold(expr.args[0])
        if inner is _NOT_CONSTANT:
            return _NOT_CONSTANT
        present = inner is not None and inner != ""
        return present if expr.name == "IsPresent" else not present
    return _NOT_CONSTANT


def constant_truth(expr: ir.Expr) -> bool | None:
    """True/False when a condition is the same for every object, else None."""
    value = fold(expr)
    if value is _NOT_CONSTANT:
        return None
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str):
        low = value.strip().lower()
        if low in ("true", "false"):
            return low == "true"
        return None
    return None  # pragma: no cover


# ---------------------------------------------------------------------------- text length

# Functions whose result is never longer than their first argument.
_SAME_OR_SHORTER = {
    "Trim", "LTrim", "RTrim", "LCase", "UCase", "PCase", "ProperCase", "RemoveDuplicates",
    "Item", "Word", "Mid", "Right", "Left", "EscapeDNComponent",
}  # fmt: skip
# Functions whose text result has a fixed small maximum whatever the input.
_FIXED = {
    "ConvertToBase64": None,  # depends on the input: handled below
    "StringFromGuid": 38,
    "StringFromSid": 184,
    "CStr": None,
    "FormatDateTime": 64,
    "Guid": 38,
    "Now": 64,
    "CertThumbprint": 40,
    "CertHashString": 40,
}


def max_length(
    expr: ir.Expr,
    attr_lengths: Mapping[str, int],
    param_length: int = 256,
    unknown: int | None = None,
) -> int | None:
    """An upper bound on the length of a text value.

    ``attr_lengths`` gives the longest value each source attribute can hold (e.g. Active
    Directory's ``rangeUpper``). Whatever is not known -- an attribute not listed, a function
    whose result length is not modelled -- counts as ``unknown``: None makes the whole bound
    unknown (pessimistic), 0 ignores it (optimistic: "is it known to be able to get this long?").
    """

    def rec(e: ir.Expr) -> int | None:
        return max_length(e, attr_lengths, param_length, unknown)

    if isinstance(expr, ir.Const):
        if isinstance(expr.value, str):
            return len(expr.value)
        if expr.value is None or expr.type == "special":
            return 0
        if expr.type == "bool":
            return 5
        if isinstance(expr.value, int):
            return len(str(expr.value))
        return unknown
    if isinstance(expr, ir.Attr):
        if expr.type == "bool":
            return 5
        if expr.type == "num":
            return 20
        return attr_lengths.get(expr.name, unknown)  # type: ignore[arg-type]
    if isinstance(expr, ir.Param):
        return param_length
    if isinstance(expr, ir.BinOp):
        if expr.op == "&":
            left, right = rec(expr.left), rec(expr.right)
            return None if left is None or right is None else left + right
        return 20
    if isinstance(expr, ir.Neg):
        return 20
    if isinstance(expr, ir.CallFn):
        name = expr.name
        if name == "IIF" and len(expr.args) == 3:
            a, b = rec(expr.args[1]), rec(expr.args[2])
            return None if a is None or b is None else max(a, b)
        if name == "Switch":
            lengths = [rec(v) for v in expr.args[1::2]]
            return None if any(x is None for x in lengths) else max(lengths, default=0)  # type: ignore[type-var]
        if name == "Error":
            return 0
        if name == "Left" and len(expr.args) == 2:
            n = fold(expr.args[1])
            if isinstance(n, int) and not isinstance(n, bool) and n >= 0:
                inner = rec(expr.args[0])
                return n if inner is None else min(n, inner)
        if name == "Mid" and len(expr.args) == 3:
            n = fold(expr.args[2])
            if isinstance(n, int) and not isinstance(n, bool) and n >= 0:
                return n
        if name == "ConvertToBase64" and expr.args:
            inner = _binary_length(expr.args[0], attr_lengths)
            return (unknown if inner is None else 4 * ((inner + 2) // 3))
        if name == "ImportedValue" and expr.args and isinstance(expr.args[0], ir.Const):
            return attr_lengths.get(str(expr.args[0].value), unknown)  # type: ignore[arg-type]
        if name in _SAME_OR_SHORTER and expr.args:
            return rec(expr.args[0])
        if name == "CStr" and expr.args:
            arg = expr.args[0]
            if getattr(arg, "type", "") in ("num", "bool"):
                return 20
            return rec(arg)
        fixed = _FIXED.get(name)
        if fixed is not None:
            return fixed
        if expr.type in ("num", "bool"):
            return 20
        return unknown
    return unknown


def _binary_length(expr: ir.Expr, attr_lengths: Mapping[str, int]) -> int | None:
    if isinstance(expr, ir.Attr):
        return attr_lengths.get(expr.name)
    if isinstance(expr, ir.CallFn) and expr.name == "IIF" and len(expr.args) == 3:
        a = _binary_length(expr.args[1], attr_lengths)
        b = _binary_length(expr.args[2], attr_lengths)
        return None if a is None or b is None else max(a, b)
    return None


def params_in(expr: ir.Expr) -> Iterator[str]:
    for node in walk(expr):
        if isinstance(node, ir.Param):
            yield node.name


def attrs_in(expr: ir.Expr) -> Iterator[ir.Attr]:
    for node in walk(expr):
        if isinstance(node, ir.Attr):
            yield node
