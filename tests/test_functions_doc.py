"""docs/functions.md is generated from the catalogue, and the catalogue's examples are true."""

from __future__ import annotations

import pytest

from syncrules.catalogue import load_catalogue
from syncrules.docs_gen import DOCS_PATH, render_functions_md
from tests.conformance.encoding import decode_expected, encode, same
from tests.conformance.runner import run

EXAMPLES = [(decl.name, ex) for decl in load_catalogue().values() for ex in decl.examples]


def test_functions_md_is_up_to_date() -> None:
    assert DOCS_PATH.read_text(encoding="utf-8") == render_functions_md(), (
        "docs/functions.md is stale; run: python -m syncrules.docs_gen"
    )


def test_rendering_is_deterministic() -> None:
    assert render_functions_md() == render_functions_md()


def test_every_function_is_documented() -> None:
    undocumented = [d.name for d in load_catalogue().values() if not d.doc or not d.nulls]
    assert not undocumented


def test_page_lists_every_signature() -> None:
    text = render_functions_md()
    for decl in load_catalogue().values():
        assert f"### {decl.name}\n" in text
        for overload in decl.overloads:
            assert overload.signature(decl.name) in text


@pytest.mark.parametrize(("name", "example"), EXAMPLES, ids=[f"{n}:{e['expr']}" for n, e in EXAMPLES])
def test_catalogue_example_holds(name: str, example: dict[str, object]) -> None:
    assert name in str(example["expr"])
    result = run(str(example["expr"]), example.get("attrs"))  # type: ignore[arg-type]
    assert same(result, decode_expected(example["value"])), f"got {encode(result)!r}"
