"""Hypothesis strategies that build syncrules ASTs directly (not text), for round-trip properties."""

from __future__ import annotations

import string

from hypothesis import strategies as st

from syncrules import ast

KEYWORDS = {
    "import", "std", "metaverse", "object", "connector", "kind", "anchor", "parameter", "partition",
    "include", "exclude", "rule", "inbound", "outbound", "from", "to", "link", "precedence", "before",
    "after", "id", "tag", "description", "disabled", "password-sync", "soft-delete-expiry", "scope",
    "join", "flow", "const", "once", "update", "replace", "merge", "merge-case-insensitive", "and",
    "or", "case-sensitive", "multi", "indexed", "required", "string", "number", "boolean", "binary",
    "reference", "datetime",
}  # fmt: skip
CONSTANT_NAMES = ["True", "False", "NULL", "CRLF", "AuthoritativeNull", "IgnoreThisFlow"]
FUNCTIONS = ["IIF", "Trim", "Left", "Mid", "Join", "Select", "ConvertFromBase64", "Word", "IsPresent"]

_first = string.ascii_letters + "_"
_rest = string.ascii_letters + string.digits + "_"


@st.composite
def names(draw: st.DrawFn) -> str:
    head = draw(st.sampled_from(_first))
    body = draw(st.text(_rest + "-", max_size=10))
    tail = draw(st.sampled_from(_rest)) if body else ""
    name = head + body + tail
    if name.lower() in KEYWORDS or name.lower() in {c.lower() for c in CONSTANT_NAMES}:
        name = "a" + name
    return name


text_values = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"), max_size=20
)


def numbers() -> st.SearchStrategy[ast.NumberLit]:
    dec = st.integers(0, 2**63).map(lambda v: ast.NumberLit(v, str(v)))
    hexa = st.integers(0, 2**32).map(lambda v: ast.NumberLit(v, f"&H{v:X}"))
    return st.one_of(dec, hexa)


def leaves() -> st.SearchStrategy[ast.Expr]:
    return st.one_of(
        text_values.map(ast.StringLit),
        numbers(),
        st.sampled_from(CONSTANT_NAMES).map(ast.NameRef),
        names().map(ast.AttrRef),
        names().map(lambda n: ast.ParamRef(n.replace("-", ".").strip("."))),
        names().map(lambda n: ast.VarRef("$" + n.replace("-", "_"))),
    )


def expressions() -> st.SearchStrategy[ast.Expr]:
    ops = ["||", "&&", "=", "<>", "<", ">", "<=", ">=", "&", "+", "-", "*", "/"]

    def extend(children: st.SearchStrategy[ast.Expr]) -> st.SearchStrategy[ast.Expr]:
        return st.one_of(
            st.builds(ast.Binary, st.sampled_from(ops), children, children),
            st.builds(ast.Unary, st.just("-"), children),
            st.builds(
                ast.Call,
                st.sampled_from(FUNCTIONS).map(ast.Ident),
                st.lists(children, max_size=4).map(tuple),
            ),
            st.builds(ast.Paren, children),
        )

    return st.recursive(leaves(), extend, max_leaves=12)


def flow_exprs() -> st.SearchStrategy[ast.Expr]:
    # A bare non-constant name would read back as a direct flow, so keep those out of the top level.
    return expressions().filter(lambda e: not isinstance(e, ast.NameRef) or e.name in CONSTANT_NAMES)


@st.composite
def flows(draw: st.DrawFn) -> ast.Flow:
    target = ast.Ident(draw(names()))
    kind = draw(st.sampled_from(["direct", "constant", "expression"]))
    merge = draw(st.one_of(st.none(), st.sampled_from(["update", "replace", "merge", "merge-case-insensitive"])))
    once = draw(st.booleans())
    merge_ident = ast.Ident(merge) if merge else None
    if kind == "direct":
        sources = tuple(ast.Ident(n) for n in draw(st.lists(names(), min_size=1, max_size=3)))
        return ast.Flow(target, "direct", sources=sources, merge=merge_ident, once=once)
    if kind == "constant":
        return ast.Flow(target, "constant", constant=ast.StringLit(draw(text_values)), merge=merge_ident, once=once)
    return ast.Flow(target, "expression", expr=draw(flow_exprs()), merge=merge_ident, once=once)


OPERATORS = ["EQUAL", "NOTEQUAL", "STARTSWITH", "ISNULL", "ISNOTNULL", "ISBITNOTSET", "LESSTHAN", "ISMEMBEROF"]


@st.composite
def scope_clauses(draw: st.DrawFn) -> ast.ScopeClause:
    op = draw(st.sampled_from(OPERATORS))
    if op in ("ISNULL", "ISNOTNULL"):
        return ast.ScopeClause(ast.Ident(draw(names())), ast.Ident(op), None)
    if op == "ISMEMBEROF" and draw(st.booleans()):
        return ast.ScopeClause(None, ast.Ident(op), ast.StringLit(draw(text_values)))
    value: ast.StringLit | ast.NumberLit
    if draw(st.booleans()):
        n = draw(st.integers(-(2**31), 2**31))
        value = ast.NumberLit(n, str(n))
    else:
        value = ast.StringLit(draw(text_values))
    return ast.ScopeClause(ast.Ident(draw(names())), ast.Ident(op), value)


@st.composite
def rules(draw: st.DrawFn) -> ast.Rule:
    inbound = draw(st.booleans())
    conn = ast.StringLit(draw(text_values))
    a, b = ast.Ident(draw(names())), ast.Ident(draw(st.one_of(names(), st.just("*"))) if inbound else draw(names()))
    direction = ast.Direction("inbound" if inbound else "outbound", conn, a, b)
    n = draw(st.integers(0, 1000))
    before = draw(st.one_of(st.none(), text_values.map(ast.StringLit)))
    precedence = ast.Precedence(ast.NumberLit(n, str(n)), before, None)
    settings: list[ast.Setting] = []
    if draw(st.booleans()):
        settings.append(ast.Setting("link", ast.Ident(draw(st.sampled_from(["join", "provision", "sticky-join"])))))
    for key in ("id", "tag", "description", "soft-delete-expiry"):
        if draw(st.booleans()):
            settings.append(ast.Setting(key, ast.StringLit(draw(text_values))))
    for flag in ("disabled", "password-sync"):
        if draw(st.booleans()):
            settings.append(ast.Setting(flag, None))
    order = {"link": 0, "id": 1, "tag": 2, "description": 3, "disabled": 4, "password-sync": 5, "soft-delete-expiry": 6}
    settings.sort(key=lambda s: order[s.key])
    scope = tuple(
        ast.ScopeGroup(tuple(g)) for g in draw(st.lists(st.lists(scope_clauses(), max_size=3), max_size=3))
    )
    join = tuple(
        ast.JoinGroup(tuple(ast.JoinClause(ast.Ident(x), ast.Ident(y), cs) for x, y, cs in g))
        for g in draw(st.lists(st.lists(st.tuples(names(), names(), st.booleans()), min_size=1, max_size=2), max_size=2))
    )
    fl = tuple(draw(st.lists(flows(), max_size=5)))
    return ast.Rule(ast.StringLit(draw(text_values)), direction, precedence, tuple(settings), scope, join, fl)


@st.composite
def modules(draw: st.DrawFn) -> ast.Module:
    items: list[ast.Item] = []
    for imp in draw(st.lists(text_values, max_size=2)):
        items.append(ast.Import(ast.StringLit(imp), draw(st.booleans())))
    attrs = draw(st.lists(st.tuples(names(), st.sampled_from(["string", "number", "binary"]), st.booleans()), max_size=4, unique_by=lambda t: t[0]))
    if attrs:
        obj = ast.ObjectTypeDecl(
            ast.Ident(draw(names())),
            tuple(ast.AttributeDecl(ast.Ident(n), t, multi=m) for n, t, m in attrs),
        )
        items.append(ast.MetaverseDecl((obj,)))
    items.extend(draw(st.lists(rules(), min_size=1, max_size=3)))
    return ast.Module("<generated>", tuple(items))
