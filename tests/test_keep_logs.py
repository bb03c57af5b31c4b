"""`Team(keep_logs=True)`: every log group of the team gets `skip_destroy = true` (parsed back
as data), the jobs' and their state machines' (`<job>_states`) alike, and nothing else changes;
without it no log group has the argument. The apply on moto
is in tests/test_impact_plan.py."""

from __future__ import annotations

from pathlib import Path

from ecsgen.pipeline import render_in_memory
from ecsgen.verify import parse

SPEC = """from ecsgen import Ec2, Fargate, Job, Team
team = Team(name="keep", region="us-east-1",{keep} jobs=[
    Job(name="a", image="r/x:1", command=["python", "t.py"], compute=Fargate(cpu=256, memory=512)),
    Job(name="b", image="r/x:1", command=["python", "t.py"], compute=Ec2(instance_type="g5.xlarge")),
])
"""


def _render(tmp_path: Path, keep: str) -> dict[str, str]:
    spec = tmp_path / "keep.py"
    spec.write_text(SPEC.format(keep=keep), encoding="utf-8")
    return render_in_memory([spec])["keep"]


def _groups(files: dict[str, str]) -> dict[str, dict[str, object]]:
    found = {}
    for name in ("job_a.tf", "job_b.tf"):
        for block in parse(files[name], name)["resource"]:  # type: ignore[union-attr]
            for label, body in block.get("aws_cloudwatch_log_group", {}).items():
                found[label] = body
    return found


def test_keep_logs_sets_skip_destroy_on_every_log_group(tmp_path: Path) -> None:
    kept = _render(tmp_path, " keep_logs=True,")
    plain = _render(tmp_path, "")
    groups = ["a", "a_states", "b", "b_states"]
    assert {k: v.get("skip_destroy") for k, v in _groups(kept).items()} == dict.fromkeys(
        groups, True
    )
    assert {k: v.get("skip_destroy") for k, v in _groups(plain).items()} == dict.fromkeys(groups)
    assert _render(tmp_path, " keep_logs=False,") == plain
    changed = {n for n in kept if n != "README.md" and kept[n] != plain[n]}
    assert changed == {"job_a.tf", "job_b.tf"}
    for name in changed:
        removed = [x for x in plain[name].splitlines() if x not in kept[name].splitlines()]
        added = [x for x in kept[name].splitlines() if x not in plain[name].splitlines()]
        assert (removed, added) == ([], ["  skip_destroy      = true"] * 2), "both groups"
