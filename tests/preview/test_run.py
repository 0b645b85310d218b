"""`syncrules run` on the Contoso example: the plan, the JSON contract, and the export round trip."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from click.testing import CliRunner

from syncrules.cli import main
from syncrules.preview.session import open_project, run_cycle

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "contoso"
SCHEMA = json.loads((ROOT / "docs" / "preview-json.schema.json").read_text(encoding="utf-8"))


def test_text_plan_lists_adds_and_closes_with_a_summary() -> None:
    result = CliRunner().invoke(main, ["run", str(EXAMPLE), "--color", "never"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.startswith("Preview of 'contoso': initial cycle")
    assert '  + add CN={' in out
    last = out.strip().splitlines()[-1]
    assert last.startswith("Plan: ") and "to add" in last and "to delete" in last


def test_json_validates_against_the_shipped_schema_and_is_deterministic() -> None:
    first = CliRunner().invoke(main, ["run", str(EXAMPLE), "--format", "json"])
    second = CliRunner().invoke(main, ["run", str(EXAMPLE), "--format", "json"])
    assert first.exit_code == 0
    assert first.output == second.output
    doc = json.loads(first.output)
    jsonschema.validate(doc, SCHEMA)
    assert doc["format"] == 1
    people = [m for m in doc["metaverse"] if m["object_type"] == "person"]
    assert people and all(m["links"] for m in people)
    # Lineage names the rule, connector, object and precedence of every attribute.
    some = people[0]
    for attr in some["attributes"]:
        lin = some["lineage"][attr]
        assert lin["rule"].startswith("In from") and lin["connector"] == "AD"
    adds = [o for o in doc["connector_spaces"]["AAD"] if o["pending_export"]]
    assert adds and all(o["pending_export"]["operation"] == "add" for o in adds)
    assert doc["summary"]["add"] == len(adds)


def test_detailed_exitcode() -> None:
    result = CliRunner().invoke(main, ["run", str(EXAMPLE), "--detailed-exitcode"])
    assert result.exit_code == 2  # there are changes to make


def test_apply_exports_then_delta_leaves_nothing_pending() -> None:
    # A project without change records: the delta after the confirming imports has nothing to do.
    opened = open_project(ROOT / "examples" / "contoso-handwritten")
    assert opened.session is not None, [d.message for d in opened.diagnostics]
    session = opened.session
    run_cycle(session, "initial", apply_exports=True)
    steps = run_cycle(session, "delta", apply_exports=False)
    # The only problem left is the user whose flows fail with Error(); nothing else errors.
    errors = {(e.dn, e.code) for s in steps for e in s.errors}
    assert errors <= {("CN=Alan Johnson 098,OU=Users,OU=CORP,DC=contoso,DC=com", "SR600")}, errors
    for connector in session.engine.cc.connector_order:
        for obj in session.engine.spaces[connector]:
            assert obj.pending_export is None, obj
            assert obj.export_memory == {}, obj
    aad = session.directories["contoso.onmicrosoft.com - AAD"]
    # The user whose flows fail with Error() is not projected at all; everyone else reached the tenant.
    # Everyone reached the tenant but the one NoSync service account (cloudFiltered).
    assert len(aad.entries) == len(session.engine.mv) - 1


def test_steps_only_and_percentage_threshold(tmp_path: Path) -> None:
    import shutil

    hr = tmp_path / "hr"
    shutil.copytree(ROOT / "examples" / "hr-to-ad", hr)
    # --steps runs exactly the profiles asked for: nothing is provisioned without a sync.
    result = CliRunner().invoke(main, ["run", str(hr), "--steps", "full-import@hr", "--color", "never"])
    assert result.exit_code == 0 and result.output.strip().endswith("Plan: 0 to add, 0 to change, 0 to delete, 0 errors.")
    result = CliRunner().invoke(main, ["run", str(hr), "--steps", "full-import@hr,full-sync@hr", "--only", "hr", "--color", "never"])
    assert result.exit_code == 0 and "Plan: 0 to add" in result.output  # nothing to export to the HR side
    assert CliRunner().invoke(main, ["run", str(hr), "--steps", "sync@hr"]).exit_code == 2
    # A percentage threshold: 5 deletes out of 20 accounts is 25%, over a 20% threshold.
    toml = (hr / "syncrules.toml").read_text(encoding="utf-8").replace("deletion_threshold = 3", 'deletion_threshold = "20%"')
    (hr / "syncrules.toml").write_text(toml, encoding="utf-8")
    result = CliRunner().invoke(main, ["run", str(hr), "--cycle", "delta", "--apply-exports", "--format", "json"])
    doc = json.loads(result.output)
    export = [s for s in doc["steps"] if s["profile"] == "export" and s["connector"] == "corp.example.com"]
    assert export[0]["status"] == "stopped-deletion-threshold-exceeded"
    (hr / "syncrules.toml").write_text(toml.replace('"20%"', '"30%"'), encoding="utf-8")
    result = CliRunner().invoke(main, ["run", str(hr), "--cycle", "delta", "--apply-exports", "--format", "json"])
    export = [s for s in json.loads(result.output)["steps"] if s["profile"] == "export" and s["connector"] == "corp.example.com"]
    assert export[0]["status"] == "success" and export[0]["counts"].get("deletes") == 5
