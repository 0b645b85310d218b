"""The conformance suite: every case in functions/*.yaml, from source text to value.

Each case is parsed with the real parser, lowered (``lower_expression``), compiled and evaluated;
the result must equal the expected value *and* its kind (see ``encoding.same``), or the evaluation
must fail with the expected error, carrying a span inside the expression. Every case runs against
both expression backends (closures and generated Python), which must agree.
"""

from __future__ import annotations

import pytest

from syncrules.catalogue import load_catalogue
from syncrules.runtime.values import EvalError

from .encoding import decode_expected, encode, same
from .runner import BACKENDS, Case, load_cases, run_case

CASES = load_cases()
MIN_CASES_PER_FUNCTION = 5
MIN_CASES = 450


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(case: Case, backend: str) -> None:
    if case.error is not None:
        with pytest.raises(EvalError) as info:
            run_case(case, backend)  # type: ignore[arg-type]
        exc = info.value
        if "code" in case.error:
            assert exc.code == case.error["code"], f"{case.expr}: code {exc.code}, message {exc.message!r}"
        if "message" in case.error:
            assert case.error["message"] in exc.message, f"{case.expr}: message {exc.message!r}"
        span = getattr(exc, "span", None)
        assert span is not None, f"{case.expr}: the error carries no span"
        assert 0 <= span.start < span.end <= len(case.expr)
        return
    result = run_case(case, backend)  # type: ignore[arg-type]
    expected = decode_expected(case.expect)
    assert same(result, expected), f"{case.expr}: got {encode(result)!r}, expected {case.expect!r}"


def test_every_function_has_cases() -> None:
    counts: dict[str, int] = {}
    for case in CASES:
        counts[case.group] = counts.get(case.group, 0) + 1
    thin = {
        name: counts.get(name, 0) for name in load_catalogue() if counts.get(name, 0) < MIN_CASES_PER_FUNCTION
    }
    assert not thin, f"functions with fewer than {MIN_CASES_PER_FUNCTION} conformance cases: {thin}"


def test_enough_cases() -> None:
    assert len(CASES) >= MIN_CASES


def test_case_groups_are_known() -> None:
    """A case filed under a misspelt function name would silently not count for it."""
    operators = {"concatenation", "arithmetic", "comparison", "logic", "constants", "multivalued", "corpus"}
    unknown = {c.group for c in CASES} - set(load_catalogue()) - operators
    assert not unknown
