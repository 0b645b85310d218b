"""A small, positioned, hardened XML reader for configuration exports.

Why not ``xml.etree.ElementTree``: importers must point their diagnostics at the exact element of
the export that caused them (``Connector_{...}.xml:1234:7``), and ElementTree keeps no positions.
Expat (which ElementTree uses underneath) reports the position of every start tag, so this module
drives expat directly and builds a minimal element tree carrying ``Span``s.

Why not ``defusedxml``: exports never contain a document type declaration, so we refuse any DTD
outright (and any entity declaration, should one slip through). With no DTD there are no entity
declarations, hence nothing for "billion laughs", quadratic blow-up or external-entity attacks to
use; expat resolves no external resources by itself. That is the protection ``defusedxml`` would
add for this input, without a new dependency. File size is capped as well.

Text is decoded before parsing (BOM sniffing for UTF-8/UTF-16, which PowerShell writes) so the
same text backs the code frames of the diagnostics renderer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat

from syncrules.diagnostics import DiagnosticSink
from syncrules.interop.codes import UNREADABLE_EXPORT
from syncrules.source import SourceFile, Span

# Largest export file accepted. The biggest real files are connector exports with a full AD
# schema (~2 MB for one forest); the cap leaves ample room and bounds memory on hostile input.
MAX_XML_BYTES = 64 * 1024 * 1024


class _Refused(Exception):
    """Raised from an expat handler to abort parsing on a construct we do not accept."""


@dataclass(eq=False)
class XmlElement:
    """An element: local tag name, its namespace prefix, attributes by local name, text and children.

    Exports use fixed prefixes (``dsml:``, ``ms-dsml:``) and never two namespaces with the same
    local names, so elements and attributes are looked up by local name alone.
    """

    tag: str
    prefix: str
    attrib: dict[str, str]
    span: Span
    children: list[XmlElement] = field(default_factory=list)
    text: str = ""  # character data, stripped (what almost every field wants)
    raw_text: str = ""  # character data exactly as written (constants, scope values)

    def find(self, tag: str) -> XmlElement | None:
        """The first child with this local name."""
        for child in self.children:
            if child.tag == tag:
                return child
        return None

    def findall(self, tag: str) -> list[XmlElement]:
        return [c for c in self.children if c.tag == tag]

    def path(self, *tags: str) -> XmlElement | None:
        """Follow first-child-by-name along ``tags``."""
        node: XmlElement | None = self
        for tag in tags:
            if node is None:
                return None
            node = node.find(tag)
        return node

    def child_text(self, tag: str) -> str | None:
        """Text of the first child called ``tag`` (``""`` when empty), or None when absent."""
        child = self.find(tag)
        return None if child is None else child.text

    def iter(self, tag: str) -> list[XmlElement]:
        """Every descendant (self included) with this local name, in document order."""
        out: list[XmlElement] = []
        stack = [self]
        while stack:
            node = stack.pop()
            if node.tag == tag:
                out.append(node)
            stack.extend(reversed(node.children))
        return out


@dataclass
class XmlDocument:
    root: XmlElement
    source: SourceFile


def decode_xml_bytes(data: bytes) -> str:
    """Decode an export file: BOM first (PowerShell 5 writes UTF-16 LE with a BOM), else UTF-8."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    return data.decode("utf-8")


def read_xml(path: Path, sink: DiagnosticSink, display: str | None = None) -> XmlDocument | None:
    """Read and parse one XML file; every failure is an SR801 diagnostic, never an exception."""
    shown = display or str(path)
    try:
        size = path.stat().st_size
        if size > MAX_XML_BYTES:
            sink.error(UNREADABLE_EXPORT, f"{shown} is {size} bytes; the limit is {MAX_XML_BYTES}")
            return None
        data = path.read_bytes()
    except OSError as exc:
        sink.error(UNREADABLE_EXPORT, f"cannot read {shown}: {exc.strerror or exc}")
        return None
    try:
        text = decode_xml_bytes(data)
    except UnicodeDecodeError as exc:
        sink.error(
            UNREADABLE_EXPORT, f"{shown} is neither UTF-8 nor UTF-16 text ({exc.reason} at byte {exc.start})"
        )
        return None
    return parse_xml_text(text, shown, sink)


def parse_xml_text(text: str, path: str, sink: DiagnosticSink) -> XmlDocument | None:
    """Parse XML text into positioned elements (see the module docstring for the hardening)."""
    source = SourceFile(path, text)
    # The document was decoded already; tell expat the bytes are UTF-8 whatever the declaration
    # says (a UTF-16 file declares encoding="utf-16", which no longer holds after decoding).
    parser = expat.ParserCreate(encoding="UTF-8")
    parser.buffer_text = True
    stack: list[XmlElement] = []
    texts: list[list[str]] = []
    root: list[XmlElement] = []

    starts = _line_starts(text)

    def position(width: int = 1) -> Span:
        line, col = parser.CurrentLineNumber, parser.CurrentColumnNumber + 1
        return _span(path, starts, len(text), line, col, width)

    def start(name: str, attrs: dict[str, str]) -> None:
        prefix, tag = _split(name)
        span = position(1 + len(name))  # underline `<prefix:tag`
        element = XmlElement(
            tag, prefix, {_split(k)[1]: v for k, v in attrs.items() if not k.startswith("xmlns")}, span
        )
        if stack:
            stack[-1].children.append(element)
        else:
            root.append(element)
        stack.append(element)
        texts.append([])

    def end(name: str) -> None:
        element = stack.pop()
        element.raw_text = "".join(texts.pop())
        element.text = element.raw_text.strip()

    def chars(data: str) -> None:
        if texts:
            texts[-1].append(data)

    def refuse_dtd(*_: object) -> None:
        raise _Refused("a document type declaration (DTD)")

    def refuse_entity(*_: object) -> None:
        raise _Refused("an entity declaration")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.StartDoctypeDeclHandler = refuse_dtd
    parser.EntityDeclHandler = refuse_entity
    try:
        parser.Parse(text.encode("utf-8"), True)
    except _Refused as exc:
        span = position()
        sink.error(
            UNREADABLE_EXPORT,
            f"{path} contains {exc}, which configuration exports never do; refusing to read it",
            span,
            help="export the configuration again with Get-ADSyncServerConfiguration",
        )
        return None
    except expat.ExpatError as exc:
        sink.error(
            UNREADABLE_EXPORT,
            f"{path} is not well-formed XML: {expat.ErrorString(exc.code)}",
            _span(path, starts, len(text), exc.lineno, exc.offset + 1, 1),
        )
        return None
    if not root:
        sink.error(UNREADABLE_EXPORT, f"{path} holds no XML element")
        return None
    return XmlDocument(root[0], source)


def _split(name: str) -> tuple[str, str]:
    """``"dsml:class"`` → ``("dsml", "class")``; a name without prefix → ``("", name)``."""
    prefix, _, local = name.rpartition(":")
    return prefix, local


def _line_starts(text: str) -> list[int]:
    starts = [0]
    idx = text.find("\n")
    while idx != -1:
        starts.append(idx + 1)
        idx = text.find("\n", idx + 1)
    return starts


def _span(path: str, starts: list[int], size: int, line: int, column: int, width: int) -> Span:
    """A span of ``width`` characters at a 1-based (line, column) as expat reports them."""
    base = starts[line - 1] if 1 <= line <= len(starts) else size
    start = min(base + column - 1, size)
    end = min(start + width, size)
    return Span(path, line, column, line, column + (end - start), start, end)
