"""Every AWS name ecsgen derives, with the limit AWS puts on it.

One function per team and per job returns all of them, so the validator can check each against
its limit before anything is rendered, and the model uses exactly the same strings.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DerivedName", "JobNames", "TeamNames", "job_names", "team_names"]

RDZV_PORT = 29400
MAX_CAPACITY_GENERATION = 999  # `<job>_capacity_generation`'s largest value
GENERATION_SUFFIX = f"-g{MAX_CAPACITY_GENERATION}"  # the longest capacity name suffix


@dataclass(frozen=True, slots=True)
class DerivedName:
    """An AWS name, what it names, and the longest AWS allows (in characters)."""

    kind: str
    value: str
    limit: int
    forbidden_prefixes: tuple[str, ...] = ()

    def problem(self) -> str | None:
        """Why AWS would refuse this name, or None."""
        if len(self.value) > self.limit:
            return (
                f"the {self.kind} {self.value!r} ({len(self.value)} characters); AWS allows "
                f"at most {self.limit}"
            )
        for prefix in self.forbidden_prefixes:
            if self.value.startswith(prefix):
                return (
                    f"the {self.kind} {self.value!r}, which AWS refuses: it must not start "
                    f"with {' or '.join(repr(p) for p in self.forbidden_prefixes)}"
                )
        return None


@dataclass(frozen=True, slots=True)
class TeamNames:
    cluster: str
    namespace: str
    instance_role: str
    instance_profile: str
    topic: str

    def all(self, ec2: bool) -> tuple[DerivedName, ...]:
        common = (
            DerivedName("ECS cluster name", self.cluster, 255),
            DerivedName("Cloud Map namespace label", self.namespace.split(".")[0], 63),
            DerivedName("SNS topic name", self.topic, 256),
        )
        if not ec2:
            return common
        return (
            *common,
            DerivedName("IAM role name", self.instance_role, 64),
            DerivedName("IAM instance profile name", self.instance_profile, 128),
        )


@dataclass(frozen=True, slots=True)
class JobNames:
    ident: str
    prefix: str
    execution_role: str
    task_role: str
    log_group: str
    security_group: str
    discovery: str
    leader_service: str
    workers_service: str
    leader_family: str
    worker_family: str
    rendezvous_host: str
    rendezvous_id: str
    capacity_provider: str
    autoscaling_group: str
    launch_template: str
    placement_group: str
    finished_rule: str
    failed_rule: str
    deployment_rule: str
    events_role: str
    states_role: str
    state_machine: str
    run_parameter: str
    progress_parameter: str
    started_rule: str
    timer: str
    states_log_group: str
    dead_letters: str
    completion_alarm: str
    timer_alarm: str
    dead_letters_alarm: str

    def all(self, ec2: bool) -> tuple[DerivedName, ...]:
        common = (
            DerivedName("IAM role name", self.execution_role, 64),
            DerivedName("IAM role name", self.task_role, 64),
            DerivedName("CloudWatch log group name", self.log_group, 512),
            DerivedName("security group name", self.security_group, 255, ("sg-",)),
            DerivedName("Cloud Map service name (a DNS label)", self.discovery, 63),
            DerivedName("ECS service name", self.leader_service, 255),
            DerivedName("ECS service name", self.workers_service, 255),
            DerivedName("task definition family", self.leader_family, 255),
            DerivedName("task definition family", self.worker_family, 255),
            DerivedName("rendezvous host name", self.rendezvous_host, 253),
            DerivedName("EventBridge rule name", self.finished_rule, 64),
            DerivedName("EventBridge rule name", self.failed_rule, 64),
            DerivedName("EventBridge rule name", self.deployment_rule, 64),
            DerivedName("IAM role name", self.events_role, 64),
            DerivedName("IAM role name", self.states_role, 64),
            DerivedName("Step Functions state machine name", self.state_machine, 80),
            DerivedName("SSM parameter name", self.run_parameter, 1011),
            DerivedName("SSM parameter name", self.progress_parameter, 1011),
            DerivedName("EventBridge rule name", self.started_rule, 64),
            DerivedName("Step Functions state machine name", self.timer, 80),
            DerivedName("CloudWatch log group name", self.states_log_group, 512),
            DerivedName("SQS queue name", self.dead_letters, 80),
            DerivedName("CloudWatch alarm name", self.completion_alarm, 255),
            DerivedName("CloudWatch alarm name", self.timer_alarm, 255),
            DerivedName("CloudWatch alarm name", self.dead_letters_alarm, 255),
        )
        if not ec2:
            return common
        return (
            *common,
            # room for a capacity generation's "-g999" (`<job>_capacity_generation`)
            DerivedName(
                "ECS capacity provider name",
                self.capacity_provider,
                255 - len(GENERATION_SUFFIX),
                ("aws", "ecs", "fargate"),
            ),
            DerivedName(
                "Auto Scaling group name", self.autoscaling_group, 255 - len(GENERATION_SUFFIX)
            ),
            DerivedName("launch template name", self.launch_template, 128),
            DerivedName("placement group name", self.placement_group, 255),
        )


def team_names(team: str) -> TeamNames:
    return TeamNames(
        cluster=team,
        namespace=f"{team}.training.internal",
        instance_role=f"{team}-ecs-instance",
        instance_profile=f"{team}-ecs-instance",
        topic=f"{team}-training-events",
    )


def job_names(team: str, job: str) -> JobNames:
    prefix = f"{team}-{job}"
    discovery = f"{job}-leader"
    return JobNames(
        ident=job.replace("-", "_"),
        prefix=prefix,
        execution_role=f"{prefix}-execution",
        task_role=f"{prefix}-task",
        log_group=f"/ecs/{team}/{job}",
        security_group=f"{prefix}-nodes",
        discovery=discovery,
        leader_service=f"{job}-leader",
        workers_service=f"{job}-workers",
        leader_family=f"{prefix}-leader",
        worker_family=f"{prefix}-worker",
        rendezvous_host=f"{discovery}.{team_names(team).namespace}",
        rendezvous_id=prefix,
        capacity_provider=prefix,
        autoscaling_group=prefix,
        launch_template=prefix,
        placement_group=prefix,
        finished_rule=f"{prefix}-finished",
        failed_rule=f"{prefix}-failed",
        deployment_rule=f"{prefix}-deploy",
        events_role=f"{prefix}-events",
        states_role=f"{prefix}-states",
        state_machine=f"{prefix}-completion",
        run_parameter=f"/ecsgen/{team}/{job}/run",
        progress_parameter=f"/ecsgen/{team}/{job}/run-progress",
        started_rule=f"{prefix}-started",
        timer=f"{prefix}-timer",
        # /aws/vendedlogs/ avoids CloudWatch Logs' resource policy size limit (Step Functions
        # logging documentation).
        states_log_group=f"/aws/vendedlogs/states/{prefix}",
        dead_letters=f"{prefix}-events-dlq",
        completion_alarm=f"{prefix}-completion-failed",
        timer_alarm=f"{prefix}-timer-failed",
        dead_letters_alarm=f"{prefix}-events-undelivered",
    )
