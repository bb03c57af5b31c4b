"""The CLI as a user meets it: render, check, validate, help, version and exit codes, and the
rules for files on disk (never touch a file ecsgen did not write; remove what it no longer
generates; write atomically)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from ecsgen import __version__, write
from ecsgen.cli import main
from ecsgen.write import journal as write_journal
from tests.conftest import EXAMPLES

SPEC = """from ecsgen import Fargate, Job, Team
team = Team(name="vision", region="us-east-1", jobs=[
    Job(name="{job}", image="r/x:1", command=["python", "t.py"], nodes=2,
        compute=Fargate(cpu=256, memory=512)),
])
"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "vision.py").write_text(SPEC.format(job="resnet"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_version_and_help() -> None:
    code, out, _ = invoke("--version")
    assert (code, out) == (0, f"ecsgen, version {__version__}\n")
    for command in ([], ["render"], ["check"], ["validate"]):
        code, out, _ = invoke(*command, "--help")
        assert code == 0 and "Usage: " in out


def test_usage_errors_exit_2(workdir: Path) -> None:
    assert invoke("render")[0] == 2  # no SPECS and no [tool.ecsgen] specs
    assert invoke("render", "missing.py")[0] == 2
    assert invoke("frobnicate")[0] == 2
    code, _, err = invoke("render", "specs", "--bogus")
    assert code == 2 and "No such option '--bogus'" in err


def test_render_then_check_is_clean(workdir: Path) -> None:
    code, _, err = invoke("render", "specs")
    assert code == 0, err
    names = sorted(p.name for p in (workdir / "output" / "vision").iterdir())
    assert names == [
        ".ecsgen-manifest.json",
        "README.md",
        "job_resnet.tf",
        "main.tf",
        "outputs.tf",
        "variables.tf",
        "versions.tf",
    ]
    code, out, err = invoke("check", "specs")
    assert (code, out) == (0, ""), err
    assert "up to date" in err


def test_check_reports_drift_as_a_diff_and_writes_nothing(workdir: Path) -> None:
    assert invoke("render", "specs")[0] == 0
    main_tf = workdir / "output" / "vision" / "main.tf"
    main_tf.write_text(main_tf.read_text().replace('name = "vision"', 'name = "other"'))
    before = main_tf.read_bytes()
    code, out, err = invoke("check", "specs")
    assert code == 1
    assert "--- output/vision/main.tf (on disk)" in out
    assert '-  name = "other"' in out and '+  name = "vision"' in out
    assert "differ from the specs" in err
    assert main_tf.read_bytes() == before


def test_check_on_a_missing_module_is_drift(workdir: Path) -> None:
    code, out, _ = invoke("check", "specs")
    assert code == 1
    assert "+++ output/vision/main.tf (rendered)" in out


def test_render_replaces_and_removes_only_generated_files(workdir: Path) -> None:
    assert invoke("render", "specs")[0] == 0
    folder = workdir / "output" / "vision"
    notes = folder / "NOTES.txt"
    notes.write_text("my notes\n")
    overrides = folder / "overrides.tf"
    overrides.write_text("# hand-written\nlocals {\n  x = 1\n}\n")
    (workdir / "specs" / "vision.py").write_text(SPEC.format(job="vit"), encoding="utf-8")
    code, _, err = invoke("render", "specs")
    assert code == 0, err
    names = sorted(p.name for p in folder.iterdir())
    assert "job_resnet.tf" not in names, "a file the render no longer produces is removed"
    assert "job_vit.tf" in names
    assert notes.read_text() == "my notes\n" and overrides.exists()


def test_render_refuses_to_overwrite_a_file_it_did_not_generate(workdir: Path) -> None:
    folder = workdir / "output" / "vision"
    folder.mkdir(parents=True)
    (folder / "main.tf").write_text("# mine\n")
    code, _, err = invoke("render", "specs")
    assert code == 2
    assert "refusing to overwrite files that ecsgen did not generate" in err
    assert "output/vision/main.tf" in err
    assert (folder / "main.tf").read_text() == "# mine\n"
    assert sorted(p.name for p in folder.iterdir()) == ["main.tf"], "nothing else written"


def test_a_failed_write_leaves_the_previous_output_whole(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert invoke("render", "specs")[0] == 0
    folder = workdir / "output" / "vision"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    (workdir / "specs" / "vision.py").write_text(SPEC.format(job="vit"), encoding="utf-8")
    calls = {"n": 0}
    real = write_journal.os.fsync

    def failing_fsync(fd: int) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(28, "No space left on device")
        real(fd)

    monkeypatch.setattr(write_journal.os, "fsync", failing_fsync)
    result = CliRunner().invoke(main, ["render", "specs"])
    assert result.exit_code != 0
    after = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert after == before, "no file changed, no temporary file left behind"


def test_validate_accepts_output_and_rejects_tampering(workdir: Path) -> None:
    assert invoke("render", "specs")[0] == 0
    code, _, err = invoke("validate", "output")
    assert code == 0, err
    assert "1 module(s) valid" in err
    main_tf = workdir / "output" / "vision" / "main.tf"
    main_tf.write_text(main_tf.read_text() + 'resource "aws_ecs_cluster" "this" {\n')
    code, _, err = invoke("validate", "output/vision")
    assert code == 1
    assert "main.tf: the rendered HCL does not parse" in err


def test_validate_accepts_hand_written_files_and_refuses_a_folder_without_a_module(
    workdir: Path,
) -> None:
    assert invoke("render", "specs")[0] == 0
    folder = workdir / "output" / "vision"
    (folder / "override.tf").write_text('locals {\n  mine = "kept"\n}\n')
    code, _, err = invoke("validate", "output/vision")
    assert (code, err) == (0, "ecsgen: 1 module(s) valid\n")
    (workdir / "empty").mkdir()
    code, _, err = invoke("validate", "empty")
    assert code == 1
    assert err == (
        "ecsgen: error: empty: no module generated by ecsgen here (no .ecsgen-manifest.json)\n"
    )
    (workdir / "handmade").mkdir()
    (workdir / "handmade" / "main.tf").write_text('resource "aws_ecs_cluster" "this" {}\n')
    code, _, err = invoke("validate", "handmade")
    assert code == 1 and "handmade: no module generated by ecsgen here" in err


def test_render_examples_from_the_repository(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "examples" / "specs")
    monkeypatch.chdir(tmp_path)
    code, _, err = invoke("render", "examples/specs")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "output").iterdir()) == [
        "frontier",
        "llm",
        "ranking",
        "recsys",
        "speech",
        "starter",
        "vision",
    ]
    code, _, err = invoke("render", "examples/specs")
    assert code == 0 and "0 files written, 0 removed" in err


def _without_inputs(manifest: bytes) -> dict[str, object]:
    doc = json.loads(manifest)
    assert isinstance(doc, dict) and isinstance(doc.pop("inputs", None), str)
    return doc


def test_same_bytes_from_any_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLES, repo / "examples" / "specs")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, _, err = invoke("render", str(repo / "examples" / "specs"), "--out", str(repo / "output"))
    assert code == 0, err
    committed = EXAMPLES.parent.parent / "output"
    for team in sorted(p.name for p in committed.iterdir() if p.is_dir()):
        for path in sorted((committed / team).iterdir()):
            made = (repo / "output" / team / path.name).read_bytes()
            if path.name == write.MANIFEST_NAME:  # `inputs`: a cache key following gen/'s bytes
                assert _without_inputs(made) == _without_inputs(path.read_bytes()), path
            else:
                assert made == path.read_bytes(), path

    monkeypatch.chdir(repo)
    assert invoke("check", "examples/specs")[0] == 0


def test_render_cleans_up_a_staged_file_left_by_a_killed_run(workdir: Path) -> None:
    assert invoke("render", "specs")[0] == 0
    folder = workdir / "output" / "vision"
    leftover = folder / ".main.tf.abc123.ecsgen-tmp"  # what ecsgen 0.1 staged beside targets
    leftover.write_bytes((folder / "main.tf").read_bytes())
    empty = folder / ".README.md.x1y2z3.ecsgen-tmp"
    empty.write_bytes(b"")  # killed between creating and writing it
    code, _, err = invoke("render", "specs")
    assert code == 0, err
    assert not leftover.exists() and not empty.exists()
    assert "removed output/vision/.main.tf.abc123.ecsgen-tmp (a staged file" in err


def test_a_spec_that_exits_is_an_error_not_a_success(workdir: Path) -> None:
    (workdir / "specs" / "vision.py").write_text("import sys\nsys.exit(0)\n")
    code, _, err = invoke("render", "specs")
    assert code == 2
    assert err == "ecsgen: error: specs/vision.py:2: the spec raised SystemExit: 0\n"
    assert not (workdir / "output").exists()
