"""The generated-Python backend (syncrules.evaluate.pygen) against the closure compiler.

The closure compiler is the reference: on every input the generated function must give the same
value (same Python types, same flow sentinels) or raise the same error with the same message, code
and span. This is checked on every conformance case, on all 391 expressions of Microsoft's default
rules (full and sparse objects), and on random expressions built from the catalogue over random
typed inputs, including inputs that contradict the schema. The rest pins the generator's own
promises: laziness, error spans, the size limits, determinism, golden output, and that user text
never reaches the generated source except as a ``repr`` literal.
"""

from __future__ import annotations

import ast as pyast
import datetime as dt
import io
import random
import re
import tokenize
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from syncrules.catalogue import load_catalogue
from syncrules.compiler import compile_paths
from syncrules.diagnostics import DiagnosticSink
from syncrules.evaluate import EvalContext, compile_expr, pygen
from syncrules.evaluate.backend import DEFAULT_BACKEND, ENV_VAR, compile_flow_expr, default_backend
from syncrules.evaluate.pygen import CodegenLimitError, compile_expr_py, emit_python, generate_source
from syncrules.interop.aadconnect.cli import run_import
from syncrules.ir import nodes as ir
from syncrules.runtime.values import IGNORE_THIS_FLOW, EvalError, Ref, UserError, _Special
from syncrules.samples import sample_object
from syncrules.semantic.expressions import ExprEnv, lower_expression
from syncrules.source import Span
from syncrules.syntax.parser import parse_expression
from tests.conformance.runner import load_cases, run_case
from tests.conftest import check_golden, require_corpus

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).parent / "golden" / "codegen"
UTC = dt.timezone.utc
NOW = dt.datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


# ---------------------------------------------------------------------------- helpers


def shape(value: Any) -> Any:
    """A value with its exact Python types spelled out, so ``"1"``/``1``/``True`` and str/Ref differ."""
    if value.__class__ is list:
        return ("list", [shape(v) for v in value])
    if value.__class__ is _Special:
        return ("special", value.name)
    return (type(value).__name__, value)


def outcome(fn: Callable[[EvalContext], Any], make_ctx: Callable[[], EvalContext]) -> tuple[Any, ...]:
    """What one evaluation did: its value, or its exception (type, message, code, span)."""
    ctx = make_ctx()
    try:
        value = fn(ctx)
    except Exception as exc:  # noqa: BLE001 - both backends must fail the same way, whatever it is
        span = getattr(exc, "span", None)
        where = None if span is None else (span.start, span.end)
        return ("raise", type(exc).__name__, str(exc), getattr(exc, "code", None), where)
    return ("value", shape(value), dict(ctx.variables))


def lower(text: str, **types: str) -> ir.Expr:
    sink = DiagnosticSink()
    tree = parse_expression(text, sink)
    assert tree is not None and not sink.has_errors, sink.sorted()
    node = lower_expression(tree, ExprEnv(attributes=types, parameters={"P1", "Domain.FQDN"}), sink)
    assert node is not None, sink.sorted()
    return node


def is_generated(fn: Callable[..., Any]) -> bool:
    return fn.__code__.co_filename.startswith("<syncrules.pygen ")


def both(e: ir.Expr, attrs: dict[str, Any], **ctx_args: Any) -> tuple[Any, Any]:
    def make() -> EvalContext:
        return EvalContext(dict(attrs), {"P1": "x,y"}, now=NOW, **ctx_args)

    return outcome(compile_expr(e), make), outcome(compile_expr_py(e), make)


# ---------------------------------------------------------------------------- equivalence


def test_every_conformance_case_gives_the_same_outcome_on_both_backends() -> None:
    """Stricter than the per-backend conformance run: same message and same span, not just "an error"."""
    cases = load_cases()
    assert len(cases) >= 450
    for case in cases:
        results = []
        for backend in ("closure", "py"):
            try:
                results.append(("value", shape(run_case(case, backend))))  # type: ignore[arg-type]
            except EvalError as exc:
                span = exc.span  # type: ignore[attr-defined]
                results.append(("raise", type(exc).__name__, exc.message, exc.code, span.start, span.end))
        assert results[0] == results[1], f"{case.id}: {case.expr}"


@pytest.fixture(scope="module")
def corpus_config(tmp_path_factory: pytest.TempPathFactory) -> ir.Config:
    out = tmp_path_factory.mktemp("contoso-pygen")
    assert run_import([str(require_corpus())], str(out), stdout=io.StringIO(), stderr=io.StringIO()) == 0
    result = compile_paths([out])
    assert result.config is not None and not result.has_errors
    return result.config


def test_microsoft_default_rules_agree_on_full_and_sparse_objects(corpus_config: ir.Config) -> None:
    compared = 0
    for rule in corpus_config.rules:
        conn = corpus_config.connector(rule.connector)
        source = (
            conn.object_type(rule.source_type)
            if rule.direction == "inbound" and conn
            else corpus_config.mv_type(rule.source_type)
        )
        assert source is not None
        objects = []
        for n, kind in enumerate(("user", "group", "contact")):
            full = sample_object(source, kind, n + 1)
            rng = random.Random(f"{rule.name}:{kind}")
            objects += [full, {k: v for k, v in full.items() if rng.random() < 0.5}]
        for flow in rule.flows:
            if flow.expr is None:
                continue
            closure, generated = compile_expr(flow.expr), compile_expr_py(flow.expr)
            assert is_generated(generated), "no corpus expression should need the closure fallback"
            for attrs in objects:

                def make(attrs: dict[str, Any] = attrs, name: str = rule.name) -> EvalContext:
                    return EvalContext(attrs, {"Domain.FQDN": "contoso.com"}, object_id=name, now=NOW)

                assert outcome(closure, make) == outcome(generated, make), generate_source(flow.expr)
                compared += 1
    assert compared == 391 * 6


# ------------------------------------------------ random expressions over the catalogue

ATTRS = {
    "s1": "str", "s2": "str", "n1": "num", "b1": "bool", "x1": "bin", "r1": "ref", "d1": "dt",
    "m1": "mvstr", "m2": "mvstr", "mr": "mvref", "mx": "mvbin", "mn": "mvnum",
}  # fmt: skip
LEAVES = {
    "str": ["[s1]", "[s2]", "%P1%", "CRLF", "NULL"],
    "num": ["[n1]", "NULL"],
    "bool": ["[b1]", "True", "False", "NULL"],
    "bin": ["[x1]", "NULL"],
    "ref": ["[r1]"],
    "dt": ["[d1]", "Now()"],
    "mvstr": ["[m1]", "[m2]", 'Split([s1], ",")'],
    "mvref": ["[mr]"],
    "mvbin": ["[mx]"],
    "mvnum": ["[mn]"],
}
TYPES = list(LEAVES)
STRINGS = ["", " a ", "x", "SIP:x", "True", "12", ",", "a,b", "CN=x,DC=y", "\\n", 'q"uote']
# String literals cannot span lines; anything else goes.
LITERAL_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"), max_size=4)
_SKIP = {"IIF", "Switch", "Select", "Where", "With", "ImportedValue", "ValueCount", "Error"}
# Parameter type -> the generated argument types it may receive (per-value inputs included).
_ARG_TYPES = {
    "str": ["str", "str", "str", "mvstr", "ref"],
    "num": ["num", "num", "num", "mvnum"],
    "bool": ["bool"],
    "exp": ["bool", "bool", "num"],
    "bin": ["bin", "bin", "mvbin"],
    "ref": ["ref"],
    "dt": ["dt"],
    "mvstr": ["mvstr", "str"],
    "mvref": ["mvref"],
    "mvattr": ["mvstr"],
    "var": TYPES,
}


def _functions() -> dict[str, list[tuple[str, tuple[tuple[str, str], ...]]]]:
    """Return type -> [(name, ((param type, enum values or ""), ...))] for the catalogue's overloads."""
    table: dict[str, list[tuple[str, tuple[tuple[str, str], ...]]]] = {}
    for name, decl in load_catalogue().items():
        if name in _SKIP or (name.startswith("Cert") and name != "CertThumbprint"):
            continue
        for o in decl.overloads:
            if not all(p.type in _ARG_TYPES or p.type == "enum" for p in o.params):
                continue
            params = tuple((p.type, ",".join(decl.enums.get(p.name, ()))) for p in o.params)
            table.setdefault(o.returns, []).append((name, params))
    return table


FUNCTIONS = _functions()


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@st.composite
def typed_expr(draw: st.DrawFn, want: str, depth: int, variables: tuple[tuple[str, str], ...] = ()) -> str:
    """Expression text of (roughly) type ``want``; the checker has the final word."""
    if depth <= 0 or draw(st.integers(0, 9)) < 3:
        options = list(LEAVES[want]) + [v for v, t in variables if t == want]
        if want == "str":
            options.append(_quote(draw(st.sampled_from(STRINGS) | LITERAL_TEXT)))
        if want == "num":
            options.append(str(draw(st.integers(-3, 600) | st.sampled_from([2**31, 2**62]))))
        if draw(st.integers(0, 30)) == 0:
            options.append(draw(st.sampled_from(["IgnoreThisFlow", "AuthoritativeNull"])))
        return draw(st.sampled_from(options))
    kind = draw(st.integers(0, 9))
    sub = depth - 1

    def arg(t: str) -> str:
        return draw(typed_expr(t, sub, variables))

    if kind == 0:  # IIF, sometimes with an Error branch
        other = 'Error("boom " & [s1])' if draw(st.booleans()) and draw(st.booleans()) else arg(want)
        return f"IIF({arg('bool')}, {arg(want)}, {other})"
    if kind == 1:  # Switch, sometimes ending in a deferred Error
        tail = ', True, Error("no match")' if draw(st.booleans()) else ""
        return f"Switch({arg('bool')}, {arg(want)}, {arg('bool')}, {arg(want)}{tail})"
    if kind == 2 and want in ("mvstr", "str"):  # binders
        v = f"$v{depth}"
        inner = (*variables, (v, "str"))
        form = draw(st.sampled_from(["Select", "Where", "With"]))
        if form == "Select":
            return f"Select({v}, {arg('mvstr')}, {draw(typed_expr('str', sub, inner))})"
        if form == "Where":
            return f"Where({v}, {arg('mvstr')}, {draw(typed_expr('bool', sub, inner))})"
        return f"With({v}, {arg('str')}, {draw(typed_expr(want, sub, inner))})"
    if kind == 3:  # operators
        if want == "str":
            return f"({arg('str')} & {arg(draw(st.sampled_from(['str', 'num', 'bool'])))})"
        if want == "num":
            op = draw(st.sampled_from(["+", "-", "*", "/", "neg"]))
            return f"(-{arg('num')})" if op == "neg" else f"({arg('num')} {op} {arg('num')})"
        if want == "bool":
            op = draw(st.sampled_from(["=", "<>", "<", "<=", ">", ">=", "&&", "||"]))
            if op in ("&&", "||"):
                return f"({arg('bool')} {op} {arg('bool')})"
            t = draw(st.sampled_from(["str", "num", "bool", "dt", "mvstr"]))
            return f"({arg(t)} {op} {arg(draw(st.sampled_from([t, 'str'])))})"
    candidates = FUNCTIONS.get(want, []) + [f for f in FUNCTIONS.get("var", []) if want != "void"]
    if not candidates:
        return draw(typed_expr(want, 0, variables))
    name, params = draw(st.sampled_from(candidates))
    args = []
    for ptype, enums in params:
        if ptype == "enum":
            args.append(draw(st.sampled_from(enums.split(","))))
        else:
            args.append(arg(draw(st.sampled_from(_ARG_TYPES[ptype]))))
    return f"{name}({', '.join(args)})"


_SCALARS: dict[str, st.SearchStrategy[Any]] = {
    "str": st.sampled_from(STRINGS + ["  ", "SMTP:a@b", "a@b"]) | st.text(max_size=5),
    "num": st.integers(-3, 600) | st.sampled_from([2**62, -(2**63), 0]),
    "bool": st.booleans(),
    "bin": st.binary(max_size=6),
    "ref": st.sampled_from(["CN=a,DC=x", "CN=b\\,c,OU=y,DC=x", ""]).map(Ref),
    "dt": st.sampled_from(
        [dt.datetime(2024, 1, 1, tzinfo=UTC), dt.datetime(1999, 12, 31, 23, 59, tzinfo=UTC)]
    ),
}
# Values that contradict the schema: the generated fast paths must notice and step aside.
_LIES = st.sampled_from(
    [[], "x", 7, True, b"\x01", ["a", "b"], [1, 2], [" a ", None], [IGNORE_THIS_FLOW], {"k": 1}]
)


def attr_value(t: str) -> st.SearchStrategy[Any]:
    base = _SCALARS[t[2:] if t.startswith("mv") else t]
    correct = st.lists(base, min_size=1, max_size=3) if t.startswith("mv") else base
    return st.one_of(st.just(None), correct, correct, correct, _LIES)


@st.composite
def objects(draw: st.DrawFn) -> dict[str, Any]:
    values = {name: draw(attr_value(t)) for name, t in ATTRS.items()}
    return {k: v for k, v in values.items() if v is not None}


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)
@given(st.sampled_from(TYPES[:7]).flatmap(lambda t: typed_expr(t, 3)), objects(), st.integers(0, 3))
def test_random_expressions_agree_on_random_inputs(text: str, attrs: dict[str, Any], seed: int) -> None:
    sink = DiagnosticSink()
    tree = parse_expression(text, sink)
    assert tree is not None and not sink.has_errors, text
    node = lower_expression(tree, ExprEnv(attributes=ATTRS, parameters={"P1"}), sink)
    assume(node is not None)
    assert node is not None
    closure, generated = both(node, attrs, seed=seed, object_id="o1")
    assert closure == generated, (text, attrs, generate_source(node))


# ---------------------------------------------------------------------------- semantics


def test_iif_is_lazy_and_errors_point_at_the_failing_call() -> None:
    text = 'IIF(IsPresent([a]), Left(Trim(Item([m], 3)), 2), Error("missing a"))'
    node = lower(text, a="str", m="mvstr")
    fn = compile_expr_py(node)
    assert fn(EvalContext({"a": "x", "m": [" one ", "two", " three "]})) == "th"
    with pytest.raises(UserError) as info:
        fn(EvalContext({"m": ["x"]}))
    assert text[info.value.span.start : info.value.span.end] == 'Error("missing a")'  # type: ignore[attr-defined]
    with pytest.raises(EvalError) as info:
        fn(EvalContext({"a": "x", "m": ["x"]}))
    assert "Item: index 3 is out of range" in info.value.message
    assert text[info.value.span.start : info.value.span.end] == "Item([m], 3)"  # type: ignore[attr-defined]
    for attrs in ({"a": "x", "m": ["x"]}, {"m": ["x"]}, {"a": "x", "m": ["a", "b", "c "]}):
        closure, generated = both(node, attrs)
        assert closure == generated


def test_python_type_errors_in_builtins_become_the_same_evaluation_error() -> None:
    node = lower("RemoveDuplicates([m])", m="mvstr")
    fn = compile_expr_py(node)
    with pytest.raises(EvalError) as info:
        fn(EvalContext({"m": [{"unhashable": 1}]}))
    assert info.value.message == "RemoveDuplicates: cannot be applied to (mvvar)"
    assert isinstance(info.value.__cause__, TypeError)
    assert info.value.span == node.origin  # type: ignore[attr-defined]
    closure, generated = both(node, {"m": [{"unhashable": 1}]})
    assert closure == generated


def test_per_value_iif_inside_select_sees_the_binding_and_restores_variables() -> None:
    # The IIF condition is per value (Split gives several), so that IIF takes the delegated path,
    # which must see $x bound by the generated loop.
    text = 'Select($x, [m], IIF(Split($x, ",") = "a", $x & "!", NULL))'
    node = lower(text, m="mvstr")
    ctx = EvalContext({"m": ["a,b", "a", "c"]})
    ctx.variables["$outer"] = 1
    assert compile_expr_py(node)(ctx) == ["a,b!", "a!"]
    assert ctx.variables == {"$outer": 1}
    closure, generated = both(node, {"m": ["a,b", "a", "c"]})
    assert closure == generated


def test_hand_built_ir_without_origins_gets_the_closure_compilers_spans() -> None:
    """Only some nodes carry an origin: an error takes the nearest one whose evaluation covers the
    failing node (the right side of && is covered by the &&; a call's arguments are not)."""
    s_root, s_and, s_trim = (Span("f.sync", 1, c, 1, c + 1, c, c + 1) for c in (0, 10, 20))
    item = ir.CallFn("Item", (ir.Attr("m", "mvstr"), ir.Const(5, "num")), "str")
    exprs = [
        ir.CallFn(
            "Left",
            (ir.CallFn("Trim", (item,), "str", origin=s_trim), ir.Const(1, "num")),
            "str",
            origin=s_root,
        ),
        ir.BinOp(
            "&&",
            ir.Const(True, "bool"),
            ir.BinOp("=", item, ir.Const("x", "str"), "bool"),
            "bool",
            origin=s_and,
        ),
        ir.CallFn(
            "Trim",
            (ir.BinOp("&&", ir.Const(True, "bool"), ir.CallFn("IsPresent", (item,), "bool"), "bool"),),
            "str",
        ),
        ir.CallFn(
            "Select",
            (ir.Var("$v"), ir.Attr("m", "mvstr"), ir.CallFn("Error", (ir.Var("$v", "str"),), "void")),
            "mvstr",
            origin=s_and,
        ),
    ]
    spans = []
    for e in exprs:
        closure, generated = both(e, {"m": ["a"]})
        assert closure == generated and closure[0] == "raise"
        spans.append(closure[4])
    assert spans == [(0, 1), (10, 11), None, (10, 11)]


def test_unbound_variables_read_the_context_like_closures() -> None:
    e = ir.CallFn("Trim", (ir.Var("$free", "str"),), "str")
    ctx = EvalContext()
    ctx.variables["$free"] = "  x "
    assert compile_expr_py(e)(ctx) == compile_expr(e)(ctx) == "x"


def test_switch_defers_direct_error_values_and_checks_pairs() -> None:
    node = lower('Switch([n] = 1, "one", [n] = 2, Error("two"), True, "other")', n="num")
    fn = compile_expr_py(node)
    assert fn(EvalContext({"n": 1})) == "one"
    assert fn(EvalContext({"n": 3})) == "other"
    with pytest.raises(UserError):
        fn(EvalContext({"n": 2}))
    unpaired = ir.CallFn(
        "Switch", (ir.Const(True, "bool"), ir.Const("a", "str"), ir.Const(False, "bool")), "var"
    )
    with pytest.raises(EvalError, match="pairs"):
        compile_expr_py(unpaired)(EvalContext())
    multi = lower('Switch([m] = "a", "A", True, [m])', m="mvstr")
    for attrs in ({"m": ["a", "b"]}, {"m": ["b"]}, {}):
        closure, generated = both(multi, attrs)
        assert closure == generated


def test_context_functions_consume_the_same_sequence() -> None:
    node = lower('Guid() & "/" & CStr(RandomNum(1, 1000)) & "/" & Guid() & CStr(Now())')
    closure, generated = both(node, {}, seed=7, object_id="obj")
    assert closure == generated and closure[0] == "value"


def test_schema_lies_take_the_general_path() -> None:
    node = lower('IIF(IsNullOrEmpty([s]), "none", Left(Trim([s]), 2) & [n])', s="str", n="num")
    for value in (" abc ", [" abc ", "d"], [], 7, None, b"\x00", IGNORE_THIS_FLOW, ["", ""]):
        attrs = {"s": value, "n": "12"} if value is not None else {"n": 5}
        closure, generated = both(node, attrs)
        assert closure == generated, value


# ---------------------------------------------------------------------------- the generator


def test_same_ir_gives_byte_identical_source() -> None:
    text = 'IIF(IsPresent([a]), CRef("CN=" & [a]) , Select($x, [m], Trim($x)))'
    one = generate_source(lower(text, a="str", m="mvstr"))
    two = generate_source(lower(text, a="str", m="mvstr"))
    assert one == two


def test_values_without_a_round_tripping_repr_are_hoisted() -> None:
    e = ir.CallFn(
        "IIF",
        (
            ir.Attr("b", "bool"),
            ir.Const(Ref("CN=x"), "ref"),
            ir.Const(dt.datetime(2020, 1, 2, tzinfo=UTC), "dt"),
        ),
        "var",
    )
    source = generate_source(e)
    code_lines = [line for line in source.splitlines() if not line.lstrip().startswith("#")]
    assert "_K[0]" in source and "_K[1]" in source
    assert not any("Ref(" in line or "datetime" in line for line in code_lines)
    fn = compile_expr_py(e)
    assert fn(EvalContext({"b": True})).__class__ is Ref
    assert fn(EvalContext({"b": False})) == dt.datetime(2020, 1, 2, tzinfo=UTC)


def test_size_limits_fall_back_to_closures() -> None:
    deep: ir.Expr = ir.Attr("a", "str")
    for _ in range(pygen.MAX_NESTING + 5):
        deep = ir.CallFn("IIF", (ir.Attr("b", "bool"), ir.Const("x", "str"), deep), "str")
    wide = ir.CallFn("Switch", tuple(ir.Const(i % 2 == 0, "bool") for i in range(pygen.MAX_NODES + 2)), "var")
    for e, attrs in ((deep, {"a": "leaf", "b": False}), (wide, {})):
        with pytest.raises(CodegenLimitError):
            generate_source(e)
        fn = compile_expr_py(e)
        assert not is_generated(fn)
        assert fn(EvalContext(attrs)) == compile_expr(e)(EvalContext(attrs))


def test_generated_function_names_are_checked() -> None:
    for bad in ("len", "_K", "a", "v1", "x0", "class", "f(ctx)", "é"):
        with pytest.raises(ValueError):
            generate_source(ir.Const(1, "num"), bad)


GOLDEN_CASES = {
    "description": (
        "IIF(IsNullOrEmpty([description]),NULL,Left(Trim(Item([description],1)),448))",
        {"description": "mvstr"},
    ),
    "proxy_addresses": (
        'RemoveDuplicates(Trim(ImportedValue("proxyAddresses")))',
        {"proxyAddresses": "mvstr"},
    ),
    "account_enabled": ("IIF(BitAnd([userAccountControl],2)=0,True,False)", {"userAccountControl": "num"}),
    "select_per_value": (
        'Select($a, [proxyAddresses], IIF(InStr($a, "SIP:") = 1, NULL, Word($a, 2, ":")))',
        {"proxyAddresses": "mvstr"},
    ),
    "switch_and_logic": (
        'Switch(IsPresent([c]) && [c] <> "US", "abroad", [c] = "US" || IsNull([c]), "home", True, Error("no " & [c]))',
        {"c": "str"},
    ),
    "hoisted_constants": ('IIF([flag], CRef("CN=x,DC=y"), DateFromNum([n]))', {"flag": "bool", "n": "num"}),
}


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_generated_code_golden(name: str) -> None:
    text, types = GOLDEN_CASES[name]
    source = generate_source(lower(text, **types))
    check_golden(GOLDEN / f"{name}.py", f"# {text}\n{source}")


# ---------------------------------------------------------------------------- safety

HOSTILE = [
    "a'); import os; ('",
    '"); import os; ("',
    "x\n__import__('os').system('echo pwned')\n#",
    "\\",
    "'''",
    '"""',
    "\r\nraise SystemExit",
    "line\u2028sep\x85nel\x0cff",
    "\x00nul",
    "{__import__('os')}",
    "# comment",
    "v0",
    "ctx",
]
_ALLOWED_NAMES = re.compile(
    r"(ctx|a|exc|v\d+|x\d+|_[A-Za-z0-9_]+|list|str|int|bool|bytes|len|EvalError|flow)"
)
_ALLOWED_ATTRS = {
    "__class__", "get", "attributes", "parameters", "variables", "strip", "lstrip", "rstrip", "find",
    "append", "extend", "imported_value", "value_count", "now", "new_guid",
}  # fmt: skip


def _hostile_expression(text: str) -> tuple[ir.Expr, dict[str, Any], dict[str, Any]]:
    """An expression naming an attribute, a parameter and a variable ``text``, and joining ``text``
    as a literal: ``With($<text>, [<text>] & %<text>%, $<text> & "<text>")``."""
    joined = ir.BinOp("&", ir.Attr(text, "str"), ir.Param(text), "str")
    body = ir.BinOp("&", ir.Var(text, "str"), ir.Const(text, "str"), "str")
    e = ir.CallFn("With", (ir.Var(text, "str"), joined, body), "str")
    return e, {text: "A"}, {text: "P"}


def _check_source_only_has_literals(source: str, text: str) -> None:
    tree = pyast.parse(source)
    strings = set()
    for node in pyast.walk(tree):
        assert not isinstance(node, (pyast.Import, pyast.ImportFrom, pyast.Lambda, pyast.ClassDef)), (
            pyast.dump(node)
        )
        if isinstance(node, pyast.Name):
            assert _ALLOWED_NAMES.fullmatch(node.id), node.id
        if isinstance(node, pyast.Attribute):
            assert node.attr in _ALLOWED_ATTRS, node.attr
        if isinstance(node, pyast.Constant) and isinstance(node.value, str):
            strings.add(node.value)
    assert text in strings  # user text is there, as a string constant
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            assert all(" " <= ch <= "~" for ch in tok.string), tok.string
        elif tok.type != tokenize.STRING:
            assert text not in tok.string or text in ("v0", "ctx"), tok


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_names_and_strings_only_reach_the_source_as_repr_literals(text: str) -> None:
    e, attrs, params = _hostile_expression(text)
    source = generate_source(e)
    _check_source_only_has_literals(source, text)
    fn = compile_expr_py(e)
    assert is_generated(fn)
    assert fn(EvalContext(attrs, params)) == "AP" + text
    assert fn(EvalContext(attrs, params)) == compile_expr(e)(EvalContext(attrs, params))


def test_generated_namespace_holds_only_the_helpers() -> None:
    fn = compile_expr_py(lower('Trim([a]) & %P1% & IIF([b], "x", NULL)', a="str", b="bool"))
    namespace = fn.__globals__
    assert namespace["__builtins__"] == {}
    assert "__import__" not in namespace and "open" not in namespace and "eval" not in namespace
    assert set(namespace) - set(pygen._runtime()) == {"flow", "_err", "_bug", "_iif", "_g_Trim", "_g_cat"}


def test_emit_python_renders_every_expression_flow() -> None:
    result = compile_paths([ROOT / "examples" / "contoso"])
    assert result.config is not None
    text = emit_python(result.config)
    assert text == emit_python(result.config)
    compile(text, "<emitted>", "exec")
    flows = [(r, f) for r in result.config.rules for f in r.flows if f.kind == "expression"]
    headers = [line for line in text.splitlines() if line.startswith("# rule ")]
    assert len(headers) == len(flows) == text.count("\ndef flow_")
    rule, flow = flows[0]
    assert headers[0] == f"# rule {rule.name} -> {flow.target} ({flow.origin.file}:{flow.origin.line})"  # type: ignore[union-attr]

    from click.testing import CliRunner

    from syncrules.cli import main

    cli = CliRunner().invoke(main, ["compile", str(ROOT / "examples" / "contoso"), "--emit", "python"])
    assert cli.exit_code == 0 and cli.output == text


def test_emit_python_escapes_rule_and_target_names() -> None:
    hostile = "r\nimport os  # "
    flow = ir.Flow(hostile, "expression", (), None, ir.Const("x", "str"), "update", False, "str")
    rule = ir.Rule(
        hostile, None, None, None, "inbound", "c", "user", "person", "join", 1, None, None, None,
        False, False, None, (), (), (flow,),
    )  # fmt: skip
    text = emit_python(ir.Config((), (), (), (rule,)))
    compile(text, "<emitted>", "exec")
    assert "\nimport os" not in text and "r\\nimport os" in text


# ---------------------------------------------------------------------------- backend switch


def test_backend_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    e = lower("Trim([a])", a="str")
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert default_backend() == DEFAULT_BACKEND == "py"
    assert is_generated(compile_flow_expr(e))
    assert not is_generated(compile_flow_expr(e, "closure"))
    monkeypatch.setenv(ENV_VAR, "closure")
    assert not is_generated(compile_flow_expr(e))
    monkeypatch.setenv(ENV_VAR, "fast")
    with pytest.raises(ValueError):
        compile_flow_expr(e)
    with pytest.raises(ValueError):
        compile_flow_expr(e, "jit")  # type: ignore[arg-type]
