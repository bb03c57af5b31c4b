"""`job/control_plane.tf.j2`: what makes one job's run bookkeeping visible when it fails.

- The state machines log to their own log group (level ERROR, with execution data: an Express
  workflow keeps no execution history, so the log is the only trace of a failed execution).
- The EventBridge targets retry (24 h, 185 attempts: EventBridge's own defaults, stated) and
  send what they could not deliver to a dead-letter SQS queue.
- Alarms on failed executions of each state machine and on messages in the dead-letter queue
  notify the team's topic (whose customer managed key lets CloudWatch publish to it).
"""

from __future__ import annotations

from dataclasses import dataclass

from ...hcl import Expr
from ...model.decl import ACCOUNT, Decl, arn, data, resource, statement
from ...model.job.logs import log_group_options
from ...names import JobNames
from ...validate import JobConfig, TeamConfig

__all__ = ["LOG_DELIVERY_ACTIONS", "ControlPlane", "control_plane"]

# CloudWatch Logs delivery for Step Functions: these actions take no resource-level
# permissions, so the statement's resource must be "*" (Step Functions developer guide,
# "IAM policies for logging to CloudWatch Logs").
LOG_DELIVERY_ACTIONS = (
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
)
MAXIMUM_EVENT_AGE = 86400  # seconds: EventBridge's default and maximum
MAXIMUM_RETRY_ATTEMPTS = 185  # EventBridge's default and maximum
DEAD_LETTER_RETENTION = 1209600  # seconds: 14 days, SQS's maximum
ALARM_PERIOD = 300


@dataclass(frozen=True, slots=True)
class ControlPlane:
    """One job's state machine log group, dead-letter queue and alarms."""

    log_group: Decl
    logs_policy: Decl  # log delivery for the `states` role (resource "*", as AWS requires)
    logs_role_policy: Decl
    dead_letters: Decl
    dead_letters_policy: Decl
    dead_letters_queue_policy: Decl
    target_retry: dict[str, int]
    alarms: tuple[Decl, ...]

    @property
    def decls(self) -> tuple[Decl, ...]:
        return (
            self.log_group,
            self.logs_policy,
            self.logs_role_policy,
            self.dead_letters,
            self.dead_letters_policy,
            self.dead_letters_queue_policy,
            *self.alarms,
        )


def _alarm(label: str, name: str, description: str, metric: dict[str, object]) -> Decl:
    """An alarm on one metric's value above 0 in a 5-minute period, to the team's topic."""
    dimension = "StateMachineArn" if "machine" in metric else "QueueName"
    key = "machine" if "machine" in metric else "queue"
    return resource(
        "aws_cloudwatch_metric_alarm",
        label,
        alarm_name=name,
        alarm_description=description,
        period=ALARM_PERIOD,
        at={key: f"dimensions.{dimension}"},
        **metric,
    )


def control_plane(
    job: JobConfig, team: TeamConfig, names: JobNames, rule_names: list[str]
) -> ControlPlane:
    ident = names.ident
    label = f"{team.name}/{job.name}"
    timed = job.max_runtime is not None and not job.keep_running
    queue_arn = arn("sqs", names.dead_letters, team.region)
    alarms = [
        _alarm(
            f"{ident}_completion_failed",
            names.completion_alarm,
            f"An execution of the completion state machine of {label} failed: a run may not "
            f"have been recorded or stopped. Its log group: {names.states_log_group}",
            {
                "namespace": "AWS/States",
                "metric_name": "ExecutionsFailed",
                "statistic": "Sum",
                "machine": Expr(f"aws_sfn_state_machine.{ident}.arn"),
            },
        )
    ]
    if timed:
        alarms.append(
            _alarm(
                f"{ident}_timer_failed",
                names.timer_alarm,
                f"An execution of the max_runtime timer of {label} failed: a run may not have "
                f"been timed out. Its log group: {names.states_log_group}",
                {
                    "namespace": "AWS/States",
                    "metric_name": "ExecutionsFailed",
                    "statistic": "Sum",
                    "machine": Expr(f"aws_sfn_state_machine.{ident}_timer.arn"),
                },
            )
        )
    alarms.append(
        _alarm(
            f"{ident}_dead_letters",
            names.dead_letters_alarm,
            f"EventBridge could not start the completion state machine of {label}: the "
            f"events wait in SQS queue {names.dead_letters}",
            {
                "namespace": "AWS/SQS",
                "metric_name": "ApproximateNumberOfMessagesVisible",
                "statistic": "Maximum",
                "queue": names.dead_letters,
            },
        )
    )
    return ControlPlane(
        log_group=Decl(
            "resource",
            "aws_cloudwatch_log_group",
            f"{ident}_states",
            {"name": names.states_log_group, **log_group_options(team)},
        ),
        logs_policy=data(
            "aws_iam_policy_document",
            f"{ident}_states_logs",
            statements=[statement("LogDelivery", LOG_DELIVERY_ACTIONS, ["*"])],
            at={"statements": "statement"},
        ),
        logs_role_policy=resource("aws_iam_role_policy", f"{ident}_states_logs", name="logs"),
        dead_letters=resource(
            "aws_sqs_queue",
            f"{ident}_dead_letters",
            name=names.dead_letters,
            message_retention_seconds=DEAD_LETTER_RETENTION,
        ),
        dead_letters_policy=data(
            "aws_iam_policy_document",
            f"{ident}_dead_letters",
            statements=[
                statement(
                    "EventsDeadLetters",
                    ["sqs:SendMessage"],
                    [queue_arn],
                    conditions=[
                        (
                            "ArnEquals",
                            "aws:SourceArn",
                            [arn("events", f"rule/{r}", team.region) for r in rule_names],
                        ),
                        ("StringEquals", "aws:SourceAccount", [ACCOUNT]),
                    ],
                    principals=[("Service", ["events.amazonaws.com"])],
                )
            ],
            at={"statements": "statement"},
        ),
        dead_letters_queue_policy=resource("aws_sqs_queue_policy", f"{ident}_dead_letters"),
        target_retry={
            "maximum_event_age_in_seconds": MAXIMUM_EVENT_AGE,
            "maximum_retry_attempts": MAXIMUM_RETRY_ATTEMPTS,
        },
        alarms=tuple(alarms),
    )
