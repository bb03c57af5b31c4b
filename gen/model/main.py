"""`main.tf`: what the team's jobs share: tags, the caller's identity, the ECS tasks' trust
policy, the cluster and the rendezvous namespace (EC2 pieces: `instances`; the topic:
`notifications`)."""

from __future__ import annotations

from ..hcl import Expr
from ..model.decl import ACCOUNT, PRESENT, Decl, arn, data, local_values, resource, statement
from ..names import team_names
from ..validate import TeamConfig

__all__ = ["cluster", "ecs_tasks_assume", "identity", "namespace", "shared", "vpc"]


def shared(team: TeamConfig) -> Decl:
    """The tags every resource carries: the spec's and `ecsgen:team`, merged with `var.tags`."""
    spec_tags = {**dict(team.tags), "ecsgen:team": team.name}
    return local_values(tags_from_spec=dict(sorted(spec_tags.items())), tags=PRESENT)


def identity() -> tuple[Decl, ...]:
    return (data("aws_caller_identity", "current"), data("aws_partition", "current"))


def ecs_tasks_assume(team: TeamConfig) -> Decl:
    return data(
        "aws_iam_policy_document",
        "ecs_tasks_assume",
        statements=[
            statement(
                "EcsTasksAssume",
                ["sts:AssumeRole"],
                [],
                conditions=[
                    ("StringEquals", "aws:SourceAccount", [ACCOUNT]),
                    ("ArnLike", "aws:SourceArn", [arn("ecs", "*", team.region)]),
                ],
                principals=[("Service", ["ecs-tasks.amazonaws.com"])],
            )
        ],
        at={"statements": "statement"},
    )


def cluster(team: TeamConfig) -> Decl:
    return resource(
        "aws_ecs_cluster",
        "this",
        name=team_names(team.name).cluster,
        region_check=Expr(f'split(":", self.arn)[3] == "{team.region}"'),
        region_message=f"This module is for {team.region}: configure the aws provider "
        "for that region (container logs and the roles' trust conditions name it).",
        at={
            "region_check": "lifecycle.0.postcondition.0.condition",
            "region_message": "lifecycle.0.postcondition.0.error_message",
        },
    )


def vpc() -> Decl:
    return data("aws_vpc", "this")


def namespace(team: TeamConfig) -> Decl:
    return resource(
        "aws_service_discovery_private_dns_namespace",
        "this",
        name=team_names(team.name).namespace,
        description=f"Rendezvous names of the training jobs of team {team.name}",
        dns_check=Expr(
            "data.aws_vpc.this.enable_dns_support && data.aws_vpc.this.enable_dns_hostnames"
        ),
        dns_message="The VPC needs DNS support and DNS hostnames enabled: the rendezvous "
        "names live in a private DNS namespace, and torch publishes each node's host name "
        "(socket.getfqdn()) as the process group's master address, which every other node "
        "must resolve.",
        at={
            "dns_check": "lifecycle.0.precondition.0.condition",
            "dns_message": "lifecycle.0.precondition.0.error_message",
        },
    )
