"""Sync engine benchmark: the Contoso default rule set over N generated users.

The rules are Microsoft's 62 default rules of the Contoso sample export, imported with
``syncrules import aadconnect`` and compiled. A second forest (fabrikam.com) is added the way the
installation wizard adds one: a copy of the AD connector and of its inbound rules, each copied rule
placed right after the original (``precedence after``). 10% of people have an account in both
forests in the account/resource pattern: a disabled contoso account with a linked mailbox
(``msExchMasterAccountSid``) joined to the enabled fabrikam account.

Directories hold N users with managers, N/20 security groups of 20 members, N/20 mail contacts,
and the fabrikam accounts. The run:

1. initial cycle: Full Import of every connector, Full Synchronization of every connector (timed
   together: the objects/s figure), then Export;
2. a settling delta cycle: the confirming imports of everything exported;
3. 1% churn (0.8% of people changed, 0.1% added, 0.1% deleted), then a timed delta cycle
   (Delta Import, Delta Synchronization, Export on every connector).

The last line printed is one JSON object with the measurements. The engine runs as ``syncrules
run`` runs a preview of this size: with a helper process computing inbound plans on the other
core (``syncrules.engine.helper``; ``--no-helper`` runs without it). ``peak_rss_mib`` is the
engine's process; ``children_peak_rss_mib`` the largest of the helper and any state writers.

With ``--state`` the engine state is saved in SQLite after every step, as ``syncrules run
--state FILE`` does (``syncrules.state.store.StateStore``: one transaction per step, only the
objects changed since the previous save; large saves are written by a forked process while the
next step runs, and the run ends when the last one has committed). Part of the cost of saving is
then paid inside the steps (the engine's pages are copied as it writes to them while a child
holds them), so it is measured against a whole run without saves: the same population in a
separate process (this script without ``--state``), run afterwards. The output adds both totals,
their ratio, the time the engine spent in save calls (planning, forking, waiting), the peak RSS
of the writing processes, and the file size.

    python benchmarks/bench_sync.py [--users 10000] [--seed 1] [--state [FILE]]
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import random
import re
import resource
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from syncrules.compiler import compile_paths  # noqa: E402
from syncrules.engine import Engine, EngineOptions, MemoryDirectory  # noqa: E402
from syncrules.interop.aadconnect.cli import run_import  # noqa: E402
from syncrules.preview.session import HELPER_MIN_OBJECTS  # noqa: E402
from syncrules.state.store import StateStore  # noqa: E402

CORPUS = Path("/work/shared/corpus/aadconnect-contoso")
if not CORPUS.exists():  # a checkout next to shared/
    CORPUS = ROOT.parent / "shared" / "corpus" / "aadconnect-contoso"

AD = "contoso.com"
AD2 = "fabrikam.com"
AAD = "contoso.onmicrosoft.com - AAD"
DEPARTMENTS = ["Sales", "Marketing", "Research", "Support", "Finance", "Legal", "Operations", "IT"]
TITLES = ["Engineer", "Manager", "Analyst", "Clerk", "Director", "Consultant"]
NS = uuid.UUID("8a3c1d2e-5b6f-4a70-9c81-2d3e4f5a6b7c")


def build_config(work: Path) -> Any:
    """Import the Contoso export, add the second forest, compile."""
    out = work / "contoso"
    code = run_import([str(CORPUS)], str(out), stdout=io.StringIO(), stderr=io.StringIO())
    if code != 0:
        raise SystemExit(f"importing {CORPUS} failed ({code})")
    connector = (out / "connectors" / "contoso.com.sync").read_text(encoding="utf-8")
    connector = connector.replace('connector "contoso.com"', f'connector "{AD2}"')
    connector = re.sub(r'\n  id "[^"]*"', '\n  id "{5d8c2a9e-3f41-4b7a-9e0c-6a1b2c3d4e5f}"', connector, count=1)
    connector = connector.replace("DC=contoso", "DC=fabrikam").replace('"contoso.com"', '"fabrikam.com"').replace("CONTOSO", "FABRIKAM")
    (out / "connectors" / "fabrikam.com.sync").write_text(connector, encoding="utf-8")
    rules = (out / "rules" / "contoso.com-inbound.sync").read_text(encoding="utf-8")
    names = re.findall(r'^rule "([^"]+)"', rules, flags=re.M)
    copy = rules.replace('inbound from "contoso.com"', f'inbound from "{AD2}"')
    copy = re.sub(r'^  (id|tag) "[^"]*"\n', "", copy, flags=re.M)
    parts = re.split(r'(?m)^(?=rule ")', copy)
    rewritten = []
    for part in parts:
        m = re.match(r'rule "([^"]+)"', part)
        if m:
            name = m.group(1)
            part = part.replace(f'rule "{name}"', f'rule "{name} ({AD2})"', 1)
            part = re.sub(r"(?m)^  precedence \d+$", f'  precedence after "{name}"', part, count=1)
        rewritten.append(part)
    assert len(names) == sum(1 for p in rewritten if p.startswith("rule "))
    (out / "rules" / "fabrikam.com-inbound.sync").write_text("".join(rewritten), encoding="utf-8")
    result = compile_paths([out])
    errors = [f"{d.code} {d.message}" for d in result.diagnostics if d.severity >= 3]
    if errors or result.config is None:
        raise SystemExit("compiling the rule set failed: " + "; ".join(errors[:5]))
    return result.config


def sid(domain: int, rid: int) -> bytes:
    """A binary SID S-1-5-21-<domain>-1000-2000-<rid>."""
    return struct.pack("<BB", 1, 5) + (5).to_bytes(6, "big") + struct.pack("<5I", 21, domain, 1000, 2000, rid)


def guid(*parts: Any) -> bytes:
    return uuid.uuid5(NS, "/".join(map(str, parts))).bytes


class Population:
    """Deterministic generated directory contents."""

    def __init__(self, users: int, seed: int) -> None:
        self.users = users
        self.rng = random.Random(seed)
        self.next_id = users

    @staticmethod
    def user_dn(i: int, forest: str = "contoso") -> str:
        return f"CN=User {i:07d},OU=Users,OU=CORP,DC={forest},DC=com"

    def linked(self, i: int) -> bool:
        return i % 10 == 3  # 10% of people also have a fabrikam account

    def user(self, i: int) -> dict[str, Any]:
        name = f"user{i:07d}"
        attrs: dict[str, Any] = {
            "objectGUID": guid("u", i),
            "objectSid": sid(1, 10000 + i),
            "sAMAccountName": name,
            "userPrincipalName": f"{name}@contoso.com",
            "cn": f"User {i:07d}",
            "givenName": "User",
            "sn": f"{i:07d}",
            "displayName": f"User {i:07d}",
            "department": DEPARTMENTS[i % len(DEPARTMENTS)],
            "title": TITLES[i % len(TITLES)],
            "telephoneNumber": f"+1 555 {i % 10000:04d}",
            "userAccountControl": 512,
            "pwdLastSet": 132500000000000000 + i,
            "mail": f"{name}@contoso.com",
            "mailNickname": name,
            "proxyAddresses": [f"SMTP:{name}@contoso.com", f"smtp:{name}@contoso.mail.onmicrosoft.com"],
        }
        if i >= 10:
            attrs["manager"] = self.user_dn(i // 10)
        if self.linked(i):
            attrs["userAccountControl"] = 514
            attrs["msExchMasterAccountSid"] = sid(2, 10000 + i)
            attrs["msExchRecipientTypeDetails"] = 2
        return attrs

    def fabrikam_user(self, i: int) -> dict[str, Any]:
        name = f"fuser{i:07d}"
        return {
            "objectGUID": guid("f", i),
            "objectSid": sid(2, 10000 + i),
            "sAMAccountName": name,
            "userPrincipalName": f"{name}@fabrikam.com",
            "cn": f"User {i:07d}",
            "displayName": f"User {i:07d} (fabrikam)",
            "userAccountControl": 512,
            "department": DEPARTMENTS[i % len(DEPARTMENTS)],
        }

    def groups(self) -> list[tuple[str, dict[str, Any]]]:
        out = []
        for g in range(max(1, self.users // 20)):
            members = [self.user_dn(self.rng.randrange(self.users)) for _ in range(20)]
            out.append(
                (
                    f"CN=Group {g:06d},OU=Groups,OU=CORP,DC=contoso,DC=com",
                    {
                        "objectGUID": guid("g", g),
                        "objectSid": sid(1, 500000 + g),
                        "sAMAccountName": f"group{g:06d}",
                        "cn": f"Group {g:06d}",
                        "displayName": f"Group {g:06d}",
                        "groupType": -2147483646,
                        "member": sorted(set(members)),
                    },
                )
            )
        return out

    def contacts(self) -> list[tuple[str, dict[str, Any]]]:
        out = []
        for c in range(max(1, self.users // 20)):
            mail = f"partner{c:06d}@partner.example"
            out.append(
                (
                    f"CN=Contact {c:06d},OU=Contacts,OU=CORP,DC=contoso,DC=com",
                    {
                        "objectGUID": guid("c", c),
                        "cn": f"Contact {c:06d}",
                        "displayName": f"Partner {c:06d}",
                        "mail": mail,
                        "mailNickname": f"partner{c:06d}",
                        "proxyAddresses": [f"SMTP:{mail}"],
                        "targetAddress": f"SMTP:{mail}",
                    },
                )
            )
        return out


def populate(pop: Population) -> tuple[dict[str, MemoryDirectory], int]:
    ad, ad2, aad = MemoryDirectory(AD), MemoryDirectory(AD2), MemoryDirectory(AAD)
    count = 0
    for i in range(pop.users):
        ad.add(pop.user_dn(i), "user", pop.user(i), anchor=f"u{i}")
        count += 1
        if pop.linked(i):
            ad2.add(pop.user_dn(i, "fabrikam"), "user", pop.fabrikam_user(i), anchor=f"f{i}")
            count += 1
    for dn, attrs in pop.groups():
        ad.add(dn, "group", attrs)
        count += 1
    for dn, attrs in pop.contacts():
        ad.add(dn, "contact", attrs)
        count += 1
    return {AD: ad, AD2: ad2, AAD: aad}, count


def churn(pop: Population, dirs: dict[str, MemoryDirectory]) -> int:
    """1% of people: 0.8% modified, 0.1% added, 0.1% deleted."""
    ad = dirs[AD]
    n = max(1, pop.users // 100)
    rng = random.Random(7)
    picked = rng.sample(range(pop.users), n)
    modified = picked[: n * 8 // 10]
    deleted = picked[n * 8 // 10 : n * 9 // 10]
    for i in modified:
        ad.modify(pop.user_dn(i), {"department": rng.choice(DEPARTMENTS) + " 2", "title": rng.choice(TITLES), "telephoneNumber": f"+1 555 9{i % 1000:03d}"})
    for i in deleted:
        if ad.get(pop.user_dn(i)) is not None:
            ad.delete(pop.user_dn(i))
    for _ in range(n - len(modified) - len(deleted)):
        i = pop.next_id
        pop.next_id += 1
        ad.add(pop.user_dn(i), "user", pop.user(i), anchor=f"u{i}")
    return n


def timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def in_memory_run(users: int, seed: int, no_helper: bool) -> dict[str, Any]:
    """This benchmark without --state, in a process of its own (its last line)."""
    command = [sys.executable, __file__, "--users", str(users), "--seed", str(seed)] + (["--no-helper"] if no_helper else [])
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--state", nargs="?", const="", default=None, metavar="FILE", help="save the state after every step (to FILE, or a temporary file)"
    )
    parser.add_argument("--no-helper", action="store_true", help="synchronize without the helper process (syncrules.engine.helper)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        config = build_config(Path(tmp))
        pop = Population(args.users, args.seed)
        dirs, objects = populate(pop)
        # As `syncrules run` does for a preview this large (a helper process unless --no-helper).
        options = EngineOptions(deletion_threshold=None, freeze_state=True, helper_min=None if args.no_helper else HELPER_MIN_OBJECTS)
        engine = Engine(config, dict(dirs), options)
        order = engine.cc.connector_order
        store: StateStore | None = None
        state_path: Path | None = None
        if args.state is not None:
            state_path = Path(args.state) if args.state else Path(tmp) / "state.db"
            state_path.unlink(missing_ok=True)
            store = StateStore(state_path, "bench_sync", "bench")
        saving = [0.0]
        gc.collect()
        gc.freeze()  # the generated data is long-lived: keep the collector from rescanning it

        def step(connector: str, profile: str) -> None:
            engine.run_step(connector, profile)
            if store is not None:
                start = time.perf_counter()
                store.save(engine, dirs)
                saving[0] += time.perf_counter() - start

        def steps(profile: str) -> None:
            for c in order:
                step(c, profile)

        def cycle() -> None:
            """A delta cycle, as Engine.run_cycle("delta") runs it (every connector has a directory)."""
            for profile in ("delta-import", "delta-sync", "export"):
                steps(profile)

        t_import = timed(lambda: steps("full-import"))
        t_sync = timed(lambda: steps("full-sync"))
        t_export = timed(lambda: steps("export"))
        initial = [s for s in engine.history]
        errors = sum(len(s.errors) for s in initial)
        staged = sum(s.counts.get("adds", 0) for s in initial if s.profile == "export")

        t_settle = timed(cycle)
        changed = churn(pop, dirs)
        mark = len(engine.history)
        t_delta = timed(cycle)
        t_close = 0.0
        if store is not None:
            t_close = timed(store.close)  # the last saves commit
            saving[0] += t_close
        state_mib = state_path.stat().st_size / 2**20 if state_path is not None else 0.0
        engine.close()  # the helper process leaves (its peak RSS is then among the children's)
    delta_steps = engine.history[mark:]
    delta_errors = sum(len(s.errors) for s in delta_steps)
    delta_exported = sum(sum(v for k, v in s.counts.items() if k in ("adds", "updates", "deletes", "renames")) for s in delta_steps if s.profile == "export")

    full_cycle = t_import + t_sync + t_export
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {
        "users": args.users,
        "objects": objects,
        "metaverse_objects": len(engine.mv),
        "full_import_s": round(t_import, 3),
        "full_sync_s": round(t_sync, 3),
        "export_s": round(t_export, 3),
        "objects_per_s": round(objects / (t_import + t_sync), 1),
        "initial_errors": errors,
        "exported_adds": staged,
        "settle_cycle_s": round(t_settle, 3),
        "churned_people": changed,
        "delta_cycle_s": round(t_delta, 3),
        "delta_exported_changes": delta_exported,
        "delta_errors": delta_errors,
        "delta_fraction_of_full": round(t_delta / full_cycle, 4),
        "peak_rss_mib": round(rss_mib, 1),
        "helper": not args.no_helper,
        "children_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
    }
    total = t_import + t_sync + t_export + t_settle + t_delta + t_close
    result["total_s"] = round(total, 3)
    ratio = 0.0
    if store is not None:
        result["state_save_s"] = round(saving[0], 3)
        in_memory = in_memory_run(args.users, args.seed, args.no_helper)  # after reading the writers' RSS
        ratio = total / in_memory["total_s"]
        result["in_memory_total_s"] = in_memory["total_s"]
        result["in_memory_objects_per_s"] = in_memory["objects_per_s"]
        result["state_cost_vs_in_memory"] = round(ratio, 3)
        result["state_file_mib"] = round(state_mib, 1)
    print(
        f"{objects} objects: full import {t_import:.1f}s + full sync {t_sync:.1f}s "
        f"({result['objects_per_s']:.0f} objects/s), export {t_export:.1f}s; "
        f"delta cycle after 1% churn {t_delta:.2f}s ({100 * t_delta / full_cycle:.2f}% of the full cycle); "
        f"peak RSS {rss_mib:.0f} MiB"
        + (f"; with the state saved after every step the run took {total:.1f}s, {ratio:.2f}x the {result.get('in_memory_total_s', 0):.1f}s of the run without (the engine spent {saving[0]:.1f}s in saves)" if store else "")
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
