"""The `ecsgen` command line: each command parses its options and calls one library function.

Exit codes: 0 ok, 1 drift or invalid output, 2 usage or spec error (or a render that does not
parse back). The library is imported inside each command, so `--help` and `--version` stay quick
and each command loads only what it uses.
"""

from __future__ import annotations

import itertools
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from . import __version__
from .errors import DriftError, EcsgenError, safe_text
from .lock import LOCK_WAIT

if TYPE_CHECKING:
    from . import pipeline
    from .impact import Impact
    from .progress import Progress

__all__ = ["main"]

T = TypeVar("T")
SPECS = click.argument(
    "specs",
    nargs=-1,
    type=click.Path(exists=True, path_type=Path),
)
OUT = click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("output"),
    show_default=True,
    help="Folder that holds one module folder per team.",
)
JOBS = click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=None,
    help="Processes that share the teams (default: one per CPU; 1 runs everything here).",
)
TEMPLATES = click.option(
    "--templates",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Folder of template overrides, in front of the bundled templates "
    "(default: [tool.ecsgen] templates in the specs' pyproject.toml, if set).",
)
COLOR = click.option(
    "--color",
    type=click.Choice(["auto", "always", "never"]),
    default="auto",
    show_default=True,
    help="Colour the diff and summaries: auto colours on a terminal unless NO_COLOR is set.",
)
SPEC_TIMEOUT = click.option(
    "--spec-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="SECONDS",
    help="Seconds one spec may take to load before it is stopped and named (default: "
    "[tool.ecsgen] spec-timeout, else 60).",
)
FORMAT = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: diffs and messages for people; json: one document on stdout for CI annotations.",
)


def _progress(total: int, label: str) -> Progress:
    from .progress import Progress  # noqa: PLC0415

    return Progress(total, label, sys.stderr)


def _emit(document: dict[str, object]) -> None:
    click.echo(json.dumps(document, indent=2, sort_keys=True))


def _impact_json(impacts: Sequence[Impact]) -> dict[str, object]:
    from .impact import total  # noqa: PLC0415

    return {"teams": [i.as_json() for i in impacts], "total": total(impacts).as_json()}


def _drift_text(exc: DriftError, stat: bool, color: bool, rerun: str) -> None:
    """The diff (unless `stat`), each changed team's impact, the footer and the total line.
    The library's notes say "run `ecsgen render`": they name the render that works here."""
    from .diffview import footer, impact_report, paint  # noqa: PLC0415

    text = "" if stat else str(exc).replace("`ecsgen render`", f"`{rerun}`")
    text += impact_report(exc.impacts)  # type: ignore[arg-type]
    text += f"ecsgen: {footer(exc.findings)}\n"
    # click.echo strips colour codes unless told: the choice was made by `use_color`
    click.echo(paint(text) if color else text, nl=False, color=color)


def _report(
    command: str,
    code: int,
    items: object,
    modules: int | None = None,
    impact: dict[str, object] | None = None,
) -> None:
    from .report import document  # noqa: PLC0415

    _emit(document(command, code, items, modules, impact))  # type: ignore[arg-type]


def _run(
    action: Callable[[], T],
    fmt: str = "text",
    command: str = "",
    modules: int | None = None,
    *,
    stat: bool = False,
    color: bool = False,
    rerun: str = "ecsgen render",
) -> T:
    """Run a library call; turn ecsgen's errors into a clean message and exit code (and, with
    `--format json`, the report: `gen.report`). An error that is not ecsgen's own is a bug:
    exit 2, the report still printed, and the traceback on stderr to report. `rerun` is the
    render command that fixes drift, as it works when pasted (see `_command`)."""
    try:
        return action()
    except DriftError as exc:
        if fmt == "json":
            from .report import finding_items  # noqa: PLC0415

            impact = _impact_json(exc.impacts)  # type: ignore[arg-type]
            _report(command, exc.exit_code, finding_items(exc.findings), modules, impact)
        else:
            _drift_text(exc, stat, color, rerun)
        click.echo(f"ecsgen: the modules on disk differ from the specs; run `{rerun}`", err=True)
        sys.exit(exc.exit_code)
    except EcsgenError as exc:
        if fmt == "json":
            from .report import error_items  # noqa: PLC0415

            _report(command, exc.exit_code, error_items(exc), modules)
        click.echo(
            f"ecsgen: error: {exc}" if "\n" not in str(exc) else f"ecsgen: errors:\n{exc}", err=True
        )
        sys.exit(exc.exit_code)
    except Exception as exc:  # noqa: BLE001 - a bug: still a report, and a traceback to send
        if fmt == "json":
            from .report import item  # noqa: PLC0415

            text = f"{type(exc).__name__}: {safe_text(exc)}"
            _report(command, 2, [item("internal", text)], modules)
        import traceback  # noqa: PLC0415 - only for a bug

        click.echo(f"ecsgen: internal error (please report): {safe_text(exc)}", err=True)
        click.echo(traceback.format_exc(), err=True, nl=False)
        sys.exit(2)


class _Main(click.Group):
    """The command group, keeping the words it was given: a broken repository setting is found
    before the command parses its own options, and its `--format json` still gets a report."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["ecsgen.args"] = list(args)
        return super().parse_args(ctx, args)


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ecsgen")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Turn teams' Python specs into Terraform modules for distributed PyTorch on Amazon ECS.

    Every option can be set once in [tool.ecsgen] of the nearest pyproject.toml (specs, out,
    templates, jobs, wait, format; paths relative to that file); the command line wins.
    """
    command = ctx.invoked_subcommand
    if command is None or command == "init":
        return
    from .errors import SettingError  # noqa: PLC0415
    from .settings import defaults_for  # noqa: PLC0415

    try:
        defaults = defaults_for(command, Path.cwd())
    except SettingError as exc:
        args = ctx.meta.get("ecsgen.args", [])
        if "--format=json" in args or any(
            a == "--format" and b == "json" for a, b in itertools.pairwise(args)
        ):  # the report is printed whatever happens, a broken setting included
            from .report import error_items  # noqa: PLC0415

            _report(command, exc.exit_code, error_items(exc))
        click.echo(f"ecsgen: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    ctx.default_map = {command: defaults} if defaults else None


def _given(ctx: click.Context, name: str) -> bool:
    """Whether the parameter `name` was written on the command line (not a setting or default)."""
    return ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE


def _command(ctx: click.Context, name: str, *extra: str) -> str:
    """The `ecsgen <name>` command that repeats this run's specs, --out and --templates as they
    were given, so that it works when pasted in the same folder (settings need no repeating)."""
    import shlex  # noqa: PLC0415

    words = ["ecsgen", name]
    if _given(ctx, "specs"):
        words.extend(str(p) for p in ctx.params["specs"])
    for option in ("out", "templates"):
        if _given(ctx, option):
            words.extend((f"--{option}", str(ctx.params[option])))
    words.extend(extra)
    return shlex.join(words)


def _specs(specs: Sequence[Path], command: str) -> Sequence[Path]:
    """The SPECS argument, or a clean usage error when neither it nor the setting gives any."""
    if not specs:
        click.echo(
            f"ecsgen: error: no specs given: `ecsgen {command} SPECS...` (spec files or folders), "
            'or set specs = ["teams"] in [tool.ecsgen] of the repository\'s pyproject.toml '
            "(`ecsgen init` writes one)",
            err=True,
        )
        sys.exit(2)
    from .load import skipped_subfolders  # noqa: PLC0415

    for folder in skipped_subfolders(specs):
        click.echo(
            f"ecsgen: note: {folder}/ holds spec files but is not read: subfolders of a specs "
            "folder are skipped; name it too (or list it in [tool.ecsgen] specs)",
            err=True,
        )
    return specs


@main.command()
@SPECS
@OUT
@TEMPLATES
@JOBS
@click.option(
    "--force",
    is_flag=True,
    help="Overwrite generated files edited by hand (the edit is lost; without --force the "
    "render stops and names them).",
)
@click.option(
    "--wait",
    type=click.FloatRange(min=0),
    default=LOCK_WAIT,
    show_default=True,
    help="Seconds to wait for another render of the same OUT to finish.",
)
@COLOR
@click.option("--verbose", "-v", is_flag=True, help="Name every file written and removed.")
@SPEC_TIMEOUT
@click.option(
    "--prune",
    is_flag=True,
    help="Remove orphaned modules: team folders in OUT made from a spec inside SPECS that no "
    "spec produces any more (removed or renamed team). One with hand edits is refused unless "
    "--force. Without --prune they are left and named on stderr.",
)
@click.pass_context
def render(
    ctx: click.Context,
    specs: Sequence[Path],
    out: Path,
    templates: Path | None,
    jobs: int | None,
    force: bool,
    wait: float,
    color: str,
    verbose: bool,
    spec_timeout: float | None,
    prune: bool,
) -> None:
    """Render SPECS (spec files or folders of them) into OUT/<team>/.

    Every file whose bytes are new is parsed back and compared with what was intended before
    anything is written; files already on disk byte for byte are left as they are. Only files
    listed in a team folder's .ecsgen-manifest.json with the bytes ecsgen wrote are replaced or
    removed; generated files that the specs no longer produce are removed, each named. One
    render per OUT at a time (a lock); a killed render is finished or rolled back by the next.
    Each changed team ends with what its next apply does (resources to add, remove, change).
    """
    from . import pipeline  # noqa: PLC0415

    specs = _specs(specs, "render")
    rerun = _command(ctx, "render")
    started = time.perf_counter()
    result = _run(
        lambda: pipeline.render(
            specs,
            out,
            templates,
            jobs,
            _progress,
            force=force,
            wait=wait,
            spec_timeout=spec_timeout,
            prune_orphans=prune,
            command=rerun,
        ),
        rerun=rerun,
    )
    elapsed = time.perf_counter() - started
    _render_report(result, out, elapsed, color=color, verbose=verbose)


def _render_report(
    result: pipeline.RenderResult, out: Path, elapsed: float, *, color: str, verbose: bool
) -> None:
    """What a render did, on stderr: recoveries, discarded edits, files (-v), impact, totals."""
    from .diffview import impact_report, paint, use_color  # noqa: PLC0415
    from .load import display_path  # noqa: PLC0415

    for note in result.notes:
        click.echo(f"ecsgen: {note}", err=True)
    for path in result.discarded:
        click.echo(f"ecsgen: discarded hand edit: {display_path(path)}", err=True)
    removed = set(result.removed)
    written = [p for p in result.touched if p not in removed]
    if verbose:
        for path in written:
            click.echo(f"ecsgen: wrote {display_path(path)}", err=True)
    for path in result.removed:
        click.echo(f"ecsgen: removed {display_path(path)} (no longer generated)", err=True)
    report = impact_report(result.impacts)
    if report:
        painted = use_color(color, sys.stderr)
        click.echo(paint(report) if painted else report, nl=False, err=True, color=painted)
    rendered = len(result.rendered)
    names = f" ({_names(result.rendered)})" if rendered else ""
    click.echo(
        f"ecsgen: {rendered} rendered{names}, {len(result.teams) - rendered} up to date in "
        f"{out}/; {len(written)} file{'s' if len(written) != 1 else ''} written, "
        f"{len(result.removed)} removed, {len(result.parsed_back)} parsed back, in {elapsed:.2f}s",
        err=True,
    )


def _names(teams: Sequence[str], shown: int = 10) -> str:
    if len(teams) <= shown:
        return ", ".join(teams)
    return ", ".join(teams[:shown]) + f", ... {len(teams) - shown} more"


@main.command()
@SPECS
@OUT
@TEMPLATES
@JOBS
@FORMAT
@SPEC_TIMEOUT
@COLOR
@click.option(
    "--stat",
    is_flag=True,
    help="Print only each changed team's impact summary and the totals, not the diff.",
)
@click.pass_context
def check(
    ctx: click.Context,
    specs: Sequence[Path],
    out: Path,
    templates: Path | None,
    jobs: int | None,
    fmt: str,
    spec_timeout: float | None,
    color: str,
    stat: bool,
) -> None:
    """Render SPECS in memory and compare with OUT; print a diff and exit 1 on drift.

    Writes nothing. Run it in CI or pre-commit to keep committed modules in step with specs.
    Also fails on orphaned modules (team folders made from a spec inside SPECS that no spec
    produces any more) and on files with ecsgen's header that the render no longer makes.
    Each changed team ends with what its next apply does (resource addresses to add, remove,
    change; warnings where data would be lost), then a total line and a footer.
    With --format json, stdout holds one report (schema/report.schema.json: format_version,
    ok, exit_code, items of {code, message, team, path, line, field}, impact).
    """
    from . import pipeline  # noqa: PLC0415
    from .diffview import use_color  # noqa: PLC0415

    specs = _specs(specs, "check")
    painted = fmt == "text" and use_color(color, sys.stdout)
    _run(
        lambda: pipeline.check(specs, out, templates, jobs, _progress, spec_timeout=spec_timeout),
        fmt,
        "check",
        stat=stat,
        color=painted,
        rerun=_command(ctx, "render"),
    )
    if fmt == "json":
        _report("check", 0, [], impact=_impact_json(()))
    click.echo(f"ecsgen: {out}/ is up to date with the specs", err=True)


@main.command()
@click.argument(
    "dirs",
    nargs=-1,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=(Path("output"),),
)
@JOBS
@FORMAT
def validate(dirs: Sequence[Path], jobs: int | None, fmt: str) -> None:
    """Check generated modules on disk (ownership, interrupted renders, parse-back, structure).

    DIRS are module folders, or folders of module folders (default: [tool.ecsgen] out, else
    output/). Hand-written
    files beside the generated ones are allowed; a folder with no generated module is not.
    With --format json, stdout holds one report (schema/report.schema.json), as for check.
    """
    from . import pipeline  # noqa: PLC0415

    folders = pipeline.module_folders(dirs)
    _run(lambda: pipeline.validate_dirs(folders, jobs, _progress), fmt, "validate", len(folders))
    if fmt == "json":
        _report("validate", 0, [], len(folders))
    click.echo(f"ecsgen: {len(folders)} module(s) valid", err=True)


@main.command()
@click.argument(
    "folder", default=Path(), type=click.Path(file_okay=False, path_type=Path), required=False
)
def init(folder: Path) -> None:
    """Start an infrastructure repository in FOLDER (default: here).

    Writes pyproject.toml ([tool.ecsgen]: specs in teams/, modules in modules/),
    teams/_defaults.py and one example team, terraform/main.tf (the root configuration calling
    the module), .gitignore, .pre-commit-config.yaml and a GitHub Actions workflow. Values to
    replace are marked CHANGE ME. Refuses to overwrite any file (exit 2, nothing written).
    """
    from . import scaffold  # noqa: PLC0415
    from .load import display_path  # noqa: PLC0415

    done = _run(lambda: scaffold.init(folder))
    for name in done.files:
        click.echo(f"ecsgen: wrote {display_path(folder / name)}", err=True)
    import shlex  # noqa: PLC0415

    shown = display_path(folder)
    enter = "" if shown == "." else f"cd {shlex.quote(shown)} && "
    marker = scaffold.PLACEHOLDER
    click.echo(
        f"ecsgen: next: set each value marked {marker} "
        f"(`{enter}grep -rn {shlex.quote(marker)} .`), then `{enter}ecsgen render` and commit",
        err=True,
    )
