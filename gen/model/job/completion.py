"""Run to completion and notifications: every value of a job's completion blocks, decided.

A job ends by itself when its leader's trainer exits 0: an EventBridge rule on `ECS Task State
Change` starts an Express state machine that records the run as finished in an SSM parameter and
sets both services to 0 tasks. The module reads the parameter back, so `desired_count` stays 0
for that run id across later applies; a new `<job>_run` id starts the job again. A leader that
stops with a non-zero exit after its in-task restarts counts one failure; at `FAILURE_BUDGET` the
run is recorded as failed and stopped the same way. Every outcome, and a failed deployment
(circuit breaker), is published to the team's SNS topic.

`keep_running` jobs (long-running services) keep the service behaviour: no completion rule, no
run record; their failures and failed deployments are still reported.

Each block is a `gen.model.decl.Decl`, placed by `templates/job/completion.tf.j2` and found again
by parse-back like every other block; the team's topic is `gen.model.notifications`'.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from gen.hcl import Expr
from gen.model.decl import ACCOUNT, PRESENT, Decl, arn, data, local_values, resource, statement
from gen.model.job.task_definitions import CONTAINER
from gen.model.notifications import topic_arn
from gen.names import JobNames, team_names
from gen.validate import JobConfig, TeamConfig

__all__ = ["FAILURE_BUDGET", "JobCompletion", "job_completion"]

# Leader tasks of one run that may stop with a non-zero exit (after the trainer's in-task
# restarts) before the run is recorded as failed and both services are set to 0.
FAILURE_BUDGET = 3


RETRY: list[object] = [
    {
        "ErrorEquals": ["States.ALL"],
        "IntervalSeconds": 2,
        "MaxAttempts": 3,
        "BackoffRate": 2,
    }
]
KINDS = ("finished", "failed", "deployment")


@dataclass(frozen=True, slots=True)
class Role:
    """An IAM role a service assumes: its trust document, policy document, role, policy."""

    key: str  # "events" or "states"
    assume: Decl
    policy: Decl
    role: Decl
    role_policy: Decl

    @property
    def decls(self) -> tuple[Decl, ...]:
        return (self.assume, self.policy, self.role, self.role_policy)


@dataclass(frozen=True, slots=True)
class JobCompletion:
    """The completion and notification blocks of one job, in file order."""

    title: str  # the section banner
    stops: bool  # False for keep_running jobs: report only
    run_variable: str
    run_parameter: Decl | None
    run_record: Decl | None
    run_values: Decl | None
    patterns: tuple[Decl, ...]  # one `locals` value per rule: its event pattern
    definition: Decl  # the state machine definition, a `locals` value
    rules: tuple[Decl, ...]
    targets: tuple[Decl, ...]
    roles: tuple[Role, ...]  # events (EventBridge -> state machine), states (-> ECS, SSM, SNS)
    state_machine: Decl

    @property
    def outcomes(self) -> tuple[tuple[Decl, Decl, Decl], ...]:
        """(pattern, rule, target) per outcome."""
        return tuple(zip(self.patterns, self.rules, self.targets, strict=True))

    @property
    def decls(self) -> tuple[Decl, ...]:
        run = tuple(d for d in (self.run_parameter, self.run_record, self.run_values) if d)
        pairs = tuple(d for _, rule, target in self.outcomes for d in (rule, target))
        roles = tuple(d for role in self.roles for d in role.decls)
        return (*run, *self.patterns, self.definition, *pairs, *roles, self.state_machine)


def _template(fields: dict[str, str]) -> str:
    """An input template: JSON text whose `<name>` placeholders sit inside strings, where
    EventBridge inserts the value's text (jsonencode would escape the `<` and `>`)."""
    return json.dumps(fields, sort_keys=True)


def _service_arns(team: TeamConfig, names: JobNames) -> list[object]:
    cluster = team_names(team.name).cluster
    return [
        arn("ecs", f"service/{cluster}/{service}", team.region)
        for service in (names.leader_service, names.workers_service)
    ]


def _rules(job: JobConfig, team: TeamConfig, names: JobNames) -> dict[str, dict[str, object]]:
    """Per outcome: the rule's name, description and pattern, and its target's input."""
    cluster_arn = arn("ecs", f"cluster/{team_names(team.name).cluster}", team.region)
    label = f"{team.name}/{job.name}"
    leader_stopped: dict[str, object] = {
        "clusterArn": [cluster_arn],
        "group": [f"service:{names.leader_service}"],
        "lastStatus": ["STOPPED"],
        # The trainer ended the task itself: not a stop by the job's own scale-down, a
        # deployment or a scale-in (ServiceSchedulerInitiated, UserInitiated), nor Spot.
        "stopCode": ["EssentialContainerExited"],
    }
    task_change: dict[str, object] = {
        "source": ["aws.ecs"],
        "detail-type": ["ECS Task State Change"],
    }
    rules: dict[str, dict[str, object]] = {}
    if not job.keep_running:
        rules["finished"] = {
            "name": names.finished_rule,
            "description": f"The leader of {label} exited 0: the job is done",
            "pattern": {
                **task_change,
                "detail": {
                    **leader_stopped,
                    "containers": {"name": [CONTAINER], "exitCode": [0]},
                },
            },
            "input_paths": {"task": "$.detail.taskArn"},
            "input_template": _template(
                {
                    "outcome": "FINISHED",
                    "task": "<task>",
                    "subject": f"ecsgen: job {label} finished",
                    "message": f"Job {label} finished: the leader's trainer exited 0 "
                    "(task <task>). Both services are set to 0 tasks.",
                }
            ),
        }
    ending = (
        "ECS starts the same task again (keep_running)."
        if job.keep_running
        else f"After {FAILURE_BUDGET} such stops in one run the job ends as failed."
    )
    rules["failed"] = {
        "name": names.failed_rule,
        "description": f"The leader of {label} stopped with a non-zero exit",
        "pattern": {
            **task_change,
            "detail": {
                **leader_stopped,
                "containers": {"name": [CONTAINER], "exitCode": [{"anything-but": 0}]},
            },
        },
        "input_paths": {"task": "$.detail.taskArn", "exitCode": "$.detail.containers[0].exitCode"},
        "input_template": _template(
            {
                "outcome": "FAILED",
                "task": "<task>",
                "subject": f"ecsgen: job {label} failed",
                "message": f"Job {label}: the leader's trainer exited <exitCode> after its "
                f"in-task restarts (task <task>). {ending}",
            }
        ),
    }
    rules["deployment"] = {
        "name": names.deployment_rule,
        "description": f"A deployment of {label} failed (circuit breaker)",
        "pattern": {
            "source": ["aws.ecs"],
            "detail-type": ["ECS Deployment State Change"],
            # These events name the service only in `resources` (no clusterArn in detail).
            "resources": _service_arns(team, names),
            "detail": {"eventName": ["SERVICE_DEPLOYMENT_FAILED"]},
        },
        "input_paths": {"service": "$.resources[0]", "deployment": "$.detail.deploymentId"},
        "input_template": _template(
            {
                "outcome": "DEPLOYMENT_FAILED",
                "task": "",
                "subject": f"ecsgen: deployment of {label} failed",
                "message": f"Job {label}: ECS deployment <deployment> of <service> failed; "
                "the circuit breaker stopped starting tasks. See the service's events "
                "(aws ecs describe-services).",
            }
        ),
    }
    return rules


def _task(resource_: str, parameters: dict[str, object], next_: str | None) -> dict[str, object]:
    state: dict[str, object] = {
        "Type": "Task",
        "Resource": f"arn:aws:states:::aws-sdk:{resource_}",
        "Parameters": parameters,
        "ResultPath": None,
        "Retry": RETRY,
    }
    if next_ is None:
        state["End"] = True
    else:
        state["Next"] = next_
    return state


def _notify_states(team: TeamConfig) -> dict[str, dict[str, object]]:
    """Publish to the team topic, then forward to each existing topic of the spec."""
    targets: list[object] = [topic_arn(team), *team.notify_topics]
    states: dict[str, dict[str, object]] = {}
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


def _definition(job: JobConfig, team: TeamConfig, names: JobNames, run: Expr) -> dict[str, object]:
    label = f"{team.name}/{job.name}"
    notify = _notify_states(team)
    if job.keep_running:
        return {
            "Comment": f"Reports how tasks of {label} ended (keep_running: it is not stopped)",
            "StartAt": "Notify",
            "States": dict(notify),
        }
    cluster = team_names(team.name).cluster

    def record(status: str, failures: object) -> dict[str, object]:
        fields: dict[str, object] = {"run": run, "status": status}
        if isinstance(failures, str):
            fields["failures.$"] = failures
        else:
            fields["failures"] = failures
        fields["task.$"] = "$.task"
        return fields

    add_one = "States.MathAdd($.previous.value.failures, 1)"
    save = {
        "Name": names.run_parameter,
        "Type": "String",
        "Overwrite": True,
        "Value.$": "States.JsonToString($.record)",
    }
    states: dict[str, dict[str, object]] = {
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
        "SaveFailures": _task("ssm:putParameter", dict(save), "Notify"),
        "EndRun": _task("ssm:putParameter", dict(save), "StopWorkers"),
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


def _role(
    key: str,
    ident: str,
    name: str,
    description: str,
    principal: str,
    source_arns: list[object],
    statements: list[dict[str, object]],
) -> Role:
    """A role whose trust is limited to this account and to the named sources."""
    trust = statement(
        f"{key.capitalize()}Assume",
        ["sts:AssumeRole"],
        [],
        conditions=[
            ("StringEquals", "aws:SourceAccount", [ACCOUNT]),
            ("ArnLike", "aws:SourceArn", source_arns),
        ],
        principals=[("Service", [principal])],
    )
    label = f"{ident}_{key}"
    return Role(
        key=key,
        assume=data(
            "aws_iam_policy_document",
            f"{label}_assume",
            statements=[trust],
            at={"statements": "statement"},
        ),
        policy=data(
            "aws_iam_policy_document", label, statements=statements, at={"statements": "statement"}
        ),
        role=resource("aws_iam_role", label, name=name, description=description),
        role_policy=resource("aws_iam_role_policy", label, name=key),
    )


def job_completion(job: JobConfig, team: TeamConfig, names: JobNames) -> JobCompletion:
    ident = names.ident
    run = Expr(f"var.{ident}_run")
    label = f"{team.name}/{job.name}"
    rules = _rules(job, team, names)
    machine_arn = arn("states", f"stateMachine:{names.state_machine}", team.region)
    states_statements: list[dict[str, object]] = []
    if not job.keep_running:
        states_statements += [
            statement("StopServices", ["ecs:UpdateService"], _service_arns(team, names)),
            statement(
                "RunRecord",
                ["ssm:GetParameter", "ssm:PutParameter"],
                [Expr(f"aws_ssm_parameter.{ident}_run.arn")],
            ),
        ]
    states_statements.append(
        statement("Notify", ["sns:Publish"], [topic_arn(team), *team.notify_topics])
    )
    events = _role(
        "events",
        ident,
        names.events_role,
        f"EventBridge starts the completion state machine of {label} with this role",
        "events.amazonaws.com",
        [arn("events", f"rule/{r['name']}", team.region) for r in rules.values()],
        [
            statement(
                "StartCompletion",
                ["states:StartExecution"],
                [Expr(f"aws_sfn_state_machine.{ident}.arn")],
            )
        ],
    )
    states = _role(
        "states",
        ident,
        names.states_role,
        f"The completion state machine of {label} runs with this role",
        "states.amazonaws.com",
        [machine_arn],
        states_statements,
    )
    stops = not job.keep_running
    return JobCompletion(
        title=(
            "Completion: end the run when the leader exits 0 and report how it ended"
            if stops
            else "Completion: report how tasks ended (keep_running)"
        ),
        stops=stops,
        run_variable=f"{ident}_run",
        run_parameter=(
            resource(
                "aws_ssm_parameter",
                f"{ident}_run",
                name=names.run_parameter,
                description=f"Last run of job {label}: run id, RUNNING/FINISHED/FAILED, "
                "failures (written by its state machine; the module reads it)",
            )
            if stops
            else None
        ),
        run_record=data("aws_ssm_parameter", f"{ident}_run") if stops else None,
        run_values=(
            local_values(
                run_initial={"run": run, "status": "RUNNING", "failures": 0, "task": ""},
                last_run=PRESENT,
                ended=Expr(
                    f"local.{ident}_last_run.run == var.{ident}_run && "
                    f'local.{ident}_last_run.status != "RUNNING"'
                ),
                at={
                    "run_initial": f"{ident}_run_initial",
                    "last_run": f"{ident}_last_run",
                    "ended": f"{ident}_ended",
                },
            )
            if stops
            else None
        ),
        patterns=tuple(
            local_values(pattern=r["pattern"], at={"pattern": f"{ident}_{kind}_pattern"})
            for kind, r in rules.items()
        ),
        definition=local_values(
            definition=_definition(job, team, names, run),
            at={"definition": f"{ident}_completion"},
        ),
        rules=tuple(
            resource(
                "aws_cloudwatch_event_rule",
                f"{ident}_{kind}",
                name=r["name"],
                description=r["description"],
            )
            for kind, r in rules.items()
        ),
        targets=tuple(
            resource(
                "aws_cloudwatch_event_target",
                f"{ident}_{kind}",
                input_paths=r["input_paths"],
                input_template=r["input_template"],
                at={
                    "input_paths": "input_transformer.0.input_paths",
                    "input_template": "input_transformer.0.input_template",
                },
            )
            for kind, r in rules.items()
        ),
        roles=(events, states),
        state_machine=resource("aws_sfn_state_machine", ident, name=names.state_machine),
    )
