"""Fleet speed without losing a check: only files whose bytes are new are parsed back, on several
processes; drift reasons; machine-readable results; the progress bar only on a terminal."""

from __future__ import annotations

import hashlib
import json
import os
import pty
import subprocess
import sys
from collections.abc import Collection, Mapping
from pathlib import Path

import hcl2
import pytest
from click.testing import CliRunner

from ecsgen import __version__, fastparse, parallel, pipeline
from ecsgen.cli import main
from ecsgen.model import Module
from ecsgen.progress import Progress
from tests.conftest import OUTPUT, ROOT

SPEC = """from ecsgen import Fargate, Job, Team
team = Team(name="{team}", region="us-east-1", jobs=[
    Job(name="train", image="r/x:1", command=["python", "t.py"], nodes=2,
        env={{"STEP": "{step}"}}, compute=Fargate(cpu=256, memory=512)),
])
"""


def write_spec(folder: Path, team: str, step: str = "1") -> None:
    (folder / f"{team}.py").write_text(SPEC.format(team=team, step=step), encoding="utf-8")


@pytest.fixture
def fleet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    specs = tmp_path / "specs"
    specs.mkdir()
    for team in ("alpha", "bravo", "charlie"):
        write_spec(specs, team)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, frozenset[str]]]:
    """Records each team's parse-back: (team, files parsed). In-process runs only (--jobs 1)."""
    calls: list[tuple[str, frozenset[str]]] = []
    real = pipeline.verify_files

    def spy(module: Module, files: Mapping[str, str], only: Collection[str] | None = None) -> None:
        calls.append((module.team.name, frozenset(files if only is None else only)))
        real(module, files, only)

    monkeypatch.setattr(pipeline, "verify_files", spy)
    return calls


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def tree(folder: Path, manifests: bool = True) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and (manifests or p.name != ".ecsgen-manifest.json")
    }


def test_new_bytes_are_always_parsed_back_and_equal_bytes_never(
    fleet: Path, parsed: list[tuple[str, frozenset[str]]]
) -> None:
    code, _, err = invoke("render", "specs", "--jobs", "1")
    assert code == 0, err
    written = {str(p.relative_to(fleet / "output")) for p in (fleet / "output").rglob("*.tf")}
    assert {f"{team}/{name}" for team, names in parsed for name in names} >= written
    assert f"{len(written) + 3} files written, 0 removed, {len(written)} parsed back" in err

    parsed.clear()
    code, _, err = invoke("render", "specs", "--jobs", "1")
    assert code == 0, err
    assert parsed == [] and "0 files written, 0 removed, 0 parsed back" in err

    before = tree(fleet / "output", manifests=False)
    write_spec(fleet / "specs", "bravo", step="2")  # changes the job file only
    (fleet / "output" / "charlie" / "outputs.tf").unlink()
    code, _, err = invoke("render", "specs", "--jobs", "1")
    assert code == 0, err
    after = tree(fleet / "output", manifests=False)
    assert {name for name in after if before.get(name) != after[name]} == {"bravo/job_train.tf"}
    assert after == {**before, "bravo/job_train.tf": after["bravo/job_train.tf"]}
    assert sorted(parsed) == [
        ("bravo", frozenset({"job_train.tf"})),
        ("charlie", frozenset({"outputs.tf"})),  # missing from disk: new bytes there
    ]
    assert "2 files written, 0 removed, 2 parsed back" in err


def test_a_hand_edited_file_is_drift_and_render_rewrites_and_verifies_it(
    fleet: Path, parsed: list[tuple[str, frozenset[str]]]
) -> None:
    assert invoke("render", "specs", "--jobs", "1")[0] == 0
    main_tf = fleet / "output" / "bravo" / "main.tf"
    good = main_tf.read_bytes()
    main_tf.write_bytes(good.replace(b'name = "bravo"', b'name = "mine"'))

    code, out, err = invoke("check", "specs", "--jobs", "1")
    assert code == 1 and "differ from the specs" in err
    assert '-  name = "mine"' in out and '+  name = "bravo"' in out
    code, out, _ = invoke("check", "specs", "--jobs", "1", "--format", "json")
    assert code == 1
    doc = json.loads(out)
    assert "aws_ecs_cluster.this" in doc.pop("impact")["teams"][0]["replace"]
    assert doc == {
        "format_version": 1,
        "command": "check",
        "ok": False,
        "exit_code": 1,
        "modules": None,
        "items": [
            {
                "code": "edited",
                "message": "edited by hand since ecsgen wrote it",
                "team": "bravo",
                "path": "output/bravo/main.tf",
                "line": None,
                "field": None,
            }
        ],
    }

    code, _, err = invoke("render", "specs", "--jobs", "1")  # an edit is not lost silently
    assert code == 2 and "output/bravo/main.tf" in err and "--force" in err
    parsed.clear()
    code, _, err = invoke("render", "specs", "--jobs", "1", "--force")
    assert code == 0, err
    assert main_tf.read_bytes() == good
    assert parsed == [("bravo", frozenset({"main.tf"}))], "the rewritten file was parsed back"
    assert "1 file written, 0 removed, 1 parsed back" in err


def test_a_file_from_another_version_is_treated_as_changed(
    fleet: Path, parsed: list[tuple[str, frozenset[str]]]
) -> None:
    assert invoke("render", "specs", "--jobs", "1")[0] == 0
    variables = fleet / "output" / "alpha" / "variables.tf"
    good = variables.read_bytes()
    assert f"ecsgen {__version__} from".encode() in good
    older = good.replace(f"ecsgen {__version__} from".encode(), b"ecsgen 0.0.9 from")
    variables.write_bytes(older)
    manifest_path = fleet / "output" / "alpha" / ".ecsgen-manifest.json"
    manifest = json.loads(manifest_path.read_text())  # as that version would have recorded it
    manifest["files"]["variables.tf"] = hashlib.sha256(older).hexdigest()
    manifest["version"] = "0.0.9"
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")

    code, out, _ = invoke("check", "specs", "--format", "json", "--jobs", "1")
    assert code == 1
    (finding,) = json.loads(out)["items"]
    assert finding["path"] == "output/alpha/variables.tf"
    assert finding["code"] == "other-version"
    assert finding["message"] == f"written by ecsgen 0.0.9; this is ecsgen {__version__}"

    parsed.clear()
    code, _, err = invoke("render", "specs", "--jobs", "1")
    assert code == 0, err
    assert variables.read_bytes() == good
    assert parsed == [("alpha", frozenset({"variables.tf"}))]


def test_missing_and_stale_files_in_json(fleet: Path) -> None:
    assert invoke("render", "specs")[0] == 0
    (fleet / "output" / "alpha" / "main.tf").unlink()
    renamed = SPEC.format(team="charlie", step="1").replace('name="train"', 'name="tune"')
    (fleet / "specs" / "charlie.py").write_text(renamed, encoding="utf-8")
    code, out, _ = invoke("check", "specs", "--format", "json")
    assert code == 1
    drift = {(d["team"], d["path"], d["code"]) for d in json.loads(out)["items"]}
    assert drift == {
        ("alpha", "output/alpha/main.tf", "missing"),
        ("charlie", "output/charlie/job_tune.tf", "missing"),
        ("charlie", "output/charlie/job_train.tf", "stale"),
        ("charlie", "output/charlie/README.md", "spec-changed"),
        ("charlie", "output/charlie/outputs.tf", "spec-changed"),
        ("charlie", "output/charlie/variables.tf", "spec-changed"),
    }
    code, out, _ = invoke("render", "specs")
    assert code == 0
    code, out, _ = invoke("check", "specs", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc.pop("impact")["teams"] == []
    assert doc == {
        "format_version": 1,
        "command": "check",
        "ok": True,
        "exit_code": 0,
        "modules": None,
        "items": [],
    }
    (fleet / "output" / "alpha" / ".ecsgen-manifest.json").unlink()  # alone, it is drift too
    code, out, _ = invoke("check", "specs", "--format", "json")
    assert code == 1
    assert [(d["path"], d["code"]) for d in json.loads(out)["items"]] == [
        ("output/alpha/.ecsgen-manifest.json", "manifest")
    ]


def test_spec_errors_in_json(fleet: Path) -> None:
    (fleet / "specs" / "bravo.py").write_text(
        SPEC.format(team="bravo", step="1").replace("nodes=2", "nodes=0")
    )
    code, out, err = invoke("check", "specs", "--format", "json")
    assert code == 2 and "nodes" in err
    (error,) = json.loads(out)["items"]
    assert error["code"] == "spec-error" and error["line"] == 3
    assert error["team"] == "bravo" and error["path"] == "specs/bravo.py"
    assert error["field"].endswith(".nodes") and "0" in error["message"]


def test_validate_json_names_each_invalid_file(fleet: Path) -> None:
    assert invoke("render", "specs")[0] == 0
    code, out, _ = invoke("validate", "output", "--format", "json")
    assert code == 0
    assert json.loads(out) == {
        "format_version": 1,
        "command": "validate",
        "ok": True,
        "exit_code": 0,
        "modules": 3,
        "items": [],
        "impact": None,
    }
    broken = fleet / "output" / "charlie" / "main.tf"
    broken.write_text(broken.read_text() + 'resource "aws_ecs_cluster" "this" {\n')
    (fleet / "output" / "alpha" / "outputs.tf").unlink()
    code, out, _ = invoke("validate", "output", "--format", "json")
    assert code == 1
    document = json.loads(out)
    assert document["ok"] is False
    found = {(f["team"], f["path"], f["code"]) for f in document["items"]}
    assert found == {
        ("alpha", "output/alpha/outputs.tf", "invalid"),
        ("charlie", "output/charlie/main.tf", "edited"),
        ("charlie", "output/charlie/main.tf", "invalid"),
    }
    details = {f["path"]: f["message"] for f in document["items"]}
    assert details["output/alpha/outputs.tf"] == "missing"
    assert details["output/charlie/main.tf"].startswith("the rendered HCL does not parse")


def test_a_parse_back_failure_in_a_worker_names_the_file_and_writes_nothing(
    fleet: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pids = fleet / "pids"
    pids.mkdir()
    real = pipeline.render_module

    def broken(module: Module, templates: Path | None = None) -> dict[str, str]:
        (pids / str(os.getpid())).touch()
        files = real(module, templates)
        if module.team.name == "charlie":
            files["main.tf"] += 'resource "aws_ecs_cluster" "broken" {\n'
        return files

    monkeypatch.setattr(pipeline, "render_module", broken)
    code, _, err = invoke("render", "specs", "--jobs", "2")
    assert code == 2
    assert "charlie/main.tf: the rendered HCL does not parse" in err
    assert "nothing was written" in err and "Traceback" not in err
    output = fleet / "output"
    assert not output.exists() or not list(output.iterdir()), "nothing written, for any team"
    workers = {int(p.name) for p in pids.iterdir()}
    assert workers and os.getpid() not in workers, "the render ran in worker processes"

    code, out, _ = invoke("check", "specs", "--jobs", "2", "--format", "json")
    assert code == 2
    (finding,) = json.loads(out)["items"]
    assert (finding["team"], finding["path"], finding["code"]) == (
        "charlie",
        "output/charlie/main.tf",
        "parse-back",
    )


def test_parallel_and_serial_renders_are_byte_identical(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    for index in range(9):
        write_spec(specs, f"team{index}", step=str(index))
    runner = CliRunner()
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}"
        result = runner.invoke(main, ["render", str(specs), "--out", str(out), "--jobs", jobs])
        assert result.exit_code == 0, result.stderr
    serial, parallel = tree(tmp_path / "out1"), tree(tmp_path / "out2")
    assert len(serial) == 9 * 7 and serial == parallel  # 6 files and a manifest a team
    result = runner.invoke(main, ["check", str(specs), "--out", str(tmp_path / "out1"), "-j", "2"])
    assert result.exit_code == 0, result.stderr


def test_fastparse_reads_exactly_what_python_hcl2_reads() -> None:
    files = sorted(OUTPUT.rglob("*.tf")) + sorted((ROOT / "tests" / "cases").rglob("*.tf"))
    assert len(files) > 30
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert fastparse.loads(text) == hcl2.loads(text), path
    with pytest.raises(Exception, match="Unexpected") as raised:
        fastparse.loads('resource "a" "b" {\n')
    with pytest.raises(type(raised.value)):
        hcl2.loads('resource "a" "b" {\n')


class FakeTerminal:
    def __init__(self, tty: bool) -> None:
        self.tty = tty
        self.text = ""

    def isatty(self) -> bool:
        return self.tty

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass


def test_progress_appears_on_a_terminal_after_a_second_and_is_erased() -> None:
    now = [0.0]
    stream = FakeTerminal(tty=True)
    with Progress(10, "ecsgen check", stream, clock=lambda: now[0]) as bar:  # type: ignore[arg-type]
        bar.advance(4)
        assert stream.text == "", "nothing within the first second"
        now[0] = 1.5
        bar.advance(1)
        assert stream.text == "\recsgen check [###############---------------] 5/10 teams"
        now[0] = 2.0
        bar.advance(5)
    assert stream.text.endswith("10/10 teams\r\x1b[2K")


def test_progress_writes_nothing_when_not_a_terminal() -> None:
    now = [0.0]
    stream = FakeTerminal(tty=False)
    with Progress(10, "ecsgen check", stream, clock=lambda: now[0]) as bar:  # type: ignore[arg-type]
        now[0] = 5.0
        bar.advance(10)
    assert stream.text == ""


RUN_WITHOUT_DELAY = (
    "import sys, ecsgen.progress; ecsgen.progress.DELAY = 0.0\n"
    "from ecsgen.cli import main\n"
    "main(sys.argv[1:])\n"
)


def test_progress_on_a_real_terminal_and_not_in_a_pipe(fleet: Path) -> None:
    assert invoke("render", "specs")[0] == 0
    command = [sys.executable, "-c", RUN_WITHOUT_DELAY, "check", "specs"]
    piped = subprocess.run(command, capture_output=True, text=True, check=False)
    assert piped.returncode == 0, piped.stderr
    assert piped.stderr == "ecsgen: output/ is up to date with the specs\n"

    leader, follower = pty.openpty()
    try:
        process = subprocess.run(
            command, stdout=subprocess.PIPE, stderr=follower, check=False, timeout=120
        )
        os.close(follower)
        seen = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(leader)
    assert process.returncode == 0
    text = seen.decode()
    assert "ecsgen check [" in text and "3/3 teams" in text
    assert "\r\x1b[2K" in text and text.endswith("up to date with the specs\r\n")


def _square_or_fail(item: int) -> int:
    if item == 13:
        raise ValueError("thirteen")
    if item == 17:
        os._exit(3)
    return item * item


@pytest.mark.parametrize("jobs", [1, 2, 3, 50])
def test_split_keeps_item_order_and_raises_the_first_error(jobs: int) -> None:
    """`parallel.split` (the parent and forked children, a contiguous share each): results in
    item order whatever `jobs`; a raised exception comes back as itself; a child that dies is an
    error, never a short result."""
    assert parallel.split(_square_or_fail, range(13), jobs) == [i * i for i in range(13)]
    assert parallel.split(_square_or_fail, [], jobs) == []
    with pytest.raises(ValueError, match="thirteen"):
        parallel.split(_square_or_fail, range(20), jobs)
    if jobs > 1:  # in the parent, os._exit would end the test run
        with pytest.raises(RuntimeError, match=r"worker process .* exited with status 3"):
            parallel.split(_square_or_fail, [1, 2, 3, 17], jobs)  # 17: the last child
