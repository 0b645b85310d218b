"""The state store writes rows with orjson, falling back to the standard encoder for what orjson
refuses: the rows must be exactly what the standard encoder writes (the state format is JSON;
orjson is only faster)."""

from __future__ import annotations

import datetime as _dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncrules.runtime.values import AUTHORITATIVE_NULL, IGNORE_THIS_FLOW, Ref
from syncrules.state.store import _dumps, _std_dumps, _tag_refs, dec, enc

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.text(),
    st.binary(max_size=20),
    st.datetimes(timezones=st.just(_dt.timezone.utc)),
    st.sampled_from([AUTHORITATIVE_NULL, IGNORE_THIS_FLOW]),
    st.text().map(Ref),
)
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4), max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(_values)
def test_rows_are_what_the_standard_encoder_writes(value: object) -> None:
    # The standard encoder writes a reference as a plain string, so it gets them tagged.
    assert _dumps(value) == _std_dumps(_tag_refs(value))


@settings(max_examples=200, deadline=None)
@given(st.lists(_scalars, max_size=6))
def test_values_are_tagged_as_enc_tags_them(values: list[object]) -> None:
    """A row's values read back as they were: references stay references (not plain strings)."""
    row = _dumps({"a": values})
    assert row == _std_dumps({"a": enc(values)})
    back = dec(json.loads(row)["a"])
    assert back == values
    assert [type(v) for v in back] == [type(v) for v in values]


@pytest.mark.parametrize(
    "value",
    [
        {"big": 2**70},  # beyond 64 bits: orjson refuses, the standard encoder writes it
        {"neg": -(2**64)},
        {1: "not a string key"},
        ["lone \ud800 surrogate"],
    ],
)
def test_what_orjson_refuses_is_written_by_the_standard_encoder(value: object) -> None:
    assert _dumps(value) == _std_dumps(_tag_refs(value))


def test_the_fallback_tags_references_too() -> None:
    row = [2**70, Ref("CN=m,DC=x"), [Ref("CN=a")], {"manager": Ref("CN=b")}]  # orjson refuses the big integer
    assert _dumps(row) == '[1180591620717411303424,{"r":"CN=m,DC=x"},[{"r":"CN=a"}],{"manager":{"r":"CN=b"}}]'


def test_unsupported_values_fail_as_before() -> None:
    with pytest.raises(TypeError, match="cannot save a value of type"):
        _dumps([object()])
