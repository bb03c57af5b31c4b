"""`job/state_machines.tf.j2`: what runs in Step Functions for one job, decided.

- The completion machine (Express), started by the job's EventBridge rules. For a leader that
  stopped it reads the trainer's own exit code (a sidecar's does not count), then: a run that
  has ended stays ended (FINISHED, FAILED or TIMED_OUT are final); exit 0 ends the run as
  FINISHED; a non-zero exit counts the task once per run (its id is kept, at most
  `max_failures` of them) and at `max_failures` ends the run as FAILED. Ending a run writes the
  run record (the only write to it) and sets both services to 0. Counting writes the separate
  progress parameter, so a count that races with the end cannot bring the run back. The run's
  start (`started` in the record) is the first one seen, kept in the progress parameter: a
  leader's RUNNING event writes it when the run has none yet, a stop brings its own task's.
- The max_runtime timer (Standard), one execution per run named by the run id, started by the
  completion machine at every leader start (the name makes the later starts no-ops): it waits,
  then ends a run still running as TIMED_OUT.

Events of earlier runs never reach them: the rules match the current leader task definition's
ARN, which changes with the run id (`ECSGEN_RUN_ID` is in every container).
"""

from __future__ import annotations

from dataclasses import dataclass

from ...hcl import Expr
from ...model.decl import Decl, arn, local_values, resource
from ...model.job.run_states import (
    RETRY,
    end_run,
    has_start,
    notify_states,
    read_run,
    save,
    task,
    this_run,
)
from ...model.job.task_definitions import CONTAINER
from ...names import JobNames
from ...validate import JobConfig, TeamConfig

__all__ = ["StateMachines", "duration", "state_machines", "timer_arn"]


def duration(seconds: int) -> str:
    """A max_runtime as the spec writes it: 72h, 1d12h, 90m."""
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    return "".join(f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "m")) if n)


def _logs_command(team: TeamConfig, names: JobNames) -> str:
    """`aws logs tail` of one leader task's trainer, its task id left as a `States.Format` `{}`
    (the awslogs driver names streams `<prefix>/<container>/<task id>`)."""
    return (
        f"aws logs tail {names.log_group} --log-stream-names leader/{CONTAINER}/{{}} "
        f"--since 1h --region {team.region}"
    )


def _timer_definition(
    job: JobConfig, team: TeamConfig, names: JobNames, run: Expr, seconds: int, text: str
) -> dict[str, object]:
    """max_runtime: a Standard workflow execution per run, named by the run id (started by the
    completion machine at each leader start; the name makes every start after the first a
    no-op), waits, then ends the run as TIMED_OUT unless it has ended."""
    label = f"{team.name}/{job.name}"
    logs = (
        f"aws logs tail {names.log_group} --log-stream-name-prefix leader/ "
        f"--since 1h --region {team.region}"
    )

    def record(failures: dict[str, object], started: str) -> dict[str, object]:
        return {
            "run": run,
            "status": "TIMED_OUT",
            "reason": f"max_runtime {text} reached",
            **failures,
            "started.$": started,
            "ended.$": "$$.State.EnteredTime",
        }

    # The run's start is in its progress (its first leader start wrote it before starting this
    # execution); without it (written by an earlier ecsgen), this execution's start is close.
    counted: dict[str, object] = {"failures.$": "$.progress.value.failures"}
    states: dict[str, dict[str, object]] = {
        "Wait": {"Type": "Wait", "Seconds": seconds, "Next": "ReadRecord"},
        **read_run(run, names),
        "ThisRun": this_run(run, "TimedOut", "TimedOutNoStart", "TimedOutFirstTry"),
        "TimedOut": {
            "Type": "Pass",
            "Parameters": record(counted, "$.progress.value.started"),
            "ResultPath": "$.record",
            "Next": "EndRun",
        },
        "TimedOutNoStart": {
            "Type": "Pass",
            "Parameters": record(counted, "$$.Execution.StartTime"),
            "ResultPath": "$.record",
            "Next": "EndRun",
        },
        "TimedOutFirstTry": {
            "Type": "Pass",
            "Parameters": record({"failures": 0}, "$$.Execution.StartTime"),
            "ResultPath": "$.record",
            "Next": "EndRun",
        },
        **end_run(team, names, "Ended"),
        "Ended": {
            "Type": "Pass",
            "Parameters": {
                "subject": f"ecsgen: {label} TIMED_OUT",
                "message.$": f"States.Format('Job {label} run {{}}: TIMED_OUT, still running "
                f"{text} after its leader first started (max_runtime); both services are set "
                f"to 0 tasks. Logs: {logs}', $.record.run)",
            },
            "ResultPath": "$.note",
            "Next": "Notify",
        },
        **notify_states(team),
    }
    return {
        "Comment": f"Ends a run of {label} that is still running after {text} (max_runtime)",
        "StartAt": "Wait",
        "States": states,
    }


def _definition(
    job: JobConfig, team: TeamConfig, names: JobNames, run: Expr, budget: int
) -> dict[str, object]:
    label = f"{team.name}/{job.name}"
    notify = notify_states(team)
    if job.keep_running:
        return {
            "Comment": f"Reports how tasks of {label} ended (keep_running: it is not stopped)",
            "StartAt": "Notify",
            "States": dict(notify),
        }

    def counted(failures: object) -> dict[str, object]:
        """`failures` as a path (a string) or a number."""
        return {"failures.$": failures} if isinstance(failures, str) else {"failures": failures}

    def record(status: str, failures: object) -> dict[str, object]:
        fields: dict[str, object] = {"run": run, "status": status, **counted(failures)}
        fields["exitCode.$"] = "$.trainer.exitCode"
        fields["reason.$"] = "$.reason"
        fields["task.$"] = "$.task"
        fields["logStream.$"] = f"States.Format('leader/{CONTAINER}/{{}}', $.trainer.id)"
        fields["started.$"] = "$.progress.value.started"
        fields["ended.$"] = "$.time"
        return fields

    def progress(failures: object, ids: str) -> dict[str, object]:
        return {
            "run": run,
            **counted(failures),
            "counted.$": ids,
            "started.$": "$.progress.value.started",
        }

    logs = _logs_command(team, names)
    first_failure = "FirstCount" if budget > 1 else "OutOfBudget"
    states: dict[str, dict[str, object]] = {
        "Outcome": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.outcome", "StringEquals": "STOPPED", "Next": "Trainer"},
                {"Variable": "$.outcome", "StringEquals": "STARTED", "Next": "EventStart"},
            ],
            "Default": "Notify",
        },
        # max_runtime: one timer execution per run, named by the run id; starting it again
        # (every leader start sends this) returns the running execution, and once it has
        # closed (the run ended) the name is refused, which is fine too.
        **(
            {
                "StartTimer": {
                    **task(
                        "sfn:startExecution",
                        {"StateMachineArn": timer_arn(team, names), "Name": run},
                        None,
                    ),
                    "Retry": [
                        {"ErrorEquals": ["Sfn.ExecutionAlreadyExistsException"], "MaxAttempts": 0},
                        *RETRY,
                    ],
                    "Catch": [
                        {
                            "ErrorEquals": ["Sfn.ExecutionAlreadyExistsException"],
                            "ResultPath": None,
                            "Next": "TimerDone",
                        }
                    ],
                },
                "TimerDone": {"Type": "Succeed"},
            }
            if job.max_runtime is not None
            else {}
        ),
        # The task id and the trainer's own exit code (other containers' codes do not count).
        "Trainer": {
            "Type": "Pass",
            "Parameters": {
                "id.$": "States.ArrayGetItem(States.StringSplit($.task, '/'), 2)",
                "exitCodes.$": f"$.containers[?(@.name == '{CONTAINER}')].exitCode",
            },
            "ResultPath": "$.trainer",
            "Next": "ExitCode",
        },
        "ExitCode": {
            "Type": "Pass",
            "Parameters": {
                "id.$": "$.trainer.id",
                "exitCode.$": "States.ArrayGetItem($.trainer.exitCodes, 0)",
            },
            "ResultPath": "$.trainer",
            "Next": "EventStart",
        },
        # The start of the event's task (its `startedAt`), else the event's time.
        "EventStart": {
            "Type": "Choice",
            "Choices": [{**has_start("$.started"), "Next": "ReadRecord"}],
            "Default": "EventTime",
        },
        "EventTime": {
            "Type": "Pass",
            "InputPath": "$.time",
            "ResultPath": "$.started",
            "Next": "ReadRecord",
        },
        **read_run(run, names),
        # The run's start is the first one seen and is kept: a restarted leader, a late or
        # re-delivered RUNNING event does not move it. A run's first event brings it.
        "ThisRun": this_run(run, "KnownStart", "FirstStart", "NewRun"),
        "FirstStart": {
            "Type": "Pass",
            "InputPath": "$.started",
            "ResultPath": "$.progress.value.started",
            "Next": "Began",
        },
        "NewRun": {
            "Type": "Pass",
            "Parameters": {"run": run, "failures": 0, "counted": "", "started.$": "$.started"},
            "ResultPath": "$.progress.value",
            "Next": "Began",
        },
        "KnownStart": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.outcome", "StringEquals": "STOPPED", "Next": "Classify"}],
            "Default": "StartTimer" if job.max_runtime is not None else "StartKept",
        },
        # A stop carries the start along (the record, or the next count, writes it); a leader
        # start writes it now.
        "Began": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.outcome", "StringEquals": "STOPPED", "Next": "Classify"}],
            "Default": "SaveStart",
        },
        "SaveStart": task(
            "ssm:putParameter",
            save(names.progress_parameter, "$.progress.value"),
            "StartTimer" if job.max_runtime is not None else None,
        ),
        **({} if job.max_runtime is not None else {"StartKept": {"Type": "Succeed"}}),
        "Classify": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.trainer.exitCode", "NumericEquals": 0, "Next": "Finished"},
                {
                    "Variable": "$.progress.value.failures",
                    "NumericGreaterThanEquals": 1,
                    "Next": "Tally",
                },
            ],
            "Default": first_failure,
        },
        # Each failed task counts once per run: its id is kept in `counted`, at most
        # max_failures of them (the run has ended by then).
        "Tally": {
            "Type": "Pass",
            "Parameters": {
                "seen.$": "States.ArrayContains(States.StringSplit("
                "$.progress.value.counted, ','), $.trainer.id)"
            },
            "ResultPath": "$.tally",
            "Next": "Counted",
        },
        "Counted": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.tally.seen", "BooleanEquals": True, "Next": "AlreadyCounted"},
                {
                    "Variable": "$.progress.value.failures",
                    "NumericGreaterThanEquals": budget - 1,
                    "Next": "OutOfBudget",
                },
            ],
            "Default": "NextCount",
        },
        "AlreadyCounted": {"Type": "Succeed"},
        "FirstCount": {
            "Type": "Pass",
            "Parameters": progress(1, "$.trainer.id"),
            "ResultPath": "$.progress.value",
            "Next": "SaveProgress",
        },
        "NextCount": {
            "Type": "Pass",
            "Parameters": progress(
                "States.MathAdd($.progress.value.failures, 1)",
                "States.Format('{},{}', $.progress.value.counted, $.trainer.id)",
            ),
            "ResultPath": "$.progress.value",
            "Next": "SaveProgress",
        },
        # Counting never writes the run record: only an end does, so a count racing with
        # the end cannot bring the run back.
        "SaveProgress": task(
            "ssm:putParameter", save(names.progress_parameter, "$.progress.value"), "Failure"
        ),
        "Failure": {
            "Type": "Pass",
            "Parameters": {
                "subject": f"ecsgen: {label} leader failed",
                "message.$": f"States.Format('Job {label} run {{}}: the leader trainer exited "
                f"{{}} (task {{}}), failure {{}} of {budget}; ECS starts a new leader. "
                f"Logs: {logs}', $.progress.value.run, $.trainer.exitCode, $.task, "
                "$.progress.value.failures, $.trainer.id)",
            },
            "ResultPath": "$.note",
            "Next": "Notify",
        },
        "Finished": {
            "Type": "Pass",
            "Parameters": record("FINISHED", "$.progress.value.failures"),
            "ResultPath": "$.record",
            "Next": "EndRun",
        },
        "OutOfBudget": {
            "Type": "Pass",
            "Parameters": record("FAILED", budget),
            "ResultPath": "$.record",
            "Next": "EndRun",
        },
        **end_run(team, names, "Ended"),
        "Ended": {
            "Type": "Pass",
            "Parameters": {
                "subject.$": f"States.Format('ecsgen: {label} {{}}', $.record.status)",
                "message.$": f"States.Format('Job {label} run {{}}: {{}}. The leader trainer "
                "exited {} (task {}) after {} counted failures; both services are set to 0 "
                f"tasks. Logs: {logs}', $.record.run, $.record.status, $.record.exitCode, "
                "$.record.task, $.record.failures, $.trainer.id)",
            },
            "ResultPath": "$.note",
            "Next": "Notify",
        },
        **notify,
    }
    return {
        "Comment": f"Ends {label} when its leader exits 0 or keeps failing, and reports it",
        "StartAt": "Outcome",
        "States": dict(states),
    }


@dataclass(frozen=True, slots=True)
class StateMachines:
    """The definitions (`locals` values) and the state machines of one job."""

    definition: Decl  # the completion machine's, a `locals` value
    machine: Decl
    timer_definition: Decl | None  # max_runtime: the Standard workflow that waits
    timer: Decl | None

    @property
    def decls(self) -> tuple[Decl, ...]:
        pairs = ((self.definition, self.machine), (self.timer_definition, self.timer))
        return tuple(d for pair in pairs for d in pair if d)


def timer_arn(team: TeamConfig, names: JobNames) -> Expr:
    return arn("states", f"stateMachine:{names.timer}", team.region)


def state_machines(job: JobConfig, team: TeamConfig, names: JobNames) -> StateMachines:
    ident = names.ident
    run = Expr(f"var.{ident}_run")
    timed = job.max_runtime is not None and not job.keep_running
    return StateMachines(
        definition=local_values(
            definition=_definition(job, team, names, run, job.max_failures),
            at={"definition": f"{ident}_completion"},
        ),
        machine=resource("aws_sfn_state_machine", ident, name=names.state_machine),
        timer_definition=(
            local_values(
                definition=_timer_definition(
                    job, team, names, run, job.max_runtime, duration(job.max_runtime)
                ),
                at={"definition": f"{ident}_timer"},
            )
            if timed and job.max_runtime is not None
            else None
        ),
        timer=(
            resource("aws_sfn_state_machine", f"{ident}_timer", name=names.timer) if timed else None
        ),
    )
