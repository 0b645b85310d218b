"""The standard module `aadconnect/defaults` is the importer's output for the shared export, and
projects can import it, disable a default rule and add custom rules without editing it."""

from __future__ import annotations

import io
from pathlib import Path

from syncrules.compiler import compile_paths
from syncrules.interop.aadconnect.cli import run_import
from tests.conftest import require_corpus

ROOT = Path(__file__).resolve().parents[2]
STD = ROOT / "stdlib" / "aadconnect"
MAPPING = {"ae4db4cc-b16b-4eb2-acf5-837ca84e4d7d": "AD", "b891884f-051e-4a83-95af-2544101c9083": "AAD"}


def test_shipped_module_matches_a_fresh_import(tmp_path: Path) -> None:
    assert run_import([str(require_corpus())], str(tmp_path), MAPPING, stdout=io.StringIO(), stderr=io.StringIO()) == 0
    fresh = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.sync"))
    shipped = sorted(p.relative_to(STD) for p in STD.rglob("*.sync") if p.name != "defaults.sync")
    assert fresh == shipped
    for rel in fresh:
        assert (tmp_path / rel).read_text(encoding="utf-8") == (STD / rel).read_text(encoding="utf-8"), f"stdlib/aadconnect/{rel} is stale"


def test_project_imports_defaults_disables_one_and_adds_a_custom_rule(tmp_path: Path) -> None:
    (tmp_path / "project.sync").write_text(
        'import std "aadconnect/defaults"\n\n'
        'override "In from AD - User Common" { disabled }\n\n'
        'rule "In from AD - User Common (custom)" {\n'
        '  inbound from "AD" user to person\n'
        "  precedence 50\n"
        "  flow displayName <- IIF(IsPresent([displayName]), Trim([displayName]), [cn])\n"
        "}\n",
        encoding="utf-8",
    )
    result = compile_paths([tmp_path / "project.sync"])
    assert not result.has_errors, [f"{d.code} {d.message}" for d in result.diagnostics if d.severity >= 3]
    assert result.config is not None
    rules = {r.name: r for r in result.config.rules}
    assert len(rules) == 63
    assert rules["In from AD - User Common"].disabled
    assert rules["In from AD - User Common"].tag  # default rules keep their immutable tags
    assert rules["In from AD - User Common (custom)"].precedence == 50
    assert result.config.rules[0].name == "In from AD - User Common (custom)"  # custom rules run first
