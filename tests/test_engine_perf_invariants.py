"""What the engine's performance machinery must never change.

The engine keeps results to avoid computing them again (scopes and inbound contributions kept
with each connector-space object, metaverse objects recomputed only for what changed, export
flows skipped when none of their inputs changed) and runs flows through generated plans. With
``_reuse`` off it runs the reference: every scope, flow and export computed from scratch by the
interpreted loops. The state store saves incrementally, from the changes the engine records.

These tests run Microsoft's default rules (the contoso example's configuration) over a generated
directory through rounds of random changes, and check after every cycle that

* the engine with reuse gives exactly the reference engine's state, step results, errors and
  warnings, and the same directory contents;
* an incrementally saved state file holds exactly what a full save of the engine would, and
  loads back into the same state.
"""

from __future__ import annotations

import base64
import gc
import json
import random
import sqlite3
import struct
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncrules.compiler import compile_paths
from syncrules.engine import Engine, EngineOptions, MemoryDirectory, spaces
from syncrules.engine import engine as engine_module
from syncrules.ir import nodes as ir
from syncrules.state import store as state_store

ROOT = Path(__file__).resolve().parent.parent
AD, AAD = "AD", "AAD"
DEPARTMENTS = ["Sales", "Research", "Finance", "Legal"]
NS = uuid.UUID("4f0c2a7e-51d3-4e3b-8a21-6c0f9b1d2e77")


@pytest.fixture(scope="module")
def config() -> ir.Config:
    result = compile_paths([ROOT / "examples" / "contoso"])
    assert result.config is not None
    return result.config


def _sid(rid: int) -> bytes:
    return struct.pack("<BB", 1, 5) + (5).to_bytes(6, "big") + struct.pack("<5I", 21, 7, 1000, 2000, rid)


def _dn(kind: str, i: int) -> str:
    return f"CN={kind} {i:04d},OU={kind}s,OU=CORP,DC=contoso,DC=com"


class World:
    """A generated AD (users with managers, groups, contacts) and an empty tenant; every random
    choice comes from one seed, so two worlds built with one seed are identical."""

    def __init__(self, seed: int, users: int = 40) -> None:
        self.rng = random.Random(seed)
        self.users = users
        self.next_user = users
        self.ad = MemoryDirectory(AD)
        self.aad = MemoryDirectory(AAD, rewrite={"cloudMastered": False})
        for i in range(users):
            self.ad.add(_dn("User", i), "user", self.user(i), anchor=f"u{i}")
        for g in range(users // 8):
            members = sorted({_dn("User", self.rng.randrange(users)) for _ in range(6)})
            attrs = {"objectGUID": uuid.uuid5(NS, f"g{g}").bytes, "objectSid": _sid(5000 + g), "sAMAccountName": f"group{g}",
                     "cn": f"Group {g:04d}", "displayName": f"Group {g}", "groupType": -2147483646, "member": members}
            if g % 2:
                attrs.update({"mail": f"group{g}@contoso.com", "mailNickname": f"group{g}", "proxyAddresses": [f"SMTP:group{g}@contoso.com"]})
            self.ad.add(_dn("Group", g), "group", attrs, anchor=f"g{g}")
        for c in range(users // 10):
            mail = f"partner{c}@partner.example"
            self.ad.add(_dn("Contact", c), "contact", {"objectGUID": uuid.uuid5(NS, f"c{c}").bytes, "cn": f"Contact {c}",
                        "displayName": f"Partner {c}", "mail": mail, "mailNickname": f"partner{c}", "proxyAddresses": [f"SMTP:{mail}"],
                        "targetAddress": f"SMTP:{mail}"}, anchor=f"c{c}")

    def user(self, i: int) -> dict[str, Any]:
        name = f"user{i:04d}"
        attrs: dict[str, Any] = {
            "objectGUID": uuid.uuid5(NS, f"u{i}").bytes, "objectSid": _sid(1000 + i), "sAMAccountName": name,
            "userPrincipalName": f"{name}@contoso.com", "cn": f"User {i:04d}", "givenName": "User", "sn": f"{i:04d}",
            "displayName": f"User {i:04d}", "department": DEPARTMENTS[i % 4], "userAccountControl": 512,
            "pwdLastSet": 133500000000000000 + i, "mail": f"{name}@contoso.com", "mailNickname": name,
            "proxyAddresses": [f"SMTP:{name}@contoso.com", f"smtp:{name}@contoso.mail.onmicrosoft.com"],
        }
        if i >= 4:
            attrs["manager"] = _dn("User", i // 4)
        return attrs

    def change(self) -> None:
        """One round of random directory changes."""
        rng, ad = self.rng, self.ad
        present = [i for i in range(self.next_user) if ad.get(_dn("User", i)) is not None]
        for i in rng.sample(present, min(6, len(present))):
            kind = rng.randrange(10)
            dn = _dn("User", i)
            if kind == 0:
                ad.modify(dn, {"department": rng.choice(DEPARTMENTS) + " 2", "title": rng.choice(["Clerk", None])})
            elif kind == 1:
                ad.modify(dn, {"userAccountControl": rng.choice([512, 514])})
            elif kind == 2:
                ad.modify(dn, {"extensionAttribute15": rng.choice(["NoSync", None])})
            elif kind == 3:
                ad.modify(dn, {"extensionAttribute10": rng.choice(["  Preferred Name  ", None]), "mail": None})
            elif kind == 4:
                ad.modify(dn, {"manager": _dn("User", rng.randrange(self.next_user))})
            elif kind == 5:
                ad.modify(dn, {"proxyAddresses": [f"SMTP:x{i}@contoso.com", f"smtp:X{i}@contoso.com", f"smtp:y{i}@contoso.com"]})
            elif kind == 6:
                ad.delete(dn)
            elif kind == 7 and ad.get(_dn("User", i + 10_000)) is None:
                ad.rename(dn, f"CN=Moved {i:04d},OU=Users,OU=CORP,DC=contoso,DC=com")
            elif kind == 8 and rng.random() < 0.5:
                ad.modify(dn, {"objectSid": b"\x01\x02", "pwdLastSet": "soon"})  # flows fail: errors, rollbacks
            else:
                ad.modify(dn, {"displayName": f"Renamed {i}", "sn": None})
        for _ in range(rng.randrange(3)):
            i = self.next_user
            self.next_user += 1
            ad.add(_dn("User", i), "user", self.user(i), anchor=f"u{i}")
        groups = [g for g in range(self.users // 8) if ad.get(_dn("Group", g)) is not None]
        if groups:
            g = rng.choice(groups)
            ad.modify(_dn("Group", g), {"member": sorted({_dn("User", rng.randrange(self.next_user)) for _ in range(rng.randrange(1, 8))})})
        if rng.random() < 0.3 and ad.get(_dn("Contact", 0)) is not None:
            ad.modify(_dn("Contact", 0), {"mail": rng.choice(["new@partner.example", None])})


def _value(v: Any) -> Any:
    if isinstance(v, list):
        return [_value(x) for x in v]
    if isinstance(v, (bytes, bytearray)):
        return "b:" + base64.b64encode(bytes(v)).decode()
    return f"{type(v).__name__}:{v}"


def _dump(engine: Engine, directories: dict[str, MemoryDirectory]) -> dict[str, Any]:
    """Everything observable about an engine, in a comparable form."""
    out: dict[str, Any] = {}
    for name, space in engine.spaces.items():
        rows = []
        for o in sorted(space, key=lambda o: o.guid):
            pe = o.pending_export
            rows.append([o.guid, o.dn, o.object_type, o.anchor, {k: _value(v) for k, v in sorted(o.attrs.items())}, o.placeholder,
                         o.transient, o.pending_import, sorted(o.changed), o.mv_id, o.link_rule, o.provisioned_by,
                         None if pe is None else [pe.operation, pe.dn, pe.new_dn, {k: [_value(a), _value(b)] for k, (a, b) in pe.changes.items()},
                                                  {k: _value(v) for k, v in pe.held.items()}],
                         {k: _value(v) for k, v in sorted(o.export_memory.items())}, o.deleted])
        out[f"cs:{name}"] = rows
        out[f"pending:{name}"] = sorted(space.pending)
    out["mv"] = [[m.id, m.object_type, {k: _value(v) for k, v in sorted(m.attrs.items())}, dict(sorted(m.lineage.items())), m.links,
                  {k: [_value(v), lin] for k, (v, lin) in sorted(m.once.items())}, m.retry_provisioning] for m in sorted(engine.mv, key=lambda m: m.id)]
    out["history"] = [[s.to_json(), [e.to_json() for e in s.errors], [w.to_json() for w in s.warnings]] for s in engine.history]
    out["directories"] = {n: sorted([e.anchor, e.dn, e.object_type, {k: _value(v) for k, v in sorted(e.attrs.items())}] for e in d.entries.values())
                          for n, d in directories.items()}
    out["waiting"] = sorted([list(k), sorted(v)] for k, v in engine._waiting.items())
    out["retry"] = sorted(engine._retry)
    return out


def _run(engine: Engine, world: World, rounds: int, after_step: Any = None, step: Any = None) -> list[dict[str, Any]]:
    """The initial cycle, a settling cycle, then rounds of changes and delta cycles (with a full
    synchronization now and then, a new clock once, and the same rules applied again). ``step``
    runs a step in place of ``engine.run_step`` (a test's wrapper: the engine may be a compiled
    class, whose methods cannot be replaced)."""
    run_step = step if step is not None else engine.run_step
    snapshots = []
    directories = {AD: world.ad, AAD: world.aad}

    def cycle(kind: str) -> None:
        for profile in ("full-import", "full-sync", "export") if kind == "full" else ("delta-import", "delta-sync", "export"):
            for connector in engine.cc.connector_order:
                result = run_step(connector, profile)
                if after_step is not None:
                    after_step(result)

    cycle("full")
    cycle("delta")
    snapshots.append(_dump(engine, directories))
    for r in range(rounds):
        world.change()
        cycle("delta")
        if r % 3 == 2:
            for connector in engine.cc.connector_order:
                result = run_step(connector, "full-sync")
                if after_step is not None:
                    after_step(result)
        if r == rounds // 2:
            engine.options.now = engine.options.now.replace(year=2027)
            engine.reconfigure(engine.cc.config)
        snapshots.append(_dump(engine, directories))
    return snapshots


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_reuse_gives_the_reference_outcome(config: ir.Config, seed: int) -> None:
    fast_world, slow_world = World(seed), World(seed)
    fast = Engine(config, {AD: fast_world.ad, AAD: fast_world.aad}, EngineOptions(deletion_threshold=None))
    slow = Engine(config, {AD: slow_world.ad, AAD: slow_world.aad}, EngineOptions(deletion_threshold=None))
    fast._reuse, slow._reuse = True, False
    expected = _run(slow, slow_world, rounds=8)
    actual = _run(fast, fast_world, rounds=8)
    assert len(actual) == len(expected)
    for round_index, (a, e) in enumerate(zip(actual, expected, strict=True)):
        for key in e:
            assert a[key] == e[key], f"round {round_index}: {key} differs"


def _saved_rows(db: sqlite3.Connection) -> dict[str, Any]:
    """The saved rows, decoded; a change record saved as sharing its entry's values gets them."""
    entries = {(c, a): json.loads(d) for c, a, d in db.execute("SELECT connector, anchor, data FROM dir_entry")}
    logs: dict[str, list[Any]] = {}
    for c, d in db.execute("SELECT connector, data FROM dir_log ORDER BY connector, seq"):
        record = json.loads(d)
        if record[4] == 0:
            record[4] = entries[(c, record[2])][2]
        logs.setdefault(c, []).append(record)
    return {
        "cs": {
            (c, g): (json.loads(d), json.loads(o))
            for c, g, d, o in db.execute("SELECT connector, guid, data, ops FROM cs JOIN cs_ops USING (connector, guid)")
        },
        "cs_rows": db.execute("SELECT (SELECT COUNT(*) FROM cs), (SELECT COUNT(*) FROM cs_ops)").fetchone(),
        "mv": {i: json.loads(d) for i, d in db.execute("SELECT id, data FROM mv")},
        "dir_entry": entries,
        "dir_log": logs,
    }


def _full_rows(engine: Engine, directories: dict[str, MemoryDirectory]) -> dict[str, Any]:
    """What saving everything now would write, decoded."""
    return {
        "cs": {(n, o.guid): tuple(json.loads(part) for part in state_store._cs_row(o)) for n, s in engine.spaces.items() for o in s},
        "cs_rows": (sum(len(s) for s in engine.spaces.values()),) * 2,
        "mv": {m.id: json.loads(state_store._mv_row(m)) for m in engine.mv},
        "dir_entry": {(n, e.anchor): json.loads(state_store._entry_row(e)) for n, d in directories.items() for e in d.entries.values()},
        "dir_log": {n: [json.loads(state_store._log_row(c)) for c in d._log] for n, d in directories.items() if d._log},
    }


def test_incremental_saves_hold_the_whole_state(config: ir.Config, tmp_path: Path) -> None:
    world = World(7)
    directories = {AD: world.ad, AAD: world.aad}
    engine = Engine(config, dict(directories), EngineOptions(deletion_threshold=None))
    store = state_store.StateStore(tmp_path / "state.db", "invariants", "key")
    saves = 0

    def after_step(step: Any) -> None:
        nonlocal saves
        store.save(engine, directories)
        saves += 1
        assert _saved_rows(store.db) == _full_rows(engine, directories), f"save {saves} ({step.profile} {step.connector})"

    snapshots = _run(engine, world, rounds=5, after_step=after_step)
    store.close()
    # Loading the file gives the same state, and saves after a load are incremental and right.
    world2 = World(7)
    directories2 = {AD: world2.ad, AAD: world2.aad}
    loaded = Engine(config, dict(directories2), EngineOptions(deletion_threshold=None, now=engine.options.now))
    store2 = state_store.StateStore(tmp_path / "state.db", "invariants", "key")
    store2.load(loaded, directories2)
    mine, theirs = _dump(loaded, directories2), snapshots[-1]
    for key in theirs:
        # The run history is not part of the state; held-back references are rebuilt from the
        # pending exports that hold them (a running engine also remembers ones exported since).
        if key not in ("history", "waiting"):
            assert mine[key] == theirs[key], key
    world2.next_user, world2.rng = world.next_user, random.Random(99)  # go on from the saved directories
    world2.change()
    for connector in loaded.cc.connector_order:
        loaded.run_step(connector, "delta-import")
        store2.save(loaded, directories2)
        assert _saved_rows(store2.db) == _full_rows(loaded, directories2)
    store2.close()


def test_steps_make_no_cyclic_garbage(config: ir.Config) -> None:
    """``EngineOptions.freeze_state`` freezes everything alive after a step: that is only safe
    because a step leaves no garbage that only the cyclic collector could free (errors, renames,
    deletes and reconfiguration included, which the rounds of changes go through)."""
    world = World(5)
    engine = Engine(config, {AD: world.ad, AAD: world.aad}, EngineOptions(deletion_threshold=None))
    collecting = gc.isenabled()
    gc.collect()
    gc.disable()
    found: list[tuple[str, str, int]] = []
    run_step = engine.run_step

    def checked_step(connector: str, profile: str) -> Any:
        gc.collect()  # what the test itself dropped between steps
        step = run_step(connector, profile)
        gc.disable()  # run_step restores the collector's state
        unreachable = gc.collect()
        if unreachable:
            found.append((profile, connector, unreachable))
        return step

    try:
        _run(engine, world, rounds=4, step=checked_step)
    finally:
        if collecting:
            gc.enable()
    assert found == []


@pytest.mark.parametrize(
    "event",
    ["rename-manager", "manager-out-of-scope", "delete-manager", "rename-onto-dangling-reference", "cloud-change-only"],
)
def test_one_change_to_a_referenced_object_is_seen_by_its_referrers(config: ir.Config, event: str) -> None:
    """A metaverse object recomputed with an unchanged connector-space object re-resolves that
    object's references only when a link or a name in its connector space changed since
    (ConnectorSpace.link_version). Each case makes exactly one such change between two delta
    cycles (so no other change in the space can mask a missing version bump) and compares the
    whole state with the reference engine's."""
    snapshots = []
    for reuse in (True, False):
        world = World(5, users=24)
        directories = {AD: world.ad, AAD: world.aad}
        engine = Engine(config, dict(directories), EngineOptions(deletion_threshold=None))
        engine._reuse = reuse
        engine.run_cycle("initial")
        engine.run_cycle("delta")
        manager = _dn("User", 2)  # the manager of users 8-11
        if event == "rename-manager":
            world.ad.rename(manager, "CN=Manager Two,OU=Users,OU=CORP,DC=contoso,DC=com")
        elif event == "manager-out-of-scope":
            world.ad.modify(manager, {"adminDescription": "User_hidden"})
        elif event == "delete-manager":
            world.ad.delete(manager)
        elif event == "rename-onto-dangling-reference":
            world.ad.modify(_dn("User", 9), {"manager": "CN=Nobody Yet,OU=Users,OU=CORP,DC=contoso,DC=com"})
            engine.run_cycle("delta")
            world.ad.rename(_dn("User", 3), "CN=Nobody Yet,OU=Users,OU=CORP,DC=contoso,DC=com")
        else:  # the cloud side changes a referrer's person: recomputed with its AD object unchanged
            anchor = next(e.anchor for e in world.aad.entries.values() if e.attrs.get("onPremisesSamAccountName") == "user0008")
            entry = world.aad.entries[anchor]
            world.aad.modify(entry.dn, {"cloudMSExchArchiveStatus": 1})
        engine.run_cycle("delta")
        engine.run_cycle("delta")
        snapshots.append(_dump(engine, directories))
    for key in snapshots[1]:
        assert snapshots[0][key] == snapshots[1][key], key


@given(st.text(max_size=40))
def test_generated_ids_are_rfc4122_name_based(name: str) -> None:
    """The engine's ids are built from the hex digest directly; they must still be exactly the
    version-5 UUIDs (documented in docs/engine.md) that the uuid module gives."""
    assert spaces.name_uuid(name) == str(uuid.uuid5(spaces._NAMESPACE, name))


@given(st.lists(st.sampled_from(["smtp:a@x", "SMTP:A@x", "smtp:b@x", "x500:c", b"\x01", 7]), max_size=5), st.booleans())
def test_a_merge_with_nothing_added_keeps_the_current_values_once(current: list[Any], fold: bool) -> None:
    """``_union``'s shortcut for nothing added gives what the general loop gives."""
    expected: list[Any] = []
    seen: set[Any] = set()
    for value in current:
        key = value.lower() if fold and isinstance(value, str) else value
        if key not in seen:
            seen.add(key)
            expected.append(value)
    result = engine_module._union(current, None, fold)
    assert result == (expected or None)
    assert result is not current


@given(st.text(alphabet=" ,=+\\aB", max_size=12))
def test_the_separator_space_test_finds_what_the_expression_finds(dn: str) -> None:
    import re

    assert spaces._space_at_separator(dn) == (re.search(r" [,=+]|[,=+] ", dn) is not None)

