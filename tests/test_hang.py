"""Nothing hangs: a worker process that dies (a kill -9 from outside, the OOM killer) is noticed,
the command exits 2 naming the team it was working on, the output lock is released and the
previous output is left whole; a spec that never finishes loading is stopped after the spec time
limit and named, exit 2, nothing written. Every command here runs in a forked child that the
test kills if it has not ended within a bound, so a regression fails instead of hanging."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ecsgen import ondisk, pipeline
from ecsgen.cli import main
from ecsgen.lock import LOCK_NAME, output_lock

SPEC = """from ecsgen import Fargate, Job, Team
team = Team(name="{team}", region="us-east-1", jobs=[
    Job(name="train", image="r/x:1", command=["python", "t.py"], nodes={nodes},
        compute=Fargate(cpu=256, memory=512)),
])
"""
TEAMS = ("alpha", "bravo", "charlie", "delta")
BOUND = 60.0  # seconds a command may take here before the test calls it a hang


def write_specs(folder: Path, nodes: int) -> None:
    folder.mkdir(exist_ok=True)
    for team in TEAMS:
        (folder / f"{team}.py").write_text(SPEC.format(team=team, nodes=nodes), encoding="utf-8")


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def run_bounded(
    cwd: Path,
    args: list[str],
    before: Callable[[], None] | None = None,
    during: Callable[[int], None] | None = None,
) -> tuple[int, str]:
    """The CLI in a forked child (`before` runs there first); (exit code, stderr). `during(pid)`
    runs in the test while the child works. A child still running after BOUND is killed and the
    test fails: that is the hang this file is about."""
    err = cwd / f"stderr-{time.monotonic_ns()}"
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 99
        try:
            os.setpgid(0, 0)  # its own group, so the test can end it and its workers
            os.chdir(cwd)
            fd = os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(fd, 2)
            sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            if before is not None:
                before()
            try:
                main(args, standalone_mode=False)
                code = 0
            except SystemExit as exc:
                code = int(exc.code or 0)
            except BaseException:  # noqa: BLE001 - a traceback is a failure the test shows
                import traceback

                traceback.print_exc()
                code = 98
        finally:
            os._exit(code)
    if during is not None:
        during(pid)
    deadline = time.monotonic() + BOUND
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail(f"ecsgen {' '.join(args)} still running after {BOUND:g}s: it hangs")
        time.sleep(0.05)
    return os.waitstatus_to_exitcode(status), err.read_text(encoding="utf-8")


def stall_in_worker(team: str, flag: Path) -> Callable[[], None]:
    """In the CLI child: the worker that takes `team` writes its pid to `flag`, then stalls
    (as a process stuck in a template would) until the test kills it."""

    def patch() -> None:
        original = pipeline._team
        parent = os.getpid()

        def stalled(config: object, **kwargs: object) -> object:
            if getattr(config, "name", "") == team and os.getpid() != parent:
                flag.write_text(str(os.getpid()), encoding="utf-8")
                time.sleep(BOUND * 2)
            return original(config, **kwargs)  # type: ignore[arg-type]

        pipeline._team = stalled  # type: ignore[assignment]

    return patch


def kill_when_flagged(flag: Path) -> Callable[[int], None]:
    def kill(_: int) -> None:
        deadline = time.monotonic() + BOUND
        while not flag.exists() or not flag.read_text(encoding="utf-8"):
            assert time.monotonic() < deadline, "the worker never reached the team"
            time.sleep(0.02)
        os.kill(int(flag.read_text(encoding="utf-8")), signal.SIGKILL)

    return kill


@pytest.fixture
def rendered(tmp_path: Path) -> Path:
    write_specs(tmp_path / "specs", nodes=1)
    code, err = run_bounded(tmp_path, ["render", "specs", "--jobs", "1"])
    assert code == 0, err
    write_specs(tmp_path / "specs", nodes=2)  # every team changes: each one is rendered again
    return tmp_path


@pytest.mark.parametrize("command", ["render", "check"])
def test_a_worker_killed_mid_command_is_noticed_and_named(rendered: Path, command: str) -> None:
    before = tree(rendered / "output")
    flag = rendered / "flag"
    code, err = run_bounded(
        rendered,
        [command, "specs", "--jobs", "2"],
        before=stall_in_worker("charlie", flag),
        during=kill_when_flagged(flag),
    )
    assert code == 2, err
    assert "Traceback" not in err
    assert "killed by signal 9" in err and "charlie" in err, err
    assert tree(rendered / "output") == before  # the previous output, whole
    assert not (rendered / "output" / LOCK_NAME).exists()
    with output_lock(rendered / "output", wait=0):  # released: taken at once
        pass


def test_a_worker_killed_mid_validate_is_noticed(rendered: Path) -> None:
    flag = rendered / "flag"

    def patch() -> None:
        original = ondisk._inspected
        parent = os.getpid()

        def stalled(folder: Path) -> tuple[list[str], list[str]]:
            if folder.name == "bravo" and os.getpid() != parent:
                flag.write_text(str(os.getpid()), encoding="utf-8")
                time.sleep(BOUND * 2)
            return original(folder)

        ondisk._inspected = stalled

    code, err = run_bounded(
        rendered,
        ["validate", "output", "--jobs", "2"],
        before=patch,
        during=kill_when_flagged(flag),
    )
    assert code == 2, err
    assert "killed by signal 9" in err and "bravo" in err, err


def test_a_worker_that_exits_is_noticed(rendered: Path) -> None:
    def patch() -> None:
        original = pipeline._team
        parent = os.getpid()

        def exits(config: object, **kwargs: object) -> object:
            if getattr(config, "name", "") == "delta" and os.getpid() != parent:
                os._exit(0)
            return original(config, **kwargs)  # type: ignore[arg-type]

        pipeline._team = exits  # type: ignore[assignment]

    code, err = run_bounded(rendered, ["check", "specs", "--jobs", "3"], before=patch)
    assert code == 2, err
    assert "exited with status 0" in err and "delta" in err, err


ENDLESS = {
    "loop": "while True:\n    pass\n",
    "sleep": "import time\ntime.sleep(3600)\n",
}


@pytest.mark.parametrize("how", sorted(ENDLESS))
@pytest.mark.parametrize("where", ["spec", "shared module"])
def test_an_endless_spec_is_stopped_and_named(tmp_path: Path, how: str, where: str) -> None:
    write_specs(tmp_path / "specs", nodes=1)
    spec = tmp_path / "specs" / "bravo.py"
    if where == "spec":
        spec.write_text(ENDLESS[how] + spec.read_text(encoding="utf-8"), encoding="utf-8")
    else:
        (tmp_path / "specs" / "_slow.py").write_text(ENDLESS[how], encoding="utf-8")
        spec.write_text("import _slow\n" + spec.read_text(encoding="utf-8"), encoding="utf-8")
    started = time.monotonic()
    code, err = run_bounded(tmp_path, ["render", "specs", "--spec-timeout", "1"])
    assert code == 2, err
    assert time.monotonic() - started < BOUND / 2
    assert "specs/bravo.py" in err and "1s" in err and "--spec-timeout" in err, err
    assert not (tmp_path / "output").exists()  # nothing written


def test_the_spec_time_limit_is_a_repository_setting(tmp_path: Path) -> None:
    write_specs(tmp_path / "specs", nodes=1)
    spec = tmp_path / "specs" / "alpha.py"
    spec.write_text("import time\ntime.sleep(3600)\n" + spec.read_text(encoding="utf-8"))
    (tmp_path / "pyproject.toml").write_text("[tool.ecsgen]\nspec-timeout = 0.5\n")
    code, err = run_bounded(tmp_path, ["check", "specs"])
    assert code == 2 and "specs/alpha.py" in err and "0.5s" in err, err
    (tmp_path / "pyproject.toml").write_text('[tool.ecsgen]\nspec-timeout = "soon"\n')
    code, err = run_bounded(tmp_path, ["check", "specs"])
    assert code == 2 and "spec-timeout" in err and "Traceback" not in err, err


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:  # a zombie nobody reaps (PID 1 of a container may not) has ended too
        status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    except OSError:
        return True
    return "\nState:\tZ" in status


def test_a_spec_left_running_by_a_killed_ecsgen_ends_too(tmp_path: Path) -> None:
    write_specs(tmp_path / "specs", nodes=1)
    spec = tmp_path / "specs" / "alpha.py"
    spec.write_text(
        "import os, pathlib\npathlib.Path('spec-pid').write_text(str(os.getpid()))\n"
        "while True:\n    pass\n" + spec.read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    flag = tmp_path / "spec-pid"

    def kill_ecsgen(pid: int) -> None:
        deadline = time.monotonic() + BOUND
        while not flag.exists() or not flag.read_text(encoding="utf-8"):
            assert time.monotonic() < deadline, "the spec never ran"
            time.sleep(0.02)
        os.kill(pid, signal.SIGKILL)  # as a CI step timeout would

    code, _ = run_bounded(tmp_path, ["check", "specs"], during=kill_ecsgen)
    assert code == -signal.SIGKILL
    child = int(flag.read_text(encoding="utf-8"))
    deadline = time.monotonic() + 10
    while not _gone(child):
        if time.monotonic() > deadline:
            os.kill(child, signal.SIGKILL)
            pytest.fail("the spec's loading process outlived ecsgen")
        time.sleep(0.05)
