"""Importing the real Contoso export (62 out-of-box rules) and checking nothing was lost.

The expected values come from the XML itself, read here with ElementTree — independently of the
importer's own reader — and are compared with (a) the written ``.sync`` files parsed back with the
syncrules parser and (b) the IR that ``compile_paths`` builds from them.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

from syncrules import ast
from syncrules.compiler import CompileResult, compile_paths
from syncrules.diagnostics import DiagnosticSink, Severity
from syncrules.fmt import format_module
from syncrules.interop.aadconnect.cli import run_import
from syncrules.ir import nodes as ir
from syncrules.syntax import parse_expression, parse_module
from tests.conftest import CORPUS, NO_CORPUS

ZERO = "{00000000-0000-0000-0000-000000000000}"
LINKS = {"Join": "join", "Provision": "provision", "StickyJoin": "sticky-join", "JoinNoFlow": "join-no-flow"}
MERGES = {
    "Update": "update",
    "Replace": "replace",
    "Merge": "merge",
    "MergeCaseInsensitive": "merge-case-insensitive",
}

pytestmark = pytest.mark.skipif(
    not CORPUS.is_dir(), reason=NO_CORPUS
)


# ---------------------------------------------------------------------------- fixtures


class Imported:
    def __init__(self, out: Path, code: int, stdout: str, stderr: str) -> None:
        self.out, self.code, self.stdout, self.stderr = out, code, stdout, stderr


def _import(out: Path) -> Imported:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = run_import([str(CORPUS)], str(out), stdout=stdout, stderr=stderr)
    return Imported(out, code, stdout.getvalue(), stderr.getvalue())


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Imported:
    """The corpus imported once per module (the AD connector file alone is 1.8 MB)."""
    return _import(tmp_path_factory.mktemp("contoso") / "contoso")


@pytest.fixture(scope="module")
def xml_rules() -> dict[str, ET.Element]:
    """Every rule of the export by lower-cased identifier."""
    out = {}
    for f in sorted((CORPUS / "SynchronizationRules").glob("*.xml")):
        root = ET.parse(f).getroot()
        out[root.findtext("id").lower()] = root
    return out


@pytest.fixture(scope="module")
def connector_names() -> dict[str, str]:
    """Connector GUID (lower case, braces) → name, from the small connector files' headers."""
    names = {}
    for f in (CORPUS / "Connectors").glob("*.xml"):
        head = f.read_text(encoding="utf-8")[:2000]
        guid = head.split("<id>", 1)[1].split("</id>", 1)[0]
        names[guid.lower()] = head.split("<name>", 1)[1].split("</name>", 1)[0]
    return names


@pytest.fixture(scope="module")
def written_rules(imported: Imported) -> dict[str, ast.Rule]:
    """The rules of the written files, parsed back with the syncrules parser, by identifier."""
    rules: dict[str, ast.Rule] = {}
    for path in sorted((imported.out / "rules").glob("*.sync")):
        sink = DiagnosticSink()
        module = parse_module(path, sink)
        assert module is not None and not sink.items, [d.message for d in sink.items]
        for item in module.items:
            assert isinstance(item, ast.Rule)
            ident = item.setting("id")
            assert ident is not None and isinstance(ident.value, ast.StringLit)
            rules[ident.value.value.lower()] = item
    return rules


@pytest.fixture(scope="module")
def compiled(imported: Imported) -> CompileResult:
    return compile_paths([imported.out])


# ---------------------------------------------------------------------------- the import itself


def test_import_succeeds_and_reports_what_it_did(imported: Imported) -> None:
    assert imported.code == 0, imported.stderr
    assert "Imported 62 rules (28 inbound, 34 outbound) with 1200 flows" in imported.stdout
    assert "92 scope clauses in 48 groups and 40 join clauses in 40 groups" in imported.stdout
    assert "2 connectors" in imported.stdout and "3 metaverse object types" in imported.stdout


def test_only_expected_notes_are_reported(imported: Imported) -> None:
    """No errors or warnings on a clean export; the notes say what the language does not keep."""
    heads = [line for line in imported.stderr.splitlines() if line.startswith(("error", "warning", "info"))]
    kinds = Counter(h.split(":", 1)[0].split()[0] for h in heads)
    # 12 expression flows whose exported Source list differs from what the expression reads,
    # and one note that `indexable` metaverse attributes are written `indexed`.
    assert kinds == Counter({"info[SR809]": 12, "info[SR808]": 1}), heads


def test_project_layout(imported: Imported) -> None:
    files = sorted(str(p.relative_to(imported.out)) for p in imported.out.rglob("*") if p.is_file())
    assert files == [
        "connectors/contoso.com.sync",
        "connectors/contoso.onmicrosoft.com-AAD.sync",
        "rules/contoso.com-inbound.sync",
        "rules/contoso.com-outbound.sync",
        "rules/contoso.onmicrosoft.com-AAD-inbound.sync",
        "rules/contoso.onmicrosoft.com-AAD-outbound.sync",
        "schema.sync",
        "syncrules.toml",
    ]
    assert (imported.out / "syncrules.toml").read_text(encoding="utf-8") == '[project]\nname = "contoso"\n'


def test_written_files_are_canonically_formatted(imported: Imported) -> None:
    for path in imported.out.rglob("*.sync"):
        module = parse_module(path, DiagnosticSink())
        assert module is not None
        assert format_module(module) == path.read_text(encoding="utf-8"), path


def test_import_is_deterministic(imported: Imported, tmp_path: Path) -> None:
    again = _import(tmp_path / "contoso")
    first = {p.relative_to(imported.out): p.read_bytes() for p in imported.out.rglob("*") if p.is_file()}
    second = {p.relative_to(again.out): p.read_bytes() for p in again.out.rglob("*") if p.is_file()}
    assert first == second
    assert again.stderr == imported.stderr


# ---------------------------------------------------------------------------- structure versus the XML


def test_every_rule_is_written(written_rules: dict[str, ast.Rule], xml_rules: dict[str, ET.Element]) -> None:
    assert len(xml_rules) == 62
    assert set(written_rules) == set(xml_rules)
    for ident, xml in xml_rules.items():
        assert written_rules[ident].name.value == xml.findtext("name")


def test_scope_join_and_flows_match_the_xml(
    written_rules: dict[str, ast.Rule], xml_rules: dict[str, ET.Element]
) -> None:
    totals = Counter()
    for ident, xml in xml_rules.items():
        rule = written_rules[ident]
        scope = [
            [
                (s.findtext("csAttribute"), s.findtext("csOperator"), s.findtext("csValue") or None)
                for s in g.findall("scope")
            ]
            for g in xml.findall("synchronizationCriteria/conditions")
        ]
        got_scope = [
            [(c.attribute.text if c.attribute else "", c.operator.text, _scope_value(c)) for c in g.clauses]
            for g in rule.scope
        ]
        assert got_scope == scope, rule.name.value
        join = [
            [
                (
                    c.findtext("csAttribute"),
                    c.findtext("ilmAttribute"),
                    (c.findtext("caseSensitive") or "").lower() == "true",
                )
                for c in g.findall("condition")
            ]
            for g in xml.findall("relationshipCriteria/conditions")
        ]
        got_join = [
            [(c.cs_attribute.text, c.mv_attribute.text, c.case_sensitive) for c in g.clauses]
            for g in rule.join
        ]
        assert got_join == join, rule.name.value
        mappings = xml.findall("attribute-mappings/mapping")
        assert len(rule.flows) == len(mappings), rule.name.value
        for flow, m in zip(rule.flows, mappings, strict=True):
            _assert_flow(flow, m, rule.name.value)
            totals[flow.kind] += 1
        totals["scope"] += sum(len(g) for g in scope)
        totals["join"] += sum(len(g) for g in join)
    assert totals == Counter({"direct": 802, "expression": 391, "constant": 7, "scope": 92, "join": 40})


def _scope_value(c: ast.ScopeClause) -> str | None:
    if c.value is None:
        return None
    return c.value.value if isinstance(c.value, ast.StringLit) else c.value.text


def _assert_flow(flow: ast.Flow, m: ET.Element, rule: str) -> None:
    where = f"{rule}: {m.findtext('dest')}"
    assert flow.target.text == m.findtext("dest"), where
    assert flow.once == (m.get("execute-once") == "true"), where
    assert (flow.merge.text if flow.merge else "update") == MERGES[m.findtext("valueMergeType")], where
    expression = m.findtext("expression")
    sources = [a.text for a in m.findall("src/attr")]
    if expression:
        assert flow.kind == "expression", where
        sink = DiagnosticSink()
        expected = parse_expression(expression, sink)
        assert not sink.items
        assert flow.expr is not None and expected is not None, where
        assert ast.strip_parens(flow.expr) == ast.strip_parens(expected), where
        assert flow.expr == expected, f"{where}: the author's parentheses are kept"
    elif sources:
        assert flow.kind == "direct" and [s.text for s in flow.sources] == sources, where
    else:
        assert flow.kind == "constant" and flow.constant is not None, where
        assert flow.constant.value == m.findtext("src"), where


# ---------------------------------------------------------------------------- compiling the result


def test_imported_project_compiles_without_errors(compiled: CompileResult) -> None:
    errors = [f"{d.code} {d.span}: {d.message}" for d in compiled.diagnostics if d.severity >= Severity.ERROR]
    assert errors == []


def test_lossless_rule_properties_in_the_ir(
    compiled: CompileResult, xml_rules: dict[str, ET.Element], connector_names: dict[str, str]
) -> None:
    config = compiled.config
    assert config is not None
    by_id = {r.id.lower(): r for r in config.rules}
    assert set(by_id) == set(xml_rules)
    for ident, xml in xml_rules.items():
        rule = by_id[ident]
        assert rule.name == xml.findtext("name")
        assert rule.tag == (xml.findtext("immutable-tag") or None)
        assert rule.description == (xml.findtext("description") or None)
        assert rule.direction == xml.findtext("direction").lower()
        assert rule.connector == connector_names[xml.findtext("connector").lower()]
        assert (rule.source_type, rule.target_type) == (
            xml.findtext("sourceObjectType"),
            xml.findtext("targetObjectType"),
        )
        assert rule.link == LINKS[xml.findtext("linkType")]
        assert rule.declared_precedence == int(xml.findtext("precedence"))
        assert rule.precedence_before == _relative(xml.findtext("precedence-before"), xml_rules)
        assert rule.precedence_after == _relative(xml.findtext("precedence-after"), xml_rules)
        assert rule.disabled == (xml.findtext("disabled").lower() == "true")
        assert rule.password_sync == (xml.findtext("EnablePasswordSync").lower() == "true")
        assert (rule.soft_delete_expiry or "00:00:00") == xml.findtext("softDeleteExpiryInterval")
        mappings = xml.findall("attribute-mappings/mapping")
        assert [(f.target, f.merge, f.once) for f in rule.flows] == [
            (m.findtext("dest"), MERGES[m.findtext("valueMergeType")], m.get("execute-once") == "true")
            for m in mappings
        ]
        joins = [[(c.findtext("csAttribute"), c.findtext("ilmAttribute"), (c.findtext("caseSensitive") or "").lower() == "true")
                  for c in g.findall("condition")] for g in xml.findall("relationshipCriteria/conditions")]  # fmt: skip
        assert [[(c.cs_attribute, c.mv_attribute, c.case_sensitive) for c in g] for g in rule.join] == joins
    # The corpus exercises the rarer fields, so the checks above are not vacuous.
    assert sum(r.password_sync for r in config.rules) == 2
    assert sum(f.once for r in config.rules for f in r.flows) == 2
    assert sum(f.merge == "merge-case-insensitive" for r in config.rules for f in r.flows) == 5
    assert sum(c.case_sensitive for r in config.rules for g in r.join for c in g) == 3


def _relative(guid: str, xml_rules: dict[str, ET.Element]) -> str | None:
    """What before/after must read: nothing for the zero GUID, the rule's name when imported."""
    if guid == ZERO:
        return None
    target = xml_rules.get(guid.lower())
    return target.findtext("name") if target is not None else guid


def test_schema_types_and_connectors(compiled: CompileResult) -> None:
    config = compiled.config
    assert config is not None
    assert [t.name for t in config.metaverse] == ["device", "group", "person"]
    person = config.mv_type("person")
    assert person is not None

    def attr(t: ir.ObjectType | None, name: str) -> tuple[str, bool, bool, bool]:
        assert t is not None
        a = t.attribute(name)
        assert a is not None, name
        return (a.type, a.multi, a.indexed, a.required)

    assert attr(person, "sourceAnchorBinary") == ("binary", False, True, False)
    assert attr(person, "proxyAddresses") == ("string", True, True, False)
    assert attr(person, "accountEnabled") == ("boolean", False, False, False)
    assert attr(person, "manager") == ("reference", False, False, False)
    assert attr(person, "accountName") == ("string", False, True, True)
    assert attr(config.mv_type("group"), "member") == ("reference", True, False, False)

    ad = config.connector("contoso.com")
    assert ad is not None and ad.kind == "active-directory" and ad.anchor == ("objectGUID",)
    assert ad.id == "{AE4DB4CC-B16B-4EB2-ACF5-837CA84E4D7D}"
    assert ("Forest.FQDN", "contoso.com") in ad.parameters
    (partition,) = ad.partitions
    assert partition.dn == "DC=contoso,DC=com"
    assert dict(partition.parameters) == {
        "Domain.FQDN": "contoso.com",
        "Domain.LDAP": "DC=contoso,DC=com",
        "Domain.Netbios": "CONTOSO",
    }
    assert (partition.includes, partition.excludes) == (
        ("OU=CORP,DC=contoso,DC=com",),
        ("DC=contoso,DC=com",),
    )
    # Object types: the classes the partition imports (rules use a subset of them).
    assert sorted(t.name for t in ad.object_types) == sorted(
        ["computer", "contact", "container", "domainDNS", "foreignSecurityPrincipal", "group", "inetOrgPerson",
         "msDS-Device", "organizationalUnit", "user"]
    )  # fmt: skip
    user = ad.object_type("user")
    assert user is not None
    assert attr(user, "objectGUID")[:2] == ("binary", False)
    assert attr(user, "pwdLastSet")[:2] == ("number", False)  # AD Large Integer
    assert attr(user, "msExchELCExpirySuspensionEnd")[:2] == ("string", False)  # Generalized Time
    assert attr(user, "authOrig")[:2] == ("reference", True)  # Object(OR-Name)
    assert attr(user, "proxyAddresses")[:2] == ("string", True)
    assert user.attribute("sIDHistory") is None  # in the class, but not imported by the connector

    aad = config.connector("contoso.onmicrosoft.com - AAD")
    assert aad is not None and aad.kind == "entra-id" and aad.anchor == ("cloudAnchor",)
    assert sorted(t.name for t in aad.object_types) == ["contact", "device", "group", "user"]
    assert aad.partitions == ()
