"""``syncrules import aadconnect``: read an export, convert it, write a project, report.

Kept free of click so the command can be called (and tested) as a function; the click wrapper in
:mod:`syncrules.cli` only parses options. The reading step is chosen per source: XML exports go
to :mod:`~syncrules.interop.aadconnect.xml_config`, PowerShell scripts (the Synchronization Rules
Editor's Export, ``*.ps1``) to :mod:`~syncrules.interop.aadconnect.powershell`; both fill one
model, so conversion and writing are shared.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from syncrules.diagnostics import DiagnosticSink
from syncrules.diagnostics.render import render_text
from syncrules.interop.aadconnect.convert import ConvertedProject, Converter
from syncrules.interop.aadconnect.model import Export
from syncrules.interop.aadconnect.powershell import infer_schemas, is_script, read_script
from syncrules.interop.aadconnect.writer import OutputFile, layout, summary, write_files
from syncrules.interop.aadconnect.xml_config import ExportReader
from syncrules.semantic.loader import display_path

EXIT_OK = 0
EXIT_FINDINGS = 1


def read_export(
    sources: list[str],
    schema: str | None,
    sink: DiagnosticSink,
    connectors: dict[str, str] | None = None,
    inferred: set[str] | None = None,
) -> Export:
    """Read every source (and the ``--schema`` folder, whose connectors and metaverse win).

    Scripts are read after the schema so ``(Get-ADSyncConnector -Name X).Identifier`` can be
    resolved against it. When scripts were read, whatever schema is still missing afterwards is
    declared from the rules (:func:`~syncrules.interop.aadconnect.powershell.infer_schemas`):
    a script names connectors by GUID and carries no attribute types. The GUIDs of connectors
    declared that way are added to ``inferred``.
    """
    reader = ExportReader(sink)
    if schema is not None:
        reader.add_source(schema, rules=False)
    any_script = False
    for source in sources:
        path = Path(source)
        scripts = _scripts(path)
        for script in scripts:
            read_script(script, display_path(script), reader.export, sink)
        if not scripts or any(path.glob("*.xml")):  # a loose folder may hold both kinds
            reader.add_source(source)
        any_script = any_script or bool(scripts)
    if any_script:
        declared = infer_schemas(reader.export, sink, connectors)
        if inferred is not None:
            inferred |= declared
    return reader.export


def _scripts(path: Path) -> list[Path]:
    """The PowerShell scripts a source names: the file itself, or a loose folder's scripts."""
    if path.is_file():
        return [path] if is_script(path) else []
    if path.is_dir() and not any(
        (path / sub).is_dir() for sub in ("SynchronizationRules", "Connectors", "GlobalSettings")
    ):
        return sorted(p for p in path.iterdir() if p.is_file() and is_script(p))
    return []


def import_project(
    sources: list[str],
    connectors: dict[str, str] | None,
    schema: str | None,
    project_name: str,
    sink: DiagnosticSink,
) -> tuple[Export, ConvertedProject, list[OutputFile]]:
    """Everything but writing: the files an import would produce (used by tests and ``run_import``)."""
    inferred: set[str] = set()
    export = read_export(sources, schema, sink, connectors, inferred)
    converter = Converter(export, sink, connectors)
    project = converter.run()
    _drop_standins(project, {converter.rule_names[id(r)] for r in export.rules if r.generated_identifier})
    _drop_parameter_values(
        project, {converter.connectors[key].name for key in inferred if key in converter.connectors}
    )
    return export, project, layout(project, project_name)


def _drop_standins(project: ConvertedProject, rule_names: set[str]) -> None:
    """Rules whose source gives no identifier: the stand-in only kept them addressable during
    conversion, so no ``id`` is written."""
    if not rule_names:
        return
    project.rules = {
        key: [
            replace(rule, settings=tuple(s for s in rule.settings if s.key != "id"))
            if rule.name.value in rule_names
            else rule
            for rule in rules
        ]
        for key, rules in project.rules.items()
    }


def _drop_parameter_values(project: ConvertedProject, connector_names: set[str]) -> None:
    """Connectors declared from a script's rules know which ``%Parameter%`` names the rules use,
    not their values: they are declared without one (given when the configuration runs)."""
    project.connectors = [
        replace(decl, parameters=tuple(replace(p, value=None) for p in decl.parameters))
        if decl.name.value in connector_names
        else decl
        for decl in project.connectors
    ]


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
