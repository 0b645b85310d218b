"""Attach a state file to a preview session: load it if it has content, save after every step."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable
from pathlib import Path

from syncrules.engine.engine import StepResult
from syncrules.preview.session import Session
from syncrules.state.store import StateStore, project_key

# Test hook: kill the process (as a crash would) right after the N-th step has been committed.
KILL_AFTER_ENV = "SYNCRULES_TEST_KILL_AFTER_STEP"


class StateSaver:
    """Saves the session's state after every step (the ``after_step`` of a cycle). Large saves
    are written by a background process; :meth:`finish` waits for them."""

    def __init__(self, store: StateStore, after_step: Callable[[StepResult], None]) -> None:
        self.store = store
        self._after_step = after_step

    def __call__(self, step: StepResult) -> None:
        self._after_step(step)

    def finish(self) -> None:
        """Wait until every step's save is committed; raises StateError if one failed."""
        self.store.close()


def attach_state(session: Session, path: Path) -> StateSaver:
    project = session.project
    store = StateStore(path, project.name, project_key(project.root, project.name))
    if not store.empty:
        store.load(session.engine, dict(session.directories))
        session.resumed = True
        applied = json.loads(store.meta("changes-applied") or "{}")
        for name, digest in session.changes_digest.items():
            if applied.get(name) == digest:
                session.directories[name].pending_changes = []  # already applied in an earlier run
    kill_after = int(os.environ.get(KILL_AFTER_ENV, "0") or 0)
    count = 0

    def after_step(step: StepResult) -> None:
        nonlocal count
        applied = {
            name: digest for name, digest in session.changes_digest.items() if not session.directories[name].pending_changes
        }
        store.save(session.engine, dict(session.directories), {"changes-applied": json.dumps(applied, sort_keys=True)})
        count += 1
        if kill_after and count == kill_after:
            store.flush()  # committed, then killed
            os.kill(os.getpid(), signal.SIGKILL)

    return StateSaver(store, after_step)
