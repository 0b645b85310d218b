"""Importing PowerShell scripts (Rules Editor exports and adapted ones): values, structure, diagnostics.

The scripts under ``scripts/`` are the fixtures: ``sre_export.ps1`` is verbatim Rules Editor output
for three rules that use every cmdlet and option; ``adapted.ps1`` is the kind of script people keep
(variables, comments, backticks, here-strings, splatting, an ``if``, a function, a loop);
``broken.ps1`` holds what cannot be known without running the script, checked against the golden
list ``broken.diagnostics``. Expected values are written out here by hand, and compared with the
IR that ``compile_paths`` builds from the written project.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from syncrules import ast
from syncrules.compiler import CompileResult, compile_paths
from syncrules.diagnostics import DiagnosticSink, Severity
from syncrules.interop.aadconnect.cli import import_project, run_import
from syncrules.interop.aadconnect.model import Export
from syncrules.interop.aadconnect.powershell import Lexer, ScriptSyntaxError, _timespan, read_script
from syncrules.ir import nodes as ir
from syncrules.syntax import parse_expression
from tests.conftest import CORPUS, NO_CORPUS

SCRIPTS = Path(__file__).parent / "scripts"
AD = "0a7d4c1e-2b3f-4e5a-8c9d-1e2f3a4b5c6d"
AAD = "b891884f-051e-4a83-95af-2544101c9083"
NAMES = {AD: "contoso.com", AAD: "contoso.onmicrosoft.com - AAD"}


class Imported:
    def __init__(self, out: Path, code: int, stdout: str, stderr: str) -> None:
        self.out, self.code, self.stdout, self.stderr = out, code, stdout, stderr
        self.compiled: CompileResult = compile_paths([out])

    @property
    def errors(self) -> list[str]:
        return [
            f"{d.code} {d.span}: {d.message}"
            for d in self.compiled.diagnostics
            if d.severity >= Severity.ERROR
        ]

    def rule(self, name: str) -> ir.Rule:
        assert self.compiled.config is not None
        return next(r for r in self.compiled.config.rules if r.name == name)

    def ast_rule(self, name: str) -> ast.Rule:
        return next(
            item
            for m in self.compiled.modules
            for item in m.items
            if isinstance(item, ast.Rule) and item.name.value == name
        )


def run(
    sources: list[Path], out: Path, connectors: dict[str, str] | None = None, schema: Path | None = None
) -> Imported:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = run_import(
        [str(s) for s in sources],
        str(out),
        connectors,
        str(schema) if schema else None,
        stdout=stdout,
        stderr=stderr,
    )
    return Imported(out, code, stdout.getvalue(), stderr.getvalue())


def read(text: str, tmp_path: Path, name: str = "rules.ps1") -> tuple[Export, DiagnosticSink]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    export, sink = Export(), DiagnosticSink()
    read_script(path, name, export, sink)
    return export, sink


def codes(sink: DiagnosticSink) -> list[tuple[int, str]]:
    return [(d.span.line if d.span else 0, d.code) for d in sink.sorted()]


def flows(rule: ir.Rule) -> list[tuple[str, str, tuple[str, ...], str | None, str, bool]]:
    return [(f.target, f.kind, f.sources, f.constant, f.merge, f.once) for f in rule.flows]


def scope(rule: ir.Rule) -> list[list[tuple[str | None, str, str | None]]]:
    return [[(c.attribute, c.operator, c.value) for c in g] for g in rule.scope]


def join(rule: ir.Rule) -> list[list[tuple[str, str, bool]]]:
    return [[(c.cs_attribute, c.mv_attribute, c.case_sensitive) for c in g] for g in rule.join]


def expression(imported: Imported, rule: str, target: str) -> ast.Expr:
    flow = next(f for f in imported.ast_rule(rule).flows if f.target.text == target)
    assert flow.expr is not None
    return flow.expr


def parsed(text: str) -> ast.Expr:
    sink = DiagnosticSink()
    expr = parse_expression(text, sink)
    assert expr is not None and not sink.items
    return expr


# ---------------------------------------------------------------------------- the Rules Editor's export


@pytest.fixture(scope="module")
def sre(tmp_path_factory: pytest.TempPathFactory) -> Imported:
    return run([SCRIPTS / "sre_export.ps1"], tmp_path_factory.mktemp("sre") / "project", NAMES)


def test_sre_export_imports_and_compiles_cleanly(sre: Imported) -> None:
    assert sre.code == 0, sre.stderr
    assert sre.errors == []
    assert (
        "Imported 3 rules (2 inbound, 1 outbound) with 10 flows (5 direct, 1 constant, 4 expression), "
        "5 scope clauses in 3 groups and 5 join clauses in 4 groups" in sre.stdout
    )
    # The only note: ImportedValue flows list no Source in the export, and syncrules derives it.
    notes = [line for line in sre.stderr.splitlines() if line.startswith("info")]
    assert notes == [
        "info[SR809] source-list-differs: rule 'In from AAD - Contractor StickyJoin', flow to 'cloudSourceAnchor': "
        "the export lists the sources (empty), but the expression reads sourceAnchor; syncrules derives the list "
        "from the expression, so the exported list is not kept"
    ]


def test_rule_properties_are_kept(sre: Imported) -> None:
    join_rule = sre.rule("In from AD - Contractor Join")
    assert (join_rule.id, join_rule.tag, join_rule.description) == (
        "5b1e9c2a-7d4f-4a63-9b0e-2f6c8d1a3e01",
        "Contoso.InfromADContractorJoin.001",
        'Projects contractors; the HR feed\'s "employeeType" decides',
    )
    assert (join_rule.direction, join_rule.connector, join_rule.source_type, join_rule.target_type) == (
        "inbound",
        "contoso.com",
        "user",
        "person",
    )
    assert (
        join_rule.link,
        join_rule.declared_precedence,
        join_rule.precedence_before,
        join_rule.precedence_after,
    ) == (
        "provision",
        20,
        None,
        None,
    )
    assert (join_rule.disabled, join_rule.password_sync, join_rule.soft_delete_expiry) == (False, True, None)

    noflow = sre.rule("Out to AAD - Contractor NoFlow")
    assert (noflow.direction, noflow.connector, noflow.source_type, noflow.target_type) == (
        "outbound",
        "contoso.onmicrosoft.com - AAD",
        "person",
        "user",
    )
    assert (noflow.link, noflow.disabled, noflow.password_sync, noflow.tag, noflow.description) == (
        "join-no-flow",
        True,
        False,
        None,
        None,
    )
    # -PrecedenceBefore names the join rule by GUID: it is written by name and placed ahead of it.
    assert (noflow.declared_precedence, noflow.precedence_before, noflow.precedence_after) == (
        0,
        "In from AD - Contractor Join",
        None,
    )

    sticky = sre.rule("In from AAD - Contractor StickyJoin")
    assert (sticky.link, sticky.precedence_after, sticky.precedence_before) == (
        "sticky-join",
        "In from AD - Contractor Join",
        None,
    )
    assert sticky.soft_delete_expiry == "1.00:00:00"  # 864000000000 ticks
    assert sticky.description == "Keeps cloud-created contractors"
    # Effective order: NoFlow just before the join rule, StickyJoin just after it.
    assert sre.compiled.config is not None
    assert [r.name for r in sre.compiled.config.rules] == [
        "Out to AAD - Contractor NoFlow",
        "In from AD - Contractor Join",
        "In from AAD - Contractor StickyJoin",
    ]


def test_scope_and_join_groups_are_kept_in_order(sre: Imported) -> None:
    rule = sre.rule("In from AD - Contractor Join")
    assert scope(rule) == [
        [("employeeType", "EQUAL", "Contractor"), ("userAccountControl", "ISBITNOTSET", "2")],
        [("adminDescription", "NOTSTARTSWITH", "User_"), ("mail", "ISNOTNULL", None)],
    ]
    assert join(rule) == [
        [("employeeID", "employeeID", True), ("sAMAccountName", "accountName", False)],
        [("mail", "mail", False)],
    ]
    assert scope(sre.rule("Out to AAD - Contractor NoFlow")) == [[("cloudNoFlow", "EQUAL", "True")]]
    assert join(sre.rule("In from AAD - Contractor StickyJoin")) == [[("sourceAnchor", "sourceAnchor", True)]]


def test_every_flow_type_merge_type_and_execute_once(sre: Imported) -> None:
    assert flows(sre.rule("In from AD - Contractor Join")) == [
        ("accountName", "direct", ("sAMAccountName",), None, "update", False),
        ("employeeType", "constant", (), "Contractor", "replace", False),
        ("sourceAnchor", "expression", ("objectGUID",), None, "update", True),
        ("proxyAddresses", "direct", ("proxyAddresses",), None, "merge-case-insensitive", False),
        ("otherMail", "direct", ("otherMailbox", "mail"), None, "merge", False),
        ("accountEnabled", "expression", ("userAccountControl",), None, "update", False),
        ("displayName", "expression", ("givenName", "sn"), None, "update", False),
    ]
    assert flows(sre.rule("In from AAD - Contractor StickyJoin")) == [
        ("cloudAnchor", "direct", ("cloudAnchor",), None, "update", False),
        ("cloudSourceAnchor", "expression", ("sourceAnchor",), None, "update", False),
    ]
    rule = "In from AD - Contractor Join"
    assert expression(sre, rule, "accountEnabled") == parsed(
        'IIF(BitAnd([userAccountControl],2)=0,"True","False")'
    )
    # A multi-line expression string keeps its structure.
    assert expression(sre, rule, "displayName") == parsed(
        'IIF(IsPresent([givenName]), Trim([givenName]) & " " & [sn], [sn])'
    )


def test_schema_is_inferred_from_usage(sre: Imported) -> None:
    config = sre.compiled.config
    assert config is not None
    ad = config.connector("contoso.com")
    assert ad is not None and ad.kind == "generic" and ad.id == AD
    user = ad.object_type("user")
    assert user is not None
    uac = user.attribute("userAccountControl")  # BitAnd and ISBITNOTSET take numbers
    assert uac is not None and (uac.type, uac.multi) == ("number", False)
    person = config.mv_type("person")
    assert person is not None

    def shape(name: str) -> tuple[str, bool, bool]:
        a = person.attribute(name)
        assert a is not None, name
        return (a.type, a.multi, a.indexed)

    assert shape("proxyAddresses") == ("string", True, False)  # merged from several rules
    assert shape("otherMail") == ("string", True, False)  # two direct sources
    assert shape("employeeID") == ("string", False, True)  # joined on
    assert shape("accountName") == ("string", False, True)
    assert "warning[SR804]" in sre.stderr and "warning[SR803]" in sre.stderr


def test_connectors_are_named_by_guid_without_a_mapping(tmp_path: Path) -> None:
    imported = run([SCRIPTS / "sre_export.ps1"], tmp_path / "p")
    assert imported.code == 0 and imported.errors == []
    assert imported.compiled.config is not None
    assert sorted(c.name for c in imported.compiled.config.connectors) == [
        "connector-0a7d4c1e",
        "connector-b891884f",
    ]
    assert "name it with --connectors GUID=NAME" in imported.stderr


# ---------------------------------------------------------------------------- an adapted script


@pytest.fixture(scope="module")
def adapted(tmp_path_factory: pytest.TempPathFactory) -> Imported:
    return run([SCRIPTS / "adapted.ps1"], tmp_path_factory.mktemp("adapted") / "project")


def test_adapted_script_imports_cleanly(adapted: Imported) -> None:
    assert adapted.code == 0, adapted.stderr
    assert adapted.errors == []
    assert (
        "Imported 2 rules (1 inbound, 1 outbound) with 8 flows (4 direct, 2 constant, 2 expression)"
        in adapted.stdout
    )


def test_adapted_script_values(adapted: Imported) -> None:
    rule = adapted.rule(
        "In from AD - Contoso Contractor Join"
    )  # "$prefix" expanded, from a splatted hashtable
    assert rule.id == "c0ffee00-0000-4000-8000-000000000001"
    assert rule.description == "Joins Contoso contractors on their employee ID"  # "${prefix}"
    assert (rule.declared_precedence, rule.precedence_after, rule.precedence_before) == (
        50,
        None,
        None,
    )  # [guid]::Empty
    assert (rule.link, rule.soft_delete_expiry, rule.tag) == ("join", None, None)  # [TimeSpan]::Zero
    assert scope(rule) == [[("employeeType", "EQUAL", "Contractor")]]  # property assignments, [enum]::EQUAL
    assert join(rule) == [[("employeeID", "employeeID", True)]]  # New-Object T(args), not wrapped in @()
    # A foreach over a literal list is unrolled; every flow went through the Add-Flow function.
    assert flows(rule) == [
        ("givenName", "direct", ("givenName",), None, "update", False),
        ("sn", "direct", ("sn",), None, "update", False),
        ("department", "direct", ("department",), None, "update", False),
        ("employeeType", "constant", (), "Contractor", "update", True),  # -ExecuteOnce:$Once
        ("mail", "expression", ("mail", "userPrincipalName"), None, "update", False),
    ]
    assert expression(adapted, rule.name, "mail") == parsed(
        "IIF(IsPresent([mail]), LCase([mail]), LCase([userPrincipalName]))"
    )  # a here-string

    cloud = adapted.rule("Out to AAD - Contoso Contractor")
    assert (cloud.description, cloud.declared_precedence, cloud.precedence_before) == (
        "Contractors' cloud copy",
        51,  # ($basePrecedence + 1)
        "In from AD - Contoso Contractor Join",
    )
    assert (cloud.link, cloud.password_sync, cloud.disabled) == ("provision", True, False)
    assert scope(cloud) == [[("employeeType", "EQUAL", "Contractor"), ("cloudFiltered", "ISNULL", None)]]
    assert flows(cloud)[:2] == [
        ("proxyAddresses", "direct", ("proxyAddresses",), None, "merge-case-insensitive", False),
        ("usageLocation", "constant", (), "NL", "replace", False),
    ]
    # Backtick escapes inside a double-quoted string.
    assert expression(adapted, cloud.name, "displayName") == parsed(
        '[givenName] & " " & [sn] & " (" & "Contoso" & ")"'
    )


def test_only_the_run_time_if_is_reported(adapted: Imported) -> None:
    """`if (-not (Get-ADSyncRule ...))` depends on the server; `if ($createCloudRule)` is decided by the script."""
    heads = [line for line in adapted.stderr.splitlines() if "[SR818]" in line]
    assert heads == [
        "warning[SR818] runtime-control-flow: the `if` depends on the state of the server or the run; what it builds is read as if every "
        "branch ran"
    ]
    assert "adapted.ps1:40:1" in adapted.stderr
    # The flow built through a function is reported at the call, not inside the function body.
    assert "adapted.ps1:99:5" in adapted.stderr


# ---------------------------------------------------------------------------- what cannot be resolved


def test_broken_script_diagnostics_match_the_golden_file() -> None:
    sink = DiagnosticSink()
    import_project([str(SCRIPTS / "broken.ps1")], None, None, "broken", sink)
    got = [
        f"{d.span.line}:{d.span.column} {d.severity.label}[{d.code}] {d.message}"
        if d.span
        else f"- {d.severity.label}[{d.code}] {d.message}"
        for d in sink.sorted()
    ]
    expected = (SCRIPTS / "broken.diagnostics").read_text(encoding="utf-8").splitlines()
    assert got == expected


def test_broken_script_keeps_what_can_be_known(tmp_path: Path) -> None:
    imported = run([SCRIPTS / "broken.ps1"], tmp_path / "p")
    assert imported.code == 1
    assert imported.compiled.config is not None
    assert sorted(r.name for r in imported.compiled.config.rules) == [
        "Depends on the day",
        "Fresh identifier",
    ]
    fresh = imported.rule("Fresh identifier")
    assert fresh.id is None and flows(fresh) == [("employeeType", "constant", (), "Cloud", "update", False)]
    day = imported.rule("Depends on the day")
    assert [f.target for f in day.flows] == [
        "mail"
    ]  # the unknown expression and the bad flow type are left out
    # The one thing `syncrules check` then reports: the precedence that could not be known.
    assert [e.split(" ", 1)[0] for e in imported.errors] == ["SR011"]


# ---------------------------------------------------------------------------- lexing and reading


def test_strings_comments_and_continuations(tmp_path: Path) -> None:
    export, sink = read(
        """<# a block comment with New-ADSyncRule inside #>
$name = 'It''s' + ' ' + ‘a ’’test’’’   # typographic quotes are quotes too; doubled, one is kept
$suffix = "x"
New-ADSyncRule -Name "$name `"$suffix`" `$literal $($suffix)" -Identifier 'd0d0d0d0-0000-4000-8000-000000000001' `
  -Direction 'Inbound' -Precedence 1 -SourceObjectType 'user' -TargetObjectType 'person' `
  -Connector 'b891884f-051e-4a83-95af-2544101c9083' -OutVariable r
Add-ADSyncRule -SynchronizationRule $r[0]
""",
        tmp_path,
    )
    assert [r.name for r in export.rules] == ['It\'s a ’test’ "x" $literal x']
    assert codes(sink) == [(4, "SR808")]  # no -LinkType: the cmdlet's default Join is written
    assert export.rules[0].link_type == "Join"


def test_trailing_blanks_after_a_backtick_are_reported(tmp_path: Path) -> None:
    text = (
        "New-ADSyncRule -Name 'R' -Identifier 'd0d0d0d0-0000-4000-8000-000000000001' `  \n"
        "  -Direction Inbound -Precedence 1 -SourceObjectType user -TargetObjectType person -LinkType Join `\n"
        "  -Connector 'b891884f-051e-4a83-95af-2544101c9083' -OutVariable r\n"
        "Add-ADSyncRule $r[0]\n"
    )
    export, sink = read(text, tmp_path)
    assert [r.name for r in export.rules] == ["R"]
    assert codes(sink) == [(1, "SR819")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("$a = 'never closed\n", "the string is never closed"),
        ("<# never closed\n", "the block comment `<#` is never closed with `#>`"),
        ("$a = @'\nno end\n", "the here-string is never closed with `'@` at a line start"),
    ],
)
def test_unreadable_scripts_are_reported_with_their_line(tmp_path: Path, text: str, message: str) -> None:
    _, sink = read(text, tmp_path)
    (d,) = sink.sorted()
    assert d.code == "SR801" and message in d.message and d.span is not None and d.span.line == 1


@pytest.mark.parametrize(
    "text",
    [
        "$x = " + "(" * 5000 + "1" + ")" * 5000,
        "if ($a) {" * 3000 + "}" * 3000,
        "$x = " + " + ".join(["'a'"] * 20000),
    ],
    ids=["parentheses", "blocks", "long-chain"],
)
def test_hostile_nesting_is_reported_not_crashed(tmp_path: Path, text: str) -> None:
    _, sink = read(text + "\n", tmp_path)
    found = [d.code for d in sink.sorted()]
    assert found in (["SR802"], ["SR802", "SR801"])  # at most one syntax error, then "no rule"


def test_lexer_keeps_positions_for_sub_expressions() -> None:
    text = 'Write-Host "a $($x.Name) b"'
    tokens = Lexer(text).run()
    string = tokens[1]
    sub = string.value[1]
    assert text[sub.inner_start : sub.inner_end] == "$x.Name"
    with pytest.raises(ScriptSyntaxError):
        Lexer('"$(never closed"').run()


def test_a_script_without_rules_is_reported(tmp_path: Path) -> None:
    _, sink = read("Write-Host 'nothing to see'\n", tmp_path)
    assert [(d.code, d.message) for d in sink.sorted()] == [
        ("SR802", "rules.ps1 creates no synchronization rule (no New-ADSyncRule was read)")
    ]


def test_adding_a_rule_twice_keeps_the_last_version(tmp_path: Path) -> None:
    rule = (
        "New-ADSyncRule -Name '{name}' -Identifier 'd0d0d0d0-0000-4000-8000-000000000001' -Direction Inbound "
        "-Precedence 1 -SourceObjectType user -TargetObjectType person -LinkType Join "
        "-Connector 'b891884f-051e-4a83-95af-2544101c9083' -OutVariable r\nAdd-ADSyncRule $r[0]\n"
    )
    export, sink = read(rule.format(name="First") + rule.format(name="Second"), tmp_path)
    assert [r.name for r in export.rules] == ["Second"]
    assert codes(sink) == [(4, "SR810")]


def test_a_switch_on_a_known_value_runs_only_the_matching_branch(tmp_path: Path) -> None:
    export, sink = read(
        """$kind = 'direct'
New-ADSyncRule -Name 'R' -Identifier 'd0d0d0d0-0000-4000-8000-000000000001' -Direction Inbound -Precedence 1 `
  -SourceObjectType user -TargetObjectType person -LinkType Join -Connector 'b891884f-051e-4a83-95af-2544101c9083' -OutVariable r
switch ($kind) {
    'Constant' { Add-ADSyncAttributeFlowMapping -SynchronizationRule $r[0] -Source 'x' -Destination c -FlowType Constant }
    'Direct'   { Add-ADSyncAttributeFlowMapping -SynchronizationRule $r[0] -Source 'x' -Destination d -FlowType Direct }
    default    { Add-ADSyncAttributeFlowMapping -SynchronizationRule $r[0] -Source 'x' -Destination e -FlowType Direct }
}
Add-ADSyncRule $r[0]
""",
        tmp_path,
    )
    assert [f.destination for f in export.rules[0].flows] == ["d"]
    assert codes(sink) == []


def test_a_loop_over_a_literal_list_is_unrolled_and_break_is_followed(tmp_path: Path) -> None:
    export, sink = read(
        """New-ADSyncRule -Name 'R' -Identifier 'd0d0d0d0-0000-4000-8000-000000000001' -Direction Inbound -Precedence 1 `
  -SourceObjectType user -TargetObjectType person -LinkType Join -Connector 'b891884f-051e-4a83-95af-2544101c9083' -OutVariable r
foreach ($a in 'givenName', 'sn', 'STOP', 'mail') {
    if ($a -eq 'stop') { break }   # decided by the script: -eq compares text case-insensitively
    Add-ADSyncAttributeFlowMapping -SynchronizationRule $r[0] -Source $a -Destination $a -FlowType Direct
}
Add-ADSyncRule $r[0]
""",
        tmp_path,
    )
    assert [f.destination for f in export.rules[0].flows] == ["givenName", "sn"]
    assert codes(sink) == []


def test_a_loop_over_a_run_time_collection_is_reported(tmp_path: Path) -> None:
    export, sink = read(
        """New-ADSyncRule -Name 'R' -Identifier 'd0d0d0d0-0000-4000-8000-000000000001' -Direction Inbound -Precedence 1 `
  -SourceObjectType user -TargetObjectType person -LinkType Join -Connector 'b891884f-051e-4a83-95af-2544101c9083' -OutVariable r
foreach ($a in (Get-Content attributes.txt)) {
    Add-ADSyncAttributeFlowMapping -SynchronizationRule $r[0] -Source $a -Destination $a -FlowType Direct
}
Add-ADSyncRule $r[0]
""",
        tmp_path,
    )
    assert export.rules[0].flows == []
    assert codes(sink) == [(3, "SR818"), (4, "SR817")]
    assert "$a takes the values of a collection known only when the script runs" in sink.sorted()[1].message


def test_a_function_never_called_is_read_once_and_reported(tmp_path: Path) -> None:
    export, sink = read(
        """function New-Rule {
    New-ADSyncRule -Name 'R' -Identifier 'd0d0d0d0-0000-4000-8000-000000000001' -Direction Inbound -Precedence 1 `
      -SourceObjectType user -TargetObjectType person -LinkType Join -Connector 'b891884f-051e-4a83-95af-2544101c9083' -OutVariable r
    Add-ADSyncRule $r[0]
}
""",
        tmp_path,
    )
    assert [r.name for r in export.rules] == ["R"]
    assert codes(sink) == [(1, "SR818")]


def test_function_parameters_not_passed(tmp_path: Path) -> None:
    """An unpassed [int] is 0 and [string] is '' in PowerShell; a mandatory one is asked for at run time."""
    export, sink = read(
        """function New-Rule {
    param([Parameter(Mandatory = $true)][string] $Name, [int] $Precedence, [string] $Description)
    New-ADSyncRule -Name $Name -Identifier 'd0d0d0d0-0000-4000-8000-000000000001' -Direction Inbound `
      -Precedence $Precedence -Description $Description -SourceObjectType user -TargetObjectType person `
      -LinkType Join -Connector 'b891884f-051e-4a83-95af-2544101c9083' | Add-ADSyncRule
}
New-Rule -Name 'Named'
New-Rule
""",
        tmp_path,
    )
    assert [(r.name, r.precedence, r.description) for r in export.rules] == [("Named", 0, "")]
    (unknown,) = [d for d in sink.sorted() if d.code == "SR817"]
    assert unknown.span is not None and unknown.span.line == 3
    assert "function New-Rule is called at line 8 without its mandatory -Name" in unknown.message
    assert [lb.span.line for lb in unknown.labels] == [8]


def test_connector_looked_up_by_name_is_resolved_with_the_schema(tmp_path: Path) -> None:
    if not CORPUS.is_dir():
        pytest.skip(NO_CORPUS)
    script = tmp_path / "by-name.ps1"
    script.write_text(
        """$ad = Get-ADSyncConnector -Name 'contoso.com'
New-ADSyncRule -Name 'By name' -Identifier 'd0d0d0d0-0000-4000-8000-000000000001' -Direction Inbound -Precedence 1 `
  -SourceObjectType user -TargetObjectType person -LinkType Join -Connector $ad.Identifier.Guid -OutVariable r
Add-ADSyncAttributeFlowMapping -SynchronizationRule $r[0] -Source @('department') -Destination 'department' -FlowType Direct
Add-ADSyncRule $r[0]
""",
        encoding="utf-8",
    )
    imported = run([script], tmp_path / "p", schema=CORPUS)
    assert imported.code == 0, imported.stderr
    assert imported.rule("By name").connector == "contoso.com"
    without = run([script], tmp_path / "q")
    assert without.code == 1
    assert "the connector 'contoso.com' is looked up on the server" in without.stderr


def test_utf16_scripts_and_script_folders(tmp_path: Path) -> None:
    folder = tmp_path / "scripts"
    folder.mkdir()
    text = (
        (SCRIPTS / "sre_export.ps1").read_text(encoding="utf-8").replace("Contractor Join", "Contractör Join")
    )
    (folder / "export.ps1").write_bytes(text.encode("utf-16"))  # Windows PowerShell's Out-File default
    imported = run([folder], tmp_path / "p")
    assert imported.code == 0, imported.stderr
    assert imported.rule("In from AD - Contractör Join").id == "5b1e9c2a-7d4f-4a63-9b0e-2f6c8d1a3e01"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, None),
        ("00:00:00", None),
        ("0", None),
        (864000000000, "1.00:00:00"),
        (300000000, "00:00:30"),
        (15, "00:00:00.0000015"),
        ("30", "30.00:00:00"),
        ("1.02:03:04", "1.02:03:04"),
        ("12:30", "12:30:00"),
        (-1, "not a time span"),
        ("soon", "not a time span"),
    ],
)
def test_soft_delete_intervals(value: int | str, expected: str | None) -> None:
    """PowerShell reads a number as ticks and text as TimeSpan.Parse; the language writes d.hh:mm:ss."""
    got = _timespan(value)
    assert (got if isinstance(got, str) or got is None else "not a time span") == expected
