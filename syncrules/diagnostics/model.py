"""Diagnostic model.

One shape for everything the tool reports about user input — syntax errors, unknown names, type
errors, rule-model violations, lint findings, fixture problems and per-object run errors — so that
a single set of renderers (text, JSON, later SARIF/GitHub) serves them all.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from syncrules.source import Span


class Severity(enum.IntEnum):
    """Ordered so that ``max()`` over a run gives the worst outcome."""

    INFO = 1
    WARNING = 2
    ERROR = 3

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Label:
    """A secondary span with a short note (e.g. "first defined here")."""

    span: Span
    message: str


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    severity: Severity
    message: str
    span: Span | None = None
    labels: tuple[Label, ...] = ()
    help: str | None = None
    note: str | None = None

    @property
    def name(self) -> str:
        from syncrules.diagnostics.codes import CODES

        info = CODES.get(self.code)
        return info.name if info else ""

    def sort_key(self) -> tuple[str, int, int, str, str]:
        if self.span is None:
            return ("", 0, 0, self.code, self.message)
        return (self.span.file, self.span.line, self.span.column, self.code, self.message)

    def to_json(self) -> dict[str, object]:
        return {
            "code": self.code,
            "name": self.name,
            "severity": self.severity.label,
            "message": self.message,
            "span": self.span.to_json() if self.span else None,
            "labels": [{"span": lb.span.to_json(), "message": lb.message} for lb in self.labels],
            "help": self.help,
            "note": self.note,
        }


@dataclass
class DiagnosticSink:
    """Collects diagnostics across stages so a run reports every problem, not just the first.

    ``limit`` bounds memory and output on pathological input; once reached, further diagnostics
    are counted but dropped.
    """

    limit: int = 1000
    items: list[Diagnostic] = field(default_factory=list)
    dropped: int = 0

    def emit(self, diag: Diagnostic) -> None:
        if len(self.items) >= self.limit:
            self.dropped += 1
            return
        self.items.append(diag)

    def error(self, code: str, message: str, span: Span | None = None, **kw: object) -> None:
        self.emit(Diagnostic(code, Severity.ERROR, message, span, **kw))  # type: ignore[arg-type]

    def warning(self, code: str, message: str, span: Span | None = None, **kw: object) -> None:
        self.emit(Diagnostic(code, Severity.WARNING, message, span, **kw))  # type: ignore[arg-type]

    def extend(self, diags: list[Diagnostic]) -> None:
        for d in diags:
            self.emit(d)

    @property
    def has_errors(self) -> bool:
        return any(d.severity >= Severity.ERROR for d in self.items)

    def sorted(self) -> list[Diagnostic]:
        # Deduplicate: the same problem reached through two paths is reported once.
        seen: set[tuple[object, ...]] = set()
        out: list[Diagnostic] = []
        for d in sorted(self.items, key=Diagnostic.sort_key):
            key = (d.code, d.message, d.span)
            if key not in seen:
                seen.add(key)
                out.append(d)
        return out
