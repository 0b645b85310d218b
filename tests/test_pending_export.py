"""A pending add keeps its new values only (``PendingExport.added``); everything that reads
``changes`` must see the same (None, new) pairs as before, and the state store must save and load
an add as it did."""

from __future__ import annotations

import json

from syncrules.engine import Engine, EngineOptions, MemoryDirectory
from syncrules.engine.model import PE_ADD, PE_UPDATE, CSObject, PendingExport
from syncrules.runtime.values import Ref
from syncrules.state import store as state_store
from tests.test_engine_perf_invariants import World, config  # noqa: F401 - config is a pytest fixture


def test_an_add_gives_pairs_with_no_old_value() -> None:
    pe = PendingExport(PE_ADD, "CN=a", added={"cn": "a", "member": [Ref("CN=b")]})
    assert pe.changes == {"cn": (None, "a"), "member": (None, [Ref("CN=b")])}
    assert pe.new_values() == {"cn": "a", "member": [Ref("CN=b")]}
    assert pe.new_values() is not pe.added  # a copy: the export keeps it
    assert pe == PendingExport(PE_ADD, "CN=a", None, {"cn": (None, "a"), "member": (None, [Ref("CN=b")])})
    assert pe != PendingExport(PE_ADD, "CN=a", None, {"cn": (None, "b"), "member": (None, [Ref("CN=b")])})


def test_setting_changes_replaces_the_added_values() -> None:
    pe = PendingExport(PE_ADD, "CN=a", added={"cn": "a"})
    pe.changes = {"cn": ("a", "b")}
    assert pe.added is None
    assert pe.changes == {"cn": ("a", "b")}
    assert pe.new_values() == {"cn": "b"}
    update = PendingExport(PE_UPDATE, "CN=a", None, {"sn": ("x", None)})
    assert update.added is None and update.new_values() == {"sn": None}


def test_the_state_store_keeps_an_add_as_values() -> None:
    obj = CSObject("g1", "AAD", "CN=a", "user")
    obj.pending_export = PendingExport(PE_ADD, "CN=a", None, None, {"manager": Ref("CN=m")}, {"cn": "a", "proxyAddresses": ["SMTP:a@x"]})
    row, ops = state_store._cs_row(obj)
    assert json.loads(row)[6][3] == [1, {"cn": "a", "proxyAddresses": ["SMTP:a@x"]}]  # the format is unchanged
    back = state_store._cs_from("AAD", row, ops)
    assert back.pending_export is not None
    assert back.pending_export.added == {"cn": "a", "proxyAddresses": ["SMTP:a@x"]}
    assert back.pending_export == obj.pending_export
    # An update whose old values are all NULL is saved the same way and stays an update of pairs.
    obj.pending_export = PendingExport(PE_UPDATE, "CN=a", None, {"sn": (None, "b")})
    row, ops = state_store._cs_row(obj)
    back = state_store._cs_from("AAD", row, ops)
    assert back.pending_export is not None and back.pending_export.added is None
    assert back.pending_export.changes == {"sn": (None, "b")}


def test_provisioning_stages_an_add_of_values_that_exports_as_before(config) -> None:  # noqa: F811
    world = World(3, users=16)
    engine = Engine(config, {"AD": world.ad, "AAD": world.aad}, EngineOptions(deletion_threshold=None))
    for profile in ("full-import", "full-sync"):
        for connector in engine.cc.connector_order:
            engine.run_step(connector, profile)
    adds = [o for o in engine.spaces["AAD"] if o.pending_export is not None and o.pending_export.operation == PE_ADD]
    assert adds
    for obj in adds:
        pe = obj.pending_export
        assert pe is not None and pe.added is not None
        assert list(pe.added) == sorted(pe.added)  # by name, as the pairs were
        assert all(v is not None and v != [] for v in pe.added.values())
    expected = {o.dn: o.pending_export.new_values() for o in adds if o.pending_export is not None}
    engine.run_step("AAD", "export")
    aad: MemoryDirectory = world.aad
    compared = 0
    for dn, values in expected.items():
        exported = aad.get(dn)
        assert exported is not None
        for name, value in values.items():
            if isinstance(value, str) and name != "cloudMastered":
                assert exported.attrs.get(name) == value, (dn, name)
                compared += 1
    assert compared > 5 * len(expected)
