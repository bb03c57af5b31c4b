"""Configured once: `[tool.ecsgen]` in the nearest pyproject.toml holds the layout, so `render`,
`check` and `validate` need no arguments from any folder of the repository; the command line
wins; every hint is a command that works when pasted in the folder it was printed in."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from ecsgen.cli import main
from ecsgen.settings import SETTINGS, defaults_for
from tests.conftest import EXAMPLES

PYPROJECT = '[project]\nname = "infra"\n\n[tool.ecsgen]\nspecs = ["teams"]\nout = "modules"\n'


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An infrastructure repository: teams/ with two specs and shared defaults, configured."""
    (tmp_path / "teams").mkdir()
    for name in ("_defaults.py", "starter.py", "vision.py"):
        shutil.copy(EXAMPLES / name, tmp_path / "teams" / name)
    (tmp_path / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def _hint(err: str) -> list[str]:
    """The command in the last `run `...`` hint of a message, as the shell would split it."""
    commands = re.findall(r"run `([^`]+)`", err)
    assert commands, err
    words = shlex.split(commands[-1])
    assert words[0] == "ecsgen", words
    return words[1:]


def _tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_no_arguments_from_the_root_and_from_a_subfolder(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = invoke("render")
    assert code == 0, err
    assert "2 rendered (starter, vision), 0 up to date in modules/" in err
    before = _tree(repo)
    assert {"modules/starter/main.tf", "modules/vision/main.tf"} <= before

    monkeypatch.chdir(repo / "teams")
    for command in ("render", "check", "validate"):
        code, _, err = invoke(command)
        assert code == 0, (command, err)
    code, _, err = invoke("render")
    assert "0 rendered, 2 up to date in ../modules/; 0 files written" in err
    assert _tree(repo) == before  # no second tree below teams/
    assert not (repo / "teams" / "output").exists() and not (repo / "teams" / "modules").exists()

    monkeypatch.chdir(repo / "modules" / "starter")
    code, _, err = invoke("validate")
    assert code == 0 and "2 module(s) valid" in err, err


def test_the_same_bytes_from_any_folder(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert invoke("render")[0] == 0
    main_tf = repo / "modules" / "starter" / "main.tf"
    first = main_tf.read_bytes()
    assert first.splitlines()[0].endswith(b"from teams/starter.py. DO NOT EDIT.")
    shutil.rmtree(repo / "modules")
    monkeypatch.chdir(repo / "teams")
    assert invoke("render")[0] == 0
    assert main_tf.read_bytes() == first


def test_the_command_line_wins(repo: Path) -> None:
    code, _, err = invoke("render", "teams/starter.py", "--out", "elsewhere")
    assert code == 0, err
    assert sorted(p.name for p in (repo / "elsewhere").iterdir()) == ["starter"]
    assert not (repo / "modules").exists()
    code, _, err = invoke("validate", "elsewhere")
    assert code == 0 and "1 module(s) valid" in err


def test_every_setting_is_read(repo: Path) -> None:
    (repo / "tpl").mkdir()
    (repo / "pyproject.toml").write_text(
        PYPROJECT + 'templates = "tpl"\njobs = 1\nwait = 0.5\nformat = "json"\nspec-timeout = 30\n',
        encoding="utf-8",
    )
    assert set(SETTINGS) == {"specs", "out", "templates", "jobs", "wait", "format", "spec-timeout"}
    found = {
        command: defaults_for(command, repo / "teams")
        for command in ("render", "check", "validate")
    }
    assert found == {
        "render": {
            "specs": (Path(),),
            "out": Path("../modules"),
            "templates": Path("../tpl"),
            "jobs": 1,
            "wait": 0.5,
            "spec_timeout": 30.0,
        },
        "check": {
            "specs": (Path(),),
            "out": Path("../modules"),
            "templates": Path("../tpl"),
            "jobs": 1,
            "fmt": "json",
            "spec_timeout": 30.0,
        },
        "validate": {"dirs": (Path("../modules"),), "jobs": 1, "fmt": "json"},
    }
    code, out, _ = invoke("check")  # format = "json" from the setting
    assert code == 1 and '"ok": false' in out


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ('spec = "teams"', "pyproject.toml: [tool.ecsgen]: unknown setting(s) ['spec']; allowed: "),
        ('specs = ["nowhere"]', "[tool.ecsgen] specs: 'nowhere' does not exist (relative to ./)"),
        ("out = 3", "[tool.ecsgen] out: must be a folder path (a string), got 3"),
        ('templates = "teams/vision.py"', "[tool.ecsgen] templates: 'teams/vision.py' is not a"),
        ('jobs = "2"', "[tool.ecsgen] jobs: must be a whole number, got '2'"),
        ("jobs = 0", "[tool.ecsgen] jobs: must be at least 1, got 0"),
        ('format = "yaml"', "[tool.ecsgen] format: must be one of text, json, got 'yaml'"),
    ],
)
def test_a_wrong_setting_is_one_clear_error(repo: Path, setting: str, message: str) -> None:
    (repo / "pyproject.toml").write_text(f"[tool.ecsgen]\n{setting}\n", encoding="utf-8")
    for command in ("render", "check", "validate"):
        code, out, err = invoke(command)
        assert code == 2, (command, out, err)
        assert err.startswith("ecsgen: error: pyproject.toml: ") and message in err, err
        assert "Traceback" not in err and str(repo) not in err  # paths shown relative
    assert not (repo / "modules").exists() and not (repo / "output").exists()


def test_no_specs_anywhere_says_how_to_give_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = invoke("render")
    assert code == 2
    assert "no specs given" in err and "[tool.ecsgen]" in err and "ecsgen init" in err


def _drift(repo: Path) -> None:
    spec = repo / "teams" / "starter.py"
    spec.write_text(spec.read_text(encoding="utf-8").replace("nodes=2", "nodes=3"))


def test_hints_work_as_printed_with_settings(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert invoke("render")[0] == 0
    _drift(repo)
    monkeypatch.chdir(repo / "teams")
    code, _, err = invoke("check")
    assert code == 1
    assert _hint(err) == ["render"]
    code, _, err = invoke(*_hint(err))
    assert code == 0, err
    assert invoke("check")[0] == 0


def test_hints_work_as_printed_without_settings(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (repo / "pyproject.toml").unlink()
    monkeypatch.chdir(repo / "teams")
    code, _, err = invoke("render", ".", "--out", "../my modules")
    assert code == 0, err
    _drift(repo)
    code, _, err = invoke("check", ".", "--out", "../my modules")
    assert code == 1
    assert _hint(err) == ["render", ".", "--out", "../my modules"]
    main_tf = repo / "my modules" / "starter" / "main.tf"
    main_tf.write_text(main_tf.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    code, _, err = invoke(*_hint(err))
    assert code == 2 and "edited by hand" in err
    assert _hint(err) == ["render", ".", "--out", "../my modules", "--force"]
    code, _, err = invoke(*_hint(err))
    assert code == 0, err
    assert invoke("check", ".", "--out", "../my modules")[0] == 0


def test_a_glob_with_shared_modules_skips_them(repo: Path) -> None:
    code, _, err = invoke("render", *sorted(str(p) for p in (repo / "teams").glob("*.py")))
    assert code == 0, err
    assert "(starter, vision)" in err
    code, _, err = invoke("render", "teams/_defaults.py")
    assert code == 2 and "files whose name starts with _ are shared modules" in err


def test_a_subfolder_of_specs_is_named_not_read(repo: Path) -> None:
    sub = repo / "teams" / "research"
    sub.mkdir()
    shutil.copy(EXAMPLES / "_defaults.py", sub / "_defaults.py")
    (sub / "__pycache__").mkdir()
    code, _, err = invoke("render")
    assert code == 0, err
    assert "note: teams/research/ holds spec files" not in err  # only shared modules in it
    shutil.copy(EXAMPLES / "speech.py", sub / "speech.py")
    code, _, err = invoke("check")
    assert code == 0, err
    assert "ecsgen: note: teams/research/ holds spec files but is not read" in err
    code, _, err = invoke("render", "teams", "teams/research")
    assert code == 0 and "note:" not in err and "speech" in err


def test_the_librarys_render_hints_name_the_render_that_works_here(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Notes from the library (an interrupted render: "run `ecsgen render` to finish it") are
    printed with the specs and --out this check was given."""
    from ecsgen import pipeline
    from ecsgen.errors import DriftError, Finding

    def interrupted(*_: object, **__: object) -> None:
        note = "# modules/starter: interrupted; run `ecsgen render` to finish it\n"
        raise DriftError(note, [Finding("starter", "modules/starter", "interrupted", "")])

    monkeypatch.setattr(pipeline, "check", interrupted)
    code, out, _ = invoke("check", "teams/starter.py", "--out", "modules")
    assert code == 1
    assert "run `ecsgen render teams/starter.py --out modules` to finish it" in out
    code, out, _ = invoke("check")  # from the settings: the bare command works
    assert "run `ecsgen render` to finish it" in out


def test_validate_defaults_to_output_without_settings(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (repo / "pyproject.toml").unlink()
    assert invoke("render", "teams")[0] == 0
    code, _, err = invoke("validate")  # as the README says: DIR defaults to output/
    assert code == 0 and "2 module(s) valid" in err, err
