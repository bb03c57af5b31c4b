"""`outputs.tf`: what the module hands back, the team's and each job's."""

from __future__ import annotations

from ..model.decl import Decl, output, ref
from ..names import RDZV_PORT, JobNames
from ..validate import Ec2Compute, JobConfig

__all__ = ["cluster_outputs", "job_outputs"]


def cluster_outputs() -> tuple[Decl, ...]:
    return (
        output(
            "cluster_name",
            "Name of the team's ECS cluster.",
            ref("aws_ecs_cluster", "this", "name"),
        ),
        output(
            "cluster_arn",
            "ARN of the team's ECS cluster.",
            ref("aws_ecs_cluster", "this", "arn"),
        ),
        output(
            "namespace_name",
            "Private DNS namespace of the rendezvous names.",
            ref("aws_service_discovery_private_dns_namespace", "this", "name"),
        ),
        output(
            "notifications_topic_arn",
            "SNS topic that reports how each job ended and failed deployments.",
            ref("aws_sns_topic", "notifications", "arn"),
        ),
    )


def job_outputs(job: JobConfig, names: JobNames) -> tuple[Decl, ...]:
    ident = names.ident
    outputs = [
        output(
            f"{ident}_services",
            f"ECS services of job {job.name} (leader, workers).",
            {
                "leader": ref("aws_ecs_service", f"{ident}_leader", "name"),
                "workers": ref("aws_ecs_service", f"{ident}_workers", "name"),
            },
        ),
        output(
            f"{ident}_rendezvous_endpoint",
            "Where the workers find the leader's c10d store.",
            f"{names.rendezvous_host}:{RDZV_PORT}",
        ),
        output(
            f"{ident}_log_group",
            "CloudWatch log group of the job.",
            ref("aws_cloudwatch_log_group", ident, "name"),
        ),
        output(
            f"{ident}_task_role_arn",
            "IAM role the training code runs with.",
            ref("aws_iam_role", f"{ident}_task", "arn"),
        ),
        output(
            f"{ident}_security_group_id",
            "Security group of the job's nodes.",
            ref("aws_security_group", ident, "id"),
        ),
    ]
    if not job.keep_running:
        outputs.append(
            output(
                f"{ident}_run_record",
                "SSM parameter holding the job's last run: id, RUNNING/FINISHED/FAILED, failures.",
                ref("aws_ssm_parameter", f"{ident}_run", "name"),
            )
        )
    if isinstance(job.compute, Ec2Compute):
        outputs.append(
            output(
                f"{ident}_autoscaling_group",
                "Auto Scaling group of the job's GPU instances.",
                ref("aws_autoscaling_group", ident, "name"),
            )
        )
    return tuple(outputs)
