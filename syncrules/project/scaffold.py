"""``syncrules init``: write a small project that checks clean and previews something useful."""

from __future__ import annotations

from pathlib import Path

import click


def _template(name: str) -> str:
    # The templates are package files (shipped in the wheel with the code).
    return (Path(__file__).resolve().parent / "template" / name).read_text(encoding="utf-8")


def scaffold(directory: str) -> int:
    root = Path(directory)
    if root.exists() and any(root.iterdir()):
        click.echo(f"error: {directory} exists and is not empty; choose a new directory", err=True)
        return 2
    (root / "fixtures").mkdir(parents=True, exist_ok=True)
    (root / "rules.sync").write_text(_template("rules.sync.txt"), encoding="utf-8")
    (root / "syncrules.toml").write_text(_template("syncrules.toml.txt").replace("{name}", root.resolve().name), encoding="utf-8")
    (root / "fixtures" / "hr.csv").write_text(_template("hr.csv.txt"), encoding="utf-8")
    click.echo(f"Created {directory}: rules.sync, syncrules.toml, fixtures/hr.csv")
    click.echo(f"Next: syncrules check {directory} && syncrules run {directory}")
    return 0
