"""Render diagnostics as GitHub Actions workflow commands (inline annotations on pull requests).

Each diagnostic becomes one line::

    ::error file=rules/in.sync,line=12,col=3,endLine=12,endColumn=17,title=SL101 equal-precedence-conflict::message

``error`` and ``warning`` map to themselves, ``info`` to ``notice``. Values are escaped as the
Actions runner requires (``%``, CR and LF everywhere; also ``:`` and ``,`` in properties), so a
message can never end the command early or inject another one.
"""

from __future__ import annotations

from collections.abc import Callable

from syncrules.diagnostics.model import Diagnostic, Severity

_COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(diags: list[Diagnostic], docs_url: Callable[[str], str | None] = lambda code: None) -> str:
    lines: list[str] = []
    for d in diags:
        props: list[str] = []
        if d.span is not None:
            props += [
                f"file={escape_property(d.span.file.replace(chr(92), '/'))}",
                f"line={d.span.line}",
                f"col={d.span.column}",
                f"endLine={d.span.end_line}",
                f"endColumn={d.span.end_column}",
            ]
        title = f"{d.code} {d.name}".strip()
        props.append(f"title={escape_property(title)}")
        body = d.message
        if d.help:
            body += f"\nhelp: {d.help}"
        url = docs_url(d.code)
        if url:
            body += f"\nSee {url}"
        lines.append(f"::{_COMMANDS[d.severity]} {','.join(props)}::{escape_data(body)}")
    return "".join(line + "\n" for line in lines)
