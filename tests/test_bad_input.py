"""The bad-input corpus: `tests/bad/<name>.py` (a spec, or a folder of specs) must fail with
exactly `tests/bad/<name>.err` on stderr, exit code 2, no traceback, and nothing written."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from ecsgen import isolate
from ecsgen.cli import main
from tests.conftest import ROOT

BAD = ROOT / "tests" / "bad"
CASES = sorted(p.stem for p in BAD.glob("*.err"))

# Every check the issues name has a case here; a renamed or deleted case fails this list.
REQUIRED = {
    "unknown_field",
    "fargate_pair",
    "fargate_cpu",
    "nodes_zero",
    "nodes_range",
    "bad_name",
    "long_name",
    "dup_job",
    "duplicate_team",
    "bad_secret",
    "env_reserved",
    "env_credential",
    "image_untagged",
    "bad_s3",
    "syntax_error",
    "raises",
    "no_team",
    "gpu_fargate",
    "ec2_ppn",
    "ec2_memory",
    "ec2_efa",
    "ec2_spot",
    "ec2_subnets",
    "ec2_team_subnets",
    "ec2_unknown",
    "ecs_prefix",
    "python_flag",
    "many",
    "bad_tags",
    "too_many_tags",
    "partial_secret",
    "sys_exit",
    "command_option",
    "sg_team",
    "nodes_max",
    "team_long",
    "env_credential_more",
    "spot_stop_timeout",
    "notify",
    # issue 8: hostile values, bounds, digits, credentials and the misleading messages
    "huge_int",
    "surrogate",
    "raising_repr",
    "generator_exit",
    "os_exit",
    "region_digits",
    "account_digits",
    "too_many_env",
    "huge_name",
    "long_value",
    "env_credential_words",
    "team_70",
    "fargate_prefix",
    "command_string",
    "ec2_positional",
    "nodes_string",
    "nested_values",
    "field_lines",
    "load_and_validate",
    "chdir_and_exit",
    # issue 17: reservations, Capacity Blocks, volumes, registries, ulimits, ephemeral storage
    "reservation_spot",
    "reservation_type",
    "reservation_nodes",
    "reservation_id",
    "capacity_block_type",
    "capacity_block_checkpoints",
    "capacity_block_size",
    "lustre_fargate",
    "volume_fields",
    "registry_credentials",
    "ulimits",
    "ephemeral",
    "kms_key",
    "kms_region",
    "neuron_fargate",
    "neuron_cuda_env",
    "neuron_ppn",
    "fargate_arch",
    # issue 17: Graviton GPU instances (g5g) and Inferentia
    "g5g_no_ami",
    "ami_id_x86",
    "ami_id_form",
    "g5g_efa",
    "inf2",
}


def test_corpus_covers_every_check() -> None:
    assert set(CASES) >= REQUIRED, sorted(REQUIRED - set(CASES))


@pytest.mark.parametrize("case", CASES)
def test_bad_spec_fails_cleanly(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, update_goldens: bool
) -> None:
    source = BAD / case if (BAD / case).is_dir() else BAD / f"{case}.py"
    target = tmp_path / source.name
    if source.is_dir():
        shutil.copytree(source, target)
    else:
        shutil.copy(source, target)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["render", source.name, "--out", "out"])
    if update_goldens:
        (BAD / f"{case}.err").write_text(result.stderr, encoding="utf-8")
    assert result.exit_code == 2, result.output
    assert result.stderr == (BAD / f"{case}.err").read_text(encoding="utf-8")
    assert "Traceback" not in result.output
    assert result.stdout == ""
    assert not (tmp_path / "out").exists(), "a failed render must write nothing"


def test_bad_spec_leaves_previous_output_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = (
        "from ecsgen import Fargate, Job, Team\nteam = Team(name='vision', region='us-east-1', "
        "jobs=[Job(name='a', image='r/x:1', command=['python', 't.py'], "
        "compute=Fargate(cpu=256, memory=512))])\n"
    )
    spec = tmp_path / "vision.py"
    spec.write_text(good, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(main, ["render", "vision.py"]).exit_code == 0
    before = {p.name: p.read_bytes() for p in (tmp_path / "output" / "vision").iterdir()}
    spec.write_text(good.replace("memory=512", "memory=4096"), encoding="utf-8")
    result = runner.invoke(main, ["render", "vision.py"])
    assert result.exit_code == 2
    assert "valid memory for cpu=256: 512, 1024, 2048 (MiB)" in result.stderr
    after = {p.name: p.read_bytes() for p in (tmp_path / "output" / "vision").iterdir()}
    assert after == before


def test_spec_errors_in_several_files_are_reported_together(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shutil.copy(BAD / "fargate_pair.py", tmp_path / "one.py")
    shutil.copy(BAD / "bad_secret.py", tmp_path / "two.py")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["render", "."])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0] == "ecsgen: errors:"
    assert [line.split(":")[0] for line in lines[1:]] == ["one.py", "two.py"]


def _corpus_folder(folder: Path, exclude: set[str]) -> None:
    """Every single-file case of the corpus, and the files of the folder cases, in one folder
    (file names keep the corpus order)."""
    folder.mkdir()
    for case in CASES:
        source = BAD / case
        if case in exclude:
            continue
        if source.is_dir():
            for spec in sorted(source.glob("*.py")):
                shutil.copy(spec, folder / f"{case}__{spec.name}")
        else:
            shutil.copy(BAD / f"{case}.py", folder / f"{case}.py")


@pytest.mark.parametrize("command", ["render", "check"])
def test_several_loading_children_report_exactly_what_one_child_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    """A big fleet is loaded by several children (`isolate.MIN_SHARE` files each at least): with
    the threshold at one file, the whole corpus in one folder gives the same stderr (problems
    in file order, a team name defined twice across children, the specs' prints) as one
    child."""
    ending = {"os_exit", "chdir_and_exit", "generator_exit"}  # each ends its loader
    _corpus_folder(tmp_path / "specs", ending)
    shutil.copy(BAD / "duplicate_team" / "a.py", tmp_path / "specs" / "zz_duplicate.py")
    for name in ("m_print", "zz_print"):
        spec = (BAD / "fargate_pair.py").read_text(encoding="utf-8")
        (tmp_path / "specs" / f"{name}.py").write_text(f"print('from {name}')\n{spec}")
    monkeypatch.chdir(tmp_path)
    results = []
    for share, jobs in ((10**6, "1"), (1, "3"), (1, "7")):
        monkeypatch.setattr(isolate, "MIN_SHARE", share)
        result = CliRunner().invoke(main, [command, "specs", "--out", "out", "--jobs", jobs])
        results.append((result.exit_code, result.stdout, result.stderr))
    assert results[0][0] == 2 and "team name 'vision' is already defined by" in results[0][2]
    assert "from m_print\nfrom zz_print\n" in results[0][2]
    assert results[1] == results[0]
    assert results[2] == results[0]
    assert not (tmp_path / "out").exists()


def test_the_first_loading_child_that_dies_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Several specs that end their process, in several children: the first in file order is
    named, as one child loading them all would have stopped there."""
    folder = tmp_path / "specs"
    folder.mkdir()
    for index in range(6):
        shutil.copy(BAD / "fargate_pair.py", folder / f"a{index}.py")
    shutil.copy(BAD / "os_exit.py", folder / "b_exit.py")
    shutil.copy(BAD / "generator_exit.py", folder / "c_exit.py")
    shutil.copy(BAD / "os_exit.py", folder / "d_exit.py")
    monkeypatch.chdir(tmp_path)
    for share, jobs in ((10**6, "1"), (1, "2"), (1, "9")):
        monkeypatch.setattr(isolate, "MIN_SHARE", share)
        result = CliRunner().invoke(main, ["render", "specs", "--out", "out", "--jobs", jobs])
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith(
            "ecsgen: error: specs/b_exit.py: the process loading this spec exited with status 0"
        ), (jobs, result.stderr)
        assert not (tmp_path / "out").exists()
