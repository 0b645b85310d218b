"""Exporting a project as a Rules Editor-shaped PowerShell script, and reading it back.

The round trip of the real Contoso export (62 rules, 1,200 flows) is the main check: XML → .sync
(the XML importer) → PowerShell (the exporter) → .sync (the script importer, with ``--schema``
pointing at the same export) must give the same IR rules, connectors and metaverse.
"""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pytest

from syncrules.compiler import compile_paths
from syncrules.diagnostics import Severity
from syncrules.interop.aadconnect.cli import run_import
from syncrules.interop.aadconnect.ps_export import quote, run_export
from syncrules.ir import nodes as ir
from tests.conftest import CORPUS, NO_CORPUS

SCRIPTS = Path(__file__).parent / "scripts"

SCHEMA = """metaverse {
  object person {
    accountName    string indexed
    department     string
    displayName    string
    employeeID     string indexed
    employeeType   string
    proxyAddresses string multi
  }
}
"""
AD = """connector "AD" {
  kind active-directory
  id "{5E2F9A7C-1B3D-4C6E-8F0A-2B4C6D8E0F1A}"
  anchor objectGUID
  parameter Domain.FQDN = "contoso.com"

  object user {
    department         string
    displayName        string
    employeeID         string
    givenName          string
    objectGUID         binary
    proxyAddresses     string multi
    sAMAccountName     string
    sn                 string
    userAccountControl number
  }
}
"""
HR = """connector "HR feed" {
  kind generic
  anchor employeeID

  object worker {
    department string
    employeeID string
  }
}
"""
RULES = """rule "In from AD - Employee" {
  inbound from "AD" user to person
  link provision
  precedence 10
  id "{7A1C3E5F-0000-4000-8000-00000000000A}"
  tag "Contoso.Employee.001"
  description "Everyone's account"
  password-sync
  soft-delete-expiry "90"
  scope {
    userAccountControl ISBITNOTSET 2 and
    department ISNOTNULL
  } or { sAMAccountName STARTSWITH "svc_" }
  join { employeeID = employeeID case-sensitive } or { sAMAccountName = accountName }
  flow accountName <- sAMAccountName once
  flow employeeType <- const "It's staff"
  flow displayName <- IIF(IsPresent([givenName]), [givenName] & " " & [sn], [sAMAccountName])
  flow proxyAddresses <- proxyAddresses merge-case-insensitive
  flow department <- ImportedValue("department") replace
}

rule "In from HR" {
  inbound from "HR feed" worker to person
  link join
  precedence before "In from AD - Employee"
  disabled
  join { employeeID = employeeID }
  flow department <- department
}
"""


def project(tmp_path: Path, hr: bool = True) -> Path:
    root = tmp_path / "project"
    (root / "connectors").mkdir(parents=True)
    (root / "syncrules.toml").write_text('[project]\nname = "p"\n', encoding="utf-8")
    (root / "schema.sync").write_text(SCHEMA, encoding="utf-8")
    (root / "connectors" / "ad.sync").write_text(AD, encoding="utf-8")
    rules = RULES
    if hr:
        (root / "connectors" / "hr.sync").write_text(HR, encoding="utf-8")
    else:
        rules = RULES.split('rule "In from HR"')[0]
    (root / "rules.sync").write_text(rules, encoding="utf-8")
    return root


def export(paths: list[Path], out: Path) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = run_export([str(p) for p in paths], str(out), stdout=stdout, stderr=stderr)
    return code, stdout.getvalue(), stderr.getvalue()


def without_origins(rules: tuple[ir.Rule, ...]) -> list[ir.Rule]:
    """IR nodes already exclude ``origin`` from equality; this only makes the intent explicit."""
    return [dataclasses.replace(r, origin=None) for r in rules]


# ---------------------------------------------------------------------------- the script's shape


def test_script_has_the_rules_editor_shape(tmp_path: Path) -> None:
    out = tmp_path / "rules.ps1"
    code, stdout, stderr = export([project(tmp_path, hr=False)], out)
    assert code == 0, stderr
    assert stdout == f"Exported 1 rules with 5 flows to {out}.\n"
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # a BOM, for Windows PowerShell 5.1
    text = raw.decode("utf-8-sig")
    body = text.split("\n\n\n", 1)[1]
    assert body == (
        "New-ADSyncRule  `\n"
        "-Name 'In from AD - Employee' `\n"
        "-Identifier '{7A1C3E5F-0000-4000-8000-00000000000A}' `\n"
        "-Description 'Everyone''s account' `\n"
        "-Direction 'Inbound' `\n"
        "-Precedence 10 `\n"
        "-PrecedenceAfter '00000000-0000-0000-0000-000000000000' `\n"
        "-PrecedenceBefore '00000000-0000-0000-0000-000000000000' `\n"
        "-SourceObjectType 'user' `\n"
        "-TargetObjectType 'person' `\n"
        "-Connector '{5E2F9A7C-1B3D-4C6E-8F0A-2B4C6D8E0F1A}' `\n"
        "-LinkType 'Provision' `\n"
        "-SoftDeleteExpiryInterval '00:01:30' `\n"
        "-ImmutableTag 'Contoso.Employee.001' `\n"
        "-EnablePasswordSync  `\n"
        "-OutVariable syncRule\n"
        "\n\n"
        "Add-ADSyncAttributeFlowMapping  `\n"
        "-SynchronizationRule $syncRule[0] `\n"
        "-Source @('sAMAccountName') `\n"
        "-Destination 'accountName' `\n"
        "-FlowType 'Direct' `\n"
        "-ValueMergeType 'Update' `\n"
        "-ExecuteOnce  `\n"
        "-OutVariable syncRule\n"
        "\n\n"
        "Add-ADSyncAttributeFlowMapping  `\n"
        "-SynchronizationRule $syncRule[0] `\n"
        "-Source @('It''s staff') `\n"
        "-Destination 'employeeType' `\n"
        "-FlowType 'Constant' `\n"
        "-ValueMergeType 'Update' `\n"
        "-OutVariable syncRule\n"
        "\n\n"
        "Add-ADSyncAttributeFlowMapping  `\n"
        "-SynchronizationRule $syncRule[0] `\n"
        "-Source @('givenName','sn','sAMAccountName') `\n"
        "-Destination 'displayName' `\n"
        "-FlowType 'Expression' `\n"
        "-ValueMergeType 'Update' `\n"
        "-Expression 'IIF(IsPresent([givenName]), [givenName] & \" \" & [sn], [sAMAccountName])' `\n"
        "-OutVariable syncRule\n"
        "\n\n"
        "Add-ADSyncAttributeFlowMapping  `\n"
        "-SynchronizationRule $syncRule[0] `\n"
        "-Source @('proxyAddresses') `\n"
        "-Destination 'proxyAddresses' `\n"
        "-FlowType 'Direct' `\n"
        "-ValueMergeType 'MergeCaseInsensitive' `\n"
        "-OutVariable syncRule\n"
        "\n\n"
        "Add-ADSyncAttributeFlowMapping  `\n"
        "-SynchronizationRule $syncRule[0] `\n"
        "-Source @('department') `\n"
        "-Destination 'department' `\n"
        "-FlowType 'Expression' `\n"
        "-ValueMergeType 'Replace' `\n"
        "-Expression 'ImportedValue(\"department\")' `\n"
        "-OutVariable syncRule\n"
        "\n\n"
        "New-Object  `\n"
        "-TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.ScopeCondition' `\n"
        "-ArgumentList 'userAccountControl','2','ISBITNOTSET' `\n"
        "-OutVariable condition0\n"
        "\n\n"
        "New-Object  `\n"
        "-TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.ScopeCondition' `\n"
        "-ArgumentList 'department','','ISNOTNULL' `\n"
        "-OutVariable condition1\n"
        "\n\n"
        "Add-ADSyncScopeConditionGroup  `\n"
        "-SynchronizationRule $syncRule[0] `\n"
        "-ScopeConditions @($condition0[0],$condition1[0]) `\n"
        "-OutVariable syncRule\n"
        "\n\n"
        "New-Object  `\n"
        "-TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.ScopeCondition' `\n"
        "-ArgumentList 'sAMAccountName','svc_','STARTSWITH' `\n"
        "-OutVariable condition0\n"
        "\n\n"
        "Add-ADSyncScopeConditionGroup  `\n"
        "-SynchronizationRule $syncRule[0] `\n"
        "-ScopeConditions @($condition0[0]) `\n"
        "-OutVariable syncRule\n"
        "\n\n"
        "New-Object  `\n"
        "-TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.JoinCondition' `\n"
        "-ArgumentList 'employeeID','employeeID',$true `\n"
        "-OutVariable condition0\n"
        "\n\n"
        "Add-ADSyncJoinConditionGroup  `\n"
        "-SynchronizationRule $syncRule[0] `\n"
        "-JoinConditions @($condition0[0]) `\n"
        "-OutVariable syncRule\n"
        "\n\n"
        "New-Object  `\n"
        "-TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.JoinCondition' `\n"
        "-ArgumentList 'sAMAccountName','accountName',$false `\n"
        "-OutVariable condition0\n"
        "\n\n"
        "Add-ADSyncJoinConditionGroup  `\n"
        "-SynchronizationRule $syncRule[0] `\n"
        "-JoinConditions @($condition0[0]) `\n"
        "-OutVariable syncRule\n"
        "\n\n"
        "Add-ADSyncRule  `\n"
        "-SynchronizationRule $syncRule[0]\n"
    )
    # Seconds become a time span (a bare number would be ticks): reported.
    assert "info[SR823]" in stderr and "'00:01:30'" in stderr


def test_missing_ids_placeholders_and_derived_values(tmp_path: Path) -> None:
    out = tmp_path / "rules.ps1"
    code, _, stderr = export([project(tmp_path)], out)
    assert code == 1  # the script cannot run before the placeholder is filled in
    text = out.read_text(encoding="utf-8-sig")
    assert (
        "# FILL IN before running: connector 'HR feed' has no id in the project. Set its identifier\n"
        "# (Get-ADSyncConnector -Name 'HR feed' shows it).\n"
        "$connector_HR_feed = 'FILL-IN-THE-GUID-OF-CONNECTOR HR feed'\n"
    ) in text
    assert "-Connector $connector_HR_feed `\n" in text
    assert "error[SR822]" in stderr
    # The HR rule has no id: one derived from its name, the same in every export.
    hr_block = text.split("-Name 'In from HR' `\n", 1)[1]
    assert hr_block.startswith("-Identifier '")
    derived = hr_block.split("'", 2)[1]
    again = tmp_path / "again.ps1"
    export([project(tmp_path / "copy")], again)
    assert again.read_bytes() == out.read_bytes()  # deterministic, derived id included
    # Placed only relative to another rule: -Precedence 0 and the other rule's identifier.
    assert "-Precedence 0 `\n-PrecedenceAfter '00000000-0000-0000-0000-000000000000' `\n" in hr_block
    assert "-PrecedenceBefore '{7A1C3E5F-0000-4000-8000-00000000000A}' `\n" in hr_block
    assert "-Disabled  `\n" in hr_block
    assert f"the script gives it {derived}, derived from its name" in stderr


def test_a_project_with_errors_is_not_exported(tmp_path: Path) -> None:
    root = project(tmp_path, hr=False)
    (root / "rules.sync").write_text(
        RULES.replace('"AD" user', '"AD" usr').split('rule "In from HR"')[0], encoding="utf-8"
    )
    out = tmp_path / "rules.ps1"
    code, _, stderr = export([root], out)
    assert code == 1
    assert not out.exists()
    assert "error[SR105]" in stderr and "The project has errors, so no script was written." in stderr


@pytest.mark.parametrize(
    ("text", "written"),
    [("plain", "'plain'"), ("it's", "'it''s'"), ("‘curly’", "'‘‘curly’’'"), ("$x `n", "'$x `n'")],
)
def test_quote(text: str, written: str) -> None:
    assert quote(text) == written


# ---------------------------------------------------------------------------- round trips


def test_script_round_trip_of_the_rules_editor_fixture(tmp_path: Path) -> None:
    """sre_export.ps1 → .sync → PowerShell → .sync: the same IR (schema inferred both times)."""
    first = tmp_path / "first"
    assert (
        run_import([str(SCRIPTS / "sre_export.ps1")], str(first), stdout=io.StringIO(), stderr=io.StringIO())
        == 0
    )
    script = tmp_path / "again.ps1"
    code, _, stderr = export([first], script)
    assert code == 0, stderr
    second = tmp_path / "second"
    assert run_import([str(script)], str(second), stdout=io.StringIO(), stderr=io.StringIO()) == 0
    a, b = compile_paths([first]).config, compile_paths([second]).config
    assert a is not None and b is not None
    assert without_origins(a.rules) == without_origins(b.rules)
    assert (a.connectors, a.metaverse) == (b.connectors, b.metaverse)


@pytest.mark.skipif(not CORPUS.is_dir(), reason=NO_CORPUS)
def test_contoso_round_trip_gives_the_same_ir(tmp_path: Path) -> None:
    """XML → .sync → PowerShell → .sync (with --schema): every rule, connector and metaverse type the same.

    Without --schema the script alone still gives a project that compiles without errors, with
    the same rules; only connector names (by GUID) and inferred attribute types differ.
    """
    xml = tmp_path / "xml"
    assert run_import([str(CORPUS)], str(xml), stdout=io.StringIO(), stderr=io.StringIO()) == 0
    script = tmp_path / "contoso.ps1"
    code, stdout, stderr = export([xml], script)
    assert code == 0, stderr
    assert stdout == f"Exported 62 rules with 1200 flows to {script}.\n"
    assert stderr == ""  # every rule and connector has an id; nothing derived

    back = tmp_path / "back"
    out, err = io.StringIO(), io.StringIO()
    assert run_import([str(script)], str(back), schema=str(CORPUS), stdout=out, stderr=err) == 0, (
        err.getvalue()
    )
    assert (
        "Imported 62 rules (28 inbound, 34 outbound) with 1200 flows (802 direct, 7 constant, 391 expression)"
        in out.getvalue()
    )
    original, again = compile_paths([xml]), compile_paths([back])
    assert original.config is not None and again.config is not None
    assert not again.has_errors
    assert len(again.config.rules) == 62
    assert without_origins(original.config.rules) == without_origins(again.config.rules)
    assert original.config.connectors == again.config.connectors
    assert original.config.metaverse == again.config.metaverse

    alone = tmp_path / "alone"
    assert run_import([str(script)], str(alone), stdout=io.StringIO(), stderr=io.StringIO()) == 0
    inferred = compile_paths([alone])
    errors = [f"{d.code} {d.span}: {d.message}" for d in inferred.diagnostics if d.severity >= Severity.ERROR]
    assert errors == []
    assert inferred.config is not None

    def shape(rule: ir.Rule) -> tuple[object, ...]:
        flows = tuple((f.target, f.kind, f.sources, f.constant, f.merge, f.once) for f in rule.flows)
        return (rule.name, rule.id, rule.direction, rule.link, rule.precedence, rule.scope, rule.join, flows)

    assert [shape(r) for r in inferred.config.rules] == [shape(r) for r in original.config.rules]
