"""Properties of the sync engine over generated directories and rule sets (hypothesis).

Each example builds a small forest (users with departments, titles, managers and proxy
addresses) and a rule set assembled from optional rules (precedence fall-through, AuthoritativeNull,
merged proxyAddresses, scoping out of the join rule, outbound filtering), then checks:

* the order in which a full import reads the directory does not change the result;
* a second full synchronization without changes stages nothing new;
* export followed by a confirming import leaves no pending export and an empty export memory;
* delta import + delta synchronization after random changes gives the same metaverse and pending
  exports as full import + full synchronization from scratch on the final data;
* after every step, no metaverse object is without a link and links agree both ways (so no
  connector-space object links to two metaverse objects).

Metaverse and connector-space identifiers differ between engines, so results are compared in a
normalized form: objects by their DNs, references by the DN of the referenced object.
"""

from __future__ import annotations

import functools
import random
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncrules.compiler import compile_text
from syncrules.engine import Engine, EngineOptions, ImportRecord, MemoryDirectory
from syncrules.ir import nodes as ir
from tests.conformance.sync.runner import check_invariants

SCHEMA = """
metaverse {
  object person {
    sourceAnchor   string indexed
    accountName    string
    displayName    string
    department     string
    title          string
    manager        reference
    proxyAddresses string multi
    cloudFiltered  boolean
  }
}
connector "ad" {
  kind active-directory
  anchor objectGUID
  object user {
    objectGUID       string
    sAMAccountName   string
    displayName      string
    department       string
    title            string
    adminDescription string
    manager          reference
    proxyAddresses   string multi
  }
}
connector "aad" {
  kind entra-id
  anchor cloudAnchor
  object user {
    cloudAnchor    string
    sourceAnchor   string required
    displayName    string
    department     string
    manager        reference
    proxyAddresses string multi
  }
}
"""

JOIN = """
rule "In from AD - User Join" {
  inbound from "ad" user to person
  link provision
  precedence 100
  %SCOPE%
  join { objectGUID = sourceAnchor }
  flow sourceAnchor <- objectGUID
  flow accountName <- sAMAccountName
  flow displayName <- IIF(IsPresent([displayName]), [displayName], NULL)
  flow department <- department
  flow title <- title
  flow manager <- manager
  flow proxyAddresses <- proxyAddresses %MERGE%
}
"""
OPTIONAL = {
    "common": """
rule "In from AD - User Common" {
  inbound from "ad" user to person
  precedence 104
  flow displayName <- [sAMAccountName] & " (account)"
  flow proxyAddresses <- "smtp:" & [sAMAccountName] & "@routing.example" %MERGE%
}
""",
    "hide": """
rule "Contoso - Hide department" {
  inbound from "ad" user to person
  precedence 50
  scope { title EQUAL "Secret" }
  flow department <- AuthoritativeNull
}
""",
    "filter": """
rule "Contoso - NoSync" {
  inbound from "ad" user to person
  precedence 40
  scope { title EQUAL "NoSync" }
  flow cloudFiltered <- const "True"
}
""",
}
OUTBOUND = """
rule "Out to AAD - User Join" {
  outbound from person to "aad" user
  link provision
  precedence 200
  scope { cloudFiltered NOTEQUAL "True" }
  join { sourceAnchor = sourceAnchor }
  flow dn <- "CN=" & [sourceAnchor] & ",OU=Cloud"
  flow sourceAnchor <- sourceAnchor
  flow displayName <- displayName
  flow department <- department
  flow manager <- manager
  flow proxyAddresses <- proxyAddresses
}
"""


@functools.cache
def config_for(options: tuple[bool, ...]) -> ir.Config:
    """Compile (once) the rule set selected by ``options``: scoped join, merge, common, hide, filter."""
    scoped, merge, common, hide, filtered = options
    text = SCHEMA + JOIN.replace("%SCOPE%", 'scope { adminDescription NOTSTARTSWITH "User_" }' if scoped else "")
    if common:
        text += OPTIONAL["common"]
    if hide:
        text += OPTIONAL["hide"]
    if filtered:
        text += OPTIONAL["filter"]
    text += OUTBOUND
    # Without the common rule a lone merge flow still de-duplicates the one forest's values.
    text = text.replace("%MERGE%", "merge-case-insensitive" if merge else "")
    result = compile_text(text, "<properties>")
    assert not result.has_errors, [d.message for d in result.diagnostics if d.severity >= 3]
    assert result.config is not None
    return result.config


def user_dn(i: int) -> str:
    return f"CN=User{i},OU=Users,DC=contoso,DC=com"


DEPARTMENTS = ["Sales", "IT", None]
TITLES = ["Clerk", "Secret", "NoSync", None]


@st.composite
def users(draw: Any, count: int | None = None) -> dict[int, dict[str, Any]]:
    n = draw(st.integers(0, 10)) if count is None else count
    out: dict[int, dict[str, Any]] = {}
    for i in range(n):
        out[i] = user_attrs(draw, i, n)
    return out


def user_attrs(draw: Any, i: int, n: int) -> dict[str, Any]:
    attrs: dict[str, Any] = {"objectGUID": f"g{i}", "sAMAccountName": f"user{i}"}
    if draw(st.booleans()):
        attrs["displayName"] = f"User {i}"
    department = draw(st.sampled_from(DEPARTMENTS))
    if department:
        attrs["department"] = department
    title = draw(st.sampled_from(TITLES))
    if title:
        attrs["title"] = title
    if draw(st.integers(0, 4)) == 0:
        attrs["adminDescription"] = "User_hidden"
    manager = draw(st.integers(-1, n + 1))  # -1: none; >= n: someone not in the directory
    if manager >= 0 and manager != i:
        attrs["manager"] = user_dn(manager)
    addresses = draw(st.lists(st.sampled_from([f"SMTP:user{i}@contoso.com", f"smtp:USER{i}@contoso.com", "smtp:shared@contoso.com"]), max_size=3, unique=True))
    if addresses:
        attrs["proxyAddresses"] = addresses
    return attrs


rule_options = st.tuples(st.booleans(), st.booleans(), st.booleans(), st.booleans(), st.booleans())


class ShuffledDirectory(MemoryDirectory):
    """A directory whose full import returns its objects in a given order."""

    def __init__(self, name: str, seed: int) -> None:
        super().__init__(name)
        self.seed = seed

    def read_all(self) -> list[ImportRecord]:  # type: ignore[override]
        records = list(super().read_all())
        random.Random(self.seed).shuffle(records)
        return records


def build(options: tuple[bool, ...], people: dict[int, dict[str, Any]], seed: int | None = None) -> tuple[Engine, dict[str, MemoryDirectory]]:
    ad: MemoryDirectory = ShuffledDirectory("ad", seed) if seed is not None else MemoryDirectory("ad")
    for i, attrs in sorted(people.items()):
        ad.add(user_dn(i), "user", dict(attrs), anchor=f"a{i}")
    dirs = {"ad": ad, "aad": MemoryDirectory("aad")}
    return Engine(config_for(options), dict(dirs), EngineOptions(deletion_threshold=None)), dirs


def cycle(engine: Engine, kind: str, export: bool = False) -> None:
    for step in engine.run_cycle(kind, export=export):
        assert not step.errors, [(e.code, e.dn, e.message) for e in step.errors]
        check_invariants(engine, f"{step.profile}@{step.connector}")


def _norm(engine: Engine, value: Any, side: str) -> Any:
    if isinstance(value, list):
        return tuple(sorted(_norm(engine, v, side) for v in value))
    if side == "mv" and value.__class__.__name__ == "Ref":
        target = engine.mv.objects.get(str(value))
        if target is None:
            return ("dangling",)
        return ("ref", tuple(sorted(_link_names(engine, target))))
    if value.__class__.__name__ == "Ref":
        return ("dn", str(value).lower())
    return value


def _link_names(engine: Engine, mv: Any) -> list[tuple[str, str]]:
    return [(c, engine.spaces[c].objects[g].dn.lower()) for c, g in mv.links.items()]


def snapshot(engine: Engine) -> tuple[Any, Any]:
    """The metaverse and the pending exports, independent of generated identifiers."""
    metaverse = sorted(
        (
            tuple(sorted(_link_names(engine, mv))),
            mv.object_type,
            tuple(sorted((k, _norm(engine, v, "mv")) for k, v in mv.attrs.items())),
        )
        for mv in engine.mv
    )
    exports = []
    for connector, space in engine.spaces.items():
        for obj in space:
            pe = obj.pending_export
            if pe is not None:
                changes = tuple(sorted((k, _norm(engine, new, "cs")) for k, (_, new) in pe.changes.items()))
                exports.append((connector, pe.dn.lower(), pe.operation, pe.new_dn, changes))
    return metaverse, sorted(exports, key=repr)


SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@SETTINGS
@given(rule_options, users(), st.integers(0, 1000))
def test_import_order_does_not_change_the_result(options: tuple[bool, ...], people: dict[int, dict[str, Any]], seed: int) -> None:
    first, _ = build(options, people, seed)
    second, _ = build(options, people, seed + 1)
    cycle(first, "initial")
    cycle(second, "initial")
    assert snapshot(first) == snapshot(second)


@SETTINGS
@given(rule_options, users())
def test_second_full_sync_stages_nothing_new(options: tuple[bool, ...], people: dict[int, dict[str, Any]]) -> None:
    engine, _ = build(options, people)
    cycle(engine, "initial")
    before = snapshot(engine)
    for connector in engine.cc.connector_order:
        engine.run_step(connector, "full-sync")
    assert snapshot(engine) == before
    # And once everything is exported and confirmed, a full synchronization stages nothing.
    cycle(engine, "delta", export=True)
    cycle(engine, "delta")
    for connector in engine.cc.connector_order:
        engine.run_step(connector, "full-sync")
    assert all(o.pending_export is None for space in engine.spaces.values() for o in space)


@SETTINGS
@given(rule_options, users())
def test_export_then_confirming_import_leaves_nothing_pending(options: tuple[bool, ...], people: dict[int, dict[str, Any]]) -> None:
    engine, _ = build(options, people)
    cycle(engine, "initial", export=True)
    cycle(engine, "delta")
    for space in engine.spaces.values():
        for obj in space:
            assert obj.pending_export is None, (obj, obj.pending_export)
            assert obj.export_memory == {}, (obj, obj.export_memory)


@st.composite
def changes(draw: Any, people: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any] | None]:
    """The final directory: some people changed, some deleted (None), some added."""
    final: dict[int, dict[str, Any] | None] = {}
    n = len(people) + 3
    for i in sorted(people):
        what = draw(st.sampled_from(["keep", "keep", "modify", "delete"]))
        if what == "modify":
            attrs = user_attrs(draw, i, n)
            final[i] = attrs
        elif what == "delete":
            final[i] = None
    for i in range(len(people), len(people) + draw(st.integers(0, 3))):
        final[i] = user_attrs(draw, i, n)
    return final


@SETTINGS
@given(rule_options, st.data())
def test_delta_equals_full_from_scratch(options: tuple[bool, ...], data: st.DataObject) -> None:
    people = data.draw(users())
    final_changes = data.draw(changes(people))
    engine, dirs = build(options, people)
    cycle(engine, "initial")
    ad = dirs["ad"]
    final = dict(people)
    for i, attrs in sorted(final_changes.items()):
        if attrs is None:
            ad.delete(user_dn(i))
            del final[i]
        elif i in people:
            full = {k: attrs.get(k) for k in set(people[i]) | set(attrs)}
            ad.modify(user_dn(i), full)
            final[i] = attrs
        else:
            ad.add(user_dn(i), "user", dict(attrs), anchor=f"a{i}")
            final[i] = attrs
    cycle(engine, "delta")
    scratch, _ = build(options, final)
    cycle(scratch, "initial")
    assert snapshot(engine) == snapshot(scratch)
