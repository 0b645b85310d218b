"""The checker on real and large configurations: Microsoft's 62 default rules (the Contoso export,
converted by the importer) and 1,000 generated rules.

The Contoso findings were reviewed by hand (docs/linter.md, "The Contoso default rules"): every
remaining finding is real. A code that was not reviewed appearing here fails the test, so a new
rule or a changed import gets the same review.
"""

from __future__ import annotations

import importlib.util
import io
import time
from collections import Counter
from pathlib import Path

import pytest

from syncrules.compiler import compile_paths, compile_text
from syncrules.diagnostics.model import Severity
from syncrules.lint import lint_config, measure
from syncrules.lint.config import resolve
from tests.conftest import ROOT, require_corpus

# code -> number of findings on the imported default rules, as reviewed.
REVIEWED = {"SL212": 1, "SL213": 47, "SL301": 2, "SL402": 11, "SL501": 9}


@pytest.fixture(scope="module")
def contoso_import(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from syncrules.interop.aadconnect.cli import run_import

    out = tmp_path_factory.mktemp("contoso-import")
    assert run_import([str(require_corpus())], str(out), stdout=io.StringIO(), stderr=io.StringIO()) == 0
    return out


def test_contoso_default_rules_check_within_one_second(contoso_import: Path) -> None:
    settings = resolve()
    best = float("inf")
    findings = []
    for _ in range(3):
        start = time.perf_counter()
        result = compile_paths([contoso_import])
        assert result.config is not None and not result.has_errors
        findings = lint_config(result.config, result.modules, result.sources, settings)
        best = min(best, time.perf_counter() - start)
    assert len(result.config.rules) == 62
    assert best <= 1.0, f"checking the 62 default rules took {best:.2f} s"
    assert not [d for d in findings if d.severity >= Severity.ERROR]
    counts = Counter(d.code for d in findings)
    assert set(counts) <= set(REVIEWED), f"unreviewed findings on the default rules: {counts}"
    assert dict(counts) == REVIEWED


def test_contoso_deprovision_path_is_explained(contoso_import: Path) -> None:
    result = compile_paths([contoso_import])
    assert result.config is not None
    diags = lint_config(result.config, result.modules, result.sources, resolve(["SL301"]))
    anchor = next(d for d in diags if "`sourceAnchor`" in d.message)
    assert "Out to AAD - User Join" in anchor.message
    assert anchor.note and "[msExchRecipientTypeDetails] = 2" in anchor.note and "deprovisioned" in anchor.note


def _generate(rules: int) -> str:
    spec = importlib.util.spec_from_file_location("bench_frontend", ROOT / "benchmarks" / "bench_frontend.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate(rules)  # type: ignore[no-any-return]


def test_thousand_generated_rules_lint_within_five_seconds() -> None:
    result = compile_text(_generate(1000), "generated.sync")
    assert result.config is not None and not result.has_errors
    stats = measure(result.config, result.modules, result.sources)
    assert stats["lint_rules"] >= 25
    assert stats["lint_s"] <= 5.0, stats
    # The generated rules are custom rules numbered 100 and up: exactly one SL602 each.
    assert stats["lint_findings"] == 1000
