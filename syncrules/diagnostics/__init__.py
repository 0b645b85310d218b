"""The one diagnostic model shared by every stage, and its renderers."""

from syncrules.diagnostics.model import Diagnostic, DiagnosticSink, Label, Severity

__all__ = ["Diagnostic", "DiagnosticSink", "Label", "Severity"]
