"""`ecsgen init`: the files of a new infrastructure repository, written once.

The repository it lays out:

    pyproject.toml                  [tool.ecsgen]: specs in teams/, modules in modules/
    teams/_defaults.py              account, region, registry, network, tags (placeholders)
    teams/example.py                one team with one small Fargate job
    modules/                        (written by `ecsgen render`, committed)
    terraform/main.tf               the root configuration that calls the team's module
    .gitignore                      .terraform/, state, ecsgen's lock and staging files
    .pre-commit-config.yaml         ecsgen's hooks and `terraform fmt`
    .github/workflows/ecsgen.yml    CI: check, validate, terraform fmt -check, init, validate

Every value the platform team must change is marked `CHANGE ME` (`grep -rn "CHANGE ME"` lists
them); as written, the repository renders and validates, so CI is green from the first commit.
Nothing is ever overwritten: when any of these files exists, nothing is written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from . import __version__
from .errors import EcsgenError
from .load import display_path

__all__ = ["PLACEHOLDER", "InitError", "Scaffold", "init", "scaffold_files"]

PLACEHOLDER = "CHANGE ME"
TEAM = "example"

PYPROJECT = """\
# ecsgen reads [tool.ecsgen] from here in any folder below, so `ecsgen render`, `ecsgen check`
# and `ecsgen validate` need no arguments (paths are relative to this file; options given on the
# command line win).
[tool.ecsgen]
specs = ["teams"]
out = "modules"
"""

DEFAULTS = f'''\
"""Values every team's spec shares. A spec imports them like any Python module; ecsgen never
reads a file whose name starts with `_` as a spec.

Every value marked {PLACEHOLDER} is a placeholder: replace it with your organisation's own."""

from ecsgen import Network

ACCOUNT = "123456789012"  # {PLACEHOLDER}: the AWS account the teams' jobs run in
REGION = "us-east-1"  # {PLACEHOLDER}: the region of the account's training capacity
REGISTRY = f"{{ACCOUNT}}.dkr.ecr.{{REGION}}.amazonaws.com"  # the ECR registry of the images

# {PLACEHOLDER}: the VPC and its private subnets (with a NAT gateway or VPC endpoints for ECR,
# CloudWatch Logs and S3) that the training tasks run in.
NETWORK = Network(
    vpc_id="vpc-00000000000000000",
    subnet_ids=["subnet-00000000000000001", "subnet-00000000000000002"],
)

TAGS = {{
    "cost-center": "ml-platform",  # {PLACEHOLDER}
    "owner": "ml-platform@example.com",  # {PLACEHOLDER}
}}
'''

EXAMPLE = f'''\
"""The {TEAM} team: one two-node PyTorch job on the smallest Fargate size.

Copy this file for each team (`teams/<team>.py`), then run `ecsgen render` and commit the
module it writes under modules/<team>/. The README's "Writing a spec" lists every field."""

from _defaults import NETWORK, REGION, REGISTRY, TAGS

from ecsgen import Fargate, Job, Team

team = Team(
    name="{TEAM}",
    region=REGION,
    tags=TAGS,
    network=NETWORK,
    jobs=[
        Job(
            name="train",
            image=f"{{REGISTRY}}/{TEAM}/train:0.1.0",  # {PLACEHOLDER}: the job's image and tag
            command=["python", "train.py"],
            nodes=2,
            compute=Fargate(cpu=1024, memory=2048),
        ),
    ],
)
'''

ROOT_TF = f"""\
# The root configuration CI applies: the AWS provider and one module block per team, each
# calling the module ecsgen wrote under modules/<team>/. Add a block when you add a team.

terraform {{
  required_version = ">= 1.5.7"

  required_providers {{
    aws = {{ source = "hashicorp/aws", version = ">= 5.100, < 7.0" }}
  }}

  # {PLACEHOLDER}: where the state lives, for example
  # backend "s3" {{
  #   bucket = "my-org-terraform-state"
  #   key    = "ml-training/terraform.tfstate"
  #   region = "us-east-1"
  # }}
}}

provider "aws" {{
  region = "us-east-1" # {PLACEHOLDER}: the REGION of teams/_defaults.py
}}

module "{TEAM}" {{
  source = "../modules/{TEAM}"

  # Operating a job is a change here, applied by CI (see modules/{TEAM}/README.md), e.g.:
  # train_nodes = 0     # stop the job
  # train_run   = "2"   # start a new run
}}
"""

GITIGNORE = """\
# Terraform working files and local state
.terraform/
*.tfstate
*.tfstate.*
crash.log

# ecsgen's lock and a render's transient files (the modules and their manifests are committed)
.ecsgen.lock
.ecsgen-staging/
.ecsgen-journal.json

__pycache__/
"""

PRE_COMMIT = f"""\
# pre-commit hooks: `pre-commit install`, then every commit checks that the modules match the
# specs and that Terraform files are formatted. The ecsgen hooks read [tool.ecsgen] from
# pyproject.toml, so they need no args.
repos:
  - repo: https://github.com/your-org/ecsgen # {PLACEHOLDER}: where you install ecsgen from
    rev: v{__version__}
    hooks:
      - id: ecsgen-check # or ecsgen-render, to regenerate the modules on commit
  - repo: local
    hooks:
      - id: terraform-fmt
        name: terraform fmt
        entry: terraform fmt -check -recursive
        language: system
        files: \\.tf$
        pass_filenames: false
"""

WORKFLOW = f"""\
# CI for the infrastructure repository: the committed modules match the specs, are valid, and
# the root configuration validates. Applying (terraform plan/apply with credentials) is yours
# to add after these steps.
name: ecsgen

on:
  pull_request:
  push:
    branches: [main]

jobs:
  modules:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - uses: hashicorp/setup-terraform@v3
        with:
          terraform_version: "1.11.4"
          terraform_wrapper: false
      - name: Install ecsgen
        run: pip install "ecsgen=={__version__}" # {PLACEHOLDER}: or your internal index or wheel
      - name: Modules match the specs
        run: ecsgen check
      - name: Modules are valid
        run: ecsgen validate
      - name: Terraform formatting
        run: terraform fmt -check -recursive
      - name: Terraform init
        run: terraform -chdir=terraform init -backend=false -input=false
      - name: Terraform validate
        run: terraform -chdir=terraform validate
"""


@dataclass(frozen=True, slots=True)
class Scaffold:
    """What `init` wrote: the folder and the files, relative to it."""

    folder: Path
    files: tuple[str, ...]


class InitError(EcsgenError):
    """`init` would overwrite a file, or cannot write the folder."""

    exit_code = 2


def scaffold_files() -> dict[str, str]:
    """Relative path -> text of every file `init` writes."""
    return {
        "pyproject.toml": PYPROJECT,
        "teams/_defaults.py": DEFAULTS,
        f"teams/{TEAM}.py": EXAMPLE,
        "terraform/main.tf": ROOT_TF,
        ".gitignore": GITIGNORE,
        ".pre-commit-config.yaml": PRE_COMMIT,
        ".github/workflows/ecsgen.yml": WORKFLOW,
    }


def init(folder: Path) -> Scaffold:
    """Write the scaffold into `folder` (created if missing); `InitError`, with nothing
    written, when any of its files (or a link in its place) already exists."""
    files = scaffold_files()
    taken = [name for name in files if os.path.lexists(folder / name)]
    if taken:
        base = display_path(folder)  # the folder resolved, each name as written (not followed)
        shown = ", ".join(name if base == "." else f"{base}/{name}" for name in taken)
        raise InitError(
            f"refusing to overwrite {shown}: `ecsgen init` only writes a new repository; "
            "add what is missing by hand (the README's 'Start an infrastructure repository' "
            "lists each file)"
        )
    written: list[Path] = []
    try:
        for name, text in files.items():
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("x", encoding="utf-8") as handle:  # never replaces a file
                written.append(path)
                handle.write(text)
    except OSError as exc:
        for path in written:  # leave no half-written repository behind
            path.unlink(missing_ok=True)
        raise InitError(f"cannot write {display_path(folder)}: {exc}") from exc
    return Scaffold(folder, tuple(files))
