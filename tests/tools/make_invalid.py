"""Regenerate tests/invalid/*.sync from the case table below.

Each case marks where its first diagnostic must point with ``@@``; this script removes the marker
and writes the position into an ``# expect: CODE LINE:COL`` header, which the test checks
independently of the golden output. Run: python tests/tools/make_invalid.py
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent.parent / "invalid"

IN = 'inbound from "contoso.com" user to person'
OUT = 'outbound from person to "tenant" user'


def rule(body: str, head: str = IN, name: str = "R", prec: str = "precedence 10") -> str:
    lines = [f'rule "{name}" {{', f"  {head}"]
    if prec:
        lines.append(f"  {prec}")
    lines += ["  " + ln for ln in body.strip("\n").split("\n") if ln]
    lines.append("}")
    return "\n".join(lines) + "\n"


CASES: list[tuple[str, str, str]] = [
    # --- syntax
    ("unclosed-rule", "SR005", 'rule "R" {\n  ' + IN + "\n  precedence 10@@\n"),
    ("unclosed-scope", "SR005", rule('scope {\n  displayName EQUAL "x"\n@@flow displayName <- [displayName]')),
    ("unclosed-call", "SR003", rule("flow displayName <- Trim([displayName]\n@@}")),
    ("unclosed-paren", "SR003", rule('flow displayName <- (Trim([displayName]) & "x"\n@@}')),
    ("unterminated-string", "SR006", rule('flow displayName <- @@"abc\n')),
    ("double-equals", "SR003", rule('flow accountEnabled <- [displayName] =@@= "x"')),
    ("not-equals-bang", "SR003", rule('flow accountEnabled <- [displayName] @@!= "x"')),
    ("missing-arrow", "SR003", rule("flow displayName @@[displayName]")),
    ("unquoted-connector", "SR003", rule("", head="inbound from @@contoso user to person")),
    ("stray-character", "SR007", rule("flow displayName <- [displayName] @@`")),
    ("missing-and", "SR003", rule('scope { displayName EQUAL "x" @@sn EQUAL "y" }')),
    ("flow-outside-rule", "SR003", "@@flow displayName <- [displayName]\n"),
    ("trailing-operator", "SR003", rule('flow displayName <- [displayName] &\n@@}')),
    ("empty-argument", "SR003", rule("flow displayName <- Left([displayName], @@)")),
    ("unknown-merge-word", "SR003", rule("flow proxyAddresses <- proxyAddresses @@union")),
    ("duplicate-setting", "SR010", rule("link join\n@@link provision")),
    ("direct-expression-list", "SR014", rule("flow displayName <- givenName, @@Trim([sn])")),
    ("decimal-number", "SR008", rule("flow employeeNumber <- 1@@.5")),
    # --- names
    ("unknown-attribute-expr", "SR101", rule("flow displayName <- Trim(@@[dispName])")),
    ("unknown-attribute-scope", "SR101", rule('scope { @@department EQUAL "IT" }')),
    ("unknown-target", "SR101", rule("flow @@fullName <- [displayName]")),
    ("wrong-attribute-case", "SR115", rule("flow displayName <- @@[DisplayName]")),
    ("unknown-function", "SR102", rule("flow displayName <- @@Strip([displayName])")),
    ("wrong-function-case", "SR103", rule("flow displayName <- @@trim([displayName])")),
    ("unknown-connector", "SR104", rule("", head='inbound from @@"contoso.org" user to person')),
    ("unknown-cs-type", "SR105", rule("", head='inbound from "contoso.com" @@contact to person')),
    ("unknown-mv-type", "SR105", rule("", head='inbound from "contoso.com" user to @@human')),
    ("unknown-parameter", "SR106", rule("flow displayName <- @@%Domain.FQDNN%")),
    ("unknown-parameter-scope", "SR106", rule('scope { displayName EQUAL @@"%Tenant.Name%" }')),
    ("unknown-variable", "SR111", rule("flow proxyAddresses <- Select($item, [proxyAddresses], Trim(@@$x))")),
    ("unknown-constant-case", "SR114", rule("flow accountEnabled <- @@true")),
    ("unknown-bare-name", "SR114", rule("flow displayName <- Left([displayName], @@maxLen)")),
    ("duplicate-rule", "SR108", rule("flow displayName <- [displayName]") + "\n" + rule("flow accountName <- [sAMAccountName]", prec="precedence 11").replace('rule "R"', 'rule @@"R"')),
    ("duplicate-identifier", "SR109", rule('id "{11111111-2222-3333-4444-555555555555}"', name="A") + rule('id @@"{11111111-2222-3333-4444-555555555555}"', name="B", prec="precedence 11")),
    ("unknown-precedence-anchor", "SR107", rule("", prec='precedence before @@"No such rule"')),
    ("import-missing", "SR112", 'import @@"missing.sync"\n'),
    ("duplicate-mv-type", "SR110", 'import "_schema.sync"\nmetaverse {\n  object @@person {\n    x string\n  }\n}\n'),
    ("duplicate-attribute", "SR110", 'connector "c" {\n  kind ldap\n  object user {\n    a string\n    @@a number\n  }\n}\n'),
    # --- types
    ("wrong-arity", "SR201", rule("flow displayName <- @@Left([displayName])")),
    ("wrong-arity-many", "SR201", rule('flow displayName <- @@Trim([displayName], " ")')),
    ("wrong-argument-type", "SR202", rule('flow displayName <- Left([displayName], @@"3")')),
    ("wrong-argument-binary", "SR202", rule("flow displayName <- StringFromSid(@@[displayName])")),
    ("wrong-enum", "SR205", rule('flow displayName <- ConvertFromBase64([displayName], @@UTF16)')),
    ("switch-odd", "SR201", rule('flow displayName <- @@Switch([sn] = "a", "x", True)')),
    ("imported-value-bracket", "SR202", rule("flow proxyAddresses <- ImportedValue(@@[proxyAddresses])")),
    ("plus-on-text", "SR203", rule('flow displayName <- @@[givenName] + " " & [sn]')),
    ("and-on-text", "SR203", rule('flow accountEnabled <- @@[sn] && [givenName] = "x"')),
    ("binary-into-string", "SR204", rule("flow displayName <- @@[objectGUID]")),
    ("multi-into-single", "SR204", rule("flow displayName <- @@Trim([proxyAddresses])")),
    ("constant-not-boolean", "SR209", rule('flow accountEnabled <- const @@"yes"')),
    ("scope-bitmask-text", "SR207", rule('scope { userAccountControl ISBITNOTSET @@"disabled" }')),
    ("scope-number-text", "SR207", rule('scope { userAccountControl LESSTHAN @@"many" }')),
    ("join-type-mismatch", "SR208", rule("link provision\njoin { @@objectGUID = sourceAnchor }")),
    ("number-too-large", "SR008", rule("flow employeeNumber <- @@99999999999999999999999")),
    # --- rule model
    ("bad-operator", "SR009", rule('scope { displayName @@EQUALS "x" }')),
    ("lowercase-operator", "SR009", rule('scope { displayName @@equal "x" }')),
    ("isnull-with-value", "SR012", rule('scope { displayName ISNULL @@"x" }')),
    ("missing-scope-value", "SR011", rule("scope { displayName @@EQUAL }")),
    ("sticky-join-outbound", "SR301", rule("link @@sticky-join", head=OUT)),
    ("join-no-flow-inbound", "SR301", rule("link @@join-no-flow")),
    ("unknown-link", "SR012", rule("link @@projection")),
    ("pascal-link", "SR012", rule("link @@Provision")),
    ("mixed-merge-types", "SR302", rule("flow proxyAddresses <- proxyAddresses merge", name="A") + rule("flow proxyAddresses <- proxyAddresses @@merge-case-insensitive", name="B", prec="precedence 11")),
    ("duplicate-flow-target", "SR305", rule("flow displayName <- [displayName]\nflow @@displayName <- [sn]")),
    ("missing-direction", "SR011", 'import "_schema.sync"\nrule @@"R" {\n  precedence 10\n}\n'),
    ("missing-precedence", "SR011", rule("", prec="").replace('rule "R"', 'rule @@"R"')),
    ("negative-precedence", "SR303", rule("", prec="precedence @@-5")),
    ("bad-guid", "SR311", rule('id @@"not-a-guid"')),
    ("bad-connector-kind", "SR012", 'connector "c" {\n  kind @@activedirectory\n}\n'),
    ("outbound-star", "SR307", rule("", head='outbound from @@* to "tenant" user')),
]


def main() -> None:
    HERE.mkdir(parents=True, exist_ok=True)
    for old in HERE.glob("[0-9][0-9][0-9]-*.sync"):
        old.unlink()
    for index, (name, code, body) in enumerate(CASES, start=1):
        needs_schema = "import" not in body.split("\n", 1)[0] and not body.startswith("metaverse") and not body.startswith("connector")
        text = ('import "_schema.sync"\n\n' if needs_schema else "") + body
        header = "# expect: {code} {pos}\n"
        marker = text.index("@@")
        full = header.format(code=code, pos="0:0") + text
        # Compute the marker's position after the header line is added.
        offset = full.index("@@")
        line = full.count("\n", 0, offset) + 1
        col = offset - (full.rfind("\n", 0, offset) + 1) + 1
        full = header.format(code=code, pos=f"{line}:{col}") + text.replace("@@", "", 1)
        del marker
        (HERE / f"{index:03d}-{name}.sync").write_text(full, encoding="utf-8")
    print(f"wrote {len(CASES)} cases")


if __name__ == "__main__":
    main()
