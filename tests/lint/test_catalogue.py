"""The catalogue is complete: every rule has metadata, a doc page whose examples behave as the page
says, and both firing and quiet test cases; ``syncrules rules`` lists and explains them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from syncrules.compiler import compile_paths
from syncrules.diagnostics.model import Severity
from syncrules.lint import lint_config
from syncrules.lint.command import run_rules
from syncrules.lint.config import resolve
from syncrules.lint.registry import CATEGORIES, all_rules
from tests.lint.harness import CASES, SCHEMA

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "rules"
RULES = all_rules()
CODES = [r.code for r in RULES]
SECTIONS = ("## What it finds", "## Why it matters", "## Bad", "## Good", "## Options")


def test_at_least_25_rules_with_valid_metadata() -> None:
    assert len(RULES) >= 25
    names = [r.name for r in RULES]
    assert len(set(names)) == len(names)
    for r in RULES:
        assert re.fullmatch(r"SL\d{3}", r.code)
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", r.name)
        assert r.category in CATEGORIES
        assert isinstance(r.severity, Severity)
        assert r.summary.endswith(".") and len(r.summary) < 140
    assert {r.category for r in RULES} == set(CATEGORIES)


@pytest.mark.parametrize("code", CODES)
def test_rule_has_doc_page(code: str) -> None:
    page = DOCS / f"{code}.md"
    assert page.is_file(), f"{code} has no docs/rules/{code}.md"
    text = page.read_text(encoding="utf-8")
    rule = next(r for r in RULES if r.code == code)
    assert text.startswith(f"# {code} {rule.name}\n")
    for section in SECTIONS:
        assert section in text, f"{page.name} lacks {section}"
    for option in rule.options:
        assert f"`{option.name}`" in text, f"{page.name} does not document option {option.name}"


@pytest.mark.parametrize("code", CODES)
def test_rule_has_firing_and_quiet_cases(code: str) -> None:
    folder = CASES / code
    names = [p.name for p in folder.iterdir()] if folder.is_dir() else []
    assert any(n.startswith("fire") for n in names), f"{code} has no tests/lint/cases/{code}/fire_* case"
    assert any(n.startswith("quiet") for n in names), f"{code} has no tests/lint/cases/{code}/quiet_* case"


def _example(text: str, heading: str) -> str:
    part = text.split(heading, 1)[1]
    m = re.search(r"```sync\n(.*?)```", part, re.S)
    assert m, f"no sync block under {heading}"
    return m.group(1)


@pytest.mark.parametrize("code", CODES)
def test_doc_examples_behave_as_documented(code: str, tmp_path: Path) -> None:
    text = (DOCS / f"{code}.md").read_text(encoding="utf-8")
    if code == "SL302":
        (tmp_path / "syncrules.toml").write_text("[options]\ndeletion_threshold = 0\n", encoding="utf-8")
    for heading, should_fire in (("## Bad", True), ("## Good", False)):
        body = _example(text, heading)
        extra = re.findall(r"SL\d{3}", " ".join(re.findall(r"#\s*select:(.*)", body)))
        path = tmp_path / f"{heading[3:].lower()}.sync"
        path.write_text(f'import "{SCHEMA.as_posix()}"\n{body}', encoding="utf-8")
        result = compile_paths([path])
        assert not result.has_errors, [d.message for d in result.diagnostics]
        assert result.config is not None
        config_path = tmp_path / "syncrules.toml" if (tmp_path / "syncrules.toml").exists() else None
        settings = resolve([code, *extra], None, config_path)
        diags = lint_config(result.config, result.modules, result.sources, settings)
        mine = [d for d in diags if d.code == code and d.span is not None and Path(d.span.file).resolve() == path]
        assert bool(mine) == should_fire, (heading, [d.message for d in mine])


def test_rules_lists_the_catalogue(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_rules() == 0
    out = capsys.readouterr().out
    for r in RULES:
        assert re.search(rf"^{r.code}\s+{re.escape(r.name)}\s+{r.category}\s+{r.severity.label}\s", out, re.M)
    assert f"{len(RULES)} rules." in out


def test_rules_prints_one_rule_by_code_or_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_rules("SL101") == 0
    by_code = capsys.readouterr().out
    assert by_code == (DOCS / "SL101.md").read_text(encoding="utf-8")
    assert run_rules("equal-precedence-conflict") == 0
    assert capsys.readouterr().out == by_code
    assert run_rules("sl101") == 0
    assert capsys.readouterr().out == by_code


def test_rules_unknown_code_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_rules("SL999") == 2
    err = capsys.readouterr().err
    assert "unknown rule 'SL999'" in err


def test_linter_guide_lists_every_rule() -> None:
    guide = (ROOT / "docs" / "linter.md").read_text(encoding="utf-8")
    for r in RULES:
        row = re.search(rf"^\| \[{r.code}\]\(rules/{r.code}\.md\) \| {re.escape(r.name)} \| {r.category} \| {r.severity.label} \|", guide, re.M)
        assert row, f"docs/linter.md does not list {r.code} {r.name} ({r.category}, {r.severity.label})"
