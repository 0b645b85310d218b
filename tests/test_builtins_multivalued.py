"""Multi-valued built-ins called directly (they receive whole values)."""

from __future__ import annotations

import pytest

from syncrules.builtins import multivalued as mv
from syncrules.runtime.values import EvalError, Ref

ADDRESSES = ["smtp:jd@contoso.com", "SMTP:john@contoso.com"]


def test_contains() -> None:
    assert mv.contains(ADDRESSES, "SMTP:") == 2
    assert mv.contains(ADDRESSES, "SMTP:", "CaseInsensitive") == 1
    assert mv.contains(ADDRESSES, "SMTP:", "CaseSensitive") == 2
    assert mv.contains(ADDRESSES, "x500") == 0
    assert mv.contains(None, "x") == 0
    assert mv.contains(ADDRESSES, None) == 0
    assert mv.contains("a@b", "@") == 1  # a single value is a list of one


def test_contains_on_references_matches_whole_values() -> None:
    members = [Ref("CN=a,DC=x"), Ref("CN=b,DC=x")]
    assert mv.contains(members, "CN=b,DC=x") == 2
    assert mv.contains(members, "CN=b") == 0
    assert mv.contains_ref(["CN=a,DC=x"], "CN=a") == 0  # the mvref overload, even on plain strings
    assert mv.contains_ref(["CN=a,DC=x"], "CN=a,DC=x") == 1


def test_count_item_item_or_null() -> None:
    assert mv.count(["a", "b"]) == 2
    assert mv.count("a") == 1
    assert mv.count(None) == 0
    assert mv.item(["a", "b"], 2) == "b"
    assert mv.item(["a"], None) is None
    for bad in (0, 3, -1):
        with pytest.raises(EvalError, match="out of range"):
            mv.item(["a", "b"], bad)
    with pytest.raises(EvalError, match="0 value"):
        mv.item(None, 1)
    assert mv.item_or_null(["a", "b"], 3) is None
    assert mv.item_or_null(None, 1) is None
    assert mv.item_or_null(["a"], 1) == "a"


def test_join() -> None:
    assert mv.join(["a", "b"]) == "a b"
    assert mv.join(["a", "b"], ", ") == "a, b"
    assert mv.join(["a", "b"], None) == "ab"
    assert mv.join(None) is None
    assert mv.join([1, True]) == "1 True"


def test_remove_duplicates_keeps_first_positions() -> None:
    assert mv.remove_duplicates(["b", "a", "b", "A"]) == ["b", "a", "A"]
    assert mv.remove_duplicates("x") == ["x"]
    assert mv.remove_duplicates(None) is None


def test_split() -> None:
    assert mv.split("a,b", ",") == ["a", "b"]
    assert mv.split("a,,b,", ",") == ["a", "", "b", ""]
    assert mv.split("a,b,c", ",", 2) == ["a", "b,c"]
    assert mv.split("a,b", ",", 0) is None
    assert mv.split("", ",") is None
    with pytest.raises(EvalError, match="exactly one character"):
        mv.split("a", "")
    with pytest.raises(EvalError, match="negative"):
        mv.split("a", ",", -1)
