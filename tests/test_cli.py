"""The command line: exit codes, output formats and the compile emitters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from syncrules.cli import main

INVALID = Path(__file__).parent / "invalid"
SCHEMA = INVALID / "_schema.sync"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_version_and_help() -> None:
    code, out = run("--version")
    assert code == 0 and "syncrules" in out
    code, out = run("--help")
    assert code == 0 and "check" in out and "fmt" in out


def test_check_clean_file_is_silent() -> None:
    code, out = run("check", str(SCHEMA))
    assert code == 0
    assert out == ""


def test_check_json_format_is_valid_json_with_spans() -> None:
    code, out = run("check", "--format", "json", str(INVALID / "019-unknown-attribute-expr.sync"))
    assert code == 1
    doc = json.loads(out)
    assert doc["version"] == 1
    first = doc["diagnostics"][0]
    assert first["code"] == "SR101" and first["name"] == "unknown-attribute"
    assert first["severity"] == "error"
    assert first["span"]["line"] == 7 and first["help"]
    assert doc["summary"]["errors"] == 1


def test_usage_errors_exit_2() -> None:
    assert run("check")[0] == 2
    assert run("check", "/no/such/path.sync")[0] == 2
    assert run("check", "--format", "yaml", str(SCHEMA))[0] == 2
    assert run("nonsense")[0] == 2


def test_internal_error_exits_2_with_short_message(monkeypatch: pytest.MonkeyPatch) -> None:
    import syncrules.compiler as compiler

    def boom(paths: list[str]) -> None:
        raise RuntimeError("simulated fault")

    monkeypatch.setattr(compiler, "compile_paths", boom)
    result = CliRunner().invoke(main, ["check", str(SCHEMA)])
    assert result.exit_code == 2
    assert "internal-error" in result.output and "simulated fault" in result.output
    assert "Traceback" not in result.output


def test_compile_emit_ir_has_rules_schema_connectors(tmp_path: Path) -> None:
    rule = tmp_path / "r.sync"
    rule.write_text(
        'import "' + str(SCHEMA) + '"\n'
        'rule "In" {\n  inbound from "contoso.com" user to person\n  link provision\n  precedence 5\n'
        "  join { sAMAccountName = accountName }\n"
        "  flow displayName <- Trim([displayName])\n  flow accountName <- sAMAccountName\n}\n",
        encoding="utf-8",
    )
    code, out = run("compile", str(rule), "--emit", "ir")
    assert code == 0, out
    doc = json.loads(out)
    assert [r["name"] for r in doc["rules"]] == ["In"]
    r = doc["rules"][0]
    assert r["link"] == "provision" and r["precedence"] == 5 and r["direction"] == "inbound"
    assert r["join"][0][0]["cs_attribute"] == "sAMAccountName"
    flow = r["flows"][0]
    assert flow["kind"] == "expression" and flow["expr"]["node"] == "CallFn" and flow["expr"]["name"] == "Trim"
    assert flow["origin"]["line"] == 7
    assert r["flows"][1]["kind"] == "direct" and r["flows"][1]["sources"] == ["sAMAccountName"]
    assert {c["name"] for c in doc["connectors"]} == {"contoso.com", "tenant"}
    assert any(o["name"] == "person" for o in doc["metaverse"])


def test_compile_emit_ast(tmp_path: Path) -> None:
    code, out = run("compile", str(SCHEMA), "--emit", "ast")
    assert code == 0
    doc = json.loads(out)
    items = doc["modules"][0]["items"]
    assert items[0]["node"] == "MetaverseDecl"
    assert items[0]["span"]["line"] == 2


def test_compile_refuses_invalid_input() -> None:
    code, out = run("compile", str(INVALID / "039-wrong-arity.sync"))
    assert code == 1
    assert "SR201" in out


def test_fmt_check_diff_and_write(tmp_path: Path) -> None:
    f = tmp_path / "a.sync"
    f.write_text('rule "R" {  precedence 1\n inbound from "c" user to person   # note\n}\n', encoding="utf-8")
    code, out = run("fmt", "--check", str(f))
    assert code == 1 and "would reformat" in out
    code, out = run("fmt", "--diff", str(f))
    assert code == 1 and "+  inbound from" in out
    assert f.read_text(encoding="utf-8").startswith('rule "R" {  precedence')  # untouched
    code, out = run("fmt", str(f))
    assert code == 0
    assert f.read_text(encoding="utf-8") == 'rule "R" {\n  inbound from "c" user to person  # note\n  precedence 1\n}\n'
    code, out = run("fmt", "--check", str(f))
    assert code == 0


def test_fmt_reports_syntax_errors(tmp_path: Path) -> None:
    f = tmp_path / "bad.sync"
    f.write_text('rule "R" {\n', encoding="utf-8")
    code, out = run("fmt", str(f))
    assert code == 1
    assert "bad.sync:1:" in out


def test_init_scaffolds_a_project_that_checks_formats_and_previews(tmp_path: Path) -> None:
    target = tmp_path / "starter"
    code, out = run("init", str(target))
    assert code == 0 and "Created" in out
    assert run("check", str(target)) == (0, "")
    assert run("fmt", "--check", str(target))[0] == 0
    code, out = run("run", str(target), "--color", "never")
    assert code == 0
    assert "+ add uid=e1001,ou=people,dc=example,dc=com" in out
    assert "e1003" not in out  # the terminated worker gets no account
    assert out.strip().endswith("Plan: 2 to add, 0 to change, 0 to delete, 0 errors.")
    assert run("init", str(target))[0] == 2  # never overwrites
