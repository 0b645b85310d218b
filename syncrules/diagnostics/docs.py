"""Generate docs/diagnostics.md from the code registry, so the page cannot drift from the code."""

from __future__ import annotations

from syncrules.diagnostics.codes import CODES

_GROUPS = [
    ("SR0", "Input and syntax"),
    ("SR1", "Names"),
    ("SR2", "Types"),
    ("SR3", "Rule model"),
    ("SR6", "Run time"),
    ("SR7", "Projects and fixtures"),
    ("SR8", "Import"),
    ("SR9", "Tool"),
]


def render_diagnostics_md() -> str:
    lines = [
        "# Diagnostic codes",
        "",
        "Generated from `syncrules/diagnostics/codes.py` (a test fails when this page is stale).",
        "Every diagnostic has a stable code, a kebab-case name, a default severity, a message, a",
        "primary `file:line:col` span, optional labels pointing at related places, and help text.",
        "",
    ]
    for prefix, title in _GROUPS:
        rows = [c for c in CODES.values() if c.code.startswith(prefix)]
        if not rows:
            continue
        lines += [f"## {title}", "", "| code | name | severity | meaning |", "| --- | --- | --- | --- |"]
        for c in sorted(rows, key=lambda c: c.code):
            lines.append(f"| {c.code} | {c.name} | {c.severity.label} | {c.summary} |")
        lines.append("")
    return "\n".join(lines)
