"""Generated documentation must match the code it is generated from."""

from __future__ import annotations

from pathlib import Path

from syncrules.diagnostics.docs import render_diagnostics_md

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_diagnostics_page_is_current() -> None:
    assert (DOCS / "diagnostics.md").read_text(encoding="utf-8") == render_diagnostics_md(), (
        "docs/diagnostics.md is stale: python -c 'from syncrules.diagnostics.docs import render_diagnostics_md as r; "
        "open(\"docs/diagnostics.md\", \"w\").write(r())'"
    )
