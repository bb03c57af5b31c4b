"""The `ecsgen` command line: each command parses its options and calls one library function.

Exit codes: 0 ok, 1 drift or invalid output, 2 usage or spec error.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import click

from gen import __version__, pipeline
from gen.errors import DriftError, EcsgenError
from gen.load import display_path
from gen.lock import LOCK_WAIT

__all__ = ["main"]

T = TypeVar("T")
SPECS = click.argument(
    "specs",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, path_type=Path),
)
OUT = click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("output"),
    show_default=True,
    help="Folder that holds one module folder per team.",
)
TEMPLATES = click.option(
    "--templates",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Folder of template overrides, in front of the bundled templates "
    "(default: [tool.ecsgen] templates in the specs' pyproject.toml, if set).",
)


def _run(action: Callable[[], T]) -> T:
    """Run a library call; turn ecsgen's errors into a clean message and exit code."""
    try:
        return action()
    except DriftError as exc:
        click.echo(str(exc), nl=False)
        click.echo(
            "ecsgen: the modules on disk differ from the specs; run `ecsgen render`", err=True
        )
        sys.exit(exc.exit_code)
    except EcsgenError as exc:
        click.echo(
            f"ecsgen: error: {exc}" if "\n" not in str(exc) else f"ecsgen: errors:\n{exc}", err=True
        )
        sys.exit(exc.exit_code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ecsgen")
def main() -> None:
    """Turn teams' Python specs into Terraform modules for distributed PyTorch on Amazon ECS."""


@main.command()
@SPECS
@OUT
@TEMPLATES
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
def render(
    specs: Sequence[Path], out: Path, templates: Path | None, force: bool, wait: float
) -> None:
    """Render SPECS (spec files or folders of them) into OUT/<team>/.

    Every file is parsed back and compared with what was intended before anything is written.
    Only files listed in a team folder's .ecsgen-manifest.json with the bytes ecsgen wrote are
    replaced or removed; generated files that the specs no longer produce are removed, each
    named. One render per OUT at a time (a lock); a killed render is finished or rolled back by
    the next.
    """
    started = time.perf_counter()
    result = _run(lambda: pipeline.render(specs, out, templates, force=force, wait=wait))
    elapsed = time.perf_counter() - started
    for note in result.notes:
        click.echo(f"ecsgen: {note}", err=True)
    for path in result.removed:
        click.echo(f"ecsgen: removed {display_path(path)} (no longer generated)", err=True)
    changed = len(result.touched)
    click.echo(
        f"ecsgen: rendered {len(result.teams)} team(s) into {out}/ "
        f"({', '.join(result.teams)}); {changed} file(s) changed in {elapsed:.2f}s",
        err=True,
    )


@main.command()
@SPECS
@OUT
@TEMPLATES
def check(specs: Sequence[Path], out: Path, templates: Path | None) -> None:
    """Render SPECS in memory and compare with OUT; print a diff and exit 1 on drift.

    Writes nothing. Run it in CI or pre-commit to keep committed modules in step with specs.
    """
    _run(lambda: pipeline.check(specs, out, templates))
    click.echo(f"ecsgen: {out}/ is up to date with the specs", err=True)


@main.command()
@click.argument(
    "dirs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path)
)
def validate(dirs: Sequence[Path]) -> None:
    """Check generated modules on disk (ownership, interrupted renders, parse-back, structure).

    DIRS are module folders, or folders of module folders (such as output/). Hand-written
    files beside the generated ones are allowed; a folder with no generated module is not.
    """
    folders = pipeline.module_folders(dirs)
    _run(lambda: pipeline.validate_dirs(folders))
    click.echo(f"ecsgen: {len(folders)} module(s) valid", err=True)
