"""Program-flow built-ins: Error, and the special forms IIF, Switch, Select, Where and With.

The special forms cannot be ordinary functions: IIF must not evaluate the branch it does not
take, and Select/Where/With bind ``$variables`` around an argument. The evaluator
(:mod:`syncrules.evaluate.compiler`) compiles them into closures; this module holds the pieces
of their meaning that do not depend on compilation (how a condition is read, how per-value
conditions pick values) so the rules sit next to the other built-ins.
"""

from __future__ import annotations

from typing import Any

from syncrules.builtins._common import SELF, VARIADIC, EvalError, builtin, to_bool, to_text
from syncrules.runtime.values import UserError, _Special


@builtin("Error", 1, nulls=SELF)
def error(message: Any) -> Any:
    """Stop evaluating this object with the author's message (a NULL message is empty)."""
    raise UserError("" if message is None else to_text(message, "Error"))


def condition(value: Any, fname: str) -> bool | None:
    """A condition's truth: True/False, NULL stays NULL (treated as not true by every caller);
    numbers and "True"/"False" text convert as CBool does."""
    if value is True or value is False or value is None:
        return value  # type: ignore[no-any-return]
    return to_bool(value, fname)


def pick(value: Any, index: int, length: int, fname: str) -> Any:
    """Element ``index`` of a branch result when the condition was per-value: a multi-valued branch
    pairs with the condition value by position, a single value applies to every position."""
    if value.__class__ is list:
        if len(value) != length:
            raise EvalError(
                f"{fname}: a multi-valued branch has {len(value)} values but the condition has {length}"
            )
        return value[index]
    return value


def per_value_conditions(values: list[Any], fname: str) -> list[Any]:
    """Read each value of a per-value condition; flow sentinels are kept so they become the result."""
    return [v if v.__class__ is _Special else condition(v, fname) for v in values]


def _special_form(name: str, *arities: int) -> None:
    """Register a name the evaluator compiles itself, so 'declared = implemented' covers it."""

    def marker(*_args: Any) -> Any:  # pragma: no cover - never called; the compiler handles these
        raise AssertionError(f"{name} is compiled by the evaluator")

    marker.__name__ = name
    builtin(name, *arities, nulls=SELF, special=True)(marker)


_special_form("IIF", 3)
_special_form("Switch", VARIADIC)
_special_form("Select", 3)
_special_form("Where", 3)
_special_form("With", 3)
