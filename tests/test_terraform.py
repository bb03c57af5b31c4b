"""The real toolchain as the oracle: every committed module passes `terraform fmt -check` and
`terraform validate` with the real hashicorp/aws provider (from the local mirror), and
`terraform test` (mocked provider, offline) exercises the module's own logic."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest

from ecsgen.validate import Ec2Compute, JobConfig, TeamConfig
from tests.conftest import OUTPUT, ROOT, Terraform, ident

MODULES = sorted(
    [p for p in OUTPUT.iterdir() if p.is_dir()]
    + [p / "expected" for p in (ROOT / "tests" / "cases").iterdir() if p.is_dir()]
)

pytestmark = pytest.mark.terraform


@pytest.mark.parametrize("module", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_fmt_check(terraform: Terraform, module: Path) -> None:
    result = terraform.run("fmt", "-check", "-diff", "-recursive", ".", cwd=module, timeout=60)
    assert result.returncode == 0, f"terraform fmt would change {module}:\n{result.stdout}"


@pytest.mark.parametrize("module", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_validate(terraform: Terraform, module: Path, tmp_path: Path) -> None:
    work = tmp_path / module.name
    shutil.copytree(module, work)
    terraform.ok("init", "-backend=false", "-input=false", cwd=work, timeout=120)
    result = terraform.run("validate", "-json", cwd=work, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"valid": true' in result.stdout
    assert '"warning_count": 0' in result.stdout, f"warnings in {module}:\n{result.stdout}"


MOCKS = """mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\\"Version\\":\\"2012-10-17\\",\\"Statement\\":[]}"
    }
  }
  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }
  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
    }
  }
  mock_data "aws_vpc" {
    defaults = {
      enable_dns_support   = true
      enable_dns_hostnames = true
      cidr_block           = "10.0.0.0/16"
    }
  }
  mock_data "aws_ssm_parameter" {
    defaults = {
      value          = "ami-0123456789abcdef0"
      insecure_value = "{\\"run\\":\\"1\\",\\"status\\":\\"RUNNING\\",\\"failures\\":0,\\"task\\":\\"\\"}"
    }
  }
  mock_resource "aws_launch_template" {
    defaults = {
      id = "lt-0123456789abcdef0"
    }
  }
  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::123456789012:role/mock"
    }
  }
  mock_resource "aws_iam_instance_profile" {
    defaults = {
      arn = "arn:aws:iam::123456789012:instance-profile/mock"
    }
  }
  mock_resource "aws_autoscaling_group" {
    defaults = {
      arn = "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:mock"
    }
  }
  mock_resource "aws_service_discovery_service" {
    defaults = {
      arn = "arn:aws:servicediscovery:us-east-1:123456789012:service/srv-mock"
    }
  }
  mock_resource "aws_ecs_task_definition" {
    defaults = {
      arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/mock:1"
    }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = {
      arn = "arn:aws:logs:us-east-1:123456789012:log-group:mock"
    }
  }
  mock_resource "aws_sfn_state_machine" {
    defaults = {
      arn = "arn:aws:states:us-east-1:123456789012:stateMachine:mock"
    }
  }
  mock_resource "aws_ssm_parameter" {
    defaults = {
      arn = "arn:aws:ssm:us-east-1:123456789012:parameter/mock"
    }
  }
  mock_resource "aws_sns_topic" {
    defaults = {
      arn = "arn:aws:sns:us-east-1:123456789012:mock"
    }
  }
  mock_resource "aws_sqs_queue" {
    defaults = {
      arn = "arn:aws:sqs:us-east-1:123456789012:mock"
    }
  }
  mock_resource "aws_kms_key" {
    defaults = {
      arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"
    }
  }
  mock_resource "aws_ecs_capacity_provider" {
    defaults = {
      arn = "arn:aws:ecs:us-east-1:123456789012:capacity-provider/mock"
    }
  }
}
"""


def _rules(team: TeamConfig) -> str:
    """A `terraform test` file (mocked provider, offline) for the module's own logic."""
    # Jobs in one zone (EFA, a reservation) have their own one-subnet variable.
    efa = [j for j in team.jobs if isinstance(j.compute, Ec2Compute) and j.compute.single_az]
    variables = [
        '  vpc_id     = "vpc-0123456789abcdef0"',
        '  subnet_ids = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]',
    ]
    variables += [f'  {ident(j)}_subnet_ids = ["subnet-0123456789abcdef0"]' for j in efa]
    runs = [MOCKS, "variables {", *variables, "}"]
    runs.append(_fails("bad_tag_characters", '    tags = { "team" = "cv #1 <x>" }', "var.tags"))
    runs.append(_fails("reserved_tag", '    tags = { AmazonECSManaged = "false" }', "var.tags"))
    for job in team.jobs:
        job_ident = ident(job)
        runs.append(
            _fails(
                f"{job_ident}_fractional_nodes",
                f"    {job_ident}_nodes = 2.5",
                f"var.{job_ident}_nodes",
            )
        )
        runs.append(
            _fails(
                f"{job_ident}_too_many_nodes",
                f"    {job_ident}_nodes = 1001",
                f"var.{job_ident}_nodes",
            )
        )
        if job.elastic and job.min_nodes > 1:
            runs.append(
                _fails(
                    f"{job_ident}_below_elastic_minimum",
                    f"    {job_ident}_nodes = {job.min_nodes - 1}",
                    f"var.{job_ident}_nodes",
                )
            )
    for job in efa:
        job_ident = ident(job)
        runs.append(
            _fails(
                f"{job_ident}_efa_two_subnets",
                f'    {job_ident}_subnet_ids = ["subnet-0a", "subnet-0b"]',
                f"var.{job_ident}_subnet_ids",
            )
        )
    for job in team.jobs:
        compute = job.compute
        reservation = compute.reservation if isinstance(compute, Ec2Compute) else None
        if reservation is None:
            continue
        job_ident = ident(job)
        wrong = (
            "arn:aws:resource-groups:us-east-1:1:group/x"
            if reservation.reservation_id
            else ("cr-0123456789abcdef0")
        )
        runs.append(
            _fails(
                f"{job_ident}_wrong_reservation",
                f'    {job_ident}_reservation = "{wrong}"',
                f"var.{job_ident}_reservation",
            )
        )
        if reservation.instances is not None:
            runs.append(
                _fails(
                    f"{job_ident}_more_nodes_than_reserved",
                    f"    {job_ident}_nodes = {reservation.instances + 1}",
                    f"var.{job_ident}_nodes",
                )
            )
    runs.append("""run "vpc_without_dns_hostnames" {
  command = plan

  override_data {
    target = data.aws_vpc.this
    values = {
      enable_dns_support   = true
      enable_dns_hostnames = false
      cidr_block           = "10.0.0.0/16"
    }
  }

  expect_failures = [aws_service_discovery_private_dns_namespace.this]
}
""")
    # Desired counts are known once the run record exists (a data source reads it back), so
    # these runs apply (mocked), after the plan-only runs above.
    cluster = _cluster_override(team)
    runs.append(_apply_run("defaults", "", cluster, _counts(team.jobs, at_zero=False)))
    nodes_zero = "\n".join(f"    {ident(j)}_nodes = 0" for j in team.jobs)
    runs.append(_apply_run("stopped", nodes_zero, cluster, _counts(team.jobs, at_zero=True)))
    runs += _run_record_runs(team)
    other = "eu-north-1" if team.region != "eu-north-1" else "us-east-1"
    runs.append(f"""run "wrong_region" {{
  command   = apply
  state_key = "wrong_region" # its own state: the runs above applied the cluster already

  override_resource {{
    target = aws_ecs_cluster.this
    values = {{
      arn = "arn:aws:ecs:{other}:123456789012:cluster/{team.name}"
    }}
  }}

  expect_failures = [aws_ecs_cluster.this]
}}
""")
    return "\n".join(runs)


def _record(job: JobConfig, run: str, status: str) -> str:
    """The job's run record as read back from SSM, as its state machine would have written it."""
    record = json.dumps({"run": run, "status": status, "failures": 0, "task": "t"})
    value = json.dumps(record)  # an HCL string literal (no function calls in test files)
    return (
        f"  override_data {{\n    target = data.aws_ssm_parameter.{ident(job)}_run\n"
        f"    values = {{\n      insecure_value = {value}\n    }}\n  }}\n\n"
    )


def _cluster_override(team: TeamConfig) -> str:
    """A cluster ARN in the team's region, for the region postcondition of apply runs."""
    return (
        "  override_resource {\n    target = aws_ecs_cluster.this\n    values = {\n"
        f'      arn = "arn:aws:ecs:{team.region}:123456789012:cluster/{team.name}"\n'
        "    }\n  }\n\n"
    )


def _counts(jobs: Sequence[JobConfig], at_zero: bool) -> str:
    return " && ".join(
        f"aws_ecs_service.{ident(j)}_leader.desired_count == {0 if at_zero else 1} && "
        f"aws_ecs_service.{ident(j)}_workers.desired_count == "
        f"{0 if at_zero else j.max_nodes - 1}"
        for j in jobs
    )


def _apply_run(name: str, variables: str, overrides: str, condition: str) -> str:
    block = f"  variables {{\n{variables}\n  }}\n\n" if variables else ""
    return (
        f'run "{name}" {{\n  command = apply\n\n{block}{overrides}  assert {{\n'
        f"    condition     = {condition}\n"
        f'    error_message = "{name}: unexpected desired counts"\n  }}\n}}\n'
    )


def _run_record_runs(team: TeamConfig) -> list[str]:
    """A finished or failed run keeps both services at 0 across applies; a new run id starts
    the job again; a long-running (keep_running) job has no record and keeps running."""
    ending = [j for j in team.jobs if not j.keep_running]
    if not ending:
        return []
    cluster = _cluster_override(team)

    def run(name: str, status: str, run_id: str, at_zero: bool) -> str:
        records = "".join(_record(j, "1", status) for j in ending)
        ids = "\n".join(f'    {ident(j)}_run = "{run_id}"' for j in ending)
        condition = _counts(ending, at_zero)
        running = [j for j in team.jobs if j.keep_running]
        if running:
            condition += " && " + _counts(running, at_zero=False)
        return _apply_run(name, ids, cluster + records, condition)

    return [
        run("run_in_progress_runs", "RUNNING", "1", at_zero=False),
        run("run_finished_stays_at_zero", "FINISHED", "1", at_zero=True),
        run("run_failed_stays_at_zero", "FAILED", "1", at_zero=True),
        run("new_run_id_starts_again", "FINISHED", "2", at_zero=False),
        _fails(
            f"{ident(ending[0])}_bad_run_id",
            f'    {ident(ending[0])}_run = "no spaces"',
            f"var.{ident(ending[0])}_run",
        ),
    ]


def _fails(name: str, variables: str, target: str) -> str:
    return (
        f'run "{name}" {{\n  command = plan\n\n  variables {{\n{variables}\n  }}\n\n'
        f"  expect_failures = [{target}]\n}}\n"
    )


@pytest.mark.parametrize("team", sorted(p.name for p in OUTPUT.iterdir() if p.is_dir()))
def test_module_rules_with_terraform_test(
    terraform: Terraform, team: str, tmp_path: Path, example_configs: dict[str, TeamConfig]
) -> None:
    """Desired counts follow `<job>_nodes` (0 stops a job), the variables refuse what AWS or
    the job would refuse, and a provider in another region is stopped by the postcondition."""
    work = tmp_path / team
    shutil.copytree(OUTPUT / team, work)
    (work / "tests").mkdir()
    (work / "tests" / "rules.tftest.hcl").write_text(
        _rules(example_configs[team]), encoding="utf-8"
    )
    terraform.ok("init", "-backend=false", "-input=false", cwd=work, timeout=120)
    result = terraform.run("test", "-no-color", cwd=work, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 failed" in result.stdout and "Success!" in result.stdout
