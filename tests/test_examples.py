"""The shipped example and the language reference's code blocks must check and format clean."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from syncrules.cli import main
from syncrules.compiler import compile_paths
from syncrules.fmt.command import format_text

ROOT = Path(__file__).resolve().parent.parent


def test_contoso_example_reports_nothing_above_info() -> None:
    result = CliRunner().invoke(main, ["check", "--fail-on", "warning", "--format", "json", str(ROOT / "examples" / "contoso")])
    assert result.exit_code == 0, result.output
    import json

    severities = {d["severity"] for d in json.loads(result.output)["diagnostics"]}
    assert severities <= {"info"}


def test_contoso_example_is_formatted() -> None:
    result = CliRunner().invoke(main, ["fmt", "--check", str(ROOT / "examples" / "contoso")])
    assert result.exit_code == 0, result.output


def test_contoso_example_exercises_the_rule_model() -> None:
    config = compile_paths([ROOT / "examples" / "contoso"]).config
    assert config is not None
    rules = config.rules
    assert len(rules) >= 12
    assert {r.direction for r in rules} == {"inbound", "outbound"}
    assert any(r.link == "provision" for r in rules)
    assert any(len(r.scope) > 1 for r in rules), "a rule with several scoping groups"
    assert any(len(r.join) > 1 for r in rules), "a rule with several join groups"
    flows = [f for r in rules for f in r.flows]
    assert any(f.once for f in flows)
    assert any(f.merge == "merge-case-insensitive" for f in flows)
    assert {f.kind for f in flows} == {"direct", "constant", "expression"}
    # Competing flows: at least one metaverse attribute is written by two inbound rules.
    targets = [(f.target) for r in rules if r.direction == "inbound" for f in r.flows]
    assert any(targets.count(t) > 1 for t in set(targets))
    # Rules come out in precedence order.
    assert [r.precedence for r in rules] == sorted(r.precedence for r in rules)


def test_language_reference_blocks_check(tmp_path: Path) -> None:
    blocks = re.findall(r"```sync\n(.*?)```", (ROOT / "docs" / "language.md").read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 5
    for i, block in enumerate(blocks):
        formatted, sink = format_text(block, f"block{i}.sync")
        assert formatted == block, f"block {i} of docs/language.md is not formatted canonically"
        (tmp_path / f"b{i:02}.sync").write_text(block, encoding="utf-8")
    result = compile_paths([tmp_path])
    assert not result.diagnostics, [f"{d.code} {d.message} {d.span}" for d in result.diagnostics]
