"""Operators called directly: concatenation, arithmetic, comparisons, three-valued logic."""

from __future__ import annotations

import datetime as dt

import pytest

from syncrules.builtins import operators as op
from syncrules.runtime.values import AUTHORITATIVE_NULL, EvalError, Ref

UTC = dt.timezone.utc


def test_concat() -> None:
    assert op.concat("a", None) == "a"
    assert op.concat(None, None) is None
    assert op.concat(1, True) == "1True"
    assert op.concat(Ref("CN=x"), "") == "CN=x" and type(op.concat(Ref("CN=x"), "")) is str
    assert op.concat(dt.datetime(2020, 1, 2, tzinfo=UTC), "") == "2020-01-02T00:00:00Z"
    assert op.concat(b"\x01", b"\x02") == b"\x01\x02"
    assert op.concat(b"\x01", None) == b"\x01"
    with pytest.raises(EvalError, match="binary"):
        op.concat(b"\x01", "x")


def test_arithmetic() -> None:
    assert op.add(2, 3) == 5
    assert op.subtract(2, 3) == -1
    assert op.multiply(-4, 3) == -12
    assert op.divide(7, 2) == 3
    assert op.divide(-7, 2) == -3
    assert op.divide(7, -2) == -3
    assert op.divide(-7, -2) == 3
    assert op.add("2", 3) == 5  # numeric text converts
    for fn, a, b in ((op.add, 2**63 - 1, 1), (op.multiply, 2**62, 2), (op.divide, -(2**63), -1)):
        with pytest.raises(EvalError, match="64-bit"):
            fn(a, b)
    with pytest.raises(EvalError, match="division by zero"):
        op.divide(1, 0)
    with pytest.raises(EvalError, match="must be a number"):
        op.add("x", 1)
    with pytest.raises(EvalError, match="must be a number"):
        op.add(True, 1)


def test_equality_is_exact_and_typed() -> None:
    assert op.equal("a", "a") and not op.equal("a", "A")
    assert op.equal(Ref("CN=x"), "CN=x")
    assert op.equal(2, "2") and op.equal("02", 2)
    assert not op.equal(2, "two") and op.not_equal(2, "two")
    assert op.equal(True, "true") and op.equal(True, 1) and op.equal(False, 0)
    assert op.equal(dt.datetime(2013, 1, 10, tzinfo=UTC), "2013-01-10")
    assert not op.equal(b"a", "a")
    assert op.equal(b"a", b"a")
    assert op.equal(1, True)  # a number meets a Boolean as a Boolean


def test_ordering() -> None:
    assert op.less("abc", "abd")
    assert op.less("B", "a")  # ordinal: upper case sorts first
    assert op.greater_equal(2, 2)
    assert op.less(False, True)
    assert op.less_equal(b"\x00", b"\x01")
    assert op.greater(10, "9")  # numeric text compares as a number
    with pytest.raises(EvalError, match="cannot compare"):
        op.less("x", 1)
    with pytest.raises(EvalError, match="cannot compare"):
        op.less(b"\x00", "x")


def test_three_valued_logic() -> None:
    t, f, n = True, False, None
    assert [op.kleene_and(a, b) for a, b in ((t, t), (t, f), (t, n), (f, n), (n, n))] == [t, f, n, f, n]
    assert [op.kleene_or(a, b) for a, b in ((f, f), (t, f), (f, n), (t, n), (n, n))] == [f, t, n, t, n]
    assert op.logical_and(1, "true") is True
    assert op.logical_or(0, "false") is False


def test_operator_table_is_complete() -> None:
    assert set(op.OPERATORS) == {"&", "+", "-", "*", "/", "=", "<>", "<", "<=", ">", ">=", "&&", "||"}
    # Sentinels pass through operators untouched (the general path handles them).
    assert op.OPERATORS["&"].invoke((AUTHORITATIVE_NULL, "x")) is AUTHORITATIVE_NULL
