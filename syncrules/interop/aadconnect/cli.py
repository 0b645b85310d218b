"""``syncrules import aadconnect``: read an export, convert it, write a project, report.

Kept free of click so the command can be called (and tested) as a function; the click wrapper in
:mod:`syncrules.cli` only parses options. The reading step is chosen per source so a second
reader (PowerShell scripts exported by the Synchronization Rules Editor) can slot in beside the
XML one and share conversion and writing.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from syncrules.diagnostics import DiagnosticSink
from syncrules.diagnostics.render import render_text
from syncrules.interop.aadconnect.convert import ConvertedProject, convert
from syncrules.interop.aadconnect.model import Export
from syncrules.interop.aadconnect.writer import OutputFile, layout, summary, write_files
from syncrules.interop.aadconnect.xml_config import ExportReader

EXIT_OK = 0
EXIT_FINDINGS = 1


def read_export(sources: list[str], schema: str | None, sink: DiagnosticSink) -> Export:
    """Read every source (and the ``--schema`` folder, whose connectors and metaverse win)."""
    reader = ExportReader(sink)
    if schema is not None:
        reader.add_source(schema, rules=False)
    for source in sources:
        reader.add_source(source)
    return reader.export


def import_project(
    sources: list[str],
    connectors: dict[str, str] | None,
    schema: str | None,
    project_name: str,
    sink: DiagnosticSink,
) -> tuple[Export, ConvertedProject, list[OutputFile]]:
    """Everything but writing: the files an import would produce (used by tests and ``run_import``)."""
    export = read_export(sources, schema, sink)
    project = convert(export, sink, connectors)
    return export, project, layout(project, project_name)


def run_import(
    sources: list[str],
    out_dir: str,
    connectors: dict[str, str] | None = None,
    schema: str | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Import ``sources`` into ``out_dir``; returns the exit code (0 ok, 1 if any error was reported).

    Diagnostics go to stderr with code frames into the export files; the summary to stdout.
    Files are written even when some rules could not be imported, so the user can see and fix
    the rest; the exit code says whether anything was left out.
    """
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    sink = DiagnosticSink()
    target = Path(out_dir)
    name = target.resolve().name or "imported"
    export, project, files = import_project(sources, connectors, schema, name, sink)
    wrote = False
    if project.stats.rules or project.connectors or project.metaverse.objects:
        wrote = write_files(files, target, sink)
    diagnostics = sink.sorted()
    if diagnostics:
        err.write(render_text(diagnostics, export.sources))
    if wrote:
        out.write(summary(project.stats, len(files), out_dir))
    return EXIT_FINDINGS if sink.has_errors or not wrote else EXIT_OK
