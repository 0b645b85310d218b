"""Text built-ins called directly (no parser or type checker in between)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncrules.builtins import text
from syncrules.runtime.values import EvalError, Ref


class TestLeftRightMid:
    def test_documented_examples(self) -> None:
        assert text.left("John Doe", 3) == "Joh"
        assert text.right("John Doe", 3) == "Doe"
        assert text.mid("John Doe", 3, 5) == "hn Do"
        assert text.mid("John Doe", 6, 999) == "Doe"

    @pytest.mark.parametrize("fn", [text.left, text.right])
    def test_documented_edges(self, fn: object) -> None:
        assert fn("abc", 0) == ""  # type: ignore[operator]
        assert fn("abc", -1) == "abc"  # type: ignore[operator]
        assert fn("abc", 10) == "abc"  # type: ignore[operator]
        assert fn(None, 2) == ""  # type: ignore[operator]
        assert fn("abc", None) is None  # type: ignore[operator]

    def test_mid_start_rules(self) -> None:
        assert text.mid("abc", 0, 1) == "abc"
        assert text.mid("abc", -3, 1) == "abc"
        assert text.mid("abc", 4, 1) == "abc"
        assert text.mid("abc", 2, 0) == ""
        assert text.mid("abc", 2, -5) == "abc"
        assert text.mid(None, 1, 1) == ""

    def test_two_argument_mid_is_the_rest(self) -> None:
        assert text.mid("SMTP:a@b", 6) == "a@b"
        assert text.mid("abc", 9) == "abc"

    def test_mid_count_of_minus_two_is_not_the_two_argument_form(self) -> None:
        assert text.mid("abcdef", 2, -2) == "abcdef"

    def test_binary_slicing(self) -> None:
        assert text.mid(b"\x00\x01\x02\x03", 2, 2) == b"\x01\x02"
        assert text.left(b"\x00\x01", 1) == b"\x00"
        assert text.right(b"\x00\x01", 0) == b""
        assert text.length(b"\x00\x01\x02") == 3

    def test_reference_input_becomes_text(self) -> None:
        result = text.left(Ref("CN=x"), 2)
        assert result == "CN" and type(result) is str

    @given(st.text(max_size=20), st.integers(-5, 25), st.integers(-5, 25))
    @settings(max_examples=150, deadline=None)
    def test_mid_never_exceeds_input(self, s: str, start: int, n: int) -> None:
        out = text.mid(s, start, n)
        assert len(out) <= len(s)
        assert out in s


class TestSearch:
    def test_instr(self) -> None:
        assert text.instr("The quick brown fox", "quick") == 5
        assert text.instr("repEated", "e", 3, "vbBinaryCompare") == 7
        assert text.instr("repEated", "e", 3, "vbTextCompare") == 4
        assert text.instr("abc", "") == 1
        assert text.instr("", "") == 0
        assert text.instr("abc", "c", 4) == 0
        with pytest.raises(EvalError, match="1 or more"):
            text.instr("abc", "a", 0)

    def test_instr_text_compare_keeps_positions_with_expanding_case_maps(self) -> None:
        # "İ".lower() is two code points in Python; positions must still count the original text.
        assert text.instr("İx", "x", 1, "vbTextCompare") == 2

    def test_instr_rev(self) -> None:
        assert text.instr_rev("abbcdbbbef", "bb") == 7
        assert text.instr_rev("abbcdbbbef", "bb", 7) == 6
        assert text.instr_rev("abc", "a", 4) == 0
        assert text.instr_rev("abc", "") == 3
        assert text.instr_rev("", "a") == 0
        with pytest.raises(EvalError):
            text.instr_rev("abc", "a", -2)

    def test_compare_enum_is_checked(self) -> None:
        with pytest.raises(EvalError, match="vbTextCompare"):
            text.instr("a", "a", 1, "Sideways")


class TestWord:
    def test_documented(self) -> None:
        assert text.word("The quick brown fox", 3, " ") == "brown"
        assert text.word("This,string!has&many separators", 3, ",!&#") == "has"

    def test_edges(self) -> None:
        assert text.word("a  b", 2, " ") == "b"
        assert text.word(",,a", 1, ",") == "a"
        assert text.word("a b", 3, " ") == ""
        assert text.word("a b", 0, " ") == ""
        assert text.word("a b", -1, " ") == ""
        assert text.word(None, 1, " ") == ""
        assert text.word("", 1, " ") == ""
        assert text.word("abc", 1, "") == "abc"
        assert text.word("a b", None, " ") is None


class TestCaseAndSpace:
    def test_case_mapping_keeps_length(self) -> None:
        assert text.ucase("straße") == "STRAßE"
        assert text.lcase("ÀÉÎ") == "àéî"
        assert text.pcase("TEsT") == "Test"
        assert text.pcase("ada  LOVELACE") == "Ada  Lovelace"
        assert text.pcase("") == ""

    def test_trim_uses_dotnet_white_space(self) -> None:
        assert text.trim("\u00a0\u2003x\u3000\t\r\n") == "x"
        assert text.trim("\x1cx\x1f") == "\x1cx\x1f"
        assert text.ltrim("  a  ") == "a  "
        assert text.rtrim("  a  ") == "  a"

    def test_binary_is_not_text(self) -> None:
        with pytest.raises(EvalError, match="binary"):
            text.trim(b"x")


class TestPadding:
    def test_pad(self) -> None:
        assert text.pad_left("User", 10, "0") == "000000User"
        assert text.pad_right("User", 10, "0") == "User000000"
        assert text.pad_left("User", 3, "0") == "User"
        assert text.pad_left(None, 3, "0") == ""
        assert text.pad_left("x", None, "0") is None

    def test_pad_character_must_be_one_character(self) -> None:
        with pytest.raises(EvalError, match="exactly one character"):
            text.pad_left("x", 3, "ab")
        with pytest.raises(EvalError, match="must not be NULL"):
            text.pad_right("x", 3, None)


class TestReplace:
    def test_monikers(self) -> None:
        assert text.replace("a\r\nb", "\\r\\n", ", ") == "a, b"
        assert text.replace("a,b", ",", "\\t") == "a\tb"
        assert text.replace("a\\tb", "x", "y") == "a\\tb"  # the text itself keeps backslashes

    def test_null_and_empty(self) -> None:
        assert text.replace(None, "a", "b") is None
        assert text.replace("abc", None, "x") == "abc"
        assert text.replace("abc", "", "x") == "abc"
        assert text.replace("abc", "b", None) == "ac"

    def test_replace_chars(self) -> None:
        pattern = "’:,Å:A,Ä:A,Ö:O,å:a,ä:a,ö:o"
        assert text.replace_chars("Räksmörgås", pattern) == "Raksmorgas"
        assert text.replace_chars("Größe", "ö:oe, ß:ss") == "Groesse"
        assert text.replace_chars("abc", None) == "abc"
        assert text.replace_chars(None, "a:b") is None

    def test_replace_chars_pattern_errors(self) -> None:
        for bad, message in (("ö,o", "no ':'"), ("ab:c", "one character"), ("a:b:c", "must not contain")):
            with pytest.raises(EvalError, match=message):
                text.replace_chars("x", bad)

    def test_replace_chars_pattern_is_parsed_once(self) -> None:
        text.parse_replace_pattern.cache_clear()
        for _ in range(3):
            text.replace_chars("abc", "a:b")
        assert text.parse_replace_pattern.cache_info().misses == 1
