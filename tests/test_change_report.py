"""What `check` and `render` tell a reviewer: the impact summary and totals, `--stat`, the JSON
`impact`, drift reasons, the diff without manifests, the footer, colour (a terminal, a pipe,
NO_COLOR, --color) and the render report (-v, discarded hand edits)."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from ecsgen.cli import main
from tests.conftest import ROOT

SPEC = """from ecsgen import Fargate, Job, Team
team = Team(name="vision", region="us-east-1", jobs=[
    Job(name="{job}", image="r/x:{tag}", command=["python", "t.py"], nodes=2,
        compute=Fargate(cpu=256, memory=512)),
])
"""
ESC = "\x1b["


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner(env=env).invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def _spec(folder: Path, job: str = "resnet", tag: str = "1") -> None:
    (folder / "specs" / "vision.py").write_text(SPEC.format(job=job, tag=tag), encoding="utf-8")


@pytest.fixture
def rendered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "specs").mkdir()
    _spec(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, _, err = invoke("render", "specs", "-j", "1")
    assert code == 0, err
    return tmp_path


def test_first_render_reports_teams_and_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "specs").mkdir()
    _spec(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, _, err = invoke("render", "specs", "-j", "1", "-v")
    assert code == 0, err
    lines = err.splitlines()
    written = [line for line in lines if line.startswith("ecsgen: wrote ")]
    assert sorted(written) == sorted(
        f"ecsgen: wrote output/vision/{n}"
        for n in (
            "README.md",
            "job_resnet.tf",
            "main.tf",
            "outputs.tf",
            "variables.tf",
            "versions.tf",
        )
    )
    assert "team vision (a new module): 38 to add, 0 to remove, 0 changed" in lines
    assert lines[-1].startswith(
        "ecsgen: 1 rendered (vision), 0 up to date in output/; 6 files written, 0 removed, "
    )
    code, _, err = invoke("render", "specs", "-j", "1")
    assert code == 0
    assert err.startswith("ecsgen: 0 rendered, 1 up to date in output/; 0 files written, 0 removed")


def test_check_ends_with_the_impact_the_footer_and_no_manifest(rendered: Path) -> None:
    _spec(rendered, tag="2")
    code, out, err = invoke("check", "specs", "-j", "1")
    assert code == 1
    assert ".ecsgen-manifest.json" not in out, "manifests are left out of the diff"
    assert (
        "# output/vision/variables.tf: differs from the render; on disk is what ecsgen wrote, "
        "so the spec, the templates or the settings changed\n"
        "--- output/vision/variables.tf (on disk)\n"
    ) in out
    assert out.endswith(  # the rules match the leader's task definition ARN: changed too
        "team vision: 2 to add, 2 to remove, 5 changed\n"
        "-/+ aws_ecs_task_definition.resnet_leader (replaced)\n"
        "-/+ aws_ecs_task_definition.resnet_worker (replaced)\n"
        "  ~ aws_cloudwatch_event_rule.resnet_failed\n"
        "  ~ aws_cloudwatch_event_rule.resnet_finished\n"
        "  ~ aws_cloudwatch_event_rule.resnet_started\n"
        "  ~ aws_ecs_service.resnet_leader\n"
        "  ~ aws_ecs_service.resnet_workers\n"
        "1 team: 2 to add, 2 to remove (2 replaced), 5 changed\n"
        "ecsgen: 1 team, 2 files differ (1 manifest not shown)\n"
    ), out[-600:]
    # the hint is pasteable: the render command with this run's specs
    assert "ecsgen: the modules on disk differ from the specs; run `ecsgen render specs`\n" in err


def test_stat_prints_only_the_summaries(rendered: Path) -> None:
    _spec(rendered, job="resnet-v2")
    code, out, _ = invoke("check", "specs", "-j", "1", "--stat")
    assert code == 1
    assert "@@" not in out and "--- " not in out
    lines = out.splitlines()
    assert lines[0].startswith("team vision: ")
    assert "  warning: aws_cloudwatch_log_group.resnet: the log group /ecs/vision/resnet" in out
    assert "If a job was renamed, nothing of it carries over" in out
    assert lines[-1] == "ecsgen: 1 team, 5 files differ (1 manifest not shown)"


def test_json_carries_the_impact(rendered: Path) -> None:
    code, out, _ = invoke("check", "specs", "-j", "1", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["impact"] == {
        "teams": [],
        "total": {"teams": 0, "add": 0, "remove": 0, "change": 0, "replace": 0, "warnings": 0},
    }
    _spec(rendered, job="resnet-v2")
    code, out, _ = invoke("check", "specs", "-j", "1", "--format", "json")
    assert code == 1
    doc = json.loads(out)
    (team,) = doc["impact"]["teams"]
    assert team["team"] == "vision" and "aws_cloudwatch_log_group.resnet_v2" in team["add"]
    assert "aws_cloudwatch_log_group.resnet" in team["remove"]
    assert "aws_ssm_parameter.resnet_run_progress" in team["remove"], "removed, no warning"
    assert [w.split(":")[0] for w in team["warnings"]] == [
        "aws_cloudwatch_log_group.resnet",
        "aws_cloudwatch_log_group.resnet_states",
        "aws_ssm_parameter.resnet_run",
    ]
    assert doc["impact"]["total"] == {
        "teams": 1,
        "add": 34,
        "remove": 34,
        "change": 0,
        "replace": 0,
        "warnings": 3,
    }
    reasons = {(d["path"], d["code"]) for d in doc["items"]}
    assert ("output/vision/job_resnet_v2.tf", "missing") in reasons
    assert ("output/vision/variables.tf", "spec-changed") in reasons


def test_drift_reasons_tell_edits_from_spec_changes(rendered: Path) -> None:
    main_tf = rendered / "output" / "vision" / "main.tf"
    main_tf.write_text(main_tf.read_text(encoding="utf-8") + "# note\n", encoding="utf-8")
    _spec(rendered, tag="2")
    _, out, _ = invoke("check", "specs", "-j", "1", "--format", "json")
    reasons = {d["path"]: d["code"] for d in json.loads(out)["items"]}
    assert reasons["output/vision/main.tf"] == "edited"
    assert reasons["output/vision/variables.tf"] == "spec-changed"
    (rendered / "output" / "vision" / ".ecsgen-manifest.json").unlink()
    _, out, _ = invoke("check", "specs", "-j", "1", "--format", "json")
    reasons = {d["path"]: d["code"] for d in json.loads(out)["items"]}
    assert reasons["output/vision/variables.tf"] == "differs", "no manifest: no telling which"


def test_render_names_removed_files_and_discarded_edits(rendered: Path) -> None:
    main_tf = rendered / "output" / "vision" / "main.tf"
    main_tf.write_text(main_tf.read_text(encoding="utf-8") + "# note\n", encoding="utf-8")
    _spec(rendered, job="resnet-v2")
    code, _, err = invoke("render", "specs", "-j", "1", "--force", "-v")
    assert code == 0, err
    lines = err.splitlines()
    assert "ecsgen: discarded hand edit: output/vision/main.tf" in lines
    assert "ecsgen: removed output/vision/job_resnet.tf (no longer generated)" in lines
    assert "ecsgen: wrote output/vision/job_resnet_v2.tf" in lines
    assert any(line.startswith("  warning: aws_cloudwatch_log_group.resnet:") for line in lines)
    assert lines[-1].startswith(
        "ecsgen: 1 rendered (vision), 0 up to date in output/; 5 files written, 1 removed, "
    )


def _run_on_terminal(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    """Run `python -m ecsgen ARGS` with stdout on a pseudo-terminal; what it printed there."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ecsgen", *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=subprocess.DEVNULL,
    )
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the other end is closed
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
    finally:
        os.close(master)
        proc.wait(timeout=30)
    return b"".join(chunks).decode("utf-8", errors="replace")


@pytest.fixture
def gen_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


def test_colour_on_a_terminal_not_in_a_pipe_and_not_with_no_color(
    rendered: Path, gen_env: dict[str, str]
) -> None:
    _spec(rendered, tag="2")
    args = ["check", "specs", "-j", "1"]
    on_terminal = _run_on_terminal(args, rendered, gen_env)
    assert f"{ESC}31m-" in on_terminal and f"{ESC}32m+" in on_terminal, on_terminal[-2000:]
    assert f"{ESC}35m-/+ aws_ecs_task_definition.resnet_leader (replaced)" in on_terminal
    piped = subprocess.run(
        [sys.executable, "-m", "ecsgen", *args],
        cwd=rendered,
        env=gen_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert piped.returncode == 1 and "-/+ aws_ecs_task_definition" in piped.stdout
    assert ESC not in piped.stdout + piped.stderr
    no_color = _run_on_terminal(args, rendered, {**gen_env, "NO_COLOR": "1"})
    assert "-/+ aws_ecs_task_definition" in no_color and ESC not in no_color
    never = _run_on_terminal([*args, "--color", "never"], rendered, gen_env)
    assert "-/+ aws_ecs_task_definition" in never and ESC not in never


def test_color_always_and_never_win_over_the_stream(rendered: Path) -> None:
    _spec(rendered, tag="2")
    code, out, _ = invoke("check", "specs", "-j", "1", "--color", "always", env={"NO_COLOR": "1"})
    assert code == 1 and f"{ESC}1m--- output/vision/variables.tf (on disk)" in out
    code, out, _ = invoke("check", "specs", "-j", "1", "--color", "never")
    assert code == 1 and ESC not in out


def test_a_removed_team_is_summarised_with_what_its_removal_destroys(rendered: Path) -> None:
    (rendered / "specs" / "other.py").write_text(
        SPEC.format(job="resnet", tag="1").replace('"vision"', '"other"'), encoding="utf-8"
    )
    (rendered / "specs" / "vision.py").unlink()
    code, out, _ = invoke("check", "specs", "-j", "1", "--stat")
    assert code == 1
    lines = out.splitlines()
    assert "team vision (the team's module is removed): 0 to add, 38 to remove, 0 changed" in lines
    assert "team other (a new module): 38 to add, 0 to remove, 0 changed" in lines
    warned = [line.split(":")[1].strip() for line in lines if line.startswith("  warning: ")]
    assert warned == [  # not the run-progress parameter, nor the KMS key or the queues
        "aws_cloudwatch_log_group.resnet",
        "aws_cloudwatch_log_group.resnet_states",
        "aws_sns_topic.notifications",
        "aws_ssm_parameter.resnet_run",
    ]
    assert "2 teams: 38 to add, 38 to remove, 0 changed; 4 warnings" in lines
    code, out, _ = invoke("check", "specs", "-j", "1", "--format", "json")
    teams = {t["team"]: t for t in json.loads(out)["impact"]["teams"]}
    assert teams["vision"]["removed_team"] and len(teams["vision"]["remove"]) == 38
    assert {"aws_kms_key.notifications", "aws_ssm_parameter.resnet_run_progress"} <= set(
        teams["vision"]["remove"]
    )


def test_render_prune_summarises_the_removed_module(rendered: Path) -> None:
    (rendered / "specs" / "vision.py").unlink()
    (rendered / "specs" / "other.py").write_text(
        SPEC.format(job="resnet", tag="1").replace('"vision"', '"other"'), encoding="utf-8"
    )
    code, _, err = invoke("render", "specs", "-j", "1", "--prune")
    assert code == 0, err
    lines = err.splitlines()
    assert "team vision (the team's module is removed): 0 to add, 38 to remove, 0 changed" in lines
    assert any(x.startswith("  warning: aws_cloudwatch_log_group.resnet:") for x in lines)
    assert any(x.startswith("  warning: aws_cloudwatch_log_group.resnet_states:") for x in lines)
    assert not (rendered / "output" / "vision").exists()


class _Stream:
    def __init__(self, tty: bool) -> None:
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize(
    ("choice", "tty", "environ", "expected"),
    [
        ("auto", True, {}, True),
        ("auto", False, {}, False),
        ("auto", True, {"NO_COLOR": "1"}, False),
        ("auto", True, {"NO_COLOR": ""}, True),  # no-color.org: set and not empty
        ("always", False, {"NO_COLOR": "1"}, True),
        ("never", True, {}, False),
    ],
)
def test_use_color(choice: str, tty: bool, environ: dict[str, str], expected: bool) -> None:
    from ecsgen.diffview import use_color

    assert use_color(choice, _Stream(tty), environ) is expected  # type: ignore[arg-type]
