"""The change-impact summary (`ecsgen.impact`) against what `terraform plan` reports, on moto.

Two example teams (starter: Fargate; recsys: EC2 Spot) are applied once on a moto server shared
by the whole file, with one `terraform init`. Then each change is rendered into the applied
root and planned (`-refresh=false`: Terraform compares the configuration with the state the
apply left, as a plan right after the previous apply would), and the summary's addresses are
compared with the plan's resource changes: a job rename, a team removal, a node-count change
and an image change. The files are put back after each plan. Every terraform command is
bounded in time.

moto answers some calls with less than it was sent (see tests/test_apply.py), so a few
resources show an update in a plan of the unchanged configuration. That baseline is planned
first; on its addresses the plan cannot tell a real change from moto's, so only the others are
compared exactly (and the baseline is asserted to stay small and known).
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ecsgen.impact import Impact, moved_blocks, team_impact
from ecsgen.model.moved import Move
from ecsgen.pipeline import render_in_memory
from ecsgen.validate import TeamConfig
from tests.conftest import EXAMPLES, OUTPUT, Terraform
from tests.test_apply import _prepare, moto_endpoint, sfn_endpoint  # noqa: F401 - fixtures

pytestmark = [pytest.mark.terraform, pytest.mark.slow]

TEAMS = ("recsys", "starter")
INSTANCE_KEY = re.compile(r"\[[^\]]*\]$")
# Updates moto alone causes (a plan of the unchanged configuration shows them).
MOTO_BASELINE = re.compile(
    r"aws_ecs_service\.|aws_autoscaling_group\.|aws_ecs_capacity_provider\.|aws_launch_template\."
)


def _module_files(folder: Path) -> dict[str, str]:
    return {
        p.name: p.read_text(encoding="utf-8")
        for p in sorted(folder.iterdir())
        if p.is_file() and p.suffix in (".tf", ".md") and not p.name.startswith("zz_moto_")
    }


def _render(tmp: Path, team: str, old: str, new: str) -> dict[str, str]:
    """The example team's files with `old` replaced by `new` in its spec."""
    source = (EXAMPLES / f"{team}.py").read_text(encoding="utf-8")
    assert old in source, f"{old!r} is not in examples/specs/{team}.py"
    specs = tmp / "variant"
    shutil.rmtree(specs, ignore_errors=True)
    specs.mkdir()
    shutil.copy(EXAMPLES / "_defaults.py", specs)
    (specs / f"{team}.py").write_text(source.replace(old, new), encoding="utf-8")
    return render_in_memory([specs / f"{team}.py"])[team]


@pytest.fixture(scope="module")
def applied_root(
    terraform: Terraform,
    moto_endpoint: str,  # noqa: F811
    sfn_endpoint: str,  # noqa: F811
    example_configs: dict[str, TeamConfig],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("impact")
    teams = [example_configs[name] for name in TEAMS]
    _prepare(root, moto_endpoint, teams, moto_overrides=True, sfn=sfn_endpoint)
    terraform.ok("init", "-input=false", cwd=root, timeout=120)
    terraform.ok("apply", "-input=false", "-auto-approve", cwd=root, timeout=600)
    yield root
    terraform.ok("destroy", "-input=false", "-auto-approve", cwd=root, timeout=600)


Planned = dict[str, tuple[str, str, Any]]  # team address -> (team, kind, values after)


def _plan(terraform: Terraform, root: Path) -> Planned:
    """Each resource change of a plan: address inside its module (no instance key) -> its team,
    its kind (add, remove, change, replace) and the values planned (with the unknown ones)."""
    terraform.ok(
        "plan", "-input=false", "-refresh=false", "-out=change.tfplan", cwd=root, timeout=300
    )
    plan = json.loads(terraform.ok("show", "-json", "change.tfplan", cwd=root, timeout=120))
    found: Planned = {}
    for change in plan["resource_changes"]:
        actions = tuple(change["change"]["actions"])
        if actions in (("no-op",), ("read",)) or change["mode"] != "managed":
            continue
        team, _, inside = change["address"].removeprefix("module.").partition(".")
        kind = {
            ("create",): "add",
            ("delete",): "remove",
            ("update",): "change",
            ("delete", "create"): "replace",
            ("create", "delete"): "replace",
        }[actions]
        after = (change["change"]["after"], change["change"]["after_unknown"])
        key = f"{team} {INSTANCE_KEY.sub('', inside)}"
        found.setdefault(key, (team, kind, []))[2].append(after)
    return found


def _real(planned: Planned, baseline: Planned) -> dict[str, set[str]]:
    """`planned` without what moto alone causes: an update the baseline plans too, to the same
    values, is moto's; by "team kind" -> addresses."""
    found: dict[str, set[str]] = {}
    for key, (team, kind, after) in planned.items():
        if kind == "change" and key in baseline and baseline[key][2] == after:
            continue
        found.setdefault(f"{team} {kind}", set()).add(key.partition(" ")[2])
    return found


@pytest.fixture(scope="module")
def baseline(terraform: Terraform, applied_root: Path) -> Planned:
    found = _plan(terraform, applied_root)
    kinds = {kind for _, kind, _ in found.values()}
    assert kinds <= {"change"}, f"only moto's updates expected: {found}"
    assert all(MOTO_BASELINE.match(k.partition(" ")[2]) for k in found), sorted(found)
    return found


def _compare(impact: Impact, planned: dict[str, set[str]]) -> None:
    team = impact.team
    for kind in ("add", "remove", "replace", "change"):
        assert set(getattr(impact, kind)) == planned.get(f"{team} {kind}", set()), (
            kind,
            impact,
            planned,
        )


def _swap(folder: Path, files: dict[str, str]) -> None:
    for path in folder.iterdir():
        if path.is_file() and not path.name.startswith("zz_moto_"):
            path.unlink()
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")


@pytest.mark.parametrize(
    ("team", "old", "new"),
    [
        ("starter", 'name="ai-training"', 'name="ai-train"'),  # a job rename
        ("recsys", 'name="dlrm"', 'name="dlrm-v2"'),  # a job rename on EC2 capacity
        ("recsys", 'nodes="2:6"', 'nodes="2:8"'),  # a node-count change
        ("starter", "nodes=2", "nodes=3"),  # a node-count change on Fargate
        ("starter", "ai-training:2024.06.1", "ai-training:2024.07.1"),  # an image change
    ],
    ids=["rename-fargate", "rename-ec2", "nodes-ec2", "nodes-fargate", "image"],
)
def test_summary_matches_terraform_plan(
    terraform: Terraform,
    applied_root: Path,
    baseline: Planned,
    tmp_path: Path,
    team: str,
    old: str,
    new: str,
) -> None:
    folder = applied_root / "modules" / team
    before = _module_files(OUTPUT / team)
    after = _render(tmp_path, team, old, new)
    impact = team_impact(team, before, after)
    assert not impact.empty()
    _swap(folder, after)
    try:
        planned = _real(_plan(terraform, applied_root), baseline)
    finally:
        _swap(folder, before)
    _compare(impact, planned)
    assert {k for k in planned if not k.startswith(f"{team} ")} == set(), "other teams untouched"


def test_team_removal_matches_terraform_plan(
    terraform: Terraform, applied_root: Path, baseline: Planned
) -> None:
    main = applied_root / "main.tf"
    config = main.read_text(encoding="utf-8")
    block = re.search(r'module "starter" \{.*?\n\}\n', config, re.S)
    assert block
    impact = team_impact("starter", _module_files(OUTPUT / "starter"), {})
    assert impact.removed_team and not impact.add and not impact.change
    main.write_text(config.replace(block[0], ""), encoding="utf-8")
    try:
        planned = _real(_plan(terraform, applied_root), baseline)
    finally:
        main.write_text(config, encoding="utf-8")
    _compare(impact, planned)
    assert set(planned) == {"starter remove"}
    assert any("aws_cloudwatch_log_group" in w for w in impact.warnings)


MOVED_SPEC = """from ecsgen import Fargate, Job, Team

team = Team(
    name="moves",
    region="us-east-1",
    jobs=[
        Job(
            name="train",
            image="r.example.com/a:1",
            command=["python", "a.py"],
            nodes=2,
            compute=Fargate(cpu=256, memory=512),
        ),
    ],
)
"""
# As if an earlier ecsgen had labelled them so: (type, label then, label now).
MOVES = (
    Move("0.0.1", "aws_cloudwatch_log_group.{job}_old_logs", "aws_cloudwatch_log_group.{job}", "t"),
    Move("0.0.1", "aws_ssm_parameter.{job}_record", "aws_ssm_parameter.{job}_run", "t"),
)


def _relabel(files: dict[str, str], rtype: str, label: str, old: str) -> dict[str, str]:
    """`files` with the resource `rtype.label` (its block and every reference) named `old`."""
    reference = re.compile(rf"(?<![\w.-])(?<!data\.){rtype}\.{label}(?![\w-])")
    header = f'resource "{rtype}" "{label}"'
    return {
        name: reference.sub(f"{rtype}.{old}", text.replace(header, f'resource "{rtype}" "{old}"'))
        for name, text in files.items()
    }


def test_moved_blocks_keep_what_an_older_version_created(
    terraform: Terraform,
    moto_endpoint: str,  # noqa: F811
    sfn_endpoint: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Apply a module whose log group and run record have the labels an older ecsgen gave
    them; render with this code and a `ecsgen.model.moved` table that records the renames; the plan
    moves both (previous_address) and creates, destroys or replaces nothing."""
    import ecsgen.model.moved
    from ecsgen.load import load_specs
    from ecsgen.validate import validate
    from tests.test_apply import _root_config

    spec = tmp_path / "moves.py"
    spec.write_text(MOVED_SPEC, encoding="utf-8")
    old = render_in_memory([spec])["moves"]
    moved = dict(pair for move in MOVES for pair in move.expand(["train"]))
    for then, now in moved.items():
        old = _relabel(old, now.split(".")[0], now.split(".")[1], then.split(".")[1])
    assert 'resource "aws_cloudwatch_log_group" "train_old_logs"' in old["job_train.tf"]
    module = tmp_path / "modules" / "moves"
    module.mkdir(parents=True)
    _swap(module, old)
    (team,) = validate(load_specs([spec]))
    (tmp_path / "main.tf").write_text(
        _root_config(moto_endpoint, [team], sfn_endpoint), encoding="utf-8"
    )
    terraform.ok("init", "-input=false", cwd=tmp_path, timeout=120)
    terraform.ok("apply", "-input=false", "-auto-approve", cwd=tmp_path, timeout=300)
    try:
        monkeypatch.setattr(ecsgen.model.moved, "MOVES", MOVES)
        new = render_in_memory([spec])["moves"]
        assert moved_blocks(new) == moved
        impact = team_impact("moves", old, new)
        assert {(m.old, m.new) for m in impact.moved} == set(moved.items())
        assert impact.empty() is False and not (impact.add or impact.remove or impact.replace)
        assert not impact.warnings
        _swap(module, new)
        terraform.ok(
            "plan", "-input=false", "-refresh=false", "-out=moved.tfplan", cwd=tmp_path, timeout=300
        )
        plan = json.loads(terraform.ok("show", "-json", "moved.tfplan", cwd=tmp_path, timeout=120))
        changes = {c["address"]: c for c in plan["resource_changes"]}
        for old_address, new_address in moved.items():
            change = changes[f"module.moves.{new_address}"]
            assert change.get("previous_address") == f"module.moves.{old_address}"
            assert change["change"]["actions"] in (["no-op"], ["update"])
        made = {a: c["change"]["actions"] for a, c in changes.items()}
        assert not [a for a, actions in made.items() if "create" in actions or "delete" in actions]
    finally:
        terraform.ok("destroy", "-input=false", "-auto-approve", cwd=tmp_path, timeout=300)


KEEP_SPEC = """from ecsgen import Fargate, Job, Team

team = Team(
    name="keep",
    region="us-east-1",
    keep_logs={keep},
    jobs=[
        Job(
            name="{job}",
            image="r.example.com/a:1",
            command=["python", "a.py"],
            compute=Fargate(cpu=256, memory=512),
        ),
    ],
)
"""


def test_keep_logs_keeps_the_log_group_through_a_job_rename(
    terraform: Terraform,
    moto_endpoint: str,  # noqa: F811
    sfn_endpoint: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Apply with keep_logs, rename the job, apply: the old log group is still in moto, and
    the summary warned only about the run record (the logs are kept: a note says how to
    delete them)."""
    from ecsgen.load import load_specs
    from ecsgen.validate import validate
    from tests.test_apply import _client, _root_config

    spec, module = tmp_path / "keep.py", tmp_path / "modules" / "keep"
    module.mkdir(parents=True)
    spec.write_text(KEEP_SPEC.format(keep=True, job="alpha"), encoding="utf-8")
    first = render_in_memory([spec])["keep"]
    _swap(module, first)
    (team,) = validate(load_specs([spec]))
    assert team.keep_logs
    (tmp_path / "main.tf").write_text(
        _root_config(moto_endpoint, [team], sfn_endpoint), encoding="utf-8"
    )
    terraform.ok("init", "-input=false", cwd=tmp_path, timeout=120)
    terraform.ok("apply", "-input=false", "-auto-approve", cwd=tmp_path, timeout=300)
    logs = _client("logs", moto_endpoint)
    try:
        spec.write_text(KEEP_SPEC.format(keep=True, job="beta"), encoding="utf-8")
        renamed = render_in_memory([spec])["keep"]
        impact = team_impact("keep", first, renamed)
        assert "aws_cloudwatch_log_group.alpha" in impact.remove
        assert [w.split(":")[0] for w in impact.warnings] == ["aws_ssm_parameter.alpha_run"]
        assert any(
            n.startswith("aws_cloudwatch_log_group.alpha: the log group /ecs/keep/alpha stays")
            for n in impact.notes
        )
        without = {
            name: text.replace("  skip_destroy      = true\n", "") for name, text in first.items()
        }
        assert [w.split(":")[0] for w in team_impact("keep", without, renamed).warnings] == [
            "aws_cloudwatch_log_group.alpha",
            "aws_cloudwatch_log_group.alpha_states",
            "aws_ssm_parameter.alpha_run",
        ], (
            "without keep_logs the same rename warns about the logs (the job's and its state machines')"
        )
        _swap(module, renamed)
        terraform.ok("apply", "-input=false", "-auto-approve", cwd=tmp_path, timeout=300)
        groups = {
            g["logGroupName"]
            for g in logs.describe_log_groups(logGroupNamePrefix="/ecs/keep/")["logGroups"]
        }
        assert groups == {"/ecs/keep/alpha", "/ecs/keep/beta"}, "the renamed job's group stays"
    finally:
        terraform.ok("destroy", "-input=false", "-auto-approve", cwd=tmp_path, timeout=300)
    groups = {
        g["logGroupName"]
        for g in logs.describe_log_groups(logGroupNamePrefix="/ecs/keep/")["logGroups"]
    }
    assert groups == {"/ecs/keep/alpha", "/ecs/keep/beta"}, "destroy keeps them too"
    for name in groups:  # the clean-up the note names
        logs.delete_log_group(logGroupName=name)
