"""Render diagnostics as SARIF 2.1.0, the format code-scanning services (GitHub, Azure DevOps) read.

One run, tool ``syncrules``; ``tool.driver.rules`` describes every code that appears in the
results (id, name, descriptions, default level, help text and a help link), and each result
points at it by ``ruleId`` and ``ruleIndex``. Locations are relative to the source root
(``uriBaseId: %SRCROOT%``) when the diagnostic's path is relative, so uploads from CI resolve
against the checked-out repository. Labels become ``relatedLocations``.

The output is deterministic (no timestamps, no absolute paths unless given absolute paths) so it
can be compared with a golden file.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import quote

from syncrules.diagnostics.model import Diagnostic, Severity
from syncrules.source import SourceFile, Span

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"

_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


@dataclass(frozen=True, slots=True)
class RuleMeta:
    """What SARIF says about one code (lint rule or compiler diagnostic)."""

    code: str
    name: str
    summary: str
    severity: Severity
    category: str | None = None
    help_uri: str | None = None
    help_markdown: str | None = None


def _uri(path: str) -> tuple[str, str | None]:
    """(uri, uriBaseId): relative paths stay relative to the source root."""
    p = path.replace("\\", "/")
    if p.startswith("/"):
        return "file://" + quote(p), None
    if len(p) > 2 and p[1] == ":" and p[2] == "/":  # pragma: no cover - Windows drive path
        return "file:///" + quote(p), None
    return quote(str(PurePosixPath(p))), SRCROOT


def _region(span: Span) -> dict[str, int]:
    return {
        "startLine": max(span.line, 1),
        "startColumn": max(span.column, 1),
        "endLine": max(span.end_line, span.line, 1),
        "endColumn": max(span.end_column, 1) if span.end_line > span.line else max(span.end_column, span.column + 1, 1),
    }


def _location(span: Span) -> dict[str, object]:
    uri, base = _uri(span.file)
    artifact: dict[str, object] = {"uri": uri}
    if base:
        artifact["uriBaseId"] = base
    return {"physicalLocation": {"artifactLocation": artifact, "region": _region(span)}}


def _fingerprint(d: Diagnostic, sources: Mapping[str, SourceFile]) -> str:
    """Stable across unrelated edits: the code, file, message and the text of the flagged line."""
    line = ""
    if d.span is not None:
        src = sources.get(d.span.file)
        if src is not None:
            line = src.line_text(d.span.line).strip()
    key = "\x1f".join((d.code, d.span.file if d.span else "", d.message, line))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def _descriptor(meta: RuleMeta) -> dict[str, object]:
    out: dict[str, object] = {
        "id": meta.code,
        "name": meta.name or meta.code,
        "shortDescription": {"text": meta.summary},
        "fullDescription": {"text": meta.summary},
        "defaultConfiguration": {"level": _LEVELS[meta.severity]},
    }
    if meta.help_uri:
        out["helpUri"] = meta.help_uri
    help_text = meta.summary + (f" See {meta.help_uri}" if meta.help_uri else "")
    out["help"] = {"text": help_text, "markdown": meta.help_markdown or help_text}
    tags = ["syncrules"] + ([meta.category] if meta.category else [])
    out["properties"] = {"tags": tags, **({"category": meta.category} if meta.category else {})}
    return out


def render_sarif(
    diags: list[Diagnostic],
    sources: Mapping[str, SourceFile],
    meta: Callable[[str], RuleMeta],
    tool_version: str,
    information_uri: str | None = None,
) -> str:
    codes = sorted({d.code for d in diags})
    metas = [meta(c) for c in codes]
    index = {m.code: i for i, m in enumerate(metas)}
    results: list[dict[str, object]] = []
    for d in diags:
        text = d.message
        if d.help:
            text += f"\nhelp: {d.help}"
        if d.note:
            text += f"\nnote: {d.note}"
        result: dict[str, object] = {
            "ruleId": d.code,
            "ruleIndex": index[d.code],
            "level": _LEVELS[d.severity],
            "message": {"text": text},
        }
        if d.span is not None:
            result["locations"] = [_location(d.span)]
        related = []
        for i, label in enumerate(d.labels):
            loc = _location(label.span)
            loc["id"] = i + 1
            loc["message"] = {"text": label.message}
            related.append(loc)
        if related:
            result["relatedLocations"] = related
        result["partialFingerprints"] = {"syncrulesFinding/v1": _fingerprint(d, sources)}
        results.append(result)
    driver: dict[str, object] = {
        "name": "syncrules",
        "version": tool_version,
        "semanticVersion": tool_version,
        "rules": [_descriptor(m) for m in metas],
    }
    if information_uri:
        driver["informationUri"] = information_uri
    doc = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": driver},
                "columnKind": "unicodeCodePoints",
                "originalUriBaseIds": {SRCROOT: {"description": {"text": "The directory syncrules was run from."}}},
                "results": results,
            }
        ],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
