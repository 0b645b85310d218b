"""Build the wheel, install it into a fresh venv, and run the CLI from there.

This is the only test that proves grammar/ and stdlib/ really ship inside the wheel (an editable
install finds them in the source tree instead).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        env={k: v for k, v in os.environ.items() if k != "SYNCRULES_PURE_BUILD"},  # the wheel as shipped
    )
    wheels = list(out.glob("syncrules-*.whl"))
    assert len(wheels) == 1
    return wheels[0]


def test_wheel_contains_grammar_and_stdlib(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "syncrules/_data/grammar/syncrules.lark" in names
    assert "syncrules/_data/stdlib/functions.yaml" in names


def test_wheel_carries_the_compiled_engine(wheel: Path) -> None:
    """hatch_build.py compiles the engine's hot modules when a C compiler is there."""
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler: the wheel is pure Python")
    names = zipfile.ZipFile(wheel).namelist()
    for module in ("engine", "spaces", "plans", "scope", "model"):
        assert any(n.startswith(f"syncrules/engine/{module}.") and n.endswith(".so") for n in names), module
    assert any(n.startswith("syncrules_native__mypyc") for n in names)
    assert "syncrules/native.json" in names
    assert not wheel.name.endswith("-none-any.whl")  # tagged for this interpreter and platform


def test_installed_wheel_runs(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(env_dir)
    py = env_dir / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "--quiet", str(wheel)], check=True, capture_output=True)
    exe = env_dir / "bin" / "syncrules"
    version = subprocess.run([str(exe), "--version"], check=True, capture_output=True, text=True)
    assert "syncrules" in version.stdout
    # Run from a directory outside the source tree so only the installed copy can be found.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SYNCRULES_PURE")}
    ok = subprocess.run([str(exe), "check", str(ROOT / "tests" / "invalid" / "_schema.sync")], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = subprocess.run(
        [str(exe), "check", str(ROOT / "tests" / "invalid" / "022-wrong-attribute-case.sync")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 1
    assert "SR115" in bad.stdout
    # The installed engine is the compiled one when the wheel carries it (no build tools needed).
    carried = any(n.endswith(".so") for n in zipfile.ZipFile(wheel).namelist())
    code = "from syncrules import native; print(native.compiled(), native.reason)"
    which = subprocess.run([str(py), "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert which.stdout.split()[0] == str(carried), which.stdout + which.stderr
