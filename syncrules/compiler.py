"""The front end as one call: files → parse → analyse → IR, with every diagnostic collected.

Used by ``check``, ``compile``, ``fmt`` and (later) the engine and the linter, so they all see the
same configuration and the same diagnostics.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from syncrules import ast
from syncrules.diagnostics import Diagnostic, DiagnosticSink, Severity
from syncrules.ir import nodes as ir
from syncrules.semantic.analyze import analyze
from syncrules.semantic.loader import LoadedConfig, load, load_text
from syncrules.source import SourceFile


@dataclass
class CompileResult:
    config: ir.Config | None
    modules: list[ast.Module]
    sources: dict[str, SourceFile]
    diagnostics: list[Diagnostic]

    @property
    def has_errors(self) -> bool:
        return any(d.severity >= Severity.ERROR for d in self.diagnostics)


def _finish(loaded: LoadedConfig, sink: DiagnosticSink) -> CompileResult:
    config = analyze(loaded.modules, sink) if loaded.modules else None
    return CompileResult(config, loaded.modules, loaded.sources, sink.sorted())


def compile_paths(paths: list[str | Path]) -> CompileResult:
    sink = DiagnosticSink()
    return _finish(load(paths, sink), sink)


def compile_text(text: str, path: str = "<text>") -> CompileResult:
    sink = DiagnosticSink()
    return _finish(load_text(text, path, sink), sink)
