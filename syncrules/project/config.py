"""The project file, ``syncrules.toml``: which rules, which fixture behind each connector, options.

Example::

    [project]
    name = "contoso"
    rules = ["*.sync"]            # globs relative to the project directory

    [options]
    deletion_threshold = 500       # or "10%" of the connector space; 0 turns the check off
    staging = false                # import and synchronize, never export
    now = "2026-01-01T00:00:00Z"   # the clock for Now()
    seed = 0                       # RandomNum() and Guid()

    [connectors."contoso.com"]
    fixture = "fixtures/contoso.ldif"     # .ldif, .json, .yaml/.yml or .csv
    changes = "fixtures/contoso-changes.ldif"   # change records for a delta import (optional)
    parameters = { "Domain.FQDN" = "contoso.com" }
    rewrite = { department = "IT" }       # the simulated directory forces these after any export

A bad file is a diagnostic with file:line; nothing here raises on user input.
"""

from __future__ import annotations

import datetime as _dt
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from syncrules.diagnostics import DiagnosticSink
from syncrules.source import SourceFile

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PROJECT_FILE = "syncrules.toml"


@dataclass
class ConnectorFixture:
    name: str
    fixture: Path | None = None
    changes: Path | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    rewrite: dict[str, Any] = field(default_factory=dict)


@dataclass
class Project:
    root: Path
    name: str
    rule_globs: list[str]
    connectors: dict[str, ConnectorFixture]
    deletion_threshold: int | None = 500
    deletion_threshold_percent: float | None = None
    staging: bool = False
    now: _dt.datetime = field(default_factory=lambda: _dt.datetime(2026, 1, 1, tzinfo=_dt.timezone.utc))
    seed: int = 0
    raw: dict[str, Any] = field(default_factory=dict)

    def rule_files(self) -> list[Path]:
        found: set[Path] = set()
        for pattern in self.rule_globs:
            found.update(p for p in self.root.glob(pattern) if p.is_file() and p.suffix == ".sync")
        return sorted(found)


def _line_of(text: str, key: str) -> int:
    """Best-effort line of a key in TOML text (tomllib reports no positions for valid files)."""
    for i, line in enumerate(text.splitlines(), start=1):
        if re.match(rf"\s*{re.escape(key)}\s*=", line) or f'"{key}"' in line or f"[{key}" in line:
            return i
    return 1


def load_project(directory: Path, sink: DiagnosticSink, sources: dict[str, SourceFile] | None = None) -> Project | None:
    path = directory / PROJECT_FILE
    shown = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        # No project file: every .sync file under the directory, no fixtures.
        return Project(directory, directory.name, ["**/*.sync"], {})
    except (OSError, UnicodeDecodeError) as exc:
        sink.error("SR701", f"cannot read {shown}: {exc}")
        return None
    src = SourceFile(shown, text)
    if sources is not None:
        sources[shown] = src
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+), column (\d+)", str(exc))
        line, col = (int(m.group(1)), int(m.group(2))) if m else (1, 1)
        offset = sum(len(x) + 1 for x in text.splitlines()[: line - 1]) + col - 1
        sink.error("SR701", f"{PROJECT_FILE} is not valid TOML: {str(exc).split(' (at')[0]}", src.span(offset, offset + 1))
        return None

    def bad(key: str, message: str, help: str | None = None) -> None:
        line = _line_of(text, key)
        start = sum(len(x) + 1 for x in text.splitlines()[: line - 1])
        end = start + len(text.splitlines()[line - 1]) if text.splitlines() else start
        sink.error("SR702", message, src.span(start, end), help=help)

    project = data.get("project", {})
    if not isinstance(project, dict):
        bad("project", "[project] must be a table")
        return None
    rules = project.get("rules", ["**/*.sync"])
    if isinstance(rules, str):
        rules = [rules]
    if not isinstance(rules, list) or not all(isinstance(r, str) for r in rules):
        bad("rules", "`rules` must be a list of glob patterns", help='e.g. rules = ["*.sync", "rules/**/*.sync"]')
        rules = ["**/*.sync"]
    out = Project(directory, str(project.get("name", directory.name)), rules, {}, raw=data)

    options = data.get("options", {})
    if not isinstance(options, dict):
        bad("options", "[options] must be a table")
        options = {}
    threshold = options.get("deletion_threshold", 500)
    if isinstance(threshold, bool) or not isinstance(threshold, (int, str)):
        bad("deletion_threshold", "`deletion_threshold` must be a number of objects or a percentage like \"10%\"")
    elif isinstance(threshold, str):
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*%\s*", threshold)
        if not m:
            bad("deletion_threshold", f"`deletion_threshold` {threshold!r} is not a percentage like \"10%\"")
        else:
            out.deletion_threshold = None
            out.deletion_threshold_percent = float(m.group(1))
    else:
        if threshold < 0:
            bad("deletion_threshold", "`deletion_threshold` cannot be negative")
        out.deletion_threshold = None if threshold == 0 else threshold
    staging = options.get("staging", False)
    if not isinstance(staging, bool):
        bad("staging", "`staging` must be true or false")
    else:
        out.staging = staging
    now = options.get("now")
    if now is not None:
        try:
            if isinstance(now, _dt.datetime):
                parsed = now
            else:
                parsed = _dt.datetime.fromisoformat(str(now).replace("Z", "+00:00"))
            out.now = parsed if parsed.tzinfo else parsed.replace(tzinfo=_dt.timezone.utc)
        except ValueError:
            bad("now", f"`now` {now!r} is not an ISO-8601 date and time", help='e.g. now = "2026-01-01T00:00:00Z"')
    seed = options.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        bad("seed", "`seed` must be a whole number")
    else:
        out.seed = seed

    connectors = data.get("connectors", {})
    if not isinstance(connectors, dict):
        bad("connectors", "[connectors.NAME] tables describe each connector's fixture")
        connectors = {}
    for name, table in connectors.items():
        if not isinstance(table, dict):
            bad(name, f"[connectors.{name!r}] must be a table")
            continue
        fx = ConnectorFixture(name)
        for key in ("fixture", "changes"):
            value = table.get(key)
            if value is None:
                continue
            if not isinstance(value, str):
                bad(key, f"`{key}` of connector {name!r} must be a path")
                continue
            p = (directory / value).resolve()
            if not p.is_file():
                bad(key, f"the {key} file {value!r} of connector {name!r} does not exist")
                continue
            setattr(fx, key, p)
        params = table.get("parameters", {})
        if not isinstance(params, dict):
            bad("parameters", f"`parameters` of connector {name!r} must be a table of strings")
        else:
            fx.parameters = {str(k): str(v) for k, v in params.items()}
        rewrite = table.get("rewrite", {})
        if isinstance(rewrite, dict):
            fx.rewrite = dict(rewrite)
        out.connectors[name] = fx
    return out
