"""A helper process that runs inbound plans on the machine's other core.

Working out which inbound rules are in scope for a connector-space object and what their flows
contribute (the object's inbound plan) is about a sixth of a full synchronization, and it reads
nothing but the object, its parameters and the rules. So a large synchronization step sends the
objects it is about to reach to a helper process, which holds a copy of the rules (an engine with
no objects), and takes the results back as it reaches each object; where a result has not come
back yet, the engine computes it itself, exactly as it would without a helper.

The helper is a separate program (:func:`main`, run by the same Python), started once per
engine (again when the rules or the clock change), not a fork: a fork would share the engine's
memory copy-on-write, and reference counting writes to every object the engine reads, so every
page it touched would be copied while the child lived (measured: it cost more than the child
saved).

Nothing here decides an outcome:

* an object is sent with its version, and the engine takes a result only for the object as it was
  sent (anything that changes what an inbound flow reads bumps the version);
* the helper names the plan it used by its shape (:attr:`InboundPlan.shape`), and the engine takes
  the result only if its own plan has the same one; scopes are compared once, at the start;
* a result that has not arrived, a helper that failed, died or was never started: the engine
  computes the object itself.

Which process computed what changes the time a step takes, never its result; tests compare the
state with and without a helper, with every result waited for, and with the helper killed.

Frames in both directions are a 4-byte length and a pickle; they cross only the two pipes
between the engine and the helper it started (rule files and fixtures reach the helper as the
compiled configuration and the values the engine imported). The engine never blocks on the
helper: its end of both pipes is non-blocking, what the pipe does not take yet waits in a buffer,
and results are read when they are there. The helper blocks on both (it has nothing else to do).
"""

from __future__ import annotations

import bisect
import contextlib
import gc
import os
import pickle
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

_LENGTH = struct.Struct("<I")
# Objects go to the helper in frames of this many, with at most _LEAD of them sent and not yet
# answered: enough that the helper always has work (a frame takes it a few milliseconds), few
# enough that what is on its way fits in the pipes.
_BATCH = 256
_LEAD = 4 * _BATCH
# Pipes are enlarged to this where the system allows it (Linux): fewer partial writes.
_PIPE_BYTES = 1 << 20
_TAKE_PUMP = 8
# The helper's program (not ``-m``: the package imports this module, which would then run twice).
_MAIN = "import sys; from syncrules.engine.helper import main; sys.exit(main())"
# How long close() waits for the helper to leave after its input is closed.
_CLOSE_WAIT_S = 2.0


class Helper:
    """The engine's side of a helper process.

    ``setup`` is what the helper builds its engine from: a pickle of ``(config, options,
    parameters)`` (see :func:`main`). The helper's first frame is the digest of its scope sets
    (:func:`scopes_digest`), which must be ``scopes_digest``, the engine's.
    """

    def __init__(self, setup: bytes, scopes_digest: str, wait: bool = False) -> None:
        self._expected = scopes_digest
        self.wait = wait  # take() waits for results (tests, to send every object through the helper)
        self.alive = False
        self._verified = False
        self._out = bytearray()  # what the pipe has not taken yet (at most _LEAD objects' worth)
        self._in = bytearray()
        self._results: dict[int, Any] = {}
        self._pending: set[int] = set()  # sent, no answer yet
        self._step = 0
        self._header: Any = None
        self._build: Callable[[int], tuple[Any, ...] | None] = _no_request
        self._queue: list[int] = []  # deferred objects, in order; those before _next are sent
        self._next = 0
        self._takes = 0  # take() calls in this process's life (every _TAKE_PUMP-th pumps)
        self.used = 0  # results the engine took (for measurements and tests)
        self._proc: subprocess.Popen[bytes] | None = None
        if not sys.executable or os.name != "posix":
            return  # (the pipes and the inherited setup file are POSIX): the engine works alone
        # The setup goes through an unnamed temporary file the helper inherits, so that the
        # helper reads it and builds its engine on its own while this engine goes on.
        with tempfile.TemporaryFile() as handover:
            handover.write(setup)
            handover.flush()
            fd = handover.fileno()
            try:
                self._proc = subprocess.Popen(
                    [sys.executable, "-c", _MAIN, str(fd)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    bufsize=0,
                    pass_fds=(fd,),
                    env=_environment(),
                )
            except (OSError, ValueError):
                return
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._wfd = self._proc.stdin.fileno()
        self._rfd = self._proc.stdout.fileno()
        setsize = getattr(fcntl, "F_SETPIPE_SZ", None)
        for fd in (self._wfd, self._rfd):
            os.set_blocking(fd, False)
            if setsize is not None:
                with contextlib.suppress(OSError):
                    fcntl.fcntl(fd, setsize, _PIPE_BYTES)
        self.alive = True

    # ---------------------------------------------------------------- the engine's calls
    def ready(self) -> bool:
        """Whether the helper is usable: alive and, once it has answered, with the engine's scopes."""
        if self.alive and not self._verified:
            self._pump()
        return self.alive

    def begin(self, header: Any, build: Callable[[int], tuple[Any, ...] | None]) -> None:
        """A new step. ``build(i)`` makes the request for object ``i`` (its first item is ``i``)
        when it is sent; ``header`` goes with every request frame. Results of earlier steps still
        on their way are dropped when they come."""
        self._step += 1
        self._header = header
        self._build = build
        self._results.clear()
        self._pending.clear()
        self._queue = []
        self._next = 0

    def defer(self, i: int) -> None:
        """Object ``i`` is to go to the helper. Objects are deferred in increasing order, sent in
        that order, and taken in that order too."""
        self._queue.append(i)

    def tick(self) -> None:
        """Read what has come back and keep the helper busy: send deferred objects while fewer
        than ``_LEAD`` are out."""
        if not self.alive:
            return
        self._pump()
        queue = self._queue
        while self.alive and self._next < len(queue) and len(self._pending) < _LEAD:
            batch = queue[self._next : self._next + _BATCH]
            self._next += len(batch)
            requests = [r for r in map(self._build, batch) if r is not None]
            if requests:
                self._pending.update(r[0] for r in requests)
                self._frame(pickle.dumps((self._step, self._header, requests), pickle.HIGHEST_PROTOCOL))
                self._pump()

    def take(self, i: int) -> Any:
        """The result for object ``i`` of this step, or None (not sent, not back yet, or the
        helper gave none): the engine computes it."""
        pending = self._pending
        self._takes += 1
        if (len(pending) < _LEAD - _BATCH or not self._takes % _TAKE_PUMP) and self._next < len(self._queue):
            # Also every few objects while results are still at hand: the answers waiting in
            # the pipe are read (only that lowers the count out) and the rest of a frame is
            # written; otherwise the helper waits for the engine until the engine waits for it.
            self.tick()
        hit = self._results.pop(i, None)
        if hit is not None:
            return hit
        if i not in pending:
            queue = self._queue
            if self._next < len(queue) and queue[self._next] <= i:
                # Not sent yet: the helper is behind, and objects up to this one are the
                # engine's now (sending them would be wasted).
                self._next = bisect.bisect_right(queue, i, self._next)
            return None
        if self.alive:
            self._pump()
            while self.wait and self.alive and i in pending:
                self._pump(block=True)
        pending.discard(i)
        return self._results.pop(i, None)

    def __del__(self) -> None:
        # The engine holding this helper is gone: the process goes with it. (The engine is
        # dropped, not told: a compiled engine takes no weak reference to finalize on.)
        with contextlib.suppress(Exception):
            self.close()

    def close(self) -> None:
        """End the helper: its input is closed, and it is killed if it does not leave."""
        self.alive = False
        proc = self._proc
        if proc is None:
            return
        self._proc = None
        for stream in (proc.stdin, proc.stdout):
            with contextlib.suppress(OSError):
                if stream is not None:
                    stream.close()
        try:
            proc.wait(_CLOSE_WAIT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(_CLOSE_WAIT_S)

    # ---------------------------------------------------------------- pipes
    def _frame(self, payload: bytes) -> None:
        self._out += _LENGTH.pack(len(payload))
        self._out += payload

    def _pump(self, block: bool = False) -> None:
        """Write what the pipe takes, read what has come back; ``block``: wait a little for it."""
        try:
            out = self._out
            while out:
                written = os.write(self._wfd, out)
                del out[:written]
        except BlockingIOError:
            pass
        except OSError:
            self._died()
            return
        got = False
        while True:
            try:
                chunk = os.read(self._rfd, _PIPE_BYTES)
            except BlockingIOError:
                break
            except OSError:
                self._died()
                return
            if not chunk:
                self._died()
                return
            self._in += chunk
            got = True
        if got:
            self._frames()
        elif block:
            time.sleep(0.0002)

    def _frames(self) -> None:
        data = self._in
        offset = 0
        while len(data) - offset >= _LENGTH.size:
            (size,) = _LENGTH.unpack_from(data, offset)
            if len(data) - offset - _LENGTH.size < size:
                break
            start = offset + _LENGTH.size
            message = pickle.loads(memoryview(data)[start : start + size])
            offset = start + size
            if not self._verified:
                # The first answer: the helper's scope sets, which must be the engine's.
                self._verified = True
                if message != self._expected:
                    self._died()
                    return
                continue
            step, results = message
            if step == self._step:
                pending = self._pending
                kept = self._results
                for i, result in results:
                    pending.discard(i)
                    if result is not None:
                        kept[i] = result
        del data[:offset]

    def _died(self) -> None:
        self.close()
        self._results.clear()
        self._pending.clear()


def _environment() -> dict[str, str]:
    """The engine's environment, with this copy of syncrules first on the module path (the
    engine may have found it through a path of its own, as the benchmarks do)."""
    env = dict(os.environ)
    package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = os.pathsep.join([package_root, *filter(None, [env.get("PYTHONPATH")])])
    return env


def _no_request(_i: int) -> None:
    return None


def scopes_digest(in_scopes: dict[tuple[str, str], Any]) -> str:
    """What scope masks mean: the rule names of every inbound scope set, in order."""
    return repr(sorted((key, tuple(r.name for r in scopes.rules)) for key, scopes in in_scopes.items()))


# ==================================================================== the helper process


def _read_exact(stream: Any, size: int) -> bytes | None:
    chunks = []
    while size:
        chunk = stream.read(size)
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _read_frame(stream: Any) -> Any:
    head = _read_exact(stream, _LENGTH.size)
    if head is None:
        return None
    body = _read_exact(stream, _LENGTH.unpack(head)[0])
    return None if body is None else pickle.loads(body)


def _write_frame(stream: Any, message: Any) -> None:
    payload = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(payload)) + payload)
    stream.flush()


def main() -> int:  # pragma: no cover - runs in the helper process (tests drive it through Helper)
    """Build an engine from the setup file (its descriptor is the argument), then answer request
    frames until the input ends."""
    from syncrules.engine.engine import Engine

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # an interrupt is the engine's to handle
    stdin = sys.stdin.buffer
    stdout = sys.stdout.buffer
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        return 2
    with os.fdopen(int(sys.argv[1]), "rb") as handover:
        handover.seek(0)
        config, options, parameters = pickle.load(handover)
    engine = Engine(config, None, options, parameters)
    gc.freeze()  # the rules are long-lived; what a request makes is freed as it goes
    _write_frame(stdout, scopes_digest(engine._in_scopes))
    while True:
        message = _read_frame(stdin)
        if message is None:
            return 0
        step, connector, requests = message
        results = []
        for request in requests:
            try:
                result = engine.inbound_for_helper(connector, request)
            except Exception:
                result = None  # the engine computes it (and reports what went wrong)
            results.append((request[0], result))
        _write_frame(stdout, (step, results))


