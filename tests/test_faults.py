"""Kills and concurrency: a render killed at each of its write steps (ECSGEN_FAULT_AT=N makes the
process `os._exit` at its Nth step, exactly where a kill -9 would leave it), and two renders of
one folder at once. After each kill: every generated file is the old or the new version;
`ecsgen validate` passes only on a whole module (old or new, which Terraform accepts) and
otherwise names the interrupted render, as `ecsgen check` does; the next render ends clean."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ecsgen.cli import main
from ecsgen.lock import output_lock
from ecsgen.write import FAULT_ENV, FAULT_EXIT, JOURNAL_NAME, STAGING_NAME
from tests.conftest import ROOT, Terraform

SPEC = """from ecsgen import Ec2, Fargate, Job, Team
team = Team(name="{team}", region="us-east-1", jobs=[
    Job(name="{job}", image="r/x:1", command=["python", "t.py"], nodes={nodes},
        env={{"STEP": "{job}"}}, compute=Fargate(cpu=256, memory=512)),
])
"""
OLD = {"vision": ("resnet", 2), "starter": ("tiny", 1)}
NEW = {"vision": ("vit", 3), "starter": ("tiny", 2)}  # vision renames its job; both change


def write_specs(folder: Path, teams: dict[str, tuple[str, int]]) -> None:
    folder.mkdir(exist_ok=True)
    for team, (job, nodes) in teams.items():
        (folder / f"{team}.py").write_text(SPEC.format(team=team, job=job, nodes=nodes))


def snapshot(out: Path) -> dict[str, bytes]:
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and STAGING_NAME not in p.parts and p.name != JOURNAL_NAME
    }


def run_cli_in_child(cwd: Path, args: list[str], env: dict[str, str]) -> int:
    """Run the CLI in a forked child (a real process, as a kill would hit it); its exit code."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 99
        try:
            os.environ.update(env)
            os.chdir(cwd)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
            try:
                main(args, standalone_mode=False)
                code = 0
            except SystemExit as exc:
                code = int(exc.code or 0)
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def invoke(cwd: Path, *args: str) -> tuple[int, str, str]:
    here = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(main, list(args))
    finally:
        os.chdir(here)
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def trees(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, dict[str, bytes], dict[str, bytes]]:
    """A folder rendered from the OLD specs, and the OLD and NEW trees."""
    base = tmp_path_factory.mktemp("faults")
    write_specs(base / "specs", NEW)
    assert run_cli_in_child(base, ["render", "specs"], {}) == 0
    new = snapshot(base / "output")
    shutil.rmtree(base / "output")
    write_specs(base / "specs", OLD)
    assert run_cli_in_child(base, ["render", "specs"], {}) == 0
    old = snapshot(base / "output")
    write_specs(base / "specs", NEW)
    return base, old, new


def terraform_accepts(terraform: Terraform, work: Path, module: Path) -> bool:
    for stale in work.glob("*.tf"):
        stale.unlink()
    for path in module.glob("*.tf"):
        shutil.copy(path, work / path.name)
    if not (work / ".terraform").exists():
        terraform.ok("init", "-backend=false", "-input=false", cwd=work, timeout=120)
    return terraform.run("validate", "-json", cwd=work, timeout=180).returncode == 0


@pytest.mark.slow
@pytest.mark.terraform
def test_a_render_killed_at_every_write_step(
    trees: tuple[Path, dict[str, bytes], dict[str, bytes]],
    tmp_path: Path,
    terraform: Terraform,
) -> None:
    base, old, new = trees
    accepted: dict[str, bool] = {}
    work = tmp_path / "tf"
    work.mkdir()
    steps = 0
    outcomes: dict[str, int] = {"whole": 0, "flagged": 0}
    for step in range(1, 500):
        run = tmp_path / f"run{step}"
        run.mkdir()
        shutil.copytree(base / "specs", run / "specs")
        shutil.copytree(base / "output", run / "output")  # the OLD render
        code = run_cli_in_child(run, ["render", "specs"], {FAULT_ENV: str(step)})
        if code == 0:
            break
        assert code == FAULT_EXIT, f"step {step}: exit {code}"
        steps = step
        now = snapshot(run / "output")
        for name, data in now.items():
            if name.endswith(".ecsgen.lock"):
                continue
            assert data in (old.get(name), new.get(name)), f"step {step}: {name} is neither"
        code, _, err = invoke(run, "validate", "output")
        for team in NEW:
            module = {k: v for k, v in now.items() if k.startswith(f"{team}/")}
            whole = module == {k: v for k, v in old.items() if k.startswith(f"{team}/")} or (
                module == {k: v for k, v in new.items() if k.startswith(f"{team}/")}
            )
            pending = (run / "output" / team / JOURNAL_NAME).exists() or (
                run / "output" / team / STAGING_NAME
            ).exists()
            if not whole or pending:
                assert code != 0 and f"output/{team}: " in err, f"step {step}: {err}"
                assert "interrupted" in err
                outcomes["flagged"] += 1
            else:
                outcomes["whole"] += 1
                digest = hashlib.sha256(repr(sorted(module.items())).encode()).hexdigest()
                if digest not in accepted:
                    accepted[digest] = terraform_accepts(terraform, work, run / "output" / team)
                assert accepted[digest], f"step {step}: terraform rejects output/{team}"
        check, _, _ = invoke(run, "check", "specs")
        assert check == 1, f"step {step}: check must see the unfinished render"
        code, _, err = invoke(run, "render", "specs")
        assert code == 0, f"step {step}: the next render failed: {err}"
        assert snapshot(run / "output") == new, f"step {step}: the next render is not clean"
        leftovers = [
            p
            for p in (run / "output").rglob("*")
            if p.name in (STAGING_NAME, JOURNAL_NAME, ".ecsgen.lock")
            or p.name.endswith(".ecsgen-tmp")
            or (p.is_file() and p.stat().st_size == 0)
        ]
        assert leftovers == [], f"step {step}: {leftovers}"
        shutil.rmtree(run)
    assert steps >= 20, "every write step was tried"
    print(f"fault injection: {steps} kill points, {outcomes}, terraform runs {len(accepted)}")


def test_two_renders_of_one_folder_at_once(tmp_path: Path) -> None:
    write_specs(tmp_path / "specs", NEW)
    reference = tmp_path / "reference"
    reference.mkdir()
    shutil.copytree(tmp_path / "specs", reference / "specs")
    assert run_cli_in_child(reference, ["render", "specs"], {}) == 0
    expected = snapshot(reference / "output")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for attempt in range(8):
        if attempt % 2:
            shutil.rmtree(tmp_path / "output", ignore_errors=True)
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "ecsgen", "render", "specs"],
                cwd=tmp_path,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        results = [(p.wait(timeout=120), *p.communicate()) for p in procs]
        for code, out, err in results:
            assert code == 0, err
            assert "Traceback" not in err and out == ""
        assert snapshot(tmp_path / "output") == expected, f"attempt {attempt}"
        assert not (tmp_path / "output" / ".ecsgen.lock").exists()


def test_a_second_render_waits_then_names_the_holder(tmp_path: Path) -> None:
    write_specs(tmp_path / "specs", NEW)
    with output_lock(tmp_path / "output"):
        code, _, err = invoke(tmp_path, "render", "specs", "--wait", "0.3")
    assert code == 2
    assert err == (
        "ecsgen: error: output: another render holds the lock output/.ecsgen.lock "
        f"(pid {os.getpid()} on host {socket.gethostname()}); gave up after waiting 0.3s. "
        "Run renders of one folder one at a time\n"
    )
    assert sorted(p.name for p in (tmp_path / "output").iterdir()) == []
    assert invoke(tmp_path, "render", "specs")[0] == 0
