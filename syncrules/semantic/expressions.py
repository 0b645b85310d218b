"""Type-check an expression against the schema and the function catalogue, and lower it to IR.

Checking and lowering happen in one pass: the checker has to resolve every name and overload
anyway, and the IR records exactly those decisions (which overload, which constant, which type).

Typing follows the reference's model: scalar parameters applied to a multi-valued argument run per
value and make the result multi-valued; ``var`` accepts anything; ``NULL`` fits everywhere.
Where the reference is vague, we accept what Microsoft's own default rules rely on and reject
what cannot work at run time (see docs/language.md, "Types").
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from syncrules import ast
from syncrules.catalogue import FunctionDecl, Overload, load_catalogue, lowercase_index
from syncrules.diagnostics import DiagnosticSink
from syncrules.ir import nodes as ir
from syncrules.ir.nodes import is_multi, multi_of, scalar_of
from syncrules.runtime.values import AUTHORITATIVE_NULL, IGNORE_THIS_FLOW

CONSTANTS: dict[str, tuple[object, str]] = {
    "True": (True, "bool"),
    "False": (False, "bool"),
    "NULL": (None, "null"),
    "CRLF": ("\r\n", "str"),
    "AuthoritativeNull": (AUTHORITATIVE_NULL, "special"),
    "IgnoreThisFlow": (IGNORE_THIS_FLOW, "special"),
}

# Types that stand in for "no value yet" and fit any parameter.
_WILDCARDS = {"var", "null", "special", "mvattr"}

# Scalar parameter type → scalar argument types it accepts (besides itself and the wildcards).
_ACCEPTS: dict[str, set[str]] = {
    "str": {"ref"},  # a reference is a DN string
    "num": set(),
    "bool": set(),
    "bin": set(),
    "ref": set(),
    "dt": set(),
    "exp": {"bool", "num", "str"},  # evaluated for truth
}

# Documented or relied-on extras beyond the published signatures, keyed by (function, param index).
_EXTRA_ACCEPTS: dict[tuple[str, int], set[str]] = {
    # Microsoft's default rules base64-encode binary anchors: ConvertToBase64([objectGUID]).
    ("ConvertToBase64", 0): {"bin"},
    # CStr turns anything printable into text (the reference lists num, ref and bool overloads).
    ("CStr", 0): {"str", "bin", "dt"},
    # The default device-key flow reads numbers out of byte slices: CNum(Mid([searchableDeviceKey], 5, 2)).
    ("CNum", 0): {"num", "bool", "bin"},
    ("CBool", 0): {"bool", "num", "str"},
    # The default device-key flows slice and measure binary values with Mid/Len (byte-wise).
    ("Mid", 0): {"bin"},
    ("Left", 0): {"bin"},
    ("Right", 0): {"bin"},
    ("Len", 0): {"bin"},
}

# Functions that return the kind of sequence they were given (text in, text out; bytes in, bytes out).
_SLICERS = {"Mid", "Left", "Right"}
for _name in ["CertExtensionOids", "CertFormat", "CertFriendlyName", "CertHashString", "CertIssuer", "CertIssuerDN", "CertIssuerOid", "CertKeyAlgorithm", "CertKeyAlgorithmParams", "CertNameInfo", "CertNotAfter", "CertNotBefore", "CertPublicKeyOid", "CertPublicKeyParametersOid", "CertSerialNumber", "CertSignatureAlgorithmOid", "CertSubject", "CertSubjectNameDN", "CertSubjectNameOid", "CertThumbprint", "CertVersion", "IsCert"]:
    # Certificates arrive as DER bytes or as Base64 text.
    _EXTRA_ACCEPTS[(_name, 0)] = {"str"}

_BINDERS = {"Select", "Where", "With"}

# Functions that count or pick values work on a list of any element type (Microsoft's certificate
# example takes Count and Item of a multi-valued binary attribute).
_ANY_LIST = {"Count", "Item", "ItemOrNull", "RemoveDuplicates"}


@dataclass
class ExprEnv:
    """What an expression may refer to.

    ``attributes`` maps attribute names to expression types (``"str"``, ``"mvstr"``, ...).
    ``parameters`` holds the %Parameter% names in scope. ``strict_attributes`` off makes unknown
    attributes type ``var`` silently (used by ``syncrules eval`` without a schema).
    """

    attributes: Mapping[str, str] = field(default_factory=dict)
    parameters: set[str] | frozenset[str] = frozenset()
    strict_attributes: bool = True
    strict_parameters: bool = True
    object_label: str = "the object"
    # Flagged when the expression uses ImportedValue/ValueCount: their string argument names an attribute.
    variables: dict[str, str] = field(default_factory=dict)


def suggest(name: str, candidates: list[str] | set[str] | Mapping[str, object]) -> str | None:
    pool = list(candidates)
    lower = {c.lower(): c for c in pool}
    if name.lower() in lower:
        return lower[name.lower()]
    prefixed = sorted(c for c in pool if len(name) >= 3 and c.lower().startswith(name.lower()))
    if len(prefixed) == 1:
        return prefixed[0]
    close = difflib.get_close_matches(name, pool, n=1, cutoff=0.75)
    if close:
        return close[0]
    close = difflib.get_close_matches(name.lower(), list(lower), n=1, cutoff=0.75)
    return lower[close[0]] if close else None


def report_unknown_attribute(sink: DiagnosticSink, name: str, span: Any, attrs: Mapping[str, object], label: str) -> None:
    """SR115 when only the letter case is wrong (names are case-sensitive), SR101 otherwise."""
    fixed = suggest(name, attrs)
    if fixed is not None and fixed.lower() == name.lower():
        sink.error(
            "SR115",
            f"attribute `{name}` has the wrong letter case; attribute names are case-sensitive",
            span,
            help=f"did you mean `{fixed}`?",
        )
    else:
        sink.error(
            "SR101",
            f"{label} has no attribute `{name}`",
            span,
            help=f"did you mean `{fixed}`?" if fixed else "declare it in the schema, or check the spelling",
        )


def lower_expression(expr: ast.Expr, env: ExprEnv, sink: DiagnosticSink) -> ir.Expr | None:
    """Check ``expr`` and return its IR, or None when it has errors (all of them are reported)."""
    checker = _Checker(env, sink)
    before = len(sink.items)
    result = checker.lower(expr)
    if any(d.severity >= 3 for d in sink.items[before:]):
        return None
    return result


class _Checker:
    def __init__(self, env: ExprEnv, sink: DiagnosticSink) -> None:
        self.env = env
        self.sink = sink
        self.catalogue = load_catalogue()
        self.variables: dict[str, str] = dict(env.variables)

    # ------------------------------------------------------------------ dispatch
    def lower(self, e: ast.Expr) -> ir.Expr:
        method = getattr(self, "_" + type(e).__name__)
        return method(e)  # type: ignore[no-any-return]

    def _Paren(self, e: ast.Paren) -> ir.Expr:
        return self.lower(e.inner)

    def _StringLit(self, e: ast.StringLit) -> ir.Expr:
        return ir.Const(e.value, "str", e.span)

    def _NumberLit(self, e: ast.NumberLit) -> ir.Expr:
        if e.value > 0xFFFFFFFFFFFFFFFF:
            self.sink.error("SR008", f"the number {e.text} does not fit in 64 bits", e.span)
        return ir.Const(e.value, "num", e.span)

    def _NameRef(self, e: ast.NameRef) -> ir.Expr:
        if e.name in CONSTANTS:
            value, typ = CONSTANTS[e.name]
            return ir.Const(value, typ, e.span)
        fixed = suggest(e.name, list(CONSTANTS))
        if fixed is not None and fixed.lower() == e.name.lower():
            self.sink.error(
                "SR114",
                f"`{e.name}` is not a constant; constants are case-sensitive",
                e.span,
                help=f"did you mean `{fixed}`?",
            )
        else:
            hint = f"did you mean `{fixed}`?" if fixed else None
            attr_hint = f"to read an attribute write `[{e.name}]`"
            self.sink.error(
                "SR114",
                f"unknown name `{e.name}`",
                e.span,
                help=hint or attr_hint,
            )
        return ir.Const(None, "var", e.span)

    def _AttrRef(self, e: ast.AttrRef) -> ir.Expr:
        return ir.Attr(e.name, self._attribute_type(e.name, e.span), e.span)

    def _attribute_type(self, name: str, span: object) -> str:
        attrs = self.env.attributes
        if name in attrs:
            return attrs[name]
        if not self.env.strict_attributes:
            return "var"
        report_unknown_attribute(self.sink, name, span, attrs, self.env.object_label)
        return "var"

    def _ParamRef(self, e: ast.ParamRef) -> ir.Expr:
        if self.env.strict_parameters and e.name not in self.env.parameters:
            fixed = suggest(e.name, set(self.env.parameters))
            self.sink.error(
                "SR106",
                f"parameter `%{e.name}%` is not defined here",
                e.span,
                help=f"did you mean `%{fixed}%`?" if fixed else "declare it with `parameter` in the connector or at the top level",
            )
        return ir.Param(e.name, e.span)

    def _VarRef(self, e: ast.VarRef) -> ir.Expr:
        if e.name not in self.variables:
            self.sink.error(
                "SR111",
                f"`{e.name}` is not bound here",
                e.span,
                help="variables are introduced by the first argument of Select, Where or With",
            )
            return ir.Var(e.name, "var", e.span)
        return ir.Var(e.name, self.variables[e.name], e.span)

    def _Unary(self, e: ast.Unary) -> ir.Expr:
        operand = self.lower(e.operand)
        if isinstance(operand, ir.Const) and operand.type == "num":
            return ir.Const(-operand.value, "num", e.span)
        self._expect_numeric(operand, "-", e.operand.span)
        return ir.Neg(operand, "mvnum" if is_multi(operand.type) else "num", e.span)

    def _expect_numeric(self, node: ir.Expr, op: str, span: object) -> None:
        base = scalar_of(node.type)
        if base not in ("num", "var", "null") and node.type not in _WILDCARDS:
            extra = "; use `&` to join text" if op == "+" and base == "str" else ""
            self.sink.error(
                "SR203",
                f"`{op}` needs numbers, but this is {_type_words(node.type)}{extra}",
                span,  # type: ignore[arg-type]
            )

    def _Binary(self, e: ast.Binary) -> ir.Expr:
        left = self.lower(e.left)
        right = self.lower(e.right)
        multi = is_multi(left.type) or is_multi(right.type)
        op = e.op
        if op in ("+", "-", "*", "/"):
            self._expect_numeric(left, op, e.left.span)
            self._expect_numeric(right, op, e.right.span)
            typ = "num"
        elif op == "&":
            bases = {scalar_of(left.type), scalar_of(right.type)} - {"var", "null", "special"}
            typ = "bin" if "bin" in bases else "str"
            if "bin" in bases and bases != {"bin"}:
                # Binary & binary concatenates bytes (the default device-key flows do it); mixing is an error.
                side = e.left if scalar_of(left.type) != "bin" else e.right
                self.sink.error(
                    "SR203",
                    "`&` cannot join binary and text",
                    side.span,
                    help="convert one side first, e.g. with ConvertToBase64, StringFromGuid or CGuid",
                )
            for side, node in ((e.left, left), (e.right, right)):
                if node.type == "void":
                    self._void(side.span)
        elif op in ("&&", "||"):
            for side, node in ((e.left, left), (e.right, right)):
                base = scalar_of(node.type)
                if base not in ("bool", "num", "var", "null") and node.type not in _WILDCARDS:
                    self.sink.error(
                        "SR203",
                        f"`{op}` needs True/False values, but this is {_type_words(node.type)}",
                        side.span,
                        help="compare it first, e.g. `IsPresent([x])` or `[x] = \"value\"`",
                    )
            typ = "bool"
        else:  # comparisons
            for side, node in ((e.left, left), (e.right, right)):
                if node.type == "void":
                    self._void(side.span)
            typ = "bool"
        return ir.BinOp(op, left, right, multi_of(typ) if multi else typ, e.span)

    def _void(self, span: object) -> None:
        self.sink.warning(
            "SR206",
            "Error() never returns a value, so it cannot be combined here",
            span,  # type: ignore[arg-type]
            help="use it as a branch of IIF or Switch",
        )

    # ------------------------------------------------------------------ calls
    def _Call(self, e: ast.Call) -> ir.Expr:
        name = e.func.text
        decl = self.catalogue.get(name)
        if decl is None:
            real = lowercase_index().get(name.lower())
            if real is not None:
                self.sink.error(
                    "SR103",
                    f"unknown function `{name}`; function names are case-sensitive",
                    e.func.span,
                    help=f"did you mean `{real}`?",
                )
                decl = self.catalogue[real]
            else:
                fixed = suggest(name, list(self.catalogue))
                self.sink.error(
                    "SR102",
                    f"unknown function `{name}`",
                    e.func.span,
                    help=f"did you mean `{fixed}`?" if fixed else "see `docs/functions.md` for the built-in functions",
                )
                for a in e.args:
                    self.lower(a)
                return ir.Const(None, "var", e.span)
        if decl.name in _BINDERS:
            return self._binder_call(e, decl)
        if decl.name == "Switch":
            return self._switch_call(e, decl)
        if decl.name in ("ImportedValue", "ValueCount"):
            return self._context_call(e, decl)
        args = [self._argument(a, decl) for a in e.args]
        overload_index = self._pick_overload(e, decl, args)
        if overload_index is None:
            return ir.CallFn(decl.name, tuple(args), "var", 0, e.span)
        overload = decl.overloads[overload_index]
        args = self._lower_enums(e, decl, overload, args)
        typ = self._result_type(decl, overload, args)
        return ir.CallFn(decl.name, tuple(args), typ, overload_index, e.span)

    def _argument(self, a: ast.Expr, decl: FunctionDecl) -> ir.Expr:
        """Lower an argument; a bare name may be an enumeration value, decided by overload matching."""
        if decl.enums and isinstance(a, ast.NameRef) and a.name not in CONSTANTS:
            return ir.EnumValue(a.name, "enum", a.span)
        return self.lower(a)

    def _pick_overload(self, e: ast.Call, decl: FunctionDecl, args: list[ir.Expr]) -> int | None:
        by_arity = [i for i, o in enumerate(decl.overloads) if len(o.params) == len(args)]
        if not by_arity:
            arities = decl.arities
            want = " or ".join(str(a) for a in arities)
            sigs = "; ".join(o.signature(decl.name) for o in decl.overloads)
            self.sink.error(
                "SR201",
                f"`{decl.name}` takes {want} argument{'s' if arities != [1] else ''}, but {len(args)} {'was' if len(args) == 1 else 'were'} given",
                e.span,
                help=f"signature: {sigs}",
            )
            return None
        failures: list[tuple[int, int, str]] = []
        fitting: list[tuple[int, int]] = []
        for i in by_arity:
            problem = self._mismatch(decl, decl.overloads[i], e, args)
            if problem is None:
                exact = sum(1 for p, a in zip(decl.overloads[i].params, args, strict=True) if p.type == a.type)
                fitting.append((-exact, i))
            else:
                failures.append((i, *problem))
        if fitting:
            return min(fitting)[1]  # the overload whose parameter types match the arguments best
        # Report against the overload that got furthest.
        i, arg_index, message = max(failures, key=lambda f: f[1])
        code = "SR205" if decl.overloads[i].params[arg_index].type == "enum" else "SR202"
        sigs = "; ".join(decl.overloads[j].signature(decl.name) for j in by_arity)
        self.sink.error(code, message, e.args[arg_index].span, help=f"signature: {sigs}")
        return None

    def _mismatch(self, decl: FunctionDecl, overload: Overload, e: ast.Call, args: list[ir.Expr]) -> tuple[int, str] | None:
        for index, (param, arg) in enumerate(zip(overload.params, args, strict=False)):
            if param.type == "enum":
                allowed = decl.enums.get(param.name, ())
                value = _enum_text(e.args[index])
                if value is None or value not in allowed:
                    shown = value if value is not None else _type_words(arg.type)
                    hint = suggest(value, list(allowed)) if value else None
                    more = f" (did you mean `{hint}`?)" if hint and hint != value else ""
                    return index, (
                        f"argument {index + 1} of `{decl.name}` must be one of {', '.join(allowed)}; got {shown}{more}"
                    )
                continue
            if not _accepts(decl.name, index, param.type, arg.type):
                return index, (
                    f"argument {index + 1} (`{param.name}`) of `{decl.name}` must be {_type_words(param.type)}, "
                    f"but this is {_type_words(arg.type)}"
                )
        return None

    def _lower_enums(self, e: ast.Call, decl: FunctionDecl, overload: Overload, args: list[ir.Expr]) -> list[ir.Expr]:
        out = list(args)
        for index, param in enumerate(overload.params):
            if param.type == "enum":
                out[index] = ir.EnumValue(_enum_text(e.args[index]) or "", "enum", e.args[index].span)
        return out

    def _result_type(self, decl: FunctionDecl, overload: Overload, args: list[ir.Expr]) -> str:
        ret = overload.returns
        if ret == "var" and decl.name == "IIF":
            ret = _join_types(args[1].type, args[2].type)
            cond_multi = is_multi(args[0].type)
            return multi_of(scalar_of(ret)) if cond_multi and ret not in ("special", "null", "void") else ret
        if ret == "var" and decl.name in ("Item", "ItemOrNull"):
            return scalar_of(args[0].type) if args[0].type != "var" else "var"
        if decl.name in _SLICERS and scalar_of(args[0].type) in ("bin", "var"):
            ret = scalar_of(args[0].type)
        if ret == "mvattr":
            return args[1].type if is_multi(args[1].type) else "mvattr"
        per_value = any(
            is_multi(a.type) and p.type in _ACCEPTS for p, a in zip(overload.params, args, strict=True)
        )
        if per_value and not is_multi(ret) and ret not in ("var", "void"):
            return multi_of(ret)
        return ret

    def _binder_call(self, e: ast.Call, decl: FunctionDecl) -> ir.Expr:
        if len(e.args) != 3:
            self.sink.error(
                "SR201",
                f"`{decl.name}` takes 3 arguments, but {len(e.args)} were given",
                e.span,
                help="signature: " + "; ".join(o.signature(decl.name) for o in decl.overloads),
            )
            for a in e.args:
                if not isinstance(a, ast.VarRef):
                    self.lower(a)
            return ir.CallFn(decl.name, (), "var", 0, e.span)
        var_node, source_node, body_node = e.args
        if not isinstance(var_node, ast.VarRef):
            self.sink.error(
                "SR202",
                f"the first argument of `{decl.name}` must be a `$variable`",
                var_node.span,
                help=f"e.g. {decl.name}($item, [proxyAddresses], ...)",
            )
            return ir.CallFn(decl.name, (), "var", 0, e.span)
        source = self.lower(source_node)
        element = scalar_of(source.type) if decl.name != "With" else source.type
        saved = self.variables.get(var_node.name)
        self.variables[var_node.name] = element
        body = self.lower(body_node)
        if saved is None:
            del self.variables[var_node.name]
        else:
            self.variables[var_node.name] = saved
        var_ir = ir.Var(var_node.name, element, var_node.span)
        if decl.name == "With":
            typ = body.type
            overload = 0
        elif decl.name == "Where":
            typ = source.type if is_multi(source.type) else multi_of(scalar_of(source.type))
            overload = 0 if is_multi(source.type) or source.type in _WILDCARDS else 1
        else:  # Select
            typ = multi_of(scalar_of(body.type)) if body.type not in _WILDCARDS else "mvattr"
            overload = 0 if is_multi(source.type) or source.type in _WILDCARDS else 1
        return ir.CallFn(decl.name, (var_ir, source, body), typ, overload, e.span)

    def _switch_call(self, e: ast.Call, decl: FunctionDecl) -> ir.Expr:
        args = [self.lower(a) for a in e.args]
        if len(args) < 2 or len(args) % 2 != 0:
            self.sink.error(
                "SR201",
                f"`Switch` takes pairs of (condition, value), but {len(args)} argument{'s' if len(args) != 1 else ''} {'were' if len(args) != 1 else 'was'} given",
                e.span,
                help="signature: Switch(exp condition1, var value1, exp condition2, var value2, ...)",
            )
            return ir.CallFn("Switch", tuple(args), "var", 0, e.span)
        typ = "null"
        for i in range(0, len(args), 2):
            cond = args[i]
            if not _accepts("Switch", 0, "exp", cond.type):
                self.sink.error(
                    "SR202",
                    f"argument {i + 1} of `Switch` must be a condition, but this is {_type_words(cond.type)}",
                    e.args[i].span,
                )
            typ = _join_types(typ, args[i + 1].type)
        return ir.CallFn("Switch", tuple(args), typ, 0, e.span)

    def _context_call(self, e: ast.Call, decl: FunctionDecl) -> ir.Expr:
        if len(e.args) != 1:
            self.sink.error(
                "SR201",
                f"`{decl.name}` takes 1 argument, but {len(e.args)} were given",
                e.span,
                help=f'e.g. {decl.name}("proxyAddresses")',
            )
            return ir.CallFn(decl.name, (), "var", 0, e.span)
        arg = e.args[0]
        if not isinstance(arg, ast.StringLit):
            hint = f'{decl.name}("{arg.name}")' if isinstance(arg, ast.AttrRef) else f'{decl.name}("attribute")'
            self.sink.error(
                "SR202",
                f"`{decl.name}` takes the attribute name in quotes",
                arg.span,
                help=f"write {hint}",
            )
            return ir.CallFn(decl.name, (), "var", 0, e.span)
        attr_type = self._attribute_type(arg.value, arg.span)
        typ = attr_type if decl.name == "ImportedValue" else "num"
        return ir.CallFn(decl.name, (ir.Const(arg.value, "str", arg.span),), typ, 0, e.span)


def _enum_text(e: ast.Expr) -> str | None:
    if isinstance(e, ast.NameRef):
        return e.name
    if isinstance(e, ast.StringLit):
        return e.value
    return None


def _accepts(func: str, index: int, param: str, arg: str) -> bool:
    if arg in _WILDCARDS or param in ("var", "func"):
        return arg != "void" or param in ("var", "func")
    if arg == "void":
        return False
    if arg == "enum":
        return False
    extra = _EXTRA_ACCEPTS.get((func, index), set())
    if param in ("mvstr", "mvref", "mvbin", "mvattr"):
        if param == "mvattr" or (func in _ANY_LIST and is_multi(arg)):
            return True
        want = scalar_of(param)
        got = scalar_of(arg)
        return got == want or got == "var" or (want == "str" and got == "ref")
    if param == "variable":
        return False
    base = scalar_of(arg)  # multi-valued arguments apply per value
    if base == "var":
        return True
    return base == param or base in _ACCEPTS.get(param, set()) or base in extra


def _join_types(a: str, b: str) -> str:
    """The type of "either a or b" (IIF branches, Switch values)."""
    for quiet in ("null", "special", "void"):
        if a == quiet:
            return b
        if b == quiet:
            return a
    if a == b:
        return a
    if scalar_of(a) == scalar_of(b):
        return multi_of(scalar_of(a))
    return "var"


_WORDS = {
    "str": "text (str)",
    "num": "a number (num)",
    "bool": "a boolean (bool)",
    "bin": "binary (bin)",
    "ref": "a reference (ref)",
    "dt": "a date/time (dt)",
    "var": "any value",
    "null": "NULL",
    "special": "a flow-control constant",
    "void": "Error() (no value)",
    "exp": "a condition (exp)",
    "enum": "an enumeration value",
    "variable": "a $variable",
    "func": "an expression",
    "mvattr": "a multi-valued attribute",
}


def _type_words(t: str) -> str:
    if t in _WORDS:
        return _WORDS[t]
    if t.startswith("mv"):
        return f"a multi-valued {_WORDS.get(t[2:], t[2:]).split(' (')[0].replace('a ', '')} ({t})"
    return t
