"""`override "Rule" { disabled }` turns off a rule declared in another file (e.g. a standard module)."""

from __future__ import annotations

from pathlib import Path

from syncrules.compiler import compile_paths

SCHEMA = Path(__file__).parent / "invalid" / "_schema.sync"

MODULE = """import "{schema}"
rule "In from AD - User Join" {{
  id "{{633c9cc8-9a74-4912-92d0-f93fae31d89a}}"
  inbound from "contoso.com" user to person
  link provision
  precedence 100
  join {{ sAMAccountName = accountName }}
  flow accountName <- sAMAccountName
}}
"""


def _project(tmp_path: Path, overrides: str) -> list[str]:
    (tmp_path / "module.sync").write_text(MODULE.format(schema=SCHEMA), encoding="utf-8")
    (tmp_path / "project.sync").write_text('import "module.sync"\n' + overrides, encoding="utf-8")
    result = compile_paths([tmp_path / "project.sync"])
    return [f"{d.code} {d.message}" for d in result.diagnostics] + (
        [f"disabled={r.disabled}" for r in result.config.rules] if result.config else []
    )


def test_override_disables_by_name_or_id(tmp_path: Path) -> None:
    assert _project(tmp_path, 'override "In from AD - User Join" { disabled }\n') == ["disabled=True"]
    assert _project(tmp_path, 'override "{633c9cc8-9a74-4912-92d0-f93fae31d89a}" { disabled }\n') == ["disabled=True"]
    assert _project(tmp_path, "") == ["disabled=False"]


def test_override_of_unknown_rule_and_twice(tmp_path: Path) -> None:
    out = _project(tmp_path, 'override "In from AD - User Jion" { disabled }\n')
    assert out[0].startswith("SR107") and "unknown rule" in out[0]
    out = _project(tmp_path, 'override "In from AD - User Join" { disabled }\noverride "In from AD - User Join" { enabled }\n')
    assert any(line.startswith("SR110") for line in out)
