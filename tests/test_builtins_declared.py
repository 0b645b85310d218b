"""Declared <=> implemented: the catalogue and the built-in implementations describe the same set.

Every catalogue function has an implementation for every overload arity, and nothing is implemented
that the catalogue does not declare (which would be unreachable from the language and undocumented).
"""

from __future__ import annotations

from syncrules.builtins._common import VARIADIC
from syncrules.builtins.registry import builtins, definitions
from syncrules.catalogue import load_catalogue


def test_every_declared_overload_is_implemented() -> None:
    impls = builtins()
    missing = []
    for name, decl in load_catalogue().items():
        entry = impls.get(name)
        if entry is None:
            missing.append(name)
            continue
        for index, overload in enumerate(decl.overloads):
            arity = len(overload.params)
            try:
                impl = entry.resolve(arity, index)
            except KeyError:
                missing.append(f"{name}/{arity}")
                continue
            assert impl.arity in (arity, VARIADIC)
    assert not missing, f"declared but not implemented: {missing}"


def test_every_implementation_is_declared() -> None:
    catalogue = load_catalogue()
    undeclared = []
    for d in definitions():
        decl = catalogue.get(d.name)
        if decl is None:
            undeclared.append(d.name)
        elif d.arity == VARIADIC:
            if decl.variadic is None:
                undeclared.append(f"{d.name}/variadic")
        elif d.overload is not None:
            if d.overload >= len(decl.overloads) or len(decl.overloads[d.overload].params) != d.arity:
                undeclared.append(f"{d.name}#overload{d.overload}")
        elif d.arity not in decl.arities:
            undeclared.append(f"{d.name}/{d.arity}")
    assert not undeclared, f"implemented but not declared: {undeclared}"


def test_variadic_switch_accepts_any_even_arity() -> None:
    entry = builtins()["Switch"]
    for arity in (2, 4, 6, 10):
        assert entry.resolve(arity).special


def test_context_functions_are_marked_as_such() -> None:
    """Now/Guid/RandomNum/ImportedValue/ValueCount must read the context, never be folded."""
    impls = builtins()
    for name in ("Now", "Guid", "RandomNum", "ImportedValue", "ValueCount"):
        for impl in impls[name].by_arity.values():
            assert impl.needs_ctx, name


def test_per_value_positions_follow_the_signatures() -> None:
    impls = builtins()
    assert impls["Trim"].resolve(1).per_value == (True,)
    assert impls["Contains"].resolve(2).per_value == (False, True)  # the attribute is whole
    assert impls["IsPresent"].resolve(1).per_value == (False,)  # var: the whole value
    assert impls["Join"].resolve(2).per_value == (False, True)
    assert impls["Split"].resolve(3).per_value == (True, True, True)
