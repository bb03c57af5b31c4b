"""Run to completion and notifications: every value of a job's completion blocks, decided.

A job ends by itself when its leader's trainer exits 0: an EventBridge rule on `ECS Task State
Change` starts an Express state machine that records the run as finished in an SSM parameter and
sets both services to 0 tasks. The module reads the parameter back, so `desired_count` stays 0
for that run id across later applies; a new `<job>_run` id starts the job again. A leader that
stops with a non-zero exit after its in-task restarts counts one failure; at the job's
`max_failures` the run is recorded as failed and stopped the same way. Every outcome, and a
failed deployment (circuit breaker), is published to the team's SNS topic.

`keep_running` jobs (long-running services) keep the service behaviour: no completion rule, no
run record; their failures and failed deployments are still reported.

Each block is a `gen.model.decl.Decl`, placed by `templates/job/completion.tf.j2` and found again
by parse-back like every other block; the team's topic is `gen.model.notifications`'.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ...hcl import Expr
from ...model.decl import ACCOUNT, PRESENT, Decl, arn, data, local_values, resource, statement
from ...model.job.state_machines import timer_arn
from ...model.job.task_definitions import CONTAINER
from ...model.notifications import topic_arn
from ...names import JobNames, team_names
from ...validate import JobConfig, TeamConfig

__all__ = ["JobCompletion", "job_completion"]

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
    progress_parameter: Decl | None  # the run's counted failures, written while it runs
    run_record: Decl | None
    run_values: Decl | None
    patterns: tuple[Decl, ...]  # one `locals` value per rule: its event pattern
    rules: tuple[Decl, ...]
    targets: tuple[Decl, ...]
    roles: tuple[Role, ...]  # events (EventBridge -> state machine), states (-> ECS, SSM, SNS)

    @property
    def rule_names(self) -> list[str]:
        return [str(rule.name) for rule in self.rules]

    @property
    def outcomes(self) -> tuple[tuple[Decl, Decl, Decl], ...]:
        """(pattern, rule, target) per outcome."""
        return tuple(zip(self.patterns, self.rules, self.targets, strict=True))

    @property
    def decls(self) -> tuple[Decl, ...]:
        run = tuple(
            d
            for d in (
                self.run_parameter,
                self.progress_parameter,
                self.run_record,
                self.run_values,
            )
            if d
        )
        pairs = tuple(d for _, rule, target in self.outcomes for d in (rule, target))
        roles = tuple(d for role in self.roles for d in role.decls)
        return (*run, *self.patterns, *pairs, *roles)


def _template(fields: dict[str, object], raw: dict[str, str] | None = None) -> str:
    """An input template: JSON text whose `<name>` placeholders sit inside strings, where
    EventBridge inserts the value's text (jsonencode would escape the `<` and `>`), or, in
    `raw`, are whole values, where EventBridge inserts the value as JSON (a list stays one)."""
    text = json.dumps(fields, sort_keys=True)
    for key, placeholder in sorted((raw or {}).items()):
        text = f"{text[:-1]}, {json.dumps(key)}: {placeholder}}}"
    return text


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
    if not job.keep_running:
        # Only this run's leaders: the run id is in the task definition, so each run has its
        # own revision, and a late event of an earlier run's task does not match.
        leader_stopped["taskDefinitionArn"] = [
            Expr(f"aws_ecs_task_definition.{names.ident}_leader.arn")
        ]
    task_change: dict[str, object] = {
        "source": ["aws.ecs"],
        "detail-type": ["ECS Task State Change"],
    }
    # The state machine reads the trainer's own exit code from the containers list:
    # EventBridge matches arrays of objects field by field, so with a sidecar the patterns
    # below can match the trainer's name and another container's exit code.
    # `started`: the task's own start (the state machine takes the event's time when it is
    # not there), the run's start when no earlier event of the run brought one.
    stopped_paths = {
        "task": "$.detail.taskArn",
        "containers": "$.detail.containers",
        "reason": "$.detail.stoppedReason",
        "started": "$.detail.startedAt",
        "time": "$.time",
    }
    stopped_template = _template(
        {
            "outcome": "STOPPED",
            "task": "<task>",
            "reason": "<reason>",
            "started": "<started>",
            "time": "<time>",
        },
        raw={"containers": "<containers>"},
    )
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
            "input_paths": stopped_paths,
            "input_template": stopped_template,
        }
    failed_pattern = {
        **task_change,
        "detail": {
            **leader_stopped,
            "containers": {"name": [CONTAINER], "exitCode": [{"anything-but": 0}]},
        },
    }
    if job.keep_running:
        rules["failed"] = {
            "name": names.failed_rule,
            "description": f"The leader of {label} stopped with a non-zero exit",
            "pattern": failed_pattern,
            "input_paths": {
                "task": "$.detail.taskArn",
                "exitCode": "$.detail.containers[0].exitCode",
            },
            "input_template": _template(
                {
                    "outcome": "FAILED",
                    "note": {
                        "subject": f"ecsgen: job {label} failed",
                        "message": f"Job {label}: the leader exited <exitCode> after its "
                        "in-task restarts (task <task>). ECS starts the same task again "
                        "(keep_running).",
                    },
                }
            ),
        }
    else:
        rules["failed"] = {
            "name": names.failed_rule,
            "description": f"The leader of {label} stopped with a non-zero exit",
            "pattern": failed_pattern,
            "input_paths": stopped_paths,
            "input_template": stopped_template,
        }
    if not job.keep_running:
        # The run's start (and, with max_runtime, its timer): the first leader to run.
        rules["started"] = {
            "name": names.started_rule,
            "description": (
                f"A leader of {label} is running: record the run's start and start its "
                "max_runtime timer"
                if job.max_runtime is not None
                else f"A leader of {label} is running: record the run's start"
            ),
            "pattern": {
                **task_change,
                "detail": {
                    "clusterArn": leader_stopped["clusterArn"],
                    "group": leader_stopped["group"],
                    "lastStatus": ["RUNNING"],
                    "taskDefinitionArn": leader_stopped["taskDefinitionArn"],
                },
            },
            "input_paths": {"started": "$.detail.startedAt", "time": "$.time"},
            "input_template": _template(
                {"outcome": "STARTED", "started": "<started>", "time": "<time>"}
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
                "note": {
                    "subject": f"ecsgen: deployment of {label} failed",
                    "message": f"Job {label}: ECS deployment <deployment> of <service> failed; "
                    "the circuit breaker stopped starting tasks. See the service's events "
                    "(aws ecs describe-services).",
                },
            }
        ),
    }
    return rules


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
                [
                    Expr(f"aws_ssm_parameter.{ident}_run.arn"),
                    Expr(f"aws_ssm_parameter.{ident}_run_progress.arn"),
                ],
            ),
        ]
    timer = timer_arn(team, names)
    timed = job.max_runtime is not None and not job.keep_running
    if timed:
        states_statements.append(statement("StartTimer", ["states:StartExecution"], [timer]))
    states_statements.append(
        statement("Notify", ["sns:Publish"], [topic_arn(team), *team.notify_topics])
    )
    # The team topic's key: the team's own (`Team.kms_key_arn`), else the module's customer
    # managed key (its key policy lets the account's IAM decide).
    topic_key: object = team.kms_key_arn or Expr("aws_kms_key.notifications.arn")
    states_statements.append(
        statement("NotifyKey", ["kms:Decrypt", "kms:GenerateDataKey*"], [topic_key])
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
        [machine_arn, timer] if timed else [machine_arn],
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
                description=f"Last run of job {label}: run id, "
                "RUNNING/FINISHED/FAILED/TIMED_OUT, start and end time, how it ended (written "
                "by its state machine when the run ends; the module reads it; "
                "get-parameter-history lists earlier runs)",
            )
            if stops
            else None
        ),
        progress_parameter=(
            resource(
                "aws_ssm_parameter",
                f"{ident}_run_progress",
                name=names.progress_parameter,
                description=f"Failures counted in the current run of job {label}: run id, "
                "count, task ids, start time (written by its state machine)",
            )
            if stops
            else None
        ),
        run_record=data("aws_ssm_parameter", f"{ident}_run") if stops else None,
        run_values=(
            local_values(
                run_initial={"run": run, "status": "RUNNING", "failures": 0, "task": ""},
                progress_initial={"run": run, "failures": 0, "counted": ""},
                last_run=PRESENT,
                ended=Expr(
                    f"local.{ident}_last_run.run == var.{ident}_run && "
                    f'local.{ident}_last_run.status != "RUNNING"'
                ),
                at={
                    "run_initial": f"{ident}_run_initial",
                    "progress_initial": f"{ident}_run_progress_initial",
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
    )
