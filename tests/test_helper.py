"""The helper process (syncrules.engine.helper) changes the time a step takes, never its outcome.

These tests run Microsoft's default rules over the generated world of
tests/test_engine_perf_invariants.py (users with managers, groups, contacts; rounds of random
changes with failing flows, renames and deletes; a new clock and the same rules applied again,
which start a new helper) and compare everything observable with an engine without a helper:
with every object the helper can take sent to it and waited for, with the helper killed in the
middle, and with results the engine must refuse.
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
from typing import Any

import pytest

from syncrules.engine import Engine, EngineOptions
from syncrules.engine.helper import Helper
from syncrules.ir import nodes as ir
from syncrules.runtime.values import AUTHORITATIVE_NULL, IGNORE_THIS_FLOW, Ref
from tests.test_engine_perf_invariants import AAD, AD, World, _run
from tests.test_engine_perf_invariants import config as config  # noqa: PLC0414 - the module's fixture

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the helper is for POSIX systems")


def _engines(config: ir.Config, seed: int, **helper: Any) -> tuple[tuple[Engine, World], tuple[Engine, World]]:
    plain_world, helped_world = World(seed), World(seed)
    plain = Engine(config, {AD: plain_world.ad, AAD: plain_world.aad}, EngineOptions(deletion_threshold=None))
    options = {"helper_min": 1, "helper_wait": True, **helper}
    helped = Engine(config, {AD: helped_world.ad, AAD: helped_world.aad}, EngineOptions(deletion_threshold=None, **options))
    return (plain, plain_world), (helped, helped_world)


def _same(expected: list[dict[str, Any]], actual: list[dict[str, Any]]) -> None:
    assert len(actual) == len(expected)
    for round_index, (a, e) in enumerate(zip(actual, expected, strict=True)):
        for key in e:
            assert a[key] == e[key], f"round {round_index}: {key} differs"


@pytest.mark.parametrize("seed", [1, 2])
def test_plans_computed_by_the_helper_give_the_outcome_without_it(config: ir.Config, seed: int) -> None:
    (plain, plain_world), (helped, helped_world) = _engines(config, seed)
    used: list[int] = []
    original = helped.run_step

    def step(connector: str, profile: str) -> Any:
        result = original(connector, profile)
        if helped._helper is not None:
            used.append(helped._helper.used)
        return result

    try:
        _same(_run(plain, plain_world, rounds=6), _run(helped, helped_world, rounds=6, step=step))
    finally:
        helped.close()
    # The helper did the work: most of the objects the initial synchronization computes, and
    # more after the restart that the new clock caused (the count starts again there).
    assert max(used) >= 40


def test_a_helper_killed_during_the_run_changes_nothing(config: ir.Config) -> None:
    (plain, plain_world), (helped, helped_world) = _engines(config, 3)
    killed: list[int] = []
    original = helped.run_step

    def step(connector: str, profile: str) -> Any:
        if profile == "full-sync" and connector == AAD and not killed:
            helper = helped._helper
            assert helper is not None and helper._proc is not None
            os.kill(helper._proc.pid, signal.SIGKILL)
            helper._proc.wait()
            killed.append(helper._proc.pid)
        return original(connector, profile)

    try:
        _same(_run(plain, plain_world, rounds=3), _run(helped, helped_world, rounds=3, step=step))
    finally:
        helped.close()
    assert killed


def test_results_of_a_plan_of_another_shape_are_refused(config: ir.Config, monkeypatch: pytest.MonkeyPatch) -> None:
    """The helper's plans have another shape than the engine's: nothing the helper sends is used."""
    (plain, plain_world), (helped, helped_world) = _engines(config, 4)
    original = Helper.take

    def other_shape(self: Helper, i: int) -> tuple[Any, ...] | None:
        result = original(self, i)
        if result is not None and result[5] is not None:
            result = (*result[:5], "not the engine's", *result[6:])
        return result

    monkeypatch.setattr(Helper, "take", other_shape)
    try:
        _same(_run(plain, plain_world, rounds=2), _run(helped, helped_world, rounds=2))
        assert helped._helper is not None and helped._helper.used == 0
    finally:
        helped.close()


def test_a_helper_with_other_scopes_is_not_used(config: ir.Config) -> None:
    engine = Engine(config, {}, EngineOptions())
    setup = pickle.dumps((config, EngineOptions(), {}))
    helper = Helper(setup, "another rule set's scopes", wait=True)
    try:
        helper.begin("AD", lambda i: None)
        while helper.alive and not helper._verified:
            helper._pump(block=True)
        assert not helper.ready()
    finally:
        helper.close()
        engine.close()


def test_close_ends_the_helper_process(config: ir.Config) -> None:
    engine = Engine(config, {}, EngineOptions(helper_min=1))
    helper = engine._helper
    assert helper is not None and helper._proc is not None
    proc = helper._proc
    engine.close()
    assert proc.poll() is not None
    assert engine._helper is None


def test_a_dropped_engine_ends_its_helper_process(config: ir.Config) -> None:
    """No close(): the helper goes with the last reference to the engine (and so to itself)."""
    engine = Engine(config, {}, EngineOptions(helper_min=1))
    helper = engine._helper
    assert helper is not None and helper._proc is not None
    proc = helper._proc
    del engine, helper
    gc.collect()
    assert proc.poll() is not None


def test_sentinels_and_references_survive_pickling() -> None:
    """Plan results cross between processes: the sentinels must stay the same objects."""
    for sentinel in (AUTHORITATIVE_NULL, IGNORE_THIS_FLOW):
        assert pickle.loads(pickle.dumps(sentinel, pickle.HIGHEST_PROTOCOL)) is sentinel
    ref = pickle.loads(pickle.dumps([Ref("CN=Ann,DC=x")], pickle.HIGHEST_PROTOCOL))[0]
    assert type(ref) is Ref and ref == "CN=Ann,DC=x"
