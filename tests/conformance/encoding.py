"""The typed YAML encoding of attribute values and expected results (see README.md here).

Attributes need a *type* as well as a value, because the type checker resolves overloads from
declared attribute types (an absent ``str`` attribute and an absent ``bin`` one are both NULL at
run time but type-check differently). Expected results need to tell ``"x"`` from ``ref "x"`` and
bytes from text, which plain YAML cannot.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from syncrules.runtime.values import AUTHORITATIVE_NULL, IGNORE_THIS_FLOW, Ref, _Special

from .certificates import fixtures

SCALARS = ("str", "num", "bool", "bin", "ref", "dt")
SPECIALS = {"AuthoritativeNull": AUTHORITATIVE_NULL, "IgnoreThisFlow": IGNORE_THIS_FLOW}


def parse_datetime(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc)


def _binary(spec: Any) -> bytes:
    if isinstance(spec, dict):
        if "base64" in spec:
            return base64.b64decode(spec["base64"])
        if "hex" in spec:
            return bytes.fromhex(spec["hex"])
        if "fixture" in spec:
            return fixtures()[spec["fixture"]]
        if "utf16" in spec:
            return str(spec["utf16"]).encode("utf-16-le")
    if isinstance(spec, str):
        return base64.b64decode(spec)
    raise ValueError(f"cannot read a binary value from {spec!r}")


def _scalar(kind: str, spec: Any) -> Any:
    if spec is None:
        return None
    if kind == "bin":
        return _binary(spec)
    if isinstance(spec, dict) and "fixture" in spec:  # a fixture's text (e.g. a Base64 certificate)
        raw = fixtures()[spec["fixture"]].decode("ascii")
        return Ref(raw) if kind == "ref" else raw
    if kind == "str":
        if not isinstance(spec, str):
            raise ValueError(f"not a string: {spec!r}")
        return spec
    if kind == "num":
        if not isinstance(spec, int) or isinstance(spec, bool):
            raise ValueError(f"not a number: {spec!r}")
        return spec
    if kind == "bool":
        if not isinstance(spec, bool):
            raise ValueError(f"not a Boolean: {spec!r}")
        return spec
    if kind == "ref":
        return Ref(str(spec))
    if kind == "dt":
        return parse_datetime(str(spec))
    raise ValueError(f"unknown attribute type {kind!r}")


def _infer(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "num"
    if isinstance(value, list):
        inner = {_infer(v) for v in value}
        if len(inner) != 1:
            raise ValueError(f"give a type for the mixed or empty list {value!r}")
        return "mv" + inner.pop()
    return "str"


def decode_attribute(spec: Any) -> tuple[str, Any]:
    """(type, run-time value) of one ``attrs`` entry.

    Plain YAML: a string, number, Boolean or a list of one of those. Typed:
    ``{type: bin, base64: ...}``, ``{type: bin, hex: ...}``, ``{type: bin, fixture: rsa_cert}``,
    ``{type: ref, value: "CN=..."}``, ``{type: dt, value: "2012-01-01T00:00:00Z"}``,
    ``{type: mvbin, value: [{fixture: ...}, ...]}``, and ``{type: str, value: null}`` for an absent
    attribute of a known type.
    """
    if isinstance(spec, dict) and "type" in spec:
        kind = str(spec["type"])
        payload = spec.get("value", {k: v for k, v in spec.items() if k != "type"} or None)
        if kind.startswith("mv"):
            element = kind[2:]
            if payload is None:
                return kind, None
            return kind, [_scalar(element, v) for v in payload]
        return kind, _scalar(kind, payload)
    if spec is None:
        return "str", None
    kind = _infer(spec)
    if kind.startswith("mv"):
        return kind, [_scalar(kind[2:], v) for v in spec]
    return kind, _scalar(kind, spec)


def decode_expected(spec: Any) -> Any:
    """The run-time value an ``expect:`` entry stands for."""
    if isinstance(spec, list):
        return [decode_expected(v) for v in spec]
    if isinstance(spec, dict):
        if "binary" in spec:
            return base64.b64decode(spec["binary"])
        if "hex" in spec:
            return bytes.fromhex(spec["hex"])
        if "datetime" in spec:
            return parse_datetime(spec["datetime"])
        if "ref" in spec:
            return Ref(spec["ref"])
        if "special" in spec:
            return SPECIALS[spec["special"]]
        raise ValueError(f"unknown expected-value form {spec!r}")
    return spec


def encode(value: Any) -> Any:
    """A run-time value in the same notation (for readable failure messages)."""
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return {"binary": base64.b64encode(value).decode("ascii")}
    if isinstance(value, dt.datetime):
        return {"datetime": value.isoformat().replace("+00:00", "Z")}
    if isinstance(value, Ref):
        return {"ref": str.__str__(value)}
    if isinstance(value, _Special):
        return {"special": value.name}
    return value


def same(actual: Any, expected: Any) -> bool:
    """Equal *and* of the same kind: True is not 1, "x" is not ref "x", text is not bytes."""
    if isinstance(expected, list) or isinstance(actual, list):
        return (
            isinstance(expected, list)
            and isinstance(actual, list)
            and len(actual) == len(expected)
            and all(same(a, e) for a, e in zip(actual, expected, strict=True))
        )
    if isinstance(expected, _Special) or isinstance(actual, _Special):
        return actual is expected
    if type(actual) is not type(expected):
        return False
    return bool(actual == expected)
