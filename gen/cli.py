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
def render(specs: Sequence[Path], out: Path, templates: Path | None) -> None:
    """Render SPECS (spec files or folders of them) into OUT/<team>/.

    Every file is parsed back and compared with what was intended before anything is written.
    Files ecsgen did not generate are never overwritten; generated files that the specs no
    longer produce are removed.
    """
    started = time.perf_counter()
    result = _run(lambda: pipeline.render(specs, out, templates))
    elapsed = time.perf_counter() - started
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
    """Check generated modules on disk (parse-back and structure).

    DIRS are module folders, or folders of module folders (such as output/).
    """
    folders: list[Path] = []
    for folder in dirs:
        if any(folder.glob("*.tf")):
            folders.append(folder)
        else:
            folders.extend(p for p in sorted(folder.iterdir()) if p.is_dir())
    _run(lambda: pipeline.validate_dirs(folders))
    click.echo(f"ecsgen: {len(folders)} module(s) valid", err=True)
