"""The intermediate representation.

Plain, serialisable dataclasses produced by semantic analysis once a configuration is known to be
valid. Names are resolved, types are known, relative precedence is turned into numbers, flows
know their kind and merge type, and every node keeps the span it came from (``origin``) so run
time errors and preview explanations point back into the ``.sync`` files.

The expression part is what the evaluator compiles; the rule part is what the engine runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

from syncrules.source import Span

# ---------------------------------------------------------------------------- types
#
# Expression types are the catalogue's type names: str num bool bin ref dt, mvstr mvnum mvbool mvbin
# mvref mvdt, var (unknown / any), null (the NULL literal), special (AuthoritativeNull /
# IgnoreThisFlow), void (Error), enum.

SCALAR_TYPES = ("str", "num", "bool", "bin", "ref", "dt")


def is_multi(t: str) -> bool:
    return t.startswith("mv")


def scalar_of(t: str) -> str:
    if t == "mvattr":
        return "var"
    return t[2:] if t.startswith("mv") else t


def multi_of(t: str) -> str:
    if t in SCALAR_TYPES:
        return "mv" + t
    if t.startswith("mv"):
        return t
    return "mvattr"  # multi-valued of unknown element type


# ---------------------------------------------------------------------------- expressions


@dataclass(frozen=True, slots=True)
class Const:
    """A literal: str, int, bool, None (NULL), or a special (AuthoritativeNull / IgnoreThisFlow)."""

    value: Any
    type: str
    origin: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Attr:
    """``[name]``: reads the evaluation context's current object."""

    name: str
    type: str
    origin: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Param:
    """``%Name%``: resolved from the connector/partition parameters at run time."""

    name: str
    origin: Span | None = field(default=None, compare=False)
    type: str = "str"


@dataclass(frozen=True, slots=True)
class Var:
    """``$name`` bound by Select, Where or With."""

    name: str
    type: str = "var"
    origin: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class EnumValue:
    """A bare enumeration argument such as ``UTF8`` or ``vbTextCompare``."""

    value: str
    type: str = "enum"
    origin: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class CallFn:
    """A built-in call. ``overload`` indexes the catalogue entry's overload list."""

    name: str
    args: tuple[Expr, ...]
    type: str
    overload: int = 0
    origin: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class BinOp:
    """``op`` is one of ``|| && = <> < > <= >= & + - * /``."""

    op: str
    left: Expr
    right: Expr
    type: str
    origin: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Neg:
    operand: Expr
    type: str = "num"
    origin: Span | None = field(default=None, compare=False)


Expr = Const | Attr | Param | Var | EnumValue | CallFn | BinOp | Neg

# ---------------------------------------------------------------------------- schema


@dataclass(frozen=True, slots=True)
class AttributeType:
    name: str
    type: str  # string | number | boolean | binary | reference | datetime
    multi: bool = False
    indexed: bool = False
    required: bool = False

    @property
    def expr_type(self) -> str:
        base = {"string": "str", "number": "num", "boolean": "bool", "binary": "bin", "reference": "ref", "datetime": "dt"}[
            self.type
        ]
        return "mv" + base if self.multi else base


@dataclass(frozen=True, slots=True)
class ObjectType:
    name: str
    attributes: tuple[AttributeType, ...]
    origin: Span | None = field(default=None, compare=False)

    def attribute(self, name: str) -> AttributeType | None:
        for a in self.attributes:
            if a.name == name:
                return a
        return None


@dataclass(frozen=True, slots=True)
class Partition:
    dn: str
    parameters: tuple[tuple[str, str | None], ...]
    includes: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Connector:
    name: str
    kind: str
    id: str | None
    anchor: tuple[str, ...]
    parameters: tuple[tuple[str, str | None], ...]
    partitions: tuple[Partition, ...]
    object_types: tuple[ObjectType, ...]
    description: str | None = None
    origin: Span | None = field(default=None, compare=False)

    def object_type(self, name: str) -> ObjectType | None:
        for o in self.object_types:
            if o.name == name:
                return o
        return None


# ---------------------------------------------------------------------------- rules


@dataclass(frozen=True, slots=True)
class ScopeClause:
    attribute: str | None
    operator: str  # canonical enum name, e.g. ISBITNOTSET
    value: str | None  # %parameters% still inside; substituted at run time
    origin: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class JoinClause:
    cs_attribute: str
    mv_attribute: str
    case_sensitive: bool = False
    origin: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Flow:
    target: str
    kind: str  # direct | constant | expression
    sources: tuple[str, ...]
    constant: str | None
    expr: Expr | None
    merge: str  # update | replace | merge | merge-case-insensitive
    once: bool
    target_type: str  # expression type of the target attribute, e.g. "mvstr"
    origin: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    id: str | None
    tag: str | None
    description: str | None
    direction: str  # inbound | outbound
    connector: str
    source_type: str
    target_type: str
    link: str  # join | provision | sticky-join | join-no-flow
    precedence: int  # effective number after before/after resolution
    declared_precedence: int | None
    precedence_before: str | None
    precedence_after: str | None
    disabled: bool
    password_sync: bool
    soft_delete_expiry: str | None
    scope: tuple[tuple[ScopeClause, ...], ...]
    join: tuple[tuple[JoinClause, ...], ...]
    flows: tuple[Flow, ...]
    origin: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Config:
    """A whole compiled configuration: schema, connectors, parameters and rules."""

    metaverse: tuple[ObjectType, ...]
    connectors: tuple[Connector, ...]
    parameters: tuple[tuple[str, str | None], ...]
    rules: tuple[Rule, ...]

    def connector(self, name: str) -> Connector | None:
        for c in self.connectors:
            if c.name == name:
                return c
        return None

    def mv_type(self, name: str) -> ObjectType | None:
        for o in self.metaverse:
            if o.name == name:
                return o
        return None


# ---------------------------------------------------------------------------- serialisation


def to_json(node: Any) -> Any:
    """A JSON-ready rendering of any IR node (``kind`` tags each expression node)."""
    if is_dataclass(node):
        out: dict[str, Any] = {}
        if isinstance(node, (Const, Attr, Param, Var, EnumValue, CallFn, BinOp, Neg)):
            out["node"] = type(node).__name__
        for f in fields(node):
            value = getattr(node, f.name)
            if f.name == "origin":
                out["origin"] = value.to_json() if value is not None else None
            else:
                out[f.name] = to_json(value)
        return out
    if isinstance(node, tuple | list):
        return [to_json(v) for v in node]
    if isinstance(node, bytes):
        import base64

        return {"binary": base64.b64encode(node).decode("ascii")}
    if node is None or isinstance(node, (str, int, bool, float)):
        return node
    return repr(node)
