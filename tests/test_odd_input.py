"""Odd input never gives a traceback, a hang or a lost file: spec code that raises
KeyboardInterrupt, values of spec-defined `str`/`int`/`Enum` subclasses, words that start with
`<<`, NUL and other control characters, FIFOs, devices and dangling links named `*.tf` in a
module, and a user's own file where ecsgen keeps its lock."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from ecsgen.cli import main
from ecsgen.lock import LOCK_NAME

SPEC = """from ecsgen import Fargate, Job, Team
{prelude}
team = Team(name="{team}", region="us-east-1", jobs=[
    Job(name="train", image="r/x:1", command={command}, env={env}, nodes={nodes},
        compute=Fargate(cpu=256, memory=512)),
])
"""


def write(
    folder: Path,
    team: str = "alpha",
    *,
    prelude: str = "",
    command: str = '["python", "t.py"]',
    env: str = "{}",
    nodes: str = "1",
) -> None:
    folder.mkdir(exist_ok=True)
    text = SPEC.format(team=team, prelude=prelude, command=command, env=env, nodes=nodes)
    (folder / f"{team}.py").write_text(text, encoding="utf-8")


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.stderr, result.stderr
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("command", ["render", "check"])
def test_a_spec_raising_keyboard_interrupt_is_a_spec_error(workdir: Path, command: str) -> None:
    write(workdir / "specs", prelude="raise KeyboardInterrupt")
    code, out, err = invoke(command, "specs")
    assert code == 2, err
    assert out == ""
    assert err == "ecsgen: error: specs/alpha.py:2: the spec raised KeyboardInterrupt\n"
    assert not (workdir / "output").exists()


@pytest.mark.parametrize(
    "word", ["<<EOF", "<<<x", "<<1", "<< EOF", "<<-EOT\nx\nEOT", "<<EOF\nx\nEOF"]
)
def test_words_starting_with_heredoc_marks_round_trip(workdir: Path, word: str) -> None:
    write(workdir / "specs", command=repr(["python", "t.py", word]), env=repr({"V": word}))
    code, _, err = invoke("render", "specs")
    assert code == 0, err
    assert invoke("check", "specs")[0] == 0
    assert invoke("validate", "output")[0] == 0


ODD: dict[str, Callable[[Path], None]] = {
    "dangling link": lambda p: p.symlink_to("nowhere.tf"),
    "fifo": os.mkfifo,
    "link to a device": lambda p: p.symlink_to("/dev/zero"),
}


@pytest.mark.parametrize("kind", sorted(ODD))
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_validate_refuses_odd_entries_by_name_without_following(
    workdir: Path, kind: str, jobs: str
) -> None:
    write(workdir / "specs")
    write(workdir / "specs", "bravo")
    assert invoke("render", "specs")[0] == 0
    ODD[kind](workdir / "output" / "alpha" / "odd.tf")
    code, _, err = invoke("validate", "output", "--jobs", jobs)
    assert code == 1, err
    assert "output/alpha/odd.tf: " in err and "Terraform cannot read it" in err, err


def test_validate_passes_over_folders_and_links_to_folders(workdir: Path) -> None:
    write(workdir / "specs")
    assert invoke("render", "specs")[0] == 0
    (workdir / "output" / "alpha" / "sub.tf").mkdir()
    (workdir / "output" / "alpha" / "dir.tf").symlink_to("sub.tf")
    code, _, err = invoke("validate", "output")
    assert code == 0, err


def test_a_users_file_at_the_lock_path_is_never_removed(workdir: Path) -> None:
    write(workdir / "specs")
    (workdir / "output").mkdir()
    mine = workdir / "output" / LOCK_NAME
    mine.write_text("my notes\n", encoding="utf-8")
    code, _, err = invoke("render", "specs")
    assert code == 2
    assert "output/.ecsgen.lock: a file of someone else's, not ecsgen's lock file" in err
    assert mine.read_text(encoding="utf-8") == "my notes\n"
    mine.unlink()
    assert invoke("render", "specs")[0] == 0
    assert not mine.exists()  # ecsgen's own lock file is removed when the render ends
    mine.write_text("pid 123 on host gone\n", encoding="utf-8")  # left by a killed render
    assert invoke("render", "specs", "--force")[0] == 0
    assert not mine.exists()


SUBCLASSES = {
    "StrEnum env value": (
        "import enum\nclass Stage(enum.StrEnum):\n    PROD = 'prod'",
        {"env": "{'STAGE': Stage.PROD}"},
    ),
    "IntEnum nodes": (
        "import enum\nclass Size(enum.IntEnum):\n    TWO = 2",
        {"nodes": "Size.TWO"},
    ),
    "str subclass word": (
        "class Word(str):\n    def __str__(self):\n        raise RuntimeError('no')",
        {"command": "['python', Word('t.py')]"},
    ),
}


@pytest.mark.parametrize("case", sorted(SUBCLASSES))
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_values_of_spec_defined_subclasses_are_plain_values(
    workdir: Path, case: str, jobs: str
) -> None:
    prelude, fields = SUBCLASSES[case]
    write(workdir / "specs", prelude=prelude, **fields)
    write(workdir / "specs", "bravo")
    code, _, err = invoke("render", "specs", "--jobs", jobs)
    assert code == 0, err
    plain = {"env": "{'STAGE': 'prod'}", "nodes": "2", "command": "['python', 't.py']"}
    write(workdir / "plain", **{k: plain[k] for k in fields})
    assert invoke("render", "plain", "--out", "o2")[0] == 0

    def body(out: str) -> dict[str, list[str]]:  # every file but its header (names the spec)
        folder = workdir / out / "alpha"
        return {p.name: p.read_text().split("\n")[1:] for p in folder.glob("*.tf")}

    assert body("output") == body("o2")  # the same module as from plain values


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("command", "['python', 't.py', 'a\\x00b']", "holds a NUL character (at 1)"),
        ("env", "{'X': '\\x00'}", "holds a NUL character (at 0)"),
        ("env", "{'X': 'bell\\x07'}", "holds the control character U+0007 (at 4)"),
        ("command", "['python', 't.py', '\\x1b[31m']", "holds the control character U+001B"),
    ],
)
def test_nul_and_control_characters_are_refused(
    workdir: Path, field: str, value: str, message: str
) -> None:
    write(workdir / "specs", **{field: value})
    code, _, err = invoke("render", "specs")
    assert code == 2, err
    assert err.startswith("ecsgen: error: specs/alpha.py:") and message in err, err
    assert not (workdir / "output").exists()


def test_tabs_and_newlines_stay_allowed(workdir: Path) -> None:
    write(workdir / "specs", command="['python', 't.py', 'a\\tb']", env="{'X': 'l1\\nl2\\r'}")
    code, _, err = invoke("render", "specs")
    assert code == 0, err
