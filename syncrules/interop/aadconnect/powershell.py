"""Read PowerShell scripts that create synchronization rules into the model.

The Synchronization Rules Editor's *Export* button writes a script per rule (``New-ADSyncRule``,
``Add-ADSyncAttributeFlowMapping``, ``New-Object ...ScopeCondition`` / ``...JoinCondition``,
``Add-ADSyncScopeConditionGroup``, ``Add-ADSyncJoinConditionGroup``, ``Add-ADSyncRule``; reference
§2.1), and people keep such scripts in version control and adapt them: values move into
variables, calls move into functions and ``if`` blocks, comments and here-strings appear.

Nothing here runs PowerShell. The script is tokenized and parsed (a small subset of the
language: commands, parameters, strings, variables, arrays, hashtables, ``if``, loops,
functions), then *read* statement by statement with a static environment: a variable holds a
value only when the script assigned one that can be known without running anything. Every value
that cannot be known (a run-time lookup, an operator the reader does not evaluate, a variable
that depends on which branch of an ``if`` ran) becomes a diagnostic at the script line that
needs it, and the rule, flow or field that needs it is left out, never guessed.

Records go into the same :class:`~syncrules.interop.aadconnect.model.Export` the XML reader
fills, with the script's values as written, so :mod:`~syncrules.interop.aadconnect.convert`
maps both serialisations identically. A script carries no schema: :func:`infer_schemas` declares
what the rules use, typed from how they use it, when no ``--schema`` export supplies one.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from syncrules import ast
from syncrules.catalogue import load_catalogue
from syncrules.diagnostics import Diagnostic, DiagnosticSink, Label, Severity
from syncrules.interop.aadconnect.model import (
    Connector,
    DsmlSchema,
    Export,
    FlowMapping,
    JoinCondition,
    SchemaAttribute,
    SchemaClass,
    ScopeCondition,
    SyncRule,
    is_zero_guid,
    norm_guid,
)
from syncrules.interop.codes import (
    DUPLICATE_OBJECT,
    INVALID_FIELD,
    MISSING_CONNECTOR,
    MISSING_METAVERSE,
    NOT_REPRESENTED,
    UNREADABLE_EXPORT,
    UNRECOGNISED_EXPORT,
)
from syncrules.interop.xmltree import decode_xml_bytes
from syncrules.semantic.analyze import SYSTEM_PARAMETERS
from syncrules.semantic.expressions import ExprEnv, lower_expression
from syncrules.source import SourceFile, Span
from syncrules.syntax import parse_expression

# ---------------------------------------------------------------------------- diagnostic codes
#
# New SR8xx codes of the script reader, to be registered in syncrules.diagnostics.codes (they are
# named here so the reader does not depend on the registration). Problems shared with the XML
# reader reuse its codes: SR801 (unreadable or not valid script syntax), SR802 (no rules),
# SR806 (a value outside its allowed set), SR808 (a parameter the model has no place for), SR810
# (two rules with one identifier).

UNRESOLVED_VALUE = "SR817"  # error: a value that cannot be known without running the script
RUNTIME_CONTROL_FLOW = "SR818"  # warning: statements under if/loop/try/function read as straight-line code
UNSUPPORTED_CONSTRUCT = "SR819"  # warning: a command or construct the reader does not evaluate
RULE_NOT_ADDED = "SR820"  # warning: New-ADSyncRule without Add-ADSyncRule; not imported
NO_IDENTIFIER = "SR821"  # warning: a rule without a fixed -Identifier; written without an id

SCRIPT_SUFFIXES = (".ps1", ".psm1")
MAX_SCRIPT_BYTES = 16 * 1024 * 1024
# Bounds on hostile or runaway input: nesting of blocks/expressions, inlined function calls and
# unrolled loop iterations.
_MAX_DEPTH = 100
_MAX_CALL_DEPTH = 32
_MAX_UNROLL = 1000

_ZERO_GUID = "00000000-0000-0000-0000-000000000000"
_GUID = re.compile(r"\{?[0-9A-Fa-f]{8}-(?:[0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}\}?")
# Stand-in identifiers for rules whose script gives none: stable across runs (so renames and
# messages are reproducible) and never written (cli.py drops them after conversion).
_STANDIN_NAMESPACE = uuid.UUID("6f1c6c52-3d0b-4f4e-9a51-5f7e0c2f7a10")


def is_script(path: Path) -> bool:
    """A PowerShell script, by its suffix (what the Rules Editor's Export writes: ``*.ps1``)."""
    return path.suffix.lower() in SCRIPT_SUFFIXES


# ============================================================================ tokens

_SQ = "'\u2018\u2019\u201a\u201b"  # PowerShell accepts typographic quotes as quotes
_DQ = '"\u201c\u201d\u201e'
_DASH = "-\u2013\u2014\u2015"  # ... and en/em dashes as the dash of a parameter
_WORD_STOP = set(" \t\r\n\f\v\u00a0(){}[],;|&<>`=$") | set(_SQ) | set(_DQ)
_VAR = re.compile(r"(?:(?P<scope>[A-Za-z_][A-Za-z0-9_]*):(?=[A-Za-z0-9_]))?(?P<name>[A-Za-z0-9_]+|[?$^])")
_PARAM = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"0[xX][0-9A-Fa-f]+|[0-9]+")
_ESCAPES = {
    "0": "\0",
    "a": "\a",
    "b": "\b",
    "e": "\x1b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
}
_SPACE = " \t\f\v\u00a0"


@dataclass(slots=True)
class Token:
    """One token. ``space`` says whether whitespace (or a line start) precedes it, which is how
    PowerShell tells ``$a[0]`` (an index) from ``$a [0]`` (two arguments)."""

    kind: str
    value: Any
    start: int
    end: int
    space: bool


# Token kinds.
NL, SEMI, STR, XSTR, NUM, VAR, SPLAT, PARAM, WORD = (
    "NL",
    ";",
    "STR",
    "XSTR",
    "NUM",
    "VAR",
    "SPLAT",
    "PARAM",
    "WORD",
)
LPAR, RPAR, LBRACE, RBRACE, LBRACK, RBRACK = "(", ")", "{", "}", "[", "]"
ATPAR, ATBRACE, SUBPAR, COMMA, MEMBER, DCOLON = "@(", "@{", "$(", ",", "MEMBER", "::"
ASSIGN, OP, PIPE, EOF = "=", "OP", "|", "EOF"


@dataclass(frozen=True, slots=True)
class VarPart:
    """``$name`` inside a double-quoted string."""

    scope: str
    name: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class SubPart:
    """``$( ... )`` inside a double-quoted string: the statements between ``inner_start`` and ``inner_end``."""

    inner_start: int
    inner_end: int
    start: int
    end: int


class ScriptSyntaxError(Exception):
    def __init__(self, message: str, start: int, end: int) -> None:
        super().__init__(message)
        self.start, self.end = start, end


class Lexer:
    """Tokenizes the PowerShell subset (see the module docstring) over ``text[start:end]``.

    Offsets are absolute in the file so sub-expressions inside strings (``"$($x.Name)"``) are
    tokenized in place and keep their positions for diagnostics.
    """

    def __init__(self, text: str, start: int = 0, end: int | None = None) -> None:
        self.text = text
        self.pos = start
        self.end = len(text) if end is None else end
        self.tokens: list[Token] = []
        self.warnings: list[tuple[str, int, int]] = []  # (message, start, end)

    def run(self) -> list[Token]:
        space = True
        text, end = self.text, self.end
        while self.pos < end:
            c = text[self.pos]
            start = self.pos
            if c in _SPACE:
                self.pos += 1
                space = True
                continue
            if c == "\n" or (c == "\r" and text.startswith("\n", self.pos + 1)):
                self.pos += 1 if c == "\n" else 2
                self._add(NL, None, start, space)
                space = True
                continue
            if c == "\r":
                self.pos += 1
                space = True
                continue
            if c == "`":
                if self._continuation():
                    space = True
                    continue
                self._word(space)
            elif c == "#":
                nl = text.find("\n", self.pos)
                self.pos = end if nl < 0 or nl > end else nl
                space = True
                continue
            elif c == "<" and text.startswith("<#", self.pos):
                close = text.find("#>", self.pos + 2, end)
                if close < 0:
                    raise ScriptSyntaxError(
                        "the block comment `<#` is never closed with `#>`", start, start + 2
                    )
                self.pos = close + 2
                space = True
                continue
            elif c in _SQ:
                self._single(space)
            elif c in _DQ:
                self._double(space)
            elif c == "@":
                self._at(space)
            elif c == "$":
                self._dollar(space)
            elif c in "(){}[],;|":
                self._punct(c, space)
            elif c in _DASH:
                self._dash(space)
            elif c == "=" or (c in "+*/%" and text.startswith("=", self.pos + 1)):
                op = "=" if c == "=" else c + "="
                self.pos += len(op)
                self._add(ASSIGN, op, start, space)
            elif c == "." and self._adjacent_member():
                m = _PARAM.match(text, self.pos + 1, end)
                assert m is not None
                self.pos = m.end()
                self._add(MEMBER, m.group(), start, space)
            elif c == ":" and text.startswith("::", self.pos) and self.tokens and not space:
                self.pos += 2
                self._add(DCOLON, "::", start, space)
            elif c.isdigit():
                self._number(space)
            elif c in "+*/%!<>&":
                two = text[self.pos : self.pos + 2]
                op = two if two in ("&&", "||", ">>", "2>") else c
                self.pos += len(op)
                self._add(OP, op, start, space)
            else:
                self._word(space)
            space = False
        self._add(EOF, None, self.end, True)
        return self.tokens

    # ------------------------------------------------------------------ pieces
    def _add(self, kind: str, value: Any, start: int, space: bool) -> None:
        self.tokens.append(Token(kind, value, start, self.pos, space))

    def _continuation(self) -> bool:
        """A backtick at the end of a line joins the next line; trailing blanks are tolerated, with a warning."""
        text = self.text
        i = self.pos + 1
        while i < self.end and text[i] in _SPACE:
            i += 1
        if i < self.end and text[i] in "\r\n":
            if i > self.pos + 1:
                self.warnings.append(
                    (
                        "blanks follow the line-continuation backtick; PowerShell would end the command here "
                        "(the reader joins the lines as intended)",
                        self.pos,
                        i,
                    )
                )
            self.pos = i + (2 if text.startswith("\r\n", i) else 1)
            return True
        return False

    def _adjacent_member(self) -> bool:
        """``.Name`` right after a value (``$a.Name``, ``$a[0].Name``, ``(...).Name``) is member access."""
        if not self.tokens or self.tokens[-1].end != self.pos:
            return False
        if self.tokens[-1].kind not in (VAR, RPAR, RBRACK, MEMBER, STR, XSTR):
            return False
        return _PARAM.match(self.text, self.pos + 1, self.end) is not None

    def _single(self, space: bool) -> None:
        text, start = self.text, self.pos
        i, out = self.pos + 1, []
        while True:
            if i >= self.end:
                raise ScriptSyntaxError("the string is never closed", start, start + 1)
            c = text[i]
            if c in _SQ:
                if i + 1 < self.end and text[i + 1] in _SQ:
                    out.append(text[i + 1])  # '' is one quote (PowerShell keeps the second)
                    i += 2
                    continue
                break
            out.append(c)
            i += 1
        self.pos = i + 1
        self._add(STR, "".join(out), start, space)

    def _double(self, space: bool) -> None:
        start = self.pos
        parts, i = self._expandable(self.pos + 1, lambda i: self.text[i] in _DQ, here=False)
        self.pos = i + 1
        self._add(XSTR, parts, start, space)

    def _expandable(self, i: int, closes: Callable[[int], bool], here: bool) -> tuple[list[Any], int]:
        """Scan an expandable string body from ``i``; returns its parts and the closing offset."""
        text, end = self.text, self.end
        parts: list[Any] = []
        buf: list[str] = []
        opening = i - 1
        while True:
            if i >= end:
                raise ScriptSyntaxError("the string is never closed", opening, opening + 1)
            c = text[i]
            if closes(i):
                if not here and i + 1 < end and text[i + 1] in _DQ:
                    buf.append(text[i + 1])
                    i += 2
                    continue
                break
            if c == "`" and i + 1 < end:
                nxt = text[i + 1]
                buf.append(_ESCAPES.get(nxt, nxt))
                i += 2
                continue
            if c == "$" and i + 1 < end:
                nxt = text[i + 1]
                if nxt == "(":
                    close = _matching_paren(text, i + 1, end)
                    if close < 0:
                        raise ScriptSyntaxError("`$(` in the string is never closed", i, i + 2)
                    if buf:
                        parts.append("".join(buf))
                        buf = []
                    parts.append(SubPart(i + 2, close, i, close + 1))
                    i = close + 1
                    continue
                if nxt == "{":
                    close = text.find("}", i + 2, end)
                    if close < 0:
                        raise ScriptSyntaxError("`${` in the string is never closed", i, i + 2)
                    if buf:
                        parts.append("".join(buf))
                        buf = []
                    scope, name = _split_scope(text[i + 2 : close])
                    parts.append(VarPart(scope, name, i, close + 1))
                    i = close + 1
                    continue
                m = _VAR.match(text, i + 1, end)
                if m is not None and (nxt.isalnum() or nxt in "_?$^"):
                    if buf:
                        parts.append("".join(buf))
                        buf = []
                    parts.append(VarPart((m.group("scope") or "").lower(), m.group("name"), i, m.end()))
                    i = m.end()
                    continue
            buf.append(c)
            i += 1
        if buf:
            parts.append("".join(buf))
        return parts, i

    def _at(self, space: bool) -> None:
        text, start = self.text, self.pos
        nxt = text[self.pos + 1] if self.pos + 1 < self.end else ""
        if nxt in ("'", '"'):
            self._here_string(nxt, space)
        elif nxt == "(":
            self.pos += 2
            self._add(ATPAR, None, start, space)
        elif nxt == "{":
            self.pos += 2
            self._add(ATBRACE, None, start, space)
        elif (m := _PARAM.match(text, self.pos + 1, self.end)) is not None:
            self.pos = m.end()
            self._add(SPLAT, m.group(), start, space)
        else:
            self._word(space)

    def _here_string(self, quote: str, space: bool) -> None:
        text, start = self.text, self.pos
        i = self.pos + 2
        while i < self.end and text[i] in _SPACE:
            i += 1
        if i >= self.end or text[i] not in "\r\n":
            raise ScriptSyntaxError(f"a here-string `@{quote}` must end its line", start, start + 2)
        body = i + (2 if text.startswith("\r\n", i) else 1)
        m = re.compile(r"\r?\n" + re.escape(quote) + "@").search(text, body - 1, self.end)
        if m is None:
            raise ScriptSyntaxError(
                f"the here-string is never closed with `{quote}@` at a line start", start, start + 2
            )
        if quote == "'":
            self.pos = m.end()
            self._add(STR, text[body : m.start()] if m.start() >= body else "", start, space)
            return
        parts, _ = self._expandable(body, lambda j: j == m.start(), here=True)
        self.pos = m.end()
        self._add(XSTR, parts, start, space)

    def _dollar(self, space: bool) -> None:
        text, start = self.text, self.pos
        nxt = text[self.pos + 1] if self.pos + 1 < self.end else ""
        if nxt == "(":
            self.pos += 2
            self._add(SUBPAR, None, start, space)
            return
        if nxt == "{":
            close = text.find("}", self.pos + 2, self.end)
            if close < 0:
                raise ScriptSyntaxError("`${` is never closed", start, start + 2)
            self.pos = close + 1
            self._add(VAR, _split_scope(text[start + 2 : close]), start, space)
            return
        m = _VAR.match(text, self.pos + 1, self.end)
        if m is None:
            self._word(space)
            return
        self.pos = m.end()
        self._add(VAR, ((m.group("scope") or "").lower(), m.group("name")), start, space)

    def _punct(self, c: str, space: bool) -> None:
        start = self.pos
        self.pos += 1
        self._add(c, c, start, space)

    def _dash(self, space: bool) -> None:
        text, start = self.text, self.pos
        m = _PARAM.match(text, self.pos + 1, self.end)
        if m is not None:
            self.pos = m.end()
            colon = self.pos < self.end and text[self.pos] == ":" and not text.startswith("::", self.pos)
            if colon:
                self.pos += 1
            self._add(PARAM, (m.group(), colon), start, space)
            return
        if self.pos + 1 < self.end and text[self.pos + 1].isdigit() and space:
            self.pos += 1
            self._number(space, negative=True, start=start)
            return
        if text.startswith("=", self.pos + 1):
            self.pos += 2
            self._add(ASSIGN, "-=", start, space)
            return
        self.pos += 1
        self._add(OP, "-", start, space)

    def _number(self, space: bool, negative: bool = False, start: int | None = None) -> None:
        begin = self.pos if start is None else start
        m = _NUMBER.match(self.text, self.pos, self.end)
        assert m is not None
        after = m.end()
        if after < self.end and self.text[after] not in _WORD_STOP and self.text[after] not in "#.":
            self.pos = begin
            self._word(space)  # 1kb, 12abc: not a plain number
            return
        raw = m.group()
        value = int(raw, 16) if raw[:2].lower() == "0x" else int(raw)
        self.pos = after
        self._add(NUM, -value if negative else value, begin, space)

    def _word(self, space: bool) -> None:
        """A bare word: a command name, a keyword, or a command argument written without quotes."""
        text, start = self.text, self.pos
        out: list[str] = []
        i = self.pos
        while i < self.end:
            c = text[i]
            if c == "`" and i + 1 < self.end and text[i + 1] not in "\r\n":
                out.append(text[i + 1])
                i += 2
                continue
            if c in _WORD_STOP and not (c == "$" and i == start):
                break
            out.append(c)
            i += 1
        if i == start:  # a lone stop character we do not otherwise know: keep it as an operator
            i += 1
            out.append(text[start])
        self.pos = i
        self._add(WORD, "".join(out), start, space)


def _split_scope(name: str) -> tuple[str, str]:
    if ":" in name:
        scope, _, rest = name.partition(":")
        return scope.lower(), rest
    return "", name


def _matching_paren(text: str, open_at: int, end: int) -> int:
    """The offset of the ``)`` closing the ``(`` at ``open_at`` (skipping quoted strings), or -1."""
    depth = 0
    i = open_at
    while i < end:
        c = text[i]
        if c in _SQ:
            i += 1
            while i < end and text[i] not in _SQ:
                i += 1
        elif c == '"':
            i += 1
            while i < end and text[i] != '"':
                i += 2 if text[i] == "`" else 1
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


# ============================================================================ syntax tree
#
# Statements and expressions of the subset. Every node keeps its offsets for diagnostics.


@dataclass(slots=True)
class Node:
    start: int
    end: int


@dataclass(slots=True)
class Lit(Node):
    value: Any  # str | int


@dataclass(slots=True)
class XStr(Node):
    parts: list[Any]  # str | VarPart | SubPart


@dataclass(slots=True)
class VarRef(Node):
    scope: str
    name: str


@dataclass(slots=True)
class Member(Node):
    target: Any
    name: str


@dataclass(slots=True)
class Index(Node):
    target: Any
    index: Any


@dataclass(slots=True)
class MethodCall(Node):
    target: Any
    name: str
    args: list[Any]


@dataclass(slots=True)
class ArrayLit(Node):
    items: list[Any]


@dataclass(slots=True)
class ArrayExpr(Node):
    """``@( statements )``."""

    body: list[Any]


@dataclass(slots=True)
class SubExpr(Node):
    """``$( statements )`` or ``( pipeline )``."""

    body: list[Any]


@dataclass(slots=True)
class HashLit(Node):
    pairs: list[tuple[str, Any, int, int]]  # key, value, key start, key end


@dataclass(slots=True)
class TypeLit(Node):
    name: str


@dataclass(slots=True)
class StaticMember(Node):
    type: str
    name: str
    call: bool


@dataclass(slots=True)
class Cast(Node):
    type: str
    value: Any


@dataclass(slots=True)
class BinOp(Node):
    op: str  # lower case: "+", "-eq", "-and", ...
    left: Any
    right: Any


@dataclass(slots=True)
class UnaryOp(Node):
    op: str
    operand: Any


@dataclass(slots=True)
class ScriptBlock(Node):
    body: list[Any]


@dataclass(slots=True)
class Opaque(Node):
    """Something the parser skipped over; ``what`` names it for the diagnostic."""

    what: str


# --- command elements


@dataclass(slots=True)
class ParamArg(Node):
    name: str
    value: Any | None  # the value after ``-Name:`` (None: maybe the next element, decided when binding)
    colon: bool


@dataclass(slots=True)
class Splat(Node):
    name: str


@dataclass(slots=True)
class Command(Node):
    name: str
    name_end: int
    elements: list[Any]  # ParamArg | Splat | expression


@dataclass(slots=True)
class Pipeline(Node):
    stages: list[Any]  # Command or expression (first stage only)


# --- statements


@dataclass(slots=True)
class Assign(Node):
    target: Any  # VarRef | Member | Index
    op: str
    value: Any  # Pipeline | expression
    cast: str | None = None


@dataclass(slots=True)
class ExprStmt(Node):
    value: Any  # Pipeline | expression


@dataclass(slots=True)
class IfStmt(Node):
    clauses: list[tuple[Any, list[Any], int, int]]  # condition, body, condition start/end
    otherwise: list[Any] | None


@dataclass(slots=True)
class LoopStmt(Node):
    kind: str
    var: VarRef | None  # foreach variable
    items: Any | None  # foreach collection
    body: list[Any]


@dataclass(slots=True)
class SwitchStmt(Node):
    subject: Any
    clauses: list[tuple[Any | None, list[Any]]]  # label (None: default), body
    subject_start: int
    subject_end: int


@dataclass(slots=True)
class Group(Node):
    """A ``begin``/``process``/``end`` block of a function: its statements, read in place."""

    body: list[Any]


@dataclass(slots=True)
class TryStmt(Node):
    body: list[Any]
    catches: list[tuple[list[Any], int, int]]
    final: list[Any] | None


@dataclass(slots=True)
class ParamDecl:
    name: str
    default: Any | None
    type: str  # lower case, "" when untyped: "switch", "int", "string", ...
    mandatory: bool
    start: int
    end: int

    @property
    def switch(self) -> bool:
        return self.type == "switch"


@dataclass(slots=True)
class FunctionDef(Node):
    name: str
    params: list[ParamDecl]
    body: list[Any]


@dataclass(slots=True)
class ParamBlock(Node):
    params: list[ParamDecl]


@dataclass(slots=True)
class FlowStmt(Node):
    """``return``, ``exit``, ``break``, ``continue`` or ``throw``."""

    keyword: str
    value: Any | None


@dataclass(slots=True)
class Skipped(Node):
    """A construct the reader does not evaluate (``switch``, ``class``, ``trap``, ...)."""

    what: str


_KEYWORDS = {
    "if", "elseif", "else", "function", "filter", "foreach", "for", "while", "do", "until", "try",
    "catch", "finally", "switch", "param", "return", "exit", "break", "continue", "throw", "trap",
    "class", "enum", "using", "begin", "process", "end", "data", "dynamicparam", "workflow",
}  # fmt: skip
_COMPARISON = {
    "-eq", "-ne", "-gt", "-ge", "-lt", "-le", "-like", "-notlike", "-match", "-notmatch", "-contains",
    "-notcontains", "-in", "-notin", "-replace", "-is", "-isnot", "-as", "-split", "-join", "-f",
    "-band", "-bor", "-bxor", "-shl", "-shr",
}  # fmt: skip
_LOGICAL = {"-and", "-or", "-xor"}
_MANDATORY = re.compile(r"\bMandatory\b(?!\s*=\s*\$false)", re.IGNORECASE)
# The value of a typed parameter that is not passed (untyped: $null).
_TYPE_DEFAULTS: dict[str, Any] = {
    "switch": False, "bool": False, "boolean": False, "int": 0, "int32": 0, "int64": 0, "long": 0,
    "string": "",
}  # fmt: skip


class Parser:
    """Recursive descent over the tokens; builds statements for :class:`Reader`.

    A statement the parser cannot read is reported (SR801) and skipped to the end of its line,
    so one odd line does not hide the rules around it.
    """

    def __init__(self, tokens: list[Token], text: str, report: Callable[[str, int, int], None]) -> None:
        self.toks = tokens
        self.text = text
        self.i = 0
        self.report = report
        self.depth = 0

    # ------------------------------------------------------------------ helpers
    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def peek(self, n: int = 1) -> Token:
        return self.toks[min(self.i + n, len(self.toks) - 1)]

    def next(self) -> Token:
        t = self.toks[self.i]
        if t.kind != EOF:
            self.i += 1
        return t

    def expect(self, kind: str, what: str) -> Token:
        if self.tok.kind != kind:
            raise ScriptSyntaxError(f"expected {what}", self.tok.start, max(self.tok.end, self.tok.start + 1))
        return self.next()

    def skip_newlines(self) -> None:
        while self.tok.kind in (NL, SEMI):
            self.next()

    def is_word(self, *words: str) -> bool:
        return self.tok.kind == WORD and str(self.tok.value).lower() in words

    def enter(self) -> None:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise ScriptSyntaxError("the script is nested too deeply", self.tok.start, self.tok.end)

    # ------------------------------------------------------------------ statements
    def script(self) -> list[Any]:
        out = self.statements(until=EOF)
        return out

    def statements(self, until: str) -> list[Any]:
        out: list[Any] = []
        while True:
            self.skip_newlines()
            if self.tok.kind == until or self.tok.kind == EOF:
                if until != EOF and self.tok.kind == EOF:
                    raise ScriptSyntaxError(
                        f"a block is never closed with `{until}`", self.tok.start, self.tok.end
                    )
                return out
            start = self.i
            try:
                stmt = self.statement()
            except ScriptSyntaxError as exc:
                self.report(str(exc), exc.start, exc.end)
                self.i = max(self.i, start + 1)
                self._recover()
                continue
            if stmt is not None:
                out.append(stmt)
            if self.tok.kind not in (NL, SEMI, EOF, RBRACE, RPAR) and self.tok.kind != until:
                t = self.tok
                self.report(
                    f"unexpected {_describe(t)} after the statement", t.start, max(t.end, t.start + 1)
                )
                self._recover()

    def _recover(self) -> None:
        """Skip to the end of the current line (keeping bracket balance)."""
        depth = 0
        while self.tok.kind != EOF:
            k = self.tok.kind
            if k in (LPAR, LBRACE, ATPAR, ATBRACE, SUBPAR, LBRACK):
                depth += 1
            elif k in (RPAR, RBRACE, RBRACK):
                if depth == 0:
                    return
                depth -= 1
            elif k in (NL, SEMI) and depth == 0:
                return
            self.next()

    def block(self) -> list[Any]:
        self.skip_nl_only()
        self.expect(LBRACE, "`{`")
        self.enter()
        body = self.statements(until=RBRACE)
        self.depth -= 1
        self.expect(RBRACE, "`}`")
        return body

    def skip_nl_only(self) -> None:
        while self.tok.kind == NL:
            self.next()

    def statement(self) -> Any:
        t = self.tok
        if t.kind == WORD:
            word = str(t.value).lower()
            if word == "if":
                return self.if_stmt()
            if word in ("function", "filter", "workflow"):
                return self.function()
            if word in ("foreach", "for", "while"):
                return self.loop(word)
            if word == "do":
                return self.do_loop()
            if word == "try":
                return self.try_stmt()
            if word == "param":
                start = self.next().start
                params = self.param_list()
                return ParamBlock(start, self.toks[self.i - 1].end, params)
            if word in ("return", "exit", "break", "continue", "throw"):
                self.next()
                value = None
                if self.tok.kind not in (NL, SEMI, RBRACE, EOF):
                    value = self.pipeline()
                return FlowStmt(t.start, self.toks[self.i - 1].end, word, value)
            if word == "switch":
                return self.switch_stmt()
            if word in ("begin", "process", "end") and self._next_is_block():
                self.next()
                body = self.block()
                return Group(t.start, self.toks[self.i - 1].end, body)
            if word in ("trap", "class", "enum", "data", "dynamicparam"):
                return self.skipped(f"`{word}`")
            if word == "using":
                self._recover()
                return None
        if t.kind == OP and t.value in ("&", ".") or (t.kind == WORD and t.value == "."):
            return self.skipped("a command called through `&` or `.`")
        # Assignment: a variable (with members/indices, maybe cast) followed by `=`.
        j = self._assignment_at()
        if j is not None:
            return self.assignment()
        value = self.pipeline()
        return ExprStmt(t.start, self.toks[self.i - 1].end, value)

    def skipped(self, what: str) -> Skipped:
        start = self.tok.start
        depth = 0
        while self.tok.kind != EOF:
            k = self.tok.kind
            if k in (LPAR, LBRACE, ATPAR, ATBRACE, SUBPAR):
                depth += 1
            elif k in (RPAR, RBRACE):
                if depth == 0:
                    break
                depth -= 1
                if depth == 0 and k == RBRACE:
                    self.next()  # `trap { ... }`, `class X { ... }`: the construct ends with its block
                    break
            elif k in (NL, SEMI) and depth == 0:
                break
            self.next()
        return Skipped(start, self.toks[self.i - 1].end, what)

    def _assignment_at(self) -> int | None:
        """If an assignment starts here, the index of its `=`; else None (no tokens consumed)."""
        j = self.i
        while self.toks[j].kind == LBRACK:  # [type] casts before the variable
            close = self._closing_bracket(j)
            if close is None:
                return None
            j = close + 1
        if self.toks[j].kind != VAR:
            return None
        j += 1
        while True:
            k = self.toks[j]
            if k.kind == MEMBER:
                j += 1
            elif k.kind == LBRACK and not k.space:
                close = self._closing_bracket(j)
                if close is None:
                    return None
                j = close + 1
            else:
                break
        return j if self.toks[j].kind == ASSIGN else None

    def _closing_bracket(self, j: int) -> int | None:
        """Index of the `]` closing the `[` at token j, or None if the line ends first (scans ahead only)."""
        depth = 0
        while True:
            k = self.toks[j].kind
            if k == LBRACK:
                depth += 1
            elif k == RBRACK:
                depth -= 1
                if depth == 0:
                    return j
            elif k in (EOF, NL):
                return None
            j += 1

    def assignment(self) -> Assign:
        start = self.tok.start
        cast = None
        while self.tok.kind == LBRACK:
            cast = self.type_name()
        target = self.postfix(self.var_ref(self.next()), command_mode=False)
        op = self.next().value
        self.skip_nl_only()
        if self.is_word("if", "switch", "foreach", "for", "while", "do", "try"):
            value: Any = self.skipped(f"a value computed by `{self.tok.value}`")
        else:
            value = self.pipeline()
        return Assign(start, self.toks[self.i - 1].end, target, op, value, cast)

    def if_stmt(self) -> IfStmt:
        start = self.next().start
        clauses = []
        while True:
            self.skip_nl_only()
            open_tok = self.expect(LPAR, "`(` after `if`")
            self.skip_newlines()
            cond = self.pipeline()
            self.skip_newlines()
            close = self.expect(RPAR, "`)` closing the condition")
            body = self.block()
            clauses.append((cond, body, open_tok.start, close.end))
            j = self.i
            while self.toks[j].kind == NL:
                j += 1
            nxt = self.toks[j]
            if nxt.kind == WORD and str(nxt.value).lower() == "elseif":
                self.i = j + 1
                continue
            if nxt.kind == WORD and str(nxt.value).lower() == "else":
                self.i = j + 1
                otherwise = self.block()
                return IfStmt(start, self.toks[self.i - 1].end, clauses, otherwise)
            return IfStmt(start, self.toks[self.i - 1].end, clauses, None)

    def loop(self, kind: str) -> LoopStmt:
        start = self.next().start
        self.skip_nl_only()
        self.expect(LPAR, f"`(` after `{kind}`")
        var = items = None
        if (
            kind == "foreach"
            and self.tok.kind == VAR
            and self.peek().kind == WORD
            and str(self.peek().value).lower() == "in"
        ):
            var = self.var_ref(self.next())
            self.next()
            items = self.pipeline()
            self.expect(RPAR, "`)`")
        else:
            self._skip_balanced_until(RPAR)
            self.expect(RPAR, "`)`")
        body = self.block()
        return LoopStmt(start, self.toks[self.i - 1].end, kind, var, items, body)

    def do_loop(self) -> LoopStmt:
        start = self.next().start
        body = self.block()
        self.skip_nl_only()
        if self.is_word("while", "until"):
            self.next()
            self.expect(LPAR, "`(`")
            self._skip_balanced_until(RPAR)
            self.expect(RPAR, "`)`")
        return LoopStmt(start, self.toks[self.i - 1].end, "do", None, None, body)

    def _skip_balanced_until(self, kind: str) -> None:
        depth = 0
        while self.tok.kind != EOF:
            k = self.tok.kind
            if k in (LPAR, ATPAR, SUBPAR, LBRACE, ATBRACE, LBRACK):
                depth += 1
            elif k in (RPAR, RBRACE, RBRACK):
                if depth == 0 and k == kind:
                    return
                depth -= 1
            self.next()

    def _next_is_block(self) -> bool:
        j = self.i + 1
        while self.toks[j].kind == NL:
            j += 1
        return self.toks[j].kind == LBRACE

    def switch_stmt(self) -> SwitchStmt:
        """``switch [-options] (value) { label { ... } ... default { ... } }``."""
        start = self.next().start
        while self.tok.kind == PARAM:  # -exact, -casesensitive, -wildcard, -regex
            if self.tok.value[0].lower() in ("regex", "wildcard", "file"):
                raise ScriptSyntaxError(
                    f"`switch -{self.tok.value[0]}` is not supported", self.tok.start, self.tok.end
                )
            self.next()
        self.skip_nl_only()
        open_tok = self.expect(LPAR, "`(` after `switch`")
        self.skip_newlines()
        subject = self.pipeline()
        self.skip_newlines()
        close = self.expect(RPAR, "`)`")
        self.skip_nl_only()
        self.expect(LBRACE, "`{` opening the switch body")
        self.enter()
        clauses: list[tuple[Any | None, list[Any]]] = []
        while True:
            self.skip_newlines()
            if self.tok.kind == RBRACE:
                break
            if self.is_word("default"):
                self.next()
                label: Any | None = None
            else:
                label = self.primary(command_mode=True)
            clauses.append((label, self.block()))
        self.depth -= 1
        self.expect(RBRACE, "`}`")
        return SwitchStmt(start, self.toks[self.i - 1].end, subject, clauses, open_tok.start, close.end)

    def try_stmt(self) -> TryStmt:
        start = self.next().start
        body = self.block()
        catches = []
        final = None
        while True:
            j = self.i
            while self.toks[j].kind == NL:
                j += 1
            nxt = self.toks[j]
            word = str(nxt.value).lower() if nxt.kind == WORD else ""
            if word == "catch":
                self.i = j + 1
                while self.tok.kind == LBRACK or self.tok.kind == COMMA:
                    if self.tok.kind == COMMA:
                        self.next()
                    else:
                        self.type_name()
                cstart = nxt.start
                cbody = self.block()
                catches.append((cbody, cstart, self.toks[self.i - 1].end))
            elif word == "finally":
                self.i = j + 1
                final = self.block()
            else:
                break
        return TryStmt(start, self.toks[self.i - 1].end, body, catches, final)

    def function(self) -> FunctionDef:
        start = self.next().start
        name_tok = self.next()
        if name_tok.kind != WORD:
            raise ScriptSyntaxError("expected a function name", name_tok.start, name_tok.end)
        params: list[ParamDecl] = []
        if self.tok.kind == LPAR:
            params = self.param_list()
        self.skip_nl_only()
        self.expect(LBRACE, "`{` opening the function body")
        self.enter()
        self.skip_newlines()
        if self.is_word("param"):
            self.next()
            params = self.param_list()
        body = self.statements(until=RBRACE)
        if not params:
            for k, stmt in enumerate(body):
                if isinstance(stmt, ParamBlock):
                    params = stmt.params
                    body = body[:k] + body[k + 1 :]
                    break
                if not (isinstance(stmt, ExprStmt) and isinstance(stmt.value, TypeLit)):
                    break
        self.depth -= 1
        self.expect(RBRACE, "`}`")
        name = str(name_tok.value)
        if ":" in name:  # function global:Name
            name = name.split(":", 1)[1]
        return FunctionDef(start, self.toks[self.i - 1].end, name, params, body)

    def param_list(self) -> list[ParamDecl]:
        self.skip_nl_only()
        self.expect(LPAR, "`(`")
        params: list[ParamDecl] = []
        while True:
            self.skip_newlines()
            if self.tok.kind == RPAR:
                self.next()
                return params
            type_name, mandatory = "", False
            while self.tok.kind == LBRACK:
                text = self.type_name()
                if "(" in text:  # an attribute: [Parameter(Mandatory)], [ValidateSet(...)]
                    mandatory = mandatory or bool(_MANDATORY.search(text))
                else:
                    type_name = text.lower().removeprefix("system.")
                self.skip_newlines()
            t = self.expect(VAR, "a `$parameter`")
            default = None
            if self.tok.kind == ASSIGN:
                self.next()
                self.skip_newlines()
                default = self.expression(no_comma=True)
            params.append(ParamDecl(t.value[1], default, type_name, mandatory, t.start, t.end))
            self.skip_newlines()
            if self.tok.kind == COMMA:
                self.next()
            elif self.tok.kind != RPAR:
                raise ScriptSyntaxError(
                    "expected `,` or `)` in the parameter list", self.tok.start, self.tok.end
                )

    def type_name(self) -> str:
        """``[Some.Type]`` (nested brackets and attribute arguments allowed); returns the text inside."""
        open_tok = self.expect(LBRACK, "`[`")
        depth = 1
        while depth:
            k = self.tok.kind
            if k == EOF:
                raise ScriptSyntaxError("`[` is never closed", open_tok.start, open_tok.end)
            if k == LBRACK:
                depth += 1
            elif k == RBRACK:
                depth -= 1
            self.next()
        return self.text[open_tok.start + 1 : self.toks[self.i - 1].start].strip()

    # ------------------------------------------------------------------ pipelines and commands
    def pipeline(self) -> Any:
        start = self.tok.start
        first = self.command() if self._command_start() else self.expression()
        stages = [first]
        while self.tok.kind == PIPE:
            self.next()
            self.skip_nl_only()
            if not self._command_start():
                raise ScriptSyntaxError("expected a command after `|`", self.tok.start, self.tok.end)
            stages.append(self.command())
        if len(stages) == 1:
            return first
        return Pipeline(start, self.toks[self.i - 1].end, stages)

    def _command_start(self) -> bool:
        t = self.tok
        return t.kind == WORD and str(t.value).lower() not in _KEYWORDS and not str(t.value).startswith("$")

    def command(self) -> Command:
        name_tok = self.next()
        name = str(name_tok.value)
        if "\\" in name:  # ADSync\New-ADSyncRule: module-qualified
            name = name.rsplit("\\", 1)[1]
        elements: list[Any] = []
        while self.tok.kind not in (NL, SEMI, RBRACE, RPAR, PIPE, EOF):
            t = self.tok
            if t.kind == PARAM:
                self.next()
                pname, colon = t.value
                value = self.command_argument() if colon else None
                elements.append(ParamArg(t.start, self.toks[self.i - 1].end, pname, value, colon))
            elif t.kind == SPLAT:
                self.next()
                elements.append(Splat(t.start, t.end, t.value))
            elif t.kind == OP and t.value in (">", ">>", "2>"):
                self.next()  # redirection: skip its target
                if self.tok.kind not in (NL, SEMI, RBRACE, RPAR, PIPE, EOF):
                    self.command_argument()
            else:
                elements.append(self.command_argument())
        return Command(name_tok.start, self.toks[self.i - 1].end, name, name_tok.end, elements)

    def command_argument(self) -> Any:
        return self.primary_list(command_mode=True)

    def primary_list(self, command_mode: bool) -> Any:
        """A primary, or `a, b, ...` as an array: commas bind the same way in arguments and expressions."""
        first = self.primary(command_mode)
        if self.tok.kind != COMMA:
            return first
        items = [first]
        while self.tok.kind == COMMA:
            self.next()
            self.skip_nl_only()
            items.append(self.primary(command_mode))
        return ArrayLit(first.start, items[-1].end, items)

    # ------------------------------------------------------------------ expressions
    def expression(self, no_comma: bool = False) -> Any:
        self.enter()
        try:
            return self.logical(no_comma)
        finally:
            self.depth -= 1

    def logical(self, no_comma: bool) -> Any:
        left = self.comparison(no_comma)
        while self.tok.kind == PARAM and f"-{self.tok.value[0].lower()}" in _LOGICAL:
            op = "-" + self.next().value[0].lower()
            self.skip_nl_only()
            right = self.comparison(no_comma)
            left = BinOp(left.start, right.end, op, left, right)
        return left

    def comparison(self, no_comma: bool) -> Any:
        left = self.additive(no_comma)
        while self.tok.kind == PARAM and _cmp_op(self.tok.value[0]) in _COMPARISON:
            op = _cmp_op(self.next().value[0])
            self.skip_nl_only()
            right = self.additive(no_comma)
            left = BinOp(left.start, right.end, op, left, right)
        return left

    def additive(self, no_comma: bool) -> Any:
        left = self.unary(no_comma)
        while (self.tok.kind == OP and self.tok.value in ("+", "-", "*", "/", "%")) or (
            self.tok.kind == NUM and self.tok.value < 0 and self.tok.space
        ):
            if self.tok.kind == NUM:  # `$a -1` lexed as a negative number: a subtraction
                t = self.next()
                right: Any = Lit(t.start + 1, t.end, -t.value)
                left = BinOp(left.start, right.end, "-", left, right)
                continue
            op = self.next().value
            self.skip_nl_only()
            right = self.unary(no_comma)
            left = BinOp(left.start, right.end, op, left, right)
        return left

    def unary(self, no_comma: bool) -> Any:
        t = self.tok
        if (t.kind == PARAM and t.value[0].lower() == "not") or (t.kind == OP and t.value in ("!", "-")):
            self.next()
            operand = self.unary(no_comma)
            op = "-not" if t.kind == PARAM or t.value == "!" else "-"
            return UnaryOp(t.start, operand.end, op, operand)
        if t.kind == LBRACK and not self._type_followed_by_member():
            type_name = self.type_name()
            if self.tok.kind in (NL, SEMI, RPAR, RBRACE, EOF, PIPE, COMMA) or self.tok.kind == ASSIGN:
                return TypeLit(t.start, self.toks[self.i - 1].end, type_name)
            operand = self.unary(no_comma)
            return Cast(t.start, operand.end, type_name, operand)
        if no_comma:
            return self.primary(command_mode=False)
        return self.primary_list(command_mode=False)

    def _type_followed_by_member(self) -> bool:
        close = self._closing_bracket(self.i)
        return close is not None and self.toks[close + 1].kind == DCOLON

    def primary(self, command_mode: bool) -> Any:
        t = self.tok
        self.enter()
        try:
            node = self._primary(t, command_mode)
        finally:
            self.depth -= 1
        return self.postfix(node, command_mode)

    def _primary(self, t: Token, command_mode: bool) -> Any:
        k = t.kind
        if k == STR:
            self.next()
            return Lit(t.start, t.end, t.value)
        if k == XSTR:
            self.next()
            return XStr(t.start, t.end, t.value)
        if k == NUM:
            self.next()
            return Lit(t.start, t.end, t.value)
        if k == VAR:
            return self.var_ref(self.next())
        if k == WORD:
            if not command_mode and self._command_start():
                cmd = self.command()
                return SubExpr(cmd.start, cmd.end, [ExprStmt(cmd.start, cmd.end, cmd)])
            self.next()
            return Lit(t.start, t.end, str(t.value))
        if k in (ATPAR, SUBPAR):
            self.next()
            self.enter()
            body = self.statements(until=RPAR)
            self.depth -= 1
            end = self.expect(RPAR, "`)`").end
            return ArrayExpr(t.start, end, body) if k == ATPAR else SubExpr(t.start, end, body)
        if k == LPAR:
            self.next()
            self.skip_newlines()
            inner = self.assignment() if self._assignment_at() is not None else self.pipeline()
            self.skip_newlines()
            end = self.expect(RPAR, "`)`").end
            return SubExpr(t.start, end, [ExprStmt(inner.start, inner.end, inner)])
        if k == ATBRACE:
            return self.hashtable()
        if k == LBRACE:
            self.next()
            self.enter()
            body = self.statements(until=RBRACE)
            self.depth -= 1
            end = self.expect(RBRACE, "`}`").end
            return ScriptBlock(t.start, end, body)
        if k == LBRACK:
            type_name = self.type_name()
            if self.tok.kind == DCOLON:
                self.next()
                name_tok = self.next()
                if name_tok.kind not in (WORD, STR):
                    raise ScriptSyntaxError("expected a member name after `::`", name_tok.start, name_tok.end)
                call = False
                if self.tok.kind == LPAR and not self.tok.space:
                    self._skip_call_args()
                    call = True
                return StaticMember(t.start, self.toks[self.i - 1].end, type_name, str(name_tok.value), call)
            if command_mode:
                return TypeLit(t.start, self.toks[self.i - 1].end, type_name)
            operand = self.unary(no_comma=True)
            return Cast(t.start, operand.end, type_name, operand)
        if k == SPLAT:
            self.next()
            return Opaque(t.start, t.end, f"@{t.value}")
        if k == PARAM and not command_mode:
            raise ScriptSyntaxError(f"unexpected operator `-{t.value[0]}`", t.start, t.end)
        raise ScriptSyntaxError(f"unexpected {_describe(t)}", t.start, max(t.end, t.start + 1))

    def _skip_call_args(self) -> list[Any]:
        self.expect(LPAR, "`(`")
        args: list[Any] = []
        self.skip_newlines()
        while self.tok.kind != RPAR:
            args.append(self.expression(no_comma=True))
            self.skip_newlines()
            if self.tok.kind == COMMA:
                self.next()
                self.skip_newlines()
            elif self.tok.kind != RPAR:
                raise ScriptSyntaxError("expected `,` or `)`", self.tok.start, self.tok.end)
        self.next()
        return args

    def postfix(self, node: Any, command_mode: bool) -> Any:
        while True:
            t = self.tok
            if t.kind == MEMBER:
                self.next()
                if self.tok.kind == LPAR and not self.tok.space:
                    args = self._skip_call_args()
                    node = MethodCall(node.start, self.toks[self.i - 1].end, node, t.value, args)
                else:
                    node = Member(node.start, t.end, node, t.value)
            elif t.kind == LBRACK and not t.space:
                self.next()
                index = self.expression()
                end = self.expect(RBRACK, "`]`").end
                node = Index(node.start, end, node, index)
            else:
                return node

    def var_ref(self, t: Token) -> VarRef:
        scope, name = t.value
        return VarRef(t.start, t.end, scope, name)

    def hashtable(self) -> HashLit:
        open_tok = self.next()
        pairs: list[tuple[str, Any, int, int]] = []
        while True:
            self.skip_newlines()
            if self.tok.kind == RBRACE:
                end = self.next().end
                return HashLit(open_tok.start, end, pairs)
            key_tok = self.next()
            if key_tok.kind not in (WORD, STR, NUM):
                raise ScriptSyntaxError("expected a key in the hashtable", key_tok.start, key_tok.end)
            self.expect(ASSIGN, "`=` after the hashtable key")
            self.skip_nl_only()
            value = self.pipeline()
            pairs.append((str(key_tok.value), value, key_tok.start, key_tok.end))


def _cmp_op(name: str) -> str:
    low = "-" + name.lower()
    # -ieq/-ceq and friends: case-(in)sensitive spellings of the same comparison
    if low[:2] in ("-i", "-c") and "-" + low[2:] in _COMPARISON:
        return "-" + low[2:]
    return low


def _describe(t: Token) -> str:
    if t.kind == EOF:
        return "end of file"
    if t.kind == NL:
        return "line break"
    if t.kind == PARAM:
        return f"`-{t.value[0]}`"
    if t.kind in (STR, XSTR):
        return "string"
    if t.kind == VAR:
        return f"`${t.value[1]}`"
    return f"`{t.value}`" if t.value is not None else f"`{t.kind}`"


# ============================================================================ values
#
# What a variable can hold while the script is read: str, int, bool, None ($null), list (an
# array), _Table (a hashtable), a rule or condition object built by the ADSync cmdlets, or
# Unknown — a value only the running script would know, carrying the reason for the diagnostic.


@dataclass(frozen=True, slots=True)
class Unknown:
    why: str


@dataclass(slots=True)
class _Table:
    """A hashtable: keys compared case-insensitively, as PowerShell does."""

    items: dict[str, tuple[str, Any]] = field(default_factory=dict)  # lower key -> (key, value)

    def get(self, key: str) -> Any:
        found = self.items.get(key.lower())
        return found[1] if found is not None else None


@dataclass(eq=False, slots=True)
class RuleObj:
    """A rule being built: what ``New-ADSyncRule`` returned, changed by the ``Add-*`` cmdlets."""

    rule: SyncRule
    start: int
    line: int
    broken: bool = False  # a required value is missing or unknown: never imported (errors say why)
    added: bool = False

    def label(self) -> str:
        return f"rule {self.rule.name!r}" if self.rule.name else f"the rule created at line {self.line}"


@dataclass(eq=False, slots=True)
class Condition:
    """A ``ScopeCondition`` or ``JoinCondition`` made by ``New-Object``."""

    kind: str  # "scope" | "join"
    values: dict[str, tuple[Any, int, int]]  # property -> (value, start, end)
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class ConnectorLookup:
    """``Get-ADSyncConnector -Name X`` (``id``: its ``.Identifier``): known by name only."""

    name: str
    id: bool = False


_MISSING = object()  # "no such variable" in environment snapshots
_NOTHING = object()  # a statement that writes no output

_SCOPE_PROPS = {
    "attribute": "Attribute",
    "comparisonvalue": "ComparisonValue",
    "comparisonoperator": "ComparisonOperator",
}
_JOIN_PROPS = {"csattribute": "CSAttribute", "mvattribute": "MVAttribute", "casesensitive": "CaseSensitive"}
_OBJECT_MODEL = "microsoft.identitymanagement.powershell.objectmodel."
_FLOW_TYPES = {"direct": "Direct", "constant": "Constant", "expression": "Expression"}
_AUTOMATIC = {
    "_", "psitem", "args", "input", "psscriptroot", "pscommandpath", "myinvocation", "pwd", "home", "host",
    "error", "lastexitcode", "?", "$", "^", "matches", "this", "pid", "psboundparameters", "profile",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Spec:
    """The parameters of a cmdlet the reader evaluates (canonical spelling)."""

    name: str
    values: tuple[str, ...] = ()
    switches: tuple[str, ...] = ()
    positional: tuple[str, ...] = ()


_COMMON_VALUES = (
    "ErrorAction", "WarningAction", "InformationAction", "ErrorVariable", "WarningVariable",
    "InformationVariable", "OutVariable", "OutBuffer", "PipelineVariable",
)  # fmt: skip
_COMMON_SWITCHES = ("Verbose", "Debug", "WhatIf", "Confirm")
_COMMON_ALIASES = {
    "ea": "ErrorAction", "wa": "WarningAction", "infa": "InformationAction", "ev": "ErrorVariable",
    "wv": "WarningVariable", "iv": "InformationVariable", "ov": "OutVariable", "ob": "OutBuffer",
    "pv": "PipelineVariable", "vb": "Verbose", "db": "Debug", "wi": "WhatIf", "cf": "Confirm",
}  # fmt: skip

_RULE_FIELDS = (
    "Name", "Identifier", "Description", "Direction", "Precedence", "PrecedenceAfter", "PrecedenceBefore",
    "SourceObjectType", "TargetObjectType", "Connector", "LinkType", "SoftDeleteExpiryInterval", "ImmutableTag",
)  # fmt: skip
_RULE_SWITCHES = ("EnablePasswordSync", "Disabled")
_SPECS = {
    s.name.lower(): s
    for s in (
        _Spec("New-ADSyncRule", _RULE_FIELDS, _RULE_SWITCHES),
        _Spec(
            "Add-ADSyncAttributeFlowMapping",
            ("SynchronizationRule", "Source", "Destination", "FlowType", "ValueMergeType", "Expression"),
            ("ExecuteOnce",),
        ),
        _Spec("Add-ADSyncScopeConditionGroup", ("SynchronizationRule", "ScopeConditions")),
        _Spec("Add-ADSyncJoinConditionGroup", ("SynchronizationRule", "JoinConditions")),
        _Spec("Add-ADSyncRule", ("SynchronizationRule",), (), ("SynchronizationRule",)),
        _Spec(
            "New-Object", ("TypeName", "ArgumentList", "Property"), ("Strict",), ("TypeName", "ArgumentList")
        ),
        _Spec("Get-ADSyncConnector", ("Name", "Identifier"), (), ("Name",)),
    )
}
# Rule properties as the model names their origins (the XML element names the converter uses).
_ORIGIN_KEYS = {
    "Name": "name", "Identifier": "id", "Description": "description", "Direction": "direction",
    "Precedence": "precedence", "PrecedenceAfter": "precedence-after", "PrecedenceBefore": "precedence-before",
    "SourceObjectType": "sourceObjectType", "TargetObjectType": "targetObjectType", "Connector": "connector",
    "LinkType": "linkType", "SoftDeleteExpiryInterval": "softDeleteExpiryInterval", "ImmutableTag": "immutable-tag",
    "EnablePasswordSync": "EnablePasswordSync", "Disabled": "disabled",
}  # fmt: skip
# Commands that only read or print: running them changes no rule, so they are passed over quietly.
_QUIET_VERBS = (
    "get-",
    "write-",
    "out-",
    "format-",
    "import-",
    "test-",
    "select-",
    "where-",
    "sort-",
    "measure-",
)
_QUIET_COMMANDS = {
    "start-sleep", "set-strictmode", "start-transcript", "stop-transcript", "clear-host", "cls", "pause",
    "start-adsyncsynccycle", "set-adsyncscheduler", "set-location", "push-location", "pop-location", "read-host",
}  # fmt: skip


@dataclass(slots=True)
class _Bound:
    value: Any
    start: int
    end: int


class _Stop(Exception):
    """``return``, ``exit``, ``throw``, ``break`` or ``continue`` reached where the script alone
    decides it: unwinds to the loop, switch, function or script it ends."""

    def __init__(self, keyword: str) -> None:
        super().__init__(keyword)
        self.keyword = keyword


class _CallSiteSink(DiagnosticSink):
    """Reports into ``target``, labelling what is found inside an inlined function with its call sites."""

    def __init__(self, target: DiagnosticSink, calls: list[tuple[str, Span]]) -> None:
        super().__init__()
        self.target = target
        self.calls = calls

    def emit(self, diag: Diagnostic) -> None:
        if self.calls:
            sites = tuple(Label(span, f"in this call of {name}") for name, span in reversed(self.calls))
            diag = replace(diag, labels=diag.labels + sites)
        self.target.emit(diag)


class Reader:
    """Reads one script's statements into ``export`` (see the module docstring)."""

    def __init__(self, source: SourceFile, export: Export, sink: DiagnosticSink) -> None:
        self.source = source
        self.text = source.text
        self.export = export
        self.calls: list[tuple[str, Span]] = []  # inlined function calls being read: (name, call site)
        self.sink: DiagnosticSink = _CallSiteSink(sink, self.calls)
        self.scopes: list[dict[str, Any]] = [{}]
        self.functions: dict[str, FunctionDef] = {}
        self.called: set[str] = set()
        self.objects: list[RuleObj] = []
        self.runtime = 0  # > 0 inside a region whose running depends on run-time state
        self.effects = 0  # rule-building commands read so far (to tell which regions matter)
        self.pure = 0  # > 0 while evaluating a condition: run no command
        self.mine: dict[str, SyncRule] = {}  # identifiers added by this script
        self.syntax_line = 0  # the line of the last syntax error reported

    # ------------------------------------------------------------------ entry point
    def read(self) -> None:
        lexer = Lexer(self.text)
        try:
            tokens = lexer.run()
        except ScriptSyntaxError as exc:
            self.sink.error(
                UNREADABLE_EXPORT, f"not a readable PowerShell script: {exc}", self.span(exc.start, exc.end)
            )
            return
        for message, start, end in lexer.warnings:
            self.sink.warning(UNSUPPORTED_CONSTRUCT, message, self.span(start, end))
        parser = Parser(tokens, self.text, self._syntax_error)
        try:
            body = parser.script()
        except ScriptSyntaxError as exc:
            self._syntax_error(str(exc), exc.start, exc.end)
            return
        self.called = {c.name.lower() for c in _walk_commands(body)}
        with contextlib.suppress(_Stop):  # an unconditional exit or throw ends the script
            self.run(body)
        for obj in self.objects:
            if not obj.added and not obj.broken:
                self.sink.warning(
                    RULE_NOT_ADDED,
                    f"{obj.label()} is built but never passed to Add-ADSyncRule, so the script does not create it; it is not imported",
                    self.span(obj.start, obj.start + len("New-ADSyncRule")),
                    help="add `Add-ADSyncRule -SynchronizationRule $syncRule[0]` after the rule's last Add-ADSync* call",
                )
        if not self.objects:
            self.sink.error(
                UNRECOGNISED_EXPORT,
                f"{self.source.path} creates no synchronization rule (no New-ADSyncRule was read)",
                help="pass a script written by the Synchronization Rules Editor's Export button, or one built the same way",
            )

    def _syntax_error(self, message: str, start: int, end: int) -> None:
        line = self.line(start)
        if line == self.syntax_line:
            return  # one report per line: what follows a syntax error on its line is noise
        self.syntax_line = line
        self.sink.error(
            UNREADABLE_EXPORT,
            f"PowerShell syntax the reader cannot follow: {message}; the statement is skipped",
            self.span(start, end),
        )

    # ------------------------------------------------------------------ helpers
    def span(self, start: int, end: int) -> Span:
        return self.source.span(start, max(end, start))

    def line(self, offset: int) -> int:
        return self.source.position(offset)[0]

    def origin(self, start: int, end: int) -> Span:
        """Where a rule, flow or condition comes from: inside an inlined function, the outermost
        call site (which call made it matters more than the line of the function body)."""
        return self.calls[0][1] if self.calls else self.span(start, end)

    def first_line(self, node: Any) -> Span:
        """The part of a node on its first line: a code frame for a long construct stays short."""
        nl = self.text.find("\n", node.start, node.end)
        return self.span(node.start, node.end if nl < 0 else nl)

    def node_span(self, node: Any) -> Span:
        return self.span(node.start, node.end)

    def unresolved(self, what: str, value: Unknown, where: Span, consequence: str) -> None:
        self.sink.error(
            UNRESOLVED_VALUE,
            f"{what} cannot be known without running the script: {value.why}; {consequence}",
            where,
            help="write the value in the script, or assign it to a variable before this line",
        )

    def reject(self, value: Any, what: str, message: str, where: Span, consequence: str) -> None:
        """Report an unusable value: as unresolved when only the running script knows it, else as invalid."""
        if isinstance(value, Unknown):
            self.unresolved(what, value, where, consequence)
        else:
            self.sink.error(INVALID_FIELD, message, where)

    # ------------------------------------------------------------------ variables
    def lookup(self, scope: str, name: str) -> Any:
        key = name.lower()
        if scope == "env":
            return Unknown(f"the environment variable $env:{name} is read when the script runs")
        if not scope:
            if key == "true":
                return True
            if key == "false":
                return False
            if key == "null":
                return None
        frames = [self.scopes[0]] if scope in ("script", "global") else reversed(self.scopes)
        for frame in frames:
            if key in frame:
                return frame[key]
        if key in _AUTOMATIC:
            return Unknown(f"${name} is set by PowerShell when the script runs")
        return Unknown(f"${name} is not assigned before this point")

    def assign(self, scope: str, name: str, value: Any) -> None:
        frame = self.scopes[0] if scope in ("script", "global") else self.scopes[-1]
        frame[name.lower()] = value

    # ------------------------------------------------------------------ statements
    def run(self, body: list[Any], out: list[Any] | None = None) -> None:
        for stmt in body:
            self.statement(stmt, out)

    def statement(self, stmt: Any, out: list[Any] | None) -> None:
        if isinstance(stmt, ExprStmt):
            value = self.value(stmt.value)
            if out is not None and value is not _NOTHING:
                out.append(value)
        elif isinstance(stmt, Assign):
            self.assignment(stmt)
        elif isinstance(stmt, IfStmt):
            self.if_stmt(stmt)
        elif isinstance(stmt, SwitchStmt):
            self.switch_stmt(stmt)
        elif isinstance(stmt, LoopStmt):
            self.loop(stmt)
        elif isinstance(stmt, TryStmt):
            self.run(stmt.body, out)
            for _, start, _end in stmt.catches:
                self.sink.emit(
                    Diagnostic(
                        RUNTIME_CONTROL_FLOW,
                        Severity.INFO,
                        "this catch block runs only when the try block fails; it is not read",
                        self.span(start, start + 5),
                    )
                )
            if stmt.final is not None:
                self.run(stmt.final, out)
        elif isinstance(stmt, FunctionDef):
            self.functions[stmt.name.lower()] = stmt
            if stmt.name.lower() not in self.called:
                self.uncalled_function(stmt)
        elif isinstance(stmt, ParamBlock):
            for p in stmt.params:
                default = (
                    self.value(p.default)
                    if p.default is not None
                    else (
                        False
                        if p.switch
                        else Unknown(f"the script parameter ${p.name} is given when the script is run")
                    )
                )
                self.assign("", p.name, default)
        elif isinstance(stmt, Group):
            self.run(stmt.body, out)
        elif isinstance(stmt, FlowStmt):
            # Only followed where the script alone decides it: `return` inside a run-time `if`
            # would be a guess about which branch runs, so there it is read past.
            if self.runtime == 0:
                if stmt.keyword == "return" and stmt.value is not None and out is not None:
                    value = self.value(stmt.value)
                    if value is not _NOTHING:
                        out.append(value)
                raise _Stop(stmt.keyword)
        elif isinstance(stmt, Skipped):
            self.sink.warning(
                UNSUPPORTED_CONSTRUCT,
                f"{stmt.what} is not evaluated by the reader; it is skipped",
                self.first_line(stmt),
                help="if it builds rules, rewrite it as plain statements",
            )

    def assignment(self, stmt: Assign) -> None:
        value = self.value(stmt.value)
        if value is _NOTHING:
            value = None
        if stmt.cast is not None:
            value = self.cast(stmt.cast, value)
        target = stmt.target
        if stmt.op != "=":
            current = self.value(target)
            value = self.binary(stmt.op[0], current, value)
        if isinstance(target, VarRef):
            self.assign(target.scope, target.name, value)
        elif isinstance(target, Member):
            self.set_member(self.value(target.target), target.name, value, stmt)
        elif isinstance(target, Index):
            container = self.value(target.target)
            index = self.value(target.index)
            if (
                isinstance(container, list)
                and isinstance(index, int)
                and -len(container) <= index < len(container)
            ):
                container[index] = value
            elif isinstance(container, _Table) and isinstance(index, str):
                container.items[index.lower()] = (index, value)

    def set_member(self, obj: Any, name: str, value: Any, stmt: Assign) -> None:
        """``$rule.Disabled = $true`` / ``$condition.Attribute = 'x'`` / ``$table.Key = 1``."""
        if isinstance(obj, list) and len(obj) == 1:
            obj = obj[0]
        bound = _Bound(value, stmt.value.start, stmt.value.end)
        if isinstance(obj, RuleObj):
            prop = _canonical(name, _RULE_FIELDS + _RULE_SWITCHES)
            if prop is None:
                self.sink.emit(
                    Diagnostic(
                        NOT_REPRESENTED,
                        Severity.INFO,
                        f"{obj.label()}: the property {name} is not represented; the assignment is ignored",
                        self.node_span(stmt),
                    )
                )
                return
            self.effects += 1
            self.rule_field(obj, prop, bound)
        elif isinstance(obj, Condition):
            props = _SCOPE_PROPS if obj.kind == "scope" else _JOIN_PROPS
            prop = props.get(name.lower())
            if prop is None:
                self.sink.error(
                    INVALID_FIELD,
                    f"a {obj.kind} condition has no property {name}",
                    self.node_span(stmt),
                )
                return
            obj.values[prop] = (value, bound.start, bound.end)
        elif isinstance(obj, _Table):
            obj.items[name.lower()] = (name, value)
        elif isinstance(obj, Unknown) and (self.effects or self.objects):
            self.sink.warning(
                UNSUPPORTED_CONSTRUCT,
                f"the assignment to .{name} changes an object the reader cannot know ({obj.why}); it is ignored",
                self.node_span(stmt),
            )

    # ------------------------------------------------------------------ control flow
    def snapshot(self) -> list[dict[str, Any]]:
        return [dict(frame) for frame in self.scopes]

    def branches(self, bodies: list[list[Any]], may_skip: bool, what: str, where: Span) -> None:
        """Read alternative bodies one after the other (straight-line), then reconcile variables.

        A variable whose value after the construct depends on which body ran (or whether one ran)
        becomes unknown, so a later use is reported instead of silently taking one branch's value.
        """
        before = self.snapshot()
        effects = self.effects
        per_branch: list[list[dict[str, Any]]] = []
        for body in bodies:
            start = self.snapshot()
            self.runtime += 1
            try:
                self.run(body)
            except _Stop:
                pass
            finally:
                self.runtime -= 1
            end = self.snapshot()
            per_branch.append(
                [
                    {k: v for k, v in end[i].items() if start[i].get(k, _MISSING) is not v}
                    for i in range(min(len(start), len(end)))
                ]
            )
        for i, frame in enumerate(self.scopes):
            keys = {k for branch in per_branch if i < len(branch) for k in branch[i]}
            for key in keys:
                prior = before[i].get(key, _MISSING) if i < len(before) else _MISSING
                values = [branch[i].get(key, prior) if i < len(branch) else prior for branch in per_branch]
                if may_skip:
                    values.append(prior)
                known = [v for v in values if v is not _MISSING]
                if all(_same(known[0], v) for v in known[1:]):
                    frame[key] = known[0]
                else:
                    frame[key] = Unknown(
                        f"its value depends on which branch of the {what} at line {where.line} runs"
                    )
        if self.effects != effects:
            self.sink.warning(
                RUNTIME_CONTROL_FLOW,
                f"the {what} depends on the state of the server or the run; what it builds is read as if every branch ran",
                where,
                help="check the imported rules against what the script does on your server",
            )

    def truth(self, node: Any) -> bool | None:
        """The value of a condition when the script alone decides it (``$true``, a variable set above)."""
        self.pure += 1
        try:
            value = self.value(node)
        finally:
            self.pure -= 1
        return _truthy(value)

    def if_stmt(self, stmt: IfStmt) -> None:
        pending: list[list[Any]] = []
        for cond, body, _start, _end in stmt.clauses:
            decided = self.truth(cond) if not pending else None
            if decided is True:
                self.run(body)
                return
            if decided is False:
                continue
            pending.append(body)
        if not pending:
            if stmt.otherwise is not None:
                self.run(stmt.otherwise)
            return
        bodies = pending + ([stmt.otherwise] if stmt.otherwise is not None else [])
        self.branches(bodies, stmt.otherwise is None, "`if`", self.span(stmt.start, stmt.start + 2))

    def switch_stmt(self, stmt: SwitchStmt) -> None:
        self.pure += 1
        try:
            subject = self.value(stmt.subject)
            labels = [self.value(label) if label is not None else None for label, _ in stmt.clauses]
        finally:
            self.pure -= 1
        where = self.span(stmt.start, stmt.start + 6)
        static = isinstance(subject, (str, int)) and not isinstance(subject, bool)
        static = static and all(isinstance(v, (str, int)) or v is None for v in labels)
        if static:
            matched = [
                body
                for (label, body), v in zip(stmt.clauses, labels, strict=True)
                if label is not None and _loose_equal(subject, v)
            ]
            if not matched:
                matched = [body for (label, body) in stmt.clauses if label is None]
            for body in matched:
                try:
                    self.run(body)
                except _Stop as stop:
                    if stop.keyword not in ("break", "continue"):  # both leave a switch on one value
                        raise
                    return
            return
        has_default = any(label is None for label, _ in stmt.clauses)
        self.branches([body for _, body in stmt.clauses], not has_default, "`switch`", where)

    def loop(self, stmt: LoopStmt) -> None:
        where = self.span(stmt.start, stmt.start + len(stmt.kind))
        if stmt.kind == "foreach" and stmt.var is not None and stmt.items is not None:
            self.pure += 1
            try:
                items = self.value(stmt.items)
            finally:
                self.pure -= 1
            if not isinstance(items, Unknown) and not (
                isinstance(items, list) and any(isinstance(i, Unknown) for i in items)
            ):
                seq = items if isinstance(items, list) else ([] if items is None else [items])
                for item in seq[:_MAX_UNROLL]:
                    self.assign(stmt.var.scope, stmt.var.name, item)
                    try:
                        self.run(stmt.body)
                    except _Stop as stop:
                        if stop.keyword == "break":
                            break
                        if stop.keyword != "continue":
                            raise
                return
            self.assign(
                stmt.var.scope,
                stmt.var.name,
                Unknown(f"${stmt.var.name} takes the values of a collection known only when the script runs"),
            )
        self.branches([stmt.body], stmt.kind != "do", f"`{stmt.kind}` loop", where)

    def uncalled_function(self, fn: FunctionDef) -> None:
        """A function the script never calls: its body is read once, as straight-line code."""
        self.scopes.append({})
        effects = self.effects
        try:
            for p in fn.params:
                self.assign(
                    "",
                    p.name,
                    self.value(p.default)
                    if p.default is not None
                    else Unknown(
                        f"${p.name} is a parameter of function {fn.name}, which the script never calls"
                    ),
                )
            self.runtime += 1
            try:
                self.run(fn.body)
            except _Stop:
                pass
            finally:
                self.runtime -= 1
        finally:
            self.scopes.pop()
        if self.effects != effects:
            self.sink.warning(
                RUNTIME_CONTROL_FLOW,
                f"function {fn.name} is never called in this script; its body is read as if it ran once",
                self.span(fn.start, fn.start + len("function")),
            )

    def call_function(self, fn: FunctionDef, cmd: Command, pipe: Any) -> Any:
        """Inline a call: the body runs in a new scope with the arguments bound to its parameters."""
        if len(self.calls) >= _MAX_CALL_DEPTH:
            self.sink.warning(
                UNSUPPORTED_CONSTRUCT,
                f"calls of {fn.name} nest deeper than {_MAX_CALL_DEPTH}; this call is not read",
                self.span(cmd.start, cmd.name_end),
            )
            return Unknown(f"the output of {fn.name} (calls nest too deeply)")
        names = [p.name for p in fn.params]
        switches = tuple(p.name for p in fn.params if p.switch)
        spec = _Spec(fn.name, tuple(n for n in names if n not in switches), switches, tuple(names))
        bound = self.bind(cmd, spec, common=False)
        frame: dict[str, Any] = {}
        self.scopes.append(frame)
        self.calls.append((fn.name, self.span(cmd.start, cmd.name_end)))
        out: list[Any] = []
        try:
            for p in fn.params:
                if p.name in bound:
                    value = bound[p.name].value
                elif p.default is not None:
                    value = self.value(p.default)
                elif p.mandatory:
                    value = Unknown(
                        f"function {fn.name} is called at line {self.line(cmd.start)} without its mandatory -{p.name}, "
                        "which PowerShell then asks for"
                    )
                else:
                    value = _TYPE_DEFAULTS.get(p.type)  # what PowerShell gives a parameter not passed
                frame[p.name.lower()] = value
            try:
                self.run(fn.body, out)
            except _Stop as stop:
                if stop.keyword in ("exit", "throw"):
                    raise
        finally:
            self.calls.pop()
            self.scopes.pop()
        return _collect(out)

    # ------------------------------------------------------------------ expressions
    def value(self, node: Any) -> Any:
        if isinstance(node, Lit):
            return node.value
        if isinstance(node, XStr):
            return self.expand(node.parts)
        if isinstance(node, VarRef):
            return self.lookup(node.scope, node.name)
        if isinstance(node, Member):
            return self.member(self.value(node.target), node.name)
        if isinstance(node, Index):
            return self.index(self.value(node.target), self.value(node.index))
        if isinstance(node, MethodCall):
            return self.method(self.value(node.target), node.name, [self.value(a) for a in node.args])
        if isinstance(node, ArrayLit):
            return [self.value(item) for item in node.items]
        if isinstance(node, ArrayExpr):
            out: list[Any] = []
            self.run(node.body, out)
            return _flatten(out)
        if isinstance(node, SubExpr):
            out = []
            self.run(node.body, out)
            return _collect(out)
        if isinstance(node, HashLit):
            table = _Table()
            for key, value_node, _, _ in node.pairs:
                value = self.value(value_node)
                table.items[key.lower()] = (key, None if value is _NOTHING else value)
            return table
        if isinstance(node, StaticMember):
            return self.static(node)
        if isinstance(node, Cast):
            return self.cast(node.type, self.value(node.value))
        if isinstance(node, TypeLit):
            return Unknown(f"[{node.name}] is a type, not a value")
        if isinstance(node, BinOp):
            # `a + b + c ...` nests to the left: walk the chain in a loop, not by recursion.
            chain = []
            while isinstance(node, BinOp):
                chain.append(node)
                node = node.left
            result = self.value(node)
            for op in reversed(chain):
                result = self.binary(op.op, result, self.value(op.right))
            return result
        if isinstance(node, UnaryOp):
            operand = self.value(node.operand)
            if node.op == "-not":
                truth = _truthy(operand)
                return Unknown(_why(operand, "-not of an unknown value")) if truth is None else not truth
            if isinstance(operand, int) and not isinstance(operand, bool):
                return -operand
            return Unknown(_why(operand, "a negated value the reader does not evaluate"))
        if isinstance(node, Command):
            return self.command(node)
        if isinstance(node, Pipeline):
            return self.pipeline(node)
        if isinstance(node, ScriptBlock):
            return Unknown("a script block runs only when the script runs")
        if isinstance(node, Opaque):
            return Unknown(f"{node.what} is not evaluated by the reader")
        if isinstance(node, Skipped):
            self.statement(node, None)
            return Unknown(f"{node.what} is not evaluated by the reader")
        raise TypeError(type(node).__name__)  # pragma: no cover - every node kind is handled above

    def expand(self, parts: list[Any]) -> Any:
        """A double-quoted string: ``$var`` and ``$(...)`` replaced by their text when known."""
        out: list[str] = []
        for part in parts:
            if isinstance(part, str):
                out.append(part)
                continue
            if isinstance(part, VarPart):
                value = self.lookup(part.scope, part.name)
                shown = f"${part.name}"
            else:
                value = self.sub_expression(part)
                shown = self.text[part.start : part.end]
            text = _text(value)
            if text is None:
                return Unknown(f"the string uses {shown}, and {_why(value, 'it is not text')}")
            out.append(text)
        return "".join(out)

    def sub_expression(self, part: SubPart) -> Any:
        try:
            tokens = Lexer(self.text, part.inner_start, part.inner_end).run()
            body = Parser(tokens, self.text, self._syntax_error).statements(until=EOF)
        except ScriptSyntaxError as exc:
            self._syntax_error(str(exc), exc.start, exc.end)
            return Unknown("the sub-expression cannot be read")
        out: list[Any] = []
        self.run(body, out)
        return _collect(out)

    def member(self, obj: Any, name: str) -> Any:
        key = name.lower()
        if isinstance(obj, Unknown):
            return obj
        if isinstance(obj, RuleObj):
            prop = _canonical(name, _RULE_FIELDS + _RULE_SWITCHES)
            return (
                self.rule_property(obj, prop)
                if prop
                else Unknown(f"the property {name} of a rule is set by the server")
            )
        if isinstance(obj, Condition):
            props = _SCOPE_PROPS if obj.kind == "scope" else _JOIN_PROPS
            prop = props.get(key)
            return obj.values[prop][0] if prop and prop in obj.values else None
        if isinstance(obj, _Table):
            if key == "count":
                return len(obj.items)
            return obj.get(name)
        if isinstance(obj, ConnectorLookup):
            if key == "identifier" and not obj.id:
                return ConnectorLookup(obj.name, id=True)
            if obj.id and key in ("guid",):
                return obj
            if key == "name" and not obj.id:
                return obj.name
            return Unknown(f"the connector {obj.name!r} is looked up on the server when the script runs")
        if isinstance(obj, str):
            if key == "length":
                return len(obj)
            if key == "guid" and _GUID.fullmatch(obj):
                return obj
        if isinstance(obj, list):
            if key in ("count", "length"):
                return len(obj)
            return [self.member(item, name) for item in obj]  # member enumeration
        return Unknown(f"the property {name} is not known to the reader")

    def rule_property(self, obj: RuleObj, prop: str) -> Any:
        r = obj.rule
        values: dict[str, Any] = {
            "Name": r.name, "Identifier": r.identifier if not r.generated_identifier else Unknown(f"{obj.label()} gets its identifier when the script runs"),
            "Description": r.description, "Direction": r.direction, "Precedence": r.precedence,
            "PrecedenceAfter": r.precedence_after or _ZERO_GUID, "PrecedenceBefore": r.precedence_before or _ZERO_GUID,
            "SourceObjectType": r.source_object_type, "TargetObjectType": r.target_object_type, "Connector": r.connector,
            "LinkType": r.link_type, "SoftDeleteExpiryInterval": r.soft_delete_expiry or 0, "ImmutableTag": r.immutable_tag,
            "EnablePasswordSync": r.password_sync, "Disabled": r.disabled,
        }  # fmt: skip
        return values[prop]

    def index(self, obj: Any, index: Any) -> Any:
        if isinstance(obj, Unknown):
            return obj
        if isinstance(index, Unknown):
            return index
        if isinstance(obj, list):
            if isinstance(index, int) and not isinstance(index, bool):
                return obj[index] if -len(obj) <= index < len(obj) else None
            return Unknown("an index that is not a whole number")
        if isinstance(obj, _Table) and isinstance(index, str):
            return obj.get(index)
        if isinstance(obj, str) and isinstance(index, int) and not isinstance(index, bool):
            return obj[index] if -len(obj) <= index < len(obj) else None
        if index in (0, -1) and not isinstance(index, bool):
            return obj  # PowerShell indexes a single object as a one-item array
        return None

    def method(self, obj: Any, name: str, args: list[Any]) -> Any:
        if isinstance(obj, Unknown):
            return obj
        key = name.lower()
        if key == "tostring" and not args:
            text = _text(obj)
            if text is not None:
                return text
            if isinstance(obj, ConnectorLookup) and obj.id:
                return obj
        if isinstance(obj, str) and not args:
            if key == "trim":
                return obj.strip()
            if key == "tolower":
                return obj.lower()
            if key == "toupper":
                return obj.upper()
        return Unknown(f"the method {name}() is not evaluated by the reader")

    def static(self, node: StaticMember) -> Any:
        type_name = node.type.lower().removeprefix("system.")
        member = node.name.lower()
        if type_name == "guid" and member == "empty" and not node.call:
            return _ZERO_GUID
        if type_name == "guid" and member == "newguid":
            return Unknown("[guid]::NewGuid() makes a new GUID each time the script runs")
        if type_name == "timespan" and member == "zero" and not node.call:
            return 0
        if not node.call and (type_name.startswith(_OBJECT_MODEL) or "." not in type_name):
            return node.name  # an enumeration value: [ComparisonOperator]::EQUAL
        return Unknown(f"[{node.type}]::{node.name} is evaluated only when the script runs")

    def cast(self, type_name: str, value: Any) -> Any:
        if isinstance(value, Unknown):
            return value
        t = type_name.lower().removeprefix("system.").strip()
        if t.endswith("[]"):
            seq = value if isinstance(value, list) else [value]
            return [self.cast(t[:-2], v) for v in seq]
        if t in ("string", "guid", "timespan"):
            text = _text(value)
            return (
                text
                if text is not None and not isinstance(value, list)
                else Unknown(f"a [{type_name}] conversion of a non-text value")
            )
        if t in ("int", "int32", "int64", "long"):
            if isinstance(value, bool):
                return int(value)
            if isinstance(value, int):
                return value
            if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
                return int(value)
            return Unknown(f"a [{type_name}] conversion the reader does not evaluate")
        if t in ("bool", "boolean", "switch"):
            truth = _truthy(value)
            return (
                truth
                if truth is not None
                else Unknown(f"a [{type_name}] conversion the reader does not evaluate")
            )
        if t in ("array", "object[]"):
            return value if isinstance(value, list) else [value]
        if t in ("object", "psobject", "hashtable") or t.startswith(_OBJECT_MODEL):
            return value  # no conversion: the value stays what it is
        return Unknown(f"a [{type_name}] conversion the reader does not evaluate")

    def binary(self, op: str, left: Any, right: Any) -> Any:
        for v in (left, right):
            if isinstance(v, Unknown):
                return v
        if op == "+":
            if isinstance(left, str):
                text = _text(right)
                return left + text if text is not None else Unknown("text joined with a non-text value")
            if isinstance(left, list):
                return left + (right if isinstance(right, list) else [right])
            if _is_int(left) and _is_int(right):
                return left + right
            return Unknown("an addition the reader does not evaluate")
        if op in ("-", "*", "/", "%"):
            if _is_int(left) and _is_int(right):
                if op == "-":
                    return left - right
                if op == "*":
                    return left * right
                if op == "%" and right:
                    return left % right
                if op == "/" and right and left % right == 0:
                    return left // right
            return Unknown(f"the arithmetic `{op}` is not evaluated by the reader")
        if op in ("-and", "-or", "-xor"):
            a, b = _truthy(left), _truthy(right)
            if a is None or b is None:
                return Unknown(f"`{op}` of values the reader cannot know")
            return (a and b) if op == "-and" else (a or b) if op == "-or" else (a != b)
        if op in ("-eq", "-ne"):
            if isinstance(left, list):
                return Unknown(f"`{op}` applied to a list filters it, which the reader does not evaluate")
            equal = _loose_equal(left, right)
            if equal is None:
                return Unknown(f"`{op}` between values the reader does not compare")
            return equal if op == "-eq" else not equal
        if op == "-join":
            seq = left if isinstance(left, list) else [left]
            texts = [_text(v) for v in seq]
            sep = _text(right)
            if sep is None or any(t is None for t in texts):
                return Unknown("`-join` of values that are not text")
            return sep.join(t for t in texts if t is not None)
        if op == "-f" and isinstance(left, str):
            args = right if isinstance(right, list) else [right]
            texts = [_text(v) for v in args]
            if any(t is None for t in texts):
                return Unknown("`-f` with values that are not text")

            def fill(m: re.Match[str]) -> str:
                k = int(m.group(1))
                return texts[k] or "" if k < len(texts) else m.group(0)

            if re.search(r"\{\d+[,:][^}]*\}", left):
                return Unknown("`-f` with alignment or format strings is not evaluated")
            return (
                re.sub(r"\{(\d+)\}", fill, left.replace("{{", "\x00").replace("}}", "\x01"))
                .replace("\x00", "{")
                .replace("\x01", "}")
            )
        return Unknown(f"the operator `{op}` is not evaluated by the reader")

    # ------------------------------------------------------------------ commands
    def pipeline(self, node: Pipeline) -> Any:
        first, rest = node.stages[0], node.stages[1:]
        value = self.value(first)
        for stage in rest:
            name = stage.name.lower()
            if name == "out-null":
                value = _NOTHING
                continue
            if name in _SPECS and "SynchronizationRule" in _SPECS[name].values:
                value = self.command(stage, pipe=value)
                continue
            if name in self.functions:
                value = self.call_function(self.functions[name], stage, value)
                continue
            self.quiet_or_warn(stage)
            value = Unknown(f"the output of `{stage.name}` in a pipeline is known only when the script runs")
        return value

    def quiet_or_warn(self, cmd: Command) -> None:
        name = cmd.name.lower()
        if name.startswith(_QUIET_VERBS) or name in _QUIET_COMMANDS:
            return
        self.sink.warning(
            UNSUPPORTED_CONSTRUCT,
            f"`{cmd.name}` is not evaluated by the reader; if it changes synchronization rules, the import does not show it",
            self.span(cmd.start, cmd.name_end),
        )

    def command(self, cmd: Command, pipe: Any = _NOTHING) -> Any:
        name = cmd.name.lower()
        if self.pure:
            return Unknown(f"the output of `{cmd.name}` is known only when the script runs")
        if name in self.functions:
            return self.call_function(self.functions[name], cmd, pipe)
        spec = _SPECS.get(name)
        if spec is None:
            self.quiet_or_warn(cmd)
            return Unknown(f"the output of `{cmd.name}` is known only when the script runs")
        bound = self.bind(cmd, spec)
        if (
            pipe is not _NOTHING
            and "SynchronizationRule" in spec.values
            and "SynchronizationRule" not in bound
        ):
            bound["SynchronizationRule"] = _Bound(pipe, cmd.start, cmd.name_end)
        handler = {
            "new-adsyncrule": self.new_rule,
            "add-adsyncattributeflowmapping": self.add_flow,
            "add-adsyncscopeconditiongroup": self.add_scope_group,
            "add-adsyncjoinconditiongroup": self.add_join_group,
            "add-adsyncrule": self.add_rule,
            "new-object": self.new_object,
            "get-adsyncconnector": self.get_connector,
        }[name]
        result = handler(cmd, bound)
        if "OutVariable" in bound:
            target = bound["OutVariable"]
            var = _text(target.value)
            if var is None:
                self.unresolved(
                    "-OutVariable",
                    _as_unknown(target.value),
                    self.span(target.start, target.end),
                    "its output is not kept",
                )
            else:
                append = var.startswith("+")
                var = var.lstrip("+")
                scope, var = _split_scope(var)
                kept = [] if result is None or result is _NOTHING else [result]
                current = self.lookup(scope, var) if append else None
                self.assign(scope, var, (current if isinstance(current, list) else []) + kept)
        return result

    def bind(self, cmd: Command, spec: _Spec, common: bool = True) -> dict[str, _Bound]:
        """Bind a command's parameters as PowerShell would (names case-insensitive, unique prefixes)."""
        names = spec.values + spec.switches + ((_COMMON_VALUES + _COMMON_SWITCHES) if common else ())
        switches = set(spec.switches) | (set(_COMMON_SWITCHES) if common else set())
        bound: dict[str, _Bound] = {}
        positional: list[_Bound] = []
        elements = list(cmd.elements)
        i = 0
        while i < len(elements):
            el = elements[i]
            i += 1
            if isinstance(el, Splat):
                table = self.lookup("", el.name)
                if isinstance(table, _Table):
                    for key, value in table.items.values():
                        pname = _resolve_param(key, names, _COMMON_ALIASES if common else {})
                        if pname is None:
                            self._unknown_param(cmd, key, el)
                        else:
                            bound.setdefault(pname, _Bound(value, el.start, el.end))
                elif isinstance(table, list):
                    positional.extend(_Bound(v, el.start, el.end) for v in table)
                else:
                    self.unresolved(
                        f"the splatted @{el.name}",
                        _as_unknown(table),
                        self.node_span(el),
                        "its parameters are not read",
                    )
                continue
            if not isinstance(el, ParamArg):
                positional.append(_Bound(self.value(el), el.start, el.end))
                continue
            pname = _resolve_param(el.name, names, _COMMON_ALIASES if common else {})
            if pname is None:
                self._unknown_param(cmd, el.name, el)
                if not el.colon and i < len(elements) and not isinstance(elements[i], (ParamArg, Splat)):
                    i += 1  # its value goes with it
                continue
            if pname in switches:
                value = self.value(el.value) if el.colon else True
                start, end = el.start, el.end
            elif el.colon:
                value, start, end = self.value(el.value), el.value.start, el.value.end
            elif i < len(elements) and not isinstance(elements[i], (ParamArg, Splat)):
                arg = elements[i]
                i += 1
                value, start, end = self.value(arg), arg.start, arg.end
            else:
                self.sink.error(INVALID_FIELD, f"-{el.name} of {cmd.name} needs a value", self.node_span(el))
                continue
            if pname in bound:
                self.sink.error(
                    INVALID_FIELD,
                    f"-{el.name} is given twice to {cmd.name}; the first is used",
                    self.node_span(el),
                )
                continue
            bound[pname] = _Bound(None if value is _NOTHING else value, start, end)
        slots = [p for p in spec.positional if p not in bound]
        for arg in positional:
            if slots:
                bound[slots.pop(0)] = arg
            else:
                self.sink.warning(
                    UNSUPPORTED_CONSTRUCT,
                    f"{cmd.name} takes no further positional argument; this one is ignored",
                    self.span(arg.start, arg.end),
                )
        return bound

    def _unknown_param(self, cmd: Command, name: str, el: Any) -> None:
        self.sink.warning(
            UNSUPPORTED_CONSTRUCT,
            f"-{name} is not a parameter of {cmd.name} that the reader knows; it is ignored",
            self.node_span(el),
        )

    # ------------------------------------------------------------------ the ADSync cmdlets
    def new_rule(self, cmd: Command, b: dict[str, _Bound]) -> RuleObj:
        self.effects += 1
        origin = self.span(cmd.start, cmd.name_end)
        rule = SyncRule(
            identifier="", name="", direction="", connector="", source_object_type="", target_object_type="",
            link_type="Join", precedence=None, origin=self.origin(cmd.start, cmd.name_end),
        )  # fmt: skip
        obj = RuleObj(rule, cmd.start, self.line(cmd.start))
        self.objects.append(obj)
        for prop in ("Name", *[p for p in _RULE_FIELDS + _RULE_SWITCHES if p != "Name"]):
            if prop in b:
                self.rule_field(obj, prop, b[prop])
        for prop in ("Name", "Direction", "Connector", "SourceObjectType", "TargetObjectType"):
            if prop not in b:
                self.sink.error(
                    INVALID_FIELD,
                    f"{obj.label()}: New-ADSyncRule has no -{prop}; the rule is left out",
                    origin,
                )
                obj.broken = True
        if "Identifier" not in b:
            self.standin_identifier(obj, "New-ADSyncRule has no -Identifier, so each run creates a new one")
        if "LinkType" not in b:
            self.note(
                f"{obj.label()}: New-ADSyncRule has no -LinkType; Join is written, taken to be the cmdlet's default "
                "(the first value of its LinkType enumeration; Microsoft does not document it)",
                origin,
            )
        if "Precedence" not in b and "PrecedenceBefore" not in b and "PrecedenceAfter" not in b:
            self.sink.error(
                INVALID_FIELD,
                f"{obj.label()}: New-ADSyncRule has no -Precedence; the rule is written without one",
                origin,
                help="give the rule a precedence (custom rules use 0-99)",
            )
        return obj

    def standin_identifier(self, obj: RuleObj, why: str) -> None:
        obj.rule.identifier = str(uuid.uuid5(_STANDIN_NAMESPACE, f"{self.source.path}#{len(self.objects)}"))
        obj.rule.generated_identifier = True
        self.sink.warning(
            NO_IDENTIFIER,
            f"{obj.label()}: {why}; the rule is written without an id",
            obj.rule.where("id"),
            help="give it a fixed -Identifier (a GUID) so it is recognised across runs and imports",
        )

    def rule_field(self, obj: RuleObj, prop: str, bound: _Bound) -> None:
        """Set one property of a rule from a parameter or a property assignment, checking its value."""
        r = obj.rule
        where = self.span(bound.start, bound.end)
        r.field_origins[_ORIGIN_KEYS[prop]] = self.origin(bound.start, bound.end)
        value = bound.value
        if isinstance(value, list) and len(value) == 1 and prop not in ("Name", "Description"):
            value = value[0]
        if prop in _RULE_SWITCHES:
            truth = _truthy(value)
            if truth is None or isinstance(value, (str, list)):
                self.unresolved(f"{obj.label()}: -{prop}", _as_unknown(value), where, "it is left unset")
                return
            setattr(r, "disabled" if prop == "Disabled" else "password_sync", truth)
            return
        if prop == "Connector" and isinstance(value, ConnectorLookup):
            value = self.connector_by_name(value, obj, where)
            if value is None:
                return
        if prop == "SoftDeleteExpiryInterval" and (_is_int(value) or isinstance(value, str)):
            interval = _timespan(value)  # a number is ticks, text is TimeSpan.Parse'd
            if interval is _MISSING:
                self.sink.error(
                    INVALID_FIELD,
                    f"{obj.label()}: soft-delete expiry {value!r} is not a time span; it is left out",
                    where,
                )
            else:
                r.soft_delete_expiry = interval
            return
        text = value if isinstance(value, str) else str(value) if _is_int(value) else None
        structural = prop in (
            "Name",
            "Direction",
            "Connector",
            "SourceObjectType",
            "TargetObjectType",
            "LinkType",
        )
        if text is None:
            if prop == "Identifier" and isinstance(value, Unknown):
                self.standin_identifier(
                    obj, f"its -Identifier is known only when the script runs ({value.why})"
                )
                return
            consequence = "the rule is left out" if structural else "it is left out"
            if prop == "Precedence":
                consequence = "the rule is written without a precedence"
            self.reject(
                value,
                f"{obj.label()}: -{prop}",
                f"{obj.label()}: -{prop} must be text, not {_kind(value)}; {consequence}",
                where,
                consequence,
            )
            if structural:
                obj.broken = True
            if prop == "Precedence":
                r.precedence = None
            return
        self.set_text_field(obj, prop, text, where)

    def set_text_field(self, obj: RuleObj, prop: str, text: str, where: Span) -> None:
        r = obj.rule
        if prop == "Name":
            r.name = text
        elif prop == "Identifier":
            guid = self.required_guid(obj, "the identifier", text, where)
            if guid is None:
                return
            r.identifier = guid
            r.generated_identifier = False
        elif prop == "Description":
            r.description = text
        elif prop == "Direction":
            if text.lower() not in ("inbound", "outbound"):
                self.sink.error(
                    INVALID_FIELD,
                    f"{obj.label()}: direction {text!r} is neither Inbound nor Outbound; the rule is left out",
                    where,
                )
                obj.broken = True
                return
            r.direction = text.capitalize()
        elif prop == "Precedence":
            if not re.fullmatch(r"\s*\d+\s*", text):
                self.sink.error(
                    INVALID_FIELD,
                    f"{obj.label()}: precedence {text!r} is not a whole number >= 0; it is written without one",
                    where,
                )
                r.precedence = None
                return
            r.precedence = int(text)
        elif prop in ("PrecedenceAfter", "PrecedenceBefore"):
            if not _GUID.fullmatch(text.strip()):
                self.sink.error(
                    INVALID_FIELD, f"{obj.label()}: -{prop} {text!r} is not a GUID; it is left out", where
                )
                return
            ref = None if is_zero_guid(text) else text.strip()
            setattr(r, "precedence_after" if prop == "PrecedenceAfter" else "precedence_before", ref)
        elif prop == "SourceObjectType":
            r.source_object_type = text
        elif prop == "TargetObjectType":
            r.target_object_type = text
        elif prop == "Connector":
            guid = self.required_guid(
                obj,
                "the connector",
                text,
                where,
                help="connectors are named by their identifier (Get-ADSyncConnector shows it)",
            )
            if guid is None:
                return
            r.connector = guid
        elif prop == "LinkType":
            r.link_type = text
        elif prop == "ImmutableTag":
            r.immutable_tag = text

    def required_guid(
        self, obj: RuleObj, what: str, text: str, where: Span, help: str | None = None
    ) -> str | None:
        """The GUID a rule cannot do without, trimmed; None after leaving the rule out, as a bad one would."""
        if not _GUID.fullmatch(text.strip()):
            self.sink.error(
                INVALID_FIELD,
                f"{obj.label()}: {what} {text!r} is not a GUID; the rule is left out",
                where,
                help=help,
            )
            obj.broken = True
            return None
        return text.strip()

    def connector_by_name(self, ref: ConnectorLookup, obj: RuleObj, where: Span) -> str | None:
        """``(Get-ADSyncConnector -Name X).Identifier``: the GUID of X in the ``--schema`` export, if any."""
        if ref.id:
            found = [c for c in self.export.connectors.values() if c.name == ref.name]
            if len(found) == 1:
                return found[0].guid
        self.unresolved(
            f"{obj.label()}: -Connector",
            Unknown(f"the connector {ref.name!r} is looked up on the server"),
            where,
            "the rule is left out",
        )
        obj.broken = True
        return None

    def note(self, message: str, where: Span | None) -> None:
        self.sink.emit(Diagnostic(NOT_REPRESENTED, Severity.INFO, message, where))

    def target_rule(self, cmd: Command, b: dict[str, _Bound], what: str) -> RuleObj | None:
        bound = b.get("SynchronizationRule")
        if bound is None:
            self.sink.error(
                INVALID_FIELD,
                f"{cmd.name} has no -SynchronizationRule; {what} is left out",
                self.span(cmd.start, cmd.name_end),
            )
            return None
        value = bound.value
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if isinstance(value, RuleObj):
            return value
        where = self.span(bound.start, bound.end)
        self.reject(
            value,
            f"the rule {cmd.name} works on",
            f"-SynchronizationRule of {cmd.name} is {_kind(value)}, not a rule; {what} is left out",
            where,
            f"{what} is left out",
        )
        return None

    def add_flow(self, cmd: Command, b: dict[str, _Bound]) -> Any:
        self.effects += 1
        obj = self.target_rule(cmd, b, "the flow")
        if obj is None:
            return Unknown("the rule of a flow that could not be added")
        origin = self.span(cmd.start, cmd.name_end)
        record = self.origin(cmd.start, cmd.name_end)
        dest = self._text_arg(b, "Destination", obj, "the flow")
        if dest is _MISSING:
            return obj
        label = f"{obj.label()}, flow to {dest!r}"
        flow_type = self._text_arg(b, "FlowType", obj, "the flow", label=label)
        if flow_type is _MISSING:
            return obj
        canonical = _FLOW_TYPES.get(str(flow_type).lower())
        if canonical is None:
            self.sink.error(
                INVALID_FIELD,
                f"{label}: flow type {flow_type!r} is not one of Direct, Constant, Expression; the flow is left out",
                self.span(b["FlowType"].start, b["FlowType"].end),
            )
            return obj
        merge = "Update"
        if "ValueMergeType" in b:
            got = self._text_arg(b, "ValueMergeType", obj, "the flow", label=label)
            if got is _MISSING:
                return obj
            merge = str(got)
        once = False
        if "ExecuteOnce" in b:
            truth = _truthy(b["ExecuteOnce"].value)
            if truth is None:
                self.unresolved(
                    f"{label}: -ExecuteOnce",
                    _as_unknown(b["ExecuteOnce"].value),
                    self.span(b["ExecuteOnce"].start, b["ExecuteOnce"].end),
                    "the flow is left out",
                )
                return obj
            once = truth
        sources: list[str] = []
        if "Source" in b and b["Source"].value is not None:
            raw = b["Source"].value
            items = raw if isinstance(raw, list) else [raw]
            for item in items:
                text = _text(item) if not isinstance(item, (list, bool)) else None
                if text is None:
                    where = self.span(b["Source"].start, b["Source"].end)
                    self.reject(  # an unknown -Source is the lone item
                        item,
                        f"{label}: -Source",
                        f"{label}: -Source holds {_kind(item)}, not text; the flow is left out",
                        where,
                        "the flow is left out",
                    )
                    return obj
                sources.append(text)
        expression: str | None = None
        expression_origin: Span | None = None
        if "Expression" in b:
            if canonical != "Expression":
                self.note(
                    f"{label}: -Expression is ignored by a {canonical} flow, so it is not kept",
                    self.span(b["Expression"].start, b["Expression"].end),
                )
            else:
                got = self._text_arg(b, "Expression", obj, "the flow", label=label)
                if got is _MISSING:
                    return obj
                expression = str(got)
                expression_origin = self.origin(b["Expression"].start, b["Expression"].end)
        if canonical == "Expression":
            if expression is None or not expression.strip():
                self.sink.error(
                    INVALID_FIELD,
                    f"{label}: an Expression flow without -Expression; the flow is left out",
                    origin,
                )
                return obj
            flow = FlowMapping(dest, "Expression", tuple(sources), expression=expression, merge_type=merge,
                               execute_once=once, origin=record, expression_origin=expression_origin)  # fmt: skip
        elif canonical == "Direct":
            if not sources:
                self.sink.error(
                    INVALID_FIELD,
                    f"{label}: a Direct flow without a -Source attribute; the flow is left out",
                    origin,
                )
                return obj
            flow = FlowMapping(
                dest, "Direct", tuple(sources), merge_type=merge, execute_once=once, origin=record
            )
        else:
            if len(sources) != 1:
                self.sink.error(
                    INVALID_FIELD,
                    f"{label}: a Constant flow takes its value from -Source, which holds {len(sources)} values; the flow is left out",
                    origin,
                    help="write the constant as -Source @('value')",
                )
                return obj
            flow = FlowMapping(
                dest, "Constant", (), constant=sources[0], merge_type=merge, execute_once=once, origin=record
            )
        obj.rule.flows.append(flow)
        return obj

    def _text_arg(
        self, b: dict[str, _Bound], prop: str, obj: RuleObj, what: str, label: str | None = None
    ) -> Any:
        """The text of a required parameter, or _MISSING after reporting why it is not usable."""
        label = label or obj.label()
        bound = b.get(prop)
        if bound is None:
            self.sink.error(INVALID_FIELD, f"{label}: no -{prop}; {what} is left out", obj.rule.origin)
            return _MISSING
        value = bound.value
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        text = _text(value) if not isinstance(value, (list, bool)) else None
        if text is None:
            where = self.span(bound.start, bound.end)
            self.reject(
                value,
                f"{label}: -{prop}",
                f"{label}: -{prop} is {_kind(value)}, not text; {what} is left out",
                where,
                f"{what} is left out",
            )
            return _MISSING
        return text

    def conditions(
        self, cmd: Command, b: dict[str, _Bound], kind: str
    ) -> tuple[RuleObj | None, list[Any] | None]:
        param = "ScopeConditions" if kind == "scope" else "JoinConditions"
        obj = self.target_rule(cmd, b, f"the {kind} group")
        if obj is None:
            return None, None
        bound = b.get(param)
        where = self.span(bound.start, bound.end) if bound else self.span(cmd.start, cmd.name_end)
        consequence = (
            "the rule is left out, because leaving out a scoping condition would widen its scope"
            if kind == "scope"
            else "the rule is left out, because leaving out a join condition would change what it joins"
        )
        if bound is None:
            self.sink.error(INVALID_FIELD, f"{obj.label()}: {cmd.name} has no -{param}; {consequence}", where)
            obj.broken = True
            return obj, None
        items = bound.value if isinstance(bound.value, list) else [bound.value]
        out = []
        for item in items:
            if isinstance(item, list) and len(item) == 1:
                item = item[0]
            if isinstance(item, Unknown):
                self.unresolved(f"{obj.label()}: a {kind} condition", item, where, consequence)
                obj.broken = True
                return obj, None
            if not isinstance(item, Condition) or item.kind != kind:
                self.sink.error(
                    INVALID_FIELD,
                    f"{obj.label()}: -{param} holds {_kind(item)}, not a {kind} condition; {consequence}",
                    where,
                )
                obj.broken = True
                return obj, None
            out.append(item)
        return obj, out

    def condition_text(self, obj: RuleObj, cond: Condition, prop: str, kind: str) -> str | None:
        value, start, end = cond.values.get(prop, (None, cond.start, cond.end))
        where = self.span(start, end)
        consequence = "the rule is left out" + (
            ", because leaving out a scoping condition would widen its scope" if kind == "scope" else ""
        )
        if prop == "CaseSensitive":
            if isinstance(value, bool):
                return "true" if value else "false"
            if _is_int(value) and value in (0, 1):
                return "true" if value else "false"
            self.reject(
                value,
                f"{obj.label()}: the case sensitivity of a join condition",
                f"{obj.label()}: the case sensitivity of a join condition must be $true or $false, not {_kind(value)}; {consequence}",
                where,
                consequence,
            )
            return None
        if value is None and prop == "ComparisonValue":
            return ""
        text = _text(value) if not isinstance(value, (list, bool)) else None
        if text is None:
            self.reject(
                value,
                f"{obj.label()}: {prop} of a {kind} condition",
                f"{obj.label()}: {prop} of a {kind} condition is {_kind(value)}, not text; {consequence}",
                where,
                consequence,
            )
            return None
        return text

    def condition_rows(
        self, cmd: Command, b: dict[str, _Bound], kind: str
    ) -> tuple[Any, list[tuple[list[str], Span]] | None]:
        """A group's checked condition texts with their origins (None when not added), read alike for both kinds."""
        self.effects += 1
        obj, conds = self.conditions(cmd, b, kind)
        if obj is None:
            return Unknown(f"the rule of a {kind} group that could not be added"), None
        if conds is None:
            return obj, None
        props = _SCOPE_PROPS if kind == "scope" else _JOIN_PROPS
        rows = []
        for c in conds:
            values = [self.condition_text(obj, c, p, kind) for p in props.values()]
            if any(v is None for v in values):
                obj.broken = True
                return obj, None
            rows.append(([v or "" for v in values], self.origin(c.start, c.end)))
        return obj, rows

    def add_scope_group(self, cmd: Command, b: dict[str, _Bound]) -> Any:
        obj, rows = self.condition_rows(cmd, b, "scope")
        if rows is not None:
            obj.rule.scope.append(
                [
                    ScopeCondition(attribute, operator, value, origin)
                    for (attribute, value, operator), origin in rows
                ]
            )
        return obj

    def add_join_group(self, cmd: Command, b: dict[str, _Bound]) -> Any:
        obj, rows = self.condition_rows(cmd, b, "join")
        if rows is not None:
            obj.rule.join.append(
                [JoinCondition(cs, mv, sensitive == "true", origin) for (cs, mv, sensitive), origin in rows]
            )
        return obj

    def new_object(self, cmd: Command, b: dict[str, _Bound]) -> Any:
        type_bound = b.get("TypeName")
        type_name = _text(type_bound.value) if type_bound is not None else None
        if type_name is None:
            return Unknown("an object of a type the reader cannot tell")
        short = type_name.strip().lower().removeprefix(_OBJECT_MODEL)
        if short not in ("scopecondition", "joincondition"):
            return Unknown(f"a new {type_name} object")
        self.effects += 1
        kind = "scope" if short == "scopecondition" else "join"
        names = _SCOPE_PROPS if kind == "scope" else _JOIN_PROPS
        props = tuple(names.values())
        cond = Condition(kind, {}, cmd.start, cmd.end)
        args = b.get("ArgumentList")
        if args is not None:
            values = args.value if isinstance(args.value, list) else [args.value]
            if isinstance(args.value, Unknown):
                values = [args.value] * 3
            if len(values) != 3:
                self.sink.error(
                    INVALID_FIELD,
                    f"a {type_name.split('.')[-1]} takes 3 arguments ({', '.join(props)}), not {len(values)}",
                    self.span(args.start, args.end),
                )
                return Unknown(f"a {kind} condition built with the wrong number of arguments")
            for prop, value in zip(props, values, strict=True):
                cond.values[prop] = (value, args.start, args.end)
        prop_bound = b.get("Property")
        if prop_bound is not None and isinstance(prop_bound.value, _Table):
            for key, value in prop_bound.value.items.values():
                prop = names.get(key.lower())
                if prop is None:
                    self.sink.error(
                        INVALID_FIELD,
                        f"a {kind} condition has no property {key}",
                        self.span(prop_bound.start, prop_bound.end),
                    )
                else:
                    cond.values[prop] = (value, prop_bound.start, prop_bound.end)
        return cond

    def add_rule(self, cmd: Command, b: dict[str, _Bound]) -> Any:
        self.effects += 1
        obj = self.target_rule(cmd, b, "the rule")
        if obj is None:
            return _NOTHING
        if "WhatIf" in b and _truthy(b["WhatIf"].value):
            self.sink.warning(
                UNSUPPORTED_CONSTRUCT,
                f"{obj.label()} is added with -WhatIf, which changes nothing; it is not imported",
                self.span(cmd.start, cmd.name_end),
            )
            obj.added = True
            return _NOTHING
        obj.added = True
        if obj.broken:
            return _NOTHING
        self.commit(obj, self.span(cmd.start, cmd.name_end))
        return _NOTHING

    def commit(self, obj: RuleObj, where: Span) -> None:
        """Record the rule as it stands now (later changes to the object do not reach the server)."""
        r = obj.rule
        snap = replace(
            r,
            scope=[list(g) for g in r.scope],
            join=[list(g) for g in r.join],
            flows=list(r.flows),
            field_origins=dict(r.field_origins),
        )
        key = norm_guid(snap.identifier)
        if key in self.mine and not snap.generated_identifier:
            previous = self.mine[key]
            self.sink.warning(
                DUPLICATE_OBJECT,
                f"{obj.label()} is added with the identifier of rule {previous.name!r} (line {previous.origin.line if previous.origin else '?'}); "
                "Add-ADSyncRule replaces that rule, so only the later one is imported",
                where,
            )
            self.export.rules.remove(previous)
        elif any(norm_guid(other.identifier) == key for other in self.export.rules):
            other = next(o for o in self.export.rules if norm_guid(o.identifier) == key)
            self.sink.error(
                DUPLICATE_OBJECT,
                f"{obj.label()} has the identifier {snap.identifier} of rule {other.name!r} read from another source; it is left out",
                where,
            )
            return
        self.mine[key] = snap
        self.export.rules.append(snap)

    def get_connector(self, cmd: Command, b: dict[str, _Bound]) -> Any:
        name = b.get("Name")
        text = _text(name.value) if name is not None else None
        if text is None:
            return Unknown("the connectors are listed by the server when the script runs")
        return ConnectorLookup(text)


# ============================================================================ value helpers


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _text(value: Any) -> str | None:
    """PowerShell's text form of a value, when the reader knows it."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return str(value)
    if value is None:
        return ""
    if isinstance(value, list):
        parts = [_text(v) for v in value]
        return None if any(p is None for p in parts) else " ".join(p for p in parts if p is not None)
    return None


def _truthy(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str):
        return value != ""
    if value is None:
        return False
    if isinstance(value, list):
        if not value:
            return False
        return _truthy(value[0]) if len(value) == 1 else True
    if isinstance(value, (RuleObj, Condition, _Table)):
        return True
    return None


def _loose_equal(left: Any, right: Any) -> bool | None:
    """``-eq`` on two known scalars (text compared case-insensitively, as PowerShell does)."""
    if isinstance(left, str) or isinstance(right, str):
        a, b = _text(left), _text(right)
        if a is None or b is None or isinstance(left, list) or isinstance(right, list):
            return None
        return a.casefold() == b.casefold()
    if left is None or right is None:
        return left is right
    if isinstance(left, (bool, int)) and isinstance(right, (bool, int)):
        return bool(left == right)
    return None


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, (str, int, bool)):
        return bool(a == b)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return False


def _why(value: Any, fallback: str) -> str:
    return value.why if isinstance(value, Unknown) else fallback


def _as_unknown(value: Any) -> Unknown:
    return value if isinstance(value, Unknown) else Unknown(f"it is {_kind(value)}")


def _kind(value: Any) -> str:
    if isinstance(value, Unknown):
        return "unknown"
    if value is None:
        return "$null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, RuleObj):
        return "a rule"
    if isinstance(value, Condition):
        return f"a {value.kind} condition"
    if isinstance(value, _Table):
        return "a hashtable"
    return "an object"


def _collect(out: list[Any]) -> Any:
    """Output of a block as a value: nothing → $null, one item → the item, more → an array."""
    items = _flatten(out)
    if not items:
        return None
    return items[0] if len(items) == 1 else items


def _flatten(out: list[Any]) -> list[Any]:
    items: list[Any] = []
    for v in out:
        if v is _NOTHING:
            continue
        if isinstance(v, list):
            items.extend(v)
        else:
            items.append(v)
    return items


def _canonical(name: str, names: tuple[str, ...]) -> str | None:
    low = name.lower()
    return next((n for n in names if n.lower() == low), None)


def _resolve_param(name: str, names: tuple[str, ...], aliases: dict[str, str]) -> str | None:
    """A parameter name as PowerShell binds it: exact (any case), an alias, or a unique prefix."""
    low = name.lower()
    exact = _canonical(name, names)
    if exact is not None:
        return exact
    if low in aliases:
        return aliases[low]
    matches = [n for n in names if n.lower().startswith(low)]
    return matches[0] if len(matches) == 1 else None


_TIMESPAN_TEXT = re.compile(
    r"^(?:(?P<d>\d+)\.)?(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:\.(?P<f>\d{1,7}))?)?$"
)
_LANGUAGE_TIMESPAN = re.compile(r"^(?:\d+\.)?\d{1,2}:\d{2}:\d{2}(?:\.\d+)?$")


def _timespan(value: int | str) -> Any:
    """A -SoftDeleteExpiryInterval value in the language's form; None for zero (the default).

    PowerShell turns a number into a TimeSpan of that many *ticks* (100 ns) and text into
    ``TimeSpan.Parse`` of it (``'30'`` is thirty days), so both are converted here rather than
    passed on: the language reads a bare number as seconds. Text already in the language's
    ``[d.]hh:mm:ss[.f]`` form is kept as written. ``_MISSING`` when it is not a time span.
    """
    if isinstance(value, int):
        return _format_ticks(value)
    text = value.strip()
    if _LANGUAGE_TIMESPAN.fullmatch(text):
        return None if set(re.sub(r"[.:]", "", text)) <= {"0"} else text
    if re.fullmatch(r"\d+", text):
        return _format_ticks(int(text) * 864_000_000_000)  # TimeSpan.Parse: a whole number of days
    m = _TIMESPAN_TEXT.fullmatch(text)
    if m is None:
        return _MISSING
    days = int(m.group("d") or 0)
    ticks = ((days * 24 + int(m.group("h"))) * 60 + int(m.group("m"))) * 60 + int(m.group("s") or 0)
    ticks = ticks * 10_000_000 + int((m.group("f") or "0").ljust(7, "0"))
    return _format_ticks(ticks)


def _format_ticks(ticks: int) -> str | None:
    if ticks == 0:
        return None
    if ticks < 0:
        return _MISSING  # type: ignore[return-value]
    seconds, fraction = divmod(ticks, 10_000_000)
    minutes, s = divmod(seconds, 60)
    hours, m = divmod(minutes, 60)
    days, h = divmod(hours, 24)
    out = f"{h:02d}:{m:02d}:{s:02d}"
    if days:
        out = f"{days}.{out}"
    if fraction:
        out += f".{fraction:07d}"
    return out


def _walk_commands(node: Any) -> Iterator[Command]:
    """Every command invocation in a syntax tree (iteratively: scripts may nest deeply)."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, Command):
            yield item
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, Node):
            stack.extend(getattr(item, f) for f in item.__dataclass_fields__ if f not in ("start", "end"))


# ============================================================================ reading a script


def read_script(path: Path, display: str, export: Export, sink: DiagnosticSink) -> None:
    """Read one script into ``export``; every problem is a diagnostic, never an exception."""
    try:
        size = path.stat().st_size
        if size > MAX_SCRIPT_BYTES:
            sink.error(UNREADABLE_EXPORT, f"{display} is {size} bytes; the limit is {MAX_SCRIPT_BYTES}")
            return
        data = path.read_bytes()
    except OSError as exc:
        sink.error(UNREADABLE_EXPORT, f"cannot read {display}: {exc.strerror or exc}")
        return
    try:
        text = decode_xml_bytes(data)  # PowerShell writes UTF-16 with a BOM or UTF-8
    except UnicodeDecodeError as exc:
        sink.error(
            UNREADABLE_EXPORT,
            f"{display} is neither UTF-8 nor UTF-16 text ({exc.reason} at byte {exc.start})",
        )
        return
    source = SourceFile(display, text)
    export.sources[display] = source
    try:
        Reader(source, export, sink).read()
    except RecursionError:  # a backstop: the parser's nesting bound should stop hostile input first
        sink.error(UNREADABLE_EXPORT, f"{display} is nested too deeply to read")


# ============================================================================ schemas from usage
#
# A script names connectors by GUID and says nothing about attribute types. When no --schema
# export supplies them, the connectors and metaverse types the rules use are declared from the
# rules themselves, with types inferred from how each attribute is used:
#
# * an attribute passed straight to a function takes that parameter's type when every overload
#   of that arity agrees (BitAnd → number, an `mvstr` parameter → multi-valued string);
# * operands of + - * / are numbers, of && || booleans; ISBITSET/ISBITNOTSET scope numbers;
# * attributes linked by a direct flow or a join share one base type; a direct flow from a
#   multi-valued attribute makes its target multi-valued;
# * the target of an expression flow takes the expression's type, once the above is known;
# * anything else is a single-valued string, which every function accepts as text.

_CATALOGUE_TYPES = {
    "str": "string",
    "num": "number",
    "bool": "boolean",
    "bin": "binary",
    "ref": "reference",
    "dt": "datetime",
}
_LANGUAGE_TYPES = {v: k for k, v in _CATALOGUE_TYPES.items()}
_ARITHMETIC = ("+", "-", "*", "/")
_BIT_OPERATORS = ("ISBITSET", "ISBITNOTSET", "ISNOTBITSET")
_PARAMETER = re.compile(r"%([A-Za-z_][A-Za-z0-9_.\-]*)%")
_Node = tuple[tuple[str, ...], str]  # ((side...), attribute)


@dataclass
class _Usage:
    """Type evidence for one (side, attribute)."""

    strong: list[str] = field(default_factory=list)  # base types demanded by functions/operators
    indexed: bool = False  # a metaverse attribute joined on (joins need indexed attributes)
    weak: list[str] = field(default_factory=list)  # base types of expressions flowing into it
    multi: bool = False
    where: Span | None = None


class _Inference:
    def __init__(self, export: Export) -> None:
        self.export = export
        self.usage: dict[_Node, _Usage] = defaultdict(_Usage)
        self.parent: dict[_Node, _Node] = {}
        self.direct: list[tuple[_Node, _Node]] = []  # (source, target) of direct flows
        self.expressions: list[tuple[tuple[str, ...], ast.Expr, _Node]] = []  # read side, expr, target
        self.reads: list[set[_Node]] = []  # per expression: the attributes it reads
        self.parameters: dict[str, set[str]] = defaultdict(set)  # connector key -> %Parameter% names used
        self.catalogue = load_catalogue()

    # ------------------------------------------------------------------ evidence
    def collect(self) -> None:
        for r in self.export.rules:
            key = norm_guid(r.connector)
            inbound = r.direction == "Inbound"
            cs = ("cs", key, r.source_object_type if inbound else r.target_object_type)
            mv = ("mv", r.target_object_type if inbound else r.source_object_type)
            read, write = (cs, mv) if inbound else (mv, cs)
            for group in r.scope:
                for c in group:
                    self.parameters[key].update(_PARAMETER.findall(c.value))
                    if c.attribute:
                        node = self.use(read, c.attribute, c.origin)
                        if c.operator.upper() in _BIT_OPERATORS:
                            self.usage[node].strong.append("number")
            for jgroup in r.join:
                for j in jgroup:
                    mv_node = self.use(mv, j.mv_attribute, j.origin)
                    self.usage[mv_node].indexed = True
                    self.union(self.use(cs, j.cs_attribute, j.origin), mv_node)
            for m in r.flows:
                target = self.use(write, m.destination, m.origin)
                if m.merge_type.lower().startswith("merge") or (
                    m.flow_type == "Direct" and len(m.sources) > 1
                ):
                    self.usage[target].multi = True  # values unioned from several rules or sources
                if m.flow_type == "Direct":
                    for s in m.sources:
                        source = self.use(read, s, m.origin)
                        self.union(source, target)
                        self.direct.append((source, target))
                elif m.flow_type == "Expression":
                    scratch = DiagnosticSink()
                    expr = parse_expression(m.expression or "", scratch)
                    if expr is None or scratch.has_errors:
                        continue  # the converter reports it
                    self.reads.append(
                        self.expression_evidence(read, expr, m.expression_origin or m.origin, key)
                    )
                    self.expressions.append((read, expr, target))
                elif m.constant:
                    self.parameters[key].update(_PARAMETER.findall(m.constant))
        # One attribute has one type per directory: AD's objectSid is binary on users and groups
        # alike, and a metaverse attribute is declared once for all object types.
        first: dict[tuple[str, ...], _Node] = {}
        for node in sorted(self.usage):
            key = _attribute_key(node)
            if key in first:
                self.union(first[key], node)
            else:
                first[key] = node

    def use(self, side: tuple[str, ...], name: str, where: Span | None) -> _Node:
        node = (side, name)
        usage = self.usage[node]
        if usage.where is None:
            usage.where = where
        self.parent.setdefault(node, node)
        return node

    def find(self, node: _Node) -> _Node:
        root = node
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[node] != root:
            self.parent[node], node = root, self.parent[node]
        return root

    def union(self, a: _Node, b: _Node) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)  # deterministic representative

    def expression_evidence(
        self, side: tuple[str, ...], expr: ast.Expr, where: Span | None, key: str
    ) -> set[_Node]:
        reads: set[_Node] = set()
        for node in ast.walk_expr(expr):
            if isinstance(node, ast.AttrRef):
                reads.add(self.use(side, node.name, where))
            elif isinstance(node, ast.ParamRef):
                self.parameters[key].add(node.name)
            elif isinstance(node, ast.StringLit):
                self.parameters[key].update(_PARAMETER.findall(node.value))
            if isinstance(node, ast.Call):
                if node.func.text in ("ImportedValue", "ValueCount") and node.args:
                    arg = node.args[0]
                    if isinstance(arg, ast.StringLit):
                        reads.add(self.use(side, arg.value, where))  # these name their attribute in quotes
                decl = self.catalogue.get(node.func.text)
                if decl is None or decl.name in (
                    "Select",
                    "Where",
                    "With",
                    "ImportedValue",
                    "ValueCount",
                    "Switch",
                    "IIF",
                ):
                    continue
                overloads = [o for o in decl.overloads if len(o.params) == len(node.args)]
                for i, arg in enumerate(node.args):
                    inner = ast.strip_parens(arg)
                    if not isinstance(inner, ast.AttrRef) or not overloads:
                        continue
                    kinds = {o.params[i].type for o in overloads}
                    if len(kinds) != 1:
                        continue
                    (kind,) = kinds
                    usage = self.usage[self.use(side, inner.name, where)]
                    if kind.startswith("mv"):
                        usage.multi = True
                        kind = kind[2:]
                    if kind in _CATALOGUE_TYPES:
                        usage.strong.append(_CATALOGUE_TYPES[kind])
            elif isinstance(node, ast.Binary) and node.op in (*_ARITHMETIC, "&&", "||"):
                base = "number" if node.op in _ARITHMETIC else "boolean"
                for operand in (node.left, node.right):
                    inner = ast.strip_parens(operand)
                    if isinstance(inner, ast.AttrRef):
                        self.usage[self.use(side, inner.name, where)].strong.append(base)
            elif isinstance(node, ast.Unary):
                inner = ast.strip_parens(node.operand)
                if isinstance(inner, ast.AttrRef):
                    self.usage[self.use(side, inner.name, where)].strong.append("number")
        return reads

    # ------------------------------------------------------------------ resolution
    def known(self, node: _Node) -> SchemaAttribute | None:
        """The schema's own declaration of an attribute, when its side has a schema."""
        side, name = node
        if side[0] == "mv":
            classes = self.export.metaverse
            if classes is None:
                return None
            pool = (
                list(classes.values()) if side[1] == "*" else [classes[side[1]]] if side[1] in classes else []
            )
            return next((c.attributes[name] for c in pool if name in c.attributes), None)
        conn = self.export.connectors.get(side[1])
        if conn is None or conn.schema is None:
            return None
        cls = conn.schema.object_class(side[2])
        if cls is not None and name in cls.attributes:
            return cls.attributes[name]
        return conn.schema.attribute(name)

    def resolve(self) -> dict[_Node, tuple[str, bool]]:
        """Every used attribute's (type, multi): schema first, then evidence, then string."""
        types: dict[_Node, tuple[str, bool]] = {}
        for _round in range(3):  # expression results feed targets, which feed other expressions
            groups: dict[_Node, list[_Node]] = defaultdict(list)
            for node in self.usage:
                groups[self.find(node)].append(node)
            for members in groups.values():
                fixed = [k for k in (self.known(n) for n in sorted(members)) if k is not None]
                base = (
                    fixed[0].type
                    if fixed
                    else _vote([t for n in members for t in self.usage[n].strong])
                    or _vote([t for n in members for t in self.usage[n].weak])
                    or "string"
                )
                for n in members:
                    k = self.known(n)
                    types[n] = (k.type, k.multi) if k is not None else (base, self.usage[n].multi)
            changed = True
            while changed:  # a multi-valued source makes a direct flow's target multi-valued
                changed = False
                multi_names = {_attribute_key(n) for n, t in types.items() if t[1]}
                for node, (base, multi) in types.items():
                    if not multi and _attribute_key(node) in multi_names and self.known(node) is None:
                        types[node] = (base, True)
                for source, target in self.direct:
                    if types[source][1] and not types[target][1] and self.known(target) is None:
                        types[target] = (types[target][0], True)
                        changed = True
            for side, expr, target in self.expressions:
                env = {n[1]: _expr_type(t) for n, t in types.items() if n[0] == side}
                scratch = DiagnosticSink()
                lowered = lower_expression(
                    expr, ExprEnv(attributes=env, strict_attributes=False, strict_parameters=False), scratch
                )
                if lowered is None:
                    continue
                result = lowered.type
                multi = result.startswith("mv") and result != "mvattr"
                base = _CATALOGUE_TYPES.get(result[2:] if multi else result)
                usage = self.usage[target]
                if base is not None and not usage.weak:
                    usage.weak.append(base)
                if multi:
                    usage.multi = True
        self.repair(types)
        return types

    def problems(self, types: dict[_Node, tuple[str, bool]], index: int) -> int:
        """Type errors of one expression flow under ``types``: in the expression, and into its target."""
        side, expr, target = self.expressions[index]
        env = {n[1]: _expr_type(t) for n, t in types.items() if n[0] == side}
        scratch = DiagnosticSink()
        lowered = lower_expression(
            expr, ExprEnv(attributes=env, strict_attributes=False, strict_parameters=False), scratch
        )
        errors = sum(1 for d in scratch.items if d.severity >= Severity.ERROR)
        if lowered is not None and not _fits(lowered.type, types[target]):
            errors += 1
        return errors

    def repair(self, types: dict[_Node, tuple[str, bool]]) -> None:
        """Change the base type of attributes in failing expressions where that removes type errors.

        Evidence from signatures misses functions that take text *or* bytes (``Mid``, ``Len``,
        ``CNum`` read binary device keys byte-wise), so the last word goes to the type checker
        itself: for each attribute group an expression fails on, every base type is tried and the
        one with the fewest errors over all expressions touching the group is kept (the current
        type wins ties, so evidence is only overruled by a real improvement).
        """
        touching: dict[_Node, list[int]] = defaultdict(list)  # component root -> expression indices
        for i, (_side, _expr, target) in enumerate(self.expressions):
            for node in {*self.reads[i], target}:
                touching[self.find(node)].append(i)
        members: dict[_Node, list[_Node]] = defaultdict(list)
        for node in types:
            members[self.find(node)].append(node)
        for _round in range(3):
            failing = [i for i in range(len(self.expressions)) if self.problems(types, i)]
            if not failing:
                return
            roots = sorted({self.find(n) for i in failing for n in {*self.reads[i], self.expressions[i][2]}})
            improved = False
            for root in roots:
                group = members[root]
                if any(self.known(n) is not None for n in group):
                    continue
                indices = sorted(set(touching[root]))
                current = types[group[0]][0]
                best, best_score = current, sum(self.problems(types, i) for i in indices)
                for base in ("binary", "number", "boolean", "reference", "string", "datetime"):
                    if base == current or best_score == 0:
                        continue
                    trial = dict(types)
                    for n in group:
                        trial[n] = (base, types[n][1])
                    score = sum(self.problems(trial, i) for i in indices)
                    if score < best_score:
                        best, best_score = base, score
                if best != current:
                    improved = True
                    for n in group:
                        types[n] = (best, types[n][1])
            if not improved:
                return


def _fits(value: str, target: tuple[str, bool]) -> bool:
    """Whether an expression of type ``value`` can flow into an attribute (the analyser's rule)."""
    if value in ("var", "null", "special", "void", "mvattr", "enum"):
        return True
    multi = value.startswith("mv")
    base = _CATALOGUE_TYPES.get(value[2:] if multi else value)
    if base is None:
        return True
    if multi and not target[1]:
        return False
    return base == target[0] or (base, target[0]) in {
        ("number", "string"),
        ("boolean", "string"),
        ("reference", "string"),
        ("string", "reference"),
    }


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _attribute_key(node: _Node) -> tuple[str, ...]:
    """What makes two uses the same attribute: its name in the metaverse, or in one connector."""
    side, name = node
    return ("mv", name) if side[0] == "mv" else ("cs", side[1], name)


def _vote(kinds: list[str]) -> str | None:
    """The most demanded type; text loses ties (it is the default anyway)."""
    if not kinds:
        return None
    counts: dict[str, int] = defaultdict(int)
    for k in kinds:
        counts[k] += 1
    return min(counts, key=lambda k: (-counts[k], k == "string", k))


def _expr_type(t: tuple[str, bool]) -> str:
    base = _LANGUAGE_TYPES[t[0]]
    return "mv" + base if t[1] else base


def infer_schemas(
    export: Export, sink: DiagnosticSink, connector_names: dict[str, str] | None = None
) -> set[str]:
    """Declare the connectors and metaverse types the rules use where no schema was read.

    Only sides without any schema are filled in; a ``--schema`` export (or an XML export read
    alongside) is kept as it is, and the converter completes it as it does for XML imports.
    Returns the (normalised) GUIDs of the connectors declared here: their ``%Parameter%`` names
    are known but not their values, which the caller writes as value-less ``parameter`` lines.
    """
    declared: set[str] = set()
    if not export.rules:
        return declared
    names = {norm_guid(k): v for k, v in (connector_names or {}).items()}
    inference = _Inference(export)
    inference.collect()
    types = inference.resolve()
    by_side: dict[tuple[str, ...], dict[str, tuple[str, bool]]] = defaultdict(dict)
    for (side, attr), t in sorted(types.items()):
        if attr and attr != "dn":
            by_side[side][attr] = t
    if export.metaverse is None:
        used = sorted(
            {r.target_object_type if r.direction == "Inbound" else r.source_object_type for r in export.rules}
            - {"*"}
        )
        classes = {name: SchemaClass(name) for name in used}
        # Concrete types first: an inbound join to any type (`*`) then only declares, on every
        # type, what no type declares yet.
        for side, attrs in sorted(by_side.items(), key=lambda kv: kv[0][0] == "mv" and kv[0][1] == "*"):
            if side[0] != "mv":
                continue
            anywhere = side[1] == "*"
            targets = list(classes.values()) if anywhere else [classes[side[1]]] if side[1] in classes else []
            for attr, (typ, multi) in attrs.items():
                indexed = inference.usage[(side, attr)].indexed
                existing = [c.attributes[attr] for c in classes.values() if attr in c.attributes]
                if anywhere and existing:
                    for a in existing:
                        a.indexed = a.indexed or indexed
                    continue
                for cls in targets:
                    cls.attributes.setdefault(attr, SchemaAttribute(attr, typ, multi, indexed=indexed))
        export.metaverse = classes
        count = sum(len(c.attributes) for c in classes.values())
        sink.warning(
            MISSING_METAVERSE,
            f"no metaverse schema was given; its {_count(len(classes), 'object type')} and {_count(count, 'attribute')} "
            "are declared from what "
            "the rules use, typed from how they use them (else string)",
            help="use --schema FOLDER to take the schema from a Get-ADSyncServerConfiguration export",
        )
    first_rule: dict[str, SyncRule] = {}
    for r in export.rules:
        first_rule.setdefault(norm_guid(r.connector), r)
    for key, rule in sorted(first_rule.items()):
        if key in export.connectors:
            continue
        schema = DsmlSchema()
        types_used = sorted({side[2] for side in by_side if side[0] == "cs" and side[1] == key} | {
            (r.source_object_type if r.direction == "Inbound" else r.target_object_type)
            for r in export.rules if norm_guid(r.connector) == key
        })  # fmt: skip
        for type_name in types_used:
            attrs = by_side.get(("cs", key, type_name), {})
            for attr, (typ, multi) in attrs.items():
                if attr not in schema.attribute_ids:
                    schema.attribute_ids[attr] = attr
                    schema.attribute_types[attr] = SchemaAttribute(attr, typ, multi)
            schema.class_ids[type_name] = type_name
            schema.classes[type_name] = (type_name, None, [(a, False) for a in sorted(attrs)], [])
        name = names.get(key) or f"connector-{key[:8]}"
        parameters = [(p, "") for p in sorted(inference.parameters.get(key, set()) - set(SYSTEM_PARAMETERS))]
        export.connectors[key] = Connector(
            guid=rule.connector, name=name, kind="generic", schema=schema, parameters=parameters
        )
        declared.add(key)
        sink.warning(
            MISSING_CONNECTOR,
            f"connector {rule.connector} is known only by its GUID; it is written as {name!r} (kind generic) with the "
            f"{_count(len(schema.attribute_ids), 'attribute')} its rules use, typed from how they use them (else string)",
            rule.where("connector"),
            help=("" if key in names else "name it with --connectors GUID=NAME, or ")
            + "use --schema FOLDER to take connectors and schema from an export",
        )
    return declared
