"""Spec code cannot move or fake the work: specs run in one child process; the output folder is
resolved before they run; their working directory, `sys.path` and prints stay theirs; a spec
that ends its process is an error, never a success."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ecsgen import Team, isolate, load
from ecsgen.cli import main
from ecsgen.errors import Problem
from ecsgen.validate import is_credential_name

SPEC = """from ecsgen import Fargate, Job, Team
{prelude}
team = Team(name="{team}", region="us-east-1", jobs=[
    Job(name="a", image="r/x:1", command=["python", "t.py"], compute=Fargate(cpu=256, memory=512)),
])
"""


def write(folder: Path, team: str, prelude: str = "") -> None:
    folder.mkdir(exist_ok=True)
    (folder / f"{team}.py").write_text(SPEC.format(team=team, prelude=prelude), encoding="utf-8")


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_spec_that_changes_directory_does_not_move_the_output(workdir: Path) -> None:
    elsewhere = workdir / "elsewhere"
    elsewhere.mkdir()
    write(workdir / "specs", "alpha", f"import os\nos.chdir({str(elsewhere)!r})")
    (workdir / "specs" / "_shared.py").write_text(f"import os\nos.chdir({str(elsewhere)!r})\n")
    write(workdir / "specs", "beta", "import _shared")
    path_before, cwd_before = list(sys.path), Path.cwd()
    code, _, err = invoke("render", "specs", "--out", "out")
    assert code == 0, err
    assert sorted(p.name for p in (workdir / "out").iterdir()) == ["alpha", "beta"]
    assert list(elsewhere.iterdir()) == []
    assert (Path.cwd(), sys.path) == (cwd_before, path_before)
    code, out, err = invoke("check", "specs", "--out", "out")
    assert (code, out) == (0, ""), err
    (workdir / "out" / "alpha" / "main.tf").unlink()
    code, out, _ = invoke("check", "specs", "--out", "out")
    assert code == 1 and "+++ out/alpha/main.tf (rendered)" in out


def test_each_spec_starts_from_the_callers_directory_and_path(workdir: Path) -> None:
    write(workdir / "specs", "alpha", "import os, sys\nos.chdir('/')\nsys.path.insert(0, '/x')")
    check = (
        f"import os, sys\nassert os.getcwd() == {str(workdir)!r}, os.getcwd()\n"
        "assert '/x' not in sys.path"
    )
    write(workdir / "specs", "beta", check)
    code, _, err = invoke("render", "specs", "--out", "out")
    assert code == 0, err


def test_a_specs_prints_never_reach_the_diff(workdir: Path) -> None:
    write(workdir / "specs", "alpha", "print('hello from the spec')")
    assert invoke("render", "specs")[0] == 0
    code, out, err = invoke("check", "specs")
    assert (code, out) == (0, "")
    assert "hello from the spec" in err


@pytest.mark.parametrize(
    "ending", ["import os\nos._exit(0)", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"]
)
@pytest.mark.parametrize("command", ["render", "check"])
def test_a_spec_that_ends_the_process_cannot_fake_success(
    workdir: Path, ending: str, command: str
) -> None:
    write(workdir / "specs", "alpha")
    write(workdir / "specs", "beta", ending)
    code, out, err = invoke(command, "specs")
    assert code == 2, err
    assert out == ""
    assert err.startswith("ecsgen: error: specs/beta.py: the process loading this spec ")
    assert not (workdir / "output").exists()


def test_optional_ec2_fields_accept_none_as_documented(workdir: Path) -> None:
    (workdir / "specs").mkdir()
    (workdir / "specs" / "gpu.py").write_text(
        "from ecsgen import Ec2, Job, Team\n"
        "team = Team(name='gpu', region='us-east-1', jobs=[Job(name='a', image='r/x:1', "
        "command=['python', 't.py'], processes_per_node=None, compute=Ec2("
        "instance_type='g5.2xlarge', cpu=None, memory=None, shm_mib=None, subnet_ids=None))])\n"
    )
    code, _, err = invoke("render", "specs")
    assert code == 0, err


@pytest.mark.parametrize(
    "name",
    ["DB_PASS", "APIKEY", "GH_PAT", "HF_TOKEN", "MY_API_KEY", "DB_PWD", "SLACK_CREDS", "WIFI_PSK"],
)
def test_credential_names(name: str) -> None:
    assert is_credential_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "TOKENIZERS_PARALLELISM",
        "HF_HUB_DISABLE_IMPLICIT_TOKEN",
        "PWD",
        "NUM_PASSES",
        "BYPASS_CACHE",
        "PATH_PREFIX",
        "KEYBOARD",
        "PATIENCE",
        "WANDB_PROJECT",
    ],
)
def test_known_false_positives_are_not_credentials(name: str) -> None:
    assert not is_credential_name(name)


def test_the_parent_process_is_untouched_when_specs_are_hostile(workdir: Path) -> None:
    write(workdir / "specs", "alpha", "import sys\nsys.modules.clear()")
    before = Path.cwd()
    code, _, err = invoke("render", "specs")
    assert code in (0, 2), err
    assert Path.cwd() == before
    assert "ecsgen.pipeline" in sys.modules


def test_several_loading_children_give_the_same_teams(monkeypatch: pytest.MonkeyPatch) -> None:
    """Big fleets are loaded by several children, each a contiguous share of the files; the
    teams are the same, in the same order, as one child gives."""
    monkeypatch.chdir(Path(__file__).resolve().parent.parent)
    specs = [Path("examples/specs")]
    one = isolate.load_and_validate(specs, jobs=1)
    monkeypatch.setattr(isolate, "MIN_SHARE", 1)
    assert len(isolate._shares(isolate.find_spec_files(specs), 3)) == 3
    assert isolate.load_and_validate(specs, jobs=3) == one
    assert isolate.load_and_validate(specs, jobs=50) == one
    assert [t.name for t in one] == [
        "frontier",
        "llm",
        "ranking",
        "recsys",
        "speech",
        "starter",
        "vision",
    ]


def test_a_spec_file_that_is_a_symlink_loop_is_a_spec_error(workdir: Path) -> None:
    write(workdir / "specs", "alpha")
    (workdir / "specs" / "loop.py").symlink_to("loop.py")
    code, out, err = invoke("check", "specs")
    assert (code, out) == (2, "")
    assert err.startswith("ecsgen: error: specs/loop.py: cannot read the spec: [Errno "), err


def _fresh_code_cache(monkeypatch: pytest.MonkeyPatch, temp: Path) -> None:
    monkeypatch.setattr(load.tempfile, "gettempdir", lambda: str(temp))
    load._code_cache.cache_clear()


def test_compiled_specs_are_kept_and_a_damaged_entry_is_compiled_again(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fresh_code_cache(monkeypatch, workdir / "tmp")
    (workdir / "tmp").mkdir()
    spec = workdir / "specs" / "alpha.py"
    write(workdir / "specs", "alpha", prelude="x = 1\nassert False, 'line three'")
    try:
        first = load._load_one(spec)
        folder = workdir / "tmp" / f"ecsgen-code-{os.getuid()}"
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        (entry,) = folder.iterdir()
        kept = entry.read_bytes()
        again = load._load_one(spec)  # from the kept code: the same problem, on the same line
        assert isinstance(first, Problem) and first == again and first.line == 3
        assert entry.read_bytes() == kept
        entry.write_bytes(b"\x00damaged")
        assert load._load_one(spec) == first
        assert entry.read_bytes() == kept  # compiled again and kept again
        write(workdir / "specs", "alpha")  # the source changed: another entry, another result
        assert isinstance(load._load_one(spec), Team)
        assert len(list(folder.iterdir())) == 2
    finally:
        load._code_cache.cache_clear()


def test_a_code_cache_folder_others_could_write_is_not_used(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fresh_code_cache(monkeypatch, workdir)
    folder = workdir / f"ecsgen-code-{os.getuid()}"
    folder.mkdir(mode=0o777)
    folder.chmod(0o777)
    write(workdir / "specs", "alpha")
    try:
        assert load._code_cache() is None
        assert isinstance(load._load_one(workdir / "specs" / "alpha.py"), Team)
        assert not list(folder.iterdir())
    finally:
        load._code_cache.cache_clear()
