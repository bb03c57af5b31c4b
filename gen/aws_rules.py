"""What the AWS provider does with the resource types ecsgen writes, for `gen.impact`: which
argument changes replace a resource, and which resources hold data that their loss loses.

Sources: the hashicorp/aws 5.x resource documentation and schemas (`ForceNew`, or
`RequiresReplace` in the framework resources); checked against `terraform plan` on moto for the
changes tests/test_impact_plan.py makes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["FORCE_NEW", "NOT_STATEFUL", "STATEFUL"]

# Arguments whose change replaces the resource (hashicorp/aws 5.x: `ForceNew` or
# `RequiresReplace` in each resource's schema). "*" : any argument but those listed after "!".
FORCE_NEW: Mapping[str, frozenset[str]] = {
    "aws_autoscaling_group": frozenset({"name", "name_prefix"}),
    "aws_cloudwatch_event_rule": frozenset({"name", "name_prefix", "event_bus_name"}),
    "aws_cloudwatch_event_target": frozenset({"rule", "target_id", "event_bus_name"}),
    "aws_cloudwatch_log_group": frozenset({"name", "name_prefix", "log_group_class"}),
    "aws_ecs_capacity_provider": frozenset(
        {"name", "auto_scaling_group_provider.auto_scaling_group_arn"}
    ),
    "aws_ecs_cluster": frozenset({"name"}),
    "aws_ecs_cluster_capacity_providers": frozenset({"cluster_name"}),
    "aws_ecs_service": frozenset(
        {"name", "cluster", "iam_role", "launch_type", "scheduling_strategy"}
    ),
    # every argument but tags replaces a task definition (it is immutable: a new revision)
    "aws_ecs_task_definition": frozenset({"*", "!tags", "!skip_destroy", "!track_latest"}),
    "aws_iam_instance_profile": frozenset({"name", "name_prefix", "path"}),
    "aws_iam_role": frozenset({"name", "name_prefix", "path"}),
    "aws_iam_role_policy": frozenset({"name", "name_prefix", "role"}),
    "aws_iam_role_policy_attachment": frozenset({"role", "policy_arn"}),
    "aws_launch_template": frozenset({"name", "name_prefix"}),
    "aws_placement_group": frozenset({"name", "strategy", "partition_count", "spread_level"}),
    "aws_security_group": frozenset({"name", "name_prefix", "description", "vpc_id"}),
    "aws_service_discovery_private_dns_namespace": frozenset({"name", "vpc", "description"}),
    "aws_service_discovery_service": frozenset(
        {"name", "namespace_id", "health_check_custom_config"}
    ),
    "aws_sfn_state_machine": frozenset({"name", "name_prefix", "type"}),
    "aws_sns_topic": frozenset({"name", "name_prefix", "fifo_topic"}),
    "aws_sns_topic_subscription": frozenset({"topic_arn", "protocol", "endpoint"}),
    "aws_ssm_parameter": frozenset({"name"}),
    "aws_vpc_security_group_egress_rule": frozenset({"security_group_id"}),
    "aws_vpc_security_group_ingress_rule": frozenset({"security_group_id"}),
}

# Resource types whose loss loses data: what is lost, and what to do before applying.
STATEFUL: Mapping[str, tuple[str, str]] = {
    "aws_cloudwatch_log_group": (
        "the log group {name} and every log event in it",
        "to keep them, set `keep_logs=True` on the team and apply that before this change "
        "(Terraform then leaves the group in AWS), or export the logs first "
        "(aws logs create-export-task)",
    ),
    "aws_ssm_parameter": (
        "the run record {name} (the run id, its status and failure count)",
        "read it first if you need it (aws ssm get-parameter --name {name}); the job starts "
        "again as a new run",
    ),
    "aws_sns_topic": (
        "the topic {name} and its subscriptions",
        "if it is created again (a renamed team, say), every email subscriber must confirm again",
    ),
}

# A job's run-progress parameter (`aws_ssm_parameter.<job>_run_progress`) is an SSM parameter
# but no run record: it holds only the failures counted in the run in flight (run id, count,
# task ids), scratch state for the state machine. Deleting it loses nothing to read back: the
# job's run record goes with it (its warning says so: the job starts again as a new run, whose
# count starts at zero). A warning for it would only repeat that one, with the run record's
# wording ("the run id, its status and failure count"), which describes another parameter.
NOT_STATEFUL = re.compile(r"aws_ssm_parameter\.[A-Za-z_][\w-]*_run_progress")
