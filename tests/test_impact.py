"""The change-impact summary (`ecsgen.impact`) on the examples, without Terraform: addresses added,
removed, changed, replaced and moved; warnings exactly where data would be lost. The same
changes are compared with `terraform plan` on moto in tests/test_impact_plan.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ecsgen.impact import Impact, addresses, summary_lines, team_impact, total, total_line
from ecsgen.model.moved import Move, moves_for
from ecsgen.pipeline import render_in_memory
from tests.conftest import EXAMPLES, OUTPUT


def _golden(team: str) -> dict[str, str]:
    return {
        p.name: p.read_text(encoding="utf-8")
        for p in sorted((OUTPUT / team).iterdir())
        if p.suffix in (".tf", ".md")
    }


def _variant(tmp_path: Path, team: str, old: str, new: str) -> dict[str, str]:
    source = (EXAMPLES / f"{team}.py").read_text(encoding="utf-8")
    assert old in source
    shutil.copy(EXAMPLES / "_defaults.py", tmp_path)
    (tmp_path / f"{team}.py").write_text(source.replace(old, new), encoding="utf-8")
    return render_in_memory([tmp_path / f"{team}.py"])[team]


def test_unchanged_module_has_no_impact() -> None:
    files = _golden("llm")
    impact = team_impact("llm", files, files)
    assert impact.empty() and not impact.warnings and not impact.notes


def test_image_change_replaces_task_definitions_and_updates_services(tmp_path: Path) -> None:
    new = _variant(tmp_path, "starter", "ai-training:2024.06.1", "ai-training:2024.07.1")
    impact = team_impact("starter", _golden("starter"), new)
    assert impact.replace == (
        "aws_ecs_task_definition.ai_training_leader",
        "aws_ecs_task_definition.ai_training_worker",
    )
    assert impact.change == (
        # the rules match the leader's task definition ARN, a new revision's after the change
        "aws_cloudwatch_event_rule.ai_training_failed",
        "aws_cloudwatch_event_rule.ai_training_finished",
        "aws_cloudwatch_event_rule.ai_training_started",
        "aws_ecs_service.ai_training_leader",
        "aws_ecs_service.ai_training_workers",
    )
    assert (impact.add, impact.remove, impact.warnings) == ((), (), ())
    assert impact.counts() == (2, 2, 5), "a replacement counts as one to add and one to remove"


def test_node_count_change_on_ec2(tmp_path: Path) -> None:
    new = _variant(tmp_path, "recsys", 'nodes="2:6"', 'nodes="2:8"')
    impact = team_impact("recsys", _golden("recsys"), new)
    assert set(impact.change) >= {"aws_autoscaling_group.dlrm", "aws_ecs_service.dlrm_workers"}
    assert not impact.add and not impact.remove and not impact.warnings


def test_job_rename_warns_about_logs_and_the_run_record(tmp_path: Path) -> None:
    new = _variant(tmp_path, "starter", 'name="ai-training"', 'name="ai-train"')
    impact = team_impact("starter", _golden("starter"), new)
    assert "aws_cloudwatch_log_group.ai_training" in impact.remove
    assert "aws_cloudwatch_log_group.ai_train" in impact.add
    assert len(impact.add) == len(impact.remove) == 34
    # the run-progress parameter (counts of the run in flight) is removed without a warning
    assert "aws_ssm_parameter.ai_training_run_progress" in impact.remove
    (logs, states, record) = impact.warnings
    assert logs.startswith("aws_cloudwatch_log_group.ai_training: the log group")
    assert "/ecs/starter/ai-training" in logs and "keep_logs=True" in logs
    assert states.startswith("aws_cloudwatch_log_group.ai_training_states: the log group")
    assert "/aws/vendedlogs/states/starter-ai-training" in states and "keep_logs=True" in states
    assert record.startswith("aws_ssm_parameter.ai_training_run: the run record")
    assert "aws ssm get-parameter --name /ecsgen/starter/ai-training/run" in record
    (note,) = impact.notes
    assert "If a job was renamed, nothing of it carries over" in note
    assert "every AWS name carries the job's name" in note


def test_kept_log_group_is_a_note_not_a_warning(tmp_path: Path) -> None:
    """A log group applied with skip_destroy stays in AWS: no warning, a note on clean-up."""
    old = _golden("starter")
    name = "job_ai_training.tf"
    assert old[name].count("  retention_in_days = var.log_retention_days\n") == 2
    old[name] = old[name].replace(  # both groups, the job's and its state machine's
        "  retention_in_days = var.log_retention_days\n",
        "  retention_in_days = var.log_retention_days\n  skip_destroy      = true\n",
    )
    new = _variant(tmp_path, "starter", 'name="ai-training"', 'name="ai-train"')
    impact = team_impact("starter", old, new)
    assert [w.split(":")[0] for w in impact.warnings] == ["aws_ssm_parameter.ai_training_run"]
    kept = [n for n in impact.notes if n.startswith("aws_cloudwatch_log_group.")]
    assert [n.split(":")[0] for n in kept] == [
        "aws_cloudwatch_log_group.ai_training",
        "aws_cloudwatch_log_group.ai_training_states",
    ]
    assert "aws logs delete-log-group --log-group-name /ecs/starter/ai-training" in kept[0]
    assert (
        "aws logs delete-log-group --log-group-name /aws/vendedlogs/states/starter-ai-training"
        in kept[1]
    )


def test_team_removal_removes_every_resource_and_warns() -> None:
    old = _golden("llm")
    impact = team_impact("llm", old, {})
    assert impact.removed_team and not impact.add
    assert set(impact.remove) == {a for a in addresses(old) if not a.startswith("data.")}
    warned = sorted(w.split(":")[0] for w in impact.warnings)
    assert warned == [
        "aws_cloudwatch_log_group.eval",
        "aws_cloudwatch_log_group.eval_states",
        "aws_cloudwatch_log_group.pretrain",
        "aws_cloudwatch_log_group.pretrain_states",
        "aws_sns_topic.notifications",
        # the eval job keeps running: it has no run record; pretrain_run_progress is no warning
        "aws_ssm_parameter.pretrain_run",
    ]
    assert "aws_ssm_parameter.pretrain_run_progress" in impact.remove
    assert summary_lines(impact)[0].startswith("team llm (the team's module is removed):")
    assert not any(line.startswith("  - ") for line in summary_lines(impact)), "counted, not listed"


def test_count_zero_with_the_defaults_is_not_listed() -> None:
    old = _golden("starter")
    assert "count = var.enable_execute_command ? 1 : 0" in old["job_ai_training.tf"]
    impact = team_impact("starter", old, {})
    assert "aws_iam_role_policy.ai_training_task" in addresses(old)
    assert "aws_iam_role_policy.ai_training_task" not in impact.remove
    assert "aws_iam_role_policy.ai_training_execution" in impact.remove


def test_moved_block_turns_remove_and_add_into_a_move() -> None:
    old = _golden("starter")
    new = dict(old)
    name = "job_ai_training.tf"
    new[name] = (
        new[name]
        .replace(
            'resource "aws_cloudwatch_log_group" "ai_training"',
            'resource "aws_cloudwatch_log_group" "ai_training_logs"',
        )
        .replace(
            "aws_cloudwatch_log_group.ai_training.", "aws_cloudwatch_log_group.ai_training_logs."
        )
    )
    renamed = team_impact("starter", old, new)
    assert renamed.remove == ("aws_cloudwatch_log_group.ai_training",) and renamed.warnings
    new["main.tf"] += (
        "\nmoved {\n  from = aws_cloudwatch_log_group.ai_training\n"
        "  to   = aws_cloudwatch_log_group.ai_training_logs\n}\n"
    )
    moved = team_impact("starter", old, new)
    assert moved.empty() is False and (moved.add, moved.remove, moved.warnings) == ((), (), ())
    assert [(m.old, m.new) for m in moved.moved] == [
        ("aws_cloudwatch_log_group.ai_training", "aws_cloudwatch_log_group.ai_training_logs")
    ]


def test_a_hand_edit_that_does_not_parse_is_named() -> None:
    old = _golden("starter")
    old["outputs.tf"] += "output {{{\n"
    impact = team_impact("starter", old, _golden("starter"))
    assert impact.notes == ("outputs.tf does not parse; its resources are not in this summary",)


def test_total_line_counts_like_terraform() -> None:
    impacts = [
        Impact("a", add=("x.a", "x.b"), remove=("x.c",), change=("x.d",), replace=("x.e",)),
        Impact("b", change=("x.f",), warnings=("lost",)),
        Impact("c"),  # unchanged: not counted
    ]
    assert total_line(total(impacts)) == (
        "2 teams: 3 to add, 2 to remove (1 replaced), 2 changed; 1 warning"
    )


@pytest.mark.parametrize(
    ("table", "declared", "expected"),
    [
        ((), ["aws_x.j_b"], []),
        (
            (Move("0.2.0", "aws_x.{job}_a", "aws_x.{job}_b", "renamed"),),
            ["aws_x.j_b", "aws_x.k_b"],
            [("aws_x.j_a", "aws_x.j_b"), ("aws_x.k_a", "aws_x.k_b")],
        ),
        (  # a chain: a module from before both renames moves straight to the newest address
            (
                Move("0.2.0", "aws_x.{job}_a", "aws_x.{job}_b", "one"),
                Move("0.3.0", "aws_x.{job}_b", "aws_x.{job}_c", "two"),
            ),
            ["aws_x.j_c"],
            [("aws_x.j_a", "aws_x.j_c"), ("aws_x.j_b", "aws_x.j_c")],
        ),
        ((Move("0.2.0", "aws_x.this", "aws_x.main", "gone since"),), ["aws_y.other"], []),
    ],
)
def test_moves_for(
    table: tuple[Move, ...], declared: list[str], expected: list[tuple[str, str]]
) -> None:
    found = moves_for(declared, ["j", "k"], table)
    assert [(b.old, b.new) for b in found] == expected
