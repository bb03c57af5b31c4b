"""`notifications.tf.j2` (in `main.tf`): the team's SNS topic, which every job reports to, and
who hears from it (e-mail subscriptions; forwarded topics are the jobs' state machines')."""

from __future__ import annotations

from dataclasses import dataclass

from ..hcl import Expr
from ..model.decl import ACCOUNT, Decl, arn, data, local_values, resource, statement
from ..names import team_names
from ..validate import TeamConfig

__all__ = ["TeamNotifications", "alarms_key_statement", "team_notifications", "topic_arn"]


@dataclass(frozen=True, slots=True)
class TeamNotifications:
    """The team's SNS topic and who hears from it."""

    key_policy: Decl | None  # None with the team's own key (`Team.kms_key_arn`)
    key: Decl | None  # customer managed: CloudWatch alarms may publish to the topic
    topic: Decl
    emails: Decl | None  # the addresses, as a local the subscription iterates over
    subscription: Decl | None

    @property
    def decls(self) -> tuple[Decl, ...]:
        found = (self.key_policy, self.key, self.topic, self.emails, self.subscription)
        return tuple(d for d in found if d)


def alarms_key_statement() -> dict[str, object]:
    """The key policy statement that lets CloudWatch alarms publish to a topic encrypted with
    the key (a key policy's "*" is the key itself)."""
    return statement(
        "CloudWatchAlarms",
        ["kms:Decrypt", "kms:GenerateDataKey*"],
        ["*"],
        conditions=[("StringEquals", "aws:SourceAccount", [ACCOUNT])],
        principals=[("Service", ["cloudwatch.amazonaws.com"])],
    )


def topic_arn(team: TeamConfig) -> Expr:
    """The team topic's ARN, built from its name so that plans know it before it exists."""
    return arn("sns", team_names(team.name).topic, team.region)


def team_notifications(team: TeamConfig) -> TeamNotifications:
    emails = list(team.notify_emails)
    own = team.kms_key_arn
    # A key policy's "*" is the key itself. The account's IAM policies decide who else may use
    # the key (the jobs' state machine roles, to publish); CloudWatch alarms, a service, need
    # the key policy (SNS developer guide, "Enable compatibility between event sources from
    # AWS services and encrypted topics").
    key_statements = [
        statement(
            "Account",
            ["kms:*"],
            ["*"],
            principals=[("AWS", [arn("iam", "root")])],
        ),
        alarms_key_statement(),
    ]
    return TeamNotifications(
        key_policy=None
        if own
        else data(
            "aws_iam_policy_document",
            "notifications_key",
            statements=key_statements,
            at={"statements": "statement"},
        ),
        key=None
        if own
        else resource(
            "aws_kms_key",
            "notifications",
            description=f"Encrypts SNS topic {team_names(team.name).topic}",
        ),
        topic=resource(
            "aws_sns_topic",
            "notifications",
            name=team_names(team.name).topic,
            # The team's customer-managed key (its policy lets CloudWatch alarms use it: the
            # statements the README lists), else a key of the module's own.
            kms_master_key_id=own or Expr("aws_kms_key.notifications.arn"),
        ),
        emails=local_values(notify_emails=emails) if emails else None,
        subscription=resource("aws_sns_topic_subscription", "email") if emails else None,
    )
