"""Writing a save: the statements of one transaction, run here or by a forked process.

A save is worked out in two halves. The first decides what to write (which rows, in which
order) and keeps the store's bookkeeping; it is quick and runs in the engine's process. The
second encodes the rows and runs the SQL; on 100,000 users that is most of a save's cost, and it
reads nothing but the state as it was when the save was asked for.

So the first half records the statements (:class:`Recorder`), with the rows as generators that
encode lazily, and the second half replays them (:func:`replay`). On POSIX systems a large save
is replayed by a forked child process (:class:`BackgroundWriter`): the fork is a copy-on-write
snapshot of the state, which the child encodes and writes on the machine's other core while the
engine runs the next step. Each child commits one transaction, in the order the saves were asked
for (a child waits for its predecessor's token before it begins), so the file always holds the
state after some complete step, and a process killed mid-run still leaves the last committed
state; its children go on and commit the steps that had finished.

A child that fails (a full disk, a value that cannot be saved) writes nothing, and neither do
the children after it: an incremental save is only right on top of the one before. The failure
is reported by the next call into the store (:meth:`BackgroundWriter.check`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

# One recorded statement: (sql, parameters or rows, executemany?).
Call = tuple[str, Any, bool]

_OK = b"\0"
_FAILED = b"\1"
# A child's failure message is cut to this size (it goes through a pipe the parent reads once
# the child has exited).
_MESSAGE_MAX = 4000


class Recorder:
    """Stands in for a connection while a save is worked out: statements are kept, not run."""

    def __init__(self) -> None:
        self.calls: list[Call] = []

    def execute(self, sql: str, parameters: Any = ()) -> None:
        self.calls.append((sql, parameters, False))

    def executemany(self, sql: str, rows: Iterable[Any]) -> None:
        self.calls.append((sql, rows, True))


def materialized(calls: list[Call]) -> list[Call]:
    """The statements with their rows encoded now (from the state as it is now)."""
    return [(sql, list(parameters) if many else parameters, many) for sql, parameters, many in calls]


def replay(db: sqlite3.Connection, calls: list[Call]) -> None:
    """Run recorded statements; an error rolls back the transaction they opened."""
    try:
        for sql, parameters, many in calls:
            if many:
                db.executemany(sql, parameters)
            else:
                db.execute(sql, parameters)
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


def fork_available() -> bool:
    """Whether saves can be written by a forked process: POSIX with ``os.fork``. Not on macOS,
    where forking a process that has loaded system frameworks is not safe."""
    return hasattr(os, "fork") and sys.platform != "darwin"


@dataclass
class _Child:
    pid: int
    status: int  # read end of the pipe the child writes its failure message to


class BackgroundWriter:
    """Forked children that replay saves, in order, at most ``limit`` at a time."""

    def __init__(self, path: str, connect: Callable[[str], sqlite3.Connection], limit: int = 4) -> None:
        self.path = path
        self.connect = connect
        self.limit = limit
        self.pending: list[_Child] = []
        self.failure: str | None = None
        # Read end of the newest child's token pipe: the next child waits on it.
        self._token: int | None = None

    def submit(self, calls: list[Call]) -> bool:
        """Fork a child that replays ``calls`` once the children before it have committed. False,
        with nothing done, when the system refuses the fork (out of memory or processes) or when
        a child collected meanwhile failed (this save builds on its)."""
        self.poll()
        while len(self.pending) >= self.limit:  # bounds the snapshots alive at a time
            self._reap(block=True)
        if self.failure is not None:
            return False
        if not self.pending and self._token is not None:
            os.close(self._token)  # every earlier child is done: nothing to wait for
            self._token = None
        token_r, token_w = os.pipe()
        status_r, status_w = os.pipe()
        previous = self._token
        try:
            pid = os.fork()
        except OSError:
            for fd in (token_r, token_w, status_r, status_w):
                os.close(fd)
            return False
        if pid == 0:  # pragma: no cover - the child's coverage is not collected
            _child_main(self.path, self.connect, calls, previous, token_w, status_w)
        os.close(token_w)
        os.close(status_w)
        if previous is not None:
            os.close(previous)
        self._token = token_r
        self.pending.append(_Child(pid, status_r))
        return True

    def poll(self) -> None:
        """Collect the children that have finished (in order), without waiting."""
        while self.pending and self._reap(block=False):
            pass

    def wait(self) -> None:
        """Wait until every save handed over has been committed or has failed."""
        while self.pending:
            self._reap(block=True)
        if self._token is not None:
            os.close(self._token)
            self._token = None

    def _reap(self, block: bool) -> bool:
        child = self.pending[0]
        pid, status = os.waitpid(child.pid, 0 if block else os.WNOHANG)
        if pid == 0:
            return False
        message = _read_all(child.status).decode("utf-8", "replace").strip()
        os.close(child.status)
        self.pending.pop(0)
        if os.waitstatus_to_exitcode(status) != 0 and self.failure is None:
            code = os.waitstatus_to_exitcode(status)
            self.failure = message or (f"the process writing it was killed by signal {-code}" if code < 0 else f"the process writing it exited with {code}")
        return True


def _child_main(
    path: str,
    connect: Callable[[str], sqlite3.Connection],
    calls: list[Call],
    previous: int | None,
    token: int,
    status: int,
) -> None:  # pragma: no cover - runs in the forked child
    """Replay one save and leave with os._exit (no atexit handlers, no flushing of the parent's
    buffered output, no finalizers of the parent's objects)."""
    code = 1
    try:
        # Ctrl-C stops the run; the saves of the steps that finished still commit.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if previous is not None and os.read(previous, 1) != _OK:
            raise RuntimeError("an earlier save failed")
        db = connect(path)
        try:
            replay(db, calls)
        finally:
            db.close()
        code = 0
    except BaseException as exc:  # noqa: BLE001 - everything is reported to the parent
        with contextlib.suppress(OSError):
            os.write(status, str(exc).encode("utf-8", "replace")[:_MESSAGE_MAX] or type(exc).__name__.encode())
    finally:
        with contextlib.suppress(OSError):
            os.write(token, _OK if code == 0 else _FAILED)
        os._exit(code)


def _read_all(fd: int) -> bytes:
    parts = []
    while chunk := os.read(fd, 65536):
        parts.append(chunk)
    return b"".join(parts)
