"""`terraform apply` of every example module against a local moto server, then a read-back with
boto3 checked against the specs.

moto (5.x) is not AWS. What it lacks, and how this test deals with it, each named here:
- EC2 placement groups are not implemented (HTTP 500); the provider retries and never finishes.
  The applied copy of the module gets an override file that removes `aws_placement_group` and
  the ASG's reference to it; a plan of the unmodified module shows both would be created.
- CreateService drops deploymentConfiguration, capacityProviderStrategy, placementConstraints,
  availabilityZoneRebalancing and enableECSManagedTags; those are asserted on the saved plan
  (what Terraform sends), the rest on what moto returns.
- moto runs no tasks and launches no instances, so nothing here shows training happen; the
  rendezvous test does that part.
- A plan after the apply shows moto-made drift (security group rule descriptions, the fields
  above), so no empty second plan is asserted.
- Step Functions: moto does not implement ValidateStateMachineDefinition (the provider calls it
  while planning a state machine) nor ListStateMachineVersions (called when reading one); moto
  answers 500 and the provider retries for many minutes. A stand-in HTTP proxy in front of moto
  (`sfn_endpoint`) answers those two calls (valid; no versions) and forwards everything else.
  The definition itself is checked against botocore's model and run on moto's Step Functions
  in tests/test_completion.py.
- EventBridge: moto stores rules and targets but does not deliver matching events to a Step
  Functions target, and its pattern matcher does not flatten arrays of objects: the patterns
  are matched by tests/test_completion.py's matcher against AWS's sample events instead.
- Reservations, file systems and keys (issue 17): the module only names them (reservation and
  resource group IDs in launch templates, EFS IDs in task definitions and IAM, FSx IDs in user
  data, KMS key ARNs on log groups, the topic and IAM), and moto stores those names without
  looking them up; what it stores is read back (launch template market type and reservation
  target, EFS volume configuration, host volumes, repositoryCredentials, ephemeral storage,
  log group and topic keys). Whether AWS accepts a Capacity Block target, mounts EFS with IAM
  or lets CloudWatch Logs use the key is documentation, not tested here.
Every terraform command is bounded by a timeout, and the provider's retries are capped.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ecsgen.validate import Ec2Compute, FargateCompute, JobConfig, TeamConfig
from ecsgen.validate.config import EfsVolume, LustreVolume
from tests.conftest import OUTPUT, Terraform, ident, unavailable
from tests.test_completion import completion, shape_problems

pytestmark = [pytest.mark.terraform, pytest.mark.slow]

REGION = "us-east-1"
SERVICES = (
    "autoscaling",
    "cloudwatch",
    "cloudwatchlogs",
    "ec2",
    "ecs",
    "events",
    "iam",
    "kms",
    "route53",
    "s3",
    "secretsmanager",
    "servicediscovery",
    "sns",
    "sqs",
    "ssm",
    "sts",
)
# What the stand-in answers for moto (see the module docstring).
SFN_STAND_IN = {
    "AWSStepFunctions.ValidateStateMachineDefinition": {
        "result": "OK",
        "diagnostics": [],
        "truncated": False,
    },
    "AWSStepFunctions.ListStateMachineVersions": {"stateMachineVersions": []},
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    try:
        import moto.server  # noqa: F401
    except ImportError:
        unavailable("moto[server] is not installed (pip install -e '.[test]')")
    port = _free_port()
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("wb")
    env = {**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=log,
        env=env,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"moto server did not start on {endpoint}")
            time.sleep(0.3)
    yield endpoint
    proc.terminate()
    proc.wait(timeout=30)
    log.close()


def _stand_in(moto: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            answer = SFN_STAND_IN.get(self.headers.get("X-Amz-Target", ""))
            if answer is not None:
                status, headers, payload = 200, {}, json.dumps(answer).encode()
            else:
                forwarded = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in ("host", "content-length")
                }
                request = urllib.request.Request(
                    moto + self.path, data=body, headers=forwarded, method="POST"
                )
                try:
                    with urllib.request.urlopen(request, timeout=60) as response:
                        status, payload = response.status, response.read()
                        headers = dict(response.headers.items())
                except urllib.error.HTTPError as error:
                    status, payload, headers = error.code, error.read(), dict(error.headers.items())
            self.send_response(status)
            for key, value in headers.items():
                if key.lower() not in (
                    "content-length",
                    "transfer-encoding",
                    "connection",
                    "date",
                    "server",
                ):
                    self.send_header(key, value)
            self.send_header(
                "Content-Type", headers.get("Content-Type", "application/x-amz-json-1.0")
            )
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture(scope="module")
def sfn_endpoint(moto_endpoint: str) -> Iterator[str]:
    """Step Functions through the stand-in for the two calls moto lacks."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _stand_in(moto_endpoint))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _client(service: str, endpoint: str) -> Any:
    import boto3

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def _network(team: str, index: int) -> str:
    """A VPC per team: moto allows one private DNS namespace per VPC (AWS allows several)."""
    return f"""
resource "aws_vpc" "{team}" {{
  cidr_block           = "10.{index}.0.0/16"
  enable_dns_support   = true
  enable_dns_hostnames = true
}}

resource "aws_subnet" "{team}_a" {{
  vpc_id            = aws_vpc.{team}.id
  cidr_block        = "10.{index}.1.0/24"
  availability_zone = "{REGION}a"
}}

resource "aws_subnet" "{team}_b" {{
  vpc_id            = aws_vpc.{team}.id
  cidr_block        = "10.{index}.2.0/24"
  availability_zone = "{REGION}b"
}}
"""


def _root_config(endpoint: str, teams: list[TeamConfig], sfn: str) -> str:
    endpoints = "\n".join(f'    {name} = "{endpoint}"' for name in SERVICES)
    endpoints += f'\n    sfn = "{sfn}"'
    parts = []
    for index, team in enumerate(teams, start=10):
        extra = [
            f"  {ident(job)}_subnet_ids = [aws_subnet.{team.name}_a.id]"
            for job in team.jobs
            if isinstance(job.compute, Ec2Compute) and job.compute.single_az
        ]
        parts.append(_network(team.name, index))
        parts.append(
            "\n".join(
                [
                    f'module "{team.name}" {{',
                    f'  source     = "./modules/{team.name}"',
                    f"  vpc_id     = aws_vpc.{team.name}.id",
                    f"  subnet_ids = [aws_subnet.{team.name}_a.id, aws_subnet.{team.name}_b.id]",
                    *extra,
                    "}",
                ]
            )
        )
    return f"""
provider "aws" {{
  region                      = "{REGION}"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  s3_use_path_style           = true
  max_retries                 = 5 # moto's server races (dict changed size during iteration: HTTP 500) with seven teams applying

  endpoints {{
{endpoints}
  }}
}}
{chr(10).join(parts)}
"""


MOTO_OVERRIDE = """# Test only: moto has no EC2 placement groups (see tests/test_apply.py).
resource "aws_placement_group" "{ident}" {{
  count = 0
}}

resource "aws_autoscaling_group" "{ident}" {{
  placement_group = null
}}
"""


def _prepare(
    root: Path, endpoint: str, teams: list[TeamConfig], moto_overrides: bool, sfn: str
) -> None:
    for team in teams:
        shutil.copytree(OUTPUT / team.name, root / "modules" / team.name)
        if not moto_overrides:
            continue
        for job in team.jobs:
            compute = job.compute
            if isinstance(compute, Ec2Compute) and compute.efa and not compute.reservation:
                job_ident = ident(job)
                (root / "modules" / team.name / f"zz_moto_{job_ident}_override.tf").write_text(
                    MOTO_OVERRIDE.format(ident=job_ident), encoding="utf-8"
                )
    (root / "main.tf").write_text(_root_config(endpoint, teams, sfn), encoding="utf-8")


@pytest.fixture(scope="module")
def teams(example_configs: dict[str, TeamConfig]) -> list[TeamConfig]:
    return sorted(example_configs.values(), key=lambda t: t.name)


@pytest.fixture(scope="module")
def apply_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The root configuration (and state) of the examples' apply."""
    return tmp_path_factory.mktemp("apply")


@pytest.fixture(scope="module")
def applied(
    terraform: Terraform,
    moto_endpoint: str,
    sfn_endpoint: str,
    teams: list[TeamConfig],
    apply_root: Path,
) -> Iterator[dict[str, Any]]:
    """Apply all example modules once; yield the saved plan; destroy afterwards."""
    root = apply_root
    _prepare(root, moto_endpoint, teams, moto_overrides=True, sfn=sfn_endpoint)
    terraform.ok("init", "-input=false", cwd=root, timeout=120)
    terraform.ok("plan", "-input=false", "-out=tfplan", cwd=root, timeout=300)
    plan = json.loads(terraform.ok("show", "-json", "tfplan", cwd=root, timeout=120))
    terraform.ok("apply", "-input=false", "-auto-approve", "tfplan", cwd=root, timeout=600)
    yield plan
    terraform.ok("destroy", "-input=false", "-auto-approve", cwd=root, timeout=600)
    ecs = _client("ecs", moto_endpoint)
    assert all(
        c["status"] == "INACTIVE"
        for c in ecs.describe_clusters(clusters=[t.name for t in teams])["clusters"]
    ), "destroy left clusters behind"


def _planned(plan: dict[str, Any], address_suffix: str) -> dict[str, Any]:
    for change in plan["resource_changes"]:
        if change["address"].endswith(address_suffix):
            return dict(change["change"]["after"])
    raise AssertionError(f"{address_suffix} is not in the plan")


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container["environment"]}


def _policy(document: Any) -> dict[str, Any]:
    return json.loads(document) if isinstance(document, str) else dict(document)


def _check_job(team: TeamConfig, job: JobConfig, endpoint: str, plan: dict[str, Any]) -> None:
    ecs, iam = _client("ecs", endpoint), _client("iam", endpoint)
    job_ident = ident(job)
    leader_name, workers_name = f"{job.name}-leader", f"{job.name}-workers"
    services = {
        s["serviceName"]: s
        for s in ecs.describe_services(cluster=team.name, services=[leader_name, workers_name])[
            "services"
        ]
    }
    assert services[leader_name]["desiredCount"] == 1
    assert services[workers_name]["desiredCount"] == job.max_nodes - 1
    registry = services[leader_name]["serviceRegistries"][0]["registryArn"]

    for role, service in (("leader", leader_name), ("worker", workers_name)):
        definition = ecs.describe_task_definition(
            taskDefinition=services[service]["taskDefinition"]
        )["taskDefinition"]
        assert definition["family"] == f"{team.name}-{job.name}-{role}"
        assert definition["networkMode"] == "awsvpc"
        (container,) = definition["containerDefinitions"]
        env = _env(container)
        nodes = f"{job.min_nodes}:{job.max_nodes}" if job.elastic else str(job.max_nodes)
        assert env["PET_NNODES"] == nodes
        assert env["PET_NPROC_PER_NODE"] == str(job.processes_per_node)
        assert env["PET_RDZV_BACKEND"] == "c10d"
        # One rendezvous and one ECSGEN_RUN_ID per run (keep_running jobs have no runs).
        run = "" if job.keep_running else "-1"
        assert env["PET_RDZV_ID"] == f"{team.name}-{job.name}{run}"
        assert env.get("ECSGEN_RUN_ID") == (None if job.keep_running else "1")
        host = (
            "localhost"
            if role == "leader"
            else (f"{job.name}-leader.{team.name}.training.internal")
        )
        assert env["PET_RDZV_ENDPOINT"] == f"{host}:29400"
        assert env["PET_RDZV_CONF"].startswith("is_host=1" if role == "leader" else "is_host=0")
        for key, value in job.env:
            assert env[key] == value
        assert {s["name"]: s["valueFrom"] for s in container.get("secrets", [])} == dict(
            job.secrets
        )
        assert not set(dict(job.secrets)) & set(env), "secrets never in plain environment"
        assert container["command"] == ["torchrun", *job.command]
        assert container["stopTimeout"] == job.stop_timeout
        log = container["logConfiguration"]["options"]
        assert log["awslogs-group"] == f"/ecs/{team.name}/{job.name}"
        compute = job.compute
        if isinstance(compute, FargateCompute):
            assert definition["requiresCompatibilities"] == ["FARGATE"]
            assert (definition["cpu"], definition["memory"]) == (
                str(compute.cpu),
                str(compute.memory),
            )
        else:
            assert definition["requiresCompatibilities"] == ["EC2"]
            instance = compute.instance
            if instance.neuron:  # Trainium: Neuron devices, no GPU requirement
                assert "resourceRequirements" not in container
            else:
                assert container["resourceRequirements"] == [
                    {"type": "GPU", "value": str(instance.gpus)}
                ]
            linux = container["linuxParameters"]
            assert linux["sharedMemorySize"] == compute.shm_mib
            devices = [d["hostPath"] for d in linux.get("devices", [])]
            assert devices == [
                *(f"/dev/neuron{i}" for i in range(instance.neuron_devices)),
                *(
                    f"/dev/infiniband/uverbs{i}"
                    for i in range(instance.efa_interfaces if compute.efa else 0)
                ),
            ]
            limits = {u["name"]: (u["softLimit"], u["hardLimit"]) for u in container["ulimits"]}
            assert set(limits) == {"memlock", "nofile", "stack"} | {n for n, *_ in compute.ulimits}
            for name, soft, hard in compute.ulimits:
                assert limits[name] == (soft, hard), "the spec's ulimits override the bundled"
        mounts = [
            (m["sourceVolume"], m["containerPath"], m.get("readOnly", False))
            for m in container.get("mountPoints", [])
        ]
        assert [(m[1], m[2]) for m in mounts] == [(v.mount, v.read_only) for v in job.volumes]
        volumes = {v["name"]: v for v in definition.get("volumes", [])}
        for (source, _, _), volume in zip(mounts, job.volumes, strict=True):
            if isinstance(volume, EfsVolume):
                efs = volumes[source]["efsVolumeConfiguration"]
                assert efs["fileSystemId"] == volume.file_system_id
                assert efs["rootDirectory"] == volume.path
                assert efs["transitEncryption"] == "ENABLED"
                assert efs["authorizationConfig"]["iam"] == "ENABLED"
            else:
                assert volumes[source]["host"]["sourcePath"] == f"/fsx/{volume.file_system_id}"
        if job.registry_credentials:
            assert container["repositoryCredentials"] == {
                "credentialsParameter": job.registry_credentials
            }
        else:
            assert "repositoryCredentials" not in container
        if isinstance(compute, FargateCompute) and compute.ephemeral_gib:
            assert definition["ephemeralStorage"] == {"sizeInGiB": compute.ephemeral_gib}
        for name in (f"{team.name}-{job.name}-execution", f"{team.name}-{job.name}-task"):
            assert definition[
                "executionRoleArn" if name.endswith("execution") else "taskRoleArn"
            ].endswith(f":role/{name}")

        planned = _planned(
            plan,
            f"module.{team.name}.aws_ecs_service.{job_ident}_"
            f"{'leader' if role == 'leader' else 'workers'}",
        )
        assert planned["deployment_minimum_healthy_percent"] == 0
        assert planned["deployment_maximum_percent"] == 100
        assert planned["availability_zone_rebalancing"] == "DISABLED"
        assert planned["deployment_circuit_breaker"] == [{"enable": True, "rollback": True}]
        if isinstance(compute, Ec2Compute):
            assert planned.get("launch_type") in (None, ""), "EC2 jobs use the capacity provider"
            assert planned["capacity_provider_strategy"] == [
                {"base": 0, "capacity_provider": f"{team.name}-{job.name}", "weight": 1}
            ]
            assert planned["placement_constraints"] == [
                {"expression": "", "type": "distinctInstance"}
            ]
        else:
            assert planned["launch_type"] == "FARGATE"

    trust = _policy(
        iam.get_role(RoleName=f"{team.name}-{job.name}-task")["Role"]["AssumeRolePolicyDocument"]
    )
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    assert statement["Condition"]["ArnLike"] == {
        "aws:SourceArn": f"arn:aws:ecs:{team.region}:123456789012:*"
    }
    execution = _policy(
        iam.get_role_policy(RoleName=f"{team.name}-{job.name}-execution", PolicyName="execution")[
            "PolicyDocument"
        ]
    )
    granted = {
        r
        for s in execution["Statement"]
        for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])
    }
    assert set(dict(job.secrets).values()) <= granted
    readable = {*dict(job.secrets).values(), *filter(None, [job.registry_credentials])}
    (logs_statement,) = [s for s in execution["Statement"] if s["Sid"] == "WriteLogs"]
    assert logs_statement["Resource"] == (
        f"arn:aws:logs:{REGION}:123456789012:log-group:/ecs/{team.name}/{job.name}:*"
    ), "the log group ARN with :*, as CloudWatch Logs documents for IAM"
    assert not any("secretsmanager" in r and r not in readable for r in granted)
    if job.registry_credentials:
        assert _statements(execution)["ReadRegistryCredentials"]["Resource"] == (
            job.registry_credentials
        )
    efs = sorted({v.file_system_id for v in job.volumes if isinstance(v, EfsVolume)})
    if efs:
        task = _policy(
            iam.get_role_policy(RoleName=f"{team.name}-{job.name}-task", PolicyName="task")[
                "PolicyDocument"
            ]
        )
        arns = [f"arn:aws:elasticfilesystem:{REGION}:123456789012:file-system/{i}" for i in efs]
        mount = _statements(task)["MountFileSystems"]
        assert _as_list(mount["Resource"]) == arns, "exactly the job's file systems"
        assert _as_list(mount["Action"]) == ["elasticfilesystem:ClientMount"]
    if job.datasets or job.checkpoints:
        task = _policy(
            iam.get_role_policy(RoleName=f"{team.name}-{job.name}-task", PolicyName="task")[
                "PolicyDocument"
            ]
        )
        objects = {
            r
            for s in task["Statement"]
            if s["Sid"].startswith("Objects")
            for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])
        }
        wanted = {f"arn:aws:s3:::{d.bucket}/{d.prefix}*" for d in job.datasets}
        # per_run checkpoints: the task role reaches only this run's prefix (run id "1")
        run = "1/" if job.checkpoints and job.checkpoints.per_run else ""
        checkpoints = (
            f"arn:aws:s3:::{job.checkpoints.bucket}/{job.checkpoints.prefix}{run}*"
            if job.checkpoints
            else None
        )
        if checkpoints:
            wanted.add(checkpoints)
        assert objects == wanted
        writers = [s for s in task["Statement"] if "s3:PutObject" in s["Action"]]
        assert [w["Resource"] for w in writers] == ([checkpoints] if checkpoints else [])

    discovery = _client("servicediscovery", endpoint)
    found = discovery.get_service(Id=registry.rsplit("/", 1)[1])["Service"]
    assert found["Name"] == f"{job.name}-leader"
    assert found["DnsConfig"]["DnsRecords"] == [{"Type": "A", "TTL": 10}]

    logs = _client("logs", endpoint)
    (group,) = logs.describe_log_groups(logGroupNamePrefix=f"/ecs/{team.name}/{job.name}")[
        "logGroups"
    ]
    assert group["retentionInDays"] == team.log_retention_days
    assert group.get("kmsKeyId") == team.kms_key_arn, "the team's key, or none"

    ec2 = _client("ec2", endpoint)
    (sg,) = ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [f"{team.name}-{job.name}-nodes"]}]
    )["SecurityGroups"]
    ingress = sg["IpPermissions"]
    assert all(not p.get("IpRanges") for p in ingress), "no CIDR ingress, 0.0.0.0/0 least"
    assert [(p["IpProtocol"], [g["GroupId"] for g in p["UserIdGroupPairs"]]) for p in ingress] == [
        ("-1", [sg["GroupId"]])
    ]

    if isinstance(job.compute, Ec2Compute):
        _check_capacity(team, job, job.compute, endpoint)


def _check_capacity(team: TeamConfig, job: JobConfig, compute: Ec2Compute, endpoint: str) -> None:
    name = f"{team.name}-{job.name}"
    ec2, ssm = _client("ec2", endpoint), _client("ssm", endpoint)
    autoscaling, ecs = _client("autoscaling", endpoint), _client("ecs", endpoint)
    data = ec2.describe_launch_template_versions(LaunchTemplateName=name, Versions=["$Latest"])[
        "LaunchTemplateVersions"
    ][0]["LaunchTemplateData"]
    assert data["InstanceType"] == compute.instance.name
    user_data = base64.b64decode(data["UserData"]).decode()
    assert f"ECS_CLUSTER={team.name}\n" in user_data, "the cluster resource's name"
    assert f"ECS_CONTAINER_STOP_TIMEOUT={job.stop_timeout}s\n" in user_data
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    assert data["BlockDeviceMappings"][0]["Ebs"]["Encrypted"] is True
    kind = "neuron" if compute.instance.neuron else "gpu"
    ami = ssm.get_parameter(
        Name=f"/aws/service/ecs/optimized-ami/amazon-linux-2023/{kind}/recommended/image_id"
    )
    assert data["ImageId"] == ami["Parameter"]["Value"], "AMI from the public SSM parameter"
    reservation = compute.reservation
    if reservation is None:
        assert "CapacityReservationSpecification" not in data
        assert "InstanceMarketOptions" not in data
    else:
        target = data["CapacityReservationSpecification"]["CapacityReservationTarget"]
        key = (
            "CapacityReservationId"
            if reservation.reservation_id
            else "CapacityReservationResourceGroupArn"
        )
        assert target == {key: reservation.target}
        if reservation.capacity_block:
            assert data["InstanceMarketOptions"]["MarketType"] == "capacity-block"
        else:
            assert "InstanceMarketOptions" not in data
    for volume in job.volumes:
        if isinstance(volume, LustreVolume):
            assert f"@tcp:/{volume.mount_name} /fsx/{volume.file_system_id}" in user_data
            assert user_data.index("mount -t lustre") < user_data.index("ECS_CLUSTER=")
    interfaces = data.get("NetworkInterfaces", [])
    if compute.efa:
        assert [i["InterfaceType"] for i in interfaces] == ["efa"] * compute.instance.efa_interfaces
        assert [i["NetworkCardIndex"] for i in interfaces] == list(
            range(compute.instance.efa_interfaces)
        )
    else:
        assert interfaces == []
    (group,) = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])[
        "AutoScalingGroups"
    ]
    assert (group["MinSize"], group["MaxSize"]) == (0, job.max_nodes)
    assert group["NewInstancesProtectedFromScaleIn"] is True
    assert {"Key": "AmazonECSManaged", "Value": "true"} in [
        {"Key": t["Key"], "Value": t["Value"]} for t in group["Tags"]
    ]
    assert ("MixedInstancesPolicy" in group) == compute.spot
    if compute.spot:
        assert (
            group["MixedInstancesPolicy"]["InstancesDistribution"][
                "OnDemandPercentageAboveBaseCapacity"
            ]
            == 0
        )
    (provider,) = ecs.describe_capacity_providers(capacityProviders=[name])["capacityProviders"]
    asg_provider = provider["autoScalingGroupProvider"]
    assert asg_provider["managedTerminationProtection"] == "ENABLED"
    assert asg_provider["managedScaling"]["status"] == "ENABLED"
    step = job.max_nodes if compute.efa else 1  # EFA: every node at once into the placement group
    assert asg_provider["managedScaling"]["minimumScalingStepSize"] == step
    (cluster,) = ecs.describe_clusters(clusters=[team.name])["clusters"]
    assert name in cluster["capacityProviders"]


def test_apply_creates_what_the_specs_say(
    applied: dict[str, Any], teams: list[TeamConfig], moto_endpoint: str
) -> None:
    ecs = _client("ecs", moto_endpoint)
    clusters = ecs.describe_clusters(clusters=[t.name for t in teams], include=["SETTINGS"])[
        "clusters"
    ]
    assert sorted(c["clusterName"] for c in clusters) == sorted(t.name for t in teams)
    for cluster in clusters:
        assert {"name": "containerInsights", "value": "enabled"} in cluster["settings"]
    iam = _client("iam", moto_endpoint)
    for team in teams:
        if any(isinstance(j.compute, Ec2Compute) for j in team.jobs):
            profile = iam.get_instance_profile(InstanceProfileName=f"{team.name}-ecs-instance")
            assert [r["RoleName"] for r in profile["InstanceProfile"]["Roles"]] == [
                f"{team.name}-ecs-instance"
            ]
            attached = iam.list_attached_role_policies(RoleName=f"{team.name}-ecs-instance")
            assert [p["PolicyName"] for p in attached["AttachedPolicies"]] == [
                "AmazonEC2ContainerServiceforEC2Role"
            ]
        for job in team.jobs:
            _check_job(team, job, moto_endpoint, applied)
            _check_completion(team, job, moto_endpoint, applied)
        _check_topic(team, moto_endpoint)


def _check_control_plane(
    team: TeamConfig,
    job: JobConfig,
    endpoint: str,
    found: dict[str, Any],
    kinds: list[str],
    suffix: dict[str, str],
) -> None:
    """State machines log to their own group; targets retry and dead-letter; alarms notify."""
    events, sfn = _client("events", endpoint), _client("stepfunctions", endpoint)
    sqs, cloudwatch = _client("sqs", endpoint), _client("cloudwatch", endpoint)
    prefix = f"{team.name}-{job.name}"
    machine = f"arn:aws:states:{REGION}:123456789012:stateMachine:{prefix}-completion"
    logging = sfn.describe_state_machine(stateMachineArn=machine)["loggingConfiguration"]
    assert logging["level"] == "ERROR"
    (destination,) = logging["destinations"]
    group = destination["cloudWatchLogsLogGroup"]["logGroupArn"]
    assert f":log-group:/aws/vendedlogs/states/{prefix}:" in group
    queue = sqs.get_queue_url(QueueName=f"{prefix}-events-dlq")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    for kind in kinds:
        (target,) = events.list_targets_by_rule(Rule=f"{prefix}-{suffix[kind]}")["Targets"]
        assert target["DeadLetterConfig"] == {"Arn": queue_arn}
        assert target["RetryPolicy"] == {
            "MaximumEventAgeInSeconds": 86400,
            "MaximumRetryAttempts": 185,
        }
    alarms = cloudwatch.describe_alarms(AlarmNamePrefix=f"{prefix}-")["MetricAlarms"]
    topic = f"arn:aws:sns:{REGION}:123456789012:{team.name}-training-events"
    expected = {f"{prefix}-completion-failed", f"{prefix}-events-undelivered"}
    expected |= {f"{prefix}-timer-failed"} if found["timer"] is not None else set()
    assert {a["AlarmName"] for a in alarms} == expected
    for alarm in alarms:
        assert alarm["AlarmActions"] == [topic]
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold" and alarm["Threshold"] == 0


def _check_topic(team: TeamConfig, endpoint: str) -> None:
    sns = _client("sns", endpoint)
    arn = f"arn:aws:sns:{REGION}:123456789012:{team.name}-training-events"
    attributes = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    kms = _client("kms", endpoint)
    if team.kms_key_arn:  # the team's own key (its owner lets CloudWatch alarms use it)
        assert attributes["KmsMasterKeyId"] == team.kms_key_arn
    else:  # a customer managed key whose policy lets CloudWatch alarms publish (alias/aws/sns cannot)
        key = kms.describe_key(KeyId=attributes["KmsMasterKeyId"])["KeyMetadata"]
        assert key["KeyManager"] == "CUSTOMER"
        policy = json.loads(kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"])
        alarms = {s["Sid"]: s for s in policy["Statement"]}["CloudWatchAlarms"]
        assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    subscribed = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
    assert sorted((s["Protocol"], s["Endpoint"]) for s in subscribed) == [
        ("email", address) for address in team.notify_emails
    ]


def _statements(policy: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in policy["Statement"]}


def _as_list(value: Any) -> list[Any]:
    return [value] if isinstance(value, str) else list(value)


def _check_completion(
    team: TeamConfig, job: JobConfig, endpoint: str, plan: dict[str, Any]
) -> None:
    """The rules, targets, state machine, roles and run record, read back from moto and
    compared with what Terraform planned (and so with tests/test_completion.py's inputs)."""
    events, sfn = _client("events", endpoint), _client("stepfunctions", endpoint)
    iam, ssm = _client("iam", endpoint), _client("ssm", endpoint)
    job_ident, prefix = ident(job), f"{team.name}-{job.name}"
    module = f"module.{team.name}"
    machine = _planned(plan, f"{module}.aws_sfn_state_machine.{job_ident}")
    arn = f"arn:aws:states:{REGION}:123456789012:stateMachine:{prefix}-completion"
    described = sfn.describe_state_machine(stateMachineArn=arn)
    assert described["type"] == "EXPRESS"
    assert described["roleArn"].endswith(f":role/{prefix}-states")
    definition = json.loads(described["definition"])
    assert definition == json.loads(machine["definition"])
    found = completion(OUTPUT / team.name, job_ident, team.region)
    assert definition == found["definition"], "test_completion checks what Terraform sends"

    ends = [] if job.keep_running else ["finished", "started"]  # a run's end and its start
    kinds = ["failed", "deployment", *ends]
    suffix = {
        "finished": "finished",
        "failed": "failed",
        "deployment": "deploy",
        "started": "started",
    }
    for kind in kinds:
        rule = events.describe_rule(Name=f"{prefix}-{suffix[kind]}")
        pattern = json.loads(rule["EventPattern"])
        assert pattern == found["patterns"][kind]
        planned = _planned(plan, f"{module}.aws_cloudwatch_event_rule.{job_ident}_{kind}")
        if "event_pattern" in planned:
            assert pattern == json.loads(planned["event_pattern"])
        else:  # a run's leader rules name its task definition ARN, known after apply
            assert not job.keep_running and kind != "deployment", kind
        (target,) = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
        assert target["Arn"] == arn
        assert target["RoleArn"].endswith(f":role/{prefix}-events")
        transformer = target["InputTransformer"]
        assert transformer["InputTemplate"] == found["targets"][kind]["input_template"]
        assert transformer["InputPathsMap"] == found["targets"][kind]["input_paths"]
    _check_control_plane(team, job, endpoint, found, kinds, suffix)
    if job.keep_running:  # a long-running service has no completion rule
        with pytest.raises(events.exceptions.ResourceNotFoundException):
            events.describe_rule(Name=f"{prefix}-finished")

    trust = _policy(iam.get_role(RoleName=f"{prefix}-events")["Role"]["AssumeRolePolicyDocument"])
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert sorted(_as_list(statement["Condition"]["ArnLike"]["aws:SourceArn"])) == sorted(
        f"arn:aws:events:{REGION}:123456789012:rule/{prefix}-{suffix[k]}" for k in kinds
    )
    started = _statements(
        _policy(
            iam.get_role_policy(RoleName=f"{prefix}-events", PolicyName="events")["PolicyDocument"]
        )
    )
    assert started == {
        "StartCompletion": {
            "Sid": "StartCompletion",
            "Effect": "Allow",
            "Action": "states:StartExecution",
            "Resource": arn,
        }
    }
    trust = _policy(iam.get_role(RoleName=f"{prefix}-states")["Role"]["AssumeRolePolicyDocument"])
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": "states.amazonaws.com"}
    timer = f"arn:aws:states:{REGION}:123456789012:stateMachine:{prefix}-timer"
    assert sorted(_as_list(statement["Condition"]["ArnLike"]["aws:SourceArn"])) == (
        [arn, timer] if job.max_runtime else [arn]
    )
    granted = _statements(
        _policy(
            iam.get_role_policy(RoleName=f"{prefix}-states", PolicyName="states")["PolicyDocument"]
        )
    )
    topics = [f"arn:aws:sns:{REGION}:123456789012:{team.name}-training-events", *team.notify_topics]
    assert sorted(_as_list(granted["Notify"]["Resource"])) == sorted(topics)
    assert _as_list(granted["Notify"]["Action"]) == ["sns:Publish"]
    if team.kms_key_arn:  # publishing to the topic encrypted with the team's key
        assert _as_list(granted["NotifyKey"]["Resource"]) == [team.kms_key_arn]
    if job.keep_running:
        assert set(granted) == {"Notify", "NotifyKey"}
        return
    assert set(granted) == {"Notify", "NotifyKey", "RunRecord", "StopServices"} | (
        {"StartTimer"} if job.max_runtime else set()
    )
    if job.max_runtime:
        assert _as_list(granted["StartTimer"]["Resource"]) == [timer]
        described = sfn.describe_state_machine(stateMachineArn=timer)
        assert described["type"] == "STANDARD"
        assert json.loads(described["definition"]) == found["timer"]
    assert sorted(_as_list(granted["StopServices"]["Resource"])) == [
        f"arn:aws:ecs:{REGION}:123456789012:service/{team.name}/{job.name}-{role}"
        for role in ("leader", "workers")
    ]
    assert _as_list(granted["StopServices"]["Action"]) == ["ecs:UpdateService"]
    parameter = ssm.get_parameter(Name=f"/ecsgen/{team.name}/{job.name}/run")["Parameter"]
    progress = ssm.get_parameter(Name=f"/ecsgen/{team.name}/{job.name}/run-progress")
    assert sorted(_as_list(granted["RunRecord"]["Resource"])) == sorted(
        [parameter["ARN"], progress["Parameter"]["ARN"]]
    )
    assert json.loads(progress["Parameter"]["Value"]) == {"run": "1", "failures": 0, "counted": ""}
    assert json.loads(parameter["Value"]) == {
        "run": "1",
        "status": "RUNNING",
        "failures": 0,
        "task": "",
    }


def test_container_definitions_terraform_sends_match_the_ecs_model(
    applied: dict[str, Any],
) -> None:
    """Every container definition as Terraform resolved it, against botocore's ECS shape."""
    import botocore.session

    shape = botocore.session.get_session().get_service_model("ecs").shape_for("ContainerDefinition")
    definitions = [
        c["change"]["after"]
        for c in applied["resource_changes"]
        if c["type"] == "aws_ecs_task_definition"
    ]
    assert definitions
    for definition in definitions:
        for container in json.loads(definition["container_definitions"]):
            problems = shape_problems(container, shape, definition["family"])
            assert not problems, problems


def test_a_finished_run_is_read_back_by_the_module(
    terraform: Terraform, applied: dict[str, Any], apply_root: Path, moto_endpoint: str
) -> None:
    """What the state machine writes keeps the services at 0 on the next plan (moto holds
    the record; Terraform reads it back through the data source)."""
    ssm = _client("ssm", moto_endpoint)
    name = "/ecsgen/starter/ai-training/run"
    before = ssm.get_parameter(Name=name)["Parameter"]["Value"]
    finished = {"run": "1", "status": "FINISHED", "failures": 0, "task": "t"}
    ssm.put_parameter(Name=name, Value=json.dumps(finished), Type="String", Overwrite=True)
    try:
        terraform.ok(
            "plan",
            "-input=false",
            "-out=finished.tfplan",
            # only the job's services and what they read (the record among it): quicker
            "-target=module.starter.aws_ecs_service.ai_training_leader",
            "-target=module.starter.aws_ecs_service.ai_training_workers",
            cwd=apply_root,
            timeout=300,
        )
        plan = json.loads(
            terraform.ok("show", "-json", "finished.tfplan", cwd=apply_root, timeout=120)
        )
    finally:
        ssm.put_parameter(Name=name, Value=before, Type="String", Overwrite=True)
    for service in ("leader", "workers"):
        after = _planned(plan, f"module.starter.aws_ecs_service.ai_training_{service}")
        assert after["desired_count"] == 0
    record = _planned(plan, "module.starter.aws_ssm_parameter.ai_training_run")
    assert json.loads(record["insecure_value"])["status"] == "FINISHED", "Terraform keeps it"


def test_unmodified_module_plans_the_placement_group(
    terraform: Terraform,
    moto_endpoint: str,
    sfn_endpoint: str,
    teams: list[TeamConfig],
    tmp_path: Path,
) -> None:
    efa = [
        t
        for t in teams
        if any(
            isinstance(j.compute, Ec2Compute) and j.compute.efa and not j.compute.reservation
            for j in t.jobs
        )
    ]
    assert efa, "an example with EFA is expected"
    _prepare(tmp_path, moto_endpoint, efa, moto_overrides=False, sfn=sfn_endpoint)
    terraform.ok("init", "-input=false", cwd=tmp_path, timeout=120)
    terraform.ok("plan", "-input=false", "-out=tfplan", cwd=tmp_path, timeout=300)
    plan = json.loads(terraform.ok("show", "-json", "tfplan", cwd=tmp_path, timeout=120))
    for team in efa:
        for job in team.jobs:
            compute = job.compute
            if not (isinstance(compute, Ec2Compute) and compute.efa and not compute.reservation):
                continue
            job_ident = ident(job)
            group = _planned(plan, f"module.{team.name}.aws_placement_group.{job_ident}")
            assert group["strategy"] == "cluster"
            assert f"module.{team.name}.aws_autoscaling_group.{job_ident}" in {
                c["address"] for c in plan["resource_changes"]
            }


# Arguments moto's ECS does not return for a service it updated (a plan after the update shows
# them again); see tests/test_impact_plan.py's baseline.
MOTO_SERVICE_LOSSES = {"availability_zone_rebalancing", "enable_ecs_managed_tags"}

RENAME_SPEC = """from ecsgen import Ec2, Job, Team

team = Team(
    name="rename",
    region="us-east-1",
    jobs=[
        Job(
            name="{job}",
            image="r.example.com/a:1",
            command=["python", "a.py"],
            compute=Ec2(instance_type="g5.xlarge"),
        ),
    ],
)
"""


def _render_team(spec: Path, job: str, folder: Path) -> TeamConfig:
    from ecsgen.load import load_specs
    from ecsgen.pipeline import render_in_memory
    from ecsgen.validate import validate

    spec.write_text(RENAME_SPEC.format(job=job), encoding="utf-8")
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name, text in render_in_memory([spec])["rename"].items():
        (folder / name).write_text(text, encoding="utf-8")
    (team,) = validate(load_specs([spec]))
    return team


def _apply_in_order(terraform: Terraform, root: Path) -> Any:
    """Apply once more (-refresh=false: moto answers some reads with less than it was sent, the
    "-1" protocol rules come back changed and updating those fails on moto alone, see
    tests/test_impact_plan.py); return `first(text)`, the index of the log's first line with
    `text` in it."""
    log = terraform.ok(
        "apply", "-input=false", "-auto-approve", "-no-color", "-refresh=false", cwd=root
    )
    lines = log.splitlines()

    def first(text: str) -> int:
        found = [i for i, line in enumerate(lines) if text in line]
        assert found, f"{text!r} not in the apply log:\n{log}"
        return found[0]

    return first


def test_replacing_then_renaming_an_ec2_jobs_capacity_applies_and_destroys(
    terraform: Terraform, moto_endpoint: str, sfn_endpoint: str, tmp_path: Path
) -> None:
    """Apply; replace the job's capacity (`alpha_capacity_generation = 1`); rename the job;
    destroy: on the same state, each step bounded in time.

    The replacement: ECS ties a capacity provider to one Auto Scaling group for life ("The
    specified Auto Scaling group ARN is already being used by another capacity provider") and
    refuses a second provider of a name, so it is a new group and provider under a new name,
    made before the old ones go (create_before_destroy). The new provider takes the old one's
    place in the cluster's list before the old one is deleted, the services use it, and the
    next plan creates, replaces and deletes nothing. (`-replace` of a provider with a fixed
    name, as modules had it, fails here: moto lets the copy take the name, deleting the old one
    then deletes the copy, and the cluster lists a provider that is gone.)

    The rename: the capacity provider of the old name must leave the cluster's list before it
    is deleted (on AWS, deleting one still listed waits 20 minutes; moto does not wait, so the
    order is read from Terraform's log)."""
    spec, module = tmp_path / "rename.py", tmp_path / "modules" / "rename"
    team = _render_team(spec, "alpha", module)
    root = _root_config(moto_endpoint, [team], sfn_endpoint)
    (tmp_path / "main.tf").write_text(root, encoding="utf-8")
    terraform.ok("init", "-input=false", cwd=tmp_path, timeout=120)
    terraform.ok("apply", "-input=false", "-auto-approve", cwd=tmp_path, timeout=300)
    ecs = _client("ecs", moto_endpoint)
    autoscaling = _client("autoscaling", moto_endpoint)
    (cluster,) = ecs.describe_clusters(clusters=["rename"])["clusters"]
    assert cluster["capacityProviders"] == ["rename-alpha"]

    # 1. The forced replacement.
    source = '  source     = "./modules/rename"\n'
    (tmp_path / "main.tf").write_text(
        root.replace(source, f"{source}  alpha_capacity_generation = 1\n"), encoding="utf-8"
    )
    first = _apply_in_order(terraform, tmp_path)
    deleting = first("module.rename.aws_ecs_capacity_provider.alpha (deposed object")
    assert first("module.rename.aws_ecs_capacity_provider.alpha: Creation complete") < deleting
    listed = first("module.rename.aws_ecs_cluster_capacity_providers.this: Modifications complete")
    assert listed < deleting, "the old capacity provider was deleted while still listed"
    (cluster,) = ecs.describe_clusters(clusters=["rename"])["clusters"]
    assert cluster["capacityProviders"] == ["rename-alpha-g1"]
    (provider,) = ecs.describe_capacity_providers(capacityProviders=["rename-alpha-g1"])[
        "capacityProviders"
    ]
    groups = [  # the moto server is the file's: other teams' groups are there too
        g
        for g in autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"]
        if g["AutoScalingGroupName"].startswith("rename-")
    ]
    assert [g["AutoScalingGroupName"] for g in groups] == ["rename-alpha-g1"]
    assert (
        provider["autoScalingGroupProvider"]["autoScalingGroupArn"]
        == groups[0]["AutoScalingGroupARN"]
    )
    gone = ecs.describe_capacity_providers(capacityProviders=["rename-alpha"])
    assert gone["capacityProviders"] == [], "the old provider is deleted"
    # converged: nothing left to create, replace or delete, and the services' strategies name
    # the new provider; moto's services come back without two arguments they were sent (the
    # baseline of tests/test_impact_plan.py), nothing else
    terraform.ok(
        "plan", "-input=false", "-refresh=false", "-out=again.tfplan", cwd=tmp_path, timeout=300
    )
    again = json.loads(terraform.ok("show", "-json", "again.tfplan", cwd=tmp_path, timeout=120))
    strategies = {}
    for change in again["resource_changes"]:
        before, after = change["change"]["before"], change["change"]["after"]
        if change["type"] == "aws_ecs_service":
            strategies[change["address"]] = [
                s["capacity_provider"] for s in before["capacity_provider_strategy"]
            ]
        if change["change"]["actions"] == ["no-op"]:
            continue
        assert change["change"]["actions"] == ["update"], change["address"]
        assert change["type"] == "aws_ecs_service", change["address"]
        changed = {k for k in after if before.get(k) != after[k]}
        assert changed <= MOTO_SERVICE_LOSSES, (change["address"], changed)
    assert strategies == {
        "module.rename.aws_ecs_service.alpha_leader": ["rename-alpha-g1"],
        "module.rename.aws_ecs_service.alpha_workers": ["rename-alpha-g1"],
    }

    # 2. The rename.
    _render_team(spec, "beta", module)
    (tmp_path / "main.tf").write_text(root, encoding="utf-8")
    first = _apply_in_order(terraform, tmp_path)
    listed = first("module.rename.aws_ecs_cluster_capacity_providers.this: Modifications complete")
    deleting = first("module.rename.aws_ecs_capacity_provider.alpha: Destroying")
    assert listed < deleting, "the old capacity provider was deleted while still listed"
    (cluster,) = ecs.describe_clusters(clusters=["rename"])["clusters"]
    assert cluster["capacityProviders"] == ["rename-beta"]

    terraform.ok("destroy", "-input=false", "-auto-approve", cwd=tmp_path, timeout=300)
    (cluster,) = ecs.describe_clusters(clusters=["rename"])["clusters"]
    assert cluster["status"] == "INACTIVE"
