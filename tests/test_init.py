"""`ecsgen init`: a new infrastructure repository that renders, checks and passes its own CI
steps (terraform offline, against the provider mirror) with no arguments; nothing overwritten."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from ecsgen.cli import main
from ecsgen.scaffold import PLACEHOLDER, scaffold_files
from tests.conftest import Terraform

FILES = sorted(scaffold_files())


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_init_then_render_and_check_with_no_arguments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = invoke("init", "infra")
    assert code == 0, err
    repo = tmp_path / "infra"
    assert _files(repo) == FILES
    assert "`cd infra && ecsgen render`" in err
    monkeypatch.chdir(repo)
    code, _, err = invoke("render")
    assert code == 0, err
    assert "1 rendered (example), 0 up to date in modules/" in err
    for command in ("check", "validate"):
        code, _, err = invoke(command)
        assert code == 0, (command, err)
    monkeypatch.chdir(repo / "teams")  # from anywhere inside the repository
    assert invoke("check")[0] == 0
    # every value to replace is marked, and each marked file says so
    marked = [name for name in FILES if PLACEHOLDER in (repo / name).read_text(encoding="utf-8")]
    assert set(marked) >= {"teams/_defaults.py", "teams/example.py", "terraform/main.tf"}
    ignored = (repo / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert {".terraform/", ".ecsgen.lock", ".ecsgen-staging/"} <= set(ignored)


def test_init_in_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = invoke("init")
    assert code == 0, err
    assert _files(tmp_path) == FILES
    assert "then `ecsgen render` and commit" in err


def test_init_refuses_to_overwrite_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "mine"\n', encoding="utf-8")
    (tmp_path / ".gitignore").symlink_to("elsewhere")  # a dangling link is in the way too
    code, _, err = invoke("init")
    assert code == 2
    assert err.startswith("ecsgen: error: refusing to overwrite pyproject.toml, .gitignore:")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".gitignore", "pyproject.toml"]
    assert (tmp_path / "pyproject.toml").read_text(encoding="utf-8") == '[project]\nname = "mine"\n'
    code, _, err = invoke("init", str(tmp_path / "pyproject.toml"))  # a file, not a folder
    assert code == 2 and "Traceback" not in err


def test_the_hooks_config_is_the_one_the_readme_shows(tmp_path: Path) -> None:
    config = yaml.safe_load(scaffold_files()[".pre-commit-config.yaml"])
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    assert [hook["id"] for hook in hooks] == ["ecsgen-check", "terraform-fmt"]
    assert "args" not in hooks[0]  # the layout comes from [tool.ecsgen]
    assert hooks[1]["entry"] == "terraform fmt -check -recursive"


@pytest.mark.terraform
def test_the_generated_ci_steps_pass_offline(
    tmp_path: Path, terraform: Terraform, ecsgen_bin: Path
) -> None:
    """Every `run:` step of the scaffold's workflow after installing ecsgen, in a shell as CI
    runs it, with terraform installing the provider from the local mirror."""
    repo = tmp_path / "infra"
    env = terraform.env() | {"PATH": f"{ecsgen_bin}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run(["ecsgen", "init", str(repo)], env=env, check=True, timeout=60)
    subprocess.run(["ecsgen", "render"], cwd=repo, env=env, check=True, timeout=120)
    workflow = yaml.safe_load((repo / ".github" / "workflows" / "ecsgen.yml").read_text())
    steps = workflow["jobs"]["modules"]["steps"]
    runs = [step for step in steps if "run" in step]
    assert runs[0]["name"] == "Install ecsgen"
    names = [step["name"] for step in runs[1:]]
    assert names == [
        "Modules match the specs",
        "Modules are valid",
        "Terraform formatting",
        "Terraform init",
        "Terraform validate",
    ]
    for step in runs[1:]:
        result = subprocess.run(
            ["bash", "-eo", "pipefail", "-c", step["run"]],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, (step["name"], result.stdout, result.stderr)
    assert "The configuration is valid." in result.stdout
    # and the step that must fail does: a module out of step with its spec
    spec = repo / "teams" / "example.py"
    spec.write_text(spec.read_text(encoding="utf-8").replace("nodes=2", "nodes=3"))
    drift = subprocess.run(
        ["bash", "-c", runs[1]["run"]],
        cwd=repo,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert drift.returncode == 1
