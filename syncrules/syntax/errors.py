"""Turn Lark's exceptions into plain-language diagnostics.

Lark speaks in terminal names (``RBRACE``, ``$END``, ``__ANON_3``); authors should read
"expected `}` to close the scope of rule 'X' opened at 12:3". We rebuild that context with a
small bracket scanner over the text before the error, independent of Lark's internals.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from syncrules.diagnostics.model import Diagnostic, Severity
from syncrules.source import SourceFile

_TERMINAL_WORDS = {
    "NAME": "a name",
    "STRING": "a string",
    "NUMBER": "a number",
    "HEX_NUMBER": "a number",
    "ATTR_REF": "an attribute reference like `[name]`",
    "PARAM_REF": "a parameter like `%Domain.FQDN%`",
    "VARIABLE": "a `$variable`",
    "ATTR_TYPE": "an attribute type (string, number, boolean, binary, reference or datetime)",
    "MERGE_TYPE": "a merge type (update, replace, merge or merge-case-insensitive)",
    "BINOP": "an operator",
    "MINUS": "`-`",
    "$END": "the end of the file",
    "STAR": "`*`",
}

_OPERATORS = {"BINOP"}
_RULE_ITEMS = {
    "INBOUND", "OUTBOUND", "LINK", "PRECEDENCE", "ID", "TAG", "DESCRIPTION", "DISABLED",
    "PASSWORD_SYNC", "SOFT_DELETE_EXPIRY", "SCOPE", "JOIN", "FLOW",
}  # fmt: skip


def _describe_terminal(name: str, parser: Any) -> str:
    if name in _TERMINAL_WORDS:
        return _TERMINAL_WORDS[name]
    for term in parser.terminals:
        if term.name == name:
            pattern = term.pattern
            if pattern.type == "str":
                return f"`{pattern.value}`"
    return name.lower().replace("_", " ")


def _describe_expected(expected: set[str], parser: Any) -> str:
    names = set(expected)
    parts: list[str] = []
    if names & _OPERATORS:
        names -= _OPERATORS
        parts.append("an operator")
    if len(names & _RULE_ITEMS) >= 3:
        names -= _RULE_ITEMS
        parts.append("a rule item (flow, scope, join, link, precedence, ...)")
    words = sorted({_describe_terminal(n, parser) for n in names})
    # Prefer the closing bracket first: it is the most common fix.
    for closer in ("`}`", "`)`"):
        if closer in words:
            words.remove(closer)
            words.insert(0, closer)
    parts.extend(words)
    if len(parts) > 6:
        parts = parts[:6] + ["..."]
    if not parts:
        return "something else"
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " or " + parts[-1]


def _describe_token(tok: Any) -> str:
    if tok.type == "$END":
        return "the end of the file"
    text = str(tok)
    if len(text) > 30:
        text = text[:27] + "..."
    return f"`{text}`"


@dataclass
class _Open:
    char: str
    offset: int
    owner: str


_SCAN = re.compile(
    r'"(?:[^"\\\n]|\\.)*"?|#[^\n]*|\[[^\[\]\s]*\]|[A-Za-z_][A-Za-z0-9_.\-]*|[{}()]|\S',
)


def open_brackets(text: str, end: int) -> list[_Open]:
    """The brackets still open at offset ``end``, innermost last, each with a description."""
    stack: list[_Open] = []
    words: list[str] = []  # recent significant tokens
    rule_name = ""
    stmt = ""
    for m in _SCAN.finditer(text, 0, end):
        tok = m.group()
        if tok.startswith("#"):
            continue
        if tok == "{":
            prev = words[-1] if words else ""
            prev2 = words[-2] if len(words) > 1 else ""
            if prev2 == "rule" and prev.startswith('"'):
                rule_name = prev.strip('"')
                owner = f"rule '{rule_name}'"
            elif prev2 == "connector":
                owner = f"connector {prev}"
            elif prev2 == "partition":
                owner = f"partition {prev}"
            elif prev2 == "object":
                owner = f"object type '{prev}'"
            elif prev == "metaverse":
                owner = "the metaverse block"
            elif prev in ("scope", "join") or (prev == "or" and stmt):
                if prev in ("scope", "join"):
                    stmt = prev
                owner = f"the {stmt} of rule '{rule_name}'" if rule_name else f"the {stmt}"
            else:
                owner = "the block"
            stack.append(_Open("{", m.start(), owner))
        elif tok == "(":
            prev = words[-1] if words else ""
            owner = f"the call to `{prev}`" if re.match(r"[A-Za-z_]", prev) else "the parenthesis"
            stack.append(_Open("(", m.start(), owner))
        elif tok in "})" and len(tok) == 1:
            want = "{" if tok == "}" else "("
            # Pop to the matching opener; a mismatch is left for the parser to report.
            for i in range(len(stack) - 1, -1, -1):
                if stack[i].char == want:
                    del stack[i:]
                    break
        words.append(tok)
        if len(words) > 4:
            del words[0]
    return stack


def convert_error(exc: Exception, source: SourceFile, parser: Any) -> Diagnostic:
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedToken

    text = source.text
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream
        span = source.span(pos, pos + 1)
        ch = text[pos] if pos < len(text) else ""
        if ch == '"':
            end = text.find("\n", pos)
            end = len(text) if end == -1 else end
            return Diagnostic(
                "SR006",
                Severity.ERROR,
                "this string is never closed",
                source.span(pos, end),
                help='close it with `"` on the same line; write `\\"` for a quote inside a string',
            )
        if text.startswith("==", pos) or (ch == "=" and text[pos - 1 : pos] == "="):
            return Diagnostic("SR003", Severity.ERROR, "`==` is not an operator", span, help="compare with a single `=`")
        if text.startswith("!=", pos):
            return Diagnostic("SR003", Severity.ERROR, "`!=` is not an operator", source.span(pos, pos + 2), help="write `<>` for 'not equal'")
        expected = _describe_expected(set(exc.allowed or ()), parser)
        if ch.isalpha() or ch == "_" or ch.isdigit():
            m = re.match(r"[A-Za-z0-9_.\-]+", text[pos:])
            word = m.group() if m else ch
            span = source.span(pos, pos + len(word))
            if "STRING" in (exc.allowed or ()) and "NAME" not in (exc.allowed or ()):
                return Diagnostic("SR003", Severity.ERROR, f"expected {expected}, found `{word}`", span, help=f'names of connectors and rules are quoted: "{word}"')
            return Diagnostic("SR003", Severity.ERROR, f"expected {expected}, found `{word}`", span, help=_context_help(text, pos))
        if ch in "{}()[],=<>&|+-*/%$":
            return Diagnostic("SR003", Severity.ERROR, f"expected {expected}, found `{ch}`", span, help=_context_help(text, pos))
        if ch == "." and pos > 0 and text[pos - 1].isdigit():
            return Diagnostic(
                "SR008",
                Severity.ERROR,
                "numbers are whole numbers; decimal fractions are not supported",
                span,
                help="numeric attributes hold integers (64-bit)",
            )
        printable = ch if ch.isprintable() and not ch.isspace() else f"U+{ord(ch):04X}"
        return Diagnostic("SR007", Severity.ERROR, f"`{printable}` is not allowed here", span, help=f"expected {expected}")
    if isinstance(exc, (UnexpectedToken, UnexpectedEOF)):
        tok = getattr(exc, "token", None)
        expected_names = set(getattr(exc, "expected", ()) or ())
        at_end = tok is None or tok.type == "$END"
        pos = len(text) if at_end else (tok.start_pos or 0)
        opened = open_brackets(text, pos)
        if at_end:
            span = source.span(len(text.rstrip()), len(text.rstrip()))
            if opened:
                inner = opened[-1]
                line, col = source.position(inner.offset)
                return Diagnostic(
                    "SR005",
                    Severity.ERROR,
                    f"unexpected end of file: expected `{'}' if inner.char == '{' else ')'}` to close {inner.owner} opened at {line}:{col}",
                    span,
                    help="every `{` needs a matching `}` and every `(` a matching `)`",
                )
            return Diagnostic(
                "SR004",
                Severity.ERROR,
                f"unexpected end of file: expected {_describe_expected(expected_names, parser)}",
                span,
            )
        span = source.span(tok.start_pos or 0, tok.end_pos or (tok.start_pos or 0) + len(str(tok)))
        found = _describe_token(tok)
        closer = "RBRACE" in expected_names or "RPAR" in expected_names
        and_names = {n for n in expected_names if _describe_terminal(n, parser) == "`and`"}
        if and_names and tok.type in ("NAME", "ATTR_REF"):
            return Diagnostic(
                "SR003",
                Severity.ERROR,
                f"expected `and` before the next clause, found {found}",
                span,
                help="clauses inside a group are joined with `and`; groups are joined with `or`",
            )
        # A keyword where a closing bracket was possible usually means the bracket was forgotten.
        keyword_found = tok.type not in ("NAME", "STRING", "NUMBER", "HEX_NUMBER", "ATTR_REF", "PARAM_REF", "VARIABLE")
        if opened and closer and (keyword_found or "NAME" in expected_names or not (expected_names - {"RBRACE", "RPAR"})):
            inner = opened[-1]
            want = "}" if inner.char == "{" else ")"
            line, col = source.position(inner.offset)
            others = expected_names - {"RBRACE", "RPAR"}
            extra = f" (or {_describe_expected(others, parser)})" if others and len(others) <= 3 else ""
            return Diagnostic(
                "SR005" if want == "}" else "SR003",
                Severity.ERROR,
                f"expected `{want}` to close {inner.owner} opened at {line}:{col}{extra}, found {found}",
                span,
                help=_context_help(text, tok.start_pos or 0),
            )
        if str(tok) == "=" and "=" in (text[(tok.end_pos or 0) : (tok.end_pos or 0) + 1], text[(tok.start_pos or 1) - 1 : (tok.start_pos or 1)]):
            return Diagnostic("SR003", Severity.ERROR, "`==` is not an operator", span, help="compare with a single `=`")
        if tok.type == "NAME" and "NAME" not in expected_names and "STRING" in expected_names:
            return Diagnostic(
                "SR003",
                Severity.ERROR,
                f"expected {_describe_expected(expected_names, parser)}, found {found}",
                span,
                help=f'quote it: "{tok}"',
            )
        return Diagnostic(
            "SR003",
            Severity.ERROR,
            f"expected {_describe_expected(expected_names, parser)}, found {found}",
            span,
            help=_context_help(text, tok.start_pos or 0),
        )
    return Diagnostic("SR003", Severity.ERROR, f"cannot parse: {exc}", source.span(0, 0))


def _context_help(text: str, pos: int) -> str | None:
    """A hint drawn from the line the error is on."""
    line_start = text.rfind("\n", 0, pos) + 1
    line = text[line_start:pos].strip()
    if line.startswith("flow") and "<-" not in line:
        return "a flow reads `flow target <- source`"
    if line.startswith("scope") or line.startswith("join"):
        return "clauses inside a group are joined with `and`; groups are joined with `or`"
    return None


_NESTING = re.compile(r'"(?:[^"\\\n]|\\.)*"?|#[^\n]*|[({]|[)}]')


def excessive_nesting(source: SourceFile, limit: int) -> Diagnostic | None:
    """Reject absurd bracket nesting before parsing, so later recursive passes stay bounded.

    A regular-expression scan (strings and comments are skipped whole), so the check costs a
    small fraction of the parse even on megabytes of rules.
    """
    depth = 0
    for m in _NESTING.finditer(source.text):
        ch = m.group()
        if ch in "({":
            depth += 1
            if depth > limit:
                return Diagnostic(
                    "SR013",
                    Severity.ERROR,
                    f"brackets are nested more than {limit} deep",
                    source.span(m.start(), m.start() + 1),
                    help="split the expression into several flows or simplify it",
                )
        elif ch in ")}":
            depth = max(0, depth - 1)
    return None
