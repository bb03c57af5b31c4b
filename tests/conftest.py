"""Shared fixtures: the repository's paths, the golden-update flag, and the real toolchain
(terraform with the local aws provider mirror). A check that needs terraform skips with its
reason on a machine without it, and fails instead when CI=true: a skipped check is not a pass."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings

from ecsgen.load import load_specs
from ecsgen.names import job_names
from ecsgen.validate import JobConfig, TeamConfig, validate

# Hypothesis's per-example deadline is a timing assert: on a loaded 2-core machine a first example
# that imports or compiles can exceed it. Correctness is what the properties check; speed is the
# benchmarks' business.
settings.register_profile("ecsgen", deadline=None)
settings.load_profile("ecsgen")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "specs"
OUTPUT = ROOT / "output"
MIRROR_SUFFIX = Path("registry.terraform.io") / "hashicorp" / "aws"
MIRROR_ROOTS = ("/opt", "/usr/local/share", "/usr/share", "/usr/local/lib", str(Path.home()))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="Rewrite output/ and tests/cases/*/expected from the specs instead of comparing.",
    )


@pytest.fixture
def update_goldens(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-goldens"))


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def unavailable(reason: str) -> None:
    """Skip on a developer machine; fail in CI, where the toolchain must be there."""
    if in_ci():
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


def find_provider_mirror() -> Path | None:
    """The folder holding registry.terraform.io/hashicorp/aws/<version>/... (a filesystem mirror).

    ECSGEN_TF_PROVIDER_MIRROR names it explicitly; otherwise a few usual roots are searched a
    bounded depth deep.
    """
    explicit = os.environ.get("ECSGEN_TF_PROVIDER_MIRROR")
    if explicit:
        path = Path(explicit)
        return path if (path / MIRROR_SUFFIX).is_dir() else None
    for root in MIRROR_ROOTS:
        base = Path(root)
        if not base.is_dir():
            continue
        for depth in range(4):
            pattern = (
                "/".join(["*"] * depth + [str(MIRROR_SUFFIX)]) if depth else str(MIRROR_SUFFIX)
            )
            for hit in sorted(base.glob(pattern)):
                if any(hit.glob("*/*/terraform-provider-aws*")):
                    return hit.parents[2]
    return None


@dataclass(frozen=True)
class Terraform:
    """The terraform binary with a CLI config that installs the aws provider from the mirror."""

    binary: str
    cli_config: Path
    mirror: Path

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "AWS_"))}
        env.update(
            {
                "TF_CLI_CONFIG_FILE": str(self.cli_config),
                "TF_IN_AUTOMATION": "1",
                "TF_INPUT": "0",
                "CHECKPOINT_DISABLE": "1",
            }
        )
        return env

    def run(
        self, *args: str, cwd: Path, timeout: float = 300, extra_env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = self.env() | (extra_env or {})
        return subprocess.run(
            [self.binary, *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def ok(
        self, *args: str, cwd: Path, timeout: float = 300, extra_env: dict[str, str] | None = None
    ) -> str:
        result = self.run(*args, cwd=cwd, timeout=timeout, extra_env=extra_env)
        assert result.returncode == 0, (
            f"terraform {' '.join(args)} failed in {cwd}:\n{result.stdout}\n{result.stderr}"
        )
        return result.stdout


@pytest.fixture(scope="session")
def terraform(tmp_path_factory: pytest.TempPathFactory) -> Terraform:
    binary = shutil.which("terraform")
    if binary is None:
        unavailable("terraform is not on the PATH")
    mirror = find_provider_mirror()
    if mirror is None:
        unavailable(
            "no local hashicorp/aws provider mirror found "
            "(set ECSGEN_TF_PROVIDER_MIRROR to the folder holding registry.terraform.io)"
        )
    assert binary is not None and mirror is not None
    config = tmp_path_factory.mktemp("terraform") / "terraformrc"
    config.write_text(
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f'    path    = "{mirror}"\n'
        '    include = ["registry.terraform.io/hashicorp/aws"]\n'
        "  }\n"
        "  direct {\n"
        '    exclude = ["registry.terraform.io/hashicorp/aws"]\n'
        "  }\n"
        "}\n",
        encoding="utf-8",
    )
    return Terraform(binary, config, mirror)


@pytest.fixture(scope="session")
def example_configs() -> dict[str, TeamConfig]:
    """The example specs, loaded and validated from the repository root, by team name."""
    cwd = Path.cwd()
    os.chdir(ROOT)
    try:
        return {t.name: t for t in validate(load_specs([EXAMPLES.relative_to(ROOT)]))}
    finally:
        os.chdir(cwd)


def ident(job: JobConfig) -> str:
    """The job's Terraform identifier, as the generator derives it."""
    return job_names("team", job.name).ident


@pytest.fixture
def chdir_root(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Run from the repository root, as the README's commands do (headers name spec paths)."""
    monkeypatch.chdir(ROOT)
    yield ROOT


# -- the JSON report contract (issue 15) -------------------------------------------------------
# Every JSON document `check`/`validate --format json` prints in this suite, in any test, is
# validated against schema/report.schema.json before it is printed: a document that breaks the
# contract fails the test that produced it.

SCHEMA = ROOT / "schema" / "report.schema.json"


class _CheckedEmit:
    """`ecsgen.cli._emit` that validates each document against the schema first; `count` says how
    many it validated."""

    def __init__(self, emit: Callable[[dict[str, object]], None]) -> None:
        import json

        import jsonschema

        schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
        self.validator = jsonschema.Draft202012Validator(schema)
        self.emit = emit
        self.count = 0

    def __call__(self, document: dict[str, object]) -> None:
        self.validator.validate(document)
        self.count += 1
        self.emit(document)


@pytest.fixture(autouse=True)
def _reports_follow_the_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    from ecsgen import cli

    monkeypatch.setattr(cli, "_emit", _CheckedEmit(cli._emit))


@pytest.fixture(scope="session")
def ecsgen_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding an `ecsgen` command that runs this checkout with this interpreter, to put
    first on PATH where a test runs shell commands as a user types them (README blocks, CI
    steps of a scaffold)."""
    folder = tmp_path_factory.mktemp("bin")
    script = folder / "ecsgen"
    script.write_text(
        "#!/bin/sh\n"
        f'PYTHONPATH="{ROOT}${{PYTHONPATH:+:$PYTHONPATH}}" exec "{sys.executable}" '
        '-c \'import sys; from ecsgen.cli import main; sys.exit(main(prog_name="ecsgen"))\' "$@"\n',
        encoding="utf-8",
    )
    script.chmod(0o755)
    return folder
