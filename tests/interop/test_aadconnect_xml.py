"""The Entra Connect XML importer on small, hand-written exports: every mapping and every diagnostic."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from syncrules.compiler import compile_paths
from syncrules.diagnostics import DiagnosticSink, Severity
from syncrules.interop.aadconnect.cli import import_project, run_import
from syncrules.interop.aadconnect.writer import slug, toml_string
from syncrules.interop.codes import INTEROP_CODES

AD_GUID = "{11111111-aaaa-4bbb-8ccc-000000000001}"
AAD_GUID = "{22222222-aaaa-4bbb-8ccc-000000000002}"
ZERO = "{00000000-0000-0000-0000-000000000000}"

STRING = "1.3.6.1.4.1.1466.115.121.1.15"
BINARY = "1.3.6.1.4.1.1466.115.121.1.40"
INTEGER = "1.3.6.1.4.1.1466.115.121.1.27"
DN = "1.3.6.1.4.1.1466.115.121.1.12"
BOOLEAN = "1.3.6.1.4.1.1466.115.121.1.7"
TIME = "1.3.6.1.4.1.1466.115.121.1.24"


# ---------------------------------------------------------------------------- export builders


def rule_xml(
    ident: str,
    name: str,
    *,
    direction: str = "Inbound",
    connector: str = AD_GUID,
    source: str = "user",
    target: str = "person",
    link: str = "Join",
    precedence: str = "100",
    before: str = ZERO,
    after: str = ZERO,
    extra: str = "",
    mappings: str = "",
    joins: str = "",
    scopes: str = "",
    description: str = "<description />",
    tag: str = "",
    disabled: str = "False",
    password_sync: str = "false",
    soft_delete: str = "00:00:00",
) -> str:
    return f"""<synchronizationRule>
  <id>{ident}</id>
  <internal-id>{ident}</internal-id>
  <version>1</version>
  <name>{name}</name>
  {description}
  <immutable-tag>{tag}</immutable-tag>
  <direction>{direction}</direction>
  <disabled>{disabled}</disabled>
  <connector>{connector}</connector>
  <sourceObjectType>{source}</sourceObjectType>
  <targetObjectType>{target}</targetObjectType>
  <linkType>{link}</linkType>
  <precedence>{precedence}</precedence>
  <precedence-after>{after}</precedence-after>
  <precedence-before>{before}</precedence-before>
  <softDeleteExpiryInterval>{soft_delete}</softDeleteExpiryInterval>
  <EnablePasswordSync>{password_sync}</EnablePasswordSync>
  {extra}
  <attribute-mappings>{mappings}</attribute-mappings>
  <relationshipCriteria>{joins}</relationshipCriteria>
  <synchronizationCriteria>{scopes}</synchronizationCriteria>
</synchronizationRule>
"""


def direct(dest: str, *src: str, merge: str = "Update", once: bool = False) -> str:
    attrs = "".join(f"<attr>{s}</attr>" for s in src)
    flag = ' execute-once="true"' if once else ""
    return f"<mapping{flag}><dest>{dest}</dest><src>{attrs}</src><valueMergeType>{merge}</valueMergeType></mapping>"


def constant(dest: str, text: str, merge: str = "Update") -> str:
    return f"<mapping><dest>{dest}</dest><src>{text}</src><valueMergeType>{merge}</valueMergeType></mapping>"


def expression(dest: str, expr: str, *src: str) -> str:
    attrs = "".join(f"<attr>{s}</attr>" for s in src)
    return (
        f"<mapping><dest>{dest}</dest><src>{attrs}</src><expression>{expr}</expression>"
        "<valueMergeType>Update</valueMergeType></mapping>"
    )


def scope_group(*clauses: tuple[str, str, str]) -> str:
    body = "".join(
        f"<scope><csAttribute>{a}</csAttribute><csOperator>{o}</csOperator><csValue>{v}</csValue></scope>"
        for a, o, v in clauses
    )
    return f"<conditions>{body}</conditions>"


def join_group(*clauses: tuple[str, str, bool]) -> str:
    body = "".join(
        f"<condition>{'<caseSensitive>True</caseSensitive>' if cs else ''}<csAttribute>{a}</csAttribute><ilmAttribute>{b}</ilmAttribute></condition>"
        for a, b, cs in clauses
    )
    return f"<conditions>{body}</conditions>"


def dsml(classes: dict[str, list[str]], types: dict[str, tuple[str, bool]], *, superior: dict[str, str] | None = None,
         content_rules: dict[str, tuple[list[str], list[str]]] | None = None, indexable: tuple[str, ...] = ()) -> str:  # fmt: skip
    """A DSML schema; attribute and class ids are "A-name" / "C-name" like AD's opaque ids."""
    parts = ['<dsml:dsml xmlns:dsml="http://www.dsml.org/DSML" xmlns:ms-dsml="http://www.microsoft.com/MMS/DSML">',
             "<dsml:directory-schema>"]  # fmt: skip
    for name, (syntax, single) in types.items():
        flags = (' single-value="true"' if single else "") + (
            ' ms-dsml:indexable="true"' if name in indexable else ""
        )
        parts.append(
            f'<dsml:attribute-type id="A-{name}"{flags}><dsml:name>{name}</dsml:name><dsml:syntax>{syntax}</dsml:syntax></dsml:attribute-type>'
        )
    for name, attrs in classes.items():
        sup = f' superior="#C-{superior[name]}"' if superior and name in superior else ""
        refs = "".join(
            f'<dsml:attribute ref="#A-{a.lstrip("!")}" required="{str(a.startswith("!")).lower()}" />'
            for a in attrs
        )
        parts.append(
            f'<dsml:class id="C-{name}" type="structural"{sup}><dsml:name>{name}</dsml:name>{refs}</dsml:class>'
        )
    for cls, (attrs, aux) in (content_rules or {}).items():
        refs = "".join(f'<dsml:attribute ref="#A-{a}" required="false" />' for a in attrs)
        auxes = "".join(f'<ms-dsml:aux-class ref="#C-{a}" />' for a in aux)
        parts.append(f'<ms-dsml:dit-content-rule id="C-{cls}">{refs}{auxes}</ms-dsml:dit-content-rule>')
    parts.append("</dsml:directory-schema></dsml:dsml>")
    return "".join(parts)


AD_TYPES = {
    "objectGUID": (BINARY, True), "objectSid": (BINARY, True), "sAMAccountName": (STRING, True),
    "cn": (STRING, True), "proxyAddresses": (STRING, False), "userAccountControl": (INTEGER, True),
    "manager": (DN, True), "whenChanged": (TIME, True), "mail": (STRING, True), "sIDHistory": (BINARY, False),
    "member": (DN, False), "isCriticalSystemObject": (BOOLEAN, True),
}  # fmt: skip


def ad_connector(inclusion: tuple[str, ...] = ("objectGUID", "objectSid", "sAMAccountName", "cn", "proxyAddresses",
                                               "userAccountControl", "manager", "whenChanged", "member",
                                               "isCriticalSystemObject")) -> str:  # fmt: skip
    schema = dsml(
        {"top": ["objectGUID", "!cn", "isCriticalSystemObject"], "person": ["mail"], "user": ["!sAMAccountName", "userAccountControl", "manager"],
         "securityPrincipal": ["objectSid", "sIDHistory"], "mailRecipient": ["proxyAddresses"], "group": ["member", "!sAMAccountName"]},
        AD_TYPES,
        superior={"person": "top", "user": "person", "group": "top"},
        content_rules={"user": (["whenChanged"], ["securityPrincipal", "mailRecipient"]), "group": ([], ["securityPrincipal"])},
    )  # fmt: skip
    attrs = "".join(f"<attribute>{a}</attribute>" for a in inclusion)
    return f"""<ma-data>
  <id>{AD_GUID.upper()}</id><name>corp.example.com</name><category>AD</category><description />
  <schema>{schema}</schema>
  <private-configuration><adma-configuration><parameter-values>
    <parameter name="password" type="encrypted-string" use="connectivity" dataType="String" encrypted="1" />
    <parameter name="Forest.FQDN" type="string" use="global" dataType="String" intrinsic="1">example.com</parameter>
    <parameter name="Forest.Netbios" type="string" use="global" dataType="String" intrinsic="1">EXAMPLE</parameter>
  </parameter-values></adma-configuration></private-configuration>
  <attribute-inclusion>{attrs}</attribute-inclusion>
  <ma-partition-data>
    <partition><name>DC=corp,DC=example,DC=com</name><selected>1</selected>
      <filter><object-classes><object-class>user</object-class><object-class>group</object-class></object-classes>
        <containers><exclusions /><inclusions><inclusion>OU=People,DC=corp,DC=example,DC=com</inclusion></inclusions></containers></filter>
      <parameter-values>
        <parameter name="cookie" type="string" use="partition" dataType="String">abc</parameter>
        <parameter name="Domain.FQDN" type="string" use="partition" dataType="String" intrinsic="1">corp.example.com</parameter>
      </parameter-values></partition>
    <partition><name>DC=old,DC=example,DC=com</name><selected>0</selected></partition>
  </ma-partition-data>
</ma-data>
"""


def aad_connector() -> str:
    schema = dsml(
        {"user": ["cloudAnchor", "sourceAnchor", "accountEnabled", "proxyAddresses", "displayName"]},
        {"cloudAnchor": (STRING, True), "sourceAnchor": (STRING, True), "accountEnabled": (BOOLEAN, True),
         "proxyAddresses": (STRING, False), "displayName": (STRING, True)},
    )  # fmt: skip
    return f"""<ma-data>
  <id>{AAD_GUID}</id><name>example.onmicrosoft.com - AAD</name><category>Extensible2</category>
  <subtype>Windows Azure Active Directory (Microsoft)</subtype>
  <schema>{schema}</schema>
  <private-configuration><MAConfig><importing><per-class-settings>
    <class><name>user</name><anchor><attribute>cloudAnchor</attribute></anchor></class>
  </per-class-settings></importing></MAConfig></private-configuration>
  <attribute-inclusion />
  <ma-partition-data><partition><name>default</name><selected>1</selected>
    <filter><object-classes><object-class>user</object-class></object-classes>
    <containers><exclusions /><inclusions><inclusion /></inclusions></containers></filter></partition></ma-partition-data>
</ma-data>
"""


def metaverse() -> str:
    schema = dsml(
        {"person": ["!accountName", "sourceAnchor", "sourceAnchorBinary", "objectSid", "proxyAddresses", "accountEnabled",
                    "cn", "manager", "cloudAnchor", "displayName", "whenChanged", "mail"],
         "group": ["cn", "member", "sourceAnchor"]},
        {"accountName": (STRING, True), "sourceAnchor": (STRING, True), "sourceAnchorBinary": ("1.3.6.1.4.1.1466.115.121.1.5", True),
         "objectSid": ("1.3.6.1.4.1.1466.115.121.1.5", True), "proxyAddresses": (STRING, False), "accountEnabled": (BOOLEAN, True),
         "cn": (STRING, True), "manager": (DN, True), "cloudAnchor": (STRING, True), "displayName": (STRING, True),
         "whenChanged": (STRING, True), "mail": (STRING, True), "member": (DN, False)},
        indexable=("sourceAnchor", "accountName"),
    )  # fmt: skip
    return f"<saved-mv-configuration><mv-data><schema>{schema}</schema></mv-data></saved-mv-configuration>\n"


R1 = "{aaaaaaaa-0000-4000-8000-000000000001}"
R2 = "{aaaaaaaa-0000-4000-8000-000000000002}"
R3 = "{aaaaaaaa-0000-4000-8000-000000000003}"


def basic_rules() -> dict[str, str]:
    return {
        R1: rule_xml(
            R1, "In from AD - User Join", link="Provision",
            mappings=direct("cn", "cn") + expression("sourceAnchor", "ConvertToBase64([objectGUID])", "objectGUID")
            + direct("proxyAddresses", "proxyAddresses", merge="MergeCaseInsensitive"),
            joins=join_group(("objectSid", "objectSid", False)) + join_group(("objectGUID", "sourceAnchorBinary", True)),
            scopes=scope_group(("isCriticalSystemObject", "NOTEQUAL", "True"), ("userAccountControl", "ISBITNOTSET", "2")),
        ),
        R2: rule_xml(
            R2, "Out to AAD - User Join", direction="Outbound", connector=AAD_GUID, source="person", target="user",
            link="Provision", precedence="110",
            mappings=direct("sourceAnchor", "sourceAnchor") + constant("accountEnabled", "True"),
            joins=join_group(("sourceAnchor", "sourceAnchor", False)),
            scopes=scope_group(("sourceAnchor", "ISNOTNULL", "")),
        ),
    }  # fmt: skip


def make_export(
    root: Path, rules: dict[str, str], *, connectors: bool = True, mv: bool = True, ad: str | None = None
) -> Path:
    (root / "SynchronizationRules").mkdir(parents=True)
    for ident, text in rules.items():
        (root / "SynchronizationRules" / f"SynchronizationRule_{ident}.xml").write_text(
            text, encoding="utf-8"
        )
    if connectors:
        (root / "Connectors").mkdir()
        (root / "Connectors" / f"Connector_{AD_GUID}.xml").write_text(ad or ad_connector(), encoding="utf-8")
        (root / "Connectors" / f"Connector_{AAD_GUID}.xml").write_text(aad_connector(), encoding="utf-8")
    if mv:
        (root / "GlobalSettings").mkdir()
        (root / "GlobalSettings" / "MV.xml").write_text(metaverse(), encoding="utf-8")
    return root


def run(sources: list[Path], out: Path, **kw: object) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = run_import([str(s) for s in sources], str(out), stdout=stdout, stderr=stderr, **kw)  # type: ignore[arg-type]
    return code, stdout.getvalue(), stderr.getvalue()


def codes(stderr: str) -> list[str]:
    return sorted(
        line.split("]", 1)[0].split("[", 1)[1]
        for line in stderr.splitlines()
        if line.startswith(("error[", "warning[", "info["))
    )


def read(out: Path, rel: str) -> str:
    return (out / rel).read_text(encoding="utf-8")


# ---------------------------------------------------------------------------- the happy path


def test_small_export_is_written_exactly(tmp_path: Path) -> None:
    export = make_export(tmp_path / "export", basic_rules())
    code, stdout, stderr = run([export], tmp_path / "out")
    assert code == 0, stderr
    assert codes(stderr) == ["SR808", "SR808"]  # the indexable note; the unselected partition
    assert read(tmp_path / "out", "rules/corp.example.com-inbound.sync").splitlines()[3:] == [
        'rule "In from AD - User Join" {',
        '  inbound from "corp.example.com" user to person',
        "  link provision",
        "  precedence 100",
        f'  id "{R1}"',
        "  scope {",
        '    isCriticalSystemObject NOTEQUAL "True" and',
        "    userAccountControl ISBITNOTSET 2",
        "  }",
        "  join { objectSid = objectSid } or { objectGUID = sourceAnchorBinary case-sensitive }",
        "  flow cn <- cn",
        "  flow sourceAnchor <- ConvertToBase64([objectGUID])",
        "  flow proxyAddresses <- proxyAddresses merge-case-insensitive",
        "}",
    ]
    assert read(tmp_path / "out", "rules/example.onmicrosoft.com-AAD-outbound.sync").splitlines()[3:] == [
        'rule "Out to AAD - User Join" {',
        '  outbound from person to "example.onmicrosoft.com - AAD" user',
        "  link provision",
        "  precedence 110",
        f'  id "{R2}"',
        "  scope { sourceAnchor ISNOTNULL }",
        "  join { sourceAnchor = sourceAnchor }",
        "  flow sourceAnchor <- sourceAnchor",
        '  flow accountEnabled <- const "True"',
        "}",
    ]
    assert (
        "Imported 2 rules (1 inbound, 1 outbound) with 5 flows (3 direct, 1 constant, 1 expression)" in stdout
    )
    result = compile_paths([tmp_path / "out"])
    assert [d.message for d in result.diagnostics if d.severity >= Severity.ERROR] == []


def test_connector_schema_is_flattened_and_restricted(tmp_path: Path) -> None:
    export = make_export(tmp_path / "export", basic_rules())
    run([export], tmp_path / "out")
    text = read(tmp_path / "out", "connectors/corp.example.com.sync")
    assert text.splitlines()[3:] == [
        'connector "corp.example.com" {',
        "  kind active-directory",
        f'  id "{AD_GUID.upper()}"',
        "  anchor objectGUID",
        '  parameter Forest.FQDN = "example.com"',
        '  parameter Forest.Netbios = "EXAMPLE"',
        '  partition "DC=corp,DC=example,DC=com" {',
        '    parameter Domain.FQDN = "corp.example.com"',
        '    include "OU=People,DC=corp,DC=example,DC=com"',
        "  }",
        "",
        "  object group {",
        "    cn                     string    required",
        "    isCriticalSystemObject boolean",
        "    member                 reference multi",
        "    objectGUID             binary",
        "    objectSid              binary",
        "    sAMAccountName         string    required",
        "  }",
        "",
        # user: own + person + top attributes, auxiliary classes and the content rule, minus
        # what the connector does not import (mail, sIDHistory).
        "  object user {",
        "    cn                     string    required",
        "    isCriticalSystemObject boolean",
        "    manager                reference",
        "    objectGUID             binary",
        "    objectSid              binary",
        "    proxyAddresses         string    multi",
        "    sAMAccountName         string    required",
        "    userAccountControl     number",
        "    whenChanged            string",
        "  }",
        "}",
    ]
    aad = read(tmp_path / "out", "connectors/example.onmicrosoft.com-AAD.sync")
    assert "  kind entra-id\n" in aad and "  anchor cloudAnchor\n" in aad and "partition" not in aad
    schema = read(tmp_path / "out", "schema.sync")
    assert "    accountName        string    indexed required\n" in schema
    assert "    sourceAnchorBinary binary\n" in schema


def test_every_rule_field_survives(tmp_path: Path) -> None:
    rules = basic_rules()
    rules[R3] = rule_xml(
        R3, "Custom - sticky", link="StickyJoin", precedence="0", before=R1, after="{99999999-9999-4999-8999-999999999999}",
        disabled="True", password_sync="true", soft_delete="1.00:00:00",
        description="<description>Keeps people alive</description>",
        tag="Custom.Tag.001",
        mappings=constant("displayName", "Padded  ") + direct("mail", "mail", merge="Replace", once=True)
        + direct("proxyAddresses", "proxyAddresses", "mail", merge="MergeCaseInsensitive"),
        scopes=scope_group(("", "ISMEMBEROF", "CN=Pilot,DC=corp"), ("cn", "equal", "007")),
    )  # fmt: skip
    export = make_export(tmp_path / "export", rules)
    code, _, stderr = run([export], tmp_path / "out")
    assert code == 0, stderr
    result = compile_paths([tmp_path / "out"])
    assert result.config is not None
    rule = next(r for r in result.config.rules if r.id == R3)
    assert (rule.link, rule.declared_precedence, rule.disabled, rule.password_sync) == (
        "sticky-join",
        0,
        True,
        True,
    )
    assert rule.precedence_before == "In from AD - User Join"  # an imported rule: named
    assert rule.precedence_after == "{99999999-9999-4999-8999-999999999999}"  # unknown: GUID kept
    assert (rule.soft_delete_expiry, rule.tag, rule.description) == (
        "1.00:00:00",
        "Custom.Tag.001",
        "Keeps people alive",
    )
    assert [(f.target, f.kind, f.constant, f.sources, f.merge, f.once) for f in rule.flows] == [
        ("displayName", "constant", "Padded  ", (), "update", False),
        ("mail", "direct", None, ("mail",), "replace", True),
        ("proxyAddresses", "direct", None, ("proxyAddresses", "mail"), "merge-case-insensitive", False),
    ]
    assert [(c.attribute, c.operator, c.value) for c in rule.scope[0]] == [
        (None, "ISMEMBEROF", "CN=Pilot,DC=corp"),
        ("cn", "EQUAL", "007"),
    ]
    assert "cn EQUAL 007" in read(tmp_path / "out", "rules/corp.example.com-inbound.sync")


def test_schema_folder_and_rule_files_as_sources(tmp_path: Path) -> None:
    """Rules given file by file, schema from another export folder (``--schema``)."""
    export = make_export(tmp_path / "export", basic_rules())
    files = sorted((export / "SynchronizationRules").glob("*.xml"))
    code, stdout, stderr = run(files, tmp_path / "out", schema=str(export))
    assert code == 0, stderr
    assert "Imported 2 rules" in stdout
    assert (tmp_path / "out" / "connectors" / "corp.example.com.sync").is_file()


def test_utf16_export_files_are_read(tmp_path: Path) -> None:
    rules = basic_rules()
    export = make_export(tmp_path / "export", rules)
    path = export / "SynchronizationRules" / f"SynchronizationRule_{R1}.xml"
    path.write_bytes(('<?xml version="1.0" encoding="utf-16"?>\n' + rules[R1]).encode("utf-16"))
    code, stdout, stderr = run([export], tmp_path / "out")
    assert code == 0, stderr
    assert "Imported 2 rules" in stdout


def test_lone_name_expression_stays_an_expression(tmp_path: Path) -> None:
    rules = {R1: rule_xml(R1, "R", mappings=expression("cn", "sAMAccountName") + expression("mail", "NULL"))}
    export = make_export(tmp_path / "export", rules)
    run([export], tmp_path / "out")
    text = read(tmp_path / "out", "rules/corp.example.com-inbound.sync")
    assert "  flow cn <- (sAMAccountName)\n" in text
    assert "  flow mail <- NULL\n" in text


# ---------------------------------------------------------------------------- what is reported


def test_rules_sharing_a_name_are_renamed_apart(tmp_path: Path) -> None:
    rules = basic_rules()
    rules[R3] = rule_xml(R3, "In from AD - User Join", connector=AAD_GUID, precedence="101")
    export = make_export(tmp_path / "export", rules)
    code, _, stderr = run([export], tmp_path / "out")
    assert code == 0
    assert codes(stderr).count("SR807") == 2
    names = {r.name for r in compile_paths([tmp_path / "out"]).config.rules}  # type: ignore[union-attr]
    assert {
        "In from AD - User Join (corp.example.com)",
        "In from AD - User Join (example.onmicrosoft.com - AAD)",
    } <= names


def test_bad_expression_leaves_the_flow_out(tmp_path: Path) -> None:
    rules = {R1: rule_xml(R1, "R", mappings=direct("cn", "cn") + expression("mail", "IIF([a], ", "a"))}
    export = make_export(tmp_path / "export", rules)
    code, _, stderr = run([export], tmp_path / "out")
    assert code == 1
    assert "SR805" in codes(stderr)
    assert "SynchronizationRule_" in stderr and "expression: IIF([a]," in stderr
    text = read(tmp_path / "out", "rules/corp.example.com-inbound.sync")
    assert "flow cn <- cn" in text and "flow mail" not in text


def test_unknown_link_type_leaves_the_rule_out(tmp_path: Path) -> None:
    rules = basic_rules()
    rules[R3] = rule_xml(R3, "Weird", link="Teleport", precedence="120")
    export = make_export(tmp_path / "export", rules)
    code, stdout, stderr = run([export], tmp_path / "out")
    assert code == 1 and "SR806" in codes(stderr)
    assert "Imported 2 rules" in stdout


def test_missing_connector_file_is_inferred(tmp_path: Path) -> None:
    export = make_export(tmp_path / "export", basic_rules(), connectors=False)
    code, _, stderr = run([export], tmp_path / "out", connectors={AD_GUID.strip("{}").upper(): "corp"})
    assert code == 0
    assert codes(stderr).count("SR803") == 2
    corp = read(tmp_path / "out", "connectors/corp.sync")
    assert "  kind generic\n" in corp
    # Types come from the metaverse attributes the rule flows and joins them with.
    assert "    cn                     string\n" in corp
    assert "    objectGUID             binary\n" in corp
    assert "    proxyAddresses         string multi\n" in corp
    assert "    objectSid              binary\n" in corp
    assert "    userAccountControl     string\n" in corp  # nothing to infer from
    assert (tmp_path / "out" / "connectors" / "connector-22222222.sync").is_file()


def test_missing_metaverse_is_inferred(tmp_path: Path) -> None:
    export = make_export(tmp_path / "export", basic_rules(), mv=False)
    code, _, stderr = run([export], tmp_path / "out")
    assert code == 0 and "SR804" in codes(stderr)
    schema = read(tmp_path / "out", "schema.sync")
    assert "    sourceAnchorBinary binary\n" in schema  # joined with AD's objectGUID
    assert "    proxyAddresses     string multi\n" in schema


def test_attribute_outside_the_connector_schema_is_declared_with_a_warning(tmp_path: Path) -> None:
    rules = {R1: rule_xml(R1, "R", mappings=direct("mail", "mail") + direct("displayName", "nickname"))}
    export = make_export(tmp_path / "export", rules)
    code, _, stderr = run([export], tmp_path / "out")
    assert code == 0
    assert codes(stderr).count("SR811") == 2
    assert "is not among the attributes the connector imports; it is declared as string" in stderr
    text = read(tmp_path / "out", "connectors/corp.example.com.sync")
    assert "    mail " in text and "    nickname " in text


def test_multi_line_description_is_joined(tmp_path: Path) -> None:
    rules = {R1: rule_xml(R1, "R", description="<description>first line\nsecond line</description>")}
    export = make_export(tmp_path / "export", rules)
    code, _, stderr = run([export], tmp_path / "out")
    assert code == 0 and "SR812" in codes(stderr)
    assert '  description "first line second line"\n' in read(
        tmp_path / "out", "rules/corp.example.com-inbound.sync"
    )


def test_dtd_and_malformed_xml_are_refused(tmp_path: Path) -> None:
    rules = basic_rules()
    rules[R1] = '<!DOCTYPE x [<!ENTITY a "aaaa">]>\n' + rules[R1]
    rules[R2] = rules[R2].replace("</name>", "</nam>")
    export = make_export(tmp_path / "export", rules)
    code, _, stderr = run([export], tmp_path / "out")
    assert code == 1
    assert codes(stderr).count("SR801") == 2
    assert "document type declaration" in stderr and "mismatched tag" in stderr


def test_unrecognised_sources(tmp_path: Path) -> None:
    (tmp_path / "other.xml").write_text("<something />", encoding="utf-8")
    code, _, stderr = run([tmp_path / "other.xml", tmp_path / "nowhere"], tmp_path / "out")
    assert code == 1
    assert codes(stderr) == ["SR802", "SR802"]
    assert not (tmp_path / "out").exists()


def test_other_sync_files_in_the_output_are_flagged(tmp_path: Path) -> None:
    export = make_export(tmp_path / "export", basic_rules())
    (tmp_path / "out" / "rules").mkdir(parents=True)
    (tmp_path / "out" / "rules" / "old.sync").write_text("# left over\n", encoding="utf-8")
    code, _, stderr = run([export], tmp_path / "out")
    assert code == 0 and "SR816" in codes(stderr)


def test_import_project_without_writing(tmp_path: Path) -> None:
    export = make_export(tmp_path / "export", basic_rules())
    sink = DiagnosticSink()
    _, project, files = import_project([str(export)], None, None, "demo", sink)
    assert not sink.has_errors
    assert [f.path for f in files] == [
        "syncrules.toml",
        "schema.sync",
        "connectors/corp.example.com.sync",
        "connectors/example.onmicrosoft.com-AAD.sync",
        "rules/corp.example.com-inbound.sync",
        "rules/example.onmicrosoft.com-AAD-outbound.sync",
    ]
    assert project.stats.join_clauses == 3 and project.stats.scope_clauses == 3


# ---------------------------------------------------------------------------- helpers


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("contoso.onmicrosoft.com - AAD", "contoso.onmicrosoft.com-AAD"),
        ("a/b\\c", "a-b-c"),
        ("...", "connector"),
    ],
)
def test_slug(name: str, expected: str) -> None:
    assert slug(name) == expected


def test_toml_string() -> None:
    assert toml_string('a "b" \\ c\x01\x7f\té') == '"a \\"b\\" \\\\ c\\u0001\\u007F\té"'


def test_codes_are_in_the_interop_range() -> None:
    assert all(code.startswith("SR8") for code in INTEROP_CODES)
    assert len(INTEROP_CODES) == 23


@pytest.mark.parametrize(
    ("export_word", "direction", "written"),
    [("Join", "Inbound", "join"), ("Provision", "Outbound", "provision"), ("StickyJoin", "Inbound", "sticky-join"),
     ("JoinNoFlow", "Outbound", "join-no-flow"), ("joinnoflow", "Outbound", "join-no-flow")],
)  # fmt: skip
def test_link_types(tmp_path: Path, export_word: str, direction: str, written: str) -> None:
    kw = {} if direction == "Inbound" else {"connector": AAD_GUID, "source": "person", "target": "user"}
    rules = {R1: rule_xml(R1, "R", link=export_word, direction=direction, **kw)}  # type: ignore[arg-type]
    code, _, stderr = run([make_export(tmp_path / "export", rules)], tmp_path / "out")
    assert code == 0, stderr
    (path,) = (tmp_path / "out" / "rules").glob("*.sync")
    assert f"  link {written}\n" in path.read_text(encoding="utf-8")


def test_unknown_rule_elements_are_reported_not_dropped_silently(tmp_path: Path) -> None:
    rules = {R1: rule_xml(R1, "R", extra="<JoinHash>1234</JoinHash>")}
    code, _, stderr = run([make_export(tmp_path / "export", rules)], tmp_path / "out")
    assert code == 0
    assert "rule 'R': <JoinHash> is not represented in the language and is dropped" in stderr
