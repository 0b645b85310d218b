"""Inbound plans (syncrules.engine.plans.InboundPlan) must give exactly what the interpreted
reference gives.

First-wins groups: targets that several update flows of one object's rules write. The plan
contributes such a group's values only up to the first one that stops precedence resolution (a
value or AuthoritativeNull), and the engine then takes that value without resolution when the
object is the metaverse object's only input. Both shortcuts are checked against the reference
engine (``_reuse`` off) over generated rule sets that mix values, NULL, AuthoritativeNull and
IgnoreThisFlow in every order, with and without a second connector whose contribution sorts
between the group's flows, through a full cycle and a delta cycle after a change: the metaverse
values, their lineage and the errors must be the same.

Parameter sets: a plan is generated per parameter set, with the absent-input results of its
expressions written into the code; partitions with the same shape share the compiled code.
"""

from __future__ import annotations

import functools
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncrules.compiler import compile_text
from syncrules.engine import Engine, EngineOptions, MemoryDirectory
from syncrules.engine.plans import InboundPlan
from syncrules.evaluate.context import EvalContext
from syncrules.ir import nodes as ir
from syncrules.runtime.values import IGNORE_THIS_FLOW

SCHEMA = """
metaverse {
  object person {
    sourceAnchor string indexed
    label        string
    tags         string multi
  }
}
connector "ad" {
  kind active-directory
  anchor objectGUID
  object user {
    objectGUID string
    x          string
    y          string
    t          string multi
  }
}
connector "hr" {
  kind generic
  anchor employeeID
  object person {
    employeeID string
    guid       string
    label      string
  }
}
"""

# What one flow of the group may give, depending on the object's data.
EXPRESSIONS = [
    "x",  # direct: a value or NULL
    "y",
    '[x] & "!"',  # always a value ("!" when x is NULL)
    "IIF(IsPresent([x]), [x], IgnoreThisFlow)",
    "IIF(IsPresent([y]), AuthoritativeNull, [x])",
    "IIF(IsPresent([y]), [y], IgnoreThisFlow)",
    "IgnoreThisFlow",
    "AuthoritativeNull",
    'IIF(IsPresent([x]), Error("x is not allowed"), NULL)',
]
MULTI = ["t", "IIF(IsPresent([t]), [t], IgnoreThisFlow)", "IIF(IsPresent([x]), AuthoritativeNull, [t])", "Split([y], \",\")"]


@functools.cache
def config_for(label: tuple[str, ...], tags: tuple[str, ...], hr_precedence: int | None) -> ir.Config:
    """Rules of precedence 10, 30, 50... each writing ``label`` (and ``tags``) with the given
    expressions; optionally an HR rule at ``hr_precedence`` writing ``label`` too."""
    text = SCHEMA + """
rule "In from AD - Join" {
  inbound from "ad" user to person
  link provision
  precedence 5
  join { objectGUID = sourceAnchor }
  flow sourceAnchor <- objectGUID
}
"""
    for i, (expr, multi) in enumerate(zip(label, tags, strict=True)):
        text += f"""
rule "In from AD - {i}" {{
  inbound from "ad" user to person
  precedence {10 + 20 * i}
  flow label <- {expr}
  flow tags <- {multi}
}}
"""
    if hr_precedence is not None:
        text += f"""
rule "In from HR" {{
  inbound from "hr" person to person
  link join
  precedence {hr_precedence}
  join {{ guid = sourceAnchor }}
  flow label <- IIF(IsPresent([label]), [label], IgnoreThisFlow)
}}
"""
    result = compile_text(text, "<first-wins>")
    assert not result.has_errors, [d.message for d in result.diagnostics if d.severity >= 3]
    assert result.config is not None
    return result.config


def _person(draw: Any, i: int) -> dict[str, Any]:
    attrs: dict[str, Any] = {"objectGUID": f"g{i}"}
    for name, choices in (("x", ["a", None]), ("y", ["b,c", None]), ("t", [["T1", "T2"], None])):
        value = draw(st.sampled_from(choices))
        if value is not None:
            attrs[name] = value
    return attrs


def _outcome(engine: Engine) -> Any:
    people = []
    for mv in engine.mv:
        lineage = {k: (v.rule, v.connector) for k, v in mv.lineage.items()}
        people.append((mv.attrs.get("sourceAnchor"), sorted(mv.attrs.items(), key=repr), sorted(lineage.items())))
    errors = [(e.code, e.dn, e.rule, e.attribute) for step in engine.history for e in step.errors]
    return sorted(people, key=repr), errors


def _run(config: ir.Config, ad_people: list[dict[str, Any]], hr_people: list[dict[str, Any]], change: dict[str, Any], reuse: bool) -> list[Any]:
    ad, hr = MemoryDirectory("ad"), MemoryDirectory("hr")
    for i, attrs in enumerate(ad_people):
        ad.add(f"CN=P{i},DC=ad", "user", dict(attrs), anchor=f"a{i}")
    for i, attrs in enumerate(hr_people):
        hr.add(f"CN=E{i},DC=hr", "person", dict(attrs), anchor=f"e{i}")
    engine = Engine(config, {"ad": ad, "hr": hr}, EngineOptions(deletion_threshold=None))
    engine._reuse = reuse
    engine.run_cycle("initial", export=False)
    out = [_outcome(engine)]
    if ad_people:
        ad.modify("CN=P0,DC=ad", change)
        engine.run_cycle("delta", export=False)
        out.append(_outcome(engine))
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_first_wins_groups_resolve_as_the_reference(data: st.DataObject) -> None:
    width = data.draw(st.integers(2, 3))
    label = tuple(data.draw(st.sampled_from(EXPRESSIONS)) for _ in range(width))
    tags = tuple(data.draw(st.sampled_from(MULTI)) for _ in range(width))
    hr_precedence = data.draw(st.sampled_from([None, 1, 20, 40, 90]))
    config = config_for(label, tags, hr_precedence)
    count = data.draw(st.integers(1, 4))
    ad_people = [_person(data.draw, i) for i in range(count)]
    hr_people = []
    if hr_precedence is not None:
        for i in range(count):
            if data.draw(st.booleans()):
                person = {"employeeID": f"e{i}", "guid": f"g{i}"}
                if data.draw(st.booleans()):
                    person["label"] = f"hr{i}"
                hr_people.append(person)
    change = {name: data.draw(st.sampled_from(values)) for name, values in (("x", ["z", None]), ("y", ["q", None]))}
    fast = _run(config, ad_people, hr_people, change, reuse=True)
    slow = _run(config, ad_people, hr_people, change, reuse=False)
    assert fast == slow


def test_a_group_contributes_its_first_value_only() -> None:
    """The generated plan itself: behind an IgnoreThisFlow, the first value and nothing after it."""
    config = config_for(("IgnoreThisFlow", "x", "IIF(IsPresent([x]), [x] & \"!\", IgnoreThisFlow)"), ("t", "t", "t"), None)
    engine = Engine(config, {"ad": MemoryDirectory("ad"), "hr": MemoryDirectory("hr")}, EngineOptions())
    rules = [r for r in engine.cc.rules_by_name.values() if r.rule.direction == "inbound" and r.name.startswith("In from AD - ")]
    rules.sort(key=lambda r: r.rule.precedence)
    plan = InboundPlan(rules, 0)
    view = {"x": "a", "t": ["T1"]}
    items, solo_count, failed = plan.runner({})(view.get, EvalContext(view, {}), _no_failure)
    assert not failed
    pairs = list(zip(items[::2], items[1::2], strict=True))
    label = [(plan.slot_targets[k], v) for k, v in pairs if plan.slot_targets[k] == "label"]
    tags = [(plan.slot_targets[k], v) for k, v in pairs if plan.slot_targets[k] == "tags"]
    assert label == [("label", "a")]  # the IgnoreThisFlow before it and the value after it: left out
    assert tags == [("tags", ["T1"])]
    assert all(plan.solo[k] for k, _ in pairs if plan.slot_targets[k] in ("label", "tags"))
    # Sole writers' values come first: the label and the tags (and the join rule's sourceAnchor).
    assert {plan.slot_targets[k] for k, _ in pairs[:solo_count]} >= {"label", "tags"}
    # Without a value the group gives what its flows gave, for the engine to resolve.
    items, solo_count, _ = plan.runner({})({}.get, EvalContext({}, {}), _no_failure)
    label_items = [v for k, v in zip(items[::2], items[1::2], strict=True) if plan.slot_targets[k] == "label"]
    assert label_items == [IGNORE_THIS_FLOW, IGNORE_THIS_FLOW]
    assert all(plan.slot_targets[k] != "label" for k in items[0 : 2 * solo_count : 2])  # sentinels are resolved


def _no_failure(k: int, exc: Exception) -> None:
    raise AssertionError(f"slot {k} failed: {exc}")


PARTITIONED = """
metaverse {
  object person {
    sourceAnchor string indexed
    domain       string
    label        string
  }
}
connector "ad" {
  kind active-directory
  anchor objectGUID
  partition "DC=one,DC=example" {
    parameter Domain.FQDN = "one.example"
  }
  partition "DC=two,DC=example" {
    parameter Domain.FQDN = "two.example"
  }
  object user {
    objectGUID string
    x          string
  }
}
rule "In from AD" {
  inbound from "ad" user to person
  link provision
  precedence 10
  join { objectGUID = sourceAnchor }
  flow sourceAnchor <- objectGUID
  flow domain <- %Domain.FQDN%
  flow label <- IIF(IsPresent([x]), [x], "none in " & %Domain.FQDN%)
}
"""


def test_partitions_share_the_generated_code_with_their_own_parameters() -> None:
    """A plan is specialized per parameter set (absent results written into the code), but two
    partitions whose absent results have the same shape share one compilation, each with its
    own values."""
    result = compile_text(PARTITIONED, "<partitions>")
    assert result.config is not None and not result.has_errors
    outcomes = []
    for reuse in (True, False):
        ad = MemoryDirectory("ad")
        ad.add("CN=a,DC=one,DC=example", "user", {"objectGUID": "g1"}, anchor="a1")
        ad.add("CN=b,DC=two,DC=example", "user", {"objectGUID": "g2", "x": "given"}, anchor="a2")
        ad.add("CN=c,DC=two,DC=example", "user", {"objectGUID": "g3"}, anchor="a3")
        engine = Engine(result.config, {"ad": ad}, EngineOptions())
        engine._reuse = reuse
        engine.run_cycle("initial", export=False)
        outcomes.append(sorted((m.attrs["sourceAnchor"], m.attrs["domain"], m.attrs["label"]) for m in engine.mv))
        if reuse:
            plans = [p for p in engine._in_plans.values() if p._runs]
            assert len(plans) == 1 and len(plans[0]._runs) == 2 and len(plans[0]._codes) == 1
    assert outcomes[0] == [("g1", "one.example", "none in one.example"), ("g2", "two.example", "given"), ("g3", "two.example", "none in two.example")]
    assert outcomes[0] == outcomes[1]
