"""Source text and spans.

Every later stage (AST, IR, engine errors) points back into the user's files through a
:class:`Span`, so diagnostics can always print ``file:line:col``.  Spans carry both byte-free
character offsets and 1-based line/column pairs so renderers never have to recompute either.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Span:
    """A half-open region ``[start, end)`` of one source file (1-based lines and columns)."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int
    start: int = 0
    end: int = 0

    def to_json(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
        }

    def cover(self, other: Span) -> Span:
        """The smallest span holding both ``self`` and ``other`` (same file assumed)."""
        first, last = (self, other) if self.start <= other.start else (other, self)
        end = self if self.end >= other.end else other
        return Span(self.file, first.line, first.column, end.end_line, end.end_column, first.start, end.end)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(slots=True)
class SourceFile:
    """A loaded source file with a line index for offset→(line, column) conversion."""

    path: str
    text: str
    _line_starts: list[int] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        starts = [0]
        text = self.text
        idx = text.find("\n")
        while idx != -1:
            starts.append(idx + 1)
            idx = text.find("\n", idx + 1)
        self._line_starts = starts

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a character offset."""
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self._line_starts, offset) - 1
        return line + 1, offset - self._line_starts[line] + 1

    def span(self, start: int, end: int) -> Span:
        line, col = self.position(start)
        end_line, end_col = self.position(end)
        return Span(self.path, line, col, end_line, end_col, start, end)

    def line_text(self, line: int) -> str:
        """The text of a 1-based line without its newline."""
        if line < 1 or line > len(self._line_starts):
            return ""
        start = self._line_starts[line - 1]
        end = self._line_starts[line] - 1 if line < len(self._line_starts) else len(self.text)
        return self.text[start:end].rstrip("\r")

    @property
    def line_count(self) -> int:
        return len(self._line_starts)
