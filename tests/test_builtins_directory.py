"""DN built-ins called directly: splitting with RFC 4514 escapes, and escaping."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncrules.builtins import directory as dn
from syncrules.runtime.values import EvalError, Ref

DN = Ref("cn=Joe,ou=Atlanta,ou=GA,ou=US, dc=contoso,dc=com")


def test_components_from_the_left_and_right() -> None:
    assert [dn.dn_component(DN, i) for i in range(1, 7)] == ["Joe", "Atlanta", "GA", "US", "contoso", "com"]
    assert dn.dn_component_rev(DN, 3) == "US"
    assert dn.dn_component_rev(DN, 1, "DC") == "US"
    assert dn.dn_component_rev(DN, 4, "DC") == "Joe"
    assert dn.dn_component_rev(DN, 5, "DC") is None
    assert dn.dn_component(DN, 0) is None
    assert dn.dn_component(DN, 7) is None


def test_option_may_be_quoted_or_any_case() -> None:
    assert dn.dn_component_rev(DN, 1, "dc") == "US"
    with pytest.raises(EvalError, match="not one of DC"):
        dn.dn_component_rev(DN, 1, "OU")


def test_escapes_are_kept_and_respected() -> None:
    value = Ref(r"CN=Doe\, John,OU=A\+B,DC=x")
    assert dn.split_dn(value) == (("CN", r"Doe\, John"), ("OU", r"A\+B"), ("DC", "x"))
    assert dn.dn_component(Ref(r"CN=a\\,DC=x"), 1) == r"a\\"  # an escaped backslash ends the value
    assert dn.dn_component(Ref(r"CN=trailing\ ,DC=x"), 1) == "trailing\\ "
    assert dn.dn_component(Ref('CN="a,b",DC=x'), 1) == '"a,b"'
    assert dn.dn_component(Ref(r"CN=x\0ACNF:1,DC=x"), 1) == r"x\0ACNF:1"


def test_white_space_around_components_and_types() -> None:
    assert dn.split_dn(" CN = Joe ,  OU=x ") == (("CN", "Joe"), ("OU", "x"))
    assert dn.split_dn("2.5.4.3=Joe") == (("2.5.4.3", "Joe"),)
    assert dn.split_dn("") == ()


def test_not_a_dn() -> None:
    for bad in ("hello", "CN=a,nonsense", "=x"):
        with pytest.raises(EvalError, match="not a distinguished name"):
            dn.dn_component(Ref(bad), 1)


def test_escape() -> None:
    assert dn.escape_dn_component("CN=Doe, John") == r"CN=Doe\, John"
    assert dn.escape_dn_component('a+b"c\\d<e>f;g') == r"a\+b\"c\\d\<e\>f\;g"
    assert dn.escape_dn_component("#x") == r"\#x"
    assert dn.escape_dn_component("x#") == "x#"
    assert dn.escape_dn_component(" x ") == r"\ x\ "
    assert dn.escape_dn_component("\x00\n") == r"\00\0A"
    assert dn.escape_dn_component("") == ""
    assert dn.escape_dn_component("ou = a,b") == r"ou = a\,b"
    assert dn.escape_dn_component("not a type=x,y") == r"not a type=x\,y"


@given(st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=30))
@settings(max_examples=200, deadline=None)
def test_an_escaped_value_is_one_component(value: str) -> None:
    escaped = dn.escape_value(value)
    rdns = dn.split_dn(f"CN={escaped},DC=example")
    assert rdns == (("CN", escaped), ("DC", "example"))
