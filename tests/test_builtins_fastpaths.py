"""The fast paths of hot built-ins against the straightforward code they replace.

Each fast path (DN splitting without escapes, SID text, FormatDateTime templates, DateFromNum,
ConvertToUTF8Hex, ``Impl.invoke``'s single scan, and the generated code's folded NULL branch) must
give exactly the old result: the same value with the same Python type, or the same error with the
same message. The old code is kept here, verbatim, as the reference.
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncrules.builtins import conversion, datetime_, directory
from syncrules.builtins._common import PROPAGATE, expect_bytes, to_text
from syncrules.builtins.operators import NEGATE, OPERATORS
from syncrules.builtins.registry import Impl, builtins, compact, lookup
from syncrules.evaluate import EvalContext, compile_expr
from syncrules.evaluate.pygen import compile_expr_py, generate_source
from syncrules.runtime.values import AUTHORITATIVE_NULL, IGNORE_THIS_FLOW, EvalError, Ref, _Special
from tests.test_pygen import lower, outcome, shape

UTC = dt.timezone.utc


def result(fn: Callable[..., Any], *args: Any) -> tuple[Any, ...]:
    """A call's value (with its exact type) or its error (type and message)."""
    try:
        value = fn(*args)
    except Exception as exc:  # noqa: BLE001 - both sides must fail the same way, whatever it is
        return ("raise", type(exc).__name__, str(exc))
    return ("value", shape(value))


# ---------------------------------------------------------------------------- split_dn

# Characters a DN without escapes or quotes is made of, plus the ones that matter to the parser:
# separators, spaces and other white space (around types, values and components), OID digits and dots.
DN_CHARS = "CNOUDcnoud=,= ,  \t\n\x0b\u3000\xa0.-0123456789xyz+<>;#é"


def split_slow(dn: str) -> tuple[tuple[str, str], ...]:
    """split_dn before the fast path: every DN through the character-by-character reading."""
    if not dn.strip():
        return ()
    return directory._split_dn_slow(dn)


@st.composite
def dn_like(draw: st.DrawFn) -> str:
    """Mostly DN-shaped text (types, '=', values, ',' with spaces here and there), sometimes noise."""
    if draw(st.booleans()):
        return draw(st.text(DN_CHARS, max_size=40))
    pad = st.text(" \t", max_size=2)
    typ = st.sampled_from(["CN", "OU", "DC", "cn", "2.5.4.3", "x-y", "1x", "", "C N", "0.", "é"])
    value = st.text(DN_CHARS.replace(",", ""), max_size=8)
    parts = draw(
        st.lists(
            st.builds(
                lambda a, t, b, e, v, c: a + t + b + e + v + c,
                pad,
                typ,
                pad,
                st.sampled_from(["=", "", "=="]),
                value,
                pad,
            ),
            min_size=1,
            max_size=6,
        )
    )
    return ",".join(parts)


@given(dn_like())
@settings(max_examples=700, deadline=None)
def test_split_dn_fast_path_is_the_slow_path(dn: str) -> None:
    assert "\\" not in dn and '"' not in dn
    expected = result(split_slow, dn)
    assert result(directory.split_dn.__wrapped__, dn) == expected  # type: ignore[attr-defined]
    assert result(directory.split_dn, dn) == expected  # through the cache too
    assert result(directory.split_dn, dn) == expected


@pytest.mark.parametrize(
    "dn",
    [
        "",
        " ",
        "\t",
        ",",
        " , ",
        "=",
        "=x",
        "CN=",
        "CN= ",
        "CN =  a b  ,  OU = x ",
        "CN=a=b,DC=x",
        "CN=a,,DC=x",
        "CN=a,DC=x,",
        "\tCN=a",
        "CN\t=a\t,DC=x",
        "CN=a\t, DC=x",
        "C N=a",
        "2.5.4.3=Joe,0.9.2342=x",
        "2.=x",
        "1cn=x",
        "cn-1=x",
        "-cn=x",
        "CN=User 0000123,OU=Users,OU=CORP,DC=contoso,DC=com",
        "CN=x\u3000,OU=\u3000y",
        "\u3000CN=x",
        "hello",
        "CN=a,nonsense",
    ],
)
def test_split_dn_fast_path_examples(dn: str) -> None:
    assert result(directory._split_dn_fast, dn) == result(directory._split_dn_slow, dn) or not dn.strip()
    assert result(directory.split_dn, dn) == result(split_slow, dn)


def test_dns_with_escapes_or_quotes_take_the_slow_path() -> None:
    for dn in (r"CN=Doe\, John,DC=x", 'CN="a,b",DC=x', r"CN=trailing\ ,DC=x", r"CN=a\\,DC=x"):
        assert directory.split_dn(dn) == directory._split_dn_slow(dn)
    assert directory.split_dn('CN="a,DC=x,b') == (("CN", '"a,DC=x,b'),)  # an open quote runs to the end
    with pytest.raises(EvalError) as exc:
        directory.dn_component(Ref('CN="a,b",nonsense'), 1)
    assert "not a distinguished name" in exc.value.message


@given(st.text(string.ascii_letters + string.digits + " .-\t\u3000=", max_size=12))
@settings(max_examples=300, deadline=None)
def test_type_check_cache_is_the_regex(text: str) -> None:
    expected = directory._TYPE_RE.fullmatch(text) is not None
    assert directory._type_ok(text) is expected
    assert directory._type_ok(text) is expected  # cached answer


def test_type_check_cache_is_bounded() -> None:
    long = "a" * 65
    assert directory._type_ok(long) is True
    assert long not in directory._TYPE_OK  # long texts are checked, not remembered
    before = dict(directory._TYPE_OK)
    try:
        for i in range(directory._TYPE_OK_MAX + 10):
            directory._type_ok(f"t{i}")
        assert len(directory._TYPE_OK) <= directory._TYPE_OK_MAX
        assert directory._type_ok(f"t{directory._TYPE_OK_MAX + 5}") is True  # still answered
    finally:
        directory._TYPE_OK.clear()
        directory._TYPE_OK.update(before)


# ---------------------------------------------------------------------------- StringFromSid


def string_from_sid_reference(value: Any) -> str:
    """StringFromSid before ``struct``: one ``int.from_bytes`` per sub-authority."""
    raw = expect_bytes(value, "StringFromSid", "SID")
    if len(raw) < 8 or raw[0] != 1:
        raise EvalError("StringFromSid: the value is not a binary SID (it must start with revision 1)")
    count = raw[1]
    if count > 15 or len(raw) != 8 + 4 * count:
        raise EvalError(
            f"StringFromSid: a SID with {count} sub-authorities is {8 + 4 * count} bytes, not {len(raw)}"
        )
    authority = int.from_bytes(raw[2:8], "big")
    text = f"S-1-{authority}" if authority < 2**32 else f"S-1-0x{authority:012X}"
    subs = (int.from_bytes(raw[8 + 4 * i : 12 + 4 * i], "little") for i in range(count))
    return text + "".join(f"-{s}" for s in subs)


@st.composite
def sid_like(draw: st.DrawFn) -> bytes:
    """Well-formed SIDs of every size and authority, and near misses (wrong revision, count, length)."""
    count = draw(st.integers(0, 17))
    revision = draw(st.sampled_from([1, 1, 1, 0, 2]))
    authority = draw(
        st.one_of(
            st.integers(0, 2**32 - 1), st.integers(0, 2**48 - 1), st.sampled_from([5, 2**32, 2**48 - 1])
        )
    )
    subs = draw(st.lists(st.integers(0, 2**32 - 1), min_size=min(count, 15), max_size=min(count, 15)))
    raw = (
        bytes([revision, count])
        + authority.to_bytes(6, "big")
        + b"".join(s.to_bytes(4, "little") for s in subs)
    )
    cut = draw(st.sampled_from([0, 0, 0, 1, 3, -1]))
    return raw[: len(raw) - cut] if cut > 0 else raw + b"\x00" if cut < 0 else raw


@given(st.one_of(sid_like(), st.binary(max_size=80)))
@settings(max_examples=500, deadline=None)
def test_string_from_sid_is_the_reference(raw: bytes) -> None:
    expected = result(string_from_sid_reference, raw)
    assert result(conversion.string_from_sid, raw) == expected
    assert result(conversion.string_from_sid, bytearray(raw)) == expected


def test_string_from_sid_examples() -> None:
    well_known = bytes([1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0])
    assert conversion.string_from_sid(well_known) == "S-1-5-18"
    assert conversion.string_from_sid(bytes([1, 0, 0, 0, 0, 0, 0, 1])) == "S-1-1"
    big = bytes([1, 1, 0, 1, 0, 0, 0, 0, 7, 0, 0, 0])
    assert conversion.string_from_sid(big) == "S-1-0x000100000000-7" == string_from_sid_reference(big)
    for bad in ("S-1-5", 5, None, Ref("x")):
        assert result(conversion.string_from_sid, bad) == result(string_from_sid_reference, bad)


# ---------------------------------------------------------------------------- DateFromNum


def date_from_num_reference(value: Any) -> dt.datetime:
    ticks = datetime_.expect_int(value, "DateFromNum", "number")
    if ticks < 0 or ticks > datetime_._MAX_TICKS:
        raise EvalError(f"DateFromNum: {ticks} is outside the dates that can be represented (1601..9999)")
    return datetime_.FILETIME_EPOCH + dt.timedelta(microseconds=ticks // 10)


@given(
    st.one_of(
        st.integers(-10, datetime_._MAX_TICKS + 10),
        st.sampled_from([0, 9, 10, 132500000000000000, datetime_._MAX_TICKS, 2**63 - 1, -(2**63)]),
        st.sampled_from(["132500000000000000", " 42 ", "x", "&H10"]),
    )
)
@settings(max_examples=500, deadline=None)
def test_date_from_num_is_the_reference(value: Any) -> None:
    expected = result(date_from_num_reference, value)
    assert result(datetime_.date_from_num, value) == expected
    if expected[0] == "value":
        assert datetime_.date_from_num(value).tzinfo is date_from_num_reference(value).tzinfo


# ---------------------------------------------------------------------------- FormatDateTime


def format_reference(d: dt.datetime, fmt: str) -> str:
    """format_datetime before the templates: one ``_token`` call per specifier."""
    out: list[str] = []
    for text, repeat in datetime_._compile_format(fmt):
        out.append(datetime_._token(d, text, repeat, out) if repeat else text)
    return "".join(out)


FORMAT_PIECES = [
    "yyyy", "yyyyy", "yy", "y", "MM", "M", "MMM", "MMMM", "dd", "d", "ddd", "dddd", "HH", "H", "HHH",
    "hh", "h", "mm", "m", "mmm", "ss", "s", "sss", "f", "fff", "fffffff", "ffffffff", "FFF", "F", "tt",
    "t", "z", "zz", "zzz", "K", "g", "gg", ".", ".0Z", "-", ":", " ", "T", "'lit%eral'", '"q"', "\\y",
    "%d", "%", "%%", "\\", "'open", "100%", "{0}", "%s", "y" * 40,
]  # fmt: skip

dates = st.datetimes(
    min_value=dt.datetime(1, 1, 1),
    max_value=dt.datetime(9999, 12, 31, 23, 59, 59, 999999),
    timezones=st.just(UTC),
)


@given(
    dates,
    st.one_of(
        st.lists(st.sampled_from(FORMAT_PIECES), max_size=6).map("".join),
        st.sampled_from(sorted(datetime_._STANDARD)),
        st.text(max_size=6),
    ),
)
@settings(max_examples=800, deadline=None)
def test_format_date_time_is_the_reference(d: dt.datetime, fmt: str) -> None:
    expected = result(format_reference, d, fmt)
    assert result(datetime_.format_datetime, d, fmt) == expected
    assert result(datetime_.format_date_time, d, fmt) == result(datetime_.format_date_time, d, fmt)


def test_format_date_time_templates() -> None:
    d = dt.datetime(2021, 3, 4, 5, 6, 7, 89, tzinfo=UTC)
    assert datetime_.format_date_time(d, "yyyyMMddHHmmss.0Z") == "20210304050607.0Z"
    assert isinstance(datetime_._plan("yyyyMMddHHmmss.0Z"), tuple)
    assert datetime_._plan("'100%' K") == "100% Z"  # no date field: the text itself
    assert datetime_._plan("dddd") is None  # names stay on _token
    early = dt.datetime(5, 1, 2, tzinfo=UTC)
    assert (
        datetime_.format_date_time(early, "yyyy-MM-dd")
        == "0005-01-02"
        == format_reference(early, "yyyy-MM-dd")
    )
    for bad in ("Q", "'open", "\\", "%", "ffffffff"):
        assert result(datetime_.format_date_time, d, bad) == result(format_reference, d, bad)
        assert result(datetime_.format_date_time, d, bad)[0] == "raise"


# ---------------------------------------------------------------------------- ConvertToUTF8Hex


def utf8_hex_reference(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex().upper()
    return to_text(value, "ConvertToUTF8Hex").encode("utf-8", "surrogatepass").hex().upper()


@given(
    st.one_of(
        st.text(max_size=20),
        st.text(max_size=5).map(Ref),
        st.binary(max_size=10),
        st.binary(max_size=10).map(bytearray),
        st.integers(),
        st.booleans(),
        st.sampled_from(["\ud800x", "é€😀", dt.datetime(2020, 1, 1, tzinfo=UTC), 1.5, None]),
    )
)
@settings(max_examples=500, deadline=None)
def test_convert_to_utf8_hex_is_the_reference(value: Any) -> None:
    assert result(conversion.convert_to_utf8_hex, value) == result(utf8_hex_reference, value)


# ---------------------------------------------------------------------------- Impl.invoke


def invoke_reference(impl: Impl, args: tuple[Any, ...], ctx: Any = None) -> Any:
    """Impl.invoke before the single scan (with apply() and _per_value as they were)."""
    positions: list[int] | None = None
    for i, a in enumerate(args):
        cls = a.__class__
        if cls is _Special:
            return a
        if cls is list:
            if impl.per_value[i]:
                if positions is None:
                    positions = []
                positions.append(i)
            else:
                whole = compact(a)
                if whole.__class__ is _Special:
                    return whole
                args = (*args[:i], whole, *args[i + 1 :])
    if positions is not None:
        return impl._per_value(args, positions, ctx)
    if impl.nulls == PROPAGATE:
        for a in args:
            if a is None:
                return None
    if impl.needs_ctx:
        return impl.fn(ctx, *args)
    return impl.fn(*args)


def _impls() -> list[Impl]:
    out: list[Impl] = [NEGATE, *OPERATORS.values()]
    for b in builtins().values():
        for impl in (*b.by_arity.values(), *b.by_overload.values()):
            if not impl.special and impl.arity >= 0 and impl.deterministic and not impl.needs_ctx:
                out.append(impl)
    return out


IMPLS = _impls()
scalars = st.one_of(
    st.none(),
    st.sampled_from(
        ["", " a ", "abc", "12", "True", "CN=a,DC=b", 0, 1, 2, -3, True, False, b"", b"\x01\x02"]
    ),
    st.sampled_from([AUTHORITATIVE_NULL, IGNORE_THIS_FLOW, Ref("CN=x,DC=y")]),
)
values = st.one_of(scalars, st.lists(scalars, max_size=3))


@given(st.sampled_from(IMPLS), st.data())
@settings(max_examples=1500, deadline=None)
def test_invoke_is_the_reference(impl: Impl, data: st.DataObject) -> None:
    args = tuple(data.draw(values) for _ in range(impl.arity))
    assert result(impl.invoke, args) == result(invoke_reference, impl, args)


def test_invoke_needs_ctx_and_propagate_flag() -> None:
    now = lookup("Now", 0)
    ctx = EvalContext({}, {}, now=dt.datetime(2025, 1, 1, tzinfo=UTC))
    assert now.invoke((), ctx) == ctx.now
    assert lookup("Trim", 1).propagate is True
    assert lookup("Left", 2).propagate is False
    assert lookup("Left", 2) == lookup("Left", 2)  # the derived flag takes no part in equality


# ---------------------------------------------------------------------------- generated NULL branch

NULL_CASES = [
    ("IsPresent([s])", {"s": "str"}, "False"),
    ("IsNullOrEmpty([s])", {"s": "str"}, "True"),
    ("IsNullOrEmpty([m])", {"m": "mvstr"}, "True"),
    ("IsPresent([m])", {"m": "mvstr"}, "False"),
    ("Left([s], 14)", {"s": "str"}, "''"),
    ("Trim([s])", {"s": "str"}, "None"),
    ("[b] = True", {"b": "bool"}, "None"),
    ("CBool([b])", {"b": "bool"}, "None"),
    ('Word([s], 1, ",")', {"s": "str"}, "''"),
    ("RemoveDuplicates(Trim([m]))", {"m": "mvstr"}, "None"),
    ("DateFromNum([n])", {"n": "num"}, "None"),
]


@pytest.mark.parametrize(("text", "types", "literal"), NULL_CASES)
def test_null_branch_is_folded_and_agrees(text: str, types: dict[str, str], literal: str) -> None:
    e = lower(text, **types)
    assert f"({literal} if v0 is None else " in generate_source(e)
    for attrs in ({}, {name: [] for name in types}, {name: None for name in types}):

        def make(attrs: dict[str, Any] = attrs) -> EvalContext:
            return EvalContext(dict(attrs), {})

        assert outcome(compile_expr_py(e), make) == outcome(compile_expr(e), make)


def test_calls_that_fail_or_need_the_context_for_null_are_not_folded() -> None:
    e = lower("Item([m], 1)", m="mvstr")  # NULL has no first value: an error, raised at run time
    assert " is None else _g_Item" not in generate_source(e)
    make = lambda: EvalContext({}, {})  # noqa: E731
    assert outcome(compile_expr_py(e), make) == outcome(compile_expr(e), make)
    assert outcome(compile_expr_py(e), make)[0] == "raise"
    e = lower("Error([s])", s="str")
    assert " is None else _g_Error" not in generate_source(e)
    assert outcome(compile_expr_py(e), make) == outcome(compile_expr(e), make)
    e = lower("Left([s], [n])", s="str", n="num")  # two run-time arguments: invoke decides
    assert " is None else _g_Left" not in generate_source(e)
