"""The states a job's state machines are built from: an aws-sdk task with its retries, the
run's SSM parameters read and written, a run that has ended left alone, the run's start time
found, a run ended (record written, both services set to 0), the team told.

`state_machines.py` composes them into the completion machine and the max_runtime timer.
"""

from __future__ import annotations

from ...hcl import Expr
from ...model.notifications import topic_arn
from ...names import JobNames, team_names
from ...validate import TeamConfig

__all__ = [
    "RETRY",
    "end_run",
    "has_start",
    "notify_states",
    "read",
    "read_run",
    "run_ended",
    "save",
    "task",
    "this_run",
]

# What `started` holds once known: an ISO 8601 time (`2020-01-23T17:57:58.103Z`). Choice rules
# can only match `*` wildcards; an empty or unfilled input transformer placeholder does not match.
TIMESTAMP = "*-*-*T*:*"


def _start_rules(path: str) -> list[object]:
    return [
        {"Variable": path, "IsPresent": True},
        {"Variable": path, "StringMatches": TIMESTAMP},
    ]


def has_start(path: str) -> dict[str, object]:
    """A Choice rule: `path` holds a start time (present, and a time)."""
    return {"And": _start_rules(path)}


RETRY: list[object] = [
    {
        "ErrorEquals": ["States.ALL"],
        "IntervalSeconds": 2,
        "MaxAttempts": 3,
        "BackoffRate": 2,
    }
]


def task(resource_: str, parameters: dict[str, object], next_: str | None) -> dict[str, object]:
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


def notify_states(team: TeamConfig) -> dict[str, dict[str, object]]:
    """Publish to the team topic, then forward to each existing topic of the spec."""
    targets: list[object] = [topic_arn(team), *team.notify_topics]
    states: dict[str, dict[str, object]] = {}
    for index, target in enumerate(targets):
        name = "Notify" if index == 0 else f"Forward{index}"
        following = f"Forward{index + 1}" if index + 1 < len(targets) else None
        states[name] = task(
            "sns:publish",
            {
                "TopicArn": target,
                "Subject.$": "$.note.subject",
                "Message.$": "$.note.message",
            },
            following,
        )
    return states


def save(name: str, path: str) -> dict[str, object]:
    return {
        "Name": name,
        "Type": "String",
        "Overwrite": True,
        "Value.$": f"States.JsonToString({path})",
    }


def read(name: str, result: str, next_: str) -> dict[str, object]:
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::aws-sdk:ssm:getParameter",
        "Parameters": {"Name": name},
        "ResultSelector": {"value.$": "States.StringToJson($.Parameter.Value)"},
        "ResultPath": result,
        "Retry": RETRY,
        "Next": next_,
    }


def run_ended(run: Expr, ended: str, running: str) -> dict[str, object]:
    """A run that ended stays ended: events delivered late, again, or at the same time change
    nothing."""
    return {
        "Type": "Choice",
        "Choices": [
            {
                "And": [
                    {"Variable": "$.previous.value.run", "StringEquals": run},
                    {"Not": {"Variable": "$.previous.value.status", "StringEquals": "RUNNING"}},
                ],
                "Next": ended,
            }
        ],
        "Default": running,
    }


def read_run(run: Expr, names: JobNames) -> dict[str, dict[str, object]]:
    """The states both machines start from: read the run record, stop when this run has ended
    already (`AlreadyEnded`), else read the run's progress and go on at `ThisRun`."""
    return {
        "ReadRecord": read(names.run_parameter, "$.previous", "RunEnded"),
        "RunEnded": run_ended(run, "AlreadyEnded", "ReadProgress"),
        "AlreadyEnded": {"Type": "Succeed"},
        "ReadProgress": read(names.progress_parameter, "$.progress", "ThisRun"),
    }


def end_run(team: TeamConfig, names: JobNames, then: str) -> dict[str, dict[str, object]]:
    """Write the record in `$.record`, then set both services to 0 tasks."""
    cluster = team_names(team.name).cluster
    return {
        "EndRun": task("ssm:putParameter", save(names.run_parameter, "$.record"), "StopWorkers"),
        "StopWorkers": task(
            "ecs:updateService",
            {"Cluster": cluster, "Service": names.workers_service, "DesiredCount": 0},
            "StopLeader",
        ),
        "StopLeader": task(
            "ecs:updateService",
            {"Cluster": cluster, "Service": names.leader_service, "DesiredCount": 0},
            then,
        ),
    }


def this_run(run: Expr, known: str, unknown: str, other: str) -> dict[str, object]:
    """A Choice on the progress read (`$.progress.value`): this run's with its start (`known`),
    this run's without one (`unknown`: the parameter as Terraform created it, or written by an
    ecsgen that kept no start), or an earlier run's (`other`)."""
    same = {"Variable": "$.progress.value.run", "StringEquals": run}
    return {
        "Type": "Choice",
        "Choices": [
            {"And": [same, *_start_rules("$.progress.value.started")], "Next": known},
            {**same, "Next": unknown},
        ],
        "Default": other,
    }
