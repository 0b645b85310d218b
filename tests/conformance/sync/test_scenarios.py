"""Engine conformance: one folder per documented behaviour under scenarios/ (see runner.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conformance.sync.runner import Scenario

SCENARIOS = Path(__file__).parent / "scenarios"
NAMES = sorted(p.name for p in SCENARIOS.iterdir() if (p / "scenario.yaml").exists())


@pytest.mark.parametrize("mode", ["plans", "reference", "helper"])
@pytest.mark.parametrize("name", NAMES)
def test_scenario(name: str, mode: str) -> None:
    """Each scenario with the engine as it runs (generated plans, kept results), with the
    reference engine they are an optimisation of, and with every inbound plan it can hand over
    computed by a helper process."""
    Scenario(SCENARIOS / name, reference=mode == "reference", helper=mode == "helper").run()


def test_scenarios_are_described_and_indexed() -> None:
    """Every scenario says what it pins down, and docs/engine.md lists it."""
    import yaml

    doc = (Path(__file__).resolve().parents[3] / "docs" / "engine.md").read_text(encoding="utf-8")
    assert len(NAMES) >= 40
    for name in NAMES:
        spec = yaml.safe_load((SCENARIOS / name / "scenario.yaml").read_text(encoding="utf-8"))
        assert len(spec.get("description") or "") > 40, name
        assert name in doc, f"{name} is not in docs/engine.md's scenario index"
