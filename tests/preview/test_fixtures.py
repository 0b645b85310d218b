"""Fixture formats: each loads into typed records, and every kind of misfit is a diagnostic with
file:line (golden text), never a traceback and never a half-imported fixture."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from syncrules.cli import main
from syncrules.compiler import compile_paths
from syncrules.diagnostics import DiagnosticSink
from syncrules.project.fixtures import load_fixture
from tests.conftest import check_golden

HERE = Path(__file__).parent
BAD = HERE / "bad"


@pytest.fixture(scope="module")
def hr():  # type: ignore[no-untyped-def]
    config = compile_paths([BAD / "schema.sync"]).config
    assert config is not None
    return config.connector("hr")


GOOD = {
    "good.json": '{"objects": [{"dn": "E1", "type": "worker", "attributes": {"employeeId": "E1", "name": "Ann", "grade": 7, "active": true, "photo": {"binary": "AAEC"}}}]}',
    "good.yaml": "objects:\n  - dn: E1\n    type: worker\n    attributes: {employeeId: E1, name: Ann, grade: 7, active: true}\n",
    "good.csv": "employeeId,name,grade,active\nE1,Ann,7,TRUE\n",
    "good.ldif": "version: 1\n\ndn: CN=E1,O=hr\nobjectClass: worker\nemployeeId: E1\nname: Ann\ngrade: 7\nactive: TRUE\nphoto:: AAEC\n",
}


@pytest.mark.parametrize("name", sorted(GOOD))
def test_each_format_loads_typed_values(name: str, tmp_path: Path, hr) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / name
    path.write_text(GOOD[name], encoding="utf-8")
    sink = DiagnosticSink()
    fixture = load_fixture(path, hr, sink)
    assert fixture is not None, [d.message for d in sink.items]
    (record,) = fixture.records
    assert record.anchor == "E1" and record.object_type == "worker"
    assert record.attrs["grade"] == 7 and record.attrs["active"] is True and record.attrs["name"] == "Ann"
    if "photo" in record.attrs:
        assert record.attrs["photo"] == b"\x00\x01\x02"


def test_ldif_change_records(tmp_path: Path, hr) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "changes.ldif"
    path.write_text(
        "dn: E1\nchangetype: modify\nreplace: name\nname: Annie\n-\nadd: grade\ngrade: 8\n-\n\n"
        "dn: E2\nchangetype: delete\n\n"
        "dn: E3\nchangetype: modrdn\nnewrdn: E4\ndeleteoldrdn: 1\n\n"
        "dn: E5\nchangetype: add\nobjectClass: worker\nemployeeId: E5\n",
        encoding="utf-8",
    )
    sink = DiagnosticSink()
    fixture = load_fixture(path, hr, sink)
    assert fixture is not None, [d.message for d in sink.items]
    ops = [(c.operation, c.dn) for c in fixture.changes]
    assert ops == [("modify", "E1"), ("delete", "E2"), ("rename", "E3"), ("add", "E5")]
    modify = fixture.changes[0].attrs["__ops__"]
    assert [(op, name) for op, name, _ in modify] == [("replace", "name"), ("add", "grade")]
    assert fixture.changes[2].new_dn == "E4"


BROKEN = {
    "unknown-type.json": '{"objects": [\n  {"dn": "E1", "type": "robot", "attributes": {"employeeId": "E1"}}\n]}\n',
    "wrong-type.yaml": "objects:\n  - dn: E1\n    type: worker\n    attributes:\n      employeeId: E1\n      grade: seven\n",
    "missing-anchor.csv": "employeeId,name\n,Ann\n",
    "duplicate-dn.ldif": "dn: E1\nobjectClass: worker\nemployeeId: E1\n\ndn: E1\nobjectClass: worker\nemployeeId: E2\n",
    "malformed.ldif": "dn: E1\nobjectClass: worker\nemployeeId: E1\nthis line has no colon\n",
    "record-without-dn.ldif": "dn: E1\nobjectClass: worker\nemployeeId: E1\n\n# the second\nobjectClass: worker\nemployeeId: E2\n",
    "malformed.json": '{"objects": [\n  {"dn": "E1", "type": "worker",,}\n]}\n',
    "bad-binary.json": '{"objects": [{"dn": "E1", "type": "worker", "attributes": {"employeeId": "E1", "photo": {"binary": "not base64!"}}}]}\n',
    "too-many-fields.csv": "employeeId,name\nE1,Ann,extra\n",
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_fixture_is_a_diagnostic(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "proj"
    (project / "fixtures").mkdir(parents=True)
    shutil.copy(BAD / "schema.sync", project / "schema.sync")
    (project / "fixtures" / name).write_text(BROKEN[name], encoding="utf-8")
    (project / "syncrules.toml").write_text(f'[project]\nname = "bad"\n\n[connectors.hr]\nfixture = "fixtures/{name}"\n', encoding="utf-8")
    monkeypatch.chdir(project)
    result = CliRunner().invoke(main, ["run", ".", "--color", "never"])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert f"fixtures/{name}:" in result.output
    check_golden(BAD / (name + ".expected"), result.output)


def test_bad_project_file_points_at_the_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(BAD / "schema.sync", tmp_path / "schema.sync")
    (tmp_path / "syncrules.toml").write_text('[project]\nname = "x"\n\n[options]\nstaging = "yes"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["run", "."])
    assert result.exit_code == 1
    assert "syncrules.toml:5:" in result.output and "staging" in result.output
    (tmp_path / "syncrules.toml").write_text("[project\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["run", "."])
    assert result.exit_code == 1 and "syncrules.toml:1:" in result.output
