"""Run to completion and notifications: every value of a job's completion resources, decided.

A job ends by itself when its leader's trainer exits 0: an EventBridge rule on `ECS Task State
Change` starts an Express state machine that records the run as finished in an SSM parameter and
sets both services to 0 tasks. The module reads the parameter back, so `desired_count` stays 0
for that run id across later applies; a new `<job>_run` id starts the job again. A leader that
stops with a non-zero exit after its in-task restarts counts one failure; at `FAILURE_BUDGET` the
run is recorded as failed and stopped the same way. Every outcome, and a failed deployment
(circuit breaker), is published to the team's SNS topic.

`keep_running` jobs (long-running services) keep today's behaviour: no completion rule, no run
record; their failures and failed deployments are still reported.

The templates (`job_completion.tf.j2`, `team_notifications.tf.j2`) place these values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from gen.hcl import Expr, HclValue, interpolate
from gen.names import JobNames, team_names
from gen.validate import JobConfig, TeamConfig

__all__ = [
    "FAILURE_BUDGET",
    "JobCompletion",
    "Rule",
    "Statement",
    "TeamNotifications",
    "job_completion",
    "team_notifications",
]

CONTAINER = "trainer"  # the one container of every task (gen.model names it too)
# Leader tasks of one run that may stop with a non-zero exit (after the trainer's in-task
# restarts) before the run is recorded as failed and both services are set to 0.
FAILURE_BUDGET = 3
RETRY: list[HclValue] = [
    {
        "ErrorEquals": ["States.ALL"],
        "IntervalSeconds": 2,
        "MaxAttempts": 3,
        "BackoffRate": 2,
    }
]
PARTITION = Expr("data.aws_partition.current.partition")
ACCOUNT = Expr("data.aws_caller_identity.current.account_id")


@dataclass(frozen=True, slots=True)
class Statement:
    """One IAM policy statement (Allow)."""

    sid: str
    actions: tuple[str, ...]
    resources: tuple[HclValue, ...]


@dataclass(frozen=True, slots=True)
class Condition:
    test: str
    variable: str
    values: tuple[HclValue, ...]


@dataclass(frozen=True, slots=True)
class Role:
    """An IAM role a service assumes, its trust conditions and its inline policy."""

    key: str  # "events" or "states"
    ident: str  # Terraform name of the role, its policy and documents: `<job>_<key>`
    name: str
    description: str
    principal: str
    sid: str  # of the trust statement
    trust: tuple[Condition, ...]
    statements: tuple[Statement, ...]


@dataclass(frozen=True, slots=True)
class Rule:
    """An EventBridge rule and its one target, the job's state machine."""

    ident: str  # Terraform name of the rule and its target
    name: str
    description: str
    pattern: dict[str, HclValue]  # placed as a local, passed through jsonencode
    input_paths: dict[str, str]
    input_template: str  # JSON text with <placeholders>; jsonencode would escape < and >


@dataclass(frozen=True, slots=True)
class JobCompletion:
    """The completion and notification resources of one job."""

    ident: str
    title: str  # the section banner
    stops: bool  # False for keep_running jobs: report only
    rules: tuple[Rule, ...]
    state_machine: str
    definition: dict[str, HclValue]
    roles: tuple[Role, ...]  # events (EventBridge -> state machine), states (-> ECS, SSM, SNS)
    run_variable: str
    run_parameter: str
    run_description: str
    run_initial: dict[str, HclValue]
    ended: Expr  # true while the recorded run is this run id and it finished or failed

    @property
    def resources(self) -> tuple[tuple[str, str, str], ...]:
        """(kind, type, name) of every block the fragment writes, for the README."""
        found: list[tuple[str, str, str]] = []
        if self.stops:
            found.append(("resource", "aws_ssm_parameter", f"{self.ident}_run"))
            found.append(("data", "aws_ssm_parameter", f"{self.ident}_run"))
        for rule in self.rules:
            found.append(("resource", "aws_cloudwatch_event_rule", rule.ident))
            found.append(("resource", "aws_cloudwatch_event_target", rule.ident))
        for role in self.roles:
            found += [
                ("data", "aws_iam_policy_document", f"{role.ident}_assume"),
                ("data", "aws_iam_policy_document", role.ident),
                ("resource", "aws_iam_role", role.ident),
                ("resource", "aws_iam_role_policy", role.ident),
            ]
        found.append(("resource", "aws_sfn_state_machine", self.ident))
        return tuple(found)


@dataclass(frozen=True, slots=True)
class TeamNotifications:
    """The team's SNS topic and who hears from it."""

    topic: str
    emails: tuple[str, ...]
    forward_topics: tuple[str, ...]

    @property
    def resources(self) -> tuple[tuple[str, str, str], ...]:
        """(kind, type, name) of every block the fragment writes, for the README."""
        found = [("resource", "aws_sns_topic", "notifications")]
        if self.emails:
            found.append(("resource", "aws_sns_topic_subscription", "email"))
        return tuple(found)


def _arn(service: str, resource: str, region: str) -> Expr:
    return interpolate("arn:", PARTITION, f":{service}:{region}:", ACCOUNT, f":{resource}")


def topic_arn(team: TeamConfig) -> Expr:
    """The team topic's ARN, built from its name so that plans know it before it exists."""
    return _arn("sns", team_names(team.name).topic, team.region)


def team_notifications(team: TeamConfig) -> TeamNotifications:
    return TeamNotifications(
        topic=team_names(team.name).topic,
        emails=team.notify_emails,
        forward_topics=team.notify_topics,
    )


def _template(fields: dict[str, str]) -> str:
    """An input template: JSON text whose `<name>` placeholders sit inside strings, where
    EventBridge inserts the value's text."""
    return json.dumps(fields, sort_keys=True)


def _rules(job: JobConfig, team: TeamConfig, names: JobNames) -> tuple[Rule, ...]:
    cluster_arn = _arn("ecs", f"cluster/{team_names(team.name).cluster}", team.region)
    label = f"{team.name}/{job.name}"
    leader_stopped: dict[str, HclValue] = {
        "clusterArn": [cluster_arn],
        "group": [f"service:{names.leader_service}"],
        "lastStatus": ["STOPPED"],
        # The trainer ended the task itself: not a stop by the job's own scale-down, a
        # deployment or a scale-in (ServiceSchedulerInitiated, UserInitiated), nor Spot.
        "stopCode": ["EssentialContainerExited"],
    }
    task_change: dict[str, HclValue] = {
        "source": ["aws.ecs"],
        "detail-type": ["ECS Task State Change"],
    }
    rules: list[Rule] = []
    if not job.keep_running:
        rules.append(
            Rule(
                ident=f"{names.ident}_finished",
                name=names.finished_rule,
                description=f"The leader of {label} exited 0: the job is done",
                pattern={
                    **task_change,
                    "detail": {
                        **leader_stopped,
                        "containers": {"name": [CONTAINER], "exitCode": [0]},
                    },
                },
                input_paths={"task": "$.detail.taskArn"},
                input_template=_template(
                    {
                        "outcome": "FINISHED",
                        "task": "<task>",
                        "subject": f"ecsgen: job {label} finished",
                        "message": f"Job {label} finished: the leader's trainer exited 0 "
                        "(task <task>). Both services are set to 0 tasks.",
                    }
                ),
            )
        )
    ending = (
        "ECS starts the same task again (keep_running)."
        if job.keep_running
        else f"After {FAILURE_BUDGET} such stops in one run the job ends as failed."
    )
    rules.append(
        Rule(
            ident=f"{names.ident}_failed",
            name=names.failed_rule,
            description=f"The leader of {label} stopped with a non-zero exit",
            pattern={
                **task_change,
                "detail": {
                    **leader_stopped,
                    "containers": {"name": [CONTAINER], "exitCode": [{"anything-but": 0}]},
                },
            },
            input_paths={"task": "$.detail.taskArn", "exitCode": "$.detail.containers[0].exitCode"},
            input_template=_template(
                {
                    "outcome": "FAILED",
                    "task": "<task>",
                    "subject": f"ecsgen: job {label} failed",
                    "message": f"Job {label}: the leader's trainer exited <exitCode> after its "
                    f"in-task restarts (task <task>). {ending}",
                }
            ),
        )
    )
    service_arns: list[HclValue] = [
        _arn("ecs", f"service/{team_names(team.name).cluster}/{service}", team.region)
        for service in (names.leader_service, names.workers_service)
    ]
    rules.append(
        Rule(
            ident=f"{names.ident}_deployment",
            name=names.deployment_rule,
            description=f"A deployment of {label} failed (circuit breaker)",
            pattern={
                "source": ["aws.ecs"],
                "detail-type": ["ECS Deployment State Change"],
                # These events name the service only in `resources` (no clusterArn in detail).
                "resources": service_arns,
                "detail": {"eventName": ["SERVICE_DEPLOYMENT_FAILED"]},
            },
            input_paths={"service": "$.resources[0]", "deployment": "$.detail.deploymentId"},
            input_template=_template(
                {
                    "outcome": "DEPLOYMENT_FAILED",
                    "task": "",
                    "subject": f"ecsgen: deployment of {label} failed",
                    "message": f"Job {label}: ECS deployment <deployment> of <service> failed; "
                    "the circuit breaker stopped starting tasks. See the service's events "
                    "(aws ecs describe-services).",
                }
            ),
        )
    )
    return tuple(rules)


def _task(resource: str, parameters: dict[str, HclValue], next_: str | None) -> dict[str, HclValue]:
    state: dict[str, HclValue] = {
        "Type": "Task",
        "Resource": f"arn:aws:states:::aws-sdk:{resource}",
        "Parameters": parameters,
        "ResultPath": None,
        "Retry": RETRY,
    }
    if next_ is None:
        state["End"] = True
    else:
        state["Next"] = next_
    return state


def _notify_states(team: TeamConfig) -> dict[str, dict[str, HclValue]]:
    """Publish to the team topic, then forward to each existing topic of the spec."""
    targets: list[HclValue] = [topic_arn(team), *team.notify_topics]
    states: dict[str, dict[str, HclValue]] = {}
    for index, target in enumerate(targets):
        name = "Notify" if index == 0 else f"Forward{index}"
        following = f"Forward{index + 1}" if index + 1 < len(targets) else None
        states[name] = _task(
            "sns:publish",
            {
                "TopicArn": target,
                "Subject.$": "$.subject",
                "Message.$": "States.JsonToString($)",
            },
            following,
        )
    return states


def _definition(
    job: JobConfig, team: TeamConfig, names: JobNames, run: Expr
) -> dict[str, HclValue]:
    label = f"{team.name}/{job.name}"
    notify = _notify_states(team)
    if job.keep_running:
        return {
            "Comment": f"Reports how tasks of {label} ended (keep_running: it is not stopped)",
            "StartAt": "Notify",
            "States": dict(notify),
        }
    cluster = team_names(team.name).cluster

    def record(status: str, failures: HclValue) -> dict[str, HclValue]:
        fields: dict[str, HclValue] = {"run": run, "status": status}
        if isinstance(failures, str):
            fields["failures.$"] = failures
        else:
            fields["failures"] = failures
        fields["task.$"] = "$.task"
        return fields

    add_one = "States.MathAdd($.previous.value.failures, 1)"
    states: dict[str, dict[str, HclValue]] = {
        "Outcome": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.outcome", "StringEquals": "FINISHED", "Next": "Finished"},
                {"Variable": "$.outcome", "StringEquals": "FAILED", "Next": "ReadRecord"},
            ],
            "Default": "Notify",
        },
        "Finished": {
            "Type": "Pass",
            "Parameters": record("FINISHED", 0),
            "ResultPath": "$.record",
            "Next": "EndRun",
        },
        "ReadRecord": {
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:ssm:getParameter",
            "Parameters": {"Name": names.run_parameter},
            "ResultSelector": {"value.$": "States.StringToJson($.Parameter.Value)"},
            "ResultPath": "$.previous",
            "Retry": RETRY,
            "Next": "CountFailure",
        },
        "CountFailure": {
            "Type": "Choice",
            "Choices": [
                # EventBridge and Express workflows deliver at least once: count a task once.
                {
                    "Variable": "$.previous.value.task",
                    "StringEqualsPath": "$.task",
                    "Next": "AlreadyCounted",
                },
                {
                    "And": [
                        {"Variable": "$.previous.value.run", "StringEquals": run},
                        {
                            "Variable": "$.previous.value.failures",
                            "NumericGreaterThanEquals": FAILURE_BUDGET - 1,
                        },
                    ],
                    "Next": "OutOfBudget",
                },
                {"Variable": "$.previous.value.run", "StringEquals": run, "Next": "OneMore"},
            ],
            "Default": "FirstFailure",
        },
        "AlreadyCounted": {"Type": "Succeed"},
        "OutOfBudget": {
            "Type": "Pass",
            "Parameters": record("FAILED", add_one),
            "ResultPath": "$.record",
            "Next": "EndRun",
        },
        "OneMore": {
            "Type": "Pass",
            "Parameters": record("RUNNING", add_one),
            "ResultPath": "$.record",
            "Next": "SaveFailures",
        },
        "FirstFailure": {
            "Type": "Pass",
            "Parameters": record("RUNNING", 1),
            "ResultPath": "$.record",
            "Next": "SaveFailures",
        },
        "SaveFailures": _task(
            "ssm:putParameter",
            {
                "Name": names.run_parameter,
                "Type": "String",
                "Overwrite": True,
                "Value.$": "States.JsonToString($.record)",
            },
            "Notify",
        ),
        "EndRun": _task(
            "ssm:putParameter",
            {
                "Name": names.run_parameter,
                "Type": "String",
                "Overwrite": True,
                "Value.$": "States.JsonToString($.record)",
            },
            "StopWorkers",
        ),
        "StopWorkers": _task(
            "ecs:updateService",
            {"Cluster": cluster, "Service": names.workers_service, "DesiredCount": 0},
            "StopLeader",
        ),
        "StopLeader": _task(
            "ecs:updateService",
            {"Cluster": cluster, "Service": names.leader_service, "DesiredCount": 0},
            "Notify",
        ),
        **notify,
    }
    return {
        "Comment": f"Ends {label} when its leader exits 0 or keeps failing, and reports it",
        "StartAt": "Outcome",
        "States": dict(states),
    }


def _trust(source_arns: list[HclValue]) -> tuple[Condition, ...]:
    """Conditions of a service's trust: this account, and only the named sources."""
    return (
        Condition("StringEquals", "aws:SourceAccount", (ACCOUNT,)),
        Condition("ArnLike", "aws:SourceArn", tuple(source_arns)),
    )


def job_completion(job: JobConfig, team: TeamConfig, names: JobNames) -> JobCompletion:
    ident = names.ident
    run = Expr(f"var.{ident}_run")
    rules = _rules(job, team, names)
    machine_arn = _arn("states", f"stateMachine:{names.state_machine}", team.region)
    publish: list[HclValue] = [topic_arn(team), *team.notify_topics]
    states_statements: list[Statement] = []
    if not job.keep_running:
        services: list[HclValue] = [
            _arn("ecs", f"service/{team_names(team.name).cluster}/{service}", team.region)
            for service in (names.leader_service, names.workers_service)
        ]
        states_statements += [
            Statement("StopServices", ("ecs:UpdateService",), tuple(services)),
            Statement(
                "RunRecord",
                ("ssm:GetParameter", "ssm:PutParameter"),
                (Expr(f"aws_ssm_parameter.{ident}_run.arn"),),
            ),
        ]
    states_statements.append(Statement("Notify", ("sns:Publish",), tuple(publish)))
    label = f"{team.name}/{job.name}"
    events = Role(
        key="events",
        ident=f"{ident}_events",
        name=names.events_role,
        description=f"EventBridge starts the completion state machine of {label} with this role",
        principal="events.amazonaws.com",
        sid="EventsAssume",
        trust=_trust([_arn("events", f"rule/{rule.name}", team.region) for rule in rules]),
        statements=(
            Statement(
                "StartCompletion",
                ("states:StartExecution",),
                (Expr(f"aws_sfn_state_machine.{ident}.arn"),),
            ),
        ),
    )
    states = Role(
        key="states",
        ident=f"{ident}_states",
        name=names.states_role,
        description=f"The completion state machine of {label} runs with this role",
        principal="states.amazonaws.com",
        sid="StatesAssume",
        trust=_trust([machine_arn]),
        statements=tuple(states_statements),
    )
    return JobCompletion(
        ident=ident,
        title=(
            "Completion: report how tasks ended (keep_running)"
            if job.keep_running
            else "Completion: end the run when the leader exits 0, record it, report it"
        ),
        stops=not job.keep_running,
        rules=rules,
        state_machine=names.state_machine,
        definition=_definition(job, team, names, run),
        roles=(events, states),
        run_variable=f"{ident}_run",
        run_parameter=names.run_parameter,
        run_description=(
            f"Last run of job {label}: run id, RUNNING/FINISHED/FAILED, failures (written by "
            "its state machine; the module reads it)"
        ),
        run_initial={"run": run, "status": "RUNNING", "failures": 0, "task": ""},
        ended=Expr(
            f"local.{ident}_last_run.run == var.{ident}_run && "
            f'local.{ident}_last_run.status != "RUNNING"'
        ),
    )
