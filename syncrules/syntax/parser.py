"""Parse .sync text into the AST.

Lark is imported lazily (``syncrules --help`` must stay fast) and the LALR tables are cached on
disk by Lark itself, keyed on the grammar text, so a changed grammar never loads stale tables.
Every failure mode of reading and parsing ends in a diagnostic; nothing here raises on bad input.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from syncrules import ast
from syncrules.diagnostics import DiagnosticSink
from syncrules.source import SourceFile

MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_EXPR_DEPTH = 200

_PARSER: Any = None


class _CommentCollector:
    """Lexer callback target; reset before each parse (parsing is single-threaded)."""

    def __init__(self) -> None:
        self.tokens: list[Any] = []

    def __call__(self, tok: Any) -> Any:
        self.tokens.append(tok)
        return tok


_COMMENTS = _CommentCollector()


@contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building large trees.

    Parsing allocates hundreds of thousands of small objects and no cycles; left on, the collector
    re-scans the growing heap again and again and makes parsing superlinear in file size.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _parser() -> Any:
    global _PARSER
    if _PARSER is None:
        from lark import Lark

        from syncrules.resources import grammar_text
        from syncrules.syntax.build import AstBuilder, ParserCallbacks

        _BUILDER = AstBuilder()
        _PARSER = Lark(
            grammar_text(),
            parser="lalr",
            lexer="contextual",
            start=["start", "expr_only"],
            cache=True,
            lexer_callbacks={"COMMENT": _COMMENTS},
            transformer=ParserCallbacks(_BUILDER),
        )
        _PARSER._syncrules_builder = _BUILDER
    return _PARSER


def read_source(path: str | Path, sink: DiagnosticSink, display: str | None = None) -> SourceFile | None:
    """Read a file as UTF-8 text, reporting unreadable, binary or oversized input as SR001."""
    shown = display or str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        sink.error("SR001", f"cannot read {shown}: {exc.strerror or exc}")
        return None
    if len(data) > MAX_FILE_BYTES:
        sink.error("SR001", f"{shown} is {len(data)} bytes; the limit is {MAX_FILE_BYTES}")
        return None
    if b"\x00" in data:
        sink.error("SR001", f"{shown} looks like a binary file (it contains NUL bytes)")
        return None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        src = SourceFile(shown, data[: exc.start].decode("utf-8", "replace"))
        sink.error(
            "SR001",
            f"{shown} is not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})",
            src.span(exc.start, exc.start),
            help="save the file as UTF-8",
        )
        return None
    return SourceFile(shown, text)


def parse_module(path: str | Path, sink: DiagnosticSink, display: str | None = None) -> ast.Module | None:
    source = read_source(path, sink, display)
    if source is None:
        return None
    return parse_source(source, sink)


def parse_source(source: SourceFile, sink: DiagnosticSink) -> ast.Module | None:
    """Parse a whole file. Returns None (with diagnostics) when the text is not a valid module."""
    if not source.text.strip():
        sink.warning("SR002", f"{source.path} is empty", source.span(0, 0))
        return ast.Module(source.path, (), (), source.span(0, 0))
    tree = _run(source, "start", sink)
    if tree is None:
        return None
    comments = tuple(
        ast.Comment(str(t).rstrip("\r"), source.span(t.start_pos, t.end_pos)) for t in _COMMENTS.tokens
    )
    items = _build(source, tree, sink)
    if items is None:
        return None
    items = _attach_docs(items, comments)
    if not items and not comments:
        sink.warning("SR002", f"{source.path} holds no declarations", source.span(0, 0))
    return ast.Module(source.path, tuple(items), comments, source.span(0, len(source.text)))


def parse_expression(text: str, sink: DiagnosticSink, path: str = "<expression>") -> ast.Expr | None:
    """Parse a lone expression (as found in an Entra Connect export or on the command line)."""
    source = SourceFile(path, text)
    if not text.strip():
        sink.error("SR004", "the expression is empty", source.span(0, 0))
        return None
    tree = _run(source, "expr_only", sink)
    if tree is None:
        return None
    return _build(source, tree, sink)  # type: ignore[no-any-return]


def _run(source: SourceFile, start: str, sink: DiagnosticSink) -> Any:
    """Parse and build the AST in one pass; None (with a diagnostic) on a syntax error."""
    from lark.exceptions import LarkError

    from syncrules.syntax.errors import convert_error, excessive_nesting

    deep = excessive_nesting(source, MAX_EXPR_DEPTH)
    if deep is not None:
        sink.emit(deep)
        return None
    parser = _parser()
    builder = parser._syncrules_builder
    builder.source, builder.sink = source, sink
    _COMMENTS.tokens = []
    try:
        with no_gc():
            return parser.parse(source.text, start=start)
    except LarkError as exc:
        from lark.exceptions import VisitError

        if isinstance(exc, VisitError):
            raise exc.orig_exc from exc
        sink.emit(convert_error(exc, source, parser))
        return None


def _build(source: SourceFile, result: Any, sink: DiagnosticSink) -> Any:
    """Post-parse limits on the AST the parser built."""
    exprs: list[ast.Expr] = []
    if isinstance(result, list):
        for item in result:
            if isinstance(item, ast.Rule):
                exprs.extend(f.expr for f in item.flows if f.expr is not None)
    else:
        exprs.append(result)
    for expr in exprs:
        if expression_depth(expr) > MAX_EXPR_DEPTH:
            sink.error(
                "SR013",
                f"this expression is nested more than {MAX_EXPR_DEPTH} levels deep",
                expr.span,
                help="split it into simpler flows",
            )
            return None
    return result


def _attach_docs(items: list[Any], comments: tuple[ast.Comment, ...]) -> list[Any]:
    """Give each rule the text of the ``##`` comment lines directly above it."""
    if not any(c.text.startswith("##") for c in comments):
        return items
    by_line = {c.span.line: c for c in comments}
    out: list[Any] = []
    for item in items:
        if isinstance(item, ast.Rule):
            lines: list[str] = []
            line = item.span.line - 1
            while line in by_line and by_line[line].text.startswith("##"):
                lines.append(by_line[line].text[2:].strip())
                line -= 1
            if lines:
                from dataclasses import replace

                item = replace(item, doc="\n".join(reversed(lines)))
        out.append(item)
    return out


def expression_depth(expr: ast.Expr) -> int:
    """Depth of an expression tree, computed without recursion."""
    best = 0
    stack: list[tuple[ast.Expr, int]] = [(expr, 1)]
    while stack:
        node, depth = stack.pop()
        best = max(best, depth)
        if isinstance(node, ast.Call):
            stack.extend((a, depth + 1) for a in node.args)
        elif isinstance(node, ast.Binary):
            stack.append((node.left, depth + 1))
            stack.append((node.right, depth + 1))
        elif isinstance(node, ast.Unary):
            stack.append((node.operand, depth + 1))
        elif isinstance(node, ast.Paren):
            stack.append((node.inner, depth + 1))
    return best
