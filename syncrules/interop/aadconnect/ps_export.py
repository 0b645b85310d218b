"""``syncrules export aadconnect``: write a project's rules as a PowerShell script for Entra Connect.

The script has the shape the Synchronization Rules Editor's *Export* button writes (reference
§2.1), because that is what administrators already know how to review and run on the sync
server: per rule one ``New-ADSyncRule`` block with backtick continuations, one
``Add-ADSyncAttributeFlowMapping`` per flow, ``New-Object ...ScopeCondition`` /
``...JoinCondition`` objects collected in ``-OutVariable condition0, condition1, ...`` and added
one group per ``Add-ADSyncScopeConditionGroup`` / ``Add-ADSyncJoinConditionGroup`` call, then
``Add-ADSyncRule``. :mod:`syncrules.interop.aadconnect.powershell` reads the same shape back.

The project is compiled first and the script written from the IR, so overrides, imports of the
standard rules and relative precedence are already applied. Expressions are printed from the
AST (the author's structure: parentheses, hex numbers, string escapes), on one line, as the
Rules Editor stores them.

What the project does not state but the script needs is derived and reported: a rule without an
``id`` gets an identifier derived from its name (stable across exports); a connector without an
``id`` gets a placeholder variable at the top of the script that must be filled in before it
runs. Output is a pure function of the project: no dates, no paths.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import uuid
from pathlib import Path
from typing import TextIO

from syncrules import ast
from syncrules.compiler import CompileResult, compile_paths
from syncrules.diagnostics import Diagnostic, DiagnosticSink, Severity
from syncrules.diagnostics.render import render_text
from syncrules.fmt.printer import expr_text
from syncrules.interop.codes import OUTPUT_PROBLEM
from syncrules.ir import nodes as ir
from syncrules.source import Span

# New SR8xx codes of the exporter (to be registered in syncrules.diagnostics.codes).
EXPORT_PLACEHOLDER = "SR822"  # error: a connector without an id; the script holds a placeholder to fill in
EXPORT_DERIVED = "SR823"  # info: a value the project leaves implicit was derived for the script

EXIT_OK = 0
EXIT_FINDINGS = 1

_ZERO_GUID = "00000000-0000-0000-0000-000000000000"
# Rules without an id get uuid5(namespace, name): the same name always gives the same identifier,
# so exporting twice and running both scripts updates the rule instead of duplicating it.
_RULE_NAMESPACE = uuid.UUID("9d3c6b1e-5f0a-4c8e-b2d7-7a1e4f6c3b58")
_DIRECTIONS = {"inbound": "Inbound", "outbound": "Outbound"}
_LINKS = {"join": "Join", "provision": "Provision", "sticky-join": "StickyJoin", "join-no-flow": "JoinNoFlow"}
_MERGES = {
    "update": "Update",
    "replace": "Replace",
    "merge": "Merge",
    "merge-case-insensitive": "MergeCaseInsensitive",
}
_FLOW_TYPES = {"direct": "Direct", "constant": "Constant", "expression": "Expression"}
_SCOPE_TYPE = "Microsoft.IdentityManagement.PowerShell.ObjectModel.ScopeCondition"
_JOIN_TYPE = "Microsoft.IdentityManagement.PowerShell.ObjectModel.JoinCondition"
# Characters PowerShell treats as a single quote inside '...' (doubling one escapes it).
_SINGLE_QUOTES = re.compile("['\u2018\u2019\u201a\u201b]")
# expr_text breaks lines only past the printer's width; starting far to its left keeps the whole
# expression on one line, as the Rules Editor stores expressions.
_ONE_LINE = -(1 << 40)

HEADER = (
    "# Synchronization rules written by `syncrules export aadconnect`, in the shape of the Synchronization",
    "# Rules Editor's Export. Run it on the Entra Connect server (ADSync module): Add-ADSyncRule creates each",
    "# rule, or replaces the rule with the same identifier.",
)


def quote(text: str) -> str:
    """A PowerShell single-quoted string: nothing is expanded; quote characters are doubled."""
    return "'" + _SINGLE_QUOTES.sub(lambda m: m.group() * 2, text) + "'"


def expression_text(expr: ast.Expr) -> str:
    """An expression on one line, as the formatter prints it (author's literals kept)."""
    return expr_text(expr, _ONE_LINE)


class ScriptWriter:
    """Builds the script text for a compiled configuration; diagnostics go to ``sink``."""

    def __init__(self, result: CompileResult, sink: DiagnosticSink) -> None:
        assert result.config is not None
        self.config = result.config
        self.sink = sink
        self.ast_rules: dict[Span, ast.Rule] = {
            item.span: item
            for module in result.modules
            for item in module.items
            if isinstance(item, ast.Rule)
        }
        self.ids: dict[str, str] = {}  # rule name -> identifier written
        self.placeholders: dict[str, str] = {}  # connector name -> placeholder variable
        self.flows = 0

    def run(self) -> str:
        rules = self.config.rules
        for rule in rules:
            self.ids[rule.name] = rule.id if rule.id else self._derived_id(rule)
        blocks = [self._rule(rule) for rule in rules]
        lines = list(HEADER)
        for name, var in sorted(self.placeholders.items(), key=lambda kv: kv[1]):
            lines += [
                "",
                f"# FILL IN before running: connector {name!r} has no id in the project. Set its identifier",
                f"# (Get-ADSyncConnector -Name {quote(name)} shows it).",
                f"${var} = {quote('FILL-IN-THE-GUID-OF-CONNECTOR ' + name)}",
            ]
        text = "\n".join(lines) + "\n"
        for block in blocks:
            text += "\n\n" + block
        return text

    # ------------------------------------------------------------------ values the project leaves implicit
    def _derived_id(self, rule: ir.Rule) -> str:
        ident = str(uuid.uuid5(_RULE_NAMESPACE, rule.name))
        self._note(
            f"rule {rule.name!r} has no id; the script gives it {ident}, derived from its name, so every export "
            "writes the same one",
            rule.origin,
            help="add this `id` to the rule to keep it when the rule is renamed",
        )
        return ident

    def _connector(self, rule: ir.Rule) -> str:
        conn = self.config.connector(rule.connector)
        if conn is not None and conn.id:
            return quote(conn.id)
        var = self.placeholders.get(rule.connector)
        if var is None:
            stem = re.sub(r"[^A-Za-z0-9]+", "_", rule.connector).strip("_") or "connector"
            var = f"connector_{stem}"
            taken = set(self.placeholders.values())
            n = 2
            while var in taken:
                var = f"connector_{stem}_{n}"
                n += 1
            self.placeholders[rule.connector] = var
            self.sink.error(
                EXPORT_PLACEHOLDER,
                f"connector {rule.connector!r} has no id, which New-ADSyncRule needs; the script sets ${var} to a "
                "placeholder at its top, to be replaced by the connector's identifier before the script is run",
                conn.origin if conn is not None else rule.origin,
                help='add `id "<GUID>"` to the connector (Get-ADSyncConnector shows it) and export again',
            )
        return f"${var}"

    def _relative(self, ref: str | None) -> str:
        """precedence before/after: the identifier of the rule named, or the GUID as written."""
        if ref is None:
            return quote(_ZERO_GUID)
        return quote(self.ids.get(ref, ref))

    def _precedence(self, rule: ir.Rule) -> int:
        if rule.declared_precedence is not None:
            return rule.declared_precedence
        if rule.precedence_before or rule.precedence_after:
            self._note(
                f"rule {rule.name!r} is placed only relative to another rule; it is written with -Precedence 0 and "
                "-PrecedenceBefore/-PrecedenceAfter, and the server numbers it",
                rule.origin,
            )
            return 0
        return rule.precedence  # pragma: no cover - the compiler requires one of the above

    def _soft_delete(self, rule: ir.Rule) -> str:
        value = rule.soft_delete_expiry
        if value is None:
            return "0"
        if value.isdigit():
            seconds = int(value)
            minutes, s = divmod(seconds, 60)
            hours, m = divmod(minutes, 60)
            days, h = divmod(hours, 24)
            span = (f"{days}." if days else "") + f"{h:02d}:{m:02d}:{s:02d}"
            self._note(
                f"rule {rule.name!r}: soft-delete-expiry {value!r} is seconds; the script writes the time span {span!r} "
                "(a bare number would be read as ticks)",
                rule.origin,
            )
            return quote(span)
        return quote(value)

    def _note(self, message: str, where: Span | None, help: str | None = None) -> None:
        self.sink.emit(Diagnostic(EXPORT_DERIVED, Severity.INFO, message, where, help=help))

    # ------------------------------------------------------------------ blocks
    def _rule(self, rule: ir.Rule) -> str:
        params = [
            ("Name", quote(rule.name)),
            ("Identifier", quote(self.ids[rule.name])),
            ("Description", quote(rule.description or "")),
            ("Direction", quote(_DIRECTIONS[rule.direction])),
            ("Precedence", str(self._precedence(rule))),
            ("PrecedenceAfter", self._relative(rule.precedence_after)),
            ("PrecedenceBefore", self._relative(rule.precedence_before)),
            ("SourceObjectType", quote(rule.source_type)),
            ("TargetObjectType", quote(rule.target_type)),
            ("Connector", self._connector(rule)),
            ("LinkType", quote(_LINKS[rule.link])),
            ("SoftDeleteExpiryInterval", self._soft_delete(rule)),
            ("ImmutableTag", quote(rule.tag or "")),
        ]
        switches = [
            name
            for name, on in (("EnablePasswordSync", rule.password_sync), ("Disabled", rule.disabled))
            if on
        ]
        blocks = [_command("New-ADSyncRule", params, switches, "syncRule")]
        source_rule = self.ast_rules.get(rule.origin) if rule.origin is not None else None
        ast_flows = source_rule.flows if source_rule is not None else ()
        for index, flow in enumerate(rule.flows):
            expr = ast_flows[index].expr if index < len(ast_flows) else None
            blocks.append(self._flow(rule, flow, expr))
        for group in rule.scope:
            conditions = [
                (_SCOPE_TYPE, [quote(c.attribute or ""), quote(c.value or ""), quote(c.operator)])
                for c in group
            ]
            blocks.extend(self._group("Add-ADSyncScopeConditionGroup", "ScopeConditions", conditions))
        for jgroup in rule.join:
            joins = [
                (
                    _JOIN_TYPE,
                    [quote(c.cs_attribute), quote(c.mv_attribute), "$true" if c.case_sensitive else "$false"],
                )
                for c in jgroup
            ]
            blocks.extend(self._group("Add-ADSyncJoinConditionGroup", "JoinConditions", joins))
        blocks.append("Add-ADSyncRule  `\n-SynchronizationRule $syncRule[0]")
        return "\n\n\n".join(blocks) + "\n"

    def _flow(self, rule: ir.Rule, flow: ir.Flow, expr: ast.Expr | None) -> str:
        self.flows += 1
        if flow.kind == "constant":
            sources = [flow.constant or ""]
        else:
            sources = list(flow.sources)
        params = [
            ("SynchronizationRule", "$syncRule[0]"),
            ("Source", "@(" + ",".join(quote(s) for s in sources) + ")"),
            ("Destination", quote(flow.target)),
            ("FlowType", quote(_FLOW_TYPES[flow.kind])),
            ("ValueMergeType", quote(_MERGES[flow.merge])),
        ]
        switches = ["ExecuteOnce"] if flow.once else []
        tail: list[tuple[str, str]] = []
        if flow.kind == "expression":
            if expr is None:  # pragma: no cover - every IR flow comes from an AST flow
                raise ValueError(f"rule {rule.name!r}: expression flow to {flow.target!r} has no source text")
            tail.append(("Expression", quote(expression_text(expr))))
        return _command("Add-ADSyncAttributeFlowMapping", params, switches, "syncRule", tail)

    def _group(self, cmdlet: str, param: str, conditions: list[tuple[str, list[str]]]) -> list[str]:
        blocks = [
            _command(
                "New-Object",
                [("TypeName", quote(type_name)), ("ArgumentList", ",".join(args))],
                [],
                f"condition{i}",
            )
            for i, (type_name, args) in enumerate(conditions)
        ]
        refs = ",".join(f"$condition{i}[0]" for i in range(len(conditions)))
        blocks.append(
            _command(cmdlet, [("SynchronizationRule", "$syncRule[0]"), (param, f"@({refs})")], [], "syncRule")
        )
        return blocks


def _command(
    name: str,
    params: list[tuple[str, str]],
    switches: list[str],
    out_variable: str,
    tail: list[tuple[str, str]] | None = None,
) -> str:
    """One command, a parameter per line joined by backticks, as the Rules Editor lays it out."""
    lines = [f"{name}  `"]
    lines += [f"-{key} {value} `" for key, value in params]
    lines += [f"-{key}  `" for key in switches]
    lines += [f"-{key} {value} `" for key, value in tail or []]
    lines.append(f"-OutVariable {out_variable}")
    return "\n".join(lines)


def export_script(result: CompileResult, sink: DiagnosticSink) -> tuple[str, int, int]:
    """The script for a compiled project, with the number of rules and flows written."""
    writer = ScriptWriter(result, sink)
    text = writer.run()
    return text, len(writer.config.rules), writer.flows


def run_export(
    paths: list[str],
    out_file: str,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Export the rules of the project(s) at ``paths`` to ``out_file``; 0 ok, 1 on any error.

    A project with errors is not exported (its rules are not known reliably); the compiler's
    errors are shown instead. A script with placeholders is written, and the exit code is 1.
    """
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    result = compile_paths(list(paths))
    if result.has_errors or result.config is None:
        errors = [d for d in result.diagnostics if d.severity >= Severity.ERROR]
        err.write(render_text(errors, result.sources))
        err.write("The project has errors, so no script was written.\n")
        return EXIT_FINDINGS
    sink = DiagnosticSink()
    text, rules, flows = export_script(result, sink)
    target = Path(out_file)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".export-", dir=target.parent)
        try:
            # UTF-8 with a byte-order mark: Windows PowerShell 5.1, where the ADSync module runs,
            # reads a script without one as ANSI and would garble non-ASCII names.
            with os.fdopen(fd, "w", encoding="utf-8-sig", newline="\n") as fh:
                fh.write(text)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        sink.error(OUTPUT_PROBLEM, f"cannot write {target}: {exc.strerror or exc}")
        err.write(render_text(sink.sorted(), result.sources))
        return EXIT_FINDINGS
    diagnostics = sink.sorted()
    if diagnostics:
        err.write(render_text(diagnostics, result.sources))
    out.write(f"Exported {rules} rules with {flows} flows to {out_file}.\n")
    return EXIT_FINDINGS if sink.has_errors else EXIT_OK


__all__ = ["EXPORT_DERIVED", "EXPORT_PLACEHOLDER", "ScriptWriter", "export_script", "quote", "run_export"]
