"""The scope analysis: satisfiability, overlap, implication and tautology of scoping filters."""

from __future__ import annotations

import pytest

from syncrules.ir import nodes as ir
from syncrules.lint import scope as sc

SPACE_ATTRS = {
    "employeeType": sc.AttrInfo("string"),
    "department": sc.AttrInfo("string"),
    "uac": sc.AttrInfo("number"),
    "count": sc.AttrInfo("number"),
    "critical": sc.AttrInfo("boolean"),
    "proxy": sc.AttrInfo("string", multi=True),
    "when": sc.AttrInfo("datetime"),
}


def space() -> sc.Space:
    return sc.Space(dict(SPACE_ATTRS))


def group(text: str) -> tuple[sc.Literal, ...]:
    """`attr OP value; attr OP value` → literals (value may be omitted for ISNULL/ISNOTNULL)."""
    clauses = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        bits = part.split(" ", 2)
        if bits[0] in ("ISMEMBEROF", "ISNOTMEMBEROF"):
            clauses.append(ir.ScopeClause(None, bits[0], bits[1]))
        else:
            clauses.append(ir.ScopeClause(bits[0], bits[1], bits[2] if len(bits) > 2 else None))
    return space().group(clauses)


def scope(*groups: str) -> sc.Scope:
    return tuple(group(g) for g in groups)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("employeeType EQUAL Staff; employeeType EQUAL Contractor", sc.UNSAT),
        ("employeeType EQUAL Staff; employeeType EQUAL staff", sc.SAT),  # comparisons ignore case
        ("employeeType EQUAL Staff; employeeType NOTEQUAL Staff", sc.UNSAT),
        ("employeeType NOTEQUAL Staff; employeeType NOTEQUAL Intern", sc.SAT),
        ("department ISNULL; department STARTSWITH IT", sc.UNSAT),
        ("department ISNULL; department NOTSTARTSWITH IT", sc.SAT),  # negations hold when absent
        ("department STARTSWITH IT; department NOTSTARTSWITH I", sc.UNSAT),
        ("department STARTSWITH IT; department NOTSTARTSWITH ITX", sc.SAT),
        ("department STARTSWITH ab; department STARTSWITH ac", sc.UNSAT),
        ("department ENDSWITH com; department NOTCONTAINS .com", sc.SAT),
        ("department ENDSWITH .com; department NOTCONTAINS com", sc.UNSAT),
        ("department CONTAINS x; department STARTSWITH a; department ENDSWITH z", sc.SAT),
        ("department EQUAL abc; department STARTSWITH ab; department ENDSWITH bc", sc.SAT),
        ("department EQUAL abc; department CONTAINS d", sc.UNSAT),
        ("uac ISBITSET 2; uac ISBITNOTSET 2", sc.UNSAT),
        ("uac ISBITSET 514; uac ISBITNOTSET 2", sc.UNSAT),
        ("uac ISBITSET 512; uac ISBITNOTSET 2", sc.SAT),
        ("uac ISBITNOTSET 0", sc.SAT),  # absent satisfies a negated operator
        ("uac ISNOTNULL; uac ISBITNOTSET 0", sc.UNSAT),
        ("count GREATERTHAN 100; count LESSTHAN_OR_EQUAL 50", sc.UNSAT),
        ("count GREATERTHAN 10; count LESSTHAN 12", sc.SAT),
        ("count GREATERTHAN 10; count LESSTHAN 11", sc.UNSAT),
        ("count GREATERTHAN 10; count LESSTHAN 12; count NOTEQUAL 11", sc.UNSAT),
        ("count GREATERTHAN 10; count LESSTHAN 13; count NOTEQUAL 11", sc.SAT),
        ("department GREATERTHAN b; department STARTSWITH a", sc.UNKNOWN),  # true answer UNSAT: not proved
        ("count EQUAL &H10; count EQUAL 16", sc.SAT),
        ("count EQUAL 5; count GREATERTHAN 7", sc.UNSAT),
        ("critical EQUAL TRUE; critical NOTEQUAL True", sc.UNSAT),
        ("critical EQUAL True; critical EQUAL False", sc.UNSAT),
        ("critical NOTEQUAL True; critical NOTEQUAL False", sc.SAT),  # absent
        ("critical ISNOTNULL; critical NOTEQUAL True; critical NOTEQUAL False", sc.UNSAT),
        ("proxy ISIN a; proxy ISIN b", sc.SAT),  # multi-valued: different values
        ("proxy ISIN a; proxy ISNOTIN a", sc.UNSAT),
        ("proxy ISIN smtp:a; proxy NOTSTARTSWITH smtp", sc.UNSAT),
        ("ISMEMBEROF CN=G; ISNOTMEMBEROF CN=G", sc.UNSAT),
        ("ISMEMBEROF CN=G; ISNOTMEMBEROF CN=H", sc.SAT),
        ("department EQUAL %Domain.FQDN%; department NOTEQUAL %Domain.FQDN%", sc.UNSAT),
        ("department EQUAL %Domain.FQDN%; department EQUAL x", sc.UNKNOWN),
        ("department EQUAL %Domain.FQDN%", sc.SAT),
        ("department LESSTHAN b; department GREATERTHAN c", sc.UNSAT),
    ],
)
def test_group_satisfiability(text: str, expected: sc.Tri) -> None:
    assert space().sat(group(text)) is expected


def test_overlap_of_disjoint_and_overlapping_filters() -> None:
    s = space()
    staff, contractor = scope("employeeType EQUAL Staff"), scope("employeeType EQUAL Contractor")
    assert sc.overlap(s, staff, contractor) is sc.UNSAT
    assert sc.overlap(s, staff, scope("department EQUAL IT")) is sc.SAT
    assert sc.overlap(s, sc.TRUE_SCOPE, staff) is sc.SAT
    # OR of groups: overlapping as soon as one pair of groups can meet.
    assert sc.overlap(s, scope("employeeType EQUAL A", "employeeType EQUAL B"), scope("employeeType EQUAL B")) is sc.SAT


def test_implication() -> None:
    s = space()
    assert sc.implies(s, scope("employeeType EQUAL Staff; department ISNOTNULL"), scope("employeeType EQUAL Staff"))
    assert sc.implies(s, scope("employeeType EQUAL Staff"), sc.TRUE_SCOPE)
    assert sc.implies(s, scope("count GREATERTHAN 10"), scope("count GREATERTHAN 5"))
    assert sc.implies(s, scope("uac ISBITSET 514"), scope("uac ISBITSET 2"))
    assert not sc.implies(s, sc.TRUE_SCOPE, scope("employeeType EQUAL Staff"))
    assert not sc.implies(s, scope("count GREATERTHAN 5"), scope("count GREATERTHAN 10"))
    # Every group of the narrow scope must fit in some group of the wide one.
    assert sc.implies(s, scope("employeeType EQUAL A", "employeeType EQUAL B"), scope("employeeType EQUAL A", "employeeType EQUAL B"))
    assert not sc.implies(s, scope("employeeType EQUAL A", "employeeType EQUAL C"), scope("employeeType EQUAL A"))


def test_tautology() -> None:
    s = space()
    assert sc.tautology(s, scope("department ISNULL", "department ISNOTNULL")) is sc.SAT
    assert sc.tautology(s, scope("employeeType EQUAL a", "employeeType NOTEQUAL a")) is sc.SAT
    assert sc.tautology(s, scope("critical EQUAL True", "critical NOTEQUAL True")) is sc.SAT
    assert sc.tautology(s, scope("count LESSTHAN 5", "count GREATERTHAN_OR_EQUAL 5", "count ISNULL")) is sc.SAT
    assert sc.tautology(s, scope("count LESSTHAN 5", "count GREATERTHAN_OR_EQUAL 5")) is sc.UNSAT  # absent count
    assert sc.tautology(s, scope("employeeType EQUAL a", "employeeType EQUAL b")) is sc.UNSAT
    assert sc.tautology(s, ((),)) is sc.SAT


def test_tautology_gives_up_on_huge_products() -> None:
    big = tuple(group("; ".join(f"department NOTEQUAL v{i}_{j}" for j in range(9))) for i in range(4))
    assert sc.tautology(space(), big) is sc.UNKNOWN


def test_negation_round_trips() -> None:
    for lit in group("department EQUAL a; department NOTSTARTSWITH b; uac ISBITNOTSET 2; department ISNULL; count LESSTHAN 3"):
        assert lit.negate().negate() == lit
        assert space().sat((lit, lit.negate())) is sc.UNSAT


def test_memo_makes_repeated_questions_cheap() -> None:
    s = space()
    g = group("employeeType EQUAL Staff; department STARTSWITH IT")
    assert s.sat(g) is sc.SAT
    assert frozenset(g) in s._memo
