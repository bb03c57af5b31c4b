"""Run to completion and notifications, checked offline against AWS's own models and samples.

- The event patterns are matched against AWS's sample events (tests/assets/events, copied from
  the ECS Developer Guide) by `matches` below: a small matcher written to EventBridge's
  documented semantics (fields flattened through arrays of objects, a list is "any of",
  `anything-but`, `prefix`, `exists`). moto's matcher is not used: it does not flatten arrays
  of objects (`containers.exitCode` never matches there) and treats 0 like false.
- Every aws-sdk task of every state machine is checked against botocore's input shape (member
  names, required members, literal values' types and enums): Step Functions takes the API's
  members with the first letter upper-cased (PascalCase).
- The definitions run on moto's Step Functions (in-process, `execute_state_machine`). moto
  passes aws-sdk parameters to boto3 as they are, so it needs the API's own member names
  (camelCase for ECS: `cluster`, `desiredCount`); `moto_parameters` translates PascalCase to
  botocore's member names in this test only. `MotoJob` runs one state machine per applied run
  id, and executions of it one after the other or at once (moto runs each in a thread; moto
  5.2.1 crashed on a second execution, hence the lower bound in pyproject.toml). Events reach
  the machine through the rules' patterns (`matches`) and input transformers (`transform`).
- Runs are tested as sequences: named tests for each old failure mode, and a seeded property
  test over shuffled, duplicated, late and concurrent deliveries with an oracle (`_outcomes`).
- Every container definition is validated against botocore's ECS `ContainerDefinition` shape,
  enums included (ECS's model refuses AWS Batch's uppercase `READ`/`WRITE`/`MKNOD`).

Definitions, patterns and container definitions come from the committed modules, parsed back
with python-hcl2; the only expressions in them are the partition, the account, the run id and
the leader task definition's ARN, which `resolve` fills in. tests/test_apply.py checks that Terraform's own plan resolves them to
the same JSON.
"""

from __future__ import annotations

import copy
import functools
import itertools
import json
import random
import re
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from ecsgen.hcl import Expr
from ecsgen.names import job_names
from ecsgen.validate import JobConfig, TeamConfig
from ecsgen.verify import parse
from tests.conftest import OUTPUT, ROOT, ident

EVENTS = ROOT / "tests" / "assets" / "events"
FAILURE_BUDGET = 3  # Job.max_failures' default, which the starter example keeps
ACCOUNT = "123456789012"
KINDS = ("finished", "failed", "started", "deployment")
MODULES = sorted(
    [p for p in OUTPUT.iterdir() if p.is_dir()]
    + [p / "expected" for p in (ROOT / "tests" / "cases").iterdir() if p.is_dir()]
)


# -- reading the committed modules ------------------------------------------------------------


def _locals(folder: Path) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for path in sorted(folder.glob("*.tf")):
        doc = parse(path.read_text(encoding="utf-8"), path.name)
        for block in doc.get("locals", []):  # type: ignore[attr-defined]
            found.update(block)
    return found


def resolve(
    value: Any,
    region: str,
    placeholder: str | None = None,
    values: Mapping[str, str] | None = None,
) -> Any:
    """Plain JSON from parsed HCL: the partition, the account, `var.*_run` ("1" unless `values`
    says otherwise) and the expressions named in `values` (a task definition's ARN) filled in.
    Any other expression fails, unless `placeholder` stands in for it (container definitions
    hold image tags and log group names, which the shape check only needs to be strings)."""
    known = dict(values or {})
    if isinstance(value, Expr):
        text = value.text
        if text in known:
            return known[text]
        if re.fullmatch(r"var\.[a-z0-9_]+_run", text):
            return known.get("run", "1")
        if text.startswith('"') and text.endswith('"'):
            body = (
                text[1:-1]
                .replace("${data.aws_partition.current.partition}", "aws")
                .replace("${data.aws_caller_identity.current.account_id}", ACCOUNT)
            )
            for expr, replacement in known.items():
                body = body.replace("${" + expr + "}", replacement)
            body = re.sub(r"\$\{var\.[a-z0-9_]+_run\}", known.get("run", "1"), body)
            if "${" not in body:
                return json.loads(f'"{body}"')
        if placeholder is not None:
            return placeholder
        raise AssertionError(f"unexpected expression {text}")
    if isinstance(value, Mapping):
        return {k: resolve(v, region, placeholder, known) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, region, placeholder, known) for v in value]
    return value


def task_definition_arns(
    folder: Path, job_ident: str, region: str, revision: int
) -> dict[str, str]:
    """`aws_ecs_task_definition.<label>.arn` of a job's task definitions, at one revision."""
    doc = parse((folder / f"job_{job_ident}.tf").read_text(encoding="utf-8"), "job")
    arns: dict[str, str] = {}
    for entry in doc["resource"]:  # type: ignore[union-attr]
        for label, body in entry.get("aws_ecs_task_definition", {}).items():
            family = body["family"]
            arns[f"aws_ecs_task_definition.{label}.arn"] = (
                f"arn:aws:ecs:{region}:{ACCOUNT}:task-definition/{family}:{revision}"
            )
    return arns


def run_parameters(folder: Path, job_ident: str, values: Mapping[str, str]) -> dict[str, Any]:
    """The job's SSM parameters (name -> initial JSON value), as Terraform creates them."""
    found = _locals(folder)
    doc = parse((folder / f"job_{job_ident}.tf").read_text(encoding="utf-8"), "job")
    parameters: dict[str, Any] = {}
    for entry in doc["resource"]:  # type: ignore[union-attr]
        for body in entry.get("aws_ssm_parameter", {}).values():
            initial = body["insecure_value"]
            assert isinstance(initial, Expr), initial
            match = re.fullmatch(r"jsonencode\(local\.(\w+)\)", initial.text)
            assert match, initial.text
            parameters[body["name"]] = resolve(found[match[1]], "", values=values)
    return parameters


def completion(
    folder: Path, job_ident: str, region: str, run: str = "1", revision: int = 1
) -> dict[str, Any]:
    """The resolved state machine definition, event patterns and input transformers of a job,
    for run id `run` whose task definitions are at `revision`."""
    found = _locals(folder)
    values = {"run": run, **task_definition_arns(folder, job_ident, region, revision)}
    out: dict[str, Any] = {
        "definition": resolve(found[f"{job_ident}_completion"], region, values=values),
        "timer": (
            resolve(found[f"{job_ident}_timer"], region, values=values)
            if f"{job_ident}_timer" in found
            else None
        ),
        "patterns": {},
    }
    for kind in KINDS:
        key = f"{job_ident}_{kind}_pattern"
        if key in found:
            out["patterns"][kind] = resolve(found[key], region, values=values)
    doc = parse((folder / f"job_{job_ident}.tf").read_text(encoding="utf-8"), "job")
    targets: dict[str, Any] = {}
    for entry in doc["resource"]:  # type: ignore[union-attr]
        for name, body in entry.get("aws_cloudwatch_event_target", {}).items():
            (transformer,) = body["input_transformer"]
            targets[name.removeprefix(f"{job_ident}_")] = transformer
    out["targets"] = targets
    out["parameters"] = run_parameters(folder, job_ident, values)
    out["task_definitions"] = task_definition_arns(folder, job_ident, region, revision)
    return out


# -- an EventBridge pattern matcher, to the documented semantics ------------------------------


def _leaves(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every leaf value with its field path, arrays flattened (as EventBridge does)."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item, path)
    else:
        yield path, value


def _pattern_fields(pattern: Mapping[str, Any], path: tuple[str, ...] = ()) -> Iterator[Any]:
    for key, item in pattern.items():
        if isinstance(item, Mapping):
            yield from _pattern_fields(item, (*path, key))
        else:
            assert isinstance(item, list), f"pattern values are arrays: {key}"
            yield (*path, key), item


def _equal(want: Any, got: Any) -> bool:
    if isinstance(want, bool) or isinstance(got, bool) or want is None or got is None:
        return want is got  # 0 is not false, unlike in moto's matcher
    if isinstance(want, int | float) and isinstance(got, int | float):
        return float(want) == float(got)
    return bool(want == got)


def _one(matcher: Any, values: list[Any]) -> bool:
    if isinstance(matcher, Mapping):
        ((op, arg),) = matcher.items()
        if op == "exists":
            return bool(values) == arg
        if op == "prefix":
            return any(isinstance(v, str) and v.startswith(arg) for v in values)
        if op == "anything-but":
            excluded = arg if isinstance(arg, list) else [arg]
            return bool(values) and any(not any(_equal(x, v) for x in excluded) for v in values)
        raise AssertionError(f"matcher {op} is not supported by this test")
    return any(_equal(matcher, v) for v in values)


def matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """Every field of the pattern matches one of its values in the event."""
    leaves: dict[tuple[str, ...], list[Any]] = {}
    for path, value in _leaves(event):
        leaves.setdefault(path, []).append(value)
    return all(
        any(_one(m, leaves.get(path, [])) for m in matchers)
        for path, matchers in _pattern_fields(pattern)
    )


OPTIONAL = {"$.detail.startedAt"}  # input paths an event may lack (a task that never started)


def _at(event: Mapping[str, Any], path: str) -> Any:
    value: Any = event
    for part in re.findall(r"\.([A-Za-z0-9_-]+)|\[(\d+)\]", path.removeprefix("$")):
        value = value[part[0]] if part[0] else value[int(part[1])]
    return value


def transform(transformer: Mapping[str, Any], event: Mapping[str, Any]) -> dict[str, Any]:
    """An input transformer applied as EventBridge does: a placeholder that is a whole JSON value
    gets the value as JSON (an object or a list stays one), one inside a string gets its text."""
    text = transformer["input_template"]
    for name, path in transformer["input_paths"].items():
        try:
            value = _at(event, path)
        except KeyError:
            # Inserted as nothing here: EventBridge's documentation does not say what it
            # inserts; the state machine takes only a time as `started`, and
            # test_a_start_that_is_not_a_time_is_the_event_s runs other insertions.
            assert path in OPTIONAL, f"the event has no {path}"
            value = ""
        whole = json.dumps(value).replace("\\", "\\\\")
        text = re.sub(rf"(?<=:)(\s*)<{name}>(?=\s*[,}}])", rf"\g<1>{whole}", text)
        inserted = value if isinstance(value, str) else json.dumps(value)
        text = text.replace(f"<{name}>", json.dumps(inserted)[1:-1])
    result = json.loads(text)
    assert isinstance(result, dict)
    return result


# -- the sample events -------------------------------------------------------------------------


def _sample(name: str) -> dict[str, Any]:
    return dict(json.loads((EVENTS / name).read_text(encoding="utf-8")))


def task_stopped(
    cluster: str,
    group: str,
    exit_code: int | None,
    stop_code: str = "EssentialContainerExited",
    container: str = "trainer",
    task: str = "0123456789abcdef0123456789abcdef",
    task_definition: str | None = None,
    others: Mapping[str, int] | None = None,
    started: str | None = None,
) -> dict[str, Any]:
    """AWS's task state change sample, changed to a stopped task of ours (with `others`, more
    containers by name and exit code, after the first; with `started`, the task's start)."""
    event = _sample("ecs-task-state-change.json")
    detail = event["detail"]
    region = cluster.split(":")[3]
    task_arn = f"arn:aws:ecs:{region}:{ACCOUNT}:task/{cluster.rsplit('/', 1)[1]}/{task}"
    event.update(account=ACCOUNT, region=region, resources=[task_arn])
    detail.update(
        clusterArn=cluster,
        group=group,
        lastStatus="STOPPED",
        desiredStatus="STOPPED",
        stopCode=stop_code,
        stoppedReason="Essential container in task exited",
        taskArn=task_arn,
    )
    if task_definition is not None:
        detail["taskDefinitionArn"] = task_definition
    if started is not None:
        detail["startedAt"] = started
    (entry,) = detail["containers"]
    entry.update(name=container, lastStatus="STOPPED", taskArn=task_arn)
    if exit_code is not None:
        entry["exitCode"] = exit_code
    for name, code in (others or {}).items():
        detail["containers"].append({**copy.deepcopy(entry), "name": name, "exitCode": code})
    return event


def _running(event: dict[str, Any]) -> dict[str, Any]:
    """A task state change event of a task that reached RUNNING."""
    event["detail"].update(lastStatus="RUNNING", desiredStatus="RUNNING")
    for key in ("stopCode", "stoppedReason", "stoppedAt", "stoppingAt", "executionStoppedAt"):
        event["detail"].pop(key, None)
    for container in event["detail"]["containers"]:
        container["lastStatus"] = "RUNNING"
        container.pop("exitCode", None)
    return event


def deployment(service_arn: str, name: str = "SERVICE_DEPLOYMENT_FAILED") -> dict[str, Any]:
    event = _sample("ecs-deployment-failed.json")
    event["resources"] = [service_arn]
    event["detail"]["eventName"] = name
    return event


def _jobs(example_configs: dict[str, TeamConfig]) -> list[tuple[str, str]]:
    return sorted((t.name, j.name) for t in example_configs.values() for j in t.jobs)


JOBS = [
    ("frontier", "neuron-7b"),
    ("frontier", "pretrain"),
    ("llm", "pretrain"),
    ("llm", "eval"),
    ("ranking", "eval"),
    ("ranking", "two-tower"),
    ("recsys", "dlrm"),
    ("speech", "whisper-ft"),
    ("starter", "ai-training"),
    ("vision", "resnet"),
]


def test_every_example_job_is_covered(example_configs: dict[str, TeamConfig]) -> None:
    assert _jobs(example_configs) == sorted(JOBS)


def _config(example_configs: dict[str, TeamConfig], team: str, job: str) -> JobConfig:
    (found,) = [j for j in example_configs[team].jobs if j.name == job]
    return found


@pytest.mark.parametrize(("team", "job"), JOBS)
def test_event_patterns_match_only_their_events(
    team: str, job: str, example_configs: dict[str, TeamConfig]
) -> None:
    config = example_configs[team]
    job_config = _config(example_configs, team, job)
    names = job_names(team, job)
    found = completion(OUTPUT / team, names.ident, config.region)
    patterns = found["patterns"]
    current = f"arn:aws:ecs:{config.region}:{ACCOUNT}:task-definition/{names.leader_family}:1"
    previous = current.removesuffix(":1") + ":0"

    def task_stopped(*args: Any, **kwargs: Any) -> dict[str, Any]:
        """A task of the current run (its leader task definition's revision) by default."""
        return globals()["task_stopped"](*args, **{"task_definition": current, **kwargs})

    cluster = f"arn:aws:ecs:{config.region}:{ACCOUNT}:cluster/{team}"
    leader = f"service:{names.leader_service}"
    cases: dict[str, tuple[dict[str, Any], set[str]]] = {
        "leader exit 0": (task_stopped(cluster, leader, 0), {"finished"}),
        "leader exit 1": (task_stopped(cluster, leader, 1), {"failed"}),
        "leader exit 137": (task_stopped(cluster, leader, 137), {"failed"}),
        "worker exit 0": (task_stopped(cluster, f"service:{names.workers_service}", 0), set()),
        "worker exit 1": (task_stopped(cluster, f"service:{names.workers_service}", 1), set()),
        "another job's leader": (task_stopped(cluster, "service:other-leader", 0), set()),
        "another cluster": (
            task_stopped(f"arn:aws:ecs:{config.region}:{ACCOUNT}:cluster/other", leader, 0),
            set(),
        ),
        "stopped by the scheduler": (
            task_stopped(cluster, leader, 143, "ServiceSchedulerInitiated"),
            set(),
        ),
        "stopped by a user": (task_stopped(cluster, leader, 143, "UserInitiated"), set()),
        "never started": (task_stopped(cluster, leader, None, "TaskFailedToStart"), set()),
        "another container": (task_stopped(cluster, leader, 0, container="sidecar"), set()),
        "the previous run's leader exit 0": (
            task_stopped(cluster, leader, 0, task_definition=previous),
            {"finished"} if job_config.keep_running else set(),
        ),
        "the previous run's leader exit 1": (
            task_stopped(cluster, leader, 1, task_definition=previous),
            {"failed"} if job_config.keep_running else set(),
        ),
        # With a sidecar both rules match (arrays of objects are flattened): the state machine
        # decides by the trainer's own exit code.
        "trainer exit 1, sidecar exit 0": (
            task_stopped(cluster, leader, 1, others={"log-router": 0}),
            {"finished", "failed"},
        ),
        "the sample as published": (_sample("ecs-task-state-change.json"), set()),
        "leader running": (_running(task_stopped(cluster, leader, None)), {"started"}),
        "the previous run's leader running": (
            _running(task_stopped(cluster, leader, None, task_definition=previous)),
            set(),
        ),
        "worker running": (
            _running(task_stopped(cluster, f"service:{names.workers_service}", None)),
            set(),
        ),
        "deployment failed": (
            deployment(
                f"arn:aws:ecs:{config.region}:{ACCOUNT}:service/{team}/{names.leader_service}"
            ),
            {"deployment"},
        ),
        "workers' deployment failed": (
            deployment(
                f"arn:aws:ecs:{config.region}:{ACCOUNT}:service/{team}/{names.workers_service}"
            ),
            {"deployment"},
        ),
        "deployment completed": (
            deployment(
                f"arn:aws:ecs:{config.region}:{ACCOUNT}:service/{team}/{names.leader_service}",
                "SERVICE_DEPLOYMENT_COMPLETED",
            ),
            set(),
        ),
        "another service's deployment": (
            deployment(f"arn:aws:ecs:{config.region}:{ACCOUNT}:service/{team}/other"),
            set(),
        ),
        "the deployment sample as published": (_sample("ecs-deployment-failed.json"), set()),
    }
    ends = set() if job_config.keep_running else {"finished", "started"}
    expected_rules = {"failed", "deployment"} | ends
    assert set(patterns) == expected_rules
    for case, (event, rules) in cases.items():
        wanted = rules - {"finished", "started"} if job_config.keep_running else rules
        got = {kind for kind, pattern in patterns.items() if matches(pattern, event)}
        assert got == wanted, f"{team}/{job}: {case}: matched {got or 'nothing'}"


def test_matcher_follows_eventbridge_semantics() -> None:
    """The matcher itself: arrays flattened, 0 is not false, anything-but needs the field."""
    event = {"a": [{"b": 0}, {"b": 2}], "c": False, "d": "xyz"}
    assert matches({"a": {"b": [0]}}, event)
    assert matches({"a": {"b": [2]}}, event)
    assert not matches({"a": {"b": [1]}}, event)
    assert not matches({"c": [0]}, event)
    assert matches({"c": [False]}, event)
    assert matches({"d": [{"prefix": "xy"}]}, event)
    assert not matches({"e": [{"anything-but": 0}]}, event)
    assert matches({"e": [{"exists": False}]}, event)
    assert not matches({"a": {"b": [{"anything-but": [0, 2]}]}}, event)


# -- botocore's models -------------------------------------------------------------------------


# Step Functions' aws-sdk integrations name a few services unlike botocore does.
BOTOCORE_NAMES = {"sfn": "stepfunctions"}


def _model(service: str) -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model(BOTOCORE_NAMES.get(service, service))


def shape_problems(value: Any, shape: Any, path: str) -> list[str]:
    """Unknown and missing members, wrong types and values outside an enum."""
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, Mapping):
            return [f"{path}: not an object"]
        problems = [f"{path}.{k}: not in {shape.name}" for k in value if k not in shape.members]
        problems += [f"{path}.{k}: required" for k in shape.required_members if k not in value]
        for key, item in value.items():
            if key in shape.members:
                problems += shape_problems(item, shape.members[key], f"{path}.{key}")
        return problems
    if kind == "list":
        if not isinstance(value, list):
            return [f"{path}: not a list"]
        return [
            p for i, v in enumerate(value) for p in shape_problems(v, shape.member, f"{path}[{i}]")
        ]
    if kind == "map":
        if not isinstance(value, Mapping):
            return [f"{path}: not a map"]
        return [p for k, v in value.items() for p in shape_problems(v, shape.value, f"{path}.{k}")]
    if kind == "string":
        if not isinstance(value, str):
            return [f"{path}: not a string: {value!r}"]
        enum = shape.enum
        return [f"{path}: {value!r} is not one of {enum}"] if enum and value not in enum else []
    if kind in ("integer", "long"):
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{path}: not an integer: {value!r}"]
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{path}: not a boolean: {value!r}"]
    return []


def _member(shape: Any, key: str) -> str | None:
    """The botocore member that Step Functions' PascalCase `key` names."""
    base = key.removesuffix(".$")
    for name in shape.members:
        if name[0].upper() + name[1:] == base:
            return str(name)
    return None


def sdk_parameter_problems(resource: str, parameters: Mapping[str, Any]) -> list[str]:
    match = re.fullmatch(r"arn:aws:states:::aws-sdk:([a-z0-9]+):([a-zA-Z0-9]+)", resource)
    assert match, resource
    service, action = match.groups()
    model = _model(service)
    operation = model.operation_model(action[0].upper() + action[1:])
    shape = operation.input_shape
    problems: list[str] = []
    given: dict[str, Any] = {}
    for key, value in parameters.items():
        member = _member(shape, key)
        if member is None:
            problems.append(f"{resource}: {key} is not a member of {shape.name}")
        elif key != member[0].upper() + member[1:] + (".$" if key.endswith(".$") else ""):
            problems.append(f"{resource}: {key} is not PascalCase")
        elif not key.endswith(".$"):  # a literal: check its type and enum
            problems += shape_problems(value, shape.members[member], f"{resource}.{key}")
        given[member] = value
    problems += [
        f"{resource}: required member {m} missing" for m in shape.required_members if m not in given
    ]
    return problems


def _tasks(definition: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in definition["States"].items():
        if state["Type"] == "Task":
            yield name, state


@pytest.mark.parametrize("module", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_state_machine_tasks_match_the_api_models(module: Path) -> None:
    definitions = {
        k: v for k, v in _locals(module).items() if k.endswith(("_completion", "_timer"))
    }
    assert definitions, f"{module}: no state machine"
    for key, raw in definitions.items():
        definition = resolve(raw, "us-east-1")
        tasks = list(_tasks(definition))
        assert tasks
        for name, state in tasks:
            assert state["Resource"].startswith("arn:aws:states:::aws-sdk:"), name
            problems = sdk_parameter_problems(state["Resource"], state["Parameters"])
            assert not problems, f"{module.name}/{key}/{name}: {problems}"


def transitions(definition: Mapping[str, Any]) -> dict[str, set[str]]:
    """Each state's possible next states (Next, Default, Choices, Catch)."""
    found: dict[str, set[str]] = {}
    for name, state in definition["States"].items():
        targets = {state[k] for k in ("Next", "Default") if k in state}
        targets |= {rule["Next"] for rule in [*state.get("Choices", []), *state.get("Catch", [])]}
        found[name] = targets
    return found


def reach_problems(definition: Mapping[str, Any]) -> list[str]:
    """What Step Functions refuses to create: a transition to a missing state, a state that
    cannot be reached from StartAt."""
    edges = transitions(definition)
    problems = [f"{s} -> {t}: no such state" for s, ts in edges.items() for t in ts - set(edges)]
    seen: set[str] = set()
    todo = [definition["StartAt"]]
    while todo:
        name = todo.pop()
        if name in edges and name not in seen:
            seen.add(name)
            todo.extend(edges[name])
    return problems + [f"{name}: unreachable" for name in sorted(set(edges) - seen)]


@pytest.mark.parametrize("module", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_state_is_reachable(module: Path) -> None:
    for key, raw in _locals(module).items():
        if key.endswith(("_completion", "_timer")):
            problems = reach_problems(resolve(raw, "us-east-1"))
            assert not problems, f"{module.name}/{key}: {problems}"
    broken = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "C"}, "B": {}}}
    assert reach_problems(broken) == ["A -> C: no such state", "B: unreachable"]


def test_shape_check_catches_what_ecs_refuses() -> None:
    """The check can fail: AWS Batch's uppercase device permissions, a camelCase parameter."""
    shape = _model("ecs").shape_for("ContainerDefinition")
    devices = {
        "name": "x",
        "linuxParameters": {
            "devices": [{"hostPath": "/dev/a", "permissions": ["READ", "WRITE", "MKNOD"]}]
        },
    }
    assert len(shape_problems(devices, shape, "c")) == 3
    assert sdk_parameter_problems(
        "arn:aws:states:::aws-sdk:ecs:updateService", {"cluster": "c", "Service": "s"}
    )
    assert sdk_parameter_problems("arn:aws:states:::aws-sdk:ecs:updateService", {"Cluster": "c"})


@pytest.mark.parametrize("module", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_container_definitions_match_the_ecs_model(module: Path) -> None:
    shape = _model("ecs").shape_for("ContainerDefinition")
    containers = {
        k: v
        for k, v in _locals(module).items()
        if k.endswith(("_leader", "_worker")) and isinstance(v, Mapping) and "image" in v
    }
    assert containers, f"{module}: no container definitions"
    for key, raw in containers.items():
        container = resolve(raw, "us-east-1", placeholder="x")
        problems = shape_problems(container, shape, key)
        assert not problems, f"{module.name}: {problems}"
        env = {e["name"]: e["value"] for e in container["environment"]}
        assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"]
        policy = container["restartPolicy"]
        assert policy["enabled"] is True and policy["ignoredExitCodes"] == [0]
        assert 60 <= policy["restartAttemptPeriod"] <= 1800
        # The run id reaches the job: in its environment and its rendezvous id, so a new run
        # is a new task definition revision and a new rendezvous (keep_running jobs, which
        # have no `<job>_run`, have neither).
        job_ident = key.rsplit("_", 1)[0]
        if f'variable "{job_ident}_run"' not in (module / "variables.tf").read_text():
            assert "ECSGEN_RUN_ID" not in env and "${" not in env["PET_RDZV_ID"], key
            continue
        assert env["ECSGEN_RUN_ID"] == "1", key
        assert env["PET_RDZV_ID"].endswith("-1"), key
        other = resolve(raw, "us-east-1", placeholder="x", values={"run": "2"})
        assert other != container, f"{key}: a new run id must change the container definition"


# -- the definitions run on moto's Step Functions ----------------------------------------------


def moto_parameters(definition: Mapping[str, Any]) -> dict[str, Any]:
    """The definition with aws-sdk parameters named as botocore names them (moto only)."""
    out = copy.deepcopy(dict(definition))
    for _, state in _tasks(out):
        match = re.fullmatch(r"arn:aws:states:::aws-sdk:([a-z0-9]+):(\w+)", state["Resource"])
        assert match
        shape = _model(match[1]).operation_model(match[2][0].upper() + match[2][1:]).input_shape
        state["Parameters"] = {
            (_member(shape, k) or k) + (".$" if k.endswith(".$") else ""): v
            for k, v in state["Parameters"].items()
        }
    return out


class MotoJob:
    """One job's services, run records and topic in moto, and its completion as applied for one
    run id: the state machine on moto's Step Functions, and the rules' patterns and input
    transformers, which `send` applies to an event as EventBridge would."""

    def __init__(
        self, team: TeamConfig, job: JobConfig, run: str = "1", timer_seconds: int = 1
    ) -> None:
        import boto3

        self.team, self.job = team, job
        self.timer_seconds = timer_seconds
        self.names = job_names(team.name, job.name)
        kwargs = {"region_name": team.region}
        self.ecs = boto3.client("ecs", **kwargs)
        self.ssm = boto3.client("ssm", **kwargs)
        self.sfn = boto3.client("stepfunctions", **kwargs)
        self.sns = boto3.client("sns", **kwargs)
        self.cluster = self.ecs.create_cluster(clusterName=team.name)["cluster"]["clusterArn"]
        family = self.ecs.register_task_definition(
            family=self.names.leader_family,
            containerDefinitions=[{"name": "trainer", "image": "x", "memory": 512}],
        )["taskDefinition"]["taskDefinitionArn"]
        for service, count in self.nodes():
            self.ecs.create_service(
                cluster=team.name, serviceName=service, taskDefinition=family, desiredCount=count
            )
        self.sns.create_topic(Name=f"{team.name}-training-events")
        for topic in team.notify_topics:  # the existing topics the spec forwards to
            self.sns.create_topic(Name=topic.rsplit(":", 1)[1])
        self.revision = self.executions = 0
        self.new_run(run)
        for name, value in self.parameters.items():
            self.ssm.put_parameter(Name=name, Value=json.dumps(value), Type="String")

    def nodes(self) -> list[tuple[str, int]]:
        return [
            (self.names.leader_service, 1),
            (self.names.workers_service, self.job.max_nodes - 1),
        ]

    def new_run(self, run: str) -> None:
        """What `terraform apply` with a new `<job>_run` does: the task definitions get a new
        revision, the state machine and the rules are updated, both services start again."""
        self.run, self.revision = run, self.revision + 1
        found = completion(
            OUTPUT / self.team.name, self.names.ident, self.team.region, run, self.revision
        )
        self.definition = moto_parameters(found["definition"])
        self.patterns, self.targets = found["patterns"], found["targets"]
        self.parameters = found["parameters"]
        if found["timer"] is not None:  # max_runtime, made `timer_seconds` long
            timer = moto_parameters(found["timer"])
            timer["States"]["Wait"]["Seconds"] = self.timer_seconds
            if self.revision > 1:
                self.sfn.delete_state_machine(stateMachineArn=self.timer)
            self.timer = self.sfn.create_state_machine(
                name=self.names.timer,
                definition=json.dumps(timer),
                roleArn=f"arn:aws:iam::{ACCOUNT}:role/{self.names.states_role}",
                type="STANDARD",
            )["stateMachineArn"]
        self.machine = self.sfn.create_state_machine(
            name=f"{self.names.state_machine}-{self.revision}",
            definition=json.dumps(self.definition),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/{self.names.states_role}",
            type="EXPRESS",
        )["stateMachineArn"]
        if self.revision > 1:
            for service, count in self.nodes():
                self.ecs.update_service(cluster=self.team.name, service=service, desiredCount=count)

    def start(self, rule: str, event: Mapping[str, Any]) -> str:
        """Start the state machine on the input the rule's target would give it."""
        return self.execute(transform(self.targets[rule], event))

    def execute(self, payload: Mapping[str, Any]) -> str:
        """Start the state machine on `payload`."""
        self.executions += 1
        execution = self.sfn.start_execution(
            stateMachineArn=self.machine,
            name=f"delivery-{self.executions}",  # EventBridge names each execution uniquely
            input=json.dumps(payload),
        )
        return str(execution["executionArn"])

    def wait(self, executions: list[str]) -> list[dict[str, Any]]:
        """Each execution's result once it has ended (at most 60 s in all)."""
        deadline = time.monotonic() + 60
        results: list[dict[str, Any]] = []
        for arn in executions:
            while True:
                result = self.sfn.describe_execution(executionArn=arn)
                if result["status"] != "RUNNING":
                    break
                assert time.monotonic() < deadline, f"{arn} still running after 60 s"
                time.sleep(0.05)
            assert result["status"] == "SUCCEEDED", result
            results.append(dict(result))
        return results

    def deliver(self, rule: str, event: Mapping[str, Any]) -> dict[str, Any]:
        """Run the state machine on the input the rule's target would give it."""
        (result,) = self.wait([self.start(rule, event)])
        return result

    def send(self, *events: Mapping[str, Any], concurrently: bool = False) -> int:
        """Deliver each event to every rule whose pattern matches it, one after the other or
        all at once; the number of executions."""
        started: list[str] = []
        for event in events:
            for rule, pattern in sorted(self.patterns.items()):
                if matches(pattern, event):
                    started.append(self.start(rule, event))
                    if not concurrently:
                        self.wait(started[-1:])
        self.wait(started)
        return len(started)

    def timers(self) -> list[dict[str, Any]]:
        """The max_runtime timer's executions, each once it has ended (at most 60 s)."""
        deadline = time.monotonic() + 60
        while True:
            executions = self.sfn.list_executions(stateMachineArn=self.timer)["executions"]
            if all(e["status"] != "RUNNING" for e in executions):
                return [dict(e) for e in executions]
            assert time.monotonic() < deadline, "a timer still running after 60 s"
            time.sleep(0.1)

    def leader_started(self, task: str, started: str | None = None) -> dict[str, Any]:
        """A leader task of this run reached RUNNING (at `started`, if given: the task's
        `startedAt` and the event's time)."""
        event = _running(self.leader_stopped(0, task, started=started))
        if started is not None:
            event["time"] = started
        return event

    def desired(self) -> tuple[int, int]:
        services = self.ecs.describe_services(
            cluster=self.team.name,
            services=[self.names.leader_service, self.names.workers_service],
        )["services"]
        by_name = {s["serviceName"]: s["desiredCount"] for s in services}
        return by_name[self.names.leader_service], by_name[self.names.workers_service]

    def record(self) -> dict[str, Any]:
        value = self.ssm.get_parameter(Name=self.names.run_parameter)["Parameter"]["Value"]
        return dict(json.loads(value))

    def notifications(self) -> list[tuple[str, str]]:
        """(subject, message) of everything published to the team's topic, in order."""
        from moto.sns.models import sns_backends

        topic = f"arn:aws:sns:{self.team.region}:{ACCOUNT}:{self.team.name}-training-events"
        sent = sns_backends[ACCOUNT][self.team.region].topics[topic].sent_notifications
        return [(subject or "", message) for _, message, subject, _, _ in sent]

    def progress(self) -> dict[str, Any]:
        """The failures counted in the current run (written while it runs)."""
        value = self.ssm.get_parameter(Name=self.names.progress_parameter)["Parameter"]["Value"]
        return dict(json.loads(value))

    def ended(self) -> bool:
        """The module's `local.<job>_ended`: the record says the current run has ended."""
        record = self.record()
        return bool(record["run"] == self.run and record["status"] != "RUNNING")

    def leader_stopped(
        self,
        exit_code: int,
        task: str,
        revision: int | None = None,
        others: Mapping[str, int] | None = None,
        started: str | None = None,
    ) -> dict[str, Any]:
        """A stop of a leader task of this run (of the run at `revision`, if given) that started
        at `started` (AWS's sample's time if not given)."""
        family = f"{self.names.leader_family}:{revision or self.revision}"
        return task_stopped(
            self.cluster,
            f"service:{self.names.leader_service}",
            exit_code,
            task=task,
            task_definition=f"arn:aws:ecs:{self.team.region}:{ACCOUNT}:task-definition/{family}",
            others=others,
            started=started,
        )


@pytest.fixture
def moto_sfn() -> Iterator[None]:
    try:
        from moto import mock_aws
    except ImportError:
        pytest.skip("moto is not installed")
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield


ENDING = [(t, j) for t, j in JOBS if (t, j) != ("llm", "eval")]


@pytest.mark.parametrize(("team", "job"), ENDING)
def test_leader_exit_0_ends_the_run(
    team: str, job: str, example_configs: dict[str, TeamConfig], moto_sfn: None
) -> None:
    config = example_configs[team]
    moto = MotoJob(config, _config(example_configs, team, job))
    assert moto.desired() == (1, moto.job.max_nodes - 1)
    moto.deliver("finished", moto.leader_stopped(0, "a" * 32))
    assert moto.desired() == (0, 0)
    record = moto.record()
    assert (record["run"], record["status"]) == ("1", "FINISHED")
    assert record["task"].endswith("/" + "a" * 32)


def test_a_leader_that_keeps_failing_ends_the_run_as_failed(
    example_configs: dict[str, TeamConfig], moto_sfn: None
) -> None:
    moto = MotoJob(example_configs["starter"], _config(example_configs, "starter", "ai-training"))
    for attempt in range(1, FAILURE_BUDGET):
        moto.deliver("failed", moto.leader_stopped(1, f"{attempt:032x}"))
        assert (moto.progress()["run"], moto.progress()["failures"]) == ("1", attempt)
        assert moto.record()["status"] == "RUNNING"
        assert moto.desired() == (1, 1), "below the budget ECS keeps replacing the leader"
    moto.deliver("failed", moto.leader_stopped(1, f"{FAILURE_BUDGET - 1:032x}"))  # a duplicate
    assert moto.progress()["failures"] == FAILURE_BUDGET - 1, "one task counts once"
    moto.deliver("failed", moto.leader_stopped(137, f"{FAILURE_BUDGET:032x}"))
    record = moto.record()
    assert (record["run"], record["status"], record["failures"]) == ("1", "FAILED", FAILURE_BUDGET)
    assert moto.desired() == (0, 0)


def test_a_failed_deployment_is_reported_and_changes_nothing(
    example_configs: dict[str, TeamConfig], moto_sfn: None
) -> None:
    moto = MotoJob(example_configs["starter"], _config(example_configs, "starter", "ai-training"))
    before = moto.record()
    service = f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/starter/{moto.names.leader_service}"
    result = moto.deliver("deployment", deployment(service))
    assert moto.record() == before
    assert moto.desired() == (1, 1)
    assert json.loads(result["input"])["outcome"] == "DEPLOYMENT_FAILED"


def test_keep_running_job_only_reports(
    example_configs: dict[str, TeamConfig], moto_sfn: None
) -> None:
    moto = MotoJob(example_configs["llm"], _config(example_configs, "llm", "eval"))
    assert set(moto.definition["States"]) == {"Notify"}
    moto.deliver("failed", moto.leader_stopped(1, "b" * 32))
    assert moto.desired() == (1, moto.job.max_nodes - 1)


def test_identifiers_agree(example_configs: dict[str, TeamConfig]) -> None:
    for team in example_configs.values():
        for job in team.jobs:
            assert job_names(team.name, job.name).ident == ident(job)


@pytest.mark.parametrize(
    ("file", "old", "new"),
    [
        ("job_pretrain.tf", '"EssentialContainerExited"', '"UserInitiated"'),
        ("job_pretrain.tf", "DesiredCount = 0", "DesiredCount = 1"),
        ("job_pretrain.tf", '"llm-pretrain-states"', '"llm-other-states"'),
        ("main.tf", '"llm-training-events"', '"llm-other-events"'),
    ],
)
def test_parse_back_checks_the_templated_fragments(
    file: str, old: str, new: str, chdir_root: Path
) -> None:
    """ecsgen.verify finds the completion and notification values where the model put them."""
    from ecsgen.errors import OutputError
    from ecsgen.load import load_specs
    from ecsgen.model import build
    from ecsgen.render import render_module
    from ecsgen.validate import validate
    from ecsgen.verify import verify_files

    (team,) = [t for t in validate(load_specs([Path("examples/specs")])) if t.name == "llm"]
    module = build(team)
    files = render_module(module)
    verify_files(module, files)
    assert old in files[file]
    files[file] = files[file].replace(old, new, 1)
    with pytest.raises(OutputError, match="lacks what the model decided"):
        verify_files(module, files)


# -- a run's record: terminal states are final, each task counts once, other runs are ignored ---


def _starter(example_configs: dict[str, TeamConfig]) -> MotoJob:
    return MotoJob(example_configs["starter"], _config(example_configs, "starter", "ai-training"))


def _task(n: int) -> str:
    return f"{n:032x}"


def test_a_late_failure_leaves_a_finished_run_finished(
    example_configs: dict[str, TeamConfig], moto_sfn: None
) -> None:
    """A leader ECS restarted just before the scale-down, or a re-delivered event, stops with a
    non-zero exit after the run finished: the record must not go back to RUNNING (the next
    apply would start the finished job again)."""
    moto = _starter(example_configs)
    moto.send(moto.leader_stopped(0, _task(1)))
    moto.send(moto.leader_stopped(1, _task(2)))
    record = moto.record()
    assert (record["run"], record["status"]) == ("1", "FINISHED")
    assert moto.ended() and moto.desired() == (0, 0)


def test_a_late_finish_leaves_a_failed_run_failed(
    example_configs: dict[str, TeamConfig], moto_sfn: None
) -> None:
    moto = _starter(example_configs)
    for n in range(1, FAILURE_BUDGET + 1):
        moto.send(moto.leader_stopped(1, _task(n)))
    assert moto.record()["status"] == "FAILED"
    moto.send(moto.leader_stopped(0, _task(FAILURE_BUDGET + 1)))
    record = moto.record()
    assert (record["status"], record["failures"]) == ("FAILED", FAILURE_BUDGET)
    assert moto.ended() and moto.desired() == (0, 0)


def test_a_redelivered_older_failure_counts_once(
    example_configs: dict[str, TeamConfig], moto_sfn: None
) -> None:
    """Dedup against every counted task of the run, not only the last one."""
    moto = _starter(example_configs)
    for n in (1, 2, 1, 2, 1):
        moto.send(moto.leader_stopped(1, _task(n)))
    assert not moto.ended() and moto.desired() == (1, moto.job.max_nodes - 1)
    moto.send(moto.leader_stopped(1, _task(3)))
    record = moto.record()
    assert (record["status"], record["failures"]) == ("FAILED", FAILURE_BUDGET)


def test_a_late_finish_of_the_previous_run_leaves_the_new_run_running(
    example_configs: dict[str, TeamConfig], moto_sfn: None
) -> None:
    """Run 1 finished; the team starts run 2. A re-delivered finish (or failures) of a run-1
    leader must not end run 2."""
    moto = _starter(example_configs)
    moto.send(moto.leader_stopped(0, _task(1)))
    assert moto.ended()
    moto.new_run("2")
    assert not moto.ended() and moto.desired() == (1, moto.job.max_nodes - 1)
    moto.send(moto.leader_stopped(0, _task(1), revision=1))
    for n in range(2, FAILURE_BUDGET + 2):
        moto.send(moto.leader_stopped(1, _task(n), revision=1))
    assert not moto.ended() and moto.desired() == (1, moto.job.max_nodes - 1)
    moto.send(moto.leader_stopped(0, _task(9)))
    record = moto.record()
    assert (record["run"], record["status"], record["failures"]) == ("2", "FINISHED", 0)


def test_a_sidecar_that_exits_0_does_not_finish_a_failed_trainer(
    example_configs: dict[str, TeamConfig], moto_sfn: None
) -> None:
    """EventBridge flattens `containers`: a pattern {name: trainer, exitCode: 0} matches a task
    whose trainer exited 1 and whose log router exited 0. The outcome must come from the
    trainer's own exit code."""
    moto = _starter(example_configs)
    moto.send(moto.leader_stopped(1, _task(1), others={"log-router": 0}))
    record = moto.record()
    assert record["status"] == "RUNNING" or record["run"] != "1"
    assert not moto.ended() and moto.desired() == (1, moto.job.max_nodes - 1)


# -- the run's start: its first leader's, kept ---------------------------------------------------


def _time(n: int) -> str:
    """The start of leader task `n` (its `startedAt`) in these tests."""
    return f"2026-03-01T{10 + n // 60:02d}:{n % 60:02d}:00.000Z"


def test_the_record_keeps_the_start_of_the_run_s_first_leader(
    example_configs: dict[str, TeamConfig], moto_sfn: None
) -> None:
    """The first leader's RUNNING event gives the run's start (a job without max_runtime); a
    re-delivered or late RUNNING, a failure and the replacement leader's start do not move it,
    and a leader started after the end changes nothing."""
    moto = _starter(example_configs)
    assert moto.job.max_runtime is None
    moto.send(moto.leader_started(_task(1), _time(1)))
    assert moto.progress() == {"run": "1", "failures": 0, "counted": "", "started": _time(1)}
    moto.send(moto.leader_started(_task(1), _time(1)))  # re-delivered
    restarted = moto.leader_started(_task(1), _time(1))
    restarted["time"] = _time(3)  # the task's event when its trainer restarted in place
    moto.send(restarted)
    moto.send(moto.leader_stopped(1, _task(1), started=_time(1)))
    moto.send(moto.leader_started(_task(2), _time(7)))  # the replacement leader
    moto.send(moto.leader_started(_task(1), _time(1)))  # late
    assert (moto.progress()["failures"], moto.progress()["started"]) == (1, _time(1))
    moto.send(moto.leader_stopped(0, _task(2), started=_time(7)))
    record = moto.record()
    assert (record["status"], record["failures"], record["started"]) == ("FINISHED", 1, _time(1))
    progress = moto.progress()
    moto.send(moto.leader_started(_task(3), _time(9)))  # ECS started it before the scale-down
    assert moto.record() == record and moto.progress() == progress


def test_without_a_running_event_the_first_stop_gives_the_start(
    example_configs: dict[str, TeamConfig], moto_sfn: None
) -> None:
    """No RUNNING event seen (lost, or still on its way): the first stop brings its task's own
    start; a RUNNING event delivered late does not move it."""
    moto = _starter(example_configs)
    moto.send(moto.leader_stopped(1, _task(1), started=_time(1)))
    moto.send(moto.leader_started(_task(1), _time(1)), moto.leader_started(_task(2), _time(4)))
    moto.send(moto.leader_stopped(1, _task(2), started=_time(4)))
    assert moto.progress()["started"] == _time(1)
    moto.send(moto.leader_stopped(1, _task(3), started=_time(8)))
    record = moto.record()
    assert (record["status"], record["failures"], record["started"]) == ("FAILED", 3, _time(1))


@pytest.mark.parametrize("inserted", [None, "", "<started>", "null"])
def test_a_start_that_is_not_a_time_is_the_event_s(
    inserted: str | None, example_configs: dict[str, TeamConfig], moto_sfn: None
) -> None:
    """An event without the task's `startedAt`: whatever EventBridge inserts for the missing
    path (nothing, the placeholder itself, `null`), the run's start is the event's time."""
    moto = _starter(example_configs)
    event = moto.leader_stopped(0, _task(1))
    del event["detail"]["startedAt"]
    payload = transform(moto.targets["finished"], event)
    assert payload["started"] == ""
    if inserted is not None:
        payload["started"] = inserted
    moto.wait([moto.execute(payload)])
    record = moto.record()
    assert (record["status"], record["started"]) == ("FINISHED", event["time"])


# A delivery: ("finish" | "fail" | "start" | "old-finish" | "old-fail" | "old-start", task
# number). "start" is a leader's RUNNING event; "old-" events are the previous run's leaders'. A
# step is one delivery or several delivered at once.
Delivery = tuple[str, int]


def _scenario(rng: random.Random, budget: int) -> list[list[Delivery]]:
    """Shuffled, duplicated, late and concurrent deliveries of one run's leader stops."""
    failures = rng.randint(0, budget + 1)
    deliveries: list[Delivery] = [("fail", n) for n in range(1, failures + 1)]
    if rng.random() < 0.7:
        deliveries.insert(rng.randint(0, len(deliveries)), ("finish", 50))
    for _, task in list(deliveries):  # RUNNING events, in time, lost or late
        if rng.random() < 0.6:
            deliveries.insert(rng.randint(0, len(deliveries)), ("start", task))
    for _ in range(rng.randint(1, 3)):  # re-deliveries, late: after the original
        if deliveries:
            at = rng.randrange(len(deliveries))
            deliveries.insert(rng.randint(at + 1, len(deliveries)), deliveries[at])
    for _ in range(rng.randint(0, 2)):  # the previous run's leaders, at any time
        old = rng.choice(
            [("old-finish", 90), ("old-fail", 91 + rng.randrange(3)), ("old-start", 94)]
        )
        deliveries.insert(rng.randint(0, len(deliveries)), old)
    if rng.random() < 0.3:  # a little shuffling beyond late re-deliveries
        i, j = rng.randrange(len(deliveries)), rng.randrange(len(deliveries))
        deliveries[i], deliveries[j] = deliveries[j], deliveries[i]
    steps: list[list[Delivery]] = []
    for delivery in deliveries:
        # At once with the step before, unless that would race two first counts of different
        # tasks: one leader runs at a time, so two distinct failures are never concurrent. Nor
        # a RUNNING with a failure: the first start seen and a count racing can lose the count
        # (docs/runs.md), which this oracle does not model.
        previous = steps[-1] if steps else []
        firsts = {d for d in [*previous, delivery] if d[0] == "fail"}
        kinds = {d[0] for d in [*previous, delivery]}
        racing = len(firsts) > 1 or {"start", "fail"} <= kinds
        if previous and len(previous) < 3 and rng.random() < 0.4 and not racing:
            previous.append(delivery)
        else:
            steps.append([delivery])
    return steps


Outcome = tuple[str, int, str | None]  # status, failures, start


def _outcomes(steps: list[list[Delivery]], budget: int) -> set[Outcome]:
    """Every (status, failures, start) the run may end with: steps in order, the deliveries of
    one step in any order. RUNNING with the number of distinct failed tasks if it has not ended;
    the start is that of the first task of the run an event was seen of (None if none was)."""
    State = tuple[str, frozenset[int], str | None]

    def apply(state: State, delivery: Delivery) -> State:
        status, counted, start = state
        kind, task = delivery
        if status != "RUNNING" or kind.startswith("old-"):
            return state
        start = start or _time(task)
        if kind == "start":
            return status, counted, start
        if kind == "finish":
            return "FINISHED", counted, start
        counted = counted | {task}
        return ("FAILED" if len(counted) >= budget else "RUNNING"), counted, start

    states: set[State] = {("RUNNING", frozenset(), None)}
    for step in steps:
        states = {
            functools.reduce(apply, order, state)
            for state in states
            for order in itertools.permutations(step)
        }
    return {(status, len(counted), start) for status, counted, start in states}


def test_a_scenario_gives_every_outcome_it_can() -> None:
    """The oracle itself, on hand-made cases."""
    assert _outcomes([[("fail", 1)], [("fail", 1)], [("finish", 50)]], 3) == {
        ("FINISHED", 1, _time(1))
    }
    assert _outcomes([[("finish", 50), ("fail", 3)]], 1) == {
        ("FINISHED", 0, _time(50)),
        ("FAILED", 1, _time(3)),
    }
    assert _outcomes([[("fail", 1)], [("old-finish", 90)]], 3) == {("RUNNING", 1, _time(1))}
    assert _outcomes([[("old-start", 94)], [("start", 2)], [("fail", 1)]], 3) == {
        ("RUNNING", 1, _time(2))
    }
    assert _outcomes([[("finish", 50)], [("start", 2)]], 3) == {("FINISHED", 0, _time(50))}
    assert _outcomes([[("old-fail", 91)]], 3) == {("RUNNING", 0, None)}


@pytest.mark.parametrize("seed", range(12))
def test_any_order_of_deliveries_gives_the_right_record(
    seed: int, example_configs: dict[str, TeamConfig], moto_sfn: None
) -> None:
    """Property: for shuffled, duplicated, late and concurrent deliveries (including the
    previous run's leaders), the record ends as the run's semantics say, whatever the order
    inside a step of concurrent deliveries."""
    moto = _starter(example_configs)
    moto.send(moto.leader_stopped(0, _task(90)))  # run 1 finished; this is run 2
    moto.new_run("2")
    budget = FAILURE_BUDGET
    steps = _scenario(random.Random(seed), budget)
    events = {
        "finish": lambda task: moto.leader_stopped(0, _task(task), started=_time(task)),
        "fail": lambda task: moto.leader_stopped(1 + task % 3, _task(task), started=_time(task)),
        "start": lambda task: moto.leader_started(_task(task), _time(task)),
        "old-finish": lambda task: moto.leader_stopped(0, _task(task), revision=1),
        "old-fail": lambda task: moto.leader_stopped(1, _task(task), revision=1),
        "old-start": lambda task: _running(moto.leader_stopped(0, _task(task), revision=1)),
    }
    for step in steps:
        moto.send(*(events[kind](task) for kind, task in step), concurrently=len(step) > 1)
    expected = _outcomes(steps, budget)
    record = moto.record()
    if moto.ended():
        assert record["run"] == "2"
        assert (record["status"], record["failures"], record["started"]) in expected, steps
        assert moto.desired() == (0, 0), steps
    else:
        assert {status for status, _, _ in expected} == {"RUNNING"}, (steps, record)
        progress = moto.progress()
        seen = (progress["failures"], progress["started"]) if progress["run"] == "2" else (0, None)
        assert ("RUNNING", *seen) in expected, (steps, progress)
        assert moto.desired() == (1, moto.job.max_nodes - 1), steps


def test_the_record_and_every_notification_say_how_the_run_went(
    example_configs: dict[str, TeamConfig], moto_sfn: None
) -> None:
    """The record carries the run, status, exit code, reason, counted failures, start and end
    time and the deciding leader's log stream; each message names the run, the outcome, the exit code
    and the `aws logs` command (with --region) for that leader's stream."""
    moto = _starter(example_configs)
    moto.send(moto.leader_stopped(3, _task(1)))
    moto.send(moto.leader_stopped(0, _task(2)))
    record = moto.record()
    assert record == {
        "run": "1",
        "status": "FINISHED",
        "failures": 1,
        "exitCode": 0,
        "reason": "Essential container in task exited",
        "task": f"arn:aws:ecs:us-east-1:{ACCOUNT}:task/starter/{_task(2)}",
        "logStream": f"leader/trainer/{_task(2)}",
        "started": "2020-01-23T17:57:58.103Z",  # the first task's startedAt (AWS's sample)
        "ended": "2020-01-23T17:57:58Z",  # the event's time (AWS's sample)
    }
    (failed, finished) = moto.notifications()
    logs = "aws logs tail /ecs/starter/ai-training --log-stream-names leader/trainer/{} "
    assert failed[0] == "ecsgen: starter/ai-training leader failed"
    assert "run 1:" in failed[1] and "exited 3" in failed[1] and "failure 1 of 3" in failed[1]
    assert logs.format(_task(1)) + "--since 1h --region us-east-1" in failed[1]
    assert finished[0] == "ecsgen: starter/ai-training FINISHED"
    assert "run 1: FINISHED" in finished[1] and "exited 0" in finished[1]
    assert logs.format(_task(2)) + "--since 1h --region us-east-1" in finished[1]


# -- limits a team sets: max_failures and max_runtime, end to end on moto -----------------------


def _dlrm(example_configs: dict[str, TeamConfig], timer_seconds: int = 1) -> MotoJob:
    """recsys/dlrm: max_failures=5, max_runtime="72h" (made `timer_seconds` here)."""
    job = _config(example_configs, "recsys", "dlrm")
    assert (job.max_failures, job.max_runtime) == (5, 72 * 3600)
    return MotoJob(example_configs["recsys"], job, timer_seconds=timer_seconds)


def test_max_failures_is_the_spec_s(example_configs: dict[str, TeamConfig], moto_sfn: None) -> None:
    moto = _dlrm(example_configs)
    for n in range(1, 5):
        moto.send(moto.leader_stopped(1, _task(n)), moto.leader_stopped(1, _task(n)))
    assert moto.progress()["failures"] == 4 and not moto.ended()
    moto.send(moto.leader_stopped(1, _task(5)))
    record = moto.record()
    assert (record["status"], record["failures"]) == ("FAILED", 5)
    assert moto.desired() == (0, 0)
    assert "failure 4 of 5" in moto.notifications()[3][1]


def test_max_runtime_ends_a_run_still_running_as_timed_out(
    example_configs: dict[str, TeamConfig], moto_sfn: None
) -> None:
    """The first leader start of the run starts its timer (an execution named by the run id);
    later starts (a replaced leader) do not start another; when it fires the run is TIMED_OUT,
    both services go to 0 and the team is told."""
    moto = _dlrm(example_configs)
    moto.send(moto.leader_started(_task(1), _time(1)))
    started = [moto.leader_started(_task(2), _time(2)) for _ in range(2)]
    moto.send(*started, concurrently=True)
    (timer,) = moto.timers()
    assert (timer["name"], timer["status"]) == ("1", "SUCCEEDED")
    record = moto.record()
    assert (record["run"], record["status"], record["reason"], record["started"]) == (
        "1",
        "TIMED_OUT",
        "max_runtime 3d reached",
        _time(1),
    )
    assert moto.ended() and moto.desired() == (0, 0)
    ((subject, message),) = moto.notifications()
    assert subject == "ecsgen: recsys/dlrm TIMED_OUT"
    assert "run 1: TIMED_OUT" in message and "--region us-east-1" in message
    moto.send(moto.leader_stopped(1, _task(3)))  # a late stop changes nothing
    # A leader started in the seconds before the scale-down: its timer has closed, the name
    # is refused (ExecutionAlreadyExists), and the execution still succeeds.
    assert moto.send(moto.leader_started(_task(4))) == 1
    assert moto.record() == record and len(moto.timers()) == 1


def test_a_run_that_ends_before_max_runtime_stays_as_it_ended(
    example_configs: dict[str, TeamConfig], moto_sfn: None
) -> None:
    moto = _dlrm(example_configs, timer_seconds=2)
    moto.send(moto.leader_started(_task(1)))
    moto.send(moto.leader_stopped(0, _task(1)))
    assert moto.record()["status"] == "FINISHED"
    (timer,) = moto.timers()
    assert timer["status"] == "SUCCEEDED"
    assert moto.record()["status"] == "FINISHED"
    assert [subject for subject, _ in moto.notifications()] == ["ecsgen: recsys/dlrm FINISHED"]


@pytest.mark.parametrize("module", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_wildcard_resources_only_where_aws_requires_them(module: Path) -> None:
    """IAM stays scoped: `"*"` only for actions without resource-level permissions (log
    delivery, ecr:GetAuthorizationToken) and in key policies, where `"*"` is the key itself (the
    module's topic key, and the statements for a team's own key)."""
    key_policies = {"notifications_key", "kms_key_policy"}
    allowed = {"LogDelivery", "EcrAuth"}
    found: set[str] = set()
    for path in sorted(module.glob("*.tf")):
        doc = parse(path.read_text(encoding="utf-8"), path.name)
        for block in doc.get("data", []):  # type: ignore[attr-defined]
            for label, body in block.get("aws_iam_policy_document", {}).items():
                for statement in body.get("statement", []):
                    if "*" in statement.get("resources", []) and label not in key_policies:
                        found.add(statement["sid"])
    assert found and found <= allowed, found
