"""Saves written by forked processes (syncrules.state.writer) hold what synchronous saves hold.

Large saves are replayed by a forked child while the engine runs the next step; small saves
made meanwhile are encoded at once and written after them. These tests make every save of a
small world "large" or mix the two, and compare the file with one written synchronously: the
same rows, committed in the order of the steps, and a failure reported with the file left at a
complete earlier step.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from syncrules.engine import Engine, EngineOptions, MemoryDirectory
from syncrules.ir import nodes as ir
from syncrules.state import store as state_store
from syncrules.state import writer as state_writer
from tests.test_engine_perf_invariants import AAD, AD, World, _full_rows, _run, _saved_rows
from tests.test_engine_perf_invariants import config as config  # noqa: PLC0414 - the module's fixture

pytestmark = pytest.mark.skipif(not state_writer.fork_available(), reason="background saves need os.fork")


def _raw(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows as stored (text, byte for byte)."""
    db = sqlite3.connect(str(path))
    try:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        return {t: db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in tables}  # noqa: S608 - names from the file
    finally:
        db.close()


def _world(config: ir.Config) -> tuple[World, dict[str, MemoryDirectory], Engine]:
    world = World(11)
    directories = {AD: world.ad, AAD: world.aad}
    return world, directories, Engine(config, dict(directories), EngineOptions(deletion_threshold=None))


def _saved_run(config: ir.Config, path: Path, **options: Any) -> tuple[Engine, dict[str, Any]]:
    world, directories, engine = _world(config)
    store = state_store.StateStore(path, "background", "key", **options)
    _run(engine, world, rounds=4, after_step=lambda step: store.save(engine, directories))
    store.close()
    return engine, directories


@pytest.mark.parametrize("background_rows", [0, 40])
def test_background_saves_write_the_rows_synchronous_saves_write(config: ir.Config, tmp_path: Path, background_rows: int) -> None:
    """0: every save forks; 40: large saves fork and the small ones between them are deferred
    (the world's steps write from none to a few hundred rows)."""
    _saved_run(config, tmp_path / "sync.db", background=False)
    engine, directories = _saved_run(config, tmp_path / "background.db", background_rows=background_rows)
    assert _raw(tmp_path / "background.db") == _raw(tmp_path / "sync.db")
    db = sqlite3.connect(str(tmp_path / "background.db"))
    assert _saved_rows(db) == _full_rows(engine, directories)
    db.close()


def test_saves_commit_in_step_order_when_an_earlier_one_is_slow(config: ir.Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first child sleeps before it writes; the later children must wait for it (written
    out of order, the older rows of the first save would overwrite newer ones)."""
    replay = state_writer.replay
    first = [True]

    def slow_first(db: sqlite3.Connection, calls: list[Any]) -> None:
        if first[0]:  # the flag is copied into each child as it is at its fork
            time.sleep(0.5)
        replay(db, calls)

    monkeypatch.setattr(state_writer, "replay", slow_first)
    world, directories, engine = _world(config)
    store = state_store.StateStore(tmp_path / "state.db", "background", "key", background_rows=0)

    def after_step(step: Any) -> None:
        store.save(engine, directories)
        first[0] = False

    _run(engine, world, rounds=2, after_step=after_step)
    assert store._writer is not None and len(store._writer.pending) >= 2  # still writing: the steps overlapped
    store.close()
    db = sqlite3.connect(str(tmp_path / "state.db"))
    assert _saved_rows(db) == _full_rows(engine, directories)
    db.close()


def test_a_failed_background_save_is_reported_and_the_file_keeps_the_step_before(config: ir.Config, tmp_path: Path) -> None:
    world, directories, engine = _world(config)
    path = tmp_path / "state.db"
    store = state_store.StateStore(path, "background", "key", background_rows=0)
    order = engine.cc.connector_order
    for connector in order:
        engine.run_step(connector, "full-import")
        store.save(engine, directories)
    store.flush()
    good = _raw(path)
    # A value no state file can hold: the child encoding the next save fails.
    victim = next(iter(engine.spaces[AD].objects.values()))
    victim.attrs["department"] = {1, 2}
    engine.spaces[AD].dirty.add(victim.guid)  # type: ignore[union-attr]
    store.save(engine, directories)  # handed over: the failure shows later
    engine.run_step(AD, "full-sync")
    with pytest.raises(state_store.StateError, match="cannot save a value of type set"):
        store.save(engine, directories)  # reported by the next call, and this save is not made
        store.flush()
    assert _raw(path) == good  # neither the failed save nor the one after it was written
    # Once the value is gone, the next save writes everything again.
    victim.attrs["department"] = "Sales"
    store.save(engine, directories)
    store.close()
    db = sqlite3.connect(str(path))
    assert _saved_rows(db) == _full_rows(engine, directories)
    db.close()


def test_small_saves_made_while_a_large_one_is_written_are_not_lost(config: ir.Config, tmp_path: Path) -> None:
    """They are held in the store until the large ones have committed; close writes them."""
    world, directories, engine = _world(config)
    path = tmp_path / "state.db"
    store = state_store.StateStore(path, "background", "key", background_rows=10**9)
    store.background_rows = 0
    engine.run_step(AD, "full-import")
    store.save(engine, directories)  # large: forked
    store.background_rows = 10**9
    engine.run_step(AAD, "full-import")
    store.save(engine, directories)  # small, while the first is written (or just done)
    deferred_or_written = bool(store._deferred) or not store._writer.pending  # type: ignore[union-attr]
    assert deferred_or_written
    store.close()
    db = sqlite3.connect(str(path))
    assert db.execute("SELECT value FROM meta WHERE key = 'steps'").fetchone()[0] == "2"
    assert _saved_rows(db) == _full_rows(engine, directories)
    db.close()
    assert not store._writer.pending  # type: ignore[union-attr] # close waited for every child


def test_a_refused_fork_writes_the_save_here(config: ir.Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_fork() -> int:
        raise OSError(12, "Cannot allocate memory")

    _saved_run(config, tmp_path / "sync.db", background=False)
    monkeypatch.setattr(state_writer.os, "fork", no_fork)
    _saved_run(config, tmp_path / "refused.db", background_rows=0)
    assert _raw(tmp_path / "refused.db") == _raw(tmp_path / "sync.db")


def test_a_failure_collected_while_handing_over_a_save_stops_that_save(tmp_path: Path) -> None:
    """A child found failed by the writer itself (between the store's check and the fork) must
    not be followed by one writing on top of it."""
    writer = state_writer.BackgroundWriter(str(tmp_path / "x.db"), sqlite3.connect)
    writer.failure = "disk full"
    assert writer.submit([("SELECT 1", (), False)]) is False
    assert not writer.pending
