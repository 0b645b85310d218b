"""Conversion built-ins called directly."""

from __future__ import annotations

import base64
import datetime as dt
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncrules.builtins import conversion as conv
from syncrules.builtins._common import parse_num, to_bool, to_num, to_text
from syncrules.runtime.values import EvalError, Ref

UTC = dt.timezone.utc


class TestScalarConversions:
    def test_cnum(self) -> None:
        assert conv.cnum("42") == 42
        assert conv.cnum(" -7\t") == -7
        assert conv.cnum("&HFF") == 255
        assert conv.cnum("&HFFFFFFFFFFFFFFFF") == -1
        assert conv.cnum(True) == 1
        assert conv.cnum(b"\x01\x02") == 0x0201
        for bad in ("4.2", "", "1e3", "9223372036854775808", "&H1FFFFFFFFFFFFFFFF"):
            with pytest.raises(EvalError):
                conv.cnum(bad)

    def test_cnum_limits(self) -> None:
        assert parse_num("9223372036854775807") == 2**63 - 1
        assert parse_num("-9223372036854775808") == -(2**63)
        with pytest.raises(EvalError, match="does not fit"):
            to_num(b"\x00" * 9)

    def test_cstr(self) -> None:
        assert conv.cstr(42) == "42"
        assert conv.cstr(True) == "True"
        assert type(conv.cstr(Ref("CN=x"))) is str
        assert conv.cstr(dt.datetime(2013, 1, 11, tzinfo=UTC)) == "2013-01-11T00:00:00Z"
        assert conv.cstr(dt.datetime(2013, 1, 11, 0, 0, 0, 250000, tzinfo=UTC)) == "2013-01-11T00:00:00.25Z"
        with pytest.raises(EvalError, match="bin value"):
            conv.cstr(b"\x00")

    def test_cbool(self) -> None:
        assert conv.cbool(2) is True
        assert conv.cbool(0) is False
        assert conv.cbool(" True ") is True
        assert conv.cbool("0") is False
        with pytest.raises(EvalError):
            conv.cbool("maybe")
        with pytest.raises(EvalError):
            to_bool(b"\x01")

    def test_cref(self) -> None:
        assert isinstance(conv.cref("CN=x"), Ref)
        assert conv.cref("CN=x") == "CN=x"

    def test_cdate_passes_dates_through(self) -> None:
        d = dt.datetime(2020, 1, 1, tzinfo=UTC)
        assert conv.cdate(d) is d
        assert conv.cdate("2013-01-10 4:00 PM -8") == dt.datetime(2013, 1, 11, tzinfo=UTC)

    @given(st.integers(-(2**63), 2**63 - 1))
    @settings(max_examples=100, deadline=None)
    def test_number_text_round_trip(self, n: int) -> None:
        assert to_num(to_text(n)) == n


class TestGuidAndSid:
    def test_guid_byte_order(self) -> None:
        raw = conv.cguid("00112233-4455-6677-8899-aabbccddeeff")
        assert raw.hex() == "33221100554477668899aabbccddeeff"
        assert conv.string_from_guid(raw) == "00112233-4455-6677-8899-aabbccddeeff"

    def test_guid_forms(self) -> None:
        expected = conv.cguid("00112233-4455-6677-8899-aabbccddeeff")
        for form in ("{00112233-4455-6677-8899-AABBCCDDEEFF}", "(00112233-4455-6677-8899-aabbccddeeff)",
                     "00112233445566778899aabbccddeeff", " 00112233-4455-6677-8899-aabbccddeeff "):  # fmt: skip
            assert conv.cguid(form) == expected
        for bad in (
            "{00112233-4455-6677-8899-aabbccddeeff",
            "urn:uuid:00112233-4455-6677-8899-aabbccddeeff",
            "",
        ):
            assert conv.parse_guid(bad) is None

    @given(st.uuids())
    @settings(max_examples=100, deadline=None)
    def test_guid_round_trip(self, value: uuid.UUID) -> None:
        assert conv.string_from_guid(conv.cguid(str(value))) == str(value)
        assert conv.cguid(str(value)) == value.bytes_le

    def test_string_from_guid_length(self) -> None:
        with pytest.raises(EvalError, match="16 bytes"):
            conv.string_from_guid(b"\x00" * 15)

    def test_sids(self) -> None:
        def sid(authority: int, *subs: int) -> bytes:
            return (
                bytes([1, len(subs)])
                + authority.to_bytes(6, "big")
                + b"".join(s.to_bytes(4, "little") for s in subs)
            )

        assert conv.string_from_sid(sid(5, 32, 544)) == "S-1-5-32-544"
        assert conv.string_from_sid(sid(1, 0)) == "S-1-1-0"
        assert conv.string_from_sid(sid(5)) == "S-1-5"
        assert conv.string_from_sid(sid(2**40, 1)) == "S-1-0x010000000000-1"
        with pytest.raises(EvalError, match="revision 1"):
            conv.string_from_sid(b"\x02" + sid(5, 1)[1:])
        with pytest.raises(EvalError, match="sub-authorities"):
            conv.string_from_sid(sid(5, 1, 2)[:-1])


class TestEncodings:
    def test_base64(self) -> None:
        assert conv.convert_to_base64("Hello world!") == "SABlAGwAbABvACAAdwBvAHIAbABkACEA"
        assert conv.convert_to_base64(b"\x01\x02") == "AQI="
        assert conv.convert_from_base64("SABlAGwAbABvACAAdwBvAHIAbABkACEA") == "Hello world!"
        assert conv.convert_from_base64("SGVsbG8gd29ybGQh", "UTF8") == "Hello world!"
        assert conv.convert_from_base64("SGVs bG8=\n", "ASCII") == "Hello"  # white space is ignored
        assert conv.convert_from_base64(base64.b64encode(b"\xff\x41").decode(), "ASCII") == "?A"
        assert conv.convert_from_base64("QQ==", "Unicode") == "\ufffd"  # one byte is half a UTF-16 unit
        with pytest.raises(EvalError, match="Base64"):
            conv.convert_from_base64("abc")
        with pytest.raises(EvalError, match="Unicode, ASCII, UTF8"):
            conv.convert_from_base64("QQ==", "EBCDIC")

    def test_utf8_hex(self) -> None:
        assert conv.convert_to_utf8_hex("Hello world!") == "48656C6C6F20776F726C6421"
        assert conv.convert_to_utf8_hex(b"\xab") == "AB"
        assert conv.convert_from_utf8_hex("c3a9") == "é"
        for bad in ("A", "GG", "0 1"):
            with pytest.raises(EvalError):
                conv.convert_from_utf8_hex(bad)

    @given(st.text(st.characters(exclude_categories=("Cs",)), max_size=40))
    @settings(max_examples=150, deadline=None)
    def test_round_trips(self, s: str) -> None:
        assert conv.convert_from_base64(conv.convert_to_base64(s)) == s
        assert conv.convert_from_base64(base64.b64encode(s.encode("utf-8")).decode(), "UTF8") == s
        assert conv.convert_from_utf8_hex(conv.convert_to_utf8_hex(s)) == s


class TestDeviceKeyHelpers:
    def test_cbin_little_endian(self) -> None:
        assert conv.cbin(2, 1) == b"\x02"
        assert conv.cbin(32, 2) == b"\x20\x00"
        assert conv.cbin(-1, 2) == b"\xff\xff"
        assert conv.cbin(2**64 - 1, 8) == b"\xff" * 8
        with pytest.raises(EvalError, match="does not fit"):
            conv.cbin(256, 1)
        with pytest.raises(EvalError, match="1 to 8"):
            conv.cbin(0, 9)

    def test_thumbprint_is_sha256(self) -> None:
        import hashlib

        assert conv.thumbprint(b"abc") == hashlib.sha256(b"abc").digest()
        with pytest.raises(EvalError, match="binary"):
            conv.thumbprint("abc")
