"""Build hook: the engine's hot modules compiled to C extensions with mypyc.

Why: synchronization is interpreted Python spending its time in calls, attribute reads and local
variables, which mypyc turns into C (the modules are fully annotated already). At 100,000 users
the compiled engine runs the initial import and full synchronization 19-29% faster (see
docs/engine.md, "The compiled engine"). Nothing else changes: the same source is the pure-Python
engine, and :mod:`syncrules.native` loads it instead of the extensions when they are missing,
stale or refused (``SYNCRULES_PURE=1``). Which modules are compiled, the stamp's name and its
digests come from that module, so the build and the check cannot disagree.

The hook compiles for wheels and editable installs alike. An editable install puts the
extensions next to the sources (the checkout is what gets imported); a wheel carries them. A
build that cannot compile (no C compiler, say) warns and gives a pure-Python package, and
``SYNCRULES_PURE_BUILD=1`` skips compiling.

The compiler runs in a process of its own, in a temporary directory (setuptools would otherwise
read this project's pyproject.toml as its own configuration): ``python hatch_build.py OUT``
compiles into OUT.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
PACKAGE = ROOT / "syncrules"


def _native() -> Any:
    """syncrules/native.py on its own (importing the package would run its __init__ here)."""
    spec = importlib.util.spec_from_file_location("_syncrules_native", PACKAGE / "native.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_NATIVE = _native()
# The modules compiled, as paths in the package without ".py". The rest, and the plan code the
# engine generates, stay Python.
MODULES: tuple[str, ...] = _NATIVE.MODULES
STAMP: str = _NATIVE.STAMP
GROUP = "syncrules_native"


def digests() -> dict[str, str]:
    """The SHA-256 of each compiled module's source: the stamp the extensions are checked against."""
    return {name: _NATIVE.digest(name, PACKAGE) for name in MODULES}


def compile_into(out: Path) -> None:
    """Run mypyc over the modules; the extensions land in ``out`` (``out/syncrules/engine/*.so``
    and the shared ``out/syncrules_native__mypyc*.so``, the paths they have in a wheel)."""
    from mypyc.build import mypycify
    from setuptools import setup

    with tempfile.TemporaryDirectory() as work:
        os.chdir(work)
        setup(
            name="syncrules-native",
            packages=[],
            # The other modules are read for their types only (and in an isolated build
            # environment the third-party ones are not installed).
            ext_modules=mypycify(
                ["--ignore-missing-imports", "--follow-imports=silent"] + [str(PACKAGE / f"{name}.py") for name in MODULES],
                opt_level="3",
                group_name=GROUP,
            ),
            script_args=["--quiet", "build_ext", "--build-lib", str(out), "--build-temp", str(Path(work) / "temp")],
        )


def _built(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*") if p.suffix in (".so", ".pyd"))


try:
    from hatchling.builders.hooks.plugin.interface import BuildHookInterface
except ImportError:  # compile_into in its own process needs no hatchling
    BuildHookInterface = object  # type: ignore[assignment,misc]


class NativeBuildHook(BuildHookInterface):  # type: ignore[misc,valid-type]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or os.environ.get("SYNCRULES_PURE_BUILD"):
            return
        out = Path(self.directory) / "native-build"
        shutil.rmtree(out, ignore_errors=True)
        done = subprocess.run([sys.executable, str(Path(__file__).resolve()), str(out)], capture_output=True, text=True)
        built = _built(out) if done.returncode == 0 else []
        if not built:
            print(f"syncrules: the engine is not compiled and runs as pure Python:\n{done.stdout[-2000:]}{done.stderr[-2000:]}", file=sys.stderr)
            return
        stamp = json.dumps(digests(), indent=1, sort_keys=True) + "\n"
        if version == "editable":
            # The checkout is imported: the extensions and their stamp go next to the sources.
            # Every extension of an earlier build goes, also of a module no longer compiled.
            old = [p for p in PACKAGE.rglob("*") if p.suffix in (".so", ".pyd")]
            for path in old + list(ROOT.glob(f"{GROUP}__mypyc*")):
                path.unlink()
            for path in built:
                shutil.copy2(path, ROOT / path.relative_to(out))
            (PACKAGE / STAMP).write_text(stamp)
            return
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        stamp_file = out / STAMP
        stamp_file.write_text(stamp)
        build_data["force_include"][str(stamp_file)] = f"syncrules/{STAMP}"
        for path in built:
            build_data["force_include"][str(path)] = str(path.relative_to(out))


if __name__ == "__main__":
    compile_into(Path(sys.argv[1]).resolve())
