"""The ``syncrules`` command line.

Exit codes are decided here, once: 0 clean, 1 problems found in the user's input, 2 usage or
internal error. Heavy modules (Lark, the analyser) are imported inside commands so that
``syncrules --help`` and ``--version`` stay fast.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from syncrules import __version__

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2


class _Group(click.Group):
    """A group that turns unexpected exceptions into a short message and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, SystemExit):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        except RecursionError:
            click.echo("error[SR902]: input nested too deeply to process", err=True)
            ctx.exit(EXIT_USAGE)
        except Exception as exc:  # pragma: no cover - exercised through a fault-injection test
            click.echo(f"error[SR902] internal-error: {type(exc).__name__}: {exc}", err=True)
            click.echo("This is a bug in syncrules; please report it with the input that caused it.", err=True)
            ctx.exit(EXIT_USAGE)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="syncrules")
def main() -> None:
    """Write, check, format and preview identity-synchronization rules."""


def _colour(option: str | None) -> bool:
    if option == "always":
        return True
    if option == "never":
        return False
    return sys.stdout.isatty()


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif", "github"]), default="text", show_default=True)
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True)
@click.option("--select", multiple=True, metavar="RULES", help="Codes, names, categories or ALL (comma-separated or repeated); replaces [lint] select.")
@click.option("--ignore", multiple=True, metavar="RULES", help="Added to [lint] ignore.")
@click.option("--fail-on", type=click.Choice(["error", "warning", "info"]), default=None, help="Lowest severity that fails the check (default: [lint] fail-on, else error).")
def check(
    paths: tuple[str, ...], fmt: str, color: str, select: tuple[str, ...], ignore: tuple[str, ...], fail_on: str | None
) -> None:
    """Check rule files or project directories: compile diagnostics plus lint findings."""
    from syncrules.lint.command import run_check

    sys.exit(run_check(list(paths), fmt, list(select), list(ignore), fail_on, _colour(color)))


@main.command()
@click.argument("code", required=False)
def rules(code: str | None) -> None:
    """List the lint rules, or print one rule's documentation."""
    from syncrules.lint.command import run_rules

    sys.exit(run_rules(code))


@main.command(name="compile")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--emit", type=click.Choice(["ast", "ir", "python"]), default="ir", show_default=True)
def compile_cmd(paths: tuple[str, ...], emit: str) -> None:
    """Compile and print the AST or IR as JSON (or the generated Python for expressions)."""
    import json

    from syncrules.compiler import compile_paths
    from syncrules.diagnostics.render import render_text

    result = compile_paths(list(paths))
    if result.has_errors or result.config is None:
        click.echo(render_text(result.diagnostics, result.sources), err=True, nl=False)
        sys.exit(EXIT_FINDINGS)
    if emit == "ast":
        from syncrules.ast_json import module_to_json

        doc: Any = {"modules": [module_to_json(m) for m in result.modules]}
    elif emit == "ir":
        from syncrules.ir.nodes import to_json

        cfg = result.config
        doc = {
            "version": 1,
            "metaverse": to_json(cfg.metaverse),
            "connectors": to_json(cfg.connectors),
            "parameters": [{"name": n, "value": v} for n, v in cfg.parameters],
            "rules": to_json(cfg.rules),
        }
    else:
        from syncrules.evaluate.pygen import emit_python

        click.echo(emit_python(result.config), nl=False)
        sys.exit(EXIT_OK)
    click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
    sys.exit(EXIT_OK)


@main.command(name="eval")
@click.argument("expression")
@click.option("--attr", "attrs", multiple=True, metavar="NAME=VALUE", help="An attribute value (text); repeat a name for a multi-valued attribute.")
@click.option("--object", "object_file", type=click.Path(exists=True, dir_okay=False), help='A typed object: {"attributes": {...}} (see docs/expressions.md).')
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="A %Parameter% value.")
@click.option("--now", default=None, metavar="ISO-8601", help="The clock for Now().")
def eval_cmd(expression: str, attrs: tuple[str, ...], object_file: str | None, params: tuple[str, ...], now: str | None) -> None:
    """Evaluate one expression and print its value as JSON."""
    from syncrules.evaluate.cli_eval import run_eval

    sys.exit(run_eval(expression, list(attrs), object_file, list(params), now))


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--check", "check_only", is_flag=True, help="Exit 1 if any file would be reformatted; write nothing.")
@click.option("--diff", is_flag=True, help="Print a unified diff instead of writing.")
def fmt(paths: tuple[str, ...], check_only: bool, diff: bool) -> None:
    """Format .sync files canonically (comments are kept)."""
    from syncrules.fmt.command import run_fmt

    sys.exit(run_fmt(list(paths), check_only=check_only, diff=diff))


@main.command()
@click.argument("project", type=click.Path(exists=True))
@click.option("--cycle", type=click.Choice(["initial", "delta"]), default="initial", show_default=True)
@click.option("--apply-exports", is_flag=True, help="Export to the simulated directories and run the confirming imports.")
@click.option("--allow-deletes", type=int, default=None, help="Let this run export up to N deletes past the threshold.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True)
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when the plan has changes, 0 when it has none.")
@click.option("--state", type=click.Path(dir_okay=False), default=None, help="Keep the engine state in this SQLite file and carry on from it.")
@click.option("--steps", "steps_text", default=None, metavar="PROFILE@CONNECTOR,...", help="Run exactly these run profiles, in order, instead of a cycle.")
@click.option("--only", "only", default=None, metavar="CONNECTOR", help="Show only this connector's changes (everything is still synchronized).")
def run(
    project: str,
    cycle: str,
    apply_exports: bool,
    allow_deletes: int | None,
    fmt: str,
    color: str,
    detailed_exitcode: bool,
    state: str | None,
    steps_text: str | None,
    only: str | None,
) -> None:
    """Preview a project: run a sync cycle over its fixtures and show what would change."""
    from pathlib import Path

    from syncrules.diagnostics.render import render_text as render_diags
    from syncrules.preview.render import render_json, render_text, summary
    from syncrules.preview.session import open_project, run_cycle

    opened = open_project(Path(project))
    if opened.session is None:
        click.echo(render_diags(opened.diagnostics, opened.sources, _colour(color)), nl=False)
        sys.exit(EXIT_FINDINGS)
    session = opened.session
    after_step = None
    if state is not None:
        from syncrules.state.session import attach_state
        from syncrules.state.store import StateError

        try:
            after_step = attach_state(session, Path(state))
        except StateError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_FINDINGS)
    override = None
    if steps_text is not None:
        from syncrules.preview.session import parse_steps

        try:
            override = parse_steps(steps_text, session.engine, allow_deletes)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--steps") from exc
    if only is not None and only not in session.engine.spaces:
        raise click.BadParameter(f"unknown connector {only!r}", param_hint="--only")
    steps = run_cycle(session, cycle, apply_exports, allow_deletes, after_step, override)
    if after_step is not None:
        from syncrules.state.store import StateError

        try:
            after_step.finish()  # every step's save committed before the plan is shown
        except StateError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_USAGE)
    if fmt == "json":
        click.echo(render_json(session.engine, steps, session.project.name, only), nl=False)
    else:
        click.echo(render_text(session.engine, steps, session.project.name, cycle, _colour(color), only), nl=False)
    if detailed_exitcode:
        sm = summary(session.engine, steps)
        sys.exit(2 if sm["add"] or sm["change"] or sm["delete"] else EXIT_OK)
    sys.exit(EXIT_OK)


@main.command()
@click.argument("project", type=click.Path(exists=True))
@click.option("--object", "object_ref", required=True, help="The object's DN or anchor.")
@click.option("--connector", default=None, help="Look only in this connector space.")
@click.option("--cycle", type=click.Choice(["initial", "delta"]), default="initial", show_default=True)
@click.option("--apply-exports", is_flag=True, help="Export and run the confirming imports before explaining.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def explain(project: str, object_ref: str, connector: str | None, cycle: str, apply_exports: bool, fmt: str) -> None:
    """Explain one object: scope, join, projection, every flow by precedence, and its exports."""
    import json
    from pathlib import Path

    from syncrules.diagnostics.render import render_text as render_diags
    from syncrules.preview.explain import explain as explain_object
    from syncrules.preview.explain import find_object, render_explain_text
    from syncrules.preview.session import open_project, run_cycle

    opened = open_project(Path(project))
    if opened.session is None:
        click.echo(render_diags(opened.diagnostics, opened.sources), nl=False)
        sys.exit(EXIT_FINDINGS)
    session = opened.session
    run_cycle(session, cycle, apply_exports=apply_exports)
    obj = find_object(session.engine, object_ref, connector)
    if obj is None:
        where = f"connector {connector!r}" if connector else "any connector space"
        click.echo(f"error: no object with DN or anchor {object_ref!r} in {where}", err=True)
        sys.exit(EXIT_FINDINGS)
    doc = explain_object(session.engine, obj)
    if fmt == "json":
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        click.echo(render_explain_text(doc), nl=False)
    sys.exit(EXIT_OK)


@main.command()
@click.argument("directory", type=click.Path(file_okay=False))
def init(directory: str) -> None:
    """Create a small working project (HR CSV → metaverse → LDAP) to start from."""
    from syncrules.project.scaffold import scaffold

    sys.exit(scaffold(directory))


@main.group(name="import")
def import_group() -> None:
    """Import configurations from other tools into .sync files."""


@import_group.command(name="aadconnect")
@click.argument("sources", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False), help="Directory to write the project to.")
@click.option("--connectors", default=None, help="Name connectors found by GUID: GUID=NAME,GUID=NAME.")
@click.option("--schema", default=None, type=click.Path(exists=True), help="An export folder to take the schema from.")
def import_aadconnect(sources: tuple[str, ...], out_dir: str, connectors: str | None, schema: str | None) -> None:
    """Import an Entra Connect configuration: a Get-ADSyncServerConfiguration export folder, or
    PowerShell scripts as the Synchronization Rules Editor's Export button writes them."""
    from syncrules.interop.aadconnect.cli import run_import

    mapping: dict[str, str] | None = None
    if connectors:
        mapping = {}
        for pair in connectors.split(","):
            if "=" not in pair:
                raise click.BadParameter(f"expected GUID=NAME, got {pair!r}", param_hint="--connectors")
            guid, name = pair.split("=", 1)
            mapping[guid.strip()] = name.strip()
    sys.exit(run_import(list(sources), out_dir, mapping, schema))


@main.group(name="export")
def export_group() -> None:
    """Export a project's rules to other tools' formats."""


@export_group.command(name="aadconnect")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("-o", "--output", "out_file", required=True, type=click.Path(dir_okay=False), help="The PowerShell script to write.")
def export_aadconnect(paths: tuple[str, ...], out_file: str) -> None:
    """Write the rules as a PowerShell script in the Synchronization Rules Editor's Export shape."""
    from syncrules.interop.aadconnect.ps_export import run_export

    sys.exit(run_export(list(paths), out_file))


if __name__ == "__main__":  # pragma: no cover
    main()
