"""Find and parse the files of a configuration, following imports.

A configuration is a set of root files (a directory contributes its ``*.sync`` files, sorted) plus
everything they import. Each file is parsed once, in a deterministic order, so diagnostics and IR
do not depend on the file system's listing order.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from syncrules import ast
from syncrules.diagnostics import DiagnosticSink
from syncrules.resources import stdlib_dir
from syncrules.source import SourceFile, Span
from syncrules.syntax.parser import parse_source, read_source

MAX_FILES = 2000


@dataclass
class LoadedConfig:
    modules: list[ast.Module] = field(default_factory=list)
    sources: dict[str, SourceFile] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)


def display_path(path: Path) -> str:
    """A short, stable name for diagnostics: relative to the working directory when close to it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # pragma: no cover - other drive on Windows
        return str(path)
    # A short climb out of the working directory stays relative, which keeps output the same
    # in every checkout; anything further away is clearer as an absolute path.
    return str(path) if rel.startswith(os.path.join(os.pardir, os.pardir, os.pardir)) else rel


def discover(paths: list[str | Path], sink: DiagnosticSink) -> list[Path]:
    """Root files: the given files, and the ``*.sync`` files under given directories."""
    roots: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = sorted(q for q in p.rglob("*.sync") if q.is_file())
            if not found:
                sink.error("SR001", f"no .sync files found under {raw}")
            roots.extend(found)
        elif p.exists():
            roots.append(p)
        else:
            sink.error("SR001", f"cannot read {raw}: no such file or directory")
    return roots


def load(paths: list[str | Path], sink: DiagnosticSink) -> LoadedConfig:
    """Parse the roots and everything they import; modules come out dependencies-first."""
    out = LoadedConfig()
    parsed: dict[Path, ast.Module | None] = {}
    imports_of: dict[Path, list[Path]] = {}
    import_spans: dict[tuple[Path, Path], Span] = {}
    roots = [p.resolve() for p in discover(paths, sink)]

    # Pass 1: parse every reachable file once (iterative, so long import chains are fine).
    pending = list(reversed(roots))
    while pending:
        path = pending.pop()
        if path in parsed:
            continue
        if len(parsed) >= MAX_FILES:
            sink.error("SR001", f"more than {MAX_FILES} files in one configuration")
            break
        shown = display_path(path)
        source = read_source(path, sink, shown)
        module = None
        if source is not None:
            out.sources[shown] = source
            module = parse_source(source, sink)
        parsed[path] = module
        targets: list[Path] = []
        for imp in (i for i in (module.items if module else ()) if isinstance(i, ast.Import)):
            target = resolve_import(path, imp)
            if target is None or not target.is_file():
                where = "the standard library" if imp.std else (display_path(path.parent) or ".")
                sink.error(
                    "SR112",
                    f"cannot find {'standard module' if imp.std else 'file'} {imp.path.value!r} (looked in {where})",
                    imp.path.span,
                    help=_import_help(imp),
                )
                continue
            targets.append(target.resolve())
            import_spans[(path, target.resolve())] = imp.path.span
        imports_of[path] = targets
        pending.extend(reversed(targets))

    # Pass 2: order dependencies before the files that import them (iterative post-order).
    placed: set[Path] = set()
    for root in roots:
        stack: list[tuple[Path, int]] = [(root, 0)]
        on_stack: set[Path] = {root}
        while stack:
            path, index = stack.pop()
            if path in placed:
                on_stack.discard(path)
                continue
            deps = imports_of.get(path, [])
            if index < len(deps):
                stack.append((path, index + 1))
                dep = deps[index]
                if dep in on_stack and dep not in placed:
                    sink.warning(
                        "SR113",
                        f"{display_path(dep)} and {display_path(path)} import each other",
                        import_spans.get((path, dep)),
                        help="each file is still read once; consider moving shared declarations to a third file",
                    )
                if dep not in placed and dep not in on_stack:
                    on_stack.add(dep)
                    stack.append((dep, 0))
                continue
            placed.add(path)
            on_stack.discard(path)
            out.files.append(path)
            module = parsed.get(path)
            if module is not None:
                out.modules.append(module)
    return out


def resolve_import(importer: Path, imp: ast.Import) -> Path | None:
    name = imp.path.value
    if imp.std:
        base = stdlib_dir()
        candidate = (base / name).with_suffix(".sync") if not name.endswith(".sync") else base / name
        try:
            candidate.resolve().relative_to(base.resolve())
        except ValueError:
            return None  # no escaping the standard library with ../
        return candidate
    return (importer.parent / name).resolve()


def _import_help(imp: ast.Import) -> str:
    if imp.std:
        try:
            names = sorted(
                str(p.relative_to(stdlib_dir()).with_suffix("")) for p in stdlib_dir().rglob("*.sync")
            )
        except FileNotFoundError:  # pragma: no cover
            names = []
        return "standard modules: " + (", ".join(names) if names else "(none installed)")
    return "paths are relative to the importing file"


def load_text(text: str, path: str, sink: DiagnosticSink) -> LoadedConfig:
    """Load a configuration from text (tests, the formatter); imports are not followed."""
    out = LoadedConfig()
    source = SourceFile(path, text)
    out.sources[path] = source
    module = parse_source(source, sink)
    if module is not None:
        out.modules.append(module)
    return out
