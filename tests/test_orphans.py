"""Ownership of whole modules: a module nobody's spec produces any more (a removed or renamed
team) is reported by `check` (exit 1, `orphaned`, naming the spec), named by `render` (and
removed with `--prune` while it still has ecsgen's bytes), and flagged by `validate` when its
spec is gone; a generated file the render no longer makes (a renamed job whose file was edited)
is drift and a problem until it is gone, as Terraform agrees; and what `validate` refuses in a
module (a provider block) `render` and `check` refuse too."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from ecsgen.cli import main
from tests.conftest import Terraform

SPEC = """from ecsgen import Fargate, Job, Team
team = Team(name="{team}", region="us-east-1", jobs=[
    Job(name="{job}", image="r/x:1", command=["python", "t.py"], nodes=2,
        compute=Fargate(cpu=256, memory=512)),
])
"""


def write(folder: Path, file: str, team: str, job: str = "train") -> None:
    folder.mkdir(exist_ok=True)
    (folder / f"{file}.py").write_text(SPEC.format(team=team, job=job), encoding="utf-8")


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.stderr, result.stderr
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for team in ("nlp", "speech", "vision"):
        write(tmp_path / "specs", team, team)
    assert invoke("render", "specs")[0] == 0
    return tmp_path


def test_a_removed_team_is_an_orphan(workdir: Path) -> None:
    (workdir / "specs" / "speech.py").unlink()
    code, out, err = invoke("check", "specs")
    assert code == 1
    assert (
        "output/speech/: an orphaned module: made from specs/speech.py, which no longer exists"
        in out
    )
    code, out, _ = invoke("check", "specs", "--format", "json")
    items = json.loads(out)["items"]
    assert code == 1 and [(i["code"], i["team"]) for i in items] == [("orphaned", "speech")]
    assert "specs/speech.py" in items[0]["message"]
    code, _, err = invoke("validate", "output")
    assert code == 1 and "output/speech: made from specs/speech.py, which no longer exists" in err
    code, _, err = invoke("render", "specs")
    assert code == 0 and "output/speech/: an orphaned module" in err and "--prune" in err
    assert (workdir / "output" / "speech" / "main.tf").exists()  # left without --prune
    code, _, err = invoke("render", "specs", "--prune")
    assert code == 0, err
    assert "pruned the orphaned module output/speech/" in err
    assert not (workdir / "output" / "speech").exists()
    assert invoke("check", "specs")[0] == 0
    assert invoke("validate", "output")[0] == 0


def test_a_renamed_team_is_an_orphan(workdir: Path) -> None:
    write(workdir / "specs", "vision", "vision2")
    code, out, _ = invoke("check", "specs")
    assert code == 1
    assert (
        "output/vision/: an orphaned module: made from specs/vision.py, which now defines team 'vision2'"
        in out
    )
    assert invoke("render", "specs", "--prune")[0] == 0
    assert sorted(p.name for p in (workdir / "output").iterdir()) == ["nlp", "speech", "vision2"]
    assert invoke("check", "specs")[0] == 0


def test_an_edited_orphan_is_pruned_only_with_force(workdir: Path) -> None:
    main_tf = workdir / "output" / "speech" / "main.tf"
    main_tf.write_text(main_tf.read_text() + "# mine\n")
    (workdir / "output" / "speech" / "backend.tf").write_text("# hand-written\n")
    (workdir / "specs" / "speech.py").unlink()
    code, _, err = invoke("render", "specs", "--prune")
    assert code == 2 and "output/speech/ (main.tf)" in err and "--force" in err
    assert main_tf.exists()
    code, _, err = invoke("render", "specs", "--prune", "--force")
    assert code == 0, err
    assert not main_tf.exists()
    assert (workdir / "output" / "speech" / "backend.tf").exists()  # never ecsgen's
    assert "kept, for the files ecsgen did not write: backend.tf" in err


def test_modules_from_specs_outside_what_was_given_are_left_alone(workdir: Path) -> None:
    shutil.move(workdir / "specs" / "speech.py", workdir / "speech.py")
    assert invoke("check", "specs/nlp.py", "specs/vision.py")[0] == 0  # speech: not given
    write(workdir / "more", "other", "other")
    assert invoke("render", "more")[0] == 0
    assert invoke("check", "more")[0] == 0  # the specs/ modules are not its business
    code, out, _ = invoke("check", "specs")
    assert code == 1 and "output/speech/" in out and "output/other" not in out


def test_an_edited_then_renamed_job_is_reported_until_deleted(
    workdir: Path, terraform: Terraform
) -> None:
    job = workdir / "output" / "vision" / "job_train.tf"
    job.write_text(job.read_text() + "# my edit\n")
    write(workdir / "specs", "vision", "vision", job="train2")
    code, _, err = invoke("render", "specs")
    assert code == 2 and "output/vision/job_train.tf" in err
    assert "delete" in err  # what works here: --force would keep it
    code, _, err = invoke("render", "specs", "--force")
    assert (
        code == 0 and "job_train.tf: edited by hand and no longer generated; left in place" in err
    )
    module = workdir / "output" / "vision"
    terraform.ok("init", "-backend=false", "-input=false", cwd=module, timeout=180)
    assert terraform.run("validate", cwd=module, timeout=180).returncode != 0  # it refuses
    code, out, _ = invoke("check", "specs")
    assert code == 1 and "output/vision/job_train.tf: has ecsgen's header" in out
    code, out, _ = invoke("check", "specs", "--format", "json")
    assert [(i["code"], i["path"]) for i in json.loads(out)["items"]] == [
        ("stale", "output/vision/job_train.tf")
    ]
    code, _, err = invoke("validate", "output")
    assert code == 1 and "output/vision/job_train.tf: has ecsgen's header but is not in" in err
    job.unlink()
    assert terraform.run("validate", cwd=module, timeout=180).returncode == 0  # agreed
    assert invoke("check", "specs")[0] == 0
    assert invoke("validate", "output")[0] == 0


def test_a_provider_block_is_refused_by_render_check_and_validate(workdir: Path) -> None:
    (workdir / "tpl").mkdir()
    (workdir / "tpl" / "outputs.tf.j2").write_text(
        '{% extends "bundled/outputs.tf.j2" %}{% block extra %}\n'
        'provider "aws" {\n  region = "us-east-1"\n}\n{% endblock %}\n'
    )
    for jobs in ("1", "2"):
        for command in ("render", "check"):
            code, _, err = invoke(command, "specs", "--templates", "tpl", "--jobs", jobs)
            assert code == 2, (command, err)
            assert "outputs.tf: a module must not configure a provider" in err, err
    module = workdir / "output" / "nlp" / "outputs.tf"
    module.write_text(module.read_text() + 'provider "aws" {\n  region = "us-east-1"\n}\n')
    code, _, err = invoke("validate", "output/nlp")
    assert code == 1 and "outputs.tf: a module must not configure a provider" in err
