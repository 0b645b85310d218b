"""Date/time built-ins called directly: CDate's parser, FILETIME, DateAdd, FormatDateTime."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncrules.builtins import datetime_ as d
from syncrules.runtime.values import EvalError

UTC = dt.timezone.utc


def at(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


class TestParse:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("2013-01-10 4:00 PM -8", at(2013, 1, 11)),
            ("12/25/2007", at(2007, 12, 25)),
            ("1/2/13", at(2013, 1, 2)),
            ("1/2/75", at(1975, 1, 2)),
            ("2012-01-01 23:00:00", at(2012, 1, 1, 23)),
            ("2013-01-10T16:00:00Z", at(2013, 1, 10, 16)),
            ("2013-01-10T16:00:00.1234567Z", at(2013, 1, 10, 16, 0, 0, 123456)),
            ("2013-01-10T16:00:00-08:00", at(2013, 1, 11, 0)),
            ("2013-01-10 16:00 +0530", at(2013, 1, 10, 10, 30)),
            ("2013-01-10 16:00 UTC", at(2013, 1, 10, 16)),
            ("2013-01-10 16:00 GMT+1", at(2013, 1, 10, 15)),
            ("10 Jan 2013", at(2013, 1, 10)),
            ("10-January-2013", at(2013, 1, 10)),
            ("Jan 10, 2013", at(2013, 1, 10)),
            ("Thu, 10 Jan 2013 16:00:00 GMT", at(2013, 1, 10, 16)),
            ("2013-01-10 12:00 AM", at(2013, 1, 10, 0)),
            ("2013-01-10 12:30 pm", at(2013, 1, 10, 12, 30)),
            ("20140905081453.0Z", at(2014, 9, 5, 8, 14, 53)),
            ("20140905081453Z", at(2014, 9, 5, 8, 14, 53)),
            ("201409050814-0100", at(2014, 9, 5, 9, 14)),
            ("20140905", at(2014, 9, 5)),
        ],
    )
    def test_accepted(self, text: str, expected: dt.datetime) -> None:
        assert d.parse_date(text) == expected

    @pytest.mark.parametrize(
        "text", ["", "tomorrow", "2013-02-30", "2013-13-01", "13:00 PM 2013-01-01", "2013-01-10 13:00 PM",
                 "2013-01-10 25:00", "2013-01-10 +15", "12345", "2013-01-10 4:00 XM"],
    )  # fmt: skip
    def test_rejected(self, text: str) -> None:
        assert d.parse_date(text) is None


class TestFiletime:
    def test_documented_pair(self) -> None:
        assert d.date_from_num(129699324000000000) == at(2012, 1, 1, 23)
        assert d.num_from_date(at(2012, 1, 1, 23)) == 129699324000000000

    def test_limits(self) -> None:
        assert d.date_from_num(0) == at(1601, 1, 1)
        assert d.date_from_num(d._MAX_TICKS).year == 9999
        for bad in (-1, d._MAX_TICKS + 1, 2**63 - 1):
            with pytest.raises(EvalError):
                d.date_from_num(bad)
        with pytest.raises(EvalError, match="before 1601"):
            d.num_from_date(at(1600, 12, 31))

    @given(st.integers(0, d._MAX_TICKS))
    @settings(max_examples=200, deadline=None)
    def test_round_trip_to_the_microsecond(self, ticks: int) -> None:
        assert d.num_from_date(d.date_from_num(ticks)) == ticks - ticks % 10


class TestDateAdd:
    def test_intervals(self) -> None:
        base = at(2001, 1, 31, 10)
        assert d.date_add("yyyy", 1, base) == at(2002, 1, 31, 10)
        assert d.date_add("q", 1, base) == at(2001, 4, 30, 10)
        assert d.date_add("m", 1, base) == at(2001, 2, 28, 10)
        assert d.date_add("m", -2, base) == at(2000, 11, 30, 10)
        assert d.date_add("y", 1, base) == at(2001, 2, 1, 10)
        assert d.date_add("d", 1, base) == at(2001, 2, 1, 10)
        assert d.date_add("w", 1, base) == at(2001, 2, 1, 10)
        assert d.date_add("ww", -1, base) == at(2001, 1, 24, 10)
        assert d.date_add("h", -11, base) == at(2001, 1, 30, 23)
        assert d.date_add("n", 1, base) == at(2001, 1, 31, 10, 1)
        assert d.date_add("s", 3600, base) == at(2001, 1, 31, 11)
        assert d.date_add(" YYYY ", 1, base) == at(2002, 1, 31, 10)

    def test_text_dates_are_read(self) -> None:
        assert d.date_add("m", 3, "2001-01-01") == at(2001, 4, 1)

    def test_errors(self) -> None:
        with pytest.raises(EvalError, match="unknown interval"):
            d.date_add("fortnight", 1, at(2001, 1, 1))
        with pytest.raises(EvalError):
            d.date_add("d", 10**7, at(2001, 1, 1))
        with pytest.raises(EvalError):
            d.date_add("m", -12 * 2001, at(2001, 1, 1))


class TestFormat:
    MOMENT = at(2007, 12, 25, 16, 5, 9, 123400)

    @pytest.mark.parametrize(
        ("fmt", "expected"),
        [
            ("yyyy-MM-dd", "2007-12-25"),
            ("yyyyMMddHHmmss.0Z", "20071225160509.0Z"),
            ("d/M/yy", "25/12/07"),
            ("ddd, dd MMM yyyy", "Tue, 25 Dec 2007"),
            ("dddd MMMM", "Tuesday December"),
            ("h:mm:ss tt", "4:05:09 PM"),
            ("hh t", "04 P"),
            ("HH:m:s", "16:5:9"),
            ("fff", "123"),
            ("fffffff", "1234000"),
            ("FFFFFFF", "1234"),
            ("ss.FF", "09.12"),
            ("yyyyy", "02007"),
            ("z zz zzz K g", "+0 +00 +00:00 Z A.D."),
            ("'yyyy' \"MM\" \\d", "yyyy MM d"),
            ("%h", "4"),
            ("", "12/25/2007 16:05:09"),
            ("D", "Tuesday, 25 December 2007"),
            ("g", "12/25/2007 16:05"),
            ("M", "December 25"),
            ("o", "2007-12-25T16:05:09.1234000Z"),
            ("t", "16:05"),
            ("T", "16:05:09"),
            ("y", "2007 December"),
            ("Y", "2007 December"),
            ("%y", "7"),
        ],
    )
    def test_formats(self, fmt: str, expected: str) -> None:
        assert d.format_datetime(self.MOMENT, fmt) == expected

    @pytest.mark.parametrize("fmt", ["ffffffff", "'open", "\\", "%", "%%", "Q", "a"])
    def test_invalid(self, fmt: str) -> None:
        with pytest.raises(EvalError):
            d.format_datetime(self.MOMENT, fmt)

    def test_midnight_and_noon_in_twelve_hour_form(self) -> None:
        assert d.format_datetime(at(2000, 1, 1, 0), "h tt") == "12 AM"
        assert d.format_datetime(at(2000, 1, 1, 12), "h tt") == "12 PM"

    def test_text_dates_are_read(self) -> None:
        assert d.format_date_time("12/25/2007", "yyyy-MM-dd") == "2007-12-25"
