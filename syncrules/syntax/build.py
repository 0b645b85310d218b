"""Lark parse tree → AST.

An iterative (non-recursive) rewrite, so a deeply nested input cannot exhaust the Python stack here.
Problems that the grammar accepts but the language does not (a setting given twice, a direct
flow listing an expression) are reported as diagnostics, not exceptions.
"""

from __future__ import annotations

from typing import Any

from lark import Token

from syncrules import ast
from syncrules.diagnostics import DiagnosticSink
from syncrules.source import SourceFile, Span


def unescape_string(raw: str) -> str:
    """Strip the quotes; ``\\\\`` means one backslash and ``\\"`` a quote. Other backslashes stay.

    Keeping unknown escapes literal is what lets ``Replace``'s ``\\n`` moniker reach the function
    unchanged, and reads Microsoft's ``"\\\\0ACNF:"`` as the text ``\\0ACNF:``.
    """
    body = raw[1:-1]
    if "\\" not in body:
        return body
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body) and body[i + 1] in '\\"':
            out.append(body[i + 1])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def parse_number(text: str) -> int:
    if text[:2] in ("&H", "&h"):
        return int(text[2:], 16)
    return int(text)


# Tokens kept in the parse only so spans can reach them; builders never see them.
_PUNCTUATION = frozenset(
    {
        "LBRACE", "RBRACE", "LPAR", "RPAR", "IMPORT", "METAVERSE", "OBJECT", "CONNECTOR", "KIND", "ANCHOR",
        "PARAMETER", "PARTITION", "INCLUDE", "EXCLUDE", "RULE", "LINK", "ID", "TAG", "DESCRIPTION",
        "SOFT_DELETE_EXPIRY", "SCOPE", "JOIN", "FLOW", "PRECEDENCE", "OVERRIDE",
    }
)  # fmt: skip


class _Meta:
    """The extent of the tokens a grammar rule matched (what Lark's ``meta`` would give)."""

    __slots__ = ("start_pos", "end_pos", "empty")

    def __init__(self, start: int | None, end: int | None) -> None:
        self.empty = start is None
        self.start_pos = start or 0
        self.end_pos = end or 0


def _first_pos(x: Any) -> int | None:
    if isinstance(x, Token):
        return x.start_pos
    span = getattr(x, "span", None)
    if span is not None:
        return span.start  # type: ignore[no-any-return]
    if isinstance(x, tuple):
        for y in x:
            pos = _first_pos(y)
            if pos is not None:
                return pos
    return None


def _last_pos(x: Any) -> int | None:
    if isinstance(x, Token):
        return x.end_pos
    span = getattr(x, "span", None)
    if span is not None:
        return span.end  # type: ignore[no-any-return]
    if isinstance(x, tuple):
        for y in reversed(x):
            pos = _last_pos(y)
            if pos is not None:
                return pos
    return None


class ParserCallbacks:
    """Lark's in-parser transformer: builds AST nodes as rules are reduced (no parse tree).

    Lark hands each callback only the rule's children, so the span is computed here from the
    first and last positioned child, and bracket tokens are dropped after they have given it.
    """

    def __init__(self, builder: AstBuilder) -> None:
        for name in dir(builder):
            if not name.startswith("_") and name not in ("source", "sink"):
                setattr(self, name, self._wrap(getattr(builder, name)))

    @staticmethod
    def _wrap(method: Any) -> Any:
        def callback(children: list[Any]) -> Any:
            start = end = None
            for c in children:
                start = _first_pos(c)
                if start is not None:
                    break
            for c in reversed(children):
                end = _last_pos(c)
                if end is not None:
                    break
            kept = [c for c in children if not (isinstance(c, Token) and c.type in _PUNCTUATION)]
            return method(_Meta(start, end), kept)

        return callback


class AstBuilder:
    """One method per grammar rule, called as ``(meta, children)`` while the parser reduces."""

    def __init__(self, source: SourceFile | None = None, sink: DiagnosticSink | None = None) -> None:
        # The parser holds one builder and calls it while parsing (no intermediate tree);
        # ``source`` and ``sink`` are swapped in for each parse.
        self.source: SourceFile = source  # type: ignore[assignment]
        self.sink: DiagnosticSink = sink  # type: ignore[assignment]

    # -- helpers --------------------------------------------------------------------
    def _tok_span(self, tok: Token) -> Span:
        return self.source.span(tok.start_pos or 0, tok.end_pos or 0)

    def _span_of(self, items: list[Any]) -> Span:
        spans = [self._span_any(x) for x in items]
        spans = [s for s in spans if s is not None]
        first, last = spans[0], spans[-1]
        return self.source.span(first.start, last.end)

    def _span_any(self, x: Any) -> Span | None:
        if isinstance(x, Token):
            return self._tok_span(x)
        span = getattr(x, "span", None)
        return span

    def _ident(self, tok: Token) -> ast.Ident:
        return ast.Ident(str(tok), self._tok_span(tok))

    def _string(self, tok: Token) -> ast.StringLit:
        return ast.StringLit(unescape_string(str(tok)), self._tok_span(tok), str(tok))

    def _meta(self, meta: _Meta) -> Span:
        if meta.empty:
            return self.source.span(0, 0)
        return self.source.span(meta.start_pos, meta.end_pos)

    # -- module ---------------------------------------------------------------------
    def start(self, meta: Any, items: list[Any]) -> list[Any]:
        return items

    def expr_only(self, meta: Any, items: list[Any]) -> Any:
        return items[0]

    def import_stmt(self, meta: Any, items: list[Any]) -> ast.Import:
        std = len(items) == 2
        path = self._string(items[-1])
        return ast.Import(path, std, self._meta(meta))

    # -- schema ---------------------------------------------------------------------
    def metaverse_decl(self, meta: Any, items: list[Any]) -> ast.MetaverseDecl:
        return ast.MetaverseDecl(tuple(items), self._meta(meta))

    def type_name(self, meta: Any, items: list[Any]) -> ast.Ident:
        return self._ident(items[0])

    def object_decl(self, meta: Any, items: list[Any]) -> ast.ObjectTypeDecl:
        name = items[0]
        return ast.ObjectTypeDecl(name, tuple(items[1:]), self._meta(meta))

    def attr_modifier(self, meta: Any, items: list[Any]) -> Token:
        return items[0]

    def attribute_decl(self, meta: Any, items: list[Any]) -> ast.AttributeDecl:
        name, typ, *mods = items
        words = [str(m) for m in mods]
        for word in {w for w in words if words.count(w) > 1}:
            tok = [m for m in mods if str(m) == word][1]
            self.sink.error("SR010", f"modifier `{word}` is given twice", self._tok_span(tok))
        return ast.AttributeDecl(
            self._ident(name),
            str(typ),
            multi="multi" in words,
            indexed="indexed" in words,
            required="required" in words,
            span=self._meta(meta),
        )

    def kind_stmt(self, meta: Any, items: list[Any]) -> tuple[str, Any]:
        return ("kind", self._ident(items[0]))

    def id_stmt(self, meta: Any, items: list[Any]) -> tuple[str, Any]:
        return ("id", self._string(items[0]))

    def description_stmt(self, meta: Any, items: list[Any]) -> tuple[str, Any]:
        return ("description", self._string(items[0]))

    def anchor_stmt(self, meta: Any, items: list[Any]) -> tuple[str, Any]:
        return ("anchor", tuple(self._ident(t) for t in items))

    def parameter_decl(self, meta: Any, items: list[Any]) -> ast.ParameterDecl:
        value = self._string(items[1]) if len(items) > 1 else None
        return ast.ParameterDecl(self._ident(items[0]), value, self._meta(meta))

    def include_stmt(self, meta: Any, items: list[Any]) -> tuple[str, Any]:
        return ("include", self._string(items[0]))

    def exclude_stmt(self, meta: Any, items: list[Any]) -> tuple[str, Any]:
        return ("exclude", self._string(items[0]))

    def partition_decl(self, meta: Any, items: list[Any]) -> ast.PartitionDecl:
        dn = self._string(items[0])
        params = tuple(i for i in items[1:] if isinstance(i, ast.ParameterDecl))
        includes = tuple(i[1] for i in items[1:] if isinstance(i, tuple) and i[0] == "include")
        excludes = tuple(i[1] for i in items[1:] if isinstance(i, tuple) and i[0] == "exclude")
        return ast.PartitionDecl(dn, params, includes, excludes, self._meta(meta))

    def connector_decl(self, meta: Any, items: list[Any]) -> ast.ConnectorDecl:
        name = self._string(items[0])
        single: dict[str, Any] = {}
        params: list[ast.ParameterDecl] = []
        partitions: list[ast.PartitionDecl] = []
        objects: list[ast.ObjectTypeDecl] = []
        for it in items[1:]:
            if isinstance(it, ast.ParameterDecl):
                params.append(it)
            elif isinstance(it, ast.PartitionDecl):
                partitions.append(it)
            elif isinstance(it, ast.ObjectTypeDecl):
                objects.append(it)
            else:
                key, value = it
                if key in single:
                    where = value[0].span if isinstance(value, tuple) else value.span
                    self.sink.error("SR010", f"connector {name.value!r} sets `{key}` twice", where)
                    continue
                single[key] = value
        return ast.ConnectorDecl(
            name,
            single.get("kind"),
            single.get("id"),
            single.get("description"),
            single.get("anchor", ()),
            tuple(params),
            tuple(partitions),
            tuple(objects),
            self._meta(meta),
        )

    # -- rules ----------------------------------------------------------------------
    def inbound(self, meta: Any, items: list[Any]) -> ast.Direction:
        kw, conn, src, tgt = items
        return ast.Direction("inbound", self._string(conn), src, tgt, self._meta(meta))

    def outbound(self, meta: Any, items: list[Any]) -> ast.Direction:
        kw, src, conn, tgt = items
        return ast.Direction("outbound", self._string(conn), src, tgt, self._meta(meta))

    def signed_int(self, meta: Any, items: list[Any]) -> ast.NumberLit:
        text = "".join(str(t) for t in items)
        return ast.NumberLit(int(text), text, self._meta(meta))

    def before_clause(self, meta: Any, items: list[Any]) -> tuple[str, ast.StringLit]:
        return ("before", self._string(items[0]))

    def after_clause(self, meta: Any, items: list[Any]) -> tuple[str, ast.StringLit]:
        return ("after", self._string(items[0]))

    def precedence_stmt(self, meta: Any, items: list[Any]) -> ast.Precedence:
        value = next((i for i in items if isinstance(i, ast.NumberLit)), None)
        before = next((i[1] for i in items if isinstance(i, tuple) and i[0] == "before"), None)
        after = next((i[1] for i in items if isinstance(i, tuple) and i[0] == "after"), None)
        return ast.Precedence(value, before, after, self._meta(meta))

    def link_stmt(self, meta: Any, items: list[Any]) -> ast.Setting:
        return ast.Setting("link", self._ident(items[0]), self._meta(meta))

    def tag_stmt(self, meta: Any, items: list[Any]) -> ast.Setting:
        return ast.Setting("tag", self._string(items[0]), self._meta(meta))

    def disabled_stmt(self, meta: Any, items: list[Any]) -> tuple[str, str, Span]:
        return ("flag", "disabled", self._meta(meta))

    def password_sync_stmt(self, meta: Any, items: list[Any]) -> tuple[str, str, Span]:
        return ("flag", "password-sync", self._meta(meta))

    def soft_delete_stmt(self, meta: Any, items: list[Any]) -> ast.Setting:
        return ast.Setting("soft-delete-expiry", self._string(items[0]), self._meta(meta))

    def scope_clause(self, meta: Any, items: list[Any]) -> ast.ScopeClause:
        attr, op, *rest = items
        value = self._value(rest[0]) if rest else None
        return ast.ScopeClause(self._ident(attr), self._ident(op), value, self._meta(meta))

    def scope_clause_noattr(self, meta: Any, items: list[Any]) -> ast.ScopeClause:
        op, value = items
        return ast.ScopeClause(None, self._ident(op), self._value(value), self._meta(meta))

    def _value(self, v: Any) -> ast.StringLit | ast.NumberLit:
        if isinstance(v, Token):
            return self._string(v)
        return v  # type: ignore[no-any-return]

    def scope_group(self, meta: Any, items: list[Any]) -> ast.ScopeGroup:
        return ast.ScopeGroup(tuple(items), self._meta(meta))

    def scope_stmt(self, meta: Any, items: list[Any]) -> tuple[str, tuple[ast.ScopeGroup, ...]]:
        return ("scope", tuple(items))

    def join_clause(self, meta: Any, items: list[Any]) -> ast.JoinClause:
        cs, mv, *cs_flag = items
        return ast.JoinClause(self._ident(cs), self._ident(mv), bool(cs_flag), self._meta(meta))

    def join_group(self, meta: Any, items: list[Any]) -> ast.JoinGroup:
        return ast.JoinGroup(tuple(items), self._meta(meta))

    def join_stmt(self, meta: Any, items: list[Any]) -> tuple[str, tuple[ast.JoinGroup, ...]]:
        return ("join", tuple(items))

    def constant_source(self, meta: Any, items: list[Any]) -> tuple[str, Any]:
        return ("constant", self._string(items[1]))

    def expr_source(self, meta: Any, items: list[Any]) -> tuple[str, Any]:
        return ("expr", tuple(items))

    def flow_modifier(self, meta: Any, items: list[Any]) -> Token:
        return items[0]

    def flow_stmt(self, meta: Any, items: list[Any]) -> ast.Flow:
        target_tok, (kind, payload), *mods = items
        target = self._ident(target_tok)
        span = self._meta(meta)
        once = False
        merge: ast.Ident | None = None
        for m in mods:
            word = str(m)
            if word == "once":
                if once:
                    self.sink.error("SR010", "`once` is given twice", self._tok_span(m))
                once = True
            else:
                if merge is not None:
                    self.sink.error(
                        "SR010",
                        f"flow to `{target.text}` sets its merge type twice",
                        self._tok_span(m),
                        help="a flow has exactly one merge type: update, replace, merge or merge-case-insensitive",
                    )
                    continue
                merge = self._ident(m)
        if kind == "constant":
            return ast.Flow(target, "constant", constant=payload, merge=merge, once=once, span=span)
        exprs: tuple[ast.Expr, ...] = payload
        if len(exprs) == 1 and not _is_direct_name(exprs[0]):
            return ast.Flow(target, "expression", expr=exprs[0], merge=merge, once=once, span=span)
        sources: list[ast.Ident] = []
        for e in exprs:
            if _is_direct_name(e):
                sources.append(ast.Ident(e.name, e.span))  # type: ignore[union-attr]
            else:
                self.sink.error(
                    "SR014",
                    "a flow with several sources may only list attribute names",
                    e.span,
                    help="write one expression, e.g. `flow x <- [a] & [b]`, or list bare names: `flow x <- a, b`",
                )
        return ast.Flow(target, "direct", sources=tuple(sources), merge=merge, once=once, span=span)

    def rule_decl(self, meta: Any, items: list[Any]) -> ast.Rule:
        name = self._string(items[0])
        direction: ast.Direction | None = None
        precedence: ast.Precedence | None = None
        settings: list[ast.Setting] = []
        scope: tuple[ast.ScopeGroup, ...] = ()
        join: tuple[ast.JoinGroup, ...] = ()
        flows: list[ast.Flow] = []
        seen: dict[str, Span] = {}
        span = self._meta(meta)

        def once(key: str, where: Span) -> bool:
            if key in seen:
                self.sink.error(
                    "SR010",
                    f"rule {name.value!r} sets `{key}` twice",
                    where,
                    help=f"first set at {seen[key].line}:{seen[key].column}",
                )
                return False
            seen[key] = where
            return True

        for it in items[1:]:
            if isinstance(it, ast.Direction):
                if once("direction", it.span):
                    direction = it
            elif isinstance(it, ast.Precedence):
                if once("precedence", it.span):
                    precedence = it
            elif isinstance(it, ast.Setting):
                if once(it.key, it.span):
                    settings.append(it)
            elif isinstance(it, tuple) and it[0] == "flag":  # disabled / password-sync
                if once(it[1], it[2]):
                    settings.append(ast.Setting(it[1], None, it[2]))
            elif isinstance(it, ast.Flow):
                flows.append(it)
            elif isinstance(it, tuple) and it[0] == "scope":
                groups = it[1]
                if once("scope", groups[0].span):
                    scope = groups
            elif isinstance(it, tuple) and it[0] == "join":
                groups = it[1]
                if once("join", groups[0].span):
                    join = groups
            elif isinstance(it, tuple):
                settings.append(ast.Setting(it[0], it[1], it[1].span))
        # Settings are unordered in meaning; keep them in the canonical (formatter's) order so that
        # reordering them is not a change to the AST.
        settings.sort(key=lambda st: _SETTING_ORDER.get(st.key, len(_SETTING_ORDER)))
        return ast.Rule(name, direction, precedence, tuple(settings), scope, join, tuple(flows), span=span)

    def override_item(self, meta: Any, items: list[Any]) -> Token:
        return items[0]

    def override_decl(self, meta: Any, items: list[Any]) -> ast.Override:
        target = self._string(items[0])
        disabled: bool | None = None
        seen: Token | None = None
        for tok in items[1:]:
            if seen is not None:
                self.sink.error(
                    "SR010",
                    f"override of {target.value!r} says both `{seen}` and `{tok}`" if str(seen) != str(tok) else f"`{tok}` is given twice",
                    self._tok_span(tok),
                )
                continue
            seen = tok
            disabled = str(tok) == "disabled"
        return ast.Override(target, disabled, self._meta(meta))

    # -- expressions ----------------------------------------------------------------
    def string(self, meta: Any, items: list[Token]) -> ast.StringLit:
        return self._string(items[0])

    def number(self, meta: Any, items: list[Token]) -> ast.NumberLit:
        tok = items[0]
        return ast.NumberLit(parse_number(str(tok)), str(tok), self._tok_span(tok))

    def attr_ref(self, meta: Any, items: list[Token]) -> ast.AttrRef:
        return ast.AttrRef(str(items[0])[1:-1], self._tok_span(items[0]))

    def param_ref(self, meta: Any, items: list[Token]) -> ast.ParamRef:
        return ast.ParamRef(str(items[0])[1:-1], self._tok_span(items[0]))

    def var_ref(self, meta: Any, items: list[Token]) -> ast.VarRef:
        return ast.VarRef(str(items[0]), self._tok_span(items[0]))

    def name_ref(self, meta: Any, items: list[Token]) -> ast.NameRef:
        return ast.NameRef(str(items[0]), self._tok_span(items[0]))

    def call(self, meta: Any, items: list[Any]) -> ast.Call:
        name, *args = items
        args = [a for a in args if a is not None]
        return ast.Call(self._ident(name), tuple(args), self._meta(meta))

    def paren(self, meta: Any, items: list[Any]) -> ast.Paren:
        return ast.Paren(items[0], self._meta(meta))

    def op_chain(self, meta: Any, items: list[Any]) -> ast.Expr:
        """Group ``a op b op c ...`` by precedence (left-associative), shunting-yard style."""
        if len(items) == 1:
            return items[0]  # type: ignore[no-any-return]
        operands: list[ast.Expr] = [items[0]]
        operators: list[str] = []

        def reduce() -> None:
            right = operands.pop()
            left = operands.pop()
            op = operators.pop()
            operands.append(ast.Binary(op, left, right, self.source.span(left.span.start, right.span.end)))

        for i in range(1, len(items), 2):
            op = str(items[i])
            while operators and PRECEDENCE[operators[-1]] >= PRECEDENCE[op]:
                reduce()
            operators.append(op)
            operands.append(items[i + 1])
        while operators:
            reduce()
        return operands[0]

    def unary(self, meta: Any, items: list[Any]) -> ast.Unary:
        op, operand = items
        return ast.Unary(str(op), operand, self.source.span(op.start_pos, operand.span.end))


_SETTING_ORDER = {k: i for i, k in enumerate(("link", "id", "tag", "description", "disabled", "password-sync", "soft-delete-expiry"))}

# Binding strength of binary operators (VBA order; comparisons bind tighter than && and ||).
PRECEDENCE = {"||": 1, "&&": 2, "=": 3, "<>": 3, "<": 3, ">": 3, "<=": 3, ">=": 3, "&": 4, "+": 5, "-": 5, "*": 6, "/": 6}


def _is_direct_name(e: ast.Expr) -> bool:
    """A bare name is a direct-flow source unless it spells a constant (in any letter case, so that
    `true` is reported as a miscased constant rather than read as an attribute named "true")."""
    return isinstance(e, ast.NameRef) and e.name.lower() not in RESERVED_CONSTANTS


RESERVED_CONSTANTS = frozenset({"true", "false", "null", "crlf", "authoritativenull", "ignorethisflow"})
