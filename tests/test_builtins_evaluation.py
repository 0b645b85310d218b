"""The Is... predicates and the math built-ins, called directly."""

from __future__ import annotations

import datetime as dt

import pytest

from syncrules.builtins import evaluation as ev
from syncrules.builtins import math_
from syncrules.evaluate import EvalContext
from syncrules.runtime.values import EvalError, Ref

NOW = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)


def test_null_empty_present_are_distinct() -> None:
    table = [
        (None, (True, False, True, False)),
        ("", (False, True, True, False)),
        (" ", (False, False, False, True)),
        ("x", (False, False, False, True)),
        (b"", (False, True, True, False)),
        (b"\x00", (False, False, False, True)),
        (0, (False, False, False, True)),
        (False, (False, False, False, True)),
    ]
    for value, expected in table:
        got = (ev.is_null(value), ev.is_empty(value), ev.is_null_or_empty(value), ev.is_present(value))
        assert got == expected, value


def test_multi_valued_predicates_answer_for_the_attribute() -> None:
    assert ev.is_present(["", "x"]) is True
    assert ev.is_present(["", ""]) is False
    assert ev.is_empty(["", ""]) is True
    assert ev.is_null(["x"]) is False
    assert ev.is_numeric(["1", "2"]) is True
    assert ev.is_numeric(["1", "x"]) is False


def test_conversion_predicates_agree_with_the_conversions() -> None:
    assert ev.is_numeric("42") and ev.is_numeric(" -1 ") and ev.is_numeric(True) and ev.is_numeric(b"\x01")
    assert not ev.is_numeric("4.2") and not ev.is_numeric(None) and not ev.is_numeric(b"\x00" * 9)
    assert ev.is_date("2013-01-10") and ev.is_date(NOW)
    assert not ev.is_date("soon") and not ev.is_date(42) and not ev.is_date(None)
    assert ev.is_string("x") and ev.is_string(1) and ev.is_string(Ref("CN=x")) and ev.is_string(NOW)
    assert not ev.is_string(b"x") and not ev.is_string(None)
    assert ev.is_guid("{00112233-4455-6677-8899-aabbccddeeff}")
    assert not ev.is_guid(None) and not ev.is_guid(b"\x00" * 16)


def test_is_bit_set_takes_a_mask() -> None:
    assert ev.is_bit_set(0xF, 4)
    assert not ev.is_bit_set(0xF, 0x11)
    assert ev.is_bit_set(-2147483646, 0x80000000)
    assert ev.is_bit_set(5, 0)
    assert not ev.is_bit_set(None, 1)
    assert not ev.is_bit_set(1, None)


def test_bit_operations_are_64_bit() -> None:
    assert math_.bit_and(0xF, 0xF7) == 7
    assert math_.bit_and(-2147483646, -2147483648) == -2147483648
    assert math_.bit_and(0xFFFFFFFFFFFFFFFF, 5) == 5
    assert math_.bit_or(0x8000000000000000, 1) == -(2**63) + 1
    assert math_.bit_or(-2, 1) == -1


def test_random_num_is_inclusive_and_repeatable() -> None:
    ctx = EvalContext(seed=3, object_id="a")
    first = [math_.random_num(ctx, 1, 3) for _ in range(60)]
    assert set(first) == {1, 2, 3}
    again = EvalContext(seed=3, object_id="a")
    assert [math_.random_num(again, 1, 3) for _ in range(60)] == first
    other = EvalContext(seed=3, object_id="b")
    assert [math_.random_num(other, 1, 3) for _ in range(60)] != first
    with pytest.raises(EvalError, match="greater than the end"):
        math_.random_num(ctx, 2, 1)
