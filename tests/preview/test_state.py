"""--state: engine state in SQLite carries across runs, is refused when it belongs elsewhere, and
survives a process killed between steps."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from syncrules.cli import main

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["run", *args, "--color", "never"])
    return result.exit_code, result.output


@pytest.fixture
def hr(tmp_path: Path) -> Path:
    target = tmp_path / "hr-to-ad"
    shutil.copytree(ROOT / "examples" / "hr-to-ad", target)
    return target


def test_state_carries_on_across_runs(hr: Path, tmp_path: Path) -> None:
    state = str(tmp_path / "state.db")
    code, out = run(str(hr), "--state", state, "--apply-exports")
    assert code == 0 and out.strip().endswith("Plan: 0 to add, 0 to change, 0 to delete, 0 errors.")
    # The next run is a delta on top of the saved state: only the change records show.
    code, out = run(str(hr), "--state", state, "--cycle", "delta")
    assert code == 0
    assert out.count("  - delete ") == 5
    assert "~ rename CN=" in out  # the worker who moved to Finance
    assert out.strip().endswith("Plan: 0 to add, 1 to change, 5 to delete, 0 errors.")
    # The change records were applied once: a further delta finds nothing new to import.
    code, out = run(str(hr), "--state", state, "--cycle", "delta")
    assert "0 to add, 1 to change, 5 to delete" in out


def test_state_of_another_project_or_version_is_refused(hr: Path, tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    assert run(str(hr), "--state", str(state))[0] == 0
    code, out = run(str(ROOT / "examples" / "fabrikam"), "--state", str(state))
    assert code == 1 and "belongs to project 'hr-to-ad'" in out
    db = sqlite3.connect(state)
    with db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'format'")
    db.close()
    code, out = run(str(hr), "--state", str(state))
    assert code == 1 and "incompatible version" in out
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    code, out = run(str(hr), "--state", str(junk))
    assert code == 1 and "not a syncrules state file" in out


def test_state_file_that_cannot_be_opened_says_so(hr: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder" / "state.db"
    code, out = run(str(hr), "--state", str(missing))
    assert code == 1 and f"cannot open the state file {missing}" in out and "Traceback" not in out


def _json_plan(project: Path, state: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "syncrules", "run", str(project), "--state", str(state), "--format", "json"],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )


def _summary(out: str) -> tuple[dict[str, int], list[tuple[str, str]]]:
    doc = json.loads(out)
    pending = sorted(
        (o["dn"], o["pending_export"]["operation"])
        for objs in doc["connector_spaces"].values()
        for o in objs
        if o["pending_export"]
    )
    return doc["summary"], pending


def test_killed_between_steps_then_resumed(hr: Path, tmp_path: Path) -> None:
    clean = _json_plan(hr, tmp_path / "clean.db")
    assert clean.returncode == 0, clean.stderr
    killed = _json_plan(hr, tmp_path / "crash.db", {"SYNCRULES_TEST_KILL_AFTER_STEP": "3"})
    assert killed.returncode != 0  # killed by SIGKILL after the third step was committed
    db = sqlite3.connect(tmp_path / "crash.db")
    steps = dict(db.execute("SELECT key, value FROM meta"))["steps"]
    db.close()
    assert steps == "3"
    resumed = _json_plan(hr, tmp_path / "crash.db")
    assert resumed.returncode == 0, resumed.stderr
    assert _summary(resumed.stdout) == _summary(clean.stdout)


def _rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    db = sqlite3.connect(path)
    tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    rows = {t: db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in tables}  # noqa: S608 - names from the file itself
    db.close()
    return rows


def test_state_and_plan_do_not_depend_on_string_hashing(tmp_path: Path) -> None:
    """Two processes with different string hashing (so different set orders) write the same
    state rows and the same plan: an export confirmed by import used to store the imported
    values in set order."""
    project = tmp_path / "contoso"
    shutil.copytree(ROOT / "examples" / "contoso", project)
    outputs = []
    for seed in ("1", "2"):
        state = tmp_path / f"state{seed}.db"
        args = [sys.executable, "-m", "syncrules", "run", str(project), "--state", str(state), "--apply-exports", "--format", "json"]
        done = subprocess.run(args, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": seed}, check=False)
        assert done.returncode in (0, 1), done.stderr
        outputs.append((done.stdout, _rows(state)))
    assert outputs[0][0] == outputs[1][0]
    assert outputs[0][1] == outputs[1][1]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="background saves need os.fork")
def test_run_with_every_save_in_the_background_gives_the_same_file_and_plans(hr: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`syncrules run` waits for the forked writers before it shows the plan: the file and the
    plans of the next runs are those of synchronous saves."""
    import functools

    from syncrules.state import session as state_session
    from syncrules.state.store import StateStore

    def tables(path: Path) -> dict[str, list[tuple[str, ...]]]:
        db = sqlite3.connect(str(path))
        out = {t: db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}  # noqa: S608
        db.close()
        return out

    plans = {}
    for mode, options in (("sync", {"background": False}), ("forked", {"background_rows": 0})):
        monkeypatch.setattr(state_session, "StateStore", functools.partial(StateStore, **options))
        state = tmp_path / f"{mode}.db"
        first = run(str(hr), "--state", str(state), "--apply-exports")
        second = run(str(hr), "--state", str(state), "--cycle", "delta")
        plans[mode] = (first, second, tables(state))
    assert plans["forked"] == plans["sync"]
    assert plans["sync"][1][0] == 0 and "5 to delete" in plans["sync"][1][1]
