"""Engine conformance: one folder per documented behaviour under scenarios/ (see runner.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conformance.sync.runner import Scenario

SCENARIOS = Path(__file__).parent / "scenarios"
NAMES = sorted(p.name for p in SCENARIOS.iterdir() if (p / "scenario.yaml").exists())


@pytest.mark.parametrize("name", NAMES)
def test_scenario(name: str) -> None:
    Scenario(SCENARIOS / name).run()
