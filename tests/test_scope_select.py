"""Scope selection (syncrules.engine.plans.ScopeSet) decides the common clauses inline, in
generated code (syncrules.engine.scope.clause_source), and must agree with the clause predicates
(CompiledScope.matches) for every operator and every kind of value an object may hold."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from syncrules.engine.compiled import CompiledRule
from syncrules.engine.plans import ScopeSet
from syncrules.engine.scope import CompiledScope
from syncrules.ir import nodes as ir
from syncrules.runtime.values import Ref

OPERATORS = [
    "EQUAL", "NOTEQUAL", "LESSTHAN", "LESSTHAN_OR_EQUAL", "GREATERTHAN", "GREATERTHAN_OR_EQUAL",
    "CONTAINS", "NOTCONTAINS", "STARTSWITH", "NOTSTARTSWITH", "ENDSWITH", "NOTENDSWITH",
    "ISNULL", "ISNOTNULL", "ISIN", "ISNOTIN", "ISBITSET", "ISBITNOTSET", "ISMEMBEROF", "ISNOTMEMBEROF",
]  # fmt: skip

texts = st.sampled_from(["", "True", "TRUE", "false", "User_", "user_x", "2", "&H2", "10", " 7 ", "Ab", "%P%", "x%P%"])
scalars = st.one_of(
    st.none(),
    texts,
    st.text(max_size=6),
    st.booleans(),
    st.integers(-5, 20),
    st.binary(max_size=3),
    texts.map(Ref),
)
values = st.one_of(scalars, st.lists(scalars, max_size=3))


def _rule(*clauses: ir.ScopeClause) -> CompiledRule:
    """A rule with these scoping clauses (one group) and nothing else."""
    rule = ir.Rule(
        "r", None, None, None, "inbound", "AD", "user", "person", "join", 100, 100, None, None, False, False, None, (tuple(clauses),), (), ()
    )
    return CompiledRule(rule, 0, CompiledScope((tuple(clauses),)), [], ())


@settings(max_examples=600, deadline=None)
@given(
    operator=st.sampled_from(OPERATORS),
    attribute=st.sampled_from(["a", "dn", "A-b"]),
    wanted=st.one_of(st.none(), texts),
    value=values,
    params=st.sampled_from([{}, {"P": "User"}, {"P": "2"}]),
    member=st.booleans(),
)
def test_inline_clauses_agree_with_the_predicates(
    operator: str, attribute: str, wanted: str | None, value: Any, params: dict[str, str], member: bool
) -> None:
    clause = ir.ScopeClause(attribute, operator, wanted)
    rule = _rule(clause)
    scopes = ScopeSet([rule])
    attrs = {} if value is None else {attribute: value}
    dn = value if isinstance(value, str) else "CN=x"

    def member_of(_dn: str) -> bool:
        return member

    expected = rule.scope.matches(attrs, dn, params, member_of)
    assert scopes.select(attrs, dn, params, member_of) == ([rule] if expected else [])


def test_clauses_shared_by_rules_are_decided_once_per_object() -> None:
    shared = ir.ScopeClause("cloudMastered", "NOTEQUAL", "True")
    first = _rule(shared)
    second = _rule(shared, ir.ScopeClause("kind", "EQUAL", "User"))
    scopes = ScopeSet([first, second])
    assert scopes.select({"kind": "user"}, "", {}, lambda _dn: False) == [first, second]
    assert scopes.select({"kind": "user", "cloudMastered": "TRUE"}, "", {}, lambda _dn: False) == []
    assert scopes.select({"kind": "contact", "cloudMastered": False}, "", {}, lambda _dn: False) == [first]
