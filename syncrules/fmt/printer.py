"""Canonical printing of the AST, keeping comments.

Comments are attached to the statement they precede (or trail on the same line), block by block,
before printing; statements are then printed in canonical order carrying their comments, so a
comment stays with the thing it talks about even when the formatter reorders rule settings.

The printer is a pure function of the AST and comment list, which is what makes ``fmt``
idempotent: formatting formatted text changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from syncrules import ast

INDENT = "  "
WIDTH = 100

_PREC = {"||": 1, "&&": 2, "=": 3, "<>": 3, "<": 3, ">": 3, "<=": 3, ">=": 3, "&": 4, "+": 5, "-": 5, "*": 6, "/": 6}
_RULE_SETTING_ORDER = ("link", "id", "tag", "description", "disabled", "password-sync", "soft-delete-expiry")


# ---------------------------------------------------------------------------- literals


def string_literal(s: ast.StringLit) -> str:
    if s.raw is not None:
        return s.raw
    return quote(s.value)


def quote(value: str) -> str:
    """Quote text with the fewest escapes that read back to the same value."""
    out = ['"']
    for i, ch in enumerate(value):
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            nxt = value[i + 1] if i + 1 < len(value) else ""
            out.append("\\\\" if nxt in ('\\', '"', "") else "\\")
        elif ch == "\n":
            out.append("\\n")  # unreachable from parsed input; keeps generated values on one line
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


# ---------------------------------------------------------------------------- expressions


def _flat(e: ast.Expr) -> str:
    if isinstance(e, ast.StringLit):
        return string_literal(e)
    if isinstance(e, ast.NumberLit):
        return e.text
    if isinstance(e, ast.NameRef):
        return e.name
    if isinstance(e, ast.AttrRef):
        return f"[{e.name}]"
    if isinstance(e, ast.ParamRef):
        return f"%{e.name}%"
    if isinstance(e, ast.VarRef):
        return e.name
    if isinstance(e, ast.Paren):
        return f"({_flat(e.inner)})"
    if isinstance(e, ast.Call):
        return f"{e.func.text}({', '.join(_flat(a) for a in e.args)})"
    if isinstance(e, ast.Unary):
        operand = _operand(e.operand, 7, False, _flat)
        # A negation of a negation (or of a negative number) reads "- -x": the same tree as
        # "--x" when parsed again, where parentheses would add a node the source did not have.
        return f"{e.op} {operand}" if operand.startswith("-") else f"{e.op}{operand}"
    if isinstance(e, ast.Binary):
        p = _PREC[e.op]
        return f"{_operand(e.left, p, False, _flat)} {e.op} {_operand(e.right, p, True, _flat)}"
    raise TypeError(type(e).__name__)


def _operand(e: ast.Expr, parent: int, right: bool, render: Any) -> str:
    """Render a child of an operator, adding the parentheses a generated AST may lack.

    Added parentheses are rendered as a real :class:`~syncrules.ast.Paren` node, so the text is
    exactly what printing the re-parsed tree gives (the formatter's fixed point).
    """
    wrap = False
    if isinstance(e, ast.Binary):
        p = _PREC[e.op]
        wrap = p < parent or (right and p == parent) or parent == 7
    return str(render(ast.Paren(e, e.span) if wrap else e))


def expr_text(e: ast.Expr, col: int, base: int = 0, rel: int = 0) -> str:
    """Render an expression that starts at absolute column ``col``.

    Lines are broken past WIDTH. Continuation lines are indented relative to the statement
    (``rel`` spaces past the statement's own indentation ``base``); the caller adds ``base``.
    """
    flat = _flat(e)
    if col + len(flat) <= WIDTH:
        return flat
    step = len(INDENT)
    pad = " " * rel
    inner = " " * (rel + step)
    if isinstance(e, ast.Call) and e.args:
        args = [expr_text(a, base + rel + step, base, rel + step) for a in e.args]
        return f"{e.func.text}(\n" + ",\n".join(inner + a for a in args) + f"\n{pad})"
    if isinstance(e, ast.Paren):
        return "(\n" + inner + expr_text(e.inner, base + rel + step, base, rel + step) + f"\n{pad})"
    if isinstance(e, ast.Binary):
        # Break a chain of one operator before each operator, keeping the first operand in place.
        chain: list[ast.Expr] = []
        node: ast.Expr = e
        while isinstance(node, ast.Binary) and node.op == e.op:
            chain.append(node.right)
            node = node.left
        chain.append(node)
        chain.reverse()
        p = _PREC[e.op]
        first = _operand(chain[0], p, False, lambda x: expr_text(x, col, base, rel))
        cont = base + rel + step + len(e.op) + 1
        rest = [f"\n{inner}{e.op} " + _operand(x, p, True, lambda y: expr_text(y, cont, base, rel + step)) for x in chain[1:]]
        return first + "".join(rest)
    return flat


# ---------------------------------------------------------------------------- comments


@dataclass
class _Notes:
    leading: dict[int, list[ast.Comment]] = field(default_factory=dict)
    trailing: dict[int, ast.Comment] = field(default_factory=dict)
    dangling: dict[int, list[ast.Comment]] = field(default_factory=dict)
    # ids of statements and comments that had a blank line before them in the source (kept, at most one)
    blank_before: set[int] = field(default_factory=set)


class _Attacher:
    """Distributes a module's comments over its statements."""

    def __init__(self, comments: tuple[ast.Comment, ...]) -> None:
        self.comments = sorted(comments, key=lambda c: c.span.start)
        self.notes = _Notes()
        self.used: set[int] = set()

    def _between(self, start: int, end: int) -> list[ast.Comment]:
        out = [c for c in self.comments if start <= c.span.start < end and id(c) not in self.used]
        for c in out:
            self.used.add(id(c))
        return out

    def block(self, owner: Any, children: list[Any], start: int, end: int, blocks: dict[int, tuple[list[Any], int, int]]) -> None:
        """Attach comments in ``[start, end)`` to ``children`` (source order), recursing into sub-blocks."""
        ordered = sorted(children, key=lambda c: _start(c))
        cursor = start
        prev_line: int | None = None  # last source line used by the previous statement
        for i, child in enumerate(ordered):
            c_start, c_end = _start(child), _end(child)
            lead = self._between(cursor, c_start)
            self._note_blanks(child, lead, prev_line)
            if id(child) in blocks:
                sub_children, s, e = blocks[id(child)]
                self.block(child, sub_children, s, e, blocks)
            else:
                lead += self._between(c_start, c_end)  # comments inside a one-line statement move above it
            if lead:
                self.notes.leading.setdefault(id(child), []).extend(lead)
            next_start = _start(ordered[i + 1]) if i + 1 < len(ordered) else end
            line = child.span.end_line
            for c in self.comments:
                if id(c) in self.used:
                    continue
                if c_end <= c.span.start < next_start and c.span.line == line:
                    self.used.add(id(c))
                    self.notes.trailing[id(child)] = c
                    break
            cursor = max(cursor, c_end)
            prev_line = child.span.end_line
        rest = self._between(cursor, end)
        if rest:
            self.notes.dangling.setdefault(id(owner), []).extend(rest)

    def _note_blanks(self, child: Any, lead: list[ast.Comment], prev_line: int | None) -> None:
        """Remember blank source lines before a statement and between its leading comments."""
        previous = prev_line
        for c in lead:
            if previous is not None and c.span.line > previous + 1:
                self.notes.blank_before.add(id(c))
            previous = c.span.end_line
        if previous is not None and child.span.line > previous + 1 and child.span.line > 0:
            self.notes.blank_before.add(id(child))

    def leftovers(self) -> list[ast.Comment]:
        return [c for c in self.comments if id(c) not in self.used]


def _start(node: Any) -> int:
    return int(node.span.start)


def _end(node: Any) -> int:
    return int(node.span.end)


# ---------------------------------------------------------------------------- printer


@dataclass(frozen=True)
class _Stmt:
    """A printable statement with the node whose comments it carries."""

    node: Any
    lines: list[str]


class Printer:
    def __init__(self, module: ast.Module) -> None:
        self.module = module
        self.out: list[str] = []
        self.notes = _Notes()

    # -- attachment ---------------------------------------------------------
    def _attach(self) -> None:
        blocks: dict[int, tuple[list[Any], int, int]] = {}
        top: list[Any] = list(self.module.items)
        for item in self.module.items:
            self._register(item, blocks)
        att = _Attacher(self.module.comments)
        att.block(self.module, top, 0, 10**12, blocks)
        self.notes = att.notes
        left = att.leftovers()
        if left:
            self.notes.dangling.setdefault(id(self.module), []).extend(left)

    def _register(self, item: Any, blocks: dict[int, tuple[list[Any], int, int]]) -> None:
        if isinstance(item, ast.MetaverseDecl):
            blocks[id(item)] = (list(item.objects), item.span.start, item.span.end)
            for o in item.objects:
                self._register(o, blocks)
        elif isinstance(item, ast.ObjectTypeDecl):
            blocks[id(item)] = (list(item.attributes), item.span.start, item.span.end)
        elif isinstance(item, ast.ConnectorDecl):
            children: list[Any] = [x for x in (item.kind, item.id, item.description) if x is not None]
            children += list(item.anchor[:1]) + list(item.parameters) + list(item.partitions) + list(item.objects)
            blocks[id(item)] = (children, item.span.start, item.span.end)
            for p in item.partitions:
                blocks[id(p)] = ([*p.parameters, *p.includes, *p.excludes], p.span.start, p.span.end)
            for o in item.objects:
                self._register(o, blocks)
        elif isinstance(item, ast.Rule):
            children = [x for x in (item.direction, item.precedence) if x is not None and x.span.end > 0]
            children += list(item.settings) + list(item.flows)
            for g in item.scope:
                children.append(g)
                blocks[id(g)] = (list(g.clauses), g.span.start, g.span.end)
            for g in item.join:
                children.append(g)
                blocks[id(g)] = (list(g.clauses), g.span.start, g.span.end)
            blocks[id(item)] = (children, item.span.start, item.span.end)

    # -- emit helpers ----------------------------------------------------------
    def _blank(self) -> None:
        """One blank line, never doubled and never right after a block opens."""
        if self.out and self.out[-1] != "" and not self.out[-1].endswith("{"):
            self.out.append("")

    def _lead(self, node: Any, indent: str) -> None:
        for c in self.notes.leading.get(id(node), []):
            if id(c) in self.notes.blank_before:
                self._blank()
            self.out.append(indent + c.text.rstrip())
        if id(node) in self.notes.blank_before:
            self._blank()

    def _line(self, node: Any, indent: str, text: str) -> None:
        """Emit ``text`` (possibly multi-line) for ``node`` with its comments."""
        self._lead(node, indent)
        lines = text.split("\n")
        trailing = self.notes.trailing.get(id(node))
        if trailing is not None:
            lines[-1] = lines[-1] + "  " + trailing.text.rstrip()
        self.out.extend(indent + ln if ln else ln for ln in lines)

    def _dangling(self, node: Any, indent: str) -> None:
        for c in self.notes.dangling.get(id(node), []):
            self.out.append(indent + c.text.rstrip())

    # -- module ------------------------------------------------------------------
    def render(self) -> str:
        self._attach()
        previous: str | None = None
        for item in self.module.items:
            kind = type(item).__name__
            if previous is not None and not (kind == previous and kind in ("Import", "ParameterDecl", "Override")):
                self.out.append("")
            previous = kind
            if isinstance(item, ast.Import):
                self._line(item, "", f"import {'std ' if item.std else ''}{string_literal(item.path)}")
            elif isinstance(item, ast.ParameterDecl):
                self._parameter(item, "")
            elif isinstance(item, ast.MetaverseDecl):
                self._metaverse(item)
            elif isinstance(item, ast.ConnectorDecl):
                self._connector(item)
            elif isinstance(item, ast.Rule):
                self._rule(item)
            elif isinstance(item, ast.Override):
                body = "" if item.disabled is None else (" disabled " if item.disabled else " enabled ")
                self._line(item, "", f"override {string_literal(item.target)} {{{body}}}")
        tail = self.notes.dangling.get(id(self.module), [])
        if tail:
            if self.out:
                self.out.append("")
            self.out.extend(c.text.rstrip() for c in tail)
        text = "\n".join(self.out).strip("\n")
        return text + "\n" if text else ""

    def _parameter(self, p: ast.ParameterDecl, indent: str) -> None:
        value = f" = {string_literal(p.value)}" if p.value is not None else ""
        self._line(p, indent, f"parameter {p.name.text}{value}")

    def _open(self, node: Any, indent: str, header: str) -> None:
        self._lead(node, indent)
        self.out.append(f"{indent}{header} {{")

    def _close(self, node: Any, indent: str, inner: str) -> None:
        self._dangling(node, inner)
        trailing = self.notes.trailing.get(id(node))
        self.out.append(f"{indent}}}" + (f"  {trailing.text.rstrip()}" if trailing else ""))

    def _metaverse(self, m: ast.MetaverseDecl) -> None:
        self._open(m, "", "metaverse")
        for i, o in enumerate(m.objects):
            if i:
                self.out.append("")
            self._object(o, INDENT)
        self._close(m, "", INDENT)

    def _object(self, o: ast.ObjectTypeDecl, indent: str) -> None:
        self._open(o, indent, f"object {o.name.text}")
        inner = indent + INDENT
        width = max((len(a.name.text) for a in o.attributes), default=0)
        twidth = max((len(a.type) for a in o.attributes), default=0)
        for a in o.attributes:
            mods = [m for m, on in (("multi", a.multi), ("indexed", a.indexed), ("required", a.required)) if on]
            text = f"{a.name.text.ljust(width)} {a.type.ljust(twidth) if mods else a.type}"
            if mods:
                text += " " + " ".join(mods)
            self._line(a, inner, text)
        self._close(o, indent, inner)

    def _connector(self, c: ast.ConnectorDecl) -> None:
        self._open(c, "", f"connector {string_literal(c.name)}")
        inner = INDENT
        if c.kind is not None:
            self._line(c.kind, inner, f"kind {c.kind.text}")
        if c.id is not None:
            self._line(c.id, inner, f"id {string_literal(c.id)}")
        if c.description is not None:
            self._line(c.description, inner, f"description {string_literal(c.description)}")
        if c.anchor:
            self._line(c.anchor[0], inner, "anchor " + ", ".join(a.text for a in c.anchor))
        for p in c.parameters:
            self._parameter(p, inner)
        for part in c.partitions:
            self._open(part, inner, f"partition {string_literal(part.dn)}")
            pin = inner + INDENT
            for p in part.parameters:
                self._parameter(p, pin)
            for s in part.includes:
                self._line(s, pin, f"include {string_literal(s)}")
            for s in part.excludes:
                self._line(s, pin, f"exclude {string_literal(s)}")
            self._close(part, inner, pin)
        for o in c.objects:
            self.out.append("")
            self._object(o, inner)
        self._close(c, "", inner)

    def _rule(self, r: ast.Rule) -> None:
        self._open(r, "", f"rule {string_literal(r.name)}")
        inner = INDENT
        d = r.direction
        if d is not None:
            if d.direction == "inbound":
                text = f"inbound from {string_literal(d.connector)} {d.source_type.text} to {d.target_type.text}"
            else:
                text = f"outbound from {d.source_type.text} to {string_literal(d.connector)} {d.target_type.text}"
            self._line(d, inner, text)
        settings = {s.key: s for s in r.settings}
        if "link" in settings:
            self._setting(settings["link"], inner)
        if r.precedence is not None:
            p = r.precedence
            parts = ["precedence"]
            if p.value is not None:
                parts.append(p.value.text)
            if p.before is not None:
                parts.append(f"before {string_literal(p.before)}")
            if p.after is not None:
                parts.append(f"after {string_literal(p.after)}")
            self._line(p, inner, " ".join(parts))
        for key in _RULE_SETTING_ORDER[1:]:
            if key in settings:
                self._setting(settings[key], inner)
        if r.scope:
            self._groups("scope", r.scope, inner, self._scope_clause)
        if r.join:
            self._groups("join", r.join, inner, self._join_clause)
        for f in r.flows:
            self._flow(f, inner)
        self._close(r, "", inner)

    def _setting(self, s: ast.Setting, indent: str) -> None:
        if s.value is None:
            self._line(s, indent, s.key)
        elif isinstance(s.value, ast.StringLit):
            self._line(s, indent, f"{s.key} {string_literal(s.value)}")
        else:
            self._line(s, indent, f"{s.key} {s.value.text}")

    def _groups(self, keyword: str, groups: tuple[Any, ...], indent: str, clause: Any) -> None:
        """Print ``keyword { ... } or { ... }``; a group with one clause and no comments stays inline
        unless the line would grow past the width limit."""
        # Comments above the first group describe the whole statement: they stay above the keyword.
        self._lead(groups[0], indent)
        merged = self._group_lines(keyword, groups, clause, force_block=False)
        if any(len(indent) + len(ln) > WIDTH for ln in merged):
            merged = self._group_lines(keyword, groups, clause, force_block=True)
        self.out.extend(indent + ln for ln in merged)

    def _group_lines(self, keyword: str, groups: tuple[Any, ...], clause: Any, force_block: bool) -> list[str]:
        merged: list[str] = []
        for index, g in enumerate(groups):
            # Comments around a later group move inside it, which keeps them stable across re-formatting.
            lead = self.notes.leading.get(id(g), []) if index else []
            tail = ([self.notes.trailing[id(g)]] if id(g) in self.notes.trailing else []) + self.notes.dangling.get(id(g), [])
            commented = lead or tail or any(id(c) in self.notes.leading or id(c) in self.notes.trailing for c in g.clauses)
            if len(g.clauses) <= 1 and not commented and not force_block:
                seg = [f"{{ {clause(g.clauses[0])} }}" if g.clauses else "{ }"]
            else:
                seg = ["{"]
                seg.extend(INDENT + c.text.rstrip() for c in lead)
                for j, c in enumerate(g.clauses):
                    for note in self.notes.leading.get(id(c), []):
                        seg.append(INDENT + note.text.rstrip())
                    text = INDENT + clause(c) + (" and" if j + 1 < len(g.clauses) else "")
                    trailing = self.notes.trailing.get(id(c))
                    seg.append(text + (f"  {trailing.text.rstrip()}" if trailing else ""))
                seg.extend(INDENT + c.text.rstrip() for c in tail)
                seg.append("}")
            if not merged:
                merged = [f"{keyword} {seg[0]}", *seg[1:]]
            else:
                merged[-1] = f"{merged[-1]} or {seg[0]}"
                merged.extend(seg[1:])
        return merged

    def _scope_clause(self, c: ast.ScopeClause) -> str:
        parts = []
        if c.attribute is not None:
            parts.append(c.attribute.text)
        parts.append(c.operator.text)
        if c.value is not None:
            parts.append(string_literal(c.value) if isinstance(c.value, ast.StringLit) else c.value.text)
        return " ".join(parts)

    def _join_clause(self, c: ast.JoinClause) -> str:
        return f"{c.cs_attribute.text} = {c.mv_attribute.text}" + (" case-sensitive" if c.case_sensitive else "")

    def _flow(self, f: ast.Flow, indent: str) -> None:
        head = f"flow {f.target.text} <- "
        mods = []
        if f.once:
            mods.append("once")
        if f.merge is not None:
            mods.append(f.merge.text)
        suffix = "" if not mods else " " + " ".join(mods)
        if f.kind == "constant" and f.constant is not None:
            body = f"const {string_literal(f.constant)}"
        elif f.kind == "direct":
            body = ", ".join(s.text for s in f.sources)
        else:
            assert f.expr is not None
            # The modifiers follow the expression, so they count against the first line's width.
            body = expr_text(f.expr, len(indent) + len(head) + len(suffix), len(indent), 0)
        text = head + body + suffix
        self._line(f, indent, text)


def format_module(module: ast.Module) -> str:
    return Printer(module).render()
