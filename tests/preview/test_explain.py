"""`syncrules explain` golden tests on the Contoso example: a joined object, a projected one, one
out of scope, an attribute won by the second-highest precedence after a NULL, and an Error()."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from syncrules.cli import main
from tests.conftest import check_golden

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "contoso"
GOLDEN = Path(__file__).parent / "explain"
OU = "OU=Users,OU=CORP,DC=contoso,DC=com"

CASES = {
    "projected": ["--object", f"CN=Ada Lovelace 000,{OU}"],
    "out-of-scope": ["--object", f"CN=Donald Hopper 017,{OU}"],
    "null-fallthrough": ["--object", f"CN=Frances Dijkstra 042,{OU}"],
    "error": ["--object", f"CN=Alan Johnson 098,{OU}"],
    "joined": ["--connector", "AAD", "--apply-exports", "--object", "CN={6D61447152375973625A474733436738384567502B513D3D}"],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_explain_golden(case: str) -> None:
    result = CliRunner().invoke(main, ["explain", str(EXAMPLE), *CASES[case]])
    assert result.exit_code == 0, result.output
    check_golden(GOLDEN / f"{case}.txt", result.output)


def test_explain_story_details() -> None:
    def doc(args: list[str]) -> dict:  # type: ignore[type-arg]
        result = CliRunner().invoke(main, ["explain", str(EXAMPLE), "--format", "json", *args])
        assert result.exit_code == 0, result.output
        return json.loads(result.output)  # type: ignore[no-any-return]

    projected = doc(CASES["projected"])
    assert projected["link"]["how"] == "projected"
    # After the cycle, the first join group finds the person this object projected.
    assert projected["join"]["groups"][0]["candidates"] == [projected["link"]["mv_id"]]

    out = doc(CASES["out-of-scope"])
    assert out["metaverse"] is None
    common = next(r for r in out["inbound_rules"] if r["rule"] == "In from AD - User Join")
    assert not common["in_scope"] and any("adminDescription NOTSTARTSWITH" in f for f in common["failed"])

    fall = doc(CASES["null-fallthrough"])["metaverse"]["attributes"]["displayName"]
    assert fall["contributions"][0]["value"] is None  # the higher-precedence flow gave NULL
    assert fall["winner"] == fall["contributions"][1]["rule"]

    err = doc(CASES["error"])
    # The failing flow leaves the object as it was: not projected, its pending import kept for a retry.
    assert err["metaverse"] is None and err["object"]["pending_import"] == "add"
    assert err["errors"] and err["errors"][0]["message"] == "AccountName is not present"

    joined = doc(CASES["joined"])
    assert joined["object"]["state"] == "joined" and joined["link"]["how"] == "joined"


def test_explain_unknown_object_is_exit_1() -> None:
    result = CliRunner().invoke(main, ["explain", str(EXAMPLE), "--object", "CN=Nobody"])
    assert result.exit_code == 1
