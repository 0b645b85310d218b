"""Lay an imported configuration out as a syncrules project and write it.

Layout (every ``.sync`` file printed by the canonical formatter)::

    syncrules.toml                         [project] name = "..."
    schema.sync                            the metaverse
    connectors/<connector>.sync            one connector declaration each
    rules/<connector>-inbound.sync         that connector's inbound rules, by precedence
    rules/<connector>-outbound.sync        ... and outbound rules

Output is a pure function of the export: sorted, no timestamps and no paths in the text, so two
imports of the same export are byte-identical and a re-import diffs cleanly under version control.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from syncrules import ast
from syncrules.diagnostics import DiagnosticSink
from syncrules.fmt import format_module
from syncrules.interop.aadconnect.convert import ConvertedProject, ImportStats
from syncrules.interop.codes import FOREIGN_OUTPUT_FILES, OUTPUT_PROBLEM
from syncrules.source import Span

HEADER = (
    "# Imported by `syncrules import aadconnect` from an Entra Connect (Azure AD Connect) configuration",
    "# export. Re-running the import overwrites this file.",
)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
# The printer attaches comments to declarations by source offset and keeps one blank line where
# the source had one, so the header gets synthetic positions: comment lines 1-2, declarations
# from line 4 (a blank line after the header) and from an offset past the comments.
_ITEM_OFFSET = 1000


@dataclass(frozen=True)
class OutputFile:
    path: str  # relative, with forward slashes
    text: str


def slug(name: str) -> str:
    """A file-name-safe form of a connector name (``contoso.onmicrosoft.com - AAD`` → ``contoso.onmicrosoft.com-AAD``)."""
    out = _UNSAFE.sub("-", name).strip("-.")
    return re.sub(r"-{2,}", "-", out) or "connector"


def layout(project: ConvertedProject, project_name: str) -> list[OutputFile]:
    """The files of the project, in a fixed order."""
    files = [OutputFile("syncrules.toml", f"[project]\nname = {toml_string(project_name)}\n")]
    files.append(OutputFile("schema.sync", render((project.metaverse,))))
    stems: dict[str, str] = {}
    for decl in project.connectors:
        stem = slug(decl.name.value)
        if stem in stems.values():  # two names that only differ in punctuation
            stem = f"{stem}-{len(stems) + 1}"
        stems[decl.name.value] = stem
        files.append(OutputFile(f"connectors/{stem}.sync", render((decl,))))
    for (conn, direction), rules in sorted(project.rules.items()):
        stem = stems.get(conn, slug(conn))
        files.append(OutputFile(f"rules/{stem}-{direction}.sync", render(tuple(rules))))
    return files


def render(items: tuple[ast.Item, ...]) -> str:
    """Print declarations with the import header, through the canonical formatter."""
    comments = tuple(
        ast.Comment(text, Span("<import>", i + 1, 1, i + 1, len(text) + 1, i, i + 1))
        for i, text in enumerate(HEADER)
    )
    anchor = Span("<import>", len(HEADER) + 2, 1, len(HEADER) + 2, 2, _ITEM_OFFSET, _ITEM_OFFSET + 1)
    placed = tuple(_at(item, anchor) for item in items)
    return format_module(ast.Module("<import>", placed, comments))


def _at(item: ast.Item, span: Span) -> ast.Item:
    return replace(item, span=span)


def toml_string(value: str) -> str:
    """A TOML basic string (escapes quote, backslash and the control characters TOML forbids)."""
    out = ['"']
    for ch in value:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif code < 0x20 and ch != "\t" or code == 0x7F:
            out.append(f"\\u{code:04X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def write_files(files: list[OutputFile], out_dir: Path, sink: DiagnosticSink) -> bool:
    """Write (atomically, file by file) and warn about other .sync files that would join the project."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        sink.error(OUTPUT_PROBLEM, f"cannot create {out_dir}: {exc.strerror or exc}")
        return False
    ours = {out_dir.joinpath(*f.path.split("/")).resolve() for f in files}
    foreign = sorted(p for p in out_dir.rglob("*.sync") if p.resolve() not in ours)
    if foreign:
        shown = ", ".join(str(p.relative_to(out_dir)) for p in foreign[:5]) + (
            ", ..." if len(foreign) > 5 else ""
        )
        sink.warning(
            FOREIGN_OUTPUT_FILES,
            f"{out_dir} also holds {len(foreign)} other .sync file(s) ({shown}), which will be checked together with the import",
            help="import into an empty directory, or delete files left from an earlier import",
        )
    for f in files:
        target = out_dir.joinpath(*f.path.split("/"))
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".import-", dir=target.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
                    fh.write(f.text)
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            sink.error(OUTPUT_PROBLEM, f"cannot write {target}: {exc.strerror or exc}")
            return False
    return True


def summary(stats: ImportStats, files: int, out_dir: str) -> str:
    """One short paragraph: what was imported and where."""
    flows = sum(stats.flows.values())
    kinds = ", ".join(f"{stats.flows.get(k, 0)} {k}" for k in ("direct", "constant", "expression"))
    return (
        f"Imported {stats.rules} rules ({stats.inbound} inbound, {stats.outbound} outbound) with {flows} flows ({kinds}), "
        f"{stats.scope_clauses} scope clauses in {stats.scope_groups} groups and {stats.join_clauses} join clauses "
        f"in {stats.join_groups} groups; {stats.connectors} connectors with {stats.connector_types} object types; "
        f"{stats.metaverse_types} metaverse object types.\n"
        f"Wrote {files} files to {out_dir}.\n"
    )
