"""``run_check``: one model for compiler and lint diagnostics, four formats, exit codes 0/1/2,
and inline suppression."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from syncrules.diagnostics.github import escape_data, escape_property, render_github
from syncrules.diagnostics.model import Diagnostic, Severity
from syncrules.lint.command import run_check
from syncrules.source import Span
from tests.lint.harness import SCHEMA


def write(tmp: Path, sync: str, name: str = "rules.sync") -> Path:
    path = tmp / name
    path.write_text(f'import "{SCHEMA.as_posix()}"\n{sync}', encoding="utf-8")
    return path


CLEAN = """
rule "In from AD - User Join" {
  inbound from "contoso.com" user to person
  link provision
  precedence 10
  join { objectGUID = sourceAnchorBinary }
  flow sourceAnchorBinary <- objectGUID
}
"""
WARNING = CLEAN + """
rule "In from AD - User Common" {
  inbound from "contoso.com" user to person
  precedence 11
  flow department <- department once
}
"""
ERROR = CLEAN + """
rule "In from AD - User Checks" {
  inbound from "contoso.com" user to person
  precedence 12
  flow department <- Error("no")
}
"""


def test_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_check([str(write(tmp_path, CLEAN, "a.sync"))]) == 0
    assert capsys.readouterr().out == ""  # text prints nothing when there is nothing to say
    warn = write(tmp_path, WARNING, "b.sync")
    assert run_check([str(warn)]) == 0
    assert run_check([str(warn)], fail_on="warning") == 1
    assert run_check([str(write(tmp_path, ERROR, "c.sync"))]) == 1
    capsys.readouterr()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fmt": "yaml"}, "unknown format 'yaml'"),
        ({"select": ["SL999"]}, "unknown rule or category 'SL999'"),
        ({"ignore": ["nonsense"]}, "unknown rule or category 'nonsense'"),
        ({"fail_on": "never"}, "unknown fail level 'never'"),
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], kwargs: dict, message: str) -> None:
    assert run_check([str(write(tmp_path, CLEAN))], **kwargs) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.out == ""


def test_compiler_and_lint_diagnostics_share_one_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    warned = WARNING.replace("flow sourceAnchorBinary <- objectGUID", "flow sourceAnchorBinary <- objectGUID\n  flow department <- department, mail")
    assert run_check([str(write(tmp_path, warned))], "json") == 0
    doc = json.loads(capsys.readouterr().out)
    codes = [(d["code"], d["name"], d["span"]["line"]) for d in doc["diagnostics"]]
    assert codes == [("SR306", "multi-source-expression", 9), ("SL305", "once-without-provision", 15)]
    assert doc["summary"] == {"errors": 0, "warnings": 2, "infos": 0}


def test_no_lint_on_a_configuration_with_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = WARNING.replace("flow sourceAnchorBinary <- objectGUID", "flow sourceAnchorBinary <- objectGUID\n  flow mail <- [nosuch]")
    assert run_check([str(write(tmp_path, broken))], "json") == 1
    doc = json.loads(capsys.readouterr().out)
    assert [d["code"] for d in doc["diagnostics"]] == ["SR101"]


def test_comma_separated_selectors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, WARNING)
    assert run_check([str(path)], "json", ["SL101,SL305"]) == 0
    assert [d["code"] for d in json.loads(capsys.readouterr().out)["diagnostics"]] == ["SL305"]
    assert run_check([str(path)], "json", None, ["safety"]) == 0
    assert json.loads(capsys.readouterr().out)["diagnostics"] == []


def test_text_format_with_code_frame_and_colour(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, WARNING)
    run_check([str(path)], "text", ["SL305"])
    out = capsys.readouterr().out
    assert "warning[SL305] once-without-provision:" in out
    assert "flow department <- department once" in out and "Found 1 warning." in out
    run_check([str(path)], "text", ["SL305"], color=True)
    assert "\x1b[" in capsys.readouterr().out


def test_suppression_on_the_line_and_the_line_before(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = WARNING.replace(
        "  flow department <- department once",
        "  # syncrules: ignore[once-without-provision] the importer wrote it\n"
        "  # another comment\n"
        "  flow department <- department once\n"
        "  flow mail <- mail once  # syncrules: ignore[SL305]\n"
        "  flow displayName <- displayName once",
    )
    path = write(tmp_path, text)
    assert run_check([str(path)], "json", ["SL305", "SL001"]) == 0
    diags = json.loads(capsys.readouterr().out)["diagnostics"]
    assert [(d["code"], d["span"]["line"]) for d in diags] == [("SL305", 18)]


def test_compiler_diagnostics_cannot_be_suppressed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = CLEAN.replace(
        "flow sourceAnchorBinary <- objectGUID", "flow department <- department, mail  # syncrules: ignore[SR306]"
    )
    assert run_check([str(write(tmp_path, text))], "json") == 0
    codes = sorted(d["code"] for d in json.loads(capsys.readouterr().out)["diagnostics"])
    assert codes == ["SL002", "SR306"]


def test_sarif_output(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, WARNING.replace("precedence 10", "precedence 10\n  password-sync"))
    (tmp_path / "syncrules.toml").write_text('[lint]\ndocs-url = "https://docs.example/{code}/{name}"\n', encoding="utf-8")
    assert run_check(["rules.sync"], "sarif") == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["version"] == "2.1.0" and doc["$schema"].endswith("sarif-2.1.0.json")
    (run,) = doc["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["SL305"]
    assert rules[0]["name"] == "once-without-provision"
    assert rules[0]["helpUri"] == "https://docs.example/SL305/once-without-provision"
    assert rules[0]["help"]["markdown"].startswith("# SL305 once-without-provision")
    assert rules[0]["defaultConfiguration"]["level"] == "warning"
    (result,) = run["results"]
    assert result["ruleId"] == "SL305" and result["ruleIndex"] == 0 and result["level"] == "warning"
    loc = result["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"] == {"uri": "rules.sync", "uriBaseId": "%SRCROOT%"}
    assert loc["region"]["startLine"] == 15 and loc["region"]["startColumn"] == 8
    assert result["partialFingerprints"]["syncrulesFinding/v1"]


def test_github_output(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, ERROR)
    assert run_check(["rules.sync"], "github") == 1
    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith("::error file=rules.sync,line=14,col=22,endLine=14,endColumn=33,title=SL304 unguarded-error::")
    assert "%0Ahelp: " in line and "docs/rules/SL304.md" in line


def test_github_escaping() -> None:
    assert escape_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert escape_property("a:b,c") == "a%3Ab%2Cc"
    diag = Diagnostic("SR001", Severity.INFO, "line one\nline two", Span("dir,1/x:y.sync", 1, 1, 1, 2))
    out = render_github([diag])
    assert out == "::notice file=dir%2C1/x%3Ay.sync,line=1,col=1,endLine=1,endColumn=2,title=SR001 unreadable-file::line one%0Aline two\n"


STD_CUSTOM = """import std "aadconnect/defaults"

override "In from AD - User Common" { disabled }

rule "In from AD - User Common (Contoso)" {
  inbound from "AD" user to person
  precedence 106
  flow department <- Trim([department])
}
"""


def test_standard_library_findings_are_hidden_unless_it_is_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from syncrules.resources import stdlib_dir

    (tmp_path / "custom.sync").write_text(STD_CUSTOM, encoding="utf-8")
    run_check([str(tmp_path)], "json")
    lint = [d for d in json.loads(capsys.readouterr().out)["diagnostics"] if d["code"].startswith("SL")]
    # Only the user's own rule: it ties with the default it replaces, and sits in the reserved range.
    assert sorted(d["code"] for d in lint) == ["SL104", "SL602"]
    assert all(d["span"]["file"].endswith("custom.sync") for d in lint)
    tie = next(d for d in lint if d["code"] == "SL104")
    assert "AD-inbound.sync" in tie["labels"][0]["span"]["file"]
    # Checking the standard library itself shows its findings.
    run_check([str(stdlib_dir() / "aadconnect")], "json", ["SL213"])
    assert json.loads(capsys.readouterr().out)["diagnostics"]
