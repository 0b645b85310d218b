"""`syncrules eval`: one JSON document per value kind; errors are diagnostics with exit 1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from syncrules.cli import main


def ev(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["eval", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (['Trim([givenName]) & " " & UCase([sn])', "--attr", "givenName=  Ada ", "--attr", "sn=Lovelace"], "Ada LOVELACE"),
        (["IIF(InStr([p],\"SIP:\")=1,NULL,[p])", "--attr", "p=SMTP:a@x", "--attr", "p=SIP:a@x"], ["SMTP:a@x"]),
        (["Len([x])", "--attr", "x=abc"], 3),
        (["IsPresent([missing])"], False),
        (["[missing]"], None),
        (['CGuid("{00112233-4455-6677-8899-aabbccddeeff}")'], {"binary": "MyIRAFVEd2aImaq7zN3u/w=="}),
        (["Now()", "--now", "2026-01-02T03:04:05Z"], "2026-01-02T03:04:05Z"),
        (["AuthoritativeNull"], {"special": "AuthoritativeNull"}),
        (["IgnoreThisFlow"], {"special": "IgnoreThisFlow"}),
        (["%Domain.FQDN%", "--param", "Domain.FQDN=contoso.com"], "contoso.com"),
    ],
)
def test_values(args: list[str], expected: object) -> None:
    code, out, _ = ev(*args)
    assert code == 0
    assert json.loads(out) == expected
    assert out.count("\n") == 1  # exactly one JSON document


def test_typed_object(tmp_path: Path) -> None:
    obj = tmp_path / "user.json"
    obj.write_text(
        json.dumps(
            {
                "attributes": {
                    "uac": 514,
                    "objectSid": {"binary": "AQUAAAAAAAUVAAAA3PTcO4M9K0aCi6YoTAQAAA=="},
                    "when": {"datetime": "2024-01-01T12:00:00Z"},
                    "proxyAddresses": ["SMTP:a@x", "smtp:b@x"],
                }
            }
        ),
        encoding="utf-8",
    )
    assert json.loads(ev("IsBitSet([uac], 2)", "--object", str(obj))[1]) is True
    assert json.loads(ev("StringFromSid([objectSid])", "--object", str(obj))[1]).startswith("S-1-5-21-")
    assert json.loads(ev('FormatDateTime([when], "yyyyMMdd")', "--object", str(obj))[1]) == "20240101"
    assert json.loads(ev("Count([proxyAddresses])", "--object", str(obj))[1]) == 2


def test_errors_are_diagnostics() -> None:
    code, out, err = ev('Error("boom")')
    assert code == 1 and out == "" and "error[SR600]" in err and "boom" in err and "<expression>:1:1" in err
    code, _, err = ev("Left([x])")
    assert code == 1 and "SR201" in err
    code, _, err = ev("trim([x])")
    assert code == 1 and "did you mean `Trim`" in err
    code, _, err = ev("IIF(")
    assert code == 1 and "Traceback" not in err
    assert ev("[x]", "--attr", "novalue")[0] == 2
