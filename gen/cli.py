"""The `ecsgen` command line: each command parses its options and calls one library function.

Exit codes: 0 ok, 1 drift or invalid output, 2 usage or spec error (or a render that does not
parse back). The library is imported inside each command, so `--help` and `--version` stay quick
and each command loads only what it uses.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from gen import __version__
from gen.errors import (
    DriftError,
    EcsgenError,
    Finding,
    OutputError,
    ParseBackError,
    SpecError,
    TemplateError,
)
from gen.lock import LOCK_WAIT

if TYPE_CHECKING:
    from gen.progress import Progress

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
FORMAT = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: diffs and messages for people; json: one document on stdout for CI annotations.",
)


def _progress(total: int, label: str) -> Progress:
    from gen.progress import Progress  # noqa: PLC0415

    return Progress(total, label, sys.stderr)


def _errors_json(exc: EcsgenError) -> list[dict[str, object]]:
    if isinstance(exc, SpecError):
        return [
            {"team": p.team, "path": p.file, "line": p.line, "field": p.path, "reason": p.message}
            for p in exc.problems
        ]
    return [{"team": None, "path": None, "reason": str(exc)}]


def _findings_json(findings: Sequence[Finding]) -> list[dict[str, str]]:
    return [
        {"team": f.team, "path": f.path, "reason": f.reason, "detail": f.detail} for f in findings
    ]


def _emit(document: dict[str, object]) -> None:
    click.echo(json.dumps(document, indent=2, sort_keys=True))


def _run(action: Callable[[], T], fmt: str = "text", rerun: str = "ecsgen render") -> T:
    """Run a library call; turn ecsgen's errors into a clean message and exit code. `rerun` is
    the render command that fixes drift, as it works when pasted (see `_command`)."""
    try:
        return action()
    except DriftError as exc:
        if fmt == "json":
            _emit({"ok": False, "drift": _findings_json(exc.findings), "errors": []})
        else:
            # the library's notes say "run `ecsgen render`"; name the render that works here
            click.echo(str(exc).replace("`ecsgen render`", f"`{rerun}`"), nl=False)
        click.echo(f"ecsgen: the modules on disk differ from the specs; run `{rerun}`", err=True)
        sys.exit(exc.exit_code)
    except EcsgenError as exc:
        if fmt == "json":
            findings = (
                exc.findings
                if isinstance(exc, OutputError | ParseBackError | TemplateError)
                else ()
            )
            key = "invalid" if isinstance(exc, OutputError) else "drift"
            document: dict[str, object] = {"ok": False, key: _findings_json(findings)}
            document["errors"] = [] if isinstance(exc, OutputError) else _errors_json(exc)
            _emit(document)
        click.echo(
            f"ecsgen: error: {exc}" if "\n" not in str(exc) else f"ecsgen: errors:\n{exc}", err=True
        )
        sys.exit(exc.exit_code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
    from gen.errors import SettingError  # noqa: PLC0415
    from gen.settings import defaults_for  # noqa: PLC0415

    try:
        defaults = defaults_for(command, Path.cwd())
    except SettingError as exc:
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
    from gen.load import skipped_subfolders  # noqa: PLC0415

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
@click.pass_context
def render(
    ctx: click.Context,
    specs: Sequence[Path],
    out: Path,
    templates: Path | None,
    jobs: int | None,
    force: bool,
    wait: float,
) -> None:
    """Render SPECS (spec files or folders of them) into OUT/<team>/.

    Every file whose bytes are new is parsed back and compared with what was intended before
    anything is written; files already on disk byte for byte are left as they are. Only files
    listed in a team folder's .ecsgen-manifest.json with the bytes ecsgen wrote are replaced or
    removed; generated files that the specs no longer produce are removed, each named. One
    render per OUT at a time (a lock); a killed render is finished or rolled back by the next.
    """
    from gen import pipeline  # noqa: PLC0415
    from gen.load import display_path  # noqa: PLC0415

    specs = _specs(specs, "render")
    rerun = _command(ctx, "render")
    started = time.perf_counter()
    result = _run(
        lambda: pipeline.render(
            specs, out, templates, jobs, _progress, force=force, wait=wait, command=rerun
        ),
        rerun=rerun,
    )
    elapsed = time.perf_counter() - started
    for note in result.notes:
        click.echo(f"ecsgen: {note}", err=True)
    for path in result.removed:
        click.echo(f"ecsgen: removed {display_path(path)} (no longer generated)", err=True)
    click.echo(
        f"ecsgen: rendered {len(result.teams)} team(s) into {out}/ "
        f"({_names(result.teams)}); {len(result.touched)} file(s) changed, "
        f"{len(result.parsed_back)} parsed back, in {elapsed:.2f}s",
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
@click.pass_context
def check(
    ctx: click.Context,
    specs: Sequence[Path],
    out: Path,
    templates: Path | None,
    jobs: int | None,
    fmt: str,
) -> None:
    """Render SPECS in memory and compare with OUT; print a diff and exit 1 on drift.

    Writes nothing. Run it in CI or pre-commit to keep committed modules in step with specs.
    With --format json, stdout holds {"ok", "drift": [{team, path, reason, detail}], "errors"}.
    """
    from gen import pipeline  # noqa: PLC0415

    specs = _specs(specs, "check")
    _run(
        lambda: pipeline.check(specs, out, templates, jobs, _progress), fmt, _command(ctx, "render")
    )
    if fmt == "json":
        _emit({"ok": True, "drift": [], "errors": []})
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
    With --format json, stdout holds {"ok", "modules", "invalid": [{team, path, reason, detail}]}.
    """
    from gen import pipeline  # noqa: PLC0415

    folders = pipeline.module_folders(dirs)
    _run(lambda: pipeline.validate_dirs(folders, jobs, _progress), fmt)
    if fmt == "json":
        _emit({"ok": True, "modules": len(folders), "invalid": [], "errors": []})
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
    from gen import scaffold  # noqa: PLC0415
    from gen.load import display_path  # noqa: PLC0415

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
