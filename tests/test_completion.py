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
  botocore's member names in this test only. moto also crashes on a second execution of one
  state machine, so each execution gets its own copy of the definition.
- Every container definition is validated against botocore's ECS `ContainerDefinition` shape,
  enums included (ECS's model refuses AWS Batch's uppercase `READ`/`WRITE`/`MKNOD`).

Definitions, patterns and container definitions come from the committed modules, parsed back
with python-hcl2; the only expressions in them are the partition, the account and the run id,
which `resolve` fills in. tests/test_apply.py checks that Terraform's own plan resolves them to
the same JSON.
"""

from __future__ import annotations

import copy
import json
import re
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from gen.hcl import Expr
from gen.model.job.completion import FAILURE_BUDGET
from gen.names import job_names
from gen.validate import JobConfig, TeamConfig
from gen.verify import parse
from tests.conftest import OUTPUT, ROOT, ident

EVENTS = ROOT / "tests" / "assets" / "events"
ACCOUNT = "123456789012"
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


def resolve(value: Any, region: str, placeholder: str | None = None) -> Any:
    """Plain JSON from parsed HCL: the partition, the account and `var.*_run` filled in. Any
    other expression fails, unless `placeholder` stands in for it (container definitions hold
    image tags and log group names, which the shape check only needs to be strings)."""
    if isinstance(value, Expr):
        text = value.text
        if re.fullmatch(r"var\.[a-z0-9_]+_run", text):
            return "1"
        if text.startswith('"') and text.endswith('"'):
            body = (
                text[1:-1]
                .replace("${data.aws_partition.current.partition}", "aws")
                .replace("${data.aws_caller_identity.current.account_id}", ACCOUNT)
            )
            if "${" not in body:
                return json.loads(f'"{body}"')
        if placeholder is not None:
            return placeholder
        raise AssertionError(f"unexpected expression {text}")
    if isinstance(value, Mapping):
        return {k: resolve(v, region, placeholder) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, region, placeholder) for v in value]
    return value


def completion(folder: Path, job_ident: str, region: str) -> dict[str, Any]:
    """The resolved state machine definition, event patterns and input transformers of a job."""
    found = _locals(folder)
    out: dict[str, Any] = {
        "definition": resolve(found[f"{job_ident}_completion"], region),
        "patterns": {},
    }
    for kind in ("finished", "failed", "deployment"):
        key = f"{job_ident}_{kind}_pattern"
        if key in found:
            out["patterns"][kind] = resolve(found[key], region)
    doc = parse((folder / f"job_{job_ident}.tf").read_text(encoding="utf-8"), "job")
    targets: dict[str, Any] = {}
    for entry in doc["resource"]:  # type: ignore[union-attr]
        for name, body in entry.get("aws_cloudwatch_event_target", {}).items():
            (transformer,) = body["input_transformer"]
            targets[name.removeprefix(f"{job_ident}_")] = transformer
    out["targets"] = targets
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


def transform(transformer: Mapping[str, Any], event: Mapping[str, Any]) -> dict[str, Any]:
    """An input transformer applied as EventBridge does for placeholders inside strings."""
    text = transformer["input_template"]
    for name, path in transformer["input_paths"].items():
        value: Any = event
        for part in re.findall(r"\.([A-Za-z0-9_-]+)|\[(\d+)\]", path.removeprefix("$")):
            value = value[part[0]] if part[0] else value[int(part[1])]
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
) -> dict[str, Any]:
    """AWS's task state change sample, changed to a stopped task of ours."""
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
    (entry,) = detail["containers"]
    entry.update(name=container, lastStatus="STOPPED", taskArn=task_arn)
    if exit_code is not None:
        entry["exitCode"] = exit_code
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
        "the sample as published": (_sample("ecs-task-state-change.json"), set()),
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
    expected_rules = {"failed", "deployment"} | (set() if job_config.keep_running else {"finished"})
    assert set(patterns) == expected_rules
    for case, (event, rules) in cases.items():
        wanted = rules - {"finished"} if job_config.keep_running else rules
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


def _model(service: str) -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model(service)


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
    definitions = {k: v for k, v in _locals(module).items() if k.endswith("_completion")}
    assert definitions, f"{module}: no state machine"
    for key, raw in definitions.items():
        definition = resolve(raw, "us-east-1")
        tasks = list(_tasks(definition))
        assert tasks
        for name, state in tasks:
            assert state["Resource"].startswith("arn:aws:states:::aws-sdk:"), name
            problems = sdk_parameter_problems(state["Resource"], state["Parameters"])
            assert not problems, f"{module.name}/{key}/{name}: {problems}"


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
    """One job's services, run record and topic in moto, and its state machine definition."""

    def __init__(self, team: TeamConfig, job: JobConfig) -> None:
        import boto3

        self.team, self.job = team, job
        self.names = job_names(team.name, job.name)
        kwargs = {"region_name": team.region}
        self.ecs = boto3.client("ecs", **kwargs)
        self.ssm = boto3.client("ssm", **kwargs)
        self.sfn = boto3.client("stepfunctions", **kwargs)
        self.sns = boto3.client("sns", **kwargs)
        found = completion(OUTPUT / team.name, self.names.ident, team.region)
        self.definition = moto_parameters(found["definition"])
        self.targets = found["targets"]
        self.cluster = self.ecs.create_cluster(clusterName=team.name)["cluster"]["clusterArn"]
        family = self.ecs.register_task_definition(
            family=self.names.leader_family,
            containerDefinitions=[{"name": "trainer", "image": "x", "memory": 512}],
        )["taskDefinition"]["taskDefinitionArn"]
        for service, count in (
            (self.names.leader_service, 1),
            (self.names.workers_service, job.max_nodes - 1),
        ):
            self.ecs.create_service(
                cluster=team.name, serviceName=service, taskDefinition=family, desiredCount=count
            )
        initial = {"run": "1", "status": "RUNNING", "failures": 0, "task": ""}
        self.ssm.put_parameter(
            Name=self.names.run_parameter, Value=json.dumps(initial), Type="String"
        )
        self.sns.create_topic(Name=f"{team.name}-training-events")
        for topic in team.notify_topics:  # the existing topics the spec forwards to
            self.sns.create_topic(Name=topic.rsplit(":", 1)[1])
        self.executions = 0

    def deliver(self, rule: str, event: Mapping[str, Any]) -> dict[str, Any]:
        """Run the state machine on the input the rule's target would give it."""
        self.executions += 1  # moto runs one execution per state machine (see the docstring)
        arn = self.sfn.create_state_machine(
            name=f"{self.names.state_machine}-{self.executions}",
            definition=json.dumps(self.definition),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/{self.names.states_role}",
        )["stateMachineArn"]
        payload = transform(self.targets[rule], event)
        execution = self.sfn.start_execution(stateMachineArn=arn, input=json.dumps(payload))
        deadline = time.monotonic() + 60
        while True:
            result = self.sfn.describe_execution(executionArn=execution["executionArn"])
            if result["status"] != "RUNNING" or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert result["status"] == "SUCCEEDED", result
        return dict(result)

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

    def leader_stopped(self, exit_code: int, task: str) -> dict[str, Any]:
        return task_stopped(
            self.cluster, f"service:{self.names.leader_service}", exit_code, task=task
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
        assert moto.record()["failures"] == attempt
        assert moto.record()["status"] == "RUNNING"
        assert moto.desired() == (1, 1), "below the budget ECS keeps replacing the leader"
    moto.deliver("failed", moto.leader_stopped(1, f"{FAILURE_BUDGET - 1:032x}"))  # a duplicate
    assert moto.record()["failures"] == FAILURE_BUDGET - 1, "one task counts once"
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
    """gen.verify finds the completion and notification values where the model put them."""
    from gen.errors import OutputError
    from gen.load import load_specs
    from gen.model import build
    from gen.render import render_module
    from gen.validate import validate
    from gen.verify import verify_files

    (team,) = [t for t in validate(load_specs([Path("examples/specs")])) if t.name == "llm"]
    module = build(team)
    files = render_module(module)
    verify_files(module, files)
    assert old in files[file]
    files[file] = files[file].replace(old, new, 1)
    with pytest.raises(OutputError, match="lacks what the model decided"):
        verify_files(module, files)
