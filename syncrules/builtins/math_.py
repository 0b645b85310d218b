"""Math built-ins: BitAnd, BitOr (64-bit two's complement) and RandomNum (seeded by the context).

Bit operations reinterpret their inputs as 64-bit two's complement, so a flag written as the
unsigned hex literal ``&H80000000`` and AD's signed ``groupType`` value ``-2147483646`` meet as the
same bit pattern, and the result is always a valid (signed) 64-bit number.
"""

from __future__ import annotations

from typing import Any

from syncrules.builtins._common import EvalError, builtin, expect_int, wrap_i64


@builtin("BitAnd", 2)
def bit_and(value1: Any, value2: Any) -> int:
    return wrap_i64(expect_int(value1, "BitAnd") & expect_int(value2, "BitAnd"))


@builtin("BitOr", 2)
def bit_or(value1: Any, value2: Any) -> int:
    return wrap_i64(expect_int(value1, "BitOr") | expect_int(value2, "BitOr"))


@builtin("RandomNum", 2, needs_ctx=True)
def random_num(ctx: Any, start: Any, end: Any) -> int:
    """A number from ``start`` to ``end``, both included, from the context's seeded generator."""
    low = expect_int(start, "RandomNum", "start")
    high = expect_int(end, "RandomNum", "end")
    if low > high:
        raise EvalError(f"RandomNum: the start {low} is greater than the end {high}")
    return ctx.random_int(low, high)  # type: ignore[no-any-return]
