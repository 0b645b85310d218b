"""Directory built-ins: DNComponent, DNComponentRev and EscapeDNComponent (RFC 4514 escaping).

DN components are returned *as written*, escapes included (``CN=a\\,b,...`` gives ``a\\,b``). That
is what lets Microsoft's conflict-object check ``InStr(DNComponent(CRef([dn]),1),"\\0ACNF:")``
find the escaped line feed AD writes into a conflict name, and it means a component can be put
back into a DN without re-escaping.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from syncrules.builtins._common import EvalError, builtin, enum_name, expect_int, to_text

_TYPE_RE = re.compile(r"\s*(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)*)\s*")


def _split_unescaped(text: str, sep: str) -> list[str]:
    """Split at ``sep`` where it is neither backslash-escaped nor inside double quotes."""
    parts: list[str] = []
    start = 0
    i = 0
    quoted = False
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == '"':
            quoted = not quoted
        elif c == sep and not quoted:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    return parts


def _strip_unescaped(text: str) -> str:
    """Strip surrounding spaces, keeping a trailing space that is escaped (``a\\ ``)."""
    text = text.lstrip(" ")
    while text.endswith(" "):
        backslashes = len(text) - 1 - len(text[:-1].rstrip("\\"))
        if backslashes % 2:
            break
        text = text[:-1]
    return text


_TYPE_OK: dict[str, bool] = {}
"""Attribute types already checked against ``_TYPE_RE`` (the same few, ``CN``/``OU``/``DC``, recur in
every DN). Only short texts, at most ``_TYPE_OK_MAX`` of them: hostile input cannot grow it."""
_TYPE_OK_MAX = 1024


def _type_ok(text: str) -> bool:
    """``_TYPE_RE.fullmatch(text)``, remembered per text: a dict lookup instead of a regex match."""
    ok = _TYPE_OK.get(text)
    if ok is None:
        ok = _TYPE_RE.fullmatch(text) is not None
        if len(text) <= 64 and len(_TYPE_OK) < _TYPE_OK_MAX:
            _TYPE_OK[text] = ok
    return ok


def _not_a_dn(dn: str, rdn: str) -> EvalError:
    return EvalError(f"{dn!r} is not a distinguished name (component {rdn!r} has no attribute=value)")


def _split_dn_slow(dn: str) -> tuple[tuple[str, str], ...]:
    """The general reading: backslash escapes and double-quoted values, character by character."""
    out: list[tuple[str, str]] = []
    for part in _split_unescaped(dn, ","):
        rdn = _strip_unescaped(part)
        eq = _split_unescaped(rdn, "=")
        if len(eq) < 2 or not _TYPE_RE.fullmatch(eq[0]):
            raise _not_a_dn(dn, rdn)
        out.append((eq[0].strip(), rdn[len(eq[0]) + 1 :].lstrip(" ")))
    return tuple(out)


def _split_dn_fast(dn: str) -> tuple[tuple[str, str], ...]:
    """:func:`_split_dn_slow` for a DN without ``\\`` and ``"`` (almost every DN), with the same
    result and the same error. Nothing is escaped or quoted, so every ``,`` separates components
    and the first ``=`` of one separates type and value; ``_strip_unescaped`` is ``strip(" ")``,
    and stripping the whole component first changes neither part: its leading spaces fall before
    the ``=`` (where ``_TYPE_RE`` and ``strip()`` ignore them), its trailing ones after it."""
    out: list[tuple[str, str]] = []
    append = out.append
    known = _TYPE_OK
    for part in dn.split(","):
        typ, eq, value = part.partition("=")
        if not eq or not (known.get(typ) or _type_ok(typ)):
            raise _not_a_dn(dn, part.strip(" "))
        append((typ.strip(), value.strip(" ")))
    return tuple(out)


@lru_cache(maxsize=1024)
def split_dn(dn: str) -> tuple[tuple[str, str], ...]:
    """The RDNs of a DN, left to right, as (attribute type, value as written) pairs.

    Cached: the same DNs (and their parents) recur across a whole run. A DN without backslashes
    and double quotes (the usual case; every user's DN is a cache miss) is split with ``str.split``.
    """
    if not dn.strip():
        return ()
    if "\\" in dn or '"' in dn:
        return _split_dn_slow(dn)
    # The first component, then the parent from a cache of its own: every user's DN is new, but
    # its parent (the OU) recurs, and reading it again was most of the cost. Without escapes each
    # "," separates components, so this is _split_dn_fast's result; a malformed DN (an empty or
    # bad component anywhere) is read whole, for the error that names the whole DN.
    first, comma, parent = dn.partition(",")
    if comma and parent.strip():
        typ, eq, value = first.partition("=")
        if eq and (_TYPE_OK.get(typ) or _type_ok(typ)):
            try:
                return ((typ.strip(), value.strip(" ")), *_split_parent(parent))
            except EvalError:
                pass
    return _split_dn_fast(dn)


@lru_cache(maxsize=1024)
def _split_parent(dn: str) -> tuple[tuple[str, str], ...]:
    return _split_dn_fast(dn)


def _components(dn: Any, fname: str) -> tuple[tuple[str, str], ...]:
    try:
        return split_dn(to_text(dn, fname))
    except EvalError as exc:
        raise EvalError(f"{fname}: {exc.message}") from None


@builtin("DNComponent", 2)
def dn_component(dn: Any, component_number: Any) -> str | None:
    """The value of the n-th RDN from the left (1-based); NULL when there is no such component."""
    rdns = _components(dn, "DNComponent")
    n = expect_int(component_number, "DNComponent", "component number")
    return rdns[n - 1][1] if 1 <= n <= len(rdns) else None


@builtin("DNComponentRev", 2, 3)
def dn_component_rev(dn: Any, component_number: Any, options: Any = None) -> str | None:
    """The value of the n-th RDN from the right; with ``DC``, ``dc=`` components are not counted."""
    rdns = _components(dn, "DNComponentRev")
    n = expect_int(component_number, "DNComponentRev", "component number")
    if options is not None and enum_name(options, "DNComponentRev", ("DC",)) == "DC":
        rdns = tuple(r for r in rdns if r[0].lower() != "dc")
    return rdns[-n][1] if 1 <= n <= len(rdns) else None


_SPECIAL = frozenset(',+"\\<>;')


def escape_value(value: str) -> str:
    """RFC 4514 section 2.4: backslash before ``, + " \\ < > ;``, a leading ``#`` or space and a
    trailing space; control characters as ``\\XX`` hex (AD's own form, e.g. ``\\0A``)."""
    out: list[str] = []
    last = len(value) - 1
    for i, c in enumerate(value):
        if c in _SPECIAL or (i == 0 and c in " #") or (i == last and c == " "):
            out.append("\\" + c)
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append(f"\\{ord(c):02X}")
        else:
            out.append(c)
    return "".join(out)


@builtin("EscapeDNComponent", 1)
def escape_dn_component(value: Any) -> str:
    """Escape one RDN. Text before the first ``=`` that is an attribute type (``cn=``, ``OU =``, an
    OID) is kept as it is and only the value is escaped, so ``EscapeDNComponent("CN=" & [name])``
    works as in Microsoft's example; text without such a prefix is escaped as a whole value."""
    text = to_text(value, "EscapeDNComponent")
    prefix, sep, rest = text.partition("=")
    if sep and _TYPE_RE.fullmatch(prefix):
        value = rest.lstrip(" ")  # spaces after "=" separate, as split_dn reads them
        return prefix + "=" + rest[: len(rest) - len(value)] + escape_value(value)
    return escape_value(text)
