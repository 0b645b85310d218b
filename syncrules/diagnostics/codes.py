"""Registry of every diagnostic code the compiler can produce.

Codes are stable and grouped by stage so that users can search for them and suppress them:

* ``SR0xx`` input and syntax
* ``SR1xx`` names (resolution, casing, duplicates, imports)
* ``SR2xx`` types (expressions against the schema and function signatures)
* ``SR3xx`` the rule model (link types, merge types, precedence, joins)
* ``SR9xx`` tool-level problems (usage, internal)

Lint rules (issue: rule checker) use their own ``SLxxx`` range and live with the linter.
"""

from __future__ import annotations

from dataclasses import dataclass

from syncrules.diagnostics.model import Severity


@dataclass(frozen=True, slots=True)
class CodeInfo:
    code: str
    name: str
    severity: Severity
    summary: str


def _c(code: str, name: str, summary: str, severity: Severity = Severity.ERROR) -> CodeInfo:
    return CodeInfo(code, name, severity, summary)


_ALL = [
    # --- input / syntax
    _c("SR001", "unreadable-file", "The file could not be read (missing, unreadable, binary or wrong encoding)."),
    _c("SR002", "empty-file", "The file is empty or holds only comments.", Severity.WARNING),
    _c("SR003", "unexpected-token", "The parser met something it did not expect."),
    _c("SR004", "unexpected-end", "The file ended while something was still open."),
    _c("SR005", "unclosed-block", "A `{` or `(` was never closed."),
    _c("SR006", "unterminated-string", "A string literal has no closing quote."),
    _c("SR007", "invalid-character", "A character that is not part of the language."),
    _c("SR008", "invalid-number", "A number literal that cannot be represented."),
    _c("SR009", "unknown-operator", "A scoping operator that does not exist."),
    _c("SR010", "duplicate-setting", "A rule or declaration sets the same property twice."),
    _c("SR011", "missing-setting", "A rule or declaration lacks a required property."),
    _c("SR012", "invalid-value", "A property has a value outside its allowed set."),
    _c("SR013", "too-deep", "Nesting deeper than the compiler accepts."),
    _c("SR014", "misplaced-direct-source", "A direct flow may only list attribute names."),
    # --- names
    _c("SR101", "unknown-attribute", "An attribute that the object type does not declare."),
    _c("SR102", "unknown-function", "A function that does not exist."),
    _c("SR103", "wrong-function-case", "A function name with the wrong letter case (names are case-sensitive)."),
    _c("SR104", "unknown-connector", "A connector that is not declared."),
    _c("SR105", "unknown-object-type", "An object type that is not declared."),
    _c("SR106", "unknown-parameter", "A %parameter% that the connector does not define."),
    _c("SR107", "unknown-rule", "A reference to a rule that does not exist."),
    _c("SR108", "duplicate-rule", "Two rules with the same name."),
    _c("SR109", "duplicate-identifier", "Two rules with the same identifier."),
    _c("SR110", "duplicate-declaration", "An object type, attribute, connector or parameter declared twice."),
    _c("SR111", "unknown-variable", "A $variable that no Select, Where or With binds."),
    _c("SR112", "import-not-found", "An imported file or standard module that does not exist."),
    _c("SR113", "import-cycle", "Files that import each other.", Severity.WARNING),
    _c("SR114", "unknown-name", "A bare name that is not a constant or an enumeration value here."),
    _c("SR115", "wrong-attribute-case", "An attribute name with the wrong letter case."),
    _c("SR116", "duplicate-immutable-tag", "Two rules with the same immutable tag."),
    # --- types
    _c("SR201", "wrong-arity", "A function called with the wrong number of arguments."),
    _c("SR202", "wrong-argument-type", "A function argument of the wrong type."),
    _c("SR203", "wrong-operand-type", "An operator applied to a value of the wrong type."),
    _c("SR204", "flow-type-mismatch", "A flow whose value cannot be stored in its target attribute."),
    _c("SR205", "invalid-enum", "An enumeration argument that the function does not accept."),
    _c("SR206", "void-value", "Error() used where a value is needed.", Severity.WARNING),
    _c("SR207", "scope-value-type", "A scoping value of the wrong type for its attribute or operator."),
    _c("SR208", "join-type-mismatch", "A join clause comparing attributes of different types."),
    _c("SR209", "constant-type-mismatch", "A constant flow whose text does not fit the target attribute."),
    _c("SR210", "multi-into-single", "A multi-valued attribute flows directly into a single-valued one; only the first value is kept.", Severity.INFO),
    # --- rule model
    _c("SR301", "invalid-link-type", "A link type that is not valid for the rule's direction."),
    _c("SR302", "mixed-merge-types", "Rules flowing the same target attribute with different merge types."),
    _c("SR303", "invalid-precedence", "A precedence that is negative or refers to an incompatible rule."),
    _c("SR304", "provision-without-join", "A Provision inbound rule with no join criteria cannot project.", Severity.WARNING),
    _c("SR305", "duplicate-flow-target", "One rule flows the same target attribute twice."),
    _c("SR306", "multi-source-expression", "A direct flow with several sources into a single-valued attribute.", Severity.WARNING),
    _c("SR307", "invalid-object-type-pair", "Source/target object types that do not fit the direction."),
    _c("SR308", "bad-anchor", "A connector anchor that is not an attribute of its object types."),
    _c("SR309", "sticky-join-outbound", "StickyJoin has no meaning on an outbound rule."),
    _c("SR310", "join-no-flow-inbound", "JoinNoFlow is only meaningful on an outbound rule."),
    _c("SR311", "invalid-guid", "An identifier that is not a GUID."),
    _c("SR312", "precedence-cycle", "Relative precedences (before/after) that form a cycle."),
    _c("SR313", "missing-anchor", "A connector that declares no anchor attribute.", Severity.WARNING),
    # --- run time (expression evaluation)
    _c("SR600", "error-function", "An Error(\"...\") in a flow was evaluated: the object fails with that message."),
    _c("SR601", "evaluation-error", "An expression failed at run time (a conversion, an index out of range, a bad value)."),
    # --- projects and fixtures
    _c("SR701", "unreadable-project", "syncrules.toml cannot be read or is not valid TOML."),
    _c("SR702", "bad-project-setting", "A setting in syncrules.toml has the wrong type or value."),
    _c("SR703", "no-rule-files", "The project's rule globs match no .sync files."),
    _c("SR710", "bad-fixture", "A fixture record does not fit the connector schema or is malformed."),
    # --- import (syncrules import ...)
    _c("SR801", "unreadable-export", "An export file that cannot be read: not well-formed XML (DTDs are refused) or not valid PowerShell syntax."),
    _c("SR802", "unrecognised-export", 'A source that is neither an export folder nor a rule, connector or metaverse XML file.'),
    _c("SR803", "missing-connector", 'A rule refers to a connector GUID with no connector file; its name and schema are guessed.', Severity.WARNING),
    _c("SR804", "missing-metaverse-schema", 'No GlobalSettings/MV.xml; the metaverse schema is inferred from the rules.', Severity.WARNING),
    _c("SR805", "invalid-expression", 'An attribute-flow expression that does not parse; the flow is left out.'),
    _c("SR806", "invalid-field", 'A required field is missing or holds a value outside its allowed set.'),
    _c("SR807", "renamed-apart", 'Rules (or connectors) sharing one name, e.g. one rule per forest, were renamed apart.', Severity.WARNING),
    _c("SR808", "not-represented", 'A field of the export that the language does not represent; its value is dropped.', Severity.INFO),
    _c("SR809", "source-list-differs", "An expression flow's Source list differs from the attributes the expression reads.", Severity.INFO),
    _c("SR810", "duplicate-export-object", 'Two rules with one identifier, or two connector files with one GUID; the later one is skipped.'),
    _c("SR811", "attribute-not-in-schema", 'A rule uses a connector attribute missing from the imported connector schema; it is declared anyway.', Severity.WARNING),
    _c("SR812", "unrepresentable-text", 'Text the language cannot hold as written (e.g. a line break in a description); it was adjusted.', Severity.WARNING),
    _c("SR813", "unrepresentable-name", 'A name that cannot be written in the language (not an identifier); the item is left out.'),
    _c("SR814", "round-trip-failure", 'A generated declaration does not read back identically; it is left out (a bug in the importer).'),
    _c("SR815", "output-problem", 'The output directory cannot be written.'),
    _c("SR816", "foreign-output-files", 'The output directory holds other .sync files, which will be compiled with the import.', Severity.WARNING),
    _c("SR817", "unresolved-script-value", "A value that cannot be known without running the script; what needs it is left out."),
    _c("SR818", "runtime-control-flow", "Statements under run-time control flow were read as straight-line code.", Severity.WARNING),
    _c("SR819", "unsupported-script-construct", "A command or construct the script reader does not evaluate; skipped.", Severity.WARNING),
    _c("SR820", "rule-not-added", "A rule created with New-ADSyncRule but never passed to Add-ADSyncRule; not imported.", Severity.WARNING),
    _c("SR821", "rule-without-identifier", "A rule with no fixed -Identifier; written without an id.", Severity.WARNING),
    _c("SR822", "export-placeholder", "A connector without an id: the exported script holds a placeholder to fill in."),
    _c("SR823", "export-derived-value", "A value derived for the exported script (rule id, precedence, time span).", Severity.INFO),
    # --- tool level
    _c("SR901", "usage", "The command line was not understood."),
    _c("SR902", "internal-error", "A bug in syncrules; please report it."),
]

CODES: dict[str, CodeInfo] = {c.code: c for c in _ALL}
