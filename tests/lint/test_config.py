"""syncrules.toml ``[lint]`` and the command line: selection, severities, options, per-file
ignores, and errors that point into the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from syncrules.diagnostics.model import Severity
from syncrules.lint.command import run_check
from syncrules.lint.config import ConfigError, find_config, resolve
from syncrules.lint.registry import all_rules
from tests.lint.harness import SCHEMA

ALL = {r.code for r in all_rules()}


def write(tmp: Path, toml: str | None, sync: str, name: str = "rules.sync") -> Path:
    if toml is not None:
        (tmp / "syncrules.toml").write_text(toml, encoding="utf-8")
    path = tmp / name
    path.write_text(f'import "{SCHEMA.as_posix()}"\n{sync}', encoding="utf-8")
    return path


TIED = """
rule "In from AD - User Department" {
  inbound from "contoso.com" user to person
  precedence 20
  flow department <- department
}
rule "In from AD - User Department 2" {
  inbound from "contoso.com" user to person
  precedence 20
  flow department <- department replace
}
"""


def codes_of(out: str) -> list[str]:
    return sorted({d["code"] for d in json.loads(out)["diagnostics"]})


def test_default_enables_every_rule() -> None:
    assert {r.code for r in resolve().rules} == ALL


def test_select_by_code_name_and_category() -> None:
    assert {r.code for r in resolve(["SL101", "shadowed-flow"]).rules} == {"SL101", "SL105"}
    conflict = {r.code for r in all_rules() if r.category == "conflict"}
    assert {r.code for r in resolve(["conflict"]).rules} == conflict


def test_more_specific_selector_wins_and_ignore_wins_ties() -> None:
    # Ignore the category but select one of its rules by code: the code is more specific.
    enabled = {r.code for r in resolve(["ALL", "SL101"], ["conflict"]).rules}
    assert "SL101" in enabled and "SL102" not in enabled
    # The same specificity on both sides: ignore wins.
    assert "SL101" not in {r.code for r in resolve(["SL101"], ["equal-precedence-conflict"]).rules}


def test_cli_select_replaces_file_select_and_ignores_add_up(tmp_path: Path) -> None:
    (tmp_path / "syncrules.toml").write_text('[lint]\nselect = ["style"]\nignore = ["SL501"]\n', encoding="utf-8")
    path = tmp_path / "syncrules.toml"
    from_file = {r.code for r in resolve(None, None, path).rules}
    assert "SL502" in from_file and "SL501" not in from_file and "SL101" not in from_file
    from_cli = {r.code for r in resolve(["conflict", "style"], ["SL102"], path).rules}
    assert "SL101" in from_cli and "SL102" not in from_cli and "SL501" not in from_cli


def test_unknown_selector_on_the_command_line() -> None:
    with pytest.raises(ConfigError) as info:
        resolve(["SL999"])
    assert info.value.path is None and "SL999" in info.value.message


def test_per_rule_severity_and_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(
        tmp_path,
        '[lint.rules.SL101]\nseverity = "info"\n\n[lint.rules.unused-parameter]\nignore = ["Forest.*"]\n',
        TIED + 'parameter Global.Unused = "x"\n',
    )
    assert run_check([str(path)], "json", ["SL101", "SL208"]) == 0  # info does not fail
    doc = json.loads(capsys.readouterr().out)
    by_code = {d["code"]: d for d in doc["diagnostics"]}
    assert by_code["SL101"]["severity"] == "info"
    # Options replace the default list: the intrinsic patterns are gone, the schema's own are ignored.
    names = sorted(d["message"].split("`")[1] for d in doc["diagnostics"] if d["code"] == "SL208")
    assert names == ["Domain.FQDN", "Domain.Region", "Global.Unused"]


def test_dict_options_merge_with_defaults(tmp_path: Path) -> None:
    (tmp_path / "syncrules.toml").write_text('[lint.rules.SL402]\nmax-lengths = { userPrincipalName = 100 }\n', encoding="utf-8")
    settings = resolve(None, None, tmp_path / "syncrules.toml")
    lengths = settings.options["SL402"]["max-lengths"]
    assert lengths["userPrincipalName"] == 100 and lengths["cn"] == 64


def test_per_file_ignores(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "legacy").mkdir()
    write(tmp_path / "legacy", None, TIED, "old.sync")
    write(tmp_path, '[lint.per-file-ignores]\n"legacy/*.sync" = ["conflict"]\n', "")
    assert run_check([str(tmp_path)], "json", ["SL101", "SL601"]) == 0
    assert codes_of(capsys.readouterr().out) == ["SL601"]


def test_fail_on_from_the_file_and_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, '[lint]\nfail-on = "info"\n', TIED)
    assert run_check([str(path)], "json", ["SL601"]) == 1  # info reaches the file's fail level
    assert run_check([str(path)], "json", ["SL601"], fail_on="error") == 0  # the command line wins
    capsys.readouterr()


@pytest.mark.parametrize(
    ("toml", "line", "words"),
    [
        ("[lint]\nselect = [\n", 2, "not valid TOML"),
        ("[lint]\nselect = [\"SL101\"]\nbogus = 1\n", 3, "unknown key `bogus`"),
        ("[lint]\nignore = [\"nonsense\"]\n", 2, "unknown rule or category 'nonsense'"),
        ("[lint.rules.SL101]\nseverity = \"fatal\"\n", 2, "severity must be"),
        ("[lint.rules.SL402]\nlimit = \"long\"\n", 2, "expected a number"),
        ("[lint.rules.SL101]\nthreshold = 1\n", 2, "has no option `threshold`"),
        ("[lint.rules.SL999]\nseverity = \"info\"\n", 1, "unknown rule 'SL999'"),
        ("[options]\ndeletion_threshold = -1\n", 2, "deletion_threshold"),
        ("[lint]\nfail-on = \"never\"\n", 2, "fail-on"),
    ],
)
def test_config_errors_point_into_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], toml: str, line: int, words: str
) -> None:
    path = write(tmp_path, toml, "")
    assert run_check([str(path)], "json") == 2
    doc = json.loads(capsys.readouterr().out)
    (diag,) = doc["diagnostics"]
    assert diag["code"] == "SL901" and diag["name"] == "invalid-configuration"
    assert words in diag["message"]
    assert diag["span"]["file"].endswith("syncrules.toml") and diag["span"]["line"] == line


def test_config_error_in_text_shows_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, '[lint]\nselect = ["SL101", "bogus-rule"]\n', "")
    assert run_check([str(path)], "text") == 2
    out = capsys.readouterr().out
    assert "error[SL901] invalid-configuration: unknown rule or category 'bogus-rule'" in out
    assert "syncrules.toml:2:" in out and 'select = ["SL101", "bogus-rule"]' in out


def test_deletion_threshold_forms(tmp_path: Path) -> None:
    toml = tmp_path / "syncrules.toml"
    for text, expected in (("0", 0), ('"0%"', 0), ('"10%"', 10), ("500", 500)):
        toml.write_text(f"[options]\ndeletion_threshold = {text}\n", encoding="utf-8")
        assert resolve(None, None, toml).deletion_threshold == expected
    assert resolve().deletion_threshold == 500


def test_find_config_walks_up(tmp_path: Path) -> None:
    (tmp_path / "syncrules.toml").write_text("", encoding="utf-8")
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    (deep / "x.sync").write_text("", encoding="utf-8")
    assert find_config([str(deep / "x.sync")]) == tmp_path / "syncrules.toml"
    assert find_config([str(deep)]) == tmp_path / "syncrules.toml"


def test_severity_override_applies_to_every_finding_of_the_rule(tmp_path: Path) -> None:
    (tmp_path / "syncrules.toml").write_text('[lint.rules.replace-merge-type]\nseverity = "error"\n', encoding="utf-8")
    settings = resolve(["SL601"], None, tmp_path / "syncrules.toml")
    assert settings.severity == {"SL601": Severity.ERROR}
