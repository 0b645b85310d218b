"""A preview session: a project's rules and fixtures loaded into an engine, ready to run.

This is the operator's entry point: ``syncrules run PROJECT`` opens a session, runs a cycle, and
renders what the engine staged (pending exports, errors, the resulting metaverse).
"""

from __future__ import annotations

import gc
import hashlib
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from syncrules.compiler import CompileResult, compile_paths
from syncrules.diagnostics import Diagnostic, DiagnosticSink
from syncrules.engine import Engine, EngineOptions
from syncrules.engine.directory import ImportRecord
from syncrules.engine.engine import PROFILES, StepResult
from syncrules.project.config import Project, load_project
from syncrules.project.fixtures import load_fixture
from syncrules.project.simulated import SimulatedDirectory
from syncrules.semantic.loader import display_path
from syncrules.source import SourceFile

# Previews of at least this many directory objects synchronize with a helper process (see
# syncrules.engine.helper), in steps of at least this many objects.
HELPER_MIN_OBJECTS = 5000


@dataclass
class Session:
    project: Project
    compiled: CompileResult
    engine: Engine
    directories: dict[str, SimulatedDirectory]
    steps: list[StepResult] = field(default_factory=list)
    cycle: str = "initial"
    resumed: bool = False  # state was loaded from a --state file
    changes_digest: dict[str, str] = field(default_factory=dict)  # connector → digest of its changes file


@dataclass
class OpenResult:
    session: Session | None
    diagnostics: list[Diagnostic]
    sources: dict[str, SourceFile]


def open_project(path: Path) -> OpenResult:
    sink = DiagnosticSink()
    if path.is_file():
        path = path.parent
    sources: dict[str, SourceFile] = {}
    project = load_project(path, sink, sources)
    if project is None:
        return OpenResult(None, sink.sorted(), sources)
    files = project.rule_files()
    if not files:
        sink.error("SR703", f"project {project.name!r} has no .sync files matching {project.rule_globs}")
        return OpenResult(None, sink.sorted(), sources)
    compiled = compile_paths(list(files))
    sources.update(compiled.sources)
    if compiled.has_errors or compiled.config is None:
        return OpenResult(None, sink.sorted() + compiled.diagnostics, sources)
    config = compiled.config
    known = {c.name for c in config.connectors}
    for name in project.connectors:
        if name not in known:
            sink.error("SR702", f"syncrules.toml describes connector {name!r}, which the rules do not declare")
    directories: dict[str, SimulatedDirectory] = {}
    for connector in config.connectors:
        fx = project.connectors.get(connector.name)
        fixture = None
        if fx is not None and fx.fixture is not None:
            fixture = load_fixture(fx.fixture, connector, sink, display_path(fx.fixture), sources)
            if fixture is None:
                continue
            # `ldifde -f` writes every object as a `changetype: add` record: in the snapshot file
            # those are the directory's content.
            fixture.records.extend(_as_records(c for c in fixture.changes if c.operation == "add"))
            fixture.changes = [c for c in fixture.changes if c.operation != "add"]
            if fx.changes is not None:
                changes = load_fixture(fx.changes, connector, sink, display_path(fx.changes), sources)
                if changes is None:
                    continue
                fixture.changes.extend(changes.changes)
                fixture.changes.extend(
                    # content records in a changes file are adds
                    _as_adds(changes.records)
                )
        directories[connector.name] = SimulatedDirectory(connector, fixture, fx.rewrite if fx else None)
    if sink.has_errors:
        return OpenResult(None, sink.sorted(), sources)
    options = EngineOptions(
        now=project.now,
        seed=project.seed,
        deletion_threshold=project.deletion_threshold,
        staging=project.staging,
        freeze_state=True,  # a preview process exists to run the engine (see EngineOptions)
        # A helper process for large previews on a machine with a core to spare: it costs a
        # process start (~0.4 s of the other core), and pays for itself from some thousands of
        # objects.
        helper_min=HELPER_MIN_OBJECTS if _cores() >= 2 and sum(len(d.entries) for d in directories.values()) >= HELPER_MIN_OBJECTS else None,
    )
    params = {name: fx.parameters for name, fx in project.connectors.items() if fx.parameters}
    engine = Engine(config, dict(directories), options, params)
    digests = {
        name: hashlib.sha256(fx.changes.read_bytes()).hexdigest()[:16]
        for name, fx in project.connectors.items()
        if fx.changes is not None
    }
    return OpenResult(Session(project, compiled, engine, directories, changes_digest=digests), sink.sorted(), sources)


def _cores() -> int:
    """The cores this process may run on."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


def _as_records(changes: Any) -> list[ImportRecord]:
    return [ImportRecord(c.dn, c.object_type or "", c.anchor or "", c.attrs) for c in changes]


def _as_adds(records: list) -> list:  # type: ignore[type-arg]
    from syncrules.engine.directory import ChangeRecord

    return [ChangeRecord("add", r.dn, r.anchor, r.object_type, r.attrs) for r in records]


def _allowance(session: Session, connector: str, allowance: int | None) -> int | None:
    """The deletion allowance for an export: ``--allow-deletes``, or a percentage threshold of the
    connector space's size (``deletion_threshold = "10%"``) turned into a count."""
    percent = session.project.deletion_threshold_percent
    if percent is None:
        return allowance
    size = sum(1 for o in session.engine.spaces[connector] if not o.placeholder)
    limit = int(size * percent / 100)
    session.engine.options.deletion_threshold = limit
    return allowance


@contextmanager
def progress(label: str) -> Iterator[None]:
    """A status line on stderr while a step runs longer than a second (only on a terminal)."""
    if not sys.stderr.isatty():
        yield
        return
    start = time.monotonic()
    done = threading.Event()

    def tick() -> None:
        while not done.wait(0.5):
            elapsed = time.monotonic() - start
            if elapsed >= 1.0:
                sys.stderr.write(f"\r  {label}: {elapsed:.0f}s ")
                sys.stderr.flush()

    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
        if time.monotonic() - start >= 1.0:
            sys.stderr.write("\r" + " " * (len(label) + 12) + "\r")
            sys.stderr.flush()


def parse_steps(text: str, engine: Engine, allow_deletes: int | None) -> list[tuple[str, str, int | None]]:
    """``--steps full-import@AD,full-sync@AD,export@AAD`` → a step list (raises ValueError)."""
    out: list[tuple[str, str, int | None]] = []
    for item in text.split(","):
        item = item.strip()
        if "@" not in item:
            raise ValueError(f"{item!r}: expected PROFILE@CONNECTOR")
        profile, connector = item.split("@", 1)
        if profile not in PROFILES:
            raise ValueError(f"{item!r}: unknown run profile {profile!r} (use {', '.join(PROFILES)})")
        if connector not in engine.spaces:
            raise ValueError(f"{item!r}: unknown connector {connector!r} (declared: {', '.join(engine.cc.connector_order)})")
        if profile in ("full-import", "delta-import", "export") and connector not in engine.directories:
            raise ValueError(f"{item!r}: connector {connector!r} has no directory")
        out.append((connector, profile, allow_deletes if profile == "export" else None))
    return out


def _plan(engine: Engine, kind: str, export: bool, allow_deletes: int | None) -> list[tuple[str, str, int | None]]:
    """The steps of a cycle: imports, then synchronizations, then (optionally) exports."""
    full = kind == "initial"
    order = engine.cc.connector_order
    steps: list[tuple[str, str, int | None]] = [
        (c, "full-import" if full else "delta-import", None) for c in order if c in engine.directories
    ]
    steps += [(c, "full-sync" if full else "delta-sync", None) for c in order]
    if export:
        steps += [(c, "export", allow_deletes) for c in order if c in engine.directories]
    return steps


def run_cycle(
    session: Session,
    cycle: str,
    apply_exports: bool,
    allow_deletes: int | None = None,
    after_step: Callable[[StepResult], None] | None = None,
    steps_override: list[tuple[str, str, int | None]] | None = None,
) -> list[StepResult]:
    """Run an initial or delta cycle; with ``apply_exports``, export and run the confirming imports.

    ``after_step`` is called after every step (the state store saves there, so each step is
    committed on its own). The engine freezes its state in the collector after each step
    (``EngineOptions.freeze_state``); the cycle unfreezes it at the end, so a process that goes
    on after the preview (a test run, an editor) can collect it once it is dropped.
    """
    try:
        return _run_cycle(session, cycle, apply_exports, allow_deletes, after_step, steps_override)
    finally:
        if session.engine.options.freeze_state:
            gc.unfreeze()


def _run_cycle(
    session: Session,
    cycle: str,
    apply_exports: bool,
    allow_deletes: int | None,
    after_step: Callable[[StepResult], None] | None,
    steps_override: list[tuple[str, str, int | None]] | None,
) -> list[StepResult]:
    engine = session.engine

    def run(plan: list[tuple[str, str, int | None]]) -> list[StepResult]:
        out = []
        for connector, profile, allowance in plan:
            with progress(f"{profile} on {connector}"):
                if profile == "export":
                    step = engine.export_step(connector, _allowance(session, connector, allowance))
                else:
                    step = engine.run_step(connector, profile)
            out.append(step)
            if after_step is not None:
                after_step(step)
        return out

    if steps_override is not None:
        steps = run(steps_override)
        session.steps = steps
        session.cycle = cycle
        return steps

    if cycle == "delta":
        if not engine.history and not session.resumed:
            # No saved state: the baseline is the fixtures' snapshot, synchronized and exported,
            # so the delta shows what the change records alone would do.
            run(_plan(engine, "initial", True, None))
            run(_plan(engine, "delta", False, None))
        for d in session.directories.values():
            d.apply_fixture_changes()
    steps = run(_plan(engine, cycle, apply_exports, allow_deletes))
    if apply_exports:
        # Confirming imports: what the directories now hold, synchronized again.
        steps += run(_plan(engine, "delta", False, None))
    session.steps = steps
    session.cycle = cycle
    return steps
