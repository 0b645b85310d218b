"""Conversion built-ins: CBool, CDate, CGuid, CNum, CRef, CStr, Base64, UTF-8 hex, GUID and SID text,
and the two undocumented device-key helpers CBin and Thumbprint.

Byte orders follow the directory: GUIDs use the .NET/Windows layout (first three groups
little-endian, which is how ``objectGUID`` is stored) and SIDs the Windows binary layout.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
import uuid
from typing import Any

from syncrules.builtins._common import (
    WHITESPACE,
    EvalError,
    Ref,
    builtin,
    enum_name,
    expect_bytes,
    expect_dt,
    expect_int,
    expect_str,
    to_bool,
    to_num,
    to_text,
)

_ENCODINGS = ("Unicode", "ASCII", "UTF8")


@builtin("CBool", 1)
def cbool(value: Any) -> bool:
    return to_bool(value, "CBool")


@builtin("CDate", 1)
def cdate(value: Any) -> Any:
    """A date from text (UTC, with an optional zone offset); a date passes through."""
    return expect_dt(value, "CDate")


@builtin("CNum", 1)
def cnum(value: Any) -> int:
    return to_num(value, "CNum")


@builtin("CStr", 1)
def cstr(value: Any) -> str:
    return to_text(value, "CStr")


@builtin("CRef", 1)
def cref(value: Any) -> Ref:
    return Ref(to_text(value, "CRef"))


# ---------------------------------------------------------------------------- GUIDs

_GUID_RE = re.compile(
    r"(?P<d>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
    r"|\{(?P<b>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}"
    r"|\((?P<p>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\)"
    r"|(?P<n>[0-9a-fA-F]{32})"
)


def parse_guid(text: str) -> bytes | None:
    """The 16 bytes (.NET order) of a GUID written as 8-4-4-4-12 hex, in braces or parentheses, or as
    32 hex digits; None when the text is not a GUID. IsGuid and CGuid share this."""
    m = _GUID_RE.fullmatch(text.strip(WHITESPACE))
    if not m:
        return None
    digits = (m["d"] or m["b"] or m["p"] or m["n"]).replace("-", "")
    return uuid.UUID(hex=digits).bytes_le


@builtin("CGuid", 1)
def cguid(value: Any) -> bytes:
    raw = parse_guid(expect_str(value, "CGuid"))
    if raw is None:
        raise EvalError(f"CGuid: {value!r} is not a GUID (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)")
    return raw


@builtin("StringFromGuid", 1)
def string_from_guid(value: Any) -> str:
    """Lower-case 8-4-4-4-12 text, as .NET's Guid.ToString() writes it."""
    raw = expect_bytes(value, "StringFromGuid", "GUID")
    if len(raw) != 16:
        raise EvalError(f"StringFromGuid: a GUID is 16 bytes, not {len(raw)}")
    return str(uuid.UUID(bytes_le=raw))


# ---------------------------------------------------------------------------- SIDs


# Per sub-authority count (0..15): the little-endian 32-bit words and their "-n" text, so a SID is
# read with two ``unpack_from`` calls and written with one ``%`` instead of a loop per word.
_SID_SUBS = tuple(struct.Struct(f"<{n}I") for n in range(16))
_SID_TEXT = tuple("-%d" * n for n in range(16))
_SID_AUTHORITY = struct.Struct(">HI")  # the 48-bit big-endian authority as high 16 + low 32 bits


@builtin("StringFromSid", 1)
def string_from_sid(value: Any) -> str:
    """Binary SID -> ``S-1-5-21-...``: revision byte, sub-authority count, 48-bit big-endian
    authority, then 32-bit little-endian sub-authorities."""
    raw = expect_bytes(value, "StringFromSid", "SID")
    if len(raw) < 8 or raw[0] != 1:
        raise EvalError("StringFromSid: the value is not a binary SID (it must start with revision 1)")
    count = raw[1]
    if count > 15 or len(raw) != 8 + 4 * count:
        raise EvalError(
            f"StringFromSid: a SID with {count} sub-authorities is {8 + 4 * count} bytes, not {len(raw)}"
        )
    high, low = _SID_AUTHORITY.unpack_from(raw, 2)
    text = f"S-1-{low}" if not high else f"S-1-0x{(high << 32) | low:012X}"  # decimal below 2**32
    return text + _SID_TEXT[count] % _SID_SUBS[count].unpack_from(raw, 8)


# ---------------------------------------------------------------------------- Base64 and hex


@builtin("ConvertToBase64", 1)
def convert_to_base64(value: Any) -> str:
    """Text is encoded as UTF-16LE ("Unicode") first; binary values are encoded as they are."""
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    return base64.b64encode(to_text(value, "ConvertToBase64").encode("utf-16-le", "surrogatepass")).decode(
        "ascii"
    )


def _decode(raw: bytes, encoding: str) -> str:
    """.NET decoders never fail: invalid input becomes U+FFFD, or '?' for ASCII."""
    if encoding == "UTF8":
        return raw.decode("utf-8", "replace")
    if encoding == "ASCII":
        return "".join(chr(b) if b < 0x80 else "?" for b in raw)
    return raw.decode("utf-16-le", "replace")


@builtin("ConvertFromBase64", 1, 2)
def convert_from_base64(value: Any, encoding: Any = "Unicode") -> str:
    text = expect_str(value, "ConvertFromBase64")
    enc = enum_name(encoding, "ConvertFromBase64", _ENCODINGS)
    compact = "".join(c for c in text if c not in WHITESPACE)
    try:
        raw = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise EvalError(f"ConvertFromBase64: {text!r} is not valid Base64") from None
    return _decode(raw, enc)


@builtin("ConvertToUTF8Hex", 1)
def convert_to_utf8_hex(value: Any) -> str:
    """Upper-case hex of the UTF-8 bytes (binary input: of the bytes themselves)."""
    if value.__class__ is str:  # the usual case first: to_text would return it unchanged
        return value.encode("utf-8", "surrogatepass").hex().upper()
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex().upper()
    return to_text(value, "ConvertToUTF8Hex").encode("utf-8", "surrogatepass").hex().upper()


_HEX_RE = re.compile(r"(?:[0-9A-Fa-f]{2})*")


@builtin("ConvertFromUTF8Hex", 1)
def convert_from_utf8_hex(value: Any) -> str:
    text = expect_str(value, "ConvertFromUTF8Hex")
    if not _HEX_RE.fullmatch(text):
        raise EvalError(f"ConvertFromUTF8Hex: {text!r} is not an even number of hex digits")
    return bytes.fromhex(text).decode("utf-8", "replace")


# ---------------------------------------------------------------------------- device keys (undocumented)


@builtin("CBin", 2)
def cbin(value: Any, length: Any) -> bytes:
    """``length`` bytes, little-endian. Inferred from Microsoft's device-key rule, which builds a
    KEYCREDENTIALLINK entry: ``CBin(Len(hash),2)`` is its 2-byte length, ``CBin(2,1)`` its type."""
    n = expect_int(value, "CBin", "value")
    size = expect_int(length, "CBin", "length")
    if not 1 <= size <= 8:
        raise EvalError(f"CBin: the length must be 1 to 8 bytes, not {size}")
    if not -(1 << (8 * size - 1)) <= n < (1 << (8 * size)):
        raise EvalError(f"CBin: {n} does not fit in {size} byte(s)")
    return (n & ((1 << (8 * size)) - 1)).to_bytes(size, "little")


@builtin("Thumbprint", 1)
def thumbprint(value: Any) -> bytes:
    """SHA-256 of the bytes (32 bytes). The device-key rule stores it as a KeyHash entry, which
    MS-ADTS defines as the SHA-256 hash of the entries that follow it."""
    return hashlib.sha256(expect_bytes(value, "Thumbprint")).digest()
