"""`notifications.tf.j2` (in `main.tf`): the team's SNS topic, which every job reports to, and
who hears from it (e-mail subscriptions; forwarded topics are the jobs' state machines')."""

from __future__ import annotations

from dataclasses import dataclass

from gen.hcl import Expr
from gen.model.decl import Decl, arn, local_values, resource
from gen.names import team_names
from gen.validate import TeamConfig

__all__ = ["TeamNotifications", "team_notifications", "topic_arn"]


@dataclass(frozen=True, slots=True)
class TeamNotifications:
    """The team's SNS topic and who hears from it."""

    topic: Decl
    emails: Decl | None  # the addresses, as a local the subscription iterates over
    subscription: Decl | None

    @property
    def decls(self) -> tuple[Decl, ...]:
        return tuple(d for d in (self.topic, self.emails, self.subscription) if d)


def topic_arn(team: TeamConfig) -> Expr:
    """The team topic's ARN, built from its name so that plans know it before it exists."""
    return arn("sns", team_names(team.name).topic, team.region)


def team_notifications(team: TeamConfig) -> TeamNotifications:
    emails = list(team.notify_emails)
    return TeamNotifications(
        topic=resource("aws_sns_topic", "notifications", name=team_names(team.name).topic),
        emails=local_values(notify_emails=emails) if emails else None,
        subscription=resource("aws_sns_topic_subscription", "email") if emails else None,
    )
