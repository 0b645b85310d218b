"""The abstract syntax tree of .sync files.

Frozen dataclasses, every node carrying a :class:`~syncrules.source.Span`. The AST is the only
thing that leaves the syntax layer: Lark's parse tree never does. It records what the author
wrote (including spelling such as hex numbers, bare scope values and redundant parentheses) so
the formatter can print it back; meaning is decided later, by semantic analysis and lowering.

Spans are excluded from equality (``compare=False``) so that "format, re-parse, compare" checks
structure, not positions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from syncrules.source import Span

_NO_SPAN = Span("<none>", 0, 0, 0, 0)


def _span() -> Span:
    return field(default=_NO_SPAN, compare=False, repr=False)  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class Ident:
    """A name as written, with its own span (for precise "unknown name" underlines)."""

    text: str
    span: Span = _span()


# ---------------------------------------------------------------------------- expressions


@dataclass(frozen=True, slots=True)
class StringLit:
    value: str
    span: Span = _span()
    # The literal as written, quotes included, so the formatter keeps the author's escaping.
    raw: str | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class NumberLit:
    value: int
    text: str  # as written: "42" or "&H2A"
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class NameRef:
    """A bare identifier: True, False, NULL, CRLF, AuthoritativeNull, IgnoreThisFlow or an enum value."""

    name: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class AttrRef:
    """``[attribute]``."""

    name: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class ParamRef:
    """``%Parameter.Name%``."""

    name: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class VarRef:
    """``$variable`` (bound by Select, Where and With)."""

    name: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Call:
    func: Ident
    args: tuple[Expr, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Binary:
    op: str
    left: Expr
    right: Expr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Unary:
    op: str
    operand: Expr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Paren:
    inner: Expr
    span: Span = _span()


Expr = StringLit | NumberLit | NameRef | AttrRef | ParamRef | VarRef | Call | Binary | Unary | Paren

# ---------------------------------------------------------------------------- schema


@dataclass(frozen=True, slots=True)
class AttributeDecl:
    name: Ident
    type: str  # string | number | boolean | binary | reference | datetime
    multi: bool = False
    indexed: bool = False
    required: bool = False
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class ObjectTypeDecl:
    name: Ident
    attributes: tuple[AttributeDecl, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class MetaverseDecl:
    objects: tuple[ObjectTypeDecl, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class ParameterDecl:
    name: Ident
    value: StringLit | None
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class PartitionDecl:
    dn: StringLit
    parameters: tuple[ParameterDecl, ...]
    includes: tuple[StringLit, ...]
    excludes: tuple[StringLit, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class ConnectorDecl:
    name: StringLit
    kind: Ident | None
    id: StringLit | None
    description: StringLit | None
    anchor: tuple[Ident, ...]
    parameters: tuple[ParameterDecl, ...]
    partitions: tuple[PartitionDecl, ...]
    objects: tuple[ObjectTypeDecl, ...]
    span: Span = _span()


# ---------------------------------------------------------------------------- rules


@dataclass(frozen=True, slots=True)
class ScopeClause:
    attribute: Ident | None  # None for ISMEMBEROF "group-dn" with no attribute
    operator: Ident
    value: StringLit | NumberLit | None
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class ScopeGroup:
    clauses: tuple[ScopeClause, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class JoinClause:
    cs_attribute: Ident
    mv_attribute: Ident
    case_sensitive: bool = False
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class JoinGroup:
    clauses: tuple[JoinClause, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Flow:
    """``flow target <- source [once] [merge-type]``.

    ``kind`` is ``direct`` (one or more bare attribute names), ``constant`` (``const "text"``) or
    ``expression``.
    """

    target: Ident
    kind: str
    sources: tuple[Ident, ...] = ()
    constant: StringLit | None = None
    expr: Expr | None = None
    merge: Ident | None = None
    once: bool = False
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Precedence:
    value: NumberLit | None
    before: StringLit | None
    after: StringLit | None
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Direction:
    direction: str  # inbound | outbound
    connector: StringLit
    source_type: Ident
    target_type: Ident
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Setting:
    """A simple rule property: link, id, tag, description, disabled, password-sync, soft-delete-expiry."""

    key: str
    value: Ident | StringLit | None
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Rule:
    name: StringLit
    direction: Direction | None
    precedence: Precedence | None
    settings: tuple[Setting, ...]
    scope: tuple[ScopeGroup, ...]
    join: tuple[JoinGroup, ...]
    flows: tuple[Flow, ...]
    doc: str | None = field(default=None, compare=False)
    # Order of the rule items as written, for diagnostics about duplicates (formatter uses canonical order).
    span: Span = _span()

    def setting(self, key: str) -> Setting | None:
        for s in self.settings:
            if s.key == key:
                return s
        return None


@dataclass(frozen=True, slots=True)
class Override:
    """``override "Rule name" { disabled }``: change a rule declared in another file."""

    target: StringLit
    disabled: bool | None  # None: the block sets nothing
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Import:
    path: StringLit
    std: bool = False
    span: Span = _span()


Item = Import | MetaverseDecl | ConnectorDecl | Rule | ParameterDecl | Override


@dataclass(frozen=True, slots=True)
class Comment:
    text: str  # including the leading '#'
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Module:
    path: str
    items: tuple[Item, ...]
    comments: tuple[Comment, ...] = field(default=(), compare=False)
    span: Span = _span()


# ---------------------------------------------------------------------------- helpers


def walk_expr(expr: Expr):  # type: ignore[no-untyped-def]
    """Yield ``expr`` and every sub-expression, pre-order."""
    stack: list[Expr] = [expr]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, Call):
            stack.extend(reversed(node.args))
        elif isinstance(node, Binary):
            stack.append(node.right)
            stack.append(node.left)
        elif isinstance(node, (Unary,)):
            stack.append(node.operand)
        elif isinstance(node, Paren):
            stack.append(node.inner)


def strip_parens(expr: Expr) -> Expr:
    """The same expression without :class:`Paren` nodes (structural identity for round-trips)."""
    if isinstance(expr, Paren):
        return strip_parens(expr.inner)
    if isinstance(expr, Call):
        return Call(expr.func, tuple(strip_parens(a) for a in expr.args), expr.span)
    if isinstance(expr, Binary):
        return Binary(expr.op, strip_parens(expr.left), strip_parens(expr.right), expr.span)
    if isinstance(expr, Unary):
        return Unary(expr.op, strip_parens(expr.operand), expr.span)
    return expr
