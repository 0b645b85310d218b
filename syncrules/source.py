"""Source text and spans.

Every later stage (AST, IR, engine errors) points back into the user's files through a
:class:`Span`, so diagnostics can always print ``file:line:col``.  Spans carry both byte-free
character offsets and 1-based line/column pairs so renderers never have to recompute either.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field


class Span:
    """A half-open region ``[start, end)`` of one source file (1-based lines and columns).

    Line and column numbers are computed on first use from the file's line index: the parser
    creates a span for every node, but only the few that end up in a diagnostic are ever shown.
    """

    __slots__ = ("file", "start", "end", "_src", "_pos")

    def __init__(
        self,
        file: str,
        line: int = 0,
        column: int = 0,
        end_line: int = 0,
        end_column: int = 0,
        start: int = 0,
        end: int = 0,
        src: SourceFile | None = None,
    ) -> None:
        self.file = file
        self.start = start
        self.end = end
        self._src = src
        self._pos: tuple[int, int, int, int] | None = None if src is not None else (line, column, end_line, end_column)

    def _positions(self) -> tuple[int, int, int, int]:
        if self._pos is None:
            assert self._src is not None
            line, col = self._src.position(self.start)
            end_line, end_col = self._src.position(self.end)
            self._pos = (line, col, end_line, end_col)
        return self._pos

    @property
    def line(self) -> int:
        return self._positions()[0]

    @property
    def column(self) -> int:
        return self._positions()[1]

    @property
    def end_line(self) -> int:
        return self._positions()[2]

    @property
    def end_column(self) -> int:
        return self._positions()[3]

    def _key(self) -> tuple[object, ...]:
        return (self.file, self.start, self.end, *self._positions())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Span) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"Span({self.file}:{self.line}:{self.column}-{self.end_line}:{self.end_column})"

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
        first = self if self.start <= other.start else other
        last = self if self.end >= other.end else other
        if self._src is not None:
            return Span(self.file, start=first.start, end=last.end, src=self._src)
        return Span(self.file, first.line, first.column, last.end_line, last.end_column, first.start, last.end)

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
        return Span(self.path, start=start, end=end, src=self)

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
